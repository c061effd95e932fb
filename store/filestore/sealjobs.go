package filestore

// Seal jobs.
//
// A block's rollover seals it: its index file and the stream's block index
// (blocks.idx) are written then. Both are optional files, checked before use and
// rebuilt when missing or stale, and their writing took about 2ms a rollover (an index
// of some 50,000 records to encode and write, a directory sync, and blocks.idx written
// and synced through a rename), under the store's lock: with 64 interval-mode writers
// every writer stalled for it, about 4% of the run. So, with Config.Tasks, the
// rollover takes what the files need under the lock (the index records, detached from
// the block, the contents checksum and the block index's bytes) and queues a job that
// writes them without it.
//
// One runner at a time runs the jobs, in the order they were queued, so a block index
// never replaces a newer one. The runner holds sealMu while a job writes and takes it
// before it lets the store's lock go; Stop, under the store's lock, runs the jobs still
// queued itself and takes sealMu to wait for a running one, so that no job writes
// after Stop returns (Delete removes the directory then) and Stop's own block index,
// written after them, is the last. A job's failure is counted like an index write
// error: the file is rebuilt at the next open, or the stale one is told apart there.
// Without Config.Tasks the files are written at the rollover, as before.

// sealJob writes a sealed block's index file and the block index.
type sealJob struct {
	block *block
	// index is the block's index builder, detached from the block; nil when no index
	// file is written for it.
	index        *indexBuilder
	length       int64
	checksum     uint32
	preallocated int64
	// blockIndex is blocks.idx's contents.
	blockIndex []byte
}

// queueSealLocked queues the writes of old's seal (see Seal jobs); old is synced.
func (s *Store) queueSealLocked(old *block) {
	job := sealJob{block: old, blockIndex: encodeBlockIndex(s.durableBlocksLocked())}
	if old.index != nil && !old.keep {
		job.index = old.index
		job.length = old.size
		job.checksum = old.index.contentsChecksum(old.buf[:old.size])
		job.preallocated = old.preallocated
	}
	s.sealJobs = append(s.sealJobs, job)
	if !s.sealRunning {
		s.sealRunning = true
		s.config.Tasks.Go(s.runSealJobs)
	}
}

// runSealJobs runs the queued seal jobs until none is left.
func (s *Store) runSealJobs() {
	s.mu.Lock()
	for len(s.sealJobs) > 0 {
		job := s.sealJobs[0]
		s.sealJobs[0] = sealJob{}
		s.sealJobs = s.sealJobs[1:]
		s.sealMu.Lock()
		s.mu.Unlock()
		indexErr, err := s.writeSeal(&job)
		s.sealMu.Unlock()
		s.mu.Lock()
		s.sealDone(&job, indexErr, err)
	}
	s.sealJobs = nil
	s.sealRunning = false
	s.mu.Unlock()
}

// finishSealJobsLocked runs the queued seal jobs and waits for a running one (Stop).
func (s *Store) finishSealJobsLocked() {
	jobs := s.sealJobs
	s.sealJobs = nil
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	for i := range jobs {
		indexErr, err := s.writeSeal(&jobs[i])
		s.sealDone(&jobs[i], indexErr, err)
	}
}

// writeSeal writes a seal job's files; it touches nothing the store's lock guards.
func (s *Store) writeSeal(job *sealJob) (indexErr, err error) {
	if job.index != nil {
		id := job.block.id
		plain := job.index.encodeChecked(id, job.length, job.checksum, job.preallocated)
		name := s.blockIndexFilePath(id)
		data, err := s.sealAuxFile(name, plain)
		if err == nil {
			err = writeFileUnsynced(s.config.FS, name, data)
		}
		indexErr = err
	}
	if err := s.config.FS.SyncDir(s.msgsDir()); err != nil {
		return indexErr, err
	}
	return indexErr, writeFileAtomic(s.config.FS, s.blockIndexPath(), job.blockIndex)
}

// sealDone records a seal job's outcome, under the store's lock.
func (s *Store) sealDone(job *sealJob, indexErr, err error) {
	if job.index != nil {
		if indexErr != nil {
			s.recovery.IndexWriteErrors++
		} else {
			job.block.indexWritten = job.length
		}
	}
	if err != nil {
		s.recovery.IndexWriteErrors++
	}
}
