package host

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

type testRand struct{ *rand.Rand }

func (r testRand) Intn(n int) int { return r.IntN(n) }

// cluster is hosts connected by a perfect in-memory network.
type cluster struct {
	hosts    map[uint64]*Host
	storages map[uint64]map[string]*raft.MemoryStorage
	applied  map[uint64]map[string][]string
	inflight []*Batch
	batches  int
	hbs      int
}

func newCluster(t *testing.T, nodes, groups int) *cluster {
	c := &cluster{hosts: map[uint64]*Host{}, storages: map[uint64]map[string]*raft.MemoryStorage{}, applied: map[uint64]map[string][]string{}}
	voters := []uint64{}
	for id := uint64(1); id <= uint64(nodes); id++ {
		voters = append(voters, id)
	}
	for id := uint64(1); id <= uint64(nodes); id++ {
		h := New(Config{NodeID: id, ElectionTicks: 10, HeartbeatTicks: 2, PreVote: true, CheckQuorum: true,
			Rand: testRand{rand.New(rand.NewPCG(id, 7))}, VerifySends: true})
		c.hosts[id] = h
		c.storages[id] = map[string]*raft.MemoryStorage{}
		c.applied[id] = map[string][]string{}
		for g := 1; g <= groups; g++ {
			name := fmt.Sprintf("g%03d", g)
			ms := raft.NewMemoryStorage()
			ms.ApplySnapshot(raft.BootstrapSnapshot(pb.ConfState{Voters: voters}))
			c.storages[id][name] = ms
			err := h.AddGroup(GroupConfig{Name: name, GroupID: uint64(g), Storage: ms, Applied: 1,
				Persist: func(rd *raft.Ready) error {
					if !rd.Snapshot.IsEmpty() {
						ms.ApplySnapshot(rd.Snapshot)
					}
					ms.Append(rd.Entries)
					if !rd.HardState.IsEmpty() {
						ms.SetHardState(rd.HardState)
					}
					return nil
				},
				Durable: func() raft.Durable { d, _ := raft.DurableOf(ms); return d },
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return c
}

// round ticks (optionally), collects every host's output and delivers it.
func (c *cluster) round(t *testing.T, tick bool) {
	for id := uint64(1); id <= uint64(len(c.hosts)); id++ {
		h := c.hosts[id]
		if tick {
			h.Tick()
		}
		out := h.Ready()
		for _, v := range out.Violations {
			t.Fatal(v)
		}
		for _, committed := range out.Committed {
			for _, e := range committed.Entries {
				if e.Type == pb.EntryNormal && len(e.Data) > 0 {
					c.applied[id][committed.Group] = append(c.applied[id][committed.Group], string(e.Data))
				}
			}
		}
		for _, b := range out.Batches {
			// Through the codec, as on the wire.
			decoded, err := DecodeBatch(b.Encode(nil))
			if err != nil {
				t.Fatal(err)
			}
			c.batches++
			c.hbs += len(decoded.Heartbeats)
			c.inflight = append(c.inflight, decoded)
		}
	}
	pending := c.inflight
	c.inflight = nil
	for _, b := range pending {
		c.hosts[b.To].Step(b)
	}
}

// TestHostElectsAndCommitsEveryGroup: three hosts sharing 20 groups elect a leader in
// each, commit a proposal in each on every node, and coalesce the heartbeats of the
// idle groups into one batch per node pair and round.
func TestHostElectsAndCommitsEveryGroup(t *testing.T) {
	c := newCluster(t, 3, 20)
	leaders := func() map[string]uint64 {
		out := map[string]uint64{}
		for id, h := range c.hosts {
			for _, name := range h.Groups() {
				if s, _ := h.Status(name); s.RaftState == raft.StateLeader {
					out[name] = id
				}
			}
		}
		return out
	}
	for i := 0; i < 300 && len(leaders()) < 20; i++ {
		c.round(t, true)
	}
	ls := leaders()
	if len(ls) != 20 {
		t.Fatalf("only %d of 20 groups elected a leader", len(ls))
	}
	for name, id := range ls {
		if _, err := c.hosts[id].Propose(name, []byte("value-"+name)); err != nil {
			t.Fatalf("propose %s: %v", name, err)
		}
	}
	for range 20 {
		c.round(t, false)
	}
	for id := range c.hosts {
		for name := range ls {
			if got := c.applied[id][name]; !reflect.DeepEqual(got, []string{"value-" + name}) {
				t.Fatalf("node %d group %s applied %v", id, name, got)
			}
		}
	}
	// Idle rounds: each round sends at most one batch per ordered pair, heartbeats for
	// many groups inside.
	c.batches, c.hbs = 0, 0
	for range 20 {
		c.round(t, true)
	}
	if c.batches > 20*6 {
		t.Fatalf("%d batches in 20 idle rounds of 3 nodes: heartbeats are not coalesced", c.batches)
	}
	if c.hbs < 20*5 {
		t.Fatalf("only %d heartbeats in 20 idle rounds", c.hbs)
	}
	// A follower's proposal names the leader.
	for name, id := range ls {
		follower := id%3 + 1
		_, err := c.hosts[follower].Propose(name, []byte("x"))
		if nl, ok := err.(*raft.NotLeaderError); !ok || nl.Leader != id {
			t.Fatalf("follower proposal: %v", err)
		}
		break
	}
}

// TestRemoveGroupDropsMessages: after RemoveGroup, the group's messages are counted
// as dropped and a group of the same name may be added with a new GroupID.
func TestRemoveGroupDropsMessages(t *testing.T) {
	c := newCluster(t, 1, 2)
	h := c.hosts[1]
	h.RemoveGroup("g001")
	if dropped := h.Step(&Batch{From: 2, To: 1, Heartbeats: []Heartbeat{{GroupID: 1, Term: 5}}}); dropped != 1 {
		t.Fatalf("dropped %d", dropped)
	}
	if got := h.Groups(); !reflect.DeepEqual(got, []string{"g002"}) {
		t.Fatalf("groups %v", got)
	}
	ms := raft.NewMemoryStorage()
	ms.ApplySnapshot(raft.BootstrapSnapshot(pb.ConfState{Voters: []uint64{1}}))
	if err := h.AddGroup(GroupConfig{Name: "g001", GroupID: 99, Storage: ms, Persist: func(*raft.Ready) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddGroup(GroupConfig{Name: "g001", GroupID: 100, Storage: ms}); err == nil {
		t.Fatal("duplicate name accepted")
	}
}

// TestBatchRoundTrip: encoding then decoding gives the batch back.
func TestBatchRoundTrip(t *testing.T) {
	b := &Batch{From: 1, To: 2,
		Heartbeats:         []Heartbeat{{GroupID: 3, Term: 4, Commit: 5}, {GroupID: 1 << 40, Term: 1, Commit: 0}},
		HeartbeatResponses: []Heartbeat{{GroupID: 7, Term: 8}},
		Messages: []pb.Message{{Type: pb.MsgApp, GroupID: 3, From: 1, To: 2, Term: 4, Index: 9, LogTerm: 3,
			Entries: []pb.Entry{{Index: 10, Term: 4, Data: []byte("x")}}}},
	}
	got, err := DecodeBatch(b.Encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("got %+v want %+v", got, b)
	}
}

// FuzzDecodeBatch: hostile bytes never panic, and what decodes re-encodes identically.
func FuzzDecodeBatch(f *testing.F) {
	f.Add((&Batch{From: 1, To: 2, Heartbeats: []Heartbeat{{GroupID: 1, Term: 2, Commit: 3}}}).Encode(nil))
	f.Add((&Batch{From: 1, To: 2, Messages: []pb.Message{{Type: pb.MsgVote, GroupID: 1, From: 1, To: 2, Term: 3}}}).Encode(nil))
	f.Add([]byte{1, 2, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		if err != nil {
			return
		}
		again, err := DecodeBatch(b.Encode(nil))
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
