package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
)

// idleWorkload spawns servers that do nothing and converges when told to.
type idleWorkload struct {
	world     *World
	converges bool
	started   bool
	check     error
}

func (i *idleWorkload) StartLiveness() { i.started = true }
func (i *idleWorkload) Converged() bool {
	if !i.converges {
		return false
	}
	// Liveness means every fault is undone: everyone up, not paused, links open.
	for _, p := range i.world.Processes() {
		if !p.Up() || p.Paused() {
			return false
		}
		for _, q := range i.world.Processes() {
			if p != q && !i.world.Reachable(p, q) {
				return false
			}
		}
	}
	return true
}
func (i *idleWorkload) Check() error { return i.check }

func idleScenario(w *idleWorkload) *Scenario {
	return &Scenario{
		Name:       "idle",
		ServersMin: 3,
		ServersMax: 5,
		Configure: func(c *Config) {
			c.FaultMeanInterval = 50 * time.Millisecond
			for k := range c.FaultWeights {
				c.FaultWeights[k] = 1
			}
			c.Safety = 5 * time.Second
			c.LivenessBound = time.Second
		},
		Setup: func(world *World) Workload {
			w.world = world
			for i := 1; i <= world.Config().Servers; i++ {
				world.Spawn("s"+itoa(uint64(i)), ProcessOptions{Faulty: true}, func(e env.Env) any {
					e.Net.Listen(":1", func(c env.Conn) { c.Start(&recorder{}) })
					for j := 1; j < i; j++ {
						e.Net.Dial("s"+itoa(uint64(j))+":1", func(c env.Conn, err error) {
							if err == nil {
								c.Start(&recorder{})
							}
						})
					}
					return nil
				})
			}
			return w
		},
	}
}

// TestRunLivenessUndoesFaults proves every fault kind gets injected and that the
// liveness phase undoes them all (processes up and resumed, links healed and unclogged).
func TestRunLivenessUndoesFaults(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		w := &idleWorkload{converges: true}
		r := Run(idleScenario(w), seed, Options{})
		if r.Violation != nil {
			t.Fatalf("seed %d: %v", seed, r.Violation)
		}
		if !w.started {
			t.Fatalf("StartLiveness not called")
		}
		for k, n := range r.Faults {
			if n == 0 {
				t.Fatalf("seed %d: fault %s never injected", seed, FaultKind(k))
			}
		}
	}
}

// TestRunReportsViolations proves a scenario that never converges fails with
// ErrLiveness, and a failing check is reported as the violation.
func TestRunReportsViolations(t *testing.T) {
	r := Run(idleScenario(&idleWorkload{converges: false}), 1, Options{})
	if !errors.Is(r.Violation, ErrLiveness) {
		t.Fatalf("got %v, want a liveness violation", r.Violation)
	}
	bad := errors.New("history is wrong")
	r = Run(idleScenario(&idleWorkload{converges: true, check: bad}), 1, Options{})
	if !errors.Is(r.Violation, bad) {
		t.Fatalf("got %v, want the check's error", r.Violation)
	}
	s := idleScenario(&idleWorkload{converges: true})
	configure := s.Configure
	s.Configure = func(c *Config) { configure(c); c.EventsMax = 10 }
	if r := Run(s, 1, Options{}); !errors.Is(r.Violation, ErrEventBudget) {
		t.Fatalf("got %v, want the event budget violation", r.Violation)
	}
}

// TestRunDeterministic proves Run replays a seed to the same hash, also with the trace
// on, and that different seeds differ.
func TestRunDeterministic(t *testing.T) {
	a := Run(idleScenario(&idleWorkload{converges: true}), 3, Options{})
	lines := 0
	b := Run(idleScenario(&idleWorkload{converges: true}), 3, Options{Trace: func(string) { lines++ }})
	c := Run(idleScenario(&idleWorkload{converges: true}), 4, Options{})
	if a.Hash != b.Hash || a.Events != b.Events {
		t.Fatalf("tracing changed the run: %016x vs %016x", a.Hash, b.Hash)
	}
	if lines < int(a.Events) {
		t.Fatalf("the trace has %d lines for %d events", lines, a.Events)
	}
	if a.Hash == c.Hash {
		t.Fatalf("seeds 3 and 4 share a hash")
	}
}

// TestDrawConfig proves the swarm configuration respects the server range, varies with
// the seed, and enables each fault kind on some seeds but not all.
func TestDrawConfig(t *testing.T) {
	var enabled [faultKinds]int
	servers := map[int]bool{}
	for seed := uint64(1); seed <= 200; seed++ {
		c := DrawConfig(seed, 3, 5)
		if c.Servers < 3 || c.Servers > 5 {
			t.Fatalf("seed %d: %d servers", seed, c.Servers)
		}
		servers[c.Servers] = true
		if c.Latency.Min <= 0 || c.Latency.Max < c.Latency.Min {
			t.Fatalf("seed %d: latency %v", seed, c.Latency)
		}
		any := false
		for k, weight := range c.FaultWeights {
			if weight > 0 {
				enabled[k]++
				any = true
			}
		}
		if !any {
			t.Fatalf("seed %d: no fault enabled", seed)
		}
	}
	if len(servers) != 3 {
		t.Fatalf("server counts drawn: %v", servers)
	}
	for k, n := range enabled {
		if n == 0 || n == 200 {
			t.Fatalf("fault %s enabled on %d of 200 seeds", FaultKind(k), n)
		}
	}
}
