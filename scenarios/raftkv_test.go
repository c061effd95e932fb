package scenarios

import (
	"testing"

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
