package filestore

import (
	"sync"
	"sync/atomic"
)

// Combined writes.
//
// Many writers store into one stream at once (JetStream's publishers, 64 in flight in
// the target), and each StoreMsg holds the store's lock for a few hundred
// nanoseconds. With that many goroutines waiting, Go's mutex hands the lock from one
// to the next in order (its starvation mode), and every hand-off is a goroutine
// switch on the lock's critical path: 64 interval-mode writers spent about twice as
// long switching as storing.
//
// So a StoreMsg that finds the lock taken does not wait for it. It queues its message
// and waits for its result; whoever holds the lock stores the queued messages, in
// queue order, as soon as it takes the lock and again before it lets it go (see
// storeMutex), so one holder stores a whole batch without a switch, and the waiting
// writers are woken while it goes on. The result is what the writer's own StoreMsg
// would have returned at that point of the lock's order. A Durable call that finds
// the lock taken queues the same way (with Config.Tasks, which then runs what the
// call would have run inline) and returns at once: its callback was always to come
// later. Taking the queue first on every acquisition keeps the calls in the order
// they were queued, before any later call, so the callbacks still come in the order
// Durable was called. A single goroutine (the simulator) always gets the lock and
// never queues.

// storeMutex is the store's lock: a sync.Mutex that runs the StoreMsg and Durable
// calls queued while it was taken, after each acquisition and before each release.
type storeMutex struct {
	sync.Mutex
	// store runs the queued messages.
	store *Store
	// queueMu guards queue; queued counts its messages for a check without the lock.
	queueMu sync.Mutex
	queue   []*queuedStore
	spare   []*queuedStore
	queued  atomic.Int32
}

// queuedStore is a StoreMsg waiting for the lock's holder, and its result; or, with
// durable set, a Durable call, for which nobody waits.
type queuedStore struct {
	subject  string
	hdr, msg []byte
	ts, ttl  int64
	seq      uint64
	err      error
	done     chan struct{}
	durable  func(error)
}

var queuedStorePool = sync.Pool{New: func() any { return &queuedStore{done: make(chan struct{}, 1)} }}

// enqueue queues a message for the lock's holder.
func (m *storeMutex) enqueue(q *queuedStore) {
	m.queueMu.Lock()
	m.queue = append(m.queue, q)
	m.queued.Add(1)
	m.queueMu.Unlock()
}

// Lock takes the lock and runs the queued calls.
func (m *storeMutex) Lock() {
	m.Mutex.Lock()
	m.runQueuedLocked()
}

// TryLock takes the lock if it is free, and then runs the queued calls.
func (m *storeMutex) TryLock() bool {
	if !m.Mutex.TryLock() {
		return false
	}
	m.runQueuedLocked()
	return true
}

// Unlock runs the queued calls, then releases the lock. A call queued after the last
// look, while the lock was still held, is run by taking the lock again: its caller
// found the lock taken and counts on a holder to run it.
func (m *storeMutex) Unlock() {
	for {
		m.runQueuedLocked()
		m.Mutex.Unlock()
		if m.queued.Load() == 0 || !m.Mutex.TryLock() {
			return
		}
	}
}

// runQueuedLocked runs the queued calls until none is left.
func (m *storeMutex) runQueuedLocked() {
	for m.queued.Load() > 0 {
		m.runBatchLocked()
	}
}

// runBatchLocked runs the queued calls in order and wakes the waiting writers.
func (m *storeMutex) runBatchLocked() {
	m.queueMu.Lock()
	batch := m.queue
	m.queue = m.spare[:0]
	m.spare = nil
	m.queued.Add(-int32(len(batch)))
	m.queueMu.Unlock()
	for i, q := range batch {
		batch[i] = nil
		if q.durable != nil {
			m.store.durableQueuedLocked(q.durable)
			*q = queuedStore{done: q.done}
			queuedStorePool.Put(q)
			continue
		}
		q.seq, q.ts, q.err = m.store.storeMsgLocked(q.subject, q.hdr, q.msg, q.ts, q.ttl)
		q.done <- struct{}{}
	}
	m.queueMu.Lock()
	if m.spare == nil && cap(batch) <= queuedStoresSpareMax {
		m.spare = batch[:0]
	}
	m.queueMu.Unlock()
}

// queuedStoresSpareMax bounds the queue array kept for reuse; the queue itself is
// bounded by the number of concurrent StoreMsg callers.
const queuedStoresSpareMax = 1 << 12

// storeMsgCombined stores a message through the lock's holder, which found the lock
// taken (see storeMutex).
func (s *Store) storeMsgCombined(subject string, hdr, msg []byte, ts, ttl int64) (uint64, int64, error) {
	q := queuedStorePool.Get().(*queuedStore)
	q.subject, q.hdr, q.msg, q.ts, q.ttl = subject, hdr, msg, ts, ttl
	s.mu.enqueue(q)
	if s.mu.TryLock() {
		// The holder left meanwhile: this message was stored with the queue.
		s.mu.Unlock()
	}
	<-q.done
	seq, stamp, err := q.seq, q.ts, q.err
	*q = queuedStore{done: q.done}
	queuedStorePool.Put(q)
	return seq, stamp, err
}

// durableCombined queues a Durable call that found the lock taken (see storeMutex).
func (s *Store) durableCombined(done func(error)) {
	q := queuedStorePool.Get().(*queuedStore)
	q.durable = done
	s.mu.enqueue(q)
	if s.mu.TryLock() {
		s.mu.Unlock()
	}
}

// durableQueuedLocked is Durable for a call queued while the lock was taken: it runs
// under the lock of another call, so the callback, a group commit or a flush go to
// Config.Tasks instead of running inline.
func (s *Store) durableQueuedLocked(done func(error)) {
	switch err := s.writable(); {
	case s.closed:
		s.released = append(s.released, releasedCallback{done: done, err: errClosed()})
	case err != nil:
		if !s.awaitRecoveryLocked(done) {
			s.released = append(s.released, releasedCallback{done: done, err: err})
		}
	case s.config.SyncInterval > 0:
		if s.addFlushWaiterLocked(done) {
			s.config.Tasks.Go(s.flushLoop)
		}
	default:
		s.waiters = append(s.waiters, durableWaiter{done: done})
		if !s.syncWaitsLocked() {
			s.syncsInFlight++
			s.syncsStarting++
			s.config.Tasks.Go(s.syncLoop)
		}
	}
	if len(s.released) > 0 {
		s.config.Tasks.Go(s.callReleased)
	}
}
