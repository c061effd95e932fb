package filestore

import (
	"fmt"
	"runtime"
	"time"

	"github.com/natsim/natsim/store"
)

// Durable implements store.StreamStore. See the package comment for the group commit.
// With Config.Tasks, a call that finds the lock taken is queued for the lock's holder
// (see storeMutex).
func (s *Store) Durable(done func(err error)) {
	if s.config.Tasks == nil {
		s.mu.Lock()
	} else if !s.mu.TryLock() {
		s.durableCombined(done)
		return
	}
	if s.closed {
		s.mu.Unlock()
		done(errClosed())
		return
	}
	if err := s.writable(); err != nil {
		if s.awaitRecoveryLocked(done) {
			done = nil
		}
		released := s.takeReleasedLocked()
		s.mu.Unlock()
		for _, r := range released {
			r.done(r.err)
		}
		if done != nil {
			done(err)
		}
		return
	}
	if len(s.released) > 0 {
		released := s.takeReleasedLocked()
		s.mu.Unlock()
		for _, r := range released {
			r.done(r.err)
		}
		s.mu.Lock()
		if err := s.writable(); err != nil {
			queued := s.awaitRecoveryLocked(done)
			s.mu.Unlock()
			if !queued {
				done(err)
			}
			return
		}
	}
	if s.config.SyncInterval > 0 {
		start := s.addFlushWaiterLocked(done)
		s.mu.Unlock()
		if start {
			s.flushLoop()
		}
		return
	}
	s.waiters = append(s.waiters, durableWaiter{done: done})
	if s.syncWaitsLocked() {
		s.mu.Unlock()
		return
	}
	s.syncsInFlight++
	s.syncsStarting++
	s.mu.Unlock()
	if s.config.Tasks != nil {
		s.config.Tasks.Go(s.syncLoop)
	} else {
		s.syncLoop()
	}
}

// syncWaitsLocked reports whether the waiting callbacks are left to a running group
// commit: one that has not taken its batch yet takes them, or a running one takes them
// when its sync is done.
func (s *Store) syncWaitsLocked() bool {
	return s.syncsInFlight >= syncsInFlightMax || s.syncsStarting > 0 ||
		s.syncsInFlight > 0 && len(s.waiters) < syncOverlapWaitersMin
}

// awaitRecoveryLocked queues done to wait for the recovery of a failed sync always
// store, and reports whether it did. The writes made before the Durable call are kept
// and rewritten by the recovery (see rollback.go), so nil is the answer once it is
// durable; an error now would be false for a write a successful fsync covered.
func (s *Store) awaitRecoveryLocked(done func(error)) bool {
	if s.failed == nil || s.closed || s.config.SyncInterval > 0 {
		return false
	}
	s.rollbackWaiters = append(s.rollbackWaiters, durableWaiter{done: done})
	return true
}

// syncsInFlightMax bounds the group commits running at once. Overlapping rounds (2
// were allowed) must hold a successful round's acknowledgements until the other one
// succeeds too (see finishRoundLocked), which made batches smaller, cost about a third
// of the throughput, and a rare stall of BenchmarkStoreSyncAlways64Writers was seen
// with them that is not understood yet; one round at a time measured 145,000-167,000
// msgs/s with 64 writers against 116,000-142,000 for two without the holding.
const syncsInFlightMax = 1

// syncOverlapWaitersMin is the number of waiting callbacks that starts a group commit
// beside a running one. An fsync costs CPU as well as time: fewer callbacks wait for
// the running one to finish and share the next, as in a plain group commit.
const syncOverlapWaitersMin = 16

// syncYieldsMax bounds the times a group commit yields the processor after
// acknowledging a batch, waiting for the writers it just released to come back before
// it takes the next batch. Without the wait, the next round takes the few that are
// back already and the rest wait a whole extra fsync: batches then alternate between
// tiny and large and halve the throughput. The wait ends as soon as three quarters of
// the batch are back; the callers are then already acknowledged, so it delays only the
// next round. Under the simulator nothing runs meanwhile and the loop ends at once.
const syncYieldsMax = 64

// flushRoundsMax bounds the rounds an interval-mode caller writes for others before
// it hands the rest to a task (when there is Config.Tasks).
const flushRoundsMax = 16

