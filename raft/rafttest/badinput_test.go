package rafttest

import (
	"testing"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
	"pgregory.net/rapid"
)

// TestForgedMessagesNeverPanic feeds a working group arbitrary messages (any type, term,
// index, sender, entries, snapshot chunks) between normal rounds. Raft may drop them or
// answer them per the protocol, but it must never panic: its assertions guard internal
// invariants only, never input from the network.
func TestForgedMessagesNeverPanic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		env := NewEnv(DefaultConfig())
		env.Quiet = true
		if _, err := env.AddNodes(3, true, pb.ConfState{}, 1); err != nil {
			t.Fatal(err)
		}
		if err := env.Nodes[1].RawNode.Campaign(); err != nil {
			t.Fatal(err)
		}
		if err := env.Stabilize(); err != nil {
			t.Fatal(err)
		}
		small := rapid.Uint64Range(0, 12)
		for i := range rapid.IntRange(1, 30).Draw(t, "rounds") {
			_ = i
			to := rapid.Uint64Range(1, 3).Draw(t, "to")
			m := pb.Message{
				Type:           pb.MessageType(rapid.IntRange(0, 15).Draw(t, "type")),
				GroupID:        rapid.SampledFrom([]uint64{1, 1, 1, 2}).Draw(t, "group"),
				From:           rapid.Uint64Range(0, 5).Draw(t, "from"),
				To:             to,
				Term:           small.Draw(t, "term"),
				LogTerm:        small.Draw(t, "logterm"),
				Index:          rapid.SampledFrom([]uint64{0, 1, 2, 3, 5, 8, 1 << 62, 1<<64 - 1}).Draw(t, "index"),
				Commit:         rapid.SampledFrom([]uint64{0, 1, 2, 3, 9, 1<<64 - 1}).Draw(t, "commit"),
				Reject:         rapid.Bool().Draw(t, "reject"),
				RejectHint:     rapid.SampledFrom([]uint64{0, 1, 2, 7, 1<<64 - 1}).Draw(t, "hint"),
				Context:        []byte(rapid.SampledFrom([]string{"", "r1", "CampaignTransfer"}).Draw(t, "context")),
				SnapshotOffset: rapid.SampledFrom([]uint64{0, 0, 3, 1 << 40}).Draw(t, "offset"),
				SnapshotData:   []byte(rapid.SampledFrom([]string{"", "abc"}).Draw(t, "data")),
				SnapshotDone:   rapid.Bool().Draw(t, "done"),
			}
			m.Snapshot.Index = small.Draw(t, "snapindex")
			m.Snapshot.Term = small.Draw(t, "snapterm")
			m.Snapshot.ConfState.Voters = rapid.SampledFrom([][]uint64{nil, {1, 2, 3}, {4}}).Draw(t, "voters")
			first := rapid.SampledFrom([]uint64{0, 1, 2, 3, 4, 1<<64 - 1}).Draw(t, "first")
			for j := range rapid.IntRange(0, 3).Draw(t, "entries") {
				m.Entries = append(m.Entries, pb.Entry{Index: first + uint64(j), Term: small.Draw(t, "entryterm"),
					Type: pb.EntryType(rapid.IntRange(0, 2).Draw(t, "entrytype")), Data: []byte("z")})
			}
			if n := env.Nodes[to]; !n.Down {
				_ = n.RawNode.Step(m)
			}
			switch rapid.IntRange(0, 3).Draw(t, "then") {
			case 0:
				for _, id := range env.IDs() {
					env.Nodes[id].RawNode.Tick()
				}
			case 1:
				if err := env.Stabilize(); err != nil && err.Error() != "stabilize did not converge" {
					// Forged messages may break safety (they impersonate a leader);
					// only a panic is a failure here.
					return
				}
			}
		}
	})
}

// TestApplicationErrors proves misuse by the application is reported as errors: bad
// configurations, proposals in the wrong state, invalid membership changes.
func TestApplicationErrors(t *testing.T) {
	st := raft.NewMemoryStorage()
	bad := []raft.Config{
		{},
		{ID: 1, ElectionTicks: 10, HeartbeatTicks: 1, InflightMessagesMax: 1, Rand: ZeroRand{}},
		{ID: 1, ElectionTicks: 1, HeartbeatTicks: 1, Storage: st, InflightMessagesMax: 1, Rand: ZeroRand{}},
		{ID: 1, ElectionTicks: 10, HeartbeatTicks: 1, Storage: st, InflightMessagesMax: 1},
		{ID: 1, ElectionTicks: 10, HeartbeatTicks: 1, Storage: st, Rand: ZeroRand{}},
	}
	for i, cfg := range bad {
		if _, err := raft.NewRawNode(&cfg); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	env := NewEnv(DefaultConfig())
	env.Quiet = true
	if _, err := env.AddNodes(3, true, pb.ConfState{}, 1); err != nil {
		t.Fatal(err)
	}
	n1 := env.Nodes[1].RawNode
	if _, err := n1.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddVoter, NodeID: 4}); err == nil {
		t.Error("conf change accepted by a follower")
	}
	_ = n1.Campaign()
	if err := env.Stabilize(); err != nil {
		t.Fatal(err)
	}
	for _, cc := range []pb.ConfChange{
		{Type: pb.ConfChangeAddVoter, NodeID: 2},
		{Type: pb.ConfChangeAddObserver, NodeID: 3},
		{Type: pb.ConfChangeRemovePeer, NodeID: 9},
		{Type: 0, NodeID: 4},
	} {
		if _, err := n1.ProposeConfChange(cc); err == nil {
			t.Errorf("invalid %v accepted", cc)
		}
	}
	if err := env.Nodes[2].RawNode.ReadIndex([]byte("x")); err != nil {
		t.Errorf("follower read index: %v", err)
	}
	if err := n1.TransferLeader(7); err == nil {
		t.Error("transfer to a non-member accepted")
	}
}
