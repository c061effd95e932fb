package scenarios

import (
	"testing"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
	"github.com/natsim/natsim/sim"
)

// BenchmarkRaftKV measures simulated seconds per wall second of raftkv (target: 1000).
func BenchmarkRaftKV(b *testing.B) {
	benchmarkScenario(b, Lookup("raftkv"))
}

// TestRaftKVPasses runs a few seeds of raftkv (the sweep runs in `make sim`).
func TestRaftKVPasses(t *testing.T) {
	s := Lookup("raftkv")
	for seed := uint64(1); seed <= 5; seed++ {
		r := sim.Run(s, seed, sim.Options{})
		if r.Violation != nil {
			t.Fatalf("seed %d: %v\nreplay: %s", seed, r.Violation, r.ReplayCommand())
		}
	}
}

// BenchmarkRaftScale measures simulated seconds per wall second of raftscale (target:
// 50).
func BenchmarkRaftScale(b *testing.B) {
	benchmarkScenario(b, Lookup("raftscale"))
}

// failRecorder collects the violations a raftCluster reports.
type failRecorder struct{ errs []error }

func (f *failRecorder) Fail(err error) { f.errs = append(f.errs, err) }

// TestRaftLedgerCatchesViolations: the invariant ledgers report two leaders in a term,
// two entries with the same index and term, different entries applied at an index,
// and a leader that lacks an entry committed before its term.
func TestRaftLedgerCatchesViolations(t *testing.T) {
	newCluster := func() (*raftCluster, *failRecorder) {
		f := &failRecorder{}
		return newRaftCluster(&worldRef{w: f}, []string{"a", "b", "c"}), f
	}
	c, f := newCluster()
	c.noteLeader(1, 5, 1)
	c.noteLeader(1, 5, 1)
	c.noteLeader(1, 6, 2)
	if len(f.errs) != 0 {
		t.Fatalf("false alarm: %v", f.errs)
	}
	c.noteLeader(1, 6, 3)
	if len(f.errs) != 1 {
		t.Fatalf("two leaders in term 6 not caught")
	}

	c, f = newCluster()
	c.notePersisted(1, []pb.Entry{{Index: 2, Term: 1, Data: []byte("x")}})
	c.notePersisted(1, []pb.Entry{{Index: 2, Term: 1, Data: []byte("x")}, {Index: 3, Term: 1}})
	c.notePersisted(1, []pb.Entry{{Index: 2, Term: 1, Data: []byte("y")}})
	if len(f.errs) != 1 {
		t.Fatalf("log matching: %v", f.errs)
	}

	c, f = newCluster()
	c.noteApplied(1, 1, &pb.Entry{Index: 2, Term: 1, Data: []byte("x")})
	c.noteApplied(1, 2, &pb.Entry{Index: 2, Term: 1, Data: []byte("x")})
	c.noteApplied(1, 3, &pb.Entry{Index: 2, Term: 2, Data: []byte("x")})
	if len(f.errs) != 1 {
		t.Fatalf("state machine safety: %v", f.errs)
	}

	c, f = newCluster()
	c.noteLeader(1, 2, 1)
	c.noteApplied(1, 1, &pb.Entry{Index: 2, Term: 2, Data: []byte("x")})
	short := raft.NewMemoryStorage()
	short.Append([]pb.Entry{{Index: 1, Term: 1}})
	// A leader of term 2 itself need not hold what term 2 commits later...
	c.checkLeaderCompleteness(1, 2, 2, short)
	if len(f.errs) != 0 {
		t.Fatalf("false alarm: %v", f.errs)
	}
	// ...but a leader of term 3 must.
	c.checkLeaderCompleteness(1, 2, 3, short)
	if len(f.errs) != 1 {
		t.Fatalf("leader completeness not checked: %v", f.errs)
	}
}

// TestRaftScalePasses runs two seeds of raftscale, the second twice: same trace hash.
func TestRaftScalePasses(t *testing.T) {
	s := Lookup("raftscale")
	for seed := uint64(1); seed <= 2; seed++ {
		r := sim.Run(s, seed, sim.Options{})
		if r.Violation != nil {
			t.Fatalf("seed %d: %v\nreplay: %s", seed, r.Violation, r.ReplayCommand())
		}
		if seed == 2 {
			if again := sim.Run(s, seed, sim.Options{}); again.Hash != r.Hash {
				t.Fatalf("seed %d replays to %016x, first %016x", seed, again.Hash, r.Hash)
			}
		}
	}
}
