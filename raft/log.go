package raft

import (
	"errors"
	"fmt"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// unstable holds what raft has accepted but the application has not yet persisted: at
// most one snapshot, and the entries after it (or after the storage's last index).
type unstable struct {
	snapshot *pb.Snapshot
	entries  []pb.Entry
	// offset is the index of entries[0] (or where it would be).
	offset uint64
}

func (u *unstable) maybeFirstIndex() (uint64, bool) {
	if u.snapshot != nil {
		return u.snapshot.Metadata.Index + 1, true
	}
	return 0, false
}

func (u *unstable) maybeLastIndex() (uint64, bool) {
	if l := len(u.entries); l != 0 {
		return u.offset + uint64(l) - 1, true
	}
	if u.snapshot != nil {
		return u.snapshot.Metadata.Index, true
	}
	return 0, false
}

func (u *unstable) maybeTerm(i uint64) (uint64, bool) {
	if i < u.offset {
		if u.snapshot != nil && u.snapshot.Metadata.Index == i {
			return u.snapshot.Metadata.Term, true
		}
		return 0, false
	}
	last, ok := u.maybeLastIndex()
	if !ok || i > last {
		return 0, false
	}
	return u.entries[i-u.offset].Term, true
}

// stableTo marks the entries up to i (of term t) persisted. A mismatching term means the
// entry was replaced meanwhile, and stays unstable.
func (u *unstable) stableTo(i, t uint64) {
	gt, ok := u.maybeTerm(i)
	if !ok || gt != t || i < u.offset {
		return
	}
	u.entries = u.entries[i+1-u.offset:]
	u.offset = i + 1
}

func (u *unstable) stableSnapTo(i uint64) {
	if u.snapshot != nil && u.snapshot.Metadata.Index == i {
		u.snapshot = nil
	}
}

func (u *unstable) restore(s pb.Snapshot) {
	u.offset = s.Metadata.Index + 1
	u.entries = nil
	u.snapshot = &s
}

func (u *unstable) truncateAndAppend(ents []pb.Entry) {
	after := ents[0].Index
	switch {
	case after == u.offset+uint64(len(u.entries)):
		u.entries = append(u.entries, ents...)
	case after <= u.offset:
		// The new entries replace everything unstable; storage's conflicting suffix is
		// replaced when they are persisted.
		u.offset = after
		u.entries = append([]pb.Entry(nil), ents...)
	default:
		kept := make([]pb.Entry, after-u.offset, after-u.offset+uint64(len(ents)))
		copy(kept, u.entries[:after-u.offset])
		u.entries = append(kept, ents...)
	}
}

func (u *unstable) slice(lo, hi uint64) []pb.Entry {
	assertf(lo <= hi && lo >= u.offset && hi <= u.offset+uint64(len(u.entries)),
		"unstable.slice[%d,%d) out of bound [%d,%d]", lo, hi, u.offset, u.offset+uint64(len(u.entries)))
	return u.entries[lo-u.offset : hi-u.offset : hi-u.offset]
}

// raftLog is the log as raft sees it: the storage's persisted entries followed by the
// unstable ones.
type raftLog struct {
	storage  Storage
	unstable unstable
	// committed is the highest index known to be committed.
	committed uint64
	// applied is the highest index the application has applied (after Advance).
	applied uint64
	// appliedBytesPerReadyMax bounds the committed entries handed out in one Ready.
	appliedBytesPerReadyMax uint64
	// storageErr is the first unexpected error the storage reported.
	storageErr error
}

func newLog(storage Storage, appliedBytesPerReadyMax uint64) (*raftLog, error) {
	first, err := storage.FirstIndex()
	if err != nil {
		return nil, fmt.Errorf("raft: storage first index: %w", err)
	}
	last, err := storage.LastIndex()
	if err != nil {
		return nil, fmt.Errorf("raft: storage last index: %w", err)
	}
	l := &raftLog{storage: storage, appliedBytesPerReadyMax: appliedBytesPerReadyMax}
	l.unstable.offset = last + 1
	l.committed = first - 1
	l.applied = first - 1
	return l, nil
}

// noteStorageError records an unexpected storage error; raft turns it into the
// storage-failed state.
func (l *raftLog) noteStorageError(err error) {
	if l.storageErr == nil {
		l.storageErr = err
	}
}

func (l *raftLog) firstIndex() uint64 {
	if i, ok := l.unstable.maybeFirstIndex(); ok {
		return i
	}
	i, err := l.storage.FirstIndex()
	if err != nil {
		// Keep going with a safe value; the node turns storage-failed after this step.
		l.noteStorageError(err)
		return l.committed + 1
	}
	return i
}

func (l *raftLog) lastIndex() uint64 {
	if i, ok := l.unstable.maybeLastIndex(); ok {
		return i
	}
	i, err := l.storage.LastIndex()
	if err != nil {
		// Everything below the unstable offset was handed to the storage.
		l.noteStorageError(err)
		return l.unstable.offset - 1
	}
	return i
}

func (l *raftLog) lastTerm() uint64 {
	t, err := l.term(l.lastIndex())
	if err != nil {
		return 0
	}
	return t
}

// term returns the term of entry i. ErrCompacted and ErrUnavailable are expected;
// anything else is recorded as a storage failure.
func (l *raftLog) term(i uint64) (uint64, error) {
	if t, ok := l.unstable.maybeTerm(i); ok {
		return t, nil
	}
	if i+1 < l.firstIndex() {
		return 0, ErrCompacted
	}
	if i > l.lastIndex() {
		return 0, ErrUnavailable
	}
	t, err := l.storage.Term(i)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, ErrCompacted) && !errors.Is(err, ErrUnavailable) {
		l.noteStorageError(err)
	}
	return 0, err
}

