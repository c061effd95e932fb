package raft

import (
	"testing"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// TestRequireRepairDistrustsRecoveredCommit proves a node restarted under repair does not
// apply entries on the word of the commit index recovered with its damaged log (a
// write-ahead log that lost the records replacing a suffix recovers the superseded
// entries, and may recover a commit index covering them): nothing past the applied
// index is handed out until a leader confirms it.
func TestRequireRepairDistrustsRecoveredCommit(t *testing.T) {
	st := NewMemoryStorage()
	if err := st.ApplySnapshot(BootstrapSnapshot(pb.ConfState{Voters: []uint64{1, 2, 3}})); err != nil {
		t.Fatal(err)
	}
	stale := []pb.Entry{{Index: 2, Term: 1}, {Index: 3, Term: 1, Data: []byte("superseded")}}
	if err := st.Append(stale); err != nil {
		t.Fatal(err)
	}
	if err := st.SetHardState(pb.HardState{Term: 2, Commit: 3}); err != nil {
		t.Fatal(err)
	}
	rn, err := NewRawNode(&Config{ID: 3, GroupID: 1, ElectionTicks: 10, HeartbeatTicks: 1,
		Storage: st, Rand: zeroRand{}, InflightMessagesMax: 4, Applied: 1})
	if err != nil {
		t.Fatal(err)
	}
	rn.RequireRepair(4)
	if st := rn.BasicStatus(); st.Commit != 1 || st.RepairIndex != 4 {
		t.Fatalf("commit %d repair %d, want commit 1 (the applied index) and repair 4", st.Commit, st.RepairIndex)
	}
	if rn.HasReady() {
		rd := rn.Ready()
		if len(rd.CommittedEntries) > 0 {
			t.Fatalf("applies %v before any leader confirmed them", rd.CommittedEntries)
		}
		if !rd.HardState.IsEmpty() {
			t.Fatalf("rewrites the hard state %+v", rd.HardState)
		}
		rn.Advance(rd)
	}
	// A heartbeat of the leader of term 2 claiming commit 3 confirms nothing.
	if err := rn.Step(pb.Message{Type: pb.MsgHeartbeat, From: 1, To: 3, GroupID: 1, Term: 2, Commit: 3}); err != nil {
		t.Fatal(err)
	}
	rd := rn.Ready()
	if len(rd.CommittedEntries) > 0 {
		t.Fatalf("a heartbeat made it apply %v", rd.CommittedEntries)
	}
	if len(rd.Messages) != 1 || rd.Messages[0].Type != pb.MsgHeartbeatResponse || !rd.Messages[0].Reject {
		t.Fatalf("messages %v, want a rejected heartbeat response (under repair)", rd.Messages)
	}
	rn.Advance(rd)
	// The leader's append replaces the superseded entry and repairs the log.
	if err := rn.Step(pb.Message{Type: pb.MsgApp, From: 1, To: 3, GroupID: 1, Term: 2, Index: 2, LogTerm: 1,
		Commit: 4, Entries: []pb.Entry{{Index: 3, Term: 2}, {Index: 4, Term: 2, Data: []byte("new")}}}); err != nil {
		t.Fatal(err)
	}
	if st := rn.BasicStatus(); st.Commit != 4 || st.RepairIndex != 0 {
		t.Fatalf("after the append: commit %d repair %d, want 4 and repaired", st.Commit, st.RepairIndex)
	}
}
