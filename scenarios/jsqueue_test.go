package scenarios

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/natsim/natsim/sim"
	"github.com/natsim/natsim/sim/check"
)

// runJSQueue runs one seed of a jsqueue variant and returns the result and the
// workload it checked.
func runJSQueue(o jsqueueOptions, seed uint64) (sim.Result, *jsqueueWorkload) {
	var workload *jsqueueWorkload
	s := jsqueueScenario("jsqueue-test", "test", o)
	setup := s.Setup
	s.Setup = func(w *sim.World) sim.Workload {
		workload = setup(w).(*jsqueueWorkload)
		return workload
	}
	return sim.Run(s, seed, sim.Options{}), workload
}

// jsqueueCounts summarizes what a run did, for checks that it tested something.
type jsqueueCounts struct {
	acked, unknown, failed, delivered, stored, powerLosses int
}

func countJSQueue(qw *jsqueueWorkload) jsqueueCounts {
	var c jsqueueCounts
	for _, p := range qw.publishes {
		switch p.Outcome {
		case check.PublishAcked:
			c.acked++
		case check.PublishUnknown:
			c.unknown++
		case check.PublishFailed:
			c.failed++
		}
	}
	for _, consumer := range qw.consumers {
		c.delivered += len(consumer.values)
	}
	c.stored = len(qw.reader.values)
	c.powerLosses = qw.serverPowerLosses
	return c
}

// TestJSQueuePasses proves the registered scenario passes a handful of seeds (the
// 200-seed sweep runs in `make sim`) and that the runs did real work: acked and
// unknown publishes, deliveries, a stream read back, power losses survived.
func TestJSQueuePasses(t *testing.T) {
	if Lookup("jsqueue") == nil {
		t.Fatal("jsqueue is not registered")
	}
	var total jsqueueCounts
	for seed := uint64(1); seed <= 8; seed++ {
		r, qw := runJSQueue(jsqueueOptions{}, seed)
		if r.Violation != nil {
			t.Fatalf("seed %d: %v\nreplay: %s", seed, r.Violation, r.ReplayCommand())
		}
		c := countJSQueue(qw)
		t.Logf("seed %d: %+v, %d events, %v virtual", seed, c, r.Events, r.VirtualTime)
		if c.acked == 0 || c.delivered == 0 || c.stored == 0 {
			t.Fatalf("seed %d: %+v: the run checked nothing", seed, c)
		}
		total.acked += c.acked
		total.unknown += c.unknown
		total.powerLosses += c.powerLosses
	}
	if total.unknown == 0 || total.powerLosses == 0 {
		t.Fatalf("%+v: no publish had an unknown outcome or no power loss happened; the faults miss", total)
	}
}

// TestJSQueueDeterministic proves a seed replays to the same trace hash (the server,
// the clients and the checker use no map order or real time), and that seeds differ.
func TestJSQueueDeterministic(t *testing.T) {
	s := Lookup("jsqueue")
	seen := map[uint64]uint64{}
	for seed := uint64(1); seed <= 3; seed++ {
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

// findJSQueueViolation sweeps seeds of a broken variant until one fails; it checks
// that the violation is this scenario's and names what it should, and that the seed
// replays the same violation.
func findJSQueueViolation(t *testing.T, o jsqueueOptions, want string) {
	t.Helper()
	for seed := uint64(1); seed <= 20; seed++ {
		r, _ := runJSQueue(o, seed)
		if r.Violation == nil {
			continue
		}
		if !errors.Is(r.Violation, errJSQueue) || !strings.Contains(r.Violation.Error(), want) {
			t.Fatalf("seed %d: violation %q, want one containing %q", seed, r.Violation, want)
		}
		again, _ := runJSQueue(o, seed)
		if again.Hash != r.Hash || again.Violation == nil || again.Violation.Error() != r.Violation.Error() {
			t.Fatalf("seed %d replays differently: %v then %v", seed, r.Violation, again.Violation)
		}
		t.Logf("seed %d: %v", seed, r.Violation)
		return
	}
	t.Fatalf("no violation in 20 seeds: the checker misses %q", want)
}

// TestJSQueueCatchesAckBeforeSync proves the durability check: with sync_interval the
// server acknowledges before fsync, and a power loss then loses acknowledged values.
func TestJSQueueCatchesAckBeforeSync(t *testing.T) {
	findJSQueueViolation(t, jsqueueOptions{syncInterval: "1h", powerLossAlways: true}, "acked values lost")
}

// TestJSQueueCatchesHoles proves the loss check: a server that loses one value in
// seven (never delivered, absent from the stream) loses acknowledged values.
func TestJSQueueCatchesHoles(t *testing.T) {
	findJSQueueViolation(t, jsqueueOptions{dropEvery: 7}, "acked values lost (middle)")
}

// TestJSQueueCatchesReordering proves the per-publisher order check on the stream.
func TestJSQueueCatchesReordering(t *testing.T) {
	findJSQueueViolation(t, jsqueueOptions{swapFinal: true}, "comes after its later value")
}

// TestJSQueuePayloadRoundTrip proves payloads decode to what was encoded and that a
// corrupted padding byte is detected.
func TestJSQueuePayloadRoundTrip(t *testing.T) {
	b := encodeJSQueuePayload(3_000_017, 40)
	value, err := decodeJSQueuePayload(b)
	if err != nil || value != 3_000_017 {
		t.Fatalf("%q -> %d %v", b, value, err)
	}
	b[len(b)-1]++
	if _, err := decodeJSQueuePayload(b); err == nil {
		t.Fatal("corrupt padding not detected")
	}
	if _, err := decodeJSQueuePayload([]byte("12")); err == nil {
		t.Fatal("a payload without padding separator decoded")
	}
}

// TestJSQueueFindings replays the seeds on which the scenario found server bugs (see
// the report of the commit that added it); it fails while they stand. It runs only
// with JSQUEUE_FINDINGS=1, so that `go test ./...` stays green meanwhile.
//
//   - seed 626: a transient fsync error on the stream directory fails the stream's
//     recovery at boot; the stream stays unloaded, the next STREAM.CREATE of the same
//     name fails on another fsync error and its cleanup (Store.Delete after writeMeta
//     fails) removes the directory with every acknowledged message in it.
//   - seed 32, strict: a publish refused with 10077 "store failed" after its fsync
//     failed is served after a restart: the refusal was not definite.
func TestJSQueueFindings(t *testing.T) {
	if os.Getenv("JSQUEUE_FINDINGS") == "" {
		t.Skip("set JSQUEUE_FINDINGS=1 to replay the seeds of open server findings")
	}
	cases := []struct {
		seed    uint64
		options jsqueueOptions
	}{
		{626, jsqueueOptions{}},
		{32, jsqueueOptions{strictStoreErrors: true}},
	}
	for _, c := range cases {
		if r, _ := runJSQueue(c.options, c.seed); r.Violation != nil {
			t.Errorf("seed %d (%+v): %v", c.seed, c.options, r.Violation)
		}
	}
}
