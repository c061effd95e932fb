package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/natsim/natsim/sim"
)

// brokenReadOne is the register whose reads trust a single replica. It is deliberately
// not registered: only these tests reach it.
func brokenReadOne() *sim.Scenario {
	return registerScenario("register-read-one", "broken: reads from one replica", registerOptions{readOne: true})
}

// TestRegisterPasses proves the correct register survives a handful of seeds (the full
// sweep runs in `make sim`).
func TestRegisterPasses(t *testing.T) {
	s := Lookup("register")
	for seed := uint64(1); seed <= 10; seed++ {
		r := sim.Run(s, seed, sim.Options{})
		if r.Violation != nil {
			t.Fatalf("seed %d: %v\nreplay: %s", seed, r.Violation, r.ReplayCommand())
		}
	}
}

// TestRegisterDeterministic proves a seed replays to the same trace hash, and that
// different seeds give different hashes.
func TestRegisterDeterministic(t *testing.T) {
	s := Lookup("register")
	seen := map[uint64]uint64{}
	for seed := uint64(1); seed <= 5; seed++ {
		a, b := sim.Run(s, seed, sim.Options{}), sim.Run(s, seed, sim.Options{})
		if a.Hash != b.Hash || a.Events != b.Events {
			t.Fatalf("seed %d: %016x/%d then %016x/%d", seed, a.Hash, a.Events, b.Hash, b.Events)
		}
		if other, dup := seen[a.Hash]; dup {
			t.Fatalf("seeds %d and %d share hash %016x", other, seed, a.Hash)
		}
		seen[a.Hash] = seed
	}
}

// findViolation sweeps seeds until the scenario fails, and returns that run.
func findViolation(t *testing.T, s *sim.Scenario, seedsMax uint64) sim.Result {
	t.Helper()
	for seed := uint64(1); seed <= seedsMax; seed++ {
		if r := sim.Run(s, seed, sim.Options{}); r.Violation != nil {
			return r
		}
	}
	t.Fatalf("%s: no violation in seeds 1-%d: the checker misses the bug", s.Name, seedsMax)
	return sim.Result{}
}

// TestBrokenReadOneCaught proves porcupine catches stale reads from a single replica on
// some seed, that the violation comes with a visualization, and that the failing seed
// replays the same violation and trace hash.
func TestBrokenReadOneCaught(t *testing.T) {
	s := brokenReadOne()
	first := findViolation(t, s, 100)
	t.Logf("caught on seed %d: %v", first.Seed, first.Violation)
	if len(first.Artifacts) == 0 || !bytes.Contains(first.Artifacts[0].Data, []byte("<html")) {
		t.Fatalf("no HTML visualization attached")
	}
	again := sim.Run(s, first.Seed, sim.Options{})
	if again.Hash != first.Hash || fmt.Sprint(again.Violation) != fmt.Sprint(first.Violation) {
		t.Fatalf("replay differs: %016x %v, then %016x %v", first.Hash, first.Violation, again.Hash, again.Violation)
	}
	if errors.Is(first.Violation, sim.ErrLiveness) {
		t.Fatalf("expected a safety violation, got %v", first.Violation)
	}
}