// flushLoop acknowledges interval-mode callbacks in batches: each round takes the
// waiting callbacks, hands every buffered byte to the OS in one write per block, and
// calls them. Callbacks that arrive during a round wait for the next, so concurrent
// writers share one write system call instead of making one each. Between rounds
// the loop may leave the next one to the writers it released (see deferFlushLocked).
func (s *Store) flushLoop() {
	s.mu.Lock()
	for round := 0; ; round++ {
		batch := s.flushWaiters
		if len(batch) == 0 {
			s.flushing = false
			s.mu.Unlock()
			return
		}
		if round == flushRoundsMax && s.config.Tasks != nil {
			s.mu.Unlock()
			s.config.Tasks.Go(s.flushLoop)
			return
		}
		s.flushWaiters = s.spareWaiters[:0]
		s.spareWaiters = nil
		// Counted before the callbacks are called: a writer may be back with its next
		// one before this loop has the lock again.
		s.flushAbsent += len(batch)
		err := s.flushUnlocked()
		s.mu.Unlock()
		for i, w := range batch {
			w(err)
			batch[i] = nil
		}
		s.mu.Lock()
		if cap(batch) <= syncBatchCallbacksMax {
			s.spareWaiters = batch[:0]
		}
		s.startSyncAheadLocked()
		if s.deferFlushLocked() {
			s.flushing = false
			s.mu.Unlock()
			return
		}
	}
}

// Deferred flushes.
//
// Concurrent interval-mode writers (64 in the target, each waiting for its
// callback before its next write) share a flush only if the flush waits for them: a
// round that starts as soon as the last one ends takes the few writers that are back
// already, and its write system call, its lock round trips and its wake-ups are
// shared by few. A flush that yielded the processor until the writers came back
// measured batches of 6-8 callbacks: the writers it had woken mostly ran on the other
// processor, and the yielding one found nothing to run but itself.
//
// So a round ends by leaving the next one to the writers: while more than one
// released writer is away and fewer than seven of eight are back (flushReadyLocked),
// the flush is deferred, and the Durable call that brings back enough of them starts
// it. Nobody yields or spins meanwhile; both processors run writers. Writers that do
// not come back (they stopped, or wait for something else) are not waited for longer
// than flushWaitMax: flushTimer then starts the round, and forgets half of the
// absent ones, so that writers gone for good stop costing a wait within a few rounds.
// With 64 writers this took batches to 30-50 callbacks and the CPU time per message
// from about 1,450 to 1,100 ns. A single writer (JetStream asks for one durability
// callback per stream at a time) is never waited for.

// flushWaitMax bounds how long a deferred flush waits for absent writers.
const flushWaitMax = 200 * time.Microsecond

// flushReadyLocked reports whether a deferred flush should start: at most one of the
// writers released is away, or seven eighths of them are back.
func (s *Store) flushReadyLocked() bool {
	return s.flushAbsent < 2 || s.flushAbsent*7 <= len(s.flushWaiters) || s.closed
}

// deferFlushLocked decides, after a round, whether the next one waits for the
// writers it released (see Deferred flushes), and arms flushTimer if it does. Without
// a clock and tasks (tests driving the store alone) it never waits.
func (s *Store) deferFlushLocked() bool {
	if s.flushReadyLocked() || s.config.Clock == nil || s.config.Tasks == nil {
		return false
	}
	s.flushDeferred = true
	if s.flushTimer == nil {
		s.flushTimer = s.config.Clock.AfterFunc(flushWaitMax, s.flushWaitExpired)
	} else {
		s.flushTimer.Reset(flushWaitMax)
	}
	return true
}

// flushWaitExpired starts a deferred flush whose writers did not come back within
// flushWaitMax, forgetting half of those still away.
func (s *Store) flushWaitExpired() {
	s.mu.Lock()
	if !s.flushDeferred || s.flushing || s.closed {
		s.mu.Unlock()
		return
	}
	s.flushDeferred = false
	s.flushAbsent /= 2
	if len(s.flushWaiters) == 0 {
		s.mu.Unlock()
		return
	}
	s.flushing = true
	s.mu.Unlock()
	s.flushLoop()
}

