package filestore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
)

// workloadResult is what a workload saw acknowledged.
type workloadResult struct {
	acked   map[uint64]string // seq -> payload, acknowledged durable
	written map[uint64]string // every payload handed to StoreMsg, acked or not
	removed map[uint64]bool   // removals attempted (they may or may not survive)
	refused map[uint64]bool   // messages whose Durable failed: they must never be served
	errs    []error
}

// runWorkload stores messages in batches, acknowledging each batch with Durable, and
// removes some; it stops at the first error.
func runWorkload(s *Store, batches int) workloadResult {
	res := workloadResult{acked: map[uint64]string{}, written: map[uint64]string{}, removed: map[uint64]bool{}, refused: map[uint64]bool{}}
	for b := range batches {
		var batch []uint64
		for i := range 5 {
			payload := fmt.Sprintf("payload-%d-%d-%s", b, i, string(make([]byte, (b*7+i)%90)))
			seq, _, err := s.StoreMsg(fmt.Sprintf("orders.%d", i%3), nil, []byte(payload), int64(b*10+i+1), 0)
			if err != nil {
				res.errs = append(res.errs, err)
				return res
			}
			res.written[seq] = payload
			batch = append(batch, seq)
		}
		if b%3 == 2 {
			if ok, err := s.RemoveMsg(batch[0] - 5); err != nil {
				res.errs = append(res.errs, err)
				return res
			} else if ok {
				// A removal may survive even when its Durable fails.
				res.removed[batch[0]-5] = true
			}
		}
		var durableErr error
		called := false
		s.Durable(func(err error) { durableErr, called = err, true })
		if !called {
			// The writes were rolled back but the rollback is not durable yet: the
			// outcome is unknown, and the store refuses writes meanwhile.
			return res
		}
		if durableErr != nil {
			for _, seq := range batch {
				res.refused[seq] = true
			}
			res.errs = append(res.errs, durableErr)
			return res
		}
		for _, seq := range batch {
			res.acked[seq] = res.written[seq]
		}
	}
	return res
}

// checkRecovered proves the reopened store holds every acknowledged message that was
// not removed, and nothing that was never written.
func checkRecovered(t *testing.T, s *Store, res workloadResult, label string) {
	t.Helper()
	state := s.State()
	if len(state.Lost) != 0 {
		t.Fatalf("%s: recovery reported lost ranges %v: %v", label, state.Lost, s.Corruption())
	}
	for seq, payload := range res.acked {
		if res.removed[seq] {
			continue
		}
		sm, err := s.LoadMsg(seq, nil)
		if err != nil {
			t.Fatalf("%s: acknowledged message %d lost: %v", label, seq, err)
		}
		if string(sm.Msg) != payload {
			t.Fatalf("%s: message %d = %q, want %q", label, seq, sm.Msg, payload)
		}
	}
	for seq := state.FirstSeq; seq <= state.LastSeq; seq++ {
		sm, err := s.LoadMsg(seq, nil)
		if errors.Is(err, store.ErrStoreMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: LoadMsg(%d): %v", label, seq, err)
		}
		if want, ok := res.written[seq]; !ok || string(sm.Msg) != want {
			t.Fatalf("%s: message %d = %q was never written there", label, seq, sm.Msg)
		}
		if res.refused[seq] {
			t.Fatalf("%s: message %d served though its Durable failed", label, seq)
		}
	}
}

// TestCrashAfterKthOperation proves recovery after a power loss at every point of a
// workload: the k-th file system operation triggers the power loss (with torn writes
// allowed), then the store reopens to a state holding every acknowledged write and
// nothing never written.
func TestCrashAfterKthOperation(t *testing.T) {
	for _, tc := range []struct {
		variant   string
		powerLoss bool
	}{{"plain", true}, {"aes", true}, {"chacha-s2", true}, {"s2", false}} {
		makeConfig := variants()[tc.variant]
		t.Run(fmt.Sprintf("%s/powerLoss=%v", tc.variant, tc.powerLoss), func(t *testing.T) {
			tornWrites := int64(0)
			for k := 1; ; k++ {
				disk := simfs.New(newTestRand(uint64(k)), simfs.Config{Name: "crash", Faults: simfs.Faults{TornWriteProbability: 0.5}})
				ops := 0
				crashed := false
				ffs := &faultFS{inner: nil, ops: &ops, at: k, trigger: func() { crashed = true; disk.Crash(tc.powerLoss) }}
				ffs.inner = disk.FS()
				cfg := makeConfig(ffs)
				s, err := Open(cfg, store.StreamConfig{Name: "C"})
				var res workloadResult
				if err == nil {
					res = runWorkload(s, 40)
					_ = s.Stop()
				}
				if !crashed {
					if err != nil || len(res.errs) > 0 {
						t.Fatalf("k=%d: failed without a crash: %v %v", k, err, res.errs)
					}
					t.Logf("workload finished without a crash at k=%d; %d torn writes seen", k, tornWrites)
					if tornWrites == 0 && tc.powerLoss {
						t.Fatal("no power loss tore a write: the test lost its teeth")
					}
					return
				}
				tornWrites += disk.Counters().TornWrites
				reopened, err := Open(makeConfig(disk.FS()), store.StreamConfig{Name: "C"})
				if err != nil {
					t.Fatalf("k=%d: reopen after power loss: %v", k, err)
				}
				checkRecovered(t, reopened, res, fmt.Sprintf("k=%d", k))
				// The recovered store takes writes and survives a clean restart.
				if _, _, err := reopened.StoreMsg("after", nil, []byte("x"), 999, 0); err != nil {
					t.Fatalf("k=%d: store after recovery: %v", k, err)
				}
				durable(t, reopened)
				before := reopened.State()
				_ = reopened.Stop()
				again := mustOpen(t, makeConfig(disk.FS()), store.StreamConfig{Name: "C"})
				if after := again.State(); after.LastSeq != before.LastSeq || after.Msgs != before.Msgs {
					t.Fatalf("k=%d: state changed across restart: %+v -> %+v", k, before, after)
				}
				_ = again.Stop()
				if k > 5000 {
					t.Fatal("workload never finished")
				}
			}
		})
	}
}

