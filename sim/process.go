package sim

import (
	"time"

	"github.com/natsim/natsim/env"
)

// Boot starts one incarnation of a process: it is handed the incarnation's world and
// returns whatever the scenario wants to inspect later (see Process.Instance). It runs
// again, on a fresh Env, after every restart; memory does not survive, the disk does.
type Boot func(e env.Env) any

// ProcessOptions say how the world may treat a process.
type ProcessOptions struct {
	// Faulty lets the nemesis crash, pause, partition and clog the process, and the disk
	// atlas give its disk faults. Clients of a scenario are usually not faulty.
	Faulty bool
}

type processState uint8

const (
	stateRunning processState = iota
	statePaused
	stateDown
)

// Process is one simulated process: a host name, a disk that survives crashes, and a
// sequence of incarnations, each booted with a fresh env.Env.
type Process struct {
	world       *World
	id          int
	name        string
	options     ProcessOptions
	boot        Boot
	incarnation uint32
	state       processState
	instance    any
	held        []*event

	clockOffset int64
	clockDrift  float64
	rand        *Stream
	disk        Disk

	endpoints map[uint64]*endpoint
	listeners map[int]*listener
	nextPort  int
	// poweredOff: the last crash was a power loss, so the host does not even refuse
	// connections while down.
	poweredOff bool
}

// Spawn adds a process named name (also its network host name) and boots its first
// incarnation now. The clock offset and drift are drawn from the configuration.
func (w *World) Spawn(name string, options ProcessOptions, boot Boot) *Process {
	if _, exists := w.byName[name]; exists {
		panic("sim: duplicate process name " + name)
	}
	p := &Process{
		world:     w,
		id:        len(w.processes) + 1,
		name:      name,
		options:   options,
		boot:      boot,
		rand:      w.Rand("process/" + name),
		endpoints: map[uint64]*endpoint{},
		listeners: map[int]*listener{},
		nextPort:  ephemeralPortFirst,
	}
	clock := w.Rand("clock/" + name)
	if max := int64(w.config.ClockOffsetMax); max > 0 {
		p.clockOffset = clock.Between(-max, max)
	}
	if w.config.ClockDriftMax > 0 {
		p.clockDrift = (clock.Float64()*2 - 1) * w.config.ClockDriftMax
	}
	if w.options.NewDisk != nil {
		p.disk = w.options.NewDisk(name, w.Rand("disk/"+name))
	}
	w.processes = append(w.processes, p)
	w.byName[name] = p
	w.network.grow(len(w.processes) + 1)
	p.incarnation = 1
	p.start()
	return p
}

// Name returns the process's name, which is also its host name on the network.
func (p *Process) Name() string { return p.name }

// World returns the world the process lives in.
func (p *Process) World() *World { return p.world }

// Faulty reports whether the nemesis may target the process.
func (p *Process) Faulty() bool { return p.options.Faulty }

// Incarnation numbers the process's lives: 1 for the first boot, one more per crash.
func (p *Process) Incarnation() uint32 { return p.incarnation }

// Up reports whether the process is running or paused (not crashed).
func (p *Process) Up() bool { return p.state != stateDown }

// Paused reports whether the process is paused.
func (p *Process) Paused() bool { return p.state == statePaused }

// Instance returns what the current incarnation's Boot returned (nil while down).
func (p *Process) Instance() any { return p.instance }

// Disk returns the process's disk (nil when the world has no DiskFactory).
func (p *Process) Disk() Disk { return p.disk }

// traceID identifies the process in the trace hash; the world itself is 0.
func (p *Process) traceID() int {
	if p == nil {
		return 0
	}
	return p.id
}

// Env returns an Env bound to the current incarnation; once the process crashes, the
// Env is inert (timers never fire, tasks never run, dials never complete).
func (p *Process) Env() env.Env {
	bound := &incarnationEnv{process: p, incarnation: p.incarnation}
	e := env.Env{
		Clock:  bound,
		Tasks:  bound,
		Rand:   p.rand,
		Net:    bound,
		Faults: p.world.buggify,
	}
	if p.disk != nil {
		e.FS = p.disk.FS()
	}
	return e
}

func (p *Process) start() {
	p.state = stateRunning
	p.poweredOff = false
	if p.world.tracing {
		p.world.traceLine(KindWorld, p, "boot")
	}
	p.world.fold(hashString("boot"))
	p.world.fold(uint64(p.id))
	p.instance = p.boot(p.Env())
}