// addFlushWaiterLocked queues an interval-mode callback for the next flush; it
// counts as the return of a writer released earlier. It reports whether the caller
// is to start the flush (run flushLoop), which it has then marked running.
func (s *Store) addFlushWaiterLocked(done func(error)) bool {
	s.flushWaiters = append(s.flushWaiters, done)
	s.flushAbsent = max(s.flushAbsent-1, 0)
	if s.flushing || s.flushDeferred && !s.flushReadyLocked() {
		return false
	}
	s.flushDeferred = false
	s.flushing = true
	return true
}

// flushUnlocked hands every buffered byte to the OS, writing the write block's new
// bytes with the lock released so that writers keep appending meanwhile. It is
// called, and returns, with the lock held. The bytes written are a prefix of the
// buffer that appends never touch (they go after it, or into a new array); the one
// in-place change, an erase, copies the buffer first while a write is in flight (see
// eraseRecord), and a concurrent flush under the lock only writes the same bytes again.
func (s *Store) flushUnlocked() error {
	if err := s.writable(); err != nil {
		return err
	}
	w := s.writeBlock()
	for _, b := range s.blocks {
		if b != w {
			if err := s.flushBlock(b); err != nil {
				return err
			}
		}
	}
	if w == nil || w.written >= w.size || w.buf == nil {
		return nil
	}
	start, end := w.written, w.size
	data := w.buf[start:end]
	s.unlockedWrite = unlockedWrite{block: w, start: start, end: end, rewriteFrom: end}
	// The write's bytes are checksummed for the block's index file here, with the
	// lock released, instead of at the rollover (see indexBuilder.contentsCRC).
	index := w.index
	checked := index != nil && index.contentsChecked == start
	var crc uint32
	if checked {
		crc = index.contentsCRC
	}
	s.mu.Unlock()
	_, err := w.file.WriteAt(data, start)
	if checked {
		crc = crcUpdate(crc, data)
	}
	s.mu.Lock()
	done := s.unlockedWrite
	s.unlockedWrite = unlockedWrite{}
	if err != nil {
		s.fail(err)
		return err
	}
	if done.rewriteFrom < end {
		// An erase changed bytes of the range while it was written, and this write
		// may have landed after any other write of them (a rollover's, Stop's, the
		// erase's own) with the old bytes: write them again, now that none is in flight.
		if _, err := w.file.WriteAt(w.buf[done.rewriteFrom:end], done.rewriteFrom); err != nil {
			s.fail(err)
			return err
		}
		w.synced = min(w.synced, done.rewriteFrom)
		if s.closed {
			// Stop synced the block already and will not again.
			if err := w.file.Sync(); err != nil {
				s.fail(err)
				return err
			}
			w.synced = end
		}
	}
	if checked && w.index == index && index.contentsChecked == start && done.rewriteFrom == end {
		// Nothing changed the bytes meanwhile (an erase drops the index) and nothing
		// checksummed them again.
		index.contentsCRC, index.contentsChecked = crc, end
	}
	w.written = max(w.written, end)
	if s.closed && s.syncsInFlight == 0 {
		// Stop ran meanwhile: it wrote and synced these bytes again, and left the
		// files for this flush to close.
		s.closeFiles()
		if s.failed != nil {
			return fmt.Errorf("%w: %w", store.ErrStoreFailed, s.failed)
		}
	}
	return nil
}

// syncAheadBytes is the length of the write block handed to the OS and not synced
// at which interval mode fsyncs it on a task, ahead of the timer. A block's rollover
// must fsync it before the next block exists, under the lock: with the whole block
// unsynced (8 MiB) that took about 7ms a block, a sixth of the time of 64 writers.
// Synced ahead, it leaves the rollover at most about this much to write (a quarter
// of a smaller block).
const syncAheadBytes = 1 << 20

// startSyncAheadLocked starts a group commit without callbacks on a task when the
// write block has syncAheadBytes unsynced in interval mode (see syncAheadBytes). The
// callers are acknowledged already; the fsync runs as a sync always round does.
func (s *Store) startSyncAheadLocked() {
	if s.config.SyncInterval <= 0 || s.config.Tasks == nil || s.closed || s.failed != nil || s.syncsInFlight > 0 {
		return
	}
	w := s.writeBlock()
	if w == nil || w.written-w.synced < min(syncAheadBytes, s.config.BlockBytesMax/4) {
		return
	}
	s.waiters = append(s.waiters, durableWaiter{done: ignoreSyncResult})
	s.syncsInFlight++
	s.syncsStarting++
	s.config.Tasks.Go(s.syncLoop)
}

