package raft

import (
	"errors"
	"testing"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// faultyStorage fails every read once broken, like a log found corrupt.
type faultyStorage struct {
	*MemoryStorage
	broken bool
}

var errCorrupt = errors.New("checksum mismatch in log")

func (s *faultyStorage) Entries(lo, hi, maxBytes uint64) ([]pb.Entry, error) {
	if s.broken {
		return nil, errCorrupt
	}
	return s.MemoryStorage.Entries(lo, hi, maxBytes)
}

func (s *faultyStorage) Term(i uint64) (uint64, error) {
	if s.broken {
		return 0, errCorrupt
	}
	return s.MemoryStorage.Term(i)
}

type zeroRand struct{}

func (zeroRand) Intn(int) int { return 0 }

func persist(t *testing.T, st *MemoryStorage, rd Ready) {
	t.Helper()
	if !rd.Snapshot.IsEmpty() {
		if err := st.ApplySnapshot(rd.Snapshot); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Append(rd.Entries); err != nil {
		t.Fatal(err)
	}
	if !rd.HardState.IsEmpty() {
		if err := st.SetHardState(rd.HardState); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStorageReadFailureStopsLeading proves an unexpected storage error (a corrupt log)
// puts the node in the storage-failed state: it steps down, refuses proposals and does
// not campaign, without panicking; clearing the error lets it lead again.
func TestStorageReadFailureStopsLeading(t *testing.T) {
	st := &faultyStorage{MemoryStorage: NewMemoryStorage()}
	if err := st.ApplySnapshot(BootstrapSnapshot(pb.ConfState{Voters: []uint64{1, 2, 3}})); err != nil {
		t.Fatal(err)
	}
	rn, err := NewRawNode(&Config{ID: 1, ElectionTicks: 10, HeartbeatTicks: 1, Storage: st,
		InflightMessagesMax: 8, Rand: zeroRand{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.Campaign(); err != nil {
		t.Fatal(err)
	}
	for _, from := range []uint64{2, 3} {
		if err := rn.Step(pb.Message{Type: pb.MsgVoteResponse, From: from, To: 1, Term: 1}); err != nil && from == 2 {
			t.Fatal(err)
		}
	}
	if rn.Status().RaftState != StateLeader {
		t.Fatalf("not leader: %s", rn.Status().RaftState)
	}
	for rn.HasReady() {
		rd := rn.Ready()
		persist(t, st.MemoryStorage, rd)
		rn.Advance(rd)
	}
	// The log turns out corrupt: the next read of stored entries fails.
	st.broken = true
	if err := rn.Step(pb.Message{Type: pb.MsgAppResponse, From: 2, To: 1, Term: 1, Index: 2}); err != nil {
		t.Logf("step: %v", err)
	}
	for range 3 {
		rn.Tick()
	}
	st2 := rn.Status()
	if st2.StorageError == nil || st2.RaftState == StateLeader {
		t.Fatalf("after a read failure: state %s, storage error %v", st2.RaftState, st2.StorageError)
	}
	if _, err := rn.Propose([]byte("x")); !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("proposal accepted while storage failed: %v", err)
	}
	if err := rn.Campaign(); err == nil {
		t.Fatal("campaign accepted while storage failed")
	}
	// A vote request is refused.
	_ = rn.Step(pb.Message{Type: pb.MsgVote, From: 2, To: 1, Term: 5, Index: 100, LogTerm: 5})
	rd := rn.Ready()
	for _, m := range rd.Messages {
		if m.Type == pb.MsgVoteResponse && !m.Reject {
			t.Fatalf("voted while storage failed: %s", m)
		}
	}
	persist(t, st.MemoryStorage, rd)
	rn.Advance(rd)
	st.broken = false
	rn.ClearStorageError()
	if err := rn.Campaign(); err != nil {
		t.Fatalf("campaign after repair: %v", err)
	}
}
