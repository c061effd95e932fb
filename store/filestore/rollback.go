package filestore

// Failed writes and syncs.
//
// A failed fsync leaves the bytes it covered in an unknown state, and on Linux
// (fsyncgate) worse: the kernel may drop the dirty pages' error state and mark them
// clean, so the process keeps reading its writes from the page cache, a later fsync
// succeeds without writing them, and a power loss reveals that they never reached the
// disk. Two rules follow, the ones PostgreSQL adopted: never trust a page whose fsync
// failed, and rewrite from a copy the process owns whatever must become durable.
//
// Recovery (sync always mode). When a group commit fails, or a write to the OS does,
// the store refuses writes (a refused write takes no sequence) and, once no other
// sync or write is in flight, makes the write block durable as the index sees it
// again: the file's tail after the committed length (the bytes a successful fsync
// covered) is cleared by truncating the file and extending it back to its
// preallocated length (a truncation is durable after one fsync whatever the page
// cache forgot), every byte after the committed length is written again from the
// buffer, the pending rewrites of other blocks too, and everything is fsynced with
// the directory (see resyncWriteBlock). Then every waiting callback gets nil, which is
// now the truth, and the store takes writes again. Durable calls made while the store
// waits for this wait with them.
//
// Why no write the store accepted is ever dropped. An earlier design rolled the
// unsynced tail back instead (dropped its records from the index, reused their
// sequences, told their callbacks the error). That cannot be right for every
// interleaving of StoreMsg and Durable across goroutines: a Durable callback covers
// every write made before the call, and the store cannot tell which of them is its
// caller's. With writes W1 (covered by a successful fsync) and W2 (not), and then two
// Durable calls, each caller may own either write; whatever the rollback does with W2,
// one of the two answers is false for one of the two orders of the calls. The same
// holds for a Durable call made after the rollback: its caller may own W1 (an answer
// of nil is due) or W2 (nil would acknowledge a dropped message). Keeping every
// accepted write and rewriting it from memory makes one answer, nil, true for all.
//
// While the rewrite keeps failing the store stays failed and the callbacks stay
// uncalled: whether their writes survive a power loss depends on what the failed
// fsyncs wrote, so no answer would be the truth, and a caller that never hears back
// (the process dies first) has an unknown outcome, which is the truth. The next write
// attempt or Durable call retries. After a process kill, Open makes what it recovered
// durable the same way (see resyncWriteBlock), so what a restart serves is what a
// later power loss keeps.
//
// ENOSPC: a block that cannot be created (preallocation fails) fails the write that
// needed it before anything is journaled; the recovery's fsync then succeeds, and the
// store takes writes again, refusing each one for which there is still no room.
//
// Interval mode acknowledges writes before their fsync, so a failure there may have
// lost acknowledged messages already; the store stays failed until it is reopened.

// markSynced records that a sync covering the first length bytes of b succeeded.
func (b *block) markSynced(length int64) {
	b.synced = max(b.synced, length)
	b.committed = max(b.committed, length)
}

// rollbackReady reports whether a pending recovery can run now: nothing else writes
// or syncs the files.
func (s *Store) rollbackReady() bool {
	return s.failed != nil && s.rollbackPending && s.config.SyncInterval <= 0 &&
		s.syncsInFlight == 0 && s.unlockedWrite.block == nil && !s.closed
}

// rollbackLocked rewrites every byte after the committed length from memory and makes
// it durable; when that succeeds the waiting callbacks get nil and the store takes
// writes again. See the comment above.
func (s *Store) rollbackLocked() {
	s.rollbackPending = false
	w := s.writeBlock()
	if w == nil {
		return
	}
	if err := s.resyncWriteBlock(w.committed); err != nil {
		// The next write attempt tries again: every step rewrites what it needs.
		s.rollbackPending = true
		return
	}
	s.recovery.Rollbacks++
	s.releaseRollbackWaitersLocked()
	s.failed = nil
}

// releaseRollbackWaitersLocked hands the waiting callbacks nil, now that every write
// is durable: on a task when there is Config.Tasks, otherwise to the next Durable call
// or group commit (see takeReleasedLocked).
func (s *Store) releaseRollbackWaitersLocked() {
	if len(s.rollbackWaiters) == 0 {
		return
	}
	for _, w := range s.rollbackWaiters {
		s.released = append(s.released, releasedCallback{done: w.done})
	}
	s.rollbackWaiters = nil
	if s.config.Tasks != nil {
		s.config.Tasks.Go(s.callReleased)
	}
}

// durableWaiter is a Durable callback of sync always mode.
type durableWaiter struct {
	done func(error)
}

// releasedCallback is a Durable callback and the error it is to get.
type releasedCallback struct {
	done func(error)
	err  error
}

// takeReleasedLocked returns the released callbacks, to be called without the lock.
func (s *Store) takeReleasedLocked() []releasedCallback {
	released := s.released
	s.released = nil
	return released
}

// callReleased calls the released callbacks.
func (s *Store) callReleased() {
	s.mu.Lock()
	released := s.takeReleasedLocked()
	s.mu.Unlock()
	for _, r := range released {
		r.done(r.err)
	}
}

// resyncWriteBlock makes the write block durable as the store sees it, trusting no
// page after from: its tail is cleared by a truncation (extended back to the length
// the block had), the bytes from from on are written again from the buffer, the
// pending rewrites of other blocks too, and everything is fsynced with the directory.
// A block holding corruption is synced as it is: its damaged bytes stay for whoever
// repairs them, and they must not be rewritten from what a faulty read returned.
func (s *Store) resyncWriteBlock(from int64) error {
	w := s.writeBlock()
	for _, b := range s.blocks {
		if b == w || b.synced >= b.written {
			continue
		}
		// A block rewritten in place (an erase) whose sync may have failed.
		buf, err := s.blockBytes(b)
		if err != nil {
			return err
		}
		if _, err := b.file.WriteAt(buf[b.synced:b.written], b.synced); err != nil {
			return err
		}
	}
	if !w.keep && w.buf != nil {
		fileBytes, err := w.file.Size()
		if err != nil {
			return err
		}
		if err := w.file.Truncate(w.size); err != nil {
			return err
		}
		// The truncation freed what was zero-filled after the data.
		w.zeroed = min(w.zeroed, w.size)
		if fileBytes > w.size {
			if err := w.file.Truncate(fileBytes); err != nil {
				return err
			}
		}
		from = min(max(from, 0), w.size)
		if _, err := w.file.WriteAt(w.buf[from:w.size], from); err != nil {
			return err
		}
		w.written = w.size
	} else if err := s.flushAllLocked(); err != nil {
		return err
	}
	for _, b := range s.blocks {
		if b == w || b.synced < b.written {
			if err := b.file.Sync(); err != nil {
				return err
			}
		}
	}
	if err := s.config.FS.SyncDir(s.msgsDir()); err != nil {
		return err
	}
	s.dirDirty = false
	for _, b := range s.blocks {
		b.markSynced(b.written)
	}
	return nil
}
