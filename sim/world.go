package sim

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/natsim/natsim/env"
)

// Epoch is the wall-clock time at virtual time zero, before each process's clock offset.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Disk is what the world needs from a simulated disk: one per process, surviving its
// crashes. sim/simfs's *Disk implements it.
type Disk interface {
	// FS returns the file system for the process's current incarnation.
	FS() env.FS
	// Crash ends the incarnation: every open handle is closed; a process kill keeps
	// pending bytes, a power loss drops (and may tear) them.
	Crash(powerLoss bool)
}

// DiskFactory builds the disk of a process from its dedicated random stream.
type DiskFactory func(process string, rnd env.Rand) Disk

// Options are the choices a World is built with that do not come from the seed.
type Options struct {
	// Trace, when set, receives one line per event: the verbose trace.
	Trace func(line string)
	// NewDisk builds each process's disk; nil leaves processes without a file system.
	NewDisk DiskFactory
	// DiskSafetyOnly makes Run use the disk atlas's safety-only mode (Config.
	// DiskSafetyOnly) whatever the scenario configured: disk faults may then hit every
	// copy of a datum. The replay command carries it as -disk-safety-only.
	DiskSafetyOnly bool
}

// World is one simulated run: the scheduler, the processes, the network and the
// faults. Everything runs on the caller's goroutine inside Run/RunUntil.
type World struct {
	config  Config
	options Options
	now     int64
	seq     uint64
	queue   eventQueue
	free    []*event

	processes []*Process
	byName    map[string]*Process
	network   *network
	buggify   *buggify

	hash    uint64
	events  uint64
	stopped bool
	tracing bool

	timerSerial uint64
	streams     map[string]*Stream
	violation   error
	artifacts   []Artifact
	diskGroups  [][]*Process
	knobs       []KnobValue
}

// NewWorld returns an empty world for the configuration (its Seed seeds every stream).
func NewWorld(config Config, options Options) *World {
	w := &World{
		config:  config,
		options: options,
		byName:  map[string]*Process{},
		hash:    fnvOffset64,
		tracing: options.Trace != nil,
		streams: map[string]*Stream{},
	}
	w.network = newNetwork(w)
	w.buggify = newBuggify(config.Seed, w.Rand("buggify"))
	return w
}

// Config returns the run's configuration.
func (w *World) Config() Config { return w.config }

// Seed returns the run's seed.
func (w *World) Seed() uint64 { return w.config.Seed }

// Rand returns the run's stream with the given name, creating it on first use. Each
// component should use its own name so that it never shifts another's draws.
func (w *World) Rand(name string) *Stream {
	s, ok := w.streams[name]
	if !ok {
		s = NewStream(w.config.Seed, name)
		w.streams[name] = s
	}
	return s
}

// Knob draws a scenario's tuning knob (a timeout, a batch size, a sync policy) uniformly
// in [low, high] from the knob's own stream, so that adding a knob never changes
// another's value, and records it in the trace and in Result.Knobs.
func (w *World) Knob(name string, low, high int64) int64 {
	value := NewStream(w.config.Seed, "knob/"+name).Between(low, high)
	w.knobs = append(w.knobs, KnobValue{Name: name, Value: value})
	w.fold(hashString(name))
	w.fold(uint64(value))
	if w.tracing {
		w.traceLine(KindWorld, nil, "knob "+name+"="+strconv.FormatInt(value, 10))
	}
	return value
}

// KnobValue is one knob drawn by a run.
type KnobValue struct {
	Name  string
	Value int64
}

// Now returns the virtual time since the start of the run.
func (w *World) Now() time.Duration { return time.Duration(w.now) }

// Hash returns the trace hash so far: FNV-1a folded over every dispatched event's time,
// kind, process and details, and over every note.
func (w *World) Hash() uint64 { return w.hash }

// Events returns how many events have been dispatched.
func (w *World) Events() uint64 { return w.events }

// Pending returns how many events are queued (including dropped ones not yet popped).
func (w *World) Pending() int { return w.queue.len() }

// Stop makes Run return after the current event.
func (w *World) Stop() { w.stopped = true }

// Processes returns every process in spawn order.
func (w *World) Processes() []*Process { return w.processes }

// Process returns the process with the given name, or nil.
func (w *World) Process(name string) *Process { return w.byName[name] }

// fold mixes one 64-bit word into the trace hash (FNV-1a over whole words).
func (w *World) fold(x uint64) {
	w.hash ^= x
	w.hash *= fnvPrime64
}

