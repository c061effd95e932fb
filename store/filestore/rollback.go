package filestore

import (
	"errors"
	"fmt"
)

// Failed writes and syncs.
//
// A failed fsync leaves the bytes it covered in an unknown state, and on Linux
// (fsyncgate) worse: the kernel may drop the dirty pages' error state and mark them
// clean, so the process keeps reading its writes from the page cache, a later fsync
// succeeds without writing them, and a power loss reveals that they never reached the
// disk. Two rules follow, the ones PostgreSQL adopted: never trust a page whose fsync
// failed, and rewrite from a copy the process owns whatever must become durable.
//
// Rollback (sync always mode). When a group commit fails, or a write to the OS does,
// the store refuses writes and, once no other sync or write is in flight, rolls the
// write block back to its committed length (the bytes a successful fsync covered):
// every record after it is dropped from the buffer, the messages and skips among them
// leave the index and give their sequences back (a refused publish takes none, as in
// the reference server), and removals are journaled again, since the index keeps their
// effect. A purge or truncation among them cannot be undone in the index: the store
// then stays failed until it is reopened, the callbacks stay uncalled. The
// file's tail is cleared by truncating it to the new length and extending it back to
// its preallocated length (a truncation is durable after one fsync whatever the page
// cache forgot), the bytes the store keeps but whose sync failed are written again,
// and everything is fsynced. Then the callbacks of the failed writes get their error,
// which is now the truth: their messages are gone from the index and from the disk.
//
// The callbacks are told only once the rollback is durable. Until then the failed
// writes might still come back after a power loss (a failed fsync may have written
// them), so an error would not be the truth; a caller that never hears back (the
// process dies first) has an unknown outcome, which is the truth.
//
// Resuming. If that fsync succeeds, the disk holds exactly the index's state and the
// store takes writes again: later syncs cover only bytes written after the rollback,
// never a page whose fsync failed. One more condition: every message write made
// before the rollback must have had its Durable call, so that its callback got the
// error. A caller that wrote a message and had not called Durable yet would otherwise
// see a later sync succeed for a message that was rolled back; then the store stays
// failed until it is reopened (messagesUndeclared counts those writes). A failed
// rollback also leaves the store failed; the next write attempt retries the durable
// part, which rewrites everything again. After a process kill, Open makes what it
// recovered durable the same way (see resyncWriteBlock), so the rolled-back state is
// what a restart serves and what a later power loss keeps.
//
// ENOSPC: a block that cannot be created (preallocation fails) fails the write that
// needed it before anything is journaled; the rollback then finds nothing to drop,
// its fsync succeeds, and the store takes writes again, refusing each one for which
// there is still no room.
//
// Interval mode acknowledges writes before their fsync, so rolling them back would
// lose acknowledged messages on a mere failure; there the store stays failed until
// it is reopened, as before.

// markSynced records that a sync covering the first length bytes of b succeeded.
func (b *block) markSynced(length int64) {
	b.synced = max(b.synced, length)
	b.committed = max(b.committed, length)
}

// rollbackReady reports whether a pending rollback can run now: nothing else writes
// or syncs the files.
func (s *Store) rollbackReady() bool {
	return s.failed != nil && s.rollbackPending && s.config.SyncInterval <= 0 &&
		s.syncsInFlight == 0 && s.unlockedWrite.block == nil && !s.closed
}

// rollbackLocked rolls back the write block's uncommitted records (once) and makes the
// result durable; when that succeeds and no message write awaits its Durable call, the
// store takes writes again. See the comment above.
func (s *Store) rollbackLocked() {
	s.rollbackPending = false
	if !s.rolledBack {
		if err := s.rollbackRecordsLocked(); err != nil {
			s.failed = fmt.Errorf("%w (rollback failed: %w)", s.failed, err)
			return
		}
		s.rolledBack = true
	}
	w := s.writeBlock()
	if w == nil {
		return
	}
	if err := s.resyncWriteBlock(w.committed); err != nil {
		// The next write attempt tries again: every step rewrites what it needs.
		s.rollbackPending = true
		return
	}
	s.rolledBack = false
	s.recovery.Rollbacks++
	s.releaseRollbackWaitersLocked()
	if s.messagesUndeclared > 0 {
		s.failed = fmt.Errorf("%w (rolled back, but a message write had no Durable call yet)", s.failed)
		return
	}
	s.failed = nil
}

