package raft_test

import (
	"fmt"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

type fixedRand struct{}

func (fixedRand) Intn(int) int { return 0 }

// Example shows the loop the node glue runs for each group: tick from a timer, step
// messages from the network, and handle each Ready in contract order (persist, send,
// apply, Advance).
func Example() {
	storage := raft.NewMemoryStorage()
	// A new single-member group: persist the bootstrap snapshot first.
	_ = storage.ApplySnapshot(raft.BootstrapSnapshot(pb.ConfState{Voters: []uint64{1}}))
	node, err := raft.NewRawNode(&raft.Config{
		ID: 1, GroupID: 42, ElectionTicks: 10, HeartbeatTicks: 1, Storage: storage,
		InflightMessagesMax: 64, PreVote: true, CheckQuorum: true, Rand: fixedRand{},
	})
	if err != nil {
		panic(err)
	}
	handle := func() {
		for node.HasReady() {
			rd := node.Ready()
			// 1. Persist: snapshot, entries, hard state (fsync when rd.MustSync).
			if !rd.Snapshot.IsEmpty() {
				_ = storage.ApplySnapshot(rd.Snapshot)
			}
			_ = storage.Append(rd.Entries)
			if !rd.HardState.IsEmpty() {
				_ = storage.SetHardState(rd.HardState)
			}
			// 2. Send: only now (a single node has nobody to send to).
			durable, _ := raft.DurableOf(storage)
			for _, m := range rd.Messages {
				if err := raft.CheckSend(m, durable); err != nil {
					panic(err)
				}
			}
			// 3. Apply.
			for _, ent := range rd.CommittedEntries {
				if ent.Type == pb.EntryNormal && len(ent.Data) > 0 {
					fmt.Printf("apply %d: %s\n", ent.Index, ent.Data)
				}
			}
			// 4. Advance.
			node.Advance(rd)
		}
	}
	for range 20 {
		node.Tick()
	}
	handle()
	if _, err := node.Propose([]byte("hello")); err != nil {
		panic(err)
	}
	handle()
	fmt.Println(node.Status().RaftState)
	// Output:
	// apply 3: hello
	// StateLeader
}
