package filestore

import (
	"fmt"
	"testing"

	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
)

// TestAsyncGroupCommitCrash proves the group commit on a task queue (the simulator's
// way) under power loss at random points: writers store and ask for durability, sync
// tasks run in a random interleaving, and after the crash every message whose callback
// reported success is recovered, with nothing that was never written.
func TestAsyncGroupCommitCrash(t *testing.T) {
	ackedTotal, writtenTotal := 0, 0
	for seed := uint64(1); seed <= 200; seed++ {
		rnd := newTestRand(seed)
		disk := simfs.New(newTestRand(seed+1000), simfs.Config{Name: "async", Faults: simfs.Faults{TornWriteProbability: 0.5}})
		tasks := &taskQueue{}
		cfg := variants()[[]string{"plain", "s2", "aes", "chacha-s2"}[seed%4]](disk.FS())
		cfg.Tasks = tasks
		s := mustOpen(t, cfg, store.StreamConfig{Name: "A"})
		res := workloadResult{acked: map[uint64]string{}, written: map[uint64]string{}, removed: map[uint64]bool{}}
		steps := 50 + rnd.IntN(300)
		for step := range steps {
			switch rnd.IntN(6) {
			case 0, 1, 2:
				payload := fmt.Sprintf("seed %d step %d", seed, step)
				seq, _, err := s.StoreMsg(fmt.Sprintf("a.%d", rnd.IntN(4)), nil, []byte(payload), int64(step), 0)
				if err != nil {
					t.Fatalf("seed %d: StoreMsg: %v", seed, err)
				}
				res.written[seq] = payload
				// Everything stored so far is covered by this callback.
				covered := make([]uint64, 0, len(res.written))
				for q := range res.written {
					covered = append(covered, q)
				}
				s.Durable(func(err error) {
					if err == nil {
						for _, q := range covered {
							res.acked[q] = res.written[q]
						}
					}
				})
			case 3:
				if q := uint64(rnd.IntN(len(res.written) + 1)); q > 0 {
					res.removed[q] = true
					_, _ = s.RemoveMsg(q)
				}
			default:
				if len(tasks.queued) > 0 {
					f := tasks.queued[0]
					tasks.queued = tasks.queued[1:]
					f()
				}
			}
		}
		ackedTotal += len(res.acked)
		writtenTotal += len(res.written)
		disk.Crash(true)
		reopened := mustOpen(t, variants()[[]string{"plain", "s2", "aes", "chacha-s2"}[seed%4]](disk.FS()), store.StreamConfig{Name: "A"})
		state := reopened.State()
		if len(state.Lost) != 0 {
			t.Fatalf("seed %d: lost %v after a plain power loss: %v", seed, state.Lost, reopened.Corruption())
		}
		for seq, payload := range res.acked {
			sm, err := reopened.LoadMsg(seq, nil)
			if err != nil {
				if res.removed[seq] {
					continue
				}
				t.Fatalf("seed %d: acknowledged message %d lost: %v", seed, seq, err)
			}
			if string(sm.Msg) != payload {
				t.Fatalf("seed %d: message %d = %q, want %q", seed, seq, sm.Msg, payload)
			}
		}
		for seq := state.FirstSeq; seq <= state.LastSeq; seq++ {
			if sm, err := reopened.LoadMsg(seq, nil); err == nil && string(sm.Msg) != res.written[seq] {
				t.Fatalf("seed %d: message %d = %q was never written there", seed, seq, sm.Msg)
			}
		}
		_ = reopened.Stop()
	}
	if ackedTotal == 0 || ackedTotal == writtenTotal {
		t.Fatalf("%d of %d writes acknowledged: the crash points never fell between a write and its sync", ackedTotal, writtenTotal)
	}
	t.Logf("%d of %d writes acknowledged before the crashes", ackedTotal, writtenTotal)
}
