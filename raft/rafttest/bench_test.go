package rafttest

import (
	"testing"

	pb "github.com/natsim/natsim/raft/raftpb"
)

func benchGroup(b *testing.B, voters int) *Env {
	env := NewEnv(DefaultConfig())
	env.Quiet = true
	if _, err := env.AddNodes(voters, true, pb.ConfState{}, 1); err != nil {
		b.Fatal(err)
	}
	_ = env.Nodes[1].RawNode.Campaign()
	if err := env.Stabilize(); err != nil {
		b.Fatal(err)
	}
	return env
}

// BenchmarkProposeCommit measures one proposal replicated, committed and applied on a
// three-node group, including persistence to MemoryStorage and the send checks.
func BenchmarkProposeCommit(b *testing.B) {
	env := benchGroup(b, 3)
	leader := env.Nodes[1].RawNode
	data := make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := leader.Propose(data); err != nil {
			b.Fatal(err)
		}
		if err := env.Stabilize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleHeartbeat measures one heartbeat round of an idle three-node group: the
// per-group cost the node's heartbeat coalescing has to beat at scale.
func BenchmarkIdleHeartbeat(b *testing.B) {
	env := benchGroup(b, 3)
	leader := env.Nodes[1].RawNode
	b.ReportAllocs()
	for b.Loop() {
		leader.Tick()
		if err := env.Stabilize(); err != nil {
			b.Fatal(err)
		}
	}
}
