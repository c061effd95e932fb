package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim/simfs"
)

// Scenario is a named workload with its checker, run by Run for one seed at a time.
type Scenario struct {
	// Name is what -scenario selects.
	Name string
	// Summary says in one line what the scenario exercises and checks.
	Summary string
	// ServersMin and ServersMax bound the number of faulty processes the swarm
	// configuration draws (Config.Servers).
	ServersMin, ServersMax int
	// Configure, when set, adjusts the drawn configuration (e.g. a shorter safety
	// phase) before the world is built.
	Configure func(c *Config)
	// Setup spawns the processes (Config.Servers faulty ones plus any clients) and
	// returns the workload. It runs at virtual time zero.
	Setup func(w *World) Workload
}

// Workload is a running scenario: the world calls it at the phase change and at the end.
type Workload interface {
	// StartLiveness is called once the safety phase is over and every fault has been
	// undone: the network healed, paused processes resumed, crashed ones restarted.
	StartLiveness()
	// Converged reports whether the scenario has reached its liveness goal; the run
	// ends as soon as it does, and fails if it does not within Config.LivenessBound.
	Converged() bool
	// Check validates what the run observed (histories, invariants) and returns the
	// violation, if any. It may attach artifacts (World.AddArtifact).
	Check() error
}

// Artifact is a file a failing run produces, e.g. porcupine's HTML visualization. Its
// Name is a file name (no directories) that identifies the scenario and the seed.
type Artifact struct {
	Name string
	Data []byte
}

// Result is the outcome of one run.
type Result struct {
	Scenario    string
	Seed        uint64
	Config      Config
	Hash        uint64
	Events      uint64
	VirtualTime time.Duration
	// Violation is nil when every check passed.
	Violation error
	Artifacts []Artifact
	// Faults counts the nemesis's injections by kind.
	Faults [faultKinds]uint64
	// Knobs are the tuning knobs the scenario drew (World.Knob), in drawing order.
	Knobs []KnobValue
}

// ErrLiveness: the scenario did not converge within the liveness bound.
var ErrLiveness = errors.New("liveness: did not converge")

// ErrEventBudget: the run dispatched Config.EventsMax events without finishing.
var ErrEventBudget = errors.New("event budget exhausted")

// ReplayCommand is the command line that replays the run, with -disk-safety-only when
// the run used the atlas's safety-only mode (harmless when the scenario sets it itself).
func (r Result) ReplayCommand() string {
	command := fmt.Sprintf("go run ./cmd/sim -seed %d -scenario %s", r.Seed, r.Scenario)
	if r.Config.DiskSafetyOnly {
		command += " -disk-safety-only"
	}
	return command
}

// livenessPollInterval is how often the liveness phase asks Converged.
const livenessPollInterval = 10 * time.Millisecond

// AddArtifact attaches a file to the run's result.
func (w *World) AddArtifact(name string, data []byte) {
	w.artifacts = append(w.artifacts, Artifact{Name: name, Data: data})
}

// Fail records a violation found during the run and stops it.
func (w *World) Fail(err error) {
	if w.violation == nil {
		w.violation = err
	}
	w.Stop()
}

// Disks returns the simulated disk of every process that has one, in spawn order.
func (w *World) Disks() []*simfs.Disk {
	var out []*simfs.Disk
	for _, p := range w.processes {
		if d, ok := p.disk.(*simfs.Disk); ok {
			out = append(out, d)
		}
	}
	return out
}

// AddDiskGroup declares that the processes' disks hold copies of one datum (e.g. the
// replicas of one raft group): the atlas then keeps a healthy majority in the group.
// Scenarios call it in Setup; without any call, the faulty processes form one group.
func (w *World) AddDiskGroup(processes ...*Process) {
	w.diskGroups = append(w.diskGroups, processes)
}

// buildAtlas builds the run's fault atlas over the declared disk groups.
func (w *World) buildAtlas() *simfs.Atlas {
	mode := simfs.AtlasRecoverable
	if w.config.DiskSafetyOnly {
		mode = simfs.AtlasSafetyOnly
	}
	atlas := simfs.NewAtlas(w.Rand("atlas"), mode)
	groups := w.diskGroups
	if len(groups) == 0 {
		var faulty []*Process
		for _, p := range w.processes {
			if p.options.Faulty {
				faulty = append(faulty, p)
			}
		}
		groups = [][]*Process{faulty}
	}
	for _, group := range groups {
		var disks []*simfs.Disk
		for _, p := range group {
			if d, ok := p.disk.(*simfs.Disk); ok {
				disks = append(disks, d)
			}
		}
		if len(disks) > 0 {
			atlas.AddGroup(disks...)
		}
	}
	return atlas
}

// simfsDisk is the default DiskFactory: sim/simfs.
func simfsDisk(process string, rnd env.Rand) Disk {
	return simfs.New(rnd, simfs.Config{Name: process})
}

