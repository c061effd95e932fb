package jetstream

import (
	"sync/atomic"

	"github.com/natsim/natsim/store"
)

// storedBytes counts the bytes streams hold, by storage type.
type storedBytes struct {
	memory, file atomic.Int64
}

// add changes the count of one storage type by delta bytes.
func (b *storedBytes) add(storage store.StorageType, delta int64) {
	if storage == store.MemoryStorage {
		b.memory.Add(delta)
	} else {
		b.file.Add(delta)
	}
}

// load returns the memory and file bytes (never negative).
func (b *storedBytes) load() (memory, file uint64) {
	return uint64(max(b.memory.Load(), 0)), uint64(max(b.file.Load(), 0))
}

// trackUsage counts the stream's stored bytes in its account's and the manager's
// usage and keeps them counted: the store reports every change of size through its
// storage callback, which also feeds the removal log.
func (s *Stream) trackUsage() {
	storage := s.storageType()
	s.store.RegisterStorageUpdates(func(msgs, bytes int64, seq uint64, subject string) {
		s.removals.record(msgs, bytes, seq, subject)
		if bytes != 0 {
			s.account.stored.add(storage, bytes)
			s.manager.stored.add(storage, bytes)
		}
	})
	// Nothing writes to the store before the stream is open, so its state now is
	// what the callback has not reported.
	var state store.StreamState
	s.store.FastState(&state)
	s.account.stored.add(storage, int64(state.Bytes))
	s.manager.stored.add(storage, int64(state.Bytes))
	s.usageTracked.Store(true)
}

// untrackUsage takes the stream's bytes out of the usage counts as it stops or is
// deleted. The callback is replaced first, so no change is counted after the state
// read here; a second call does nothing.
func (s *Stream) untrackUsage() {
	if !s.usageTracked.CompareAndSwap(true, false) {
		return
	}
	s.store.RegisterStorageUpdates(s.removals.record)
	storage := s.storageType()
	var state store.StreamState
	s.store.FastState(&state)
	s.account.stored.add(storage, -int64(state.Bytes))
	s.manager.stored.add(storage, -int64(state.Bytes))
}