// Crash kills the process: its memory (pending timers, tasks and deliveries) is lost
// for good, its listeners close, its connections reset at the peers, and its disk
// crashes (dropping unsynced bytes too on a power loss). Crashing a crashed process does
// nothing.
func (w *World) Crash(p *Process, powerLoss bool) {
	if p.state == stateDown {
		return
	}
	label := "crash (kill)"
	if powerLoss {
		label = "crash (power loss)"
	}
	w.worldNote(p, label)
	for _, e := range p.held {
		w.recycle(e)
	}
	p.held = nil
	p.state = stateDown
	p.incarnation++
	p.instance = nil
	w.network.crash(p, powerLoss)
	if p.disk != nil {
		p.disk.Crash(powerLoss)
	}
}

// Restart boots a new incarnation of a crashed process from its disk. Restarting a
// running process does nothing.
func (w *World) Restart(p *Process) {
	if p.state != stateDown {
		return
	}
	p.start()
}

// Pause freezes a running process: its timers, tasks and deliveries are held (in order)
// until Resume. Its peers see nothing but silence.
func (w *World) Pause(p *Process) {
	if p.state != stateRunning {
		return
	}
	w.worldNote(p, "pause")
	p.state = statePaused
}

// Resume thaws a paused process; what was held runs now, in its original order.
func (w *World) Resume(p *Process) {
	if p.state != statePaused {
		return
	}
	w.worldNote(p, "resume")
	p.state = stateRunning
	held := p.held
	p.held = nil
	for _, e := range held {
		e.index = indexNone
		w.enqueue(e, w.now)
	}
}

// worldNote folds a lifecycle change into the trace.
func (w *World) worldNote(p *Process, label string) {
	w.fold(uint64(KindWorld))
	w.fold(uint64(p.traceID()))
	w.fold(hashString(label))
	if w.tracing {
		w.traceLine(KindWorld, p, label)
	}
}

// removeHeld takes a held event out of the paused process's list.
func (p *Process) removeHeld(e *event) {
	for i, held := range p.held {
		if held == e {
			copy(p.held[i:], p.held[i+1:])
			p.held[len(p.held)-1] = nil
			p.held = p.held[:len(p.held)-1]
			break
		}
	}
	e.index = indexNone
}

// incarnationEnv is the Clock, Tasks and Network of one incarnation of a process.
type incarnationEnv struct {
	process     *Process
	incarnation uint32
}

func (b *incarnationEnv) alive() bool {
	return b.process.incarnation == b.incarnation && b.process.state != stateDown
}

// Now returns the process's local time: the virtual time scaled by its drift, plus its
// offset. It never goes backwards within a run.
func (b *incarnationEnv) Now() time.Time {
	p := b.process
	now := p.world.now
	local := now + int64(float64(now)*p.clockDrift) + p.clockOffset
	return Epoch.Add(time.Duration(local))
}

// virtualDelay converts a duration measured on the process's clock to virtual time.
func (p *Process) virtualDelay(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	if p.clockDrift == 0 {
		return int64(d)
	}
	return int64(float64(d) / (1 + p.clockDrift))
}

// AfterFunc calls f once, d (on the process's clock) after now.
func (b *incarnationEnv) AfterFunc(d time.Duration, f func()) env.Timer {
	p := b.process
	w := p.world
	t := &timer{process: p}
	t.event = event{
		index:       indexNone,
		kind:        KindTimer,
		process:     p,
		incarnation: b.incarnation,
		fn:          f,
	}
	w.timerSerial++
	t.event.detail = w.timerSerial
	if w.tracing {
		t.event.label = "timer " + itoa(w.timerSerial)
	}
	if b.alive() {
		w.enqueue(&t.event, w.now+p.virtualDelay(d))
	}
	return t
}

// Go runs f as its own event, after the events already due now.
func (b *incarnationEnv) Go(f func()) {
	if !b.alive() {
		return
	}
	p := b.process
	p.world.schedule(p, KindTask, p.world.now, 0, "task", f)
}

// timer is an env.Timer: an event owned by the timer, so Stop can take it out of the
// queue and Reset can put it back.
type timer struct {
	event   event
	process *Process
}

// Stop prevents the callback from running; it reports whether it was pending.
func (t *timer) Stop() bool {
	switch t.event.index {
	case indexNone:
		return false
	case indexHeld:
		t.process.removeHeld(&t.event)
		return true
	default:
		t.process.world.queue.remove(&t.event)
		return true
	}
}

// Reset reschedules the callback d after now and reports whether it was pending. A
// timer of a crashed incarnation stays dead.
func (t *timer) Reset(d time.Duration) bool {
	pending := t.Stop()
	p := t.process
	if p.incarnation == t.event.incarnation && p.state != stateDown {
		p.world.enqueue(&t.event, p.world.now+p.virtualDelay(d))
	}
	return pending
}

func itoa(v uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(buf[i:])
}