// ignoreSyncResult is the callback of a sync ahead: a failure fails the store, which
// tells the next callers.
func ignoreSyncResult(error) {}

// unlockedWrite is the write of flushUnlocked in progress, if block is set.
type unlockedWrite struct {
	block       *block
	start, end  int64
	rewriteFrom int64
}

// syncLoop runs group commits until no callback waits. Each round takes the waiting
// callbacks (at most syncBatchCallbacksMax), writes every buffered byte, fsyncs the
// dirty blocks and the directory outside the lock, then calls the callbacks. Up to
// syncsInFlightMax loops run at once; an fsync covers every byte written to the file
// before it started, whoever wrote it, so rounds may finish in any order.
func (s *Store) syncLoop() {
	for round := 0; ; round++ {
		s.mu.Lock()
		if round == 0 {
			s.syncsStarting--
		}
		if len(s.waiters) == 0 || s.closed {
			s.syncsInFlight--
			waiters := s.waiters
			s.waiters = nil
			if len(s.failedWaiters) > 0 && s.syncsInFlight == 0 && s.unlockedWrite.block == nil {
				// Another round failed while this one ran: the last one out recovers.
				// Closed, the callbacks stay uncalled (see Stop).
				s.rollbackWaiters = append(s.rollbackWaiters, s.failedWaiters...)
				s.failedWaiters = nil
				if s.rollbackReady() {
					s.rollbackLocked()
				}
			}
			released := s.takeReleasedLocked()
			if s.closed && s.syncsInFlight == 0 && s.unlockedWrite.block == nil {
				s.closeFiles()
			}
			s.mu.Unlock()
			for _, w := range waiters {
				w.done(errClosed())
			}
			for _, r := range released {
				r.done(r.err)
			}
			return
		}
		batch := s.waiters
		if len(batch) > syncBatchCallbacksMax {
			batch = batch[:syncBatchCallbacksMax]
		}
		s.waiters = s.waiters[len(batch):]
		plan, err := s.planSyncLocked()
		if plan.dir {
			s.dirSyncsInFlight++
		}
		s.roundsRunning++
		s.mu.Unlock()
		if err == nil {
			err = plan.run(s)
		}
		s.mu.Lock()
		s.roundsRunning--
		if plan.dir {
			s.dirSyncsInFlight--
		}
		batch, err = s.finishRoundLocked(plan, batch, err)
		released := s.takeReleasedLocked()
		s.mu.Unlock()
		for _, w := range batch {
			w.done(err)
		}
		for _, r := range released {
			r.done(r.err)
		}
		s.awaitReturningWriters(len(batch))
	}
}

// deferredRound is a group commit whose fsync succeeded while another round ran: its
// plan is committed and its callbacks acknowledged only once that round succeeds too.
type deferredRound struct {
	plan  syncPlan
	batch []durableWaiter
}

// finishRoundLocked handles a group commit's result and returns the callbacks to call
// now with the error to give them. A successful fsync proves nothing while another
// round's fsync runs or ran beside it: a failed fsync forgets the unsynced pages it
// covered (the page cache marks them clean), so an fsync of the same file after it
// succeeds without writing them, and its round may handle its result first. Such a
// round waits (deferredRounds) until no round runs; the last one commits them all
// when no fsync failed, and otherwise hands their callbacks to the recovery, which
// rewrites the pages (see rollback.go).
func (s *Store) finishRoundLocked(plan syncPlan, batch []durableWaiter, err error) ([]durableWaiter, error) {
	if err == nil && s.failed != nil {
		// Another round failed meanwhile: its failure may have dropped pages this
		// fsync was to cover, so this one proves nothing.
		err = s.failed
	}
	if err != nil {
		s.fail(err)
		for _, d := range s.deferredRounds {
			batch = append(batch, d.batch...)
		}
		s.deferredRounds = nil
		return s.rollbackAfterSyncLocked(batch), err
	}
	if s.roundsRunning > 0 {
		s.deferredRounds = append(s.deferredRounds, deferredRound{plan: plan, batch: batch})
		return nil, nil
	}
	for _, d := range s.deferredRounds {
		d.plan.commit()
		batch = append(batch, d.batch...)
	}
	s.deferredRounds = nil
	plan.commit()
	return batch, nil
}

