package filestore

// Durable implements store.StreamStore. See the package comment for the group commit.
func (s *Store) Durable(done func(err error)) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		done(errClosed())
		return
	}
	if err := s.writable(); err != nil {
		s.mu.Unlock()
		done(err)
		return
	}
	if s.config.SyncInterval > 0 {
		// Interval mode acknowledges once the OS has the bytes; the timer syncs.
		err := s.flushAllLocked()
		s.mu.Unlock()
		done(err)
		return
	}
	s.waiters = append(s.waiters, done)
	if s.syncing {
		s.mu.Unlock()
		return
	}
	s.syncing = true
	s.mu.Unlock()
	if s.config.Tasks != nil {
		s.config.Tasks.Go(s.syncLoop)
	} else {
		s.syncLoop()
	}
}

// syncLoop runs group commits until no callback waits. Each round takes the waiting
// callbacks (at most syncBatchCallbacksMax), writes every buffered byte, fsyncs the
// dirty blocks and the directory outside the lock, then calls the callbacks.
func (s *Store) syncLoop() {
	for {
		s.mu.Lock()
		if len(s.waiters) == 0 || s.closed {
			s.syncing = false
			waiters := s.waiters
			s.waiters = nil
			if s.closed {
				s.closeFiles()
			}
			s.mu.Unlock()
			for _, w := range waiters {
				w(errClosed())
			}
			return
		}
		batch := s.waiters
		if len(batch) > syncBatchCallbacksMax {
			batch = batch[:syncBatchCallbacksMax]
		}
		s.waiters = s.waiters[len(batch):]
		plan, err := s.planSyncLocked()
		s.mu.Unlock()
		if err == nil {
			err = plan.run(s)
		}
		s.mu.Lock()
		if err != nil {
			s.fail(err)
		} else {
			plan.commit()
		}
		s.mu.Unlock()
		for _, w := range batch {
			w(err)
		}
	}
}

// syncPlan is the work of one group commit, gathered under the lock.
type syncPlan struct {
	blocks  []*block
	lengths []int64
	dir     bool
}

// planSyncLocked writes the buffered bytes and lists what must be fsynced.
func (s *Store) planSyncLocked() (syncPlan, error) {
	var plan syncPlan
	if err := s.flushAllLocked(); err != nil {
		return plan, err
	}
	for _, b := range s.blocks {
		if b.synced < b.written || b.synced < b.size {
			plan.blocks = append(plan.blocks, b)
			plan.lengths = append(plan.lengths, b.written)
		}
	}
	plan.dir = s.dirDirty
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
		if p.lengths[i] > b.synced {
			b.synced = p.lengths[i]
		}
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
	plan.commit()
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
	if s.closed || s.syncing {
		return
	}
	_ = s.syncAllLocked()
	if s.timer != nil {
		s.timer.Reset(s.config.SyncInterval)
	}
}