// DiskFaultRates turns the configuration's intensity into simfs fault rates.
func DiskFaultRates(c Config, s *Stream) simfs.Faults {
	i := c.DiskFaultIntensity
	f := simfs.Faults{
		ReadBitFlipProbability:       0.01 * i * s.Float64(),
		AtRestBitFlipProbability:     0.5 * i * s.Float64(),
		LatentSectorErrorProbability: 0.01 * i * s.Float64(),
		MisdirectedWriteProbability:  0.01 * i * s.Float64(),
		StaleReadProbability:         0.02 * i * s.Float64(),
		CrashTruncateProbability:     0.3 * i * s.Float64(),
		TornWriteProbability:         s.Float64(),
		SyncErrorProbability:         0.02 * i * s.Float64(),
	}
	if s.Chance(0.1) {
		f.CapacityBytes = s.Between(256, 64<<10)
	}
	return f
}

// Run plays one seed of the scenario: it draws the configuration, builds the world,
// injects faults for Config.Safety, undoes them, gives the scenario Config.LivenessBound
// to converge, and checks it.
func Run(s *Scenario, seed uint64, options Options) Result {
	config := DrawConfig(seed, s.ServersMin, s.ServersMax)
	if s.Configure != nil {
		s.Configure(&config)
	}
	if options.DiskSafetyOnly {
		config.DiskSafetyOnly = true
	}
	if options.NewDisk == nil {
		options.NewDisk = simfsDisk
	}
	w := NewWorld(config, options)
	if w.tracing {
		options.Trace("config: " + config.String())
	}
	workload := s.Setup(w)

	atlas := w.buildAtlas()
	if config.DiskFaults {
		atlas.Choose()
		atlas.Apply(DiskFaultRates(config, w.Rand("disk-faults")))
	}

	nemesis := newNemesis(w)
	nemesis.start()
	exhausted := w.RunUntil(config.Safety, config.EventsMax)

	if !exhausted && w.violation == nil {
		nemesis.active = false
		atlas.Disable()
		w.beginLiveness()
		workload.StartLiveness()
		converged := false
		var poll func()
		poll = func() {
			if workload.Converged() {
				converged = true
				w.Stop()
				return
			}
			w.At(livenessPollInterval, "liveness poll", poll)
		}
		w.At(0, "liveness poll", poll)
		exhausted = w.RunUntil(config.Safety+config.LivenessBound, config.EventsMax)
		if !exhausted && !converged && w.violation == nil {
			w.violation = fmt.Errorf("%w within %v of the faults ending", ErrLiveness, config.LivenessBound)
		}
	}
	if exhausted && w.violation == nil {
		w.violation = fmt.Errorf("%w: %d events by virtual time %v", ErrEventBudget, w.events, w.Now())
	}
	if w.violation == nil {
		if err := workload.Check(); err != nil {
			w.violation = err
		}
	}
	if w.tracing {
		w.traceSummary(nemesis)
	}
	return Result{
		Scenario:    s.Name,
		Seed:        seed,
		Config:      config,
		Hash:        w.hash,
		Events:      w.events,
		VirtualTime: w.Now(),
		Violation:   w.violation,
		Artifacts:   w.artifacts,
		Faults:      nemesis.injected,
		Knobs:       w.knobs,
	}
}

// beginLiveness undoes every fault: partitions and clogs heal, paused processes resume,
// crashed ones restart (in spawn order), and Buggify stops firing.
func (w *World) beginLiveness() {
	w.SetBuggify(false)
	w.Heal()
	w.UnclogAll()
	for _, p := range w.processes {
		switch p.state {
		case statePaused:
			w.Resume(p)
		case stateDown:
			w.Restart(p)
		}
	}
	if w.tracing {
		w.traceLine(KindWorld, nil, "liveness phase: faults off")
	}
	w.fold(hashString("liveness"))
}

// traceSummary ends the verbose trace with what the faults did.
func (w *World) traceSummary(n *nemesis) {
	line := "summary: faults"
	for k, count := range n.injected {
		if count > 0 {
			line += fmt.Sprintf(" %s=%d", FaultKind(k), count)
		}
	}
	line += fmt.Sprintf("; buggify fired %d times; %d events", w.buggify.fired, w.events)
	w.options.Trace(line)
	for _, p := range w.processes {
		d, ok := p.disk.(*simfs.Disk)
		if !ok {
			continue
		}
		c := d.Counters()
		w.options.Trace(fmt.Sprintf("summary: disk %s: incarnations=%d kills=%d power-losses=%d read-bit-flips=%d at-rest-bit-flips=%d latent=%d/%d misdirected=%d stale-reads=%d truncations=%d torn=%d sync-errors=%d no-space=%d unsynced-bytes-lost=%d",
			p.name, p.incarnation, c.ProcessKills, c.PowerLosses, c.ReadBitFlips, c.AtRestBitFlips, c.LatentSectorsMade, c.LatentSectorReads,
			c.MisdirectedWrites, c.StaleReads, c.Truncations, c.TornWrites, c.SyncErrors, c.NoSpaceErrors, c.UnsyncedBytesLost))
	}
}
