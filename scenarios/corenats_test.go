package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/natsim/natsim/sim"
)

// runCorenats runs one seed of a corenats variant and returns the result and the
// workload it checked.
func runCorenats(o corenatsOptions, seed uint64) (sim.Result, *corenatsWorkload) {
	var workload *corenatsWorkload
	s := corenatsScenario("corenats-test", "test", o)
	setup := s.Setup
	s.Setup = func(w *sim.World) sim.Workload {
		workload = setup(w).(*corenatsWorkload)
		return workload
	}
	return sim.Run(s, seed, sim.Options{}), workload
}

// TestCorenatsPasses proves the registered scenario passes a handful of seeds (the
// 200-seed sweep runs in `make sim`), that the checks had real work to do (deliveries
// and obligations), and that some seed's paused client was cut as a slow consumer.
func TestCorenatsPasses(t *testing.T) {
	if Lookup("corenats") == nil {
		t.Fatal("corenats is not registered")
	}
	slowSeeds := 0
	for seed := uint64(1); seed <= 12; seed++ {
		r, cw := runCorenats(corenatsOptions{}, seed)
		if r.Violation != nil {
			t.Fatalf("seed %d: %v\nreplay: %s", seed, r.Violation, r.ReplayCommand())
		}
		if cw.observed == 0 || cw.obligations == 0 || cw.groupObligations == 0 || cw.importObligations == 0 {
			t.Fatalf("seed %d: %d deliveries, %d obligations (%d to the queue group, %d through the import): a check had nothing to do",
				seed, cw.observed, cw.obligations, cw.groupObligations, cw.importObligations)
		}
		if cw.slowConsumers() > 0 {
			slowSeeds++
		}
	}
	if slowSeeds == 0 {
		t.Fatal("no seed produced a slow consumer: pauses do not exercise the server's cut")
	}
}

// TestCorenatsSweep proves the scenario passes the 200 seeds `make sim` sweeps, with
// no seed failing its liveness goal either. It is skipped in -short mode.
func TestCorenatsSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("200 seeds")
	}
	s := Lookup("corenats")
	for seed := uint64(1); seed <= 200; seed++ {
		if r := sim.Run(s, seed, sim.Options{}); r.Violation != nil {
			t.Fatalf("seed %d: %v\nreplay: %s", seed, r.Violation, r.ReplayCommand())
		}
	}
}

// TestCorenatsDeterministic proves a seed replays to the same trace hash (the server,
// the clients and the checker use no map order or real time), and that seeds differ.
func TestCorenatsDeterministic(t *testing.T) {
	s := Lookup("corenats")
	seen := map[uint64]uint64{}
	for seed := uint64(1); seed <= 4; seed++ {
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

// findCorenatsViolation sweeps seeds of a broken variant until one fails; it checks
// that the violation is a safety violation of this scenario naming what it should,
// and that the seed replays the same violation.
func findCorenatsViolation(t *testing.T, o corenatsOptions, want string) {
	t.Helper()
	for seed := uint64(1); seed <= 30; seed++ {
		r, _ := runCorenats(o, seed)
		if r.Violation == nil {
			continue
		}
		if !errors.Is(r.Violation, errCorenats) || !strings.Contains(r.Violation.Error(), want) {
			t.Fatalf("seed %d: violation %q, want one containing %q", seed, r.Violation, want)
		}
		again, _ := runCorenats(o, seed)
		if again.Hash != r.Hash || again.Violation.Error() != r.Violation.Error() {
			t.Fatalf("seed %d replays differently: %v then %v", seed, r.Violation, again.Violation)
		}
		t.Logf("seed %d: %v", seed, r.Violation)
		return
	}
	t.Fatalf("no violation in 30 seeds: the checker misses %q", want)
}

// TestCorenatsCatchesLoss proves the completeness check: subscribers that forget one
// message in 40 are reported as never getting a message they were owed.
func TestCorenatsCatchesLoss(t *testing.T) {
	findCorenatsViolation(t, corenatsOptions{loseEvery: 40}, "never got message")
}

// TestCorenatsCatchesDuplicates proves the at-most-once check.
func TestCorenatsCatchesDuplicates(t *testing.T) {
	findCorenatsViolation(t, corenatsOptions{duplicateEvery: 40}, "twice")
}

// TestCorenatsCatchesQueueFanout proves the queue group check: members subscribed
// without their queue name all get each message.
func TestCorenatsCatchesQueueFanout(t *testing.T) {
	findCorenatsViolation(t, corenatsOptions{queueIgnored: true}, "to two members")
}

// TestCorenatsCatchesAccountLeak proves the isolation check: with both users in one
// account, B's subscriptions see A's private subjects.
func TestCorenatsCatchesAccountLeak(t *testing.T) {
	findCorenatsViolation(t, corenatsOptions{oneAccount: true}, "crossed accounts")
}

// TestSubjectMatches proves the checker's own subject matching.
func TestSubjectMatches(t *testing.T) {
	cases := []struct {
		pattern, subject string
		want             bool
	}{
		{"events.>", "events.a1.a", true}, {"events.>", "events", false}, {"events.*.a", "events.a1.a", true},
		{"events.*.a", "events.a1.b", false}, {"events.*.a", "events.a1.a.x", false}, {">", "x", true},
		{"jobs.*", "jobs.a1", true}, {"jobs.*", "jobs", false}, {"public.>", "public.a1", true},
	}
	for _, c := range cases {
		if got := subjectMatches(c.pattern, c.subject); got != c.want {
			t.Errorf("subjectMatches(%q, %q) = %v", c.pattern, c.subject, got)
		}
	}
}

// TestCorenatsPayloadRoundTrip proves payloads decode to what was encoded and that a
// corrupted padding byte is detected.
func TestCorenatsPayloadRoundTrip(t *testing.T) {
	b := encodeCorenatsPayload("A", "a1/2", 3, 17, 40)
	account, epoch, sequence, err := decodeCorenatsPayload(b)
	if err != nil || account != "A" || epoch.publisher != "a1/2" || epoch.connection != 3 || sequence != 17 {
		t.Fatalf("%q -> %s %+v %d %v", b, account, epoch, sequence, err)
	}
	b[len(b)-1]++
	if _, _, _, err := decodeCorenatsPayload(b); err == nil {
		t.Fatal("corrupt padding not detected")
	}
}