// Note records a scenario event (an operation invoked, a value read) in the trace hash
// and the verbose trace. It is cheap when the trace is off: the text is only hashed.
func (w *World) Note(process *Process, text string) {
	w.fold(uint64(KindNote))
	w.fold(uint64(process.traceID()))
	w.hash = hashBytes(w.hash, []byte(text))
	if w.tracing {
		w.traceLine(KindNote, process, text)
	}
}

// Tracing reports whether the verbose trace is on, so that callers build labels only
// when someone reads them.
func (w *World) Tracing() bool { return w.tracing }

func (w *World) traceLine(kind EventKind, process *Process, label string) {
	name := "-"
	if process != nil {
		name = process.name + "#" + strconv.FormatUint(uint64(process.incarnation), 10)
	}
	w.options.Trace(fmt.Sprintf("%s %-7s %-8s %s", formatVirtual(w.now), kind, name, label))
}

// formatVirtual prints virtual nanoseconds as seconds with nine decimals, so that trace
// lines sort and align.
func formatVirtual(at int64) string {
	return fmt.Sprintf("%6d.%09d", at/int64(time.Second), at%int64(time.Second))
}

// newEvent takes an event from the free list or allocates one.
func (w *World) newEvent() *event {
	if n := len(w.free); n > 0 {
		e := w.free[n-1]
		w.free = w.free[:n-1]
		return e
	}
	return &event{index: indexNone, pooled: true}
}

// recycle returns a dispatched or dropped pooled event to the free list.
func (w *World) recycle(e *event) {
	if !e.pooled {
		return
	}
	*e = event{index: indexNone, pooled: true}
	if len(w.free) < freeEventsMax {
		w.free = append(w.free, e)
	}
}

// freeEventsMax bounds the free list so that one burst does not pin memory forever.
const freeEventsMax = 1 << 16

// enqueue schedules e at virtual time at (never before now).
func (w *World) enqueue(e *event, at int64) {
	if at < w.now {
		at = w.now
	}
	e.at = at
	w.seq++
	e.seq = w.seq
	w.queue.push(e)
}

// At schedules a world callback (no process: it survives every crash) d after now.
func (w *World) At(d time.Duration, label string, fn func()) {
	e := w.newEvent()
	e.kind = KindWorld
	e.fn = fn
	e.detail = hashString(label)
	e.label = label
	w.enqueue(e, w.now+int64(d))
}

// schedule queues fn for process p's current incarnation.
func (w *World) schedule(p *Process, kind EventKind, at int64, detail uint64, label string, fn func()) {
	e := w.newEvent()
	e.kind = kind
	e.process = p
	e.incarnation = p.incarnation
	e.detail = detail
	e.label = label
	e.fn = fn
	w.enqueue(e, at)
}

// RunUntil dispatches events in (time, sequence) order until the next one is later than
// the virtual time until, the queue is empty, Stop is called or eventsMax events have run
// in total. The clock then stands at until (unless stopped). It reports whether the
// event budget ran out.
func (w *World) RunUntil(until time.Duration, eventsMax uint64) (exhausted bool) {
	limit := int64(until)
	for w.queue.len() > 0 && !w.stopped {
		e := w.queue.peek()
		if e.at > limit {
			break
		}
		if w.events >= eventsMax {
			return true
		}
		w.queue.pop()
		w.now = e.at
		w.dispatch(e)
	}
	if !w.stopped && w.now < limit {
		w.now = limit
	}
	return false
}

// dispatch runs one popped event unless its process's incarnation is gone (then it is
// dropped) or paused (then it is held until Resume).
func (w *World) dispatch(e *event) {
	p := e.process
	if p != nil {
		if p.incarnation != e.incarnation || p.state == stateDown {
			w.recycle(e)
			return
		}
		if p.state == statePaused {
			e.index = indexHeld
			p.held = append(p.held, e)
			return
		}
	}
	w.events++
	w.fold(uint64(e.at))
	w.fold(uint64(e.kind)<<32 | uint64(p.traceID()))
	w.fold(e.detail)
	if w.tracing && e.kind != KindDeliver {
		w.traceLine(e.kind, p, e.label)
	}
	if e.kind == KindDeliver {
		e.endpoint.pump()
		return
	}
	fn := e.fn
	w.recycle(e)
	fn()
}

// sortedKeys returns a map's keys in order, so that iteration never decides anything.
func sortedKeys[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
