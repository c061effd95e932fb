package raft

import (
	"errors"
	"sync"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// Errors a Storage returns for conditions raft handles. Any other error from a Storage
// is a storage failure: the node stops voting and leading (see RawNode.ReportStorageError).
var (
	// ErrCompacted: the requested index is below the first index (it was compacted
	// into a snapshot).
	ErrCompacted = errors.New("raft: requested index is unavailable due to compaction")
	// ErrUnavailable: the requested index is above the last index.
	ErrUnavailable = errors.New("raft: requested entry at index is unavailable")
	// ErrSnapOutOfDate: the snapshot is older than the storage's current snapshot.
	ErrSnapOutOfDate = errors.New("raft: requested index is older than the existing snapshot")
	// ErrSnapshotTemporarilyUnavailable: the snapshot is being built; raft retries later.
	ErrSnapshotTemporarilyUnavailable = errors.New("raft: snapshot is temporarily unavailable")
)

// Storage is the durable log raft reads from. The application (or a write-ahead log on
// env.FS) writes to it after each Ready, in the order the Ready contract prescribes:
// snapshot, then entries, then hard state; raft only reads.
//
// Ownership: slices returned by Entries and the Data of a returned Snapshot belong to the
// storage and are read-only for raft; the storage must never modify them afterwards
// (copy on write). Raft never retains them beyond the call that reads them except as
// read-only message payloads.
//
// Errors: ErrCompacted and ErrUnavailable are expected and handled; any other error is a
// storage failure (a corrupt or unreadable log), after which the node neither votes nor
// leads until the application clears it.
type Storage interface {
	// InitialState returns the persisted HardState and the ConfState of the latest
	// snapshot.
	InitialState() (pb.HardState, pb.ConfState, error)
	// Entries returns the entries in [lo, hi), at least one if any is in range, and at
	// most maxBytes in total (pb.Entry.Size) beyond the first.
	Entries(lo, hi, maxBytes uint64) ([]pb.Entry, error)
	// Term returns the term of entry i, which must be in [FirstIndex()-1, LastIndex()]
	// (the term of the entry before the first is the snapshot's term).
	Term(i uint64) (uint64, error)
	// LastIndex returns the index of the last entry (the snapshot index if empty). It is
	// called often and should be answered from memory.
	LastIndex() (uint64, error)
	// FirstIndex returns the index of the first entry that may be read (the snapshot
	// index + 1). It is called often and should be answered from memory.
	FirstIndex() (uint64, error)
	// Snapshot returns the most recent snapshot. ErrSnapshotTemporarilyUnavailable
	// makes raft retry later.
	Snapshot() (pb.Snapshot, error)
}

// MemoryStorage is a Storage in memory, for tests and as the model a write-ahead log
// follows. Its write methods (ApplySnapshot, Append, SetHardState, CreateSnapshot,
// Compact) are the ones a Ready's consumer calls. It is safe for concurrent use.
type MemoryStorage struct {
	mu        sync.Mutex
	hardState pb.HardState
	snapshot  pb.Snapshot
	// entries[0] is a dummy entry whose Index and Term are the snapshot's.
	entries []pb.Entry
}

// NewMemoryStorage returns an empty storage.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{entries: make([]pb.Entry, 1)}
}

// InitialState implements Storage.
func (ms *MemoryStorage) InitialState() (pb.HardState, pb.ConfState, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.hardState, cloneConfState(ms.snapshot.Metadata.ConfState), nil
}

// HardState returns the stored hard state.
func (ms *MemoryStorage) HardState() pb.HardState {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.hardState
}

// SetHardState stores h.
func (ms *MemoryStorage) SetHardState(h pb.HardState) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.hardState = h
	return nil
}

func (ms *MemoryStorage) firstIndex() uint64 { return ms.entries[0].Index + 1 }
func (ms *MemoryStorage) lastIndex() uint64 {
	return ms.entries[0].Index + uint64(len(ms.entries)) - 1
}

// Entries implements Storage. The returned slice has its capacity clipped, so
// appending to it never writes into the storage.
func (ms *MemoryStorage) Entries(lo, hi, maxBytes uint64) ([]pb.Entry, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	offset := ms.entries[0].Index
	if lo <= offset {
		return nil, ErrCompacted
	}
	if hi > ms.lastIndex()+1 {
		return nil, ErrUnavailable
	}
	if lo >= hi {
		return nil, nil
	}
	ents := ms.entries[lo-offset : hi-offset : hi-offset]
	return limitSize(ents, maxBytes), nil
}