// TestFaultSweep fails the i-th file system operation (and every later one) for
// i = 1, 2, ... until the workload passes: every error the store reports is the
// injected one, and reopening on a healthy disk succeeds with every acknowledged write.
func TestFaultSweep(t *testing.T) {
	for i := 1; ; i++ {
		disk := newDisk(uint64(i))
		ops := 0
		ffs := &faultFS{inner: disk.FS(), ops: &ops, at: i, sticky: true}
		cfg := variants()["s2"](ffs)
		s, err := Open(cfg, store.StreamConfig{Name: "F"})
		var res workloadResult
		if err != nil {
			if !errors.Is(err, errInjected) {
				t.Fatalf("i=%d: Open failed with %v, not the injected fault", i, err)
			}
		} else {
			res = runWorkload(s, 40)
			for _, e := range res.errs {
				if !errors.Is(e, errInjected) {
					t.Fatalf("i=%d: workload error %v is not the injected fault", i, e)
				}
			}
			_ = s.Stop()
		}
		if ops < i {
			if err != nil || len(res.errs) > 0 {
				t.Fatalf("i=%d: errors without an injected fault: %v %v", i, err, res.errs)
			}
			t.Logf("workload finished without a fault at i=%d", i)
			return
		}
		// A process restart after the failure: the page cache keeps what was written.
		disk.Crash(false)
		reopened, err := Open(variants()["s2"](disk.FS()), store.StreamConfig{Name: "F"})
		if err != nil {
			t.Fatalf("i=%d: reopen: %v", i, err)
		}
		checkRecovered(t, reopened, res, fmt.Sprintf("i=%d", i))
		_ = reopened.Stop()
		if i > 5000 {
			t.Fatal("workload never finished")
		}
	}
}

// TestCrashWithCorruptingFaults proves that with bit flips and truncation at rest on
// top of power losses, recovery still opens, and every acknowledged message is either
// served intact or reported as corrupt: never served wrong, never silently missing.
func TestCrashWithCorruptingFaults(t *testing.T) {
	const seeds = 300
	reported := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		disk := simfs.New(newTestRand(seed), simfs.Config{Name: "faulty"})
		rnd := newTestRand(seed * 31)
		ops := 0
		crashAt := 20 + rnd.IntN(250)
		ffs := &faultFS{ops: &ops, at: crashAt, trigger: func() {
			disk.SetFaults(simfs.Faults{AtRestBitFlipProbability: 0.3, CrashTruncateProbability: 0.15, TornWriteProbability: 0.5})
			disk.Crash(true)
			disk.SetFaults(simfs.Faults{})
		}}
		ffs.inner = disk.FS()
		s, err := Open(variants()["s2"](ffs), store.StreamConfig{Name: "C"})
		if err != nil {
			continue
		}
		res := runWorkload(s, 40)
		_ = s.Stop()
		reopened, err := Open(variants()["s2"](disk.FS()), store.StreamConfig{Name: "C"})
		if err != nil {
			t.Fatalf("seed %d: reopen: %v", seed, err)
		}
		if len(reopened.Corruption()) > 0 {
			reported++
		}
		for seq, payload := range res.acked {
			sm, err := reopened.LoadMsg(seq, nil)
			switch {
			case err == nil && string(sm.Msg) != payload:
				t.Fatalf("seed %d: message %d served wrong: %q, want %q", seed, seq, sm.Msg, payload)
			case errors.Is(err, store.ErrCorrupt):
			case err != nil && res.removed[seq]:
			case err != nil:
				t.Fatalf("seed %d: acknowledged message %d missing without a report: %v (lost %v, corruption %v)", seed, seq, err, reopened.State().Lost, reopened.Corruption())
			}
		}
		state := reopened.State()
		for seq := state.FirstSeq; seq <= state.LastSeq; seq++ {
			sm, err := reopened.LoadMsg(seq, nil)
			if err == nil {
				if want, ok := res.written[seq]; !ok || string(sm.Msg) != want {
					t.Fatalf("seed %d: message %d = %q was never written there", seed, seq, sm.Msg)
				}
			}
		}
		_ = reopened.Stop()
	}
	if reported == 0 {
		t.Fatal("no run reported corruption: the faults did not bite")
	}
	t.Logf("%d of %d runs reported corruption", reported, seeds)
}