func (l *raftLog) matchTerm(i, t uint64) bool {
	lt, err := l.term(i)
	return err == nil && lt == t
}

// isUpToDate reports whether a log ending at (lastIndex, term) is at least as up to date
// as ours (Raft paper, section 5.4.1).
func (l *raftLog) isUpToDate(lastIndex, term uint64) bool {
	ourTerm := l.lastTerm()
	return term > ourTerm || (term == ourTerm && lastIndex >= l.lastIndex())
}

// errCommittedConflict: an AppendEntries would overwrite a committed entry. Only a
// broken or malicious peer can send that; the message is dropped.
var errCommittedConflict = errors.New("raft: append conflicts with a committed entry")

// maybeAppend is the follower's half of AppendEntries: if the entry at index has logTerm,
// it appends ents (truncating any conflicting suffix) and advances the commit index.
func (l *raftLog) maybeAppend(index, logTerm, committed uint64, ents []pb.Entry) (uint64, bool, error) {
	if !l.matchTerm(index, logTerm) {
		return 0, false, nil
	}
	for i := range ents {
		if ents[i].Index != index+1+uint64(i) {
			return 0, false, fmt.Errorf("raft: append with non-contiguous entries at %d", ents[i].Index)
		}
	}
	lastNew := index + uint64(len(ents))
	conflict := l.findConflict(ents)
	switch {
	case conflict == 0:
	case conflict <= l.committed:
		return 0, false, fmt.Errorf("%w: index %d, committed %d", errCommittedConflict, conflict, l.committed)
	default:
		l.append(ents[conflict-(index+1):]...)
	}
	l.commitTo(min(committed, lastNew))
	return lastNew, true, nil
}

func (l *raftLog) append(ents ...pb.Entry) uint64 {
	if len(ents) == 0 {
		return l.lastIndex()
	}
	assertf(ents[0].Index-1 >= l.committed, "append at %d would overwrite committed %d", ents[0].Index, l.committed)
	assertf(ents[0].Index <= l.lastIndex()+1, "append at %d leaves a gap after %d", ents[0].Index, l.lastIndex())
	l.unstable.truncateAndAppend(ents)
	return l.lastIndex()
}

// findConflict returns the index of the first entry in ents that is not in the log with
// the same term (a conflict or a new entry), or 0 if all are present.
func (l *raftLog) findConflict(ents []pb.Entry) uint64 {
	for i := range ents {
		if !l.matchTerm(ents[i].Index, ents[i].Term) {
			return ents[i].Index
		}
	}
	return 0
}

