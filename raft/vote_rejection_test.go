package raft

import (
	"errors"
	"testing"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// newTermZeroNode returns a bootstrapped voter of {1, 2, 3} that never saw an election:
// its term is 0.
func newTermZeroNode(t *testing.T, id uint64) *RawNode {
	t.Helper()
	st := NewMemoryStorage()
	if err := st.ApplySnapshot(BootstrapSnapshot(pb.ConfState{Voters: []uint64{1, 2, 3}})); err != nil {
		t.Fatal(err)
	}
	rn, err := NewRawNode(&Config{ID: id, GroupID: 1, ElectionTicks: 10, HeartbeatTicks: 1,
		Storage: st, Rand: zeroRand{}, InflightMessagesMax: 4, PreVote: true, CheckQuorum: true})
	if err != nil {
		t.Fatal(err)
	}
	return rn
}

// TestTermZeroNodeRejectsPreVote proves a node at term 0 that rejects a pre-vote (here
// because it is under repair) answers with a rejection of its own term 0 instead of
// panicking, and that a pre-candidate at term 0 counts that rejection: two of them lose
// it the pre-vote, and it returns to follower without raising its term.
func TestTermZeroNodeRejectsPreVote(t *testing.T) {
	voter := newTermZeroNode(t, 2)
	voter.RequireRepair(5)
	if err := voter.Step(pb.Message{Type: pb.MsgPreVote, From: 1, To: 2, GroupID: 1, Term: 1,
		Index: 1, LogTerm: 1}); err != nil {
		t.Fatalf("step pre-vote: %v", err)
	}
	rd := voter.Ready()
	if len(rd.Messages) != 1 {
		t.Fatalf("messages %v, want one rejection", rd.Messages)
	}
	rejection := rd.Messages[0]
	if rejection.Type != pb.MsgPreVoteResponse || !rejection.Reject || rejection.Term != 0 {
		t.Fatalf("response %s, want a term-0 pre-vote rejection", rejection)
	}
	// The rejection crosses the wire like any message.
	decoded, err := pb.DecodeMessage(pb.EncodeMessage(&rejection))
	if err != nil {
		t.Fatal(err)
	}

	candidate := newTermZeroNode(t, 1)
	if err := candidate.Campaign(); err != nil {
		t.Fatal(err)
	}
	if st := candidate.BasicStatus(); st.RaftState != StatePreCandidate {
		t.Fatalf("state %s, want pre-candidate", st.RaftState)
	}
	if err := candidate.Step(decoded); err != nil {
		t.Fatalf("step the first rejection: %v", err)
	}
	third := decoded
	third.From = 3
	if err := candidate.Step(third); err != nil {
		t.Fatalf("step the second rejection: %v", err)
	}
	if st := candidate.BasicStatus(); st.RaftState != StateFollower || st.Term != 0 {
		t.Fatalf("after two rejections: %s term %d, want follower at term 0", st.RaftState, st.Term)
	}
}

// TestTermZeroGrantDropped proves a granted vote response without a term is malformed
// input: it is dropped with ErrStepDropped, never counted and never a panic.
func TestTermZeroGrantDropped(t *testing.T) {
	candidate := newTermZeroNode(t, 1)
	if err := candidate.Campaign(); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []pb.MessageType{pb.MsgPreVoteResponse, pb.MsgVoteResponse} {
		err := candidate.Step(pb.Message{Type: typ, From: 2, To: 1, GroupID: 1})
		if !errors.Is(err, ErrStepDropped) {
			t.Fatalf("%s without a term: %v, want ErrStepDropped", typ, err)
		}
	}
	if st := candidate.BasicStatus(); st.RaftState != StatePreCandidate {
		t.Fatalf("state %s, want still pre-candidate", st.RaftState)
	}
}
