package sim

// EventKind names what an event does; it is folded into the trace hash.
type EventKind uint8

// The kinds of scheduled events.
const (
	KindTask    EventKind = iota + 1 // a Tasks.Go callback
	KindTimer                        // a Clock.AfterFunc callback
	KindDeliver                      // network bytes reaching a connection
	KindAccept                       // a listener accepting a connection
	KindDial                         // a Dial completing (with a connection or an error)
	KindClose                        // a connection's OnClose
	KindWorld                        // the world's own work: faults, phases, checks
	KindNote                         // a record written by a scenario (not scheduled)
)

var kindNames = [...]string{
	KindTask:    "task",
	KindTimer:   "timer",
	KindDeliver: "deliver",
	KindAccept:  "accept",
	KindDial:    "dial",
	KindClose:   "close",
	KindWorld:   "world",
	KindNote:    "note",
}

// String returns the kind's trace name.
func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Heap positions that are not real positions.
const (
	indexNone = -1 // not queued
	indexHeld = -2 // held while its process is paused
)

// event is one scheduled callback. Events of a process carry its incarnation: when the
// process crashes its incarnation changes and the scheduler drops the old events, so a
// dead incarnation's callbacks can never run.
type event struct {
	at          int64 // virtual nanoseconds since the start of the run
	seq         uint64
	index       int
	kind        EventKind
	pooled      bool // the scheduler may reuse it once dispatched
	incarnation uint32
	process     *Process
	detail      uint64 // folded into the trace hash
	label       string // for the verbose trace only
	fn          func()
	endpoint    *endpoint // for KindDeliver: the receiving endpoint to pump
}

// eventQueue is a binary min-heap of events ordered by (at, seq). It is written out by
// hand rather than with container/heap: the interface calls cost a third of a
// dispatch.
type eventQueue struct {
	items []*event
}

func (q *eventQueue) len() int { return len(q.items) }

func less(a, b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *eventQueue) push(e *event) {
	e.index = len(q.items)
	q.items = append(q.items, e)
	q.up(e.index)
}

func (q *eventQueue) peek() *event { return q.items[0] }

func (q *eventQueue) pop() *event {
	items := q.items
	top := items[0]
	last := len(items) - 1
	if last > 0 {
		items[0] = items[last]
		items[0].index = 0
	}
	items[last] = nil
	q.items = items[:last]
	if last > 1 {
		q.down(0)
	}
	top.index = indexNone
	return top
}

// remove takes e out of the queue; e must be queued.
func (q *eventQueue) remove(e *event) {
	i := e.index
	last := len(q.items) - 1
	if i != last {
		q.items[i] = q.items[last]
		q.items[i].index = i
	}
	q.items[last] = nil
	q.items = q.items[:last]
	if i != last {
		q.down(i)
		q.up(i)
	}
	e.index = indexNone
}

func (q *eventQueue) up(i int) {
	items := q.items
	e := items[i]
	for i > 0 {
		parent := (i - 1) / 2
		if !less(e, items[parent]) {
			break
		}
		items[i] = items[parent]
		items[i].index = i
		i = parent
	}
	items[i] = e
	e.index = i
}

func (q *eventQueue) down(i int) {
	items := q.items
	n := len(items)
	e := items[i]
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && less(items[right], items[child]) {
			child = right
		}
		if !less(items[child], e) {
			break
		}
		items[i] = items[child]
		items[i].index = i
		i = child
	}
	items[i] = e
	e.index = i
}