// findConflictByTerm returns the largest index <= index whose term is <= term (and that
// term), the fast backtracking of the Raft paper's section 5.3 note.
func (l *raftLog) findConflictByTerm(index, term uint64) (uint64, uint64) {
	for ; index > 0; index-- {
		t, err := l.term(index)
		if err != nil {
			return index, 0
		}
		if t <= term {
			return index, t
		}
	}
	return 0, 0
}

func (l *raftLog) commitTo(toCommit uint64) {
	if l.committed < toCommit {
		assertf(toCommit <= l.lastIndex(), "commit %d beyond last index %d", toCommit, l.lastIndex())
		l.committed = toCommit
	}
}

// maybeCommit commits up to maxIndex if that entry is of term (only entries of the
// leader's current term are committed by counting replicas: Raft paper, section 5.4.2).
func (l *raftLog) maybeCommit(maxIndex, term uint64) bool {
	if maxIndex > l.committed && l.matchTerm(maxIndex, term) {
		l.commitTo(maxIndex)
		return true
	}
	return false
}

func (l *raftLog) appliedTo(i uint64) {
	if i == 0 {
		return
	}
	assertf(l.committed >= i && i >= l.applied, "applied %d not in [%d, %d]", i, l.applied, l.committed)
	l.applied = i
}

func (l *raftLog) stableTo(i, t uint64)  { l.unstable.stableTo(i, t) }
func (l *raftLog) stableSnapTo(i uint64) { l.unstable.stableSnapTo(i) }

func (l *raftLog) unstableEntries() []pb.Entry {
	if len(l.unstable.entries) == 0 {
		return nil
	}
	return l.unstable.entries
}

// nextCommittedEntries returns the committed entries not yet applied, bounded in bytes.
func (l *raftLog) nextCommittedEntries() []pb.Entry {
	lo := max(l.applied+1, l.firstIndex())
	if l.committed+1 <= lo {
		return nil
	}
	ents, err := l.slice(lo, l.committed+1, l.appliedBytesPerReadyMax)
	if err != nil {
		return nil
	}
	return ents
}

func (l *raftLog) hasNextCommittedEntries() bool {
	lo := max(l.applied+1, l.firstIndex())
	return l.committed+1 > lo
}

func (l *raftLog) snapshot() (pb.Snapshot, error) {
	if l.unstable.snapshot != nil {
		return *l.unstable.snapshot, nil
	}
	return l.storage.Snapshot()
}

// entriesFrom returns the entries from i to the end, bounded in bytes.
func (l *raftLog) entriesFrom(i, maxBytes uint64) ([]pb.Entry, error) {
	if i > l.lastIndex() {
		return nil, nil
	}
	return l.slice(i, l.lastIndex()+1, maxBytes)
}

// slice returns the entries in [lo, hi), bounded in bytes (at least one entry).
func (l *raftLog) slice(lo, hi, maxBytes uint64) ([]pb.Entry, error) {
	if lo < l.firstIndex() {
		return nil, ErrCompacted
	}
	assertf(lo <= hi && hi <= l.lastIndex()+1, "slice[%d,%d) out of bound [%d,%d]", lo, hi, l.firstIndex(), l.lastIndex())
	if lo == hi {
		return nil, nil
	}
	var ents []pb.Entry
	if lo < l.unstable.offset {
		storedHi := min(hi, l.unstable.offset)
		stored, err := l.storage.Entries(lo, storedHi, maxBytes)
		if err != nil {
			if !errors.Is(err, ErrCompacted) && !errors.Is(err, ErrUnavailable) {
				l.noteStorageError(err)
			}
			return nil, err
		}
		if uint64(len(stored)) < storedHi-lo {
			return stored, nil
		}
		ents = stored
	}
	if hi > l.unstable.offset {
		fresh := l.unstable.slice(max(lo, l.unstable.offset), hi)
		if len(ents) > 0 {
			// stored has its capacity clipped (Storage contract), so this copies.
			ents = append(ents[:len(ents):len(ents)], fresh...)
		} else {
			ents = fresh
		}
	}
	return limitSize(ents, maxBytes), nil
}

func (l *raftLog) restore(s pb.Snapshot) {
	l.committed = s.Metadata.Index
	l.unstable.restore(s)
}