// releaseRollbackWaitersLocked hands the callbacks of rolled-back writes their error,
// now that the rollback is durable: on a task when there is Config.Tasks, otherwise
// to the next Durable call or group commit (see takeReleasedLocked).
func (s *Store) releaseRollbackWaitersLocked() {
	if len(s.rollbackWaiters) == 0 {
		return
	}
	for _, w := range s.rollbackWaiters {
		// A callback registered after a write that a successful fsync covered (a
		// group commit took its batch just before) was not rolled back.
		err := s.rollbackErr
		if w.position <= s.rollbackPoint {
			err = nil
		}
		s.released = append(s.released, releasedCallback{done: w.done, err: err})
	}
	s.rollbackWaiters = nil
	if s.config.Tasks != nil {
		s.config.Tasks.Go(s.callReleased)
	}
}

// durableWaiter is a Durable callback of sync always mode and the write position
// (see writePosition) when it was registered: the writes it waits for end there.
type durableWaiter struct {
	done     func(error)
	position uint64
}

// writePosition is where the next record goes, as a location: later writes have
// larger positions, across blocks too.
func (s *Store) writePosition() uint64 {
	w := s.writeBlock()
	if w == nil {
		return 0
	}
	return location(w.id, w.size)
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

// errRollbackUnsupported reports uncommitted records whose effect on the index a
// rollback cannot undo (a purge, compaction or truncation): the store then stays
// failed until it is reopened, and the callbacks of the writes stay uncalled, since
// whether they survive depends on what the failed fsync wrote.
var errRollbackUnsupported = errors.New("filestore: uncommitted purge or truncation cannot be rolled back")

// rollbackRecordsLocked drops the write block's records after its committed length
// from the buffer and the index: the sequences they took are given back (a refused
// publish takes no sequence, as in the reference server), so the next write reuses
// them. Removals among them are journaled again, since the index keeps their effect
// (one of a message that is gone replays as a no-op before the message is reused).
func (s *Store) rollbackRecordsLocked() error {
	w := s.writeBlock()
	if w == nil || w.buf == nil {
		return nil
	}
	keep := w.committed
	if _, n, _, err := parseRecord(w.buf[:w.size]); err == nil {
		// The header of a new block is not a write anyone waits for: it stays.
		keep = max(keep, int64(n))
	}
	keep = min(keep, w.size)
	s.rollbackPoint = location(w.id, keep)
	if keep == w.size {
		return nil
	}
	tail := append([]byte(nil), w.buf[keep:w.size]...)
	var removals [][]byte
	firstSeq := uint64(0)
	took := func(seq uint64) {
		if firstSeq == 0 || seq < firstSeq {
			firstSeq = seq
		}
	}
	dropped := 0
	for offset := 0; offset < len(tail); {
		body, n, _, err := parseRecord(tail[offset:])
		if err != nil {
			return fmt.Errorf("filestore: unreadable record in the buffer at %d: %w", keep+int64(offset), err)
		}
		offset += n
		dropped++
		switch body[0] {
		case kindMsg:
			rec, err := decodeMsgBody(body)
			if err != nil {
				return err
			}
			took(rec.seq)
		case kindSkip, kindErased:
			v, _, err := uvarints(body, 1)
			if err != nil {
				return err
			}
			took(v[0])
		case kindRemove, kindRemoveSeqs:
			removals = append(removals, body)
		default:
			return errRollbackUnsupported
		}
	}
	if firstSeq > 0 {
		s.journal.replaying = true
		err := s.stream.Truncate(firstSeq-1, true)
		s.journal.replaying = false
		if err != nil {
			return err
		}
	}
	w.buf = w.buf[:keep]
	w.size = keep
	w.written = min(w.written, keep)
	w.synced = min(w.synced, keep)
	w.records -= dropped
	// The block's index no longer matches its records: the block is replayed at open.
	w.index = nil
	for _, body := range removals {
		if _, err := s.appendRecord(body); err != nil {
			return err
		}
	}
	return nil
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