// rollbackAfterSyncLocked handles a failed group commit's batch. The last round in
// flight starts the recovery, which hands every waiting callback nil once the rewrite
// is durable (see rollback.go), and returns nothing; an earlier one leaves its batch
// to that round. In interval mode it returns the batch, to be told the error.
func (s *Store) rollbackAfterSyncLocked(batch []durableWaiter) []durableWaiter {
	if s.syncsInFlight > 1 || s.unlockedWrite.block != nil {
		s.failedWaiters = append(s.failedWaiters, batch...)
		return nil
	}
	batch = append(append(batch, s.failedWaiters...), s.waiters...)
	s.failedWaiters, s.waiters = nil, nil
	if s.config.SyncInterval > 0 {
		return batch
	}
	// The callbacks wait for the recovery to be durable (see rollback.go).
	s.rollbackWaiters = append(s.rollbackWaiters, batch...)
	s.syncsInFlight--
	if s.rollbackReady() {
		s.rollbackLocked()
	}
	s.syncsInFlight++
	return nil
}

// awaitReturningWriters yields (at most syncYieldsMax times) until three quarters of
// the writers of a batch of released callbacks have come back with new ones.
func (s *Store) awaitReturningWriters(released int) {
	for range syncYieldsMax {
		s.mu.Lock()
		enough := len(s.waiters) >= released*3/4 || s.closed
		s.mu.Unlock()
		if enough {
			return
		}
		runtime.Gosched()
	}
}

// syncPlan is the work of one group commit, gathered under the lock.
type syncPlan struct {
	blocks  []*block
	lengths []int64
	dir     bool
}

// planSyncLocked writes the buffered bytes and lists what must be fsynced. The
// directory is synced when a block was created since the last plan, or when another
// round's directory sync is still running: this round's callbacks must not be
// acknowledged before the entries of the blocks holding their writes are durable.
func (s *Store) planSyncLocked() (syncPlan, error) {
	var plan syncPlan
	if err := s.flushAllLocked(); err != nil {
		return plan, err
	}
	if err := s.zeroAheadLocked(s.writeBlock()); err != nil {
		return plan, err
	}
	for _, b := range s.blocks {
		if b.synced < b.written || b.synced < b.size {
			plan.blocks = append(plan.blocks, b)
			plan.lengths = append(plan.lengths, b.written)
		}
	}
	plan.dir = s.dirDirty || s.dirSyncsInFlight > 0
	s.dirDirty = false
	return plan, nil
}

func (p syncPlan) run(s *Store) error {
	for _, b := range p.blocks {
		if err := b.file.Sync(); err != nil {
			return err
		}
	}
	if p.dir {
		return s.config.FS.SyncDir(s.msgsDir())
	}
	return nil
}

func (p syncPlan) commit() {
	for i, b := range p.blocks {
		b.markSynced(p.lengths[i])
	}
}

// flushAllLocked hands every buffered byte to the OS.
func (s *Store) flushAllLocked() error {
	for _, b := range s.blocks {
		if err := s.flushBlock(b); err != nil {
			return err
		}
	}
	return nil
}

// syncAllLocked writes and fsyncs everything inline (Stop, interval timer).
func (s *Store) syncAllLocked() error {
	if s.failed != nil {
		return s.writable()
	}
	plan, err := s.planSyncLocked()
	if err == nil {
		err = plan.run(s)
	}
	if err != nil {
		s.fail(err)
		return err
	}
	if s.roundsRunning == 0 {
		// A running group commit may have failed before this fsync (see
		// finishRoundLocked): it commits the blocks, or the recovery rewrites them.
		plan.commit()
	}
	return nil
}

// armTimer starts the interval sync timer in interval mode.
func (s *Store) armTimer() {
	if s.config.SyncInterval <= 0 || s.config.Clock == nil {
		return
	}
	s.timer = s.config.Clock.AfterFunc(s.config.SyncInterval, s.intervalSync)
}

func (s *Store) intervalSync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.syncsInFlight > 0 {
		return
	}
	_ = s.syncAllLocked()
	if s.timer != nil {
		s.timer.Reset(s.config.SyncInterval)
	}
}