// Term implements Storage.
func (ms *MemoryStorage) Term(i uint64) (uint64, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	offset := ms.entries[0].Index
	if i < offset {
		return 0, ErrCompacted
	}
	if i-offset >= uint64(len(ms.entries)) {
		return 0, ErrUnavailable
	}
	return ms.entries[i-offset].Term, nil
}

// LastIndex implements Storage.
func (ms *MemoryStorage) LastIndex() (uint64, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.lastIndex(), nil
}

// FirstIndex implements Storage.
func (ms *MemoryStorage) FirstIndex() (uint64, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.firstIndex(), nil
}

// Snapshot implements Storage.
func (ms *MemoryStorage) Snapshot() (pb.Snapshot, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.snapshot, nil
}

// ApplySnapshot replaces the storage's contents with snap (a snapshot received from
// the leader, from Ready.Snapshot). Older snapshots are refused with ErrSnapOutOfDate.
func (ms *MemoryStorage) ApplySnapshot(snap pb.Snapshot) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.snapshot.Metadata.Index > snap.Metadata.Index {
		return ErrSnapOutOfDate
	}
	ms.snapshot = snap
	ms.entries = []pb.Entry{{Term: snap.Metadata.Term, Index: snap.Metadata.Index}}
	return nil
}

// CreateSnapshot records a snapshot of the application's state at index i (which must be
// applied) with membership cs, for followers that fall behind. Call Compact afterwards to
// release the entries it covers.
func (ms *MemoryStorage) CreateSnapshot(i uint64, cs pb.ConfState, data []byte) (pb.Snapshot, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if i <= ms.snapshot.Metadata.Index {
		return pb.Snapshot{}, ErrSnapOutOfDate
	}
	offset := ms.entries[0].Index
	if i > ms.lastIndex() {
		return pb.Snapshot{}, ErrUnavailable
	}
	ms.snapshot = pb.Snapshot{
		Metadata: pb.SnapshotMetadata{Index: i, Term: ms.entries[i-offset].Term, ConfState: cloneConfState(cs)},
		Data:     data,
	}
	return ms.snapshot, nil
}

// Compact discards the entries up to and including compactIndex, which must not be
// above the last index. Entries below the snapshot are already gone.
func (ms *MemoryStorage) Compact(compactIndex uint64) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	offset := ms.entries[0].Index
	if compactIndex <= offset {
		return ErrCompacted
	}
	if compactIndex > ms.lastIndex() {
		return ErrUnavailable
	}
	i := compactIndex - offset
	// A fresh array, so slices handed out earlier are never overwritten.
	ents := make([]pb.Entry, 1, uint64(len(ms.entries))-i)
	ents[0] = pb.Entry{Index: ms.entries[i].Index, Term: ms.entries[i].Term}
	ms.entries = append(ents, ms.entries[i+1:]...)
	return nil
}

// Append adds entries (from Ready.Entries), replacing any conflicting suffix. Entries
// below the first index are ignored.
func (ms *MemoryStorage) Append(entries []pb.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	first := ms.firstIndex()
	last := entries[0].Index + uint64(len(entries)) - 1
	if last < first {
		return nil
	}
	if first > entries[0].Index {
		entries = entries[first-entries[0].Index:]
	}
	offset := entries[0].Index - ms.entries[0].Index
	switch {
	case uint64(len(ms.entries)) > offset:
		// Copy the kept prefix into a fresh array: slices handed out earlier must
		// never see the replaced suffix.
		kept := make([]pb.Entry, offset, offset+uint64(len(entries)))
		copy(kept, ms.entries[:offset])
		ms.entries = append(kept, entries...)
	case uint64(len(ms.entries)) == offset:
		ms.entries = append(ms.entries, entries...)
	default:
		return errors.New("raft: MemoryStorage.Append leaves a gap")
	}
	return nil
}

func cloneConfState(cs pb.ConfState) pb.ConfState {
	return pb.ConfState{
		Voters:    append([]uint64(nil), cs.Voters...),
		Observers: append([]uint64(nil), cs.Observers...),
	}
}

// limitSize returns the longest prefix of ents within maxBytes, always at least one
// entry.
func limitSize(ents []pb.Entry, maxBytes uint64) []pb.Entry {
	if len(ents) == 0 {
		return ents
	}
	size := ents[0].Size()
	for i := 1; i < len(ents); i++ {
		size += ents[i].Size()
		if size > maxBytes {
			return ents[:i:i]
		}
	}
	return ents
}
