package filestore

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
)

// rollbackConfig is a plain store whose blocks hold a few dozen test messages.
func rollbackConfig(fsys env.FS) Config {
	return Config{Dir: "data/stream", FS: fsys, BlockBytesMax: 4096}
}

// rollbackPayload is the payload of the message written as value: long enough to
// span sectors, so that a failed fsync can drop part of it.
func rollbackPayload(value, bytes int) []byte {
	p := fmt.Sprintf("v%d-", value)
	return []byte(p + strings.Repeat("x", max(bytes-len(p), 0)))
}

// errNoCallback says Durable has not called back (yet): the outcome is unknown.
var errNoCallback = errors.New("Durable did not call back")

// storeAndSync writes one message and waits for its Durable callback.
func storeAndSync(s *Store, payload []byte) (uint64, error) {
	seq, _, err := s.StoreMsg("q", nil, payload, 1, 0)
	if err != nil {
		return 0, err
	}
	var got error
	called := false
	s.Durable(func(err error) { got, called = err, true })
	if !called {
		return seq, errNoCallback
	}
	return seq, got
}

// onceFailing returns a Faults.Target that lets the first n faults fire, then none.
func onceFailing(n int) func(string) bool {
	return func(string) bool {
		n--
		return n >= 0
	}
}

// served returns every message the store serves, by sequence.
func served(t *testing.T, s *Store) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	state := s.State()
	for seq := state.FirstSeq; seq <= state.LastSeq && state.Msgs > 0; seq++ {
		sm, err := s.LoadMsg(seq, nil)
		switch {
		case err == nil:
			out[seq] = string(sm.Msg)
		case errors.Is(err, store.ErrStoreMsgNotFound):
		default:
			t.Fatalf("LoadMsg(%d): %v", seq, err)
		}
	}
	return out
}

// TestOpenMakesRecoveredDataDurable proves finding A fixed: what a store serves after
// a kill that followed failed fsyncs (the page cache kept bytes the disk never got)
// survives a later power loss, with later writes acknowledged on top: no message
// served after the restart is missing or corrupt after the power loss.
func TestOpenMakesRecoveredDataDurable(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		disk := simfs.New(newTestRand(seed), simfs.Config{Name: "a"})
		s := mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "A"})
		value := 0
		for range 3 {
			value++
			if _, err := storeAndSync(s, rollbackPayload(value, 300)); err != nil {
				t.Fatal(err)
			}
		}
		disk.SetFaults(simfs.Faults{SyncErrorProbability: 1})
		for range 2 {
			value++
			_, _ = storeAndSync(s, rollbackPayload(value, 700))
		}
		disk.SetFaults(simfs.Faults{})
		disk.Crash(false)
		s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "A"})
		before := served(t, s)
		for range 3 {
			value++
			if _, err := storeAndSync(s, rollbackPayload(value, 100)); err != nil {
				t.Fatal(err)
			}
		}
		disk.Crash(true)
		s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "A"})
		if c := s.Corruption(); len(c) > 0 {
			t.Fatalf("seed %d: after the power loss: %v", seed, c[0])
		}
		after := served(t, s)
		for seq, payload := range before {
			if after[seq] != payload {
				t.Fatalf("seed %d: message %d served after the restart is gone after the power loss", seed, seq)
			}
		}
		if len(after) != len(before)+3 {
			t.Fatalf("seed %d: %d messages after the power loss, want %d", seed, len(after), len(before)+3)
		}
		_ = s.Stop()
	}
}

// TestFailedSyncKeepsWrite proves finding B fixed the way every interleaving allows:
// a write whose fsync failed stays in the index with its sequence, its callback is
// not called while every fsync fails (the outcome is unknown), the store refuses
// writes, and Durable calls made meanwhile wait too. After a kill the acknowledged
// writes are there, the unacknowledged one may be or not, and whatever the restart
// serves survives a later power loss. Without a crash, the next write attempt after
// the faults end rewrites the write from memory, and the waiting callbacks get nil.
func TestFailedSyncKeepsWrite(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		for _, crash := range []bool{true, false} {
			disk := simfs.New(newTestRand(seed), simfs.Config{Name: "b"})
			s := mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "B"})
			for i := 1; i <= 3; i++ {
				if _, err := storeAndSync(s, rollbackPayload(i, 300)); err != nil {
					t.Fatal(err)
				}
			}
			disk.SetFaults(simfs.Faults{SyncErrorProbability: 1})
			seq, err := storeAndSync(s, rollbackPayload(4, 1500))
			if !errors.Is(err, errNoCallback) {
				t.Fatalf("seed %d: Durable with failing fsyncs = %v, want no callback yet", seed, err)
			}
			if sm, err := s.LoadMsg(seq, nil); err != nil || string(sm.Msg) != string(rollbackPayload(4, 1500)) {
				t.Fatalf("seed %d: unacknowledged message %d dropped from the index: %v", seed, seq, err)
			}
			if _, _, err := s.StoreMsg("q", nil, nil, 1, 0); !errors.Is(err, store.ErrStoreFailed) {
				t.Fatalf("seed %d: StoreMsg while every fsync fails = %v", seed, err)
			}
			var late error
			lateCalled := false
			s.Durable(func(err error) { late, lateCalled = err, true })
			if lateCalled {
				t.Fatalf("seed %d: Durable while the store is failed called back with %v", seed, late)
			}
			disk.SetFaults(simfs.Faults{})
			if !crash {
				next, err := storeAndSync(s, rollbackPayload(5, 300))
				if err != nil || next != seq+1 {
					t.Fatalf("seed %d: write after the faults: seq %d (want %d), %v", seed, next, seq+1, err)
				}
				if !lateCalled || late != nil {
					t.Fatalf("seed %d: waiting callback after the recovery: called %v, %v", seed, lateCalled, late)
				}
				disk.Crash(true)
				s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "B"})
				if got := served(t, s); len(got) != 5 || got[seq] != string(rollbackPayload(4, 1500)) {
					t.Fatalf("seed %d: after the recovery and a power loss: %d messages served", seed, len(got))
				}
				_ = s.Stop()
				continue
			}
			disk.Crash(false)
			s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "B"})
			afterKill := served(t, s)
			if len(afterKill) < 3 || len(afterKill) > 4 ||
				len(afterKill) == 4 && afterKill[seq] != string(rollbackPayload(4, 1500)) {
				t.Fatalf("seed %d: after a kill: %d messages served", seed, len(afterKill))
			}
			disk.Crash(true)
			s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "B"})
			if c := s.Corruption(); len(c) > 0 {
				t.Fatalf("seed %d: corruption %v", seed, c[0])
			}
			afterLoss := served(t, s)
			if len(afterLoss) != len(afterKill) {
				t.Fatalf("seed %d: %d messages served after the kill, %d after the power loss", seed, len(afterKill), len(afterLoss))
			}
			for seq, payload := range afterKill {
				if afterLoss[seq] != payload {
					t.Fatalf("seed %d: message %d served after the kill is gone after the power loss", seed, seq)
				}
			}
			_ = s.Stop()
		}
	}
}

// TestFailedSyncAmbiguousCallbacks is the interleaving behind the flaky concurrent
// test, made deterministic: write A is covered by a successful fsync, write B is not,
// then two Durable calls are made and the next fsync fails. Either caller may own
// either write (writers on goroutines call StoreMsg and Durable in any order), so the
// only answer true for both is nil, with both writes kept through a power loss.
func TestFailedSyncAmbiguousCallbacks(t *testing.T) {
	disk := simfs.New(newTestRand(9), simfs.Config{Name: "amb"})
	s := mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "AMB"})
	seqA, _, err := s.StoreMsg("q", nil, rollbackPayload(1, 300), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Durable(func(error) {})
	seqB, _, err := s.StoreMsg("q", nil, rollbackPayload(2, 300), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	disk.SetFaults(simfs.Faults{SyncErrorProbability: 1, Target: onceFailing(1)})
	var answers []error
	for range 2 {
		s.Durable(func(err error) { answers = append(answers, err) })
	}
	if len(answers) != 2 || answers[0] != nil || answers[1] != nil {
		t.Fatalf("answers %v, want nil twice", answers)
	}
	disk.SetFaults(simfs.Faults{})
	disk.Crash(true)
	s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "AMB"})
	defer s.Stop()
	got := served(t, s)
	if got[seqA] != string(rollbackPayload(1, 300)) || got[seqB] != string(rollbackPayload(2, 300)) {
		t.Fatalf("acknowledged writes lost: served %d messages", len(got))
	}
}

// TestStoreResumesAfterFailedSync proves finding C fixed: after one failed fsync the
// store rewrites the write from memory, its callback gets nil once that is durable,
// and the store takes writes again with the next sequences; a power loss then keeps
// every acknowledged message.
func TestStoreResumesAfterFailedSync(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		disk := simfs.New(newTestRand(seed), simfs.Config{Name: "c"})
		s := mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "C"})
		acked := map[uint64]string{}
		for i := 1; i <= 3; i++ {
			seq, err := storeAndSync(s, rollbackPayload(i, 300))
			if err != nil {
				t.Fatal(err)
			}
			acked[seq] = string(rollbackPayload(i, 300))
		}
		disk.SetFaults(simfs.Faults{SyncErrorProbability: 1, Target: onceFailing(1)})
		failedSeq, err := storeAndSync(s, rollbackPayload(4, 1500))
		if err != nil {
			t.Fatalf("seed %d: Durable with a failing fsync = %v, want nil after the rewrite", seed, err)
		}
		acked[failedSeq] = string(rollbackPayload(4, 1500))
		for i := 5; i <= 40; i++ {
			seq, err := storeAndSync(s, rollbackPayload(i, 200))
			if err != nil {
				t.Fatalf("seed %d: write %d after the recovery: %v", seed, i, err)
			}
			if i == 5 && seq != failedSeq+1 {
				t.Fatalf("seed %d: first write after the recovery of %d got %d", seed, failedSeq, seq)
			}
			acked[seq] = string(rollbackPayload(i, 200))
		}
		if r := s.Recovery().Rollbacks; r != 1 {
			t.Fatalf("seed %d: %d recoveries", seed, r)
		}
		disk.Crash(true)
		s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "C"})
		if c := s.Corruption(); len(c) > 0 {
			t.Fatalf("seed %d: %v", seed, c[0])
		}
		got := served(t, s)
		if len(got) != len(acked) {
			t.Fatalf("seed %d: %d messages served, %d acknowledged", seed, len(got), len(acked))
		}
		for seq, payload := range acked {
			if got[seq] != payload {
				t.Fatalf("seed %d: acknowledged message %d lost", seed, seq)
			}
		}
		_ = s.Stop()
	}
}

// TestRecoveryAfterRetry proves that when the recovery's own fsync fails the callback
// stays uncalled, and the next write attempt retries it: the callback then gets nil,
// the write keeps its sequence and the new one takes the next.
func TestRecoveryAfterRetry(t *testing.T) {
	disk := simfs.New(newTestRand(5), simfs.Config{Name: "r"})
	s := mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "R"})
	defer s.Stop()
	if _, err := storeAndSync(s, rollbackPayload(1, 300)); err != nil {
		t.Fatal(err)
	}
	disk.SetFaults(simfs.Faults{SyncErrorProbability: 1, Target: onceFailing(2)})
	failedSeq, _, err := s.StoreMsg("q", nil, rollbackPayload(2, 900), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got error
	called := false
	s.Durable(func(err error) { got, called = err, true })
	if called {
		t.Fatalf("callback called (%v) before the recovery was durable", got)
	}
	seq, err := storeAndSync(s, rollbackPayload(3, 300))
	if err != nil || seq != failedSeq+1 {
		t.Fatalf("write after the retried recovery: seq %d (failed %d), %v", seq, failedSeq, err)
	}
	if !called || got != nil {
		t.Fatalf("callback of the rewritten write: called %v, %v", called, got)
	}
	if sm, err := s.LoadMsg(failedSeq, nil); err != nil || string(sm.Msg) != string(rollbackPayload(2, 900)) {
		t.Fatalf("message %d: %v", failedSeq, err)
	}
}

// TestStoreResumesAfterNoSpace proves the store refuses writes while the disk is full
// (a new block cannot be preallocated) and takes them again once there is room, with
// every acknowledged message kept across a power loss.
func TestStoreResumesAfterNoSpace(t *testing.T) {
	disk := simfs.New(newTestRand(3), simfs.Config{Name: "n"})
	s := mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "N"})
	disk.SetFaults(simfs.Faults{CapacityBytes: 4096 + 2048})
	acked := map[uint64]string{}
	refusals := 0
	for i := 1; i <= 60; i++ {
		if i == 40 {
			disk.SetFaults(simfs.Faults{})
		}
		payload := rollbackPayload(i, 200)
		seq, err := storeAndSync(s, payload)
		if err != nil {
			if !errors.Is(err, env.ErrNoSpace) && !errors.Is(err, store.ErrStoreFailed) {
				t.Fatalf("write %d: %v", i, err)
			}
			if i >= 40 {
				t.Fatalf("write %d with room again: %v", i, err)
			}
			refusals++
			continue
		}
		acked[seq] = string(payload)
	}
	if refusals == 0 {
		t.Fatal("the disk never filled")
	}
	disk.Crash(true)
	s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "N"})
	defer s.Stop()
	got := served(t, s)
	for seq, payload := range acked {
		if got[seq] != payload {
			t.Fatalf("acknowledged message %d lost", seq)
		}
	}
	if len(got) != len(acked) {
		t.Fatalf("%d served, %d acknowledged", len(got), len(acked))
	}
}

// TestFailedSyncSweep runs writes under random fsync failures, torn writes, process
// kills and power losses, and checks after every restart: each acknowledged message is
// served intact, no refused one is served, nothing is reported corrupt, and what a
// restart served is still served after the next power loss.
func TestFailedSyncSweep(t *testing.T) {
	faults := simfs.Faults{SyncErrorProbability: 0.1, TornWriteProbability: 0.5}
	for seed := uint64(1); seed <= 60; seed++ {
		disk := simfs.New(newTestRand(seed), simfs.Config{Name: "w"})
		rnd := newTestRand(seed + 1000)
		open := func() *Store {
			for attempt := 0; ; attempt++ {
				if attempt == 20 {
					disk.SetFaults(simfs.Faults{})
				}
				s, err := Open(rollbackConfig(disk.FS()), store.StreamConfig{Name: "W"})
				if err == nil {
					disk.SetFaults(faults)
					return s
				}
				if !errors.Is(err, env.ErrIO) {
					t.Fatalf("seed %d: Open: %v", seed, err)
				}
			}
		}
		acked, refused := map[uint64]string{}, map[string]bool{}
		var servedAtRestart map[uint64]string
		check := func(s *Store, powerLoss bool) {
			t.Helper()
			if c := s.Corruption(); len(c) > 0 {
				t.Fatalf("seed %d: corruption %v", seed, c[0])
			}
			got := served(t, s)
			for seq, payload := range acked {
				if got[seq] != payload {
					t.Fatalf("seed %d: acknowledged message %d lost", seed, seq)
				}
			}
			for seq, payload := range got {
				if refused[payload] {
					t.Fatalf("seed %d: refused message served at %d", seed, seq)
				}
			}
			if powerLoss {
				for seq, payload := range servedAtRestart {
					if got[seq] != payload {
						t.Fatalf("seed %d: message %d served after a restart is gone after a power loss", seed, seq)
					}
				}
			}
			servedAtRestart = got
		}
		s := open()
		for op := 0; op < 200; op++ {
			switch r := rnd.Intn(100); {
			case r < 90:
				payload := rollbackPayload(op, 20+rnd.Intn(900))
				seq, err := storeAndSync(s, payload)
				switch {
				case err == nil:
					acked[seq] = string(payload)
				case seq != 0 && !errors.Is(err, errNoCallback):
					refused[string(payload)] = true
				}
			default:
				powerLoss := r >= 95
				disk.SetFaults(simfs.Faults{TornWriteProbability: faults.TornWriteProbability})
				disk.Crash(powerLoss)
				s = open()
				check(s, powerLoss)
			}
		}
		disk.SetFaults(simfs.Faults{})
		disk.Crash(true)
		s = open()
		check(s, true)
		_ = s.Stop()
	}
}

// TestFailedSyncConcurrentWriters proves the rollback under concurrent writers with
// goroutine sync tasks (run with -race): after a power loss every acknowledged message
// is served, and no message whose callback got an error is.
func TestFailedSyncConcurrentWriters(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		disk := simfs.New(newTestRand(seed), simfs.Config{Name: "cw"})
		var tasksDone sync.WaitGroup
		cfg := rollbackConfig(disk.FS())
		cfg.Tasks = goTasks{wg: &tasksDone}
		s := mustOpen(t, cfg, store.StreamConfig{Name: "CW"})
		disk.SetFaults(simfs.Faults{SyncErrorProbability: 0.05})
		var mu sync.Mutex
		acked, refused := map[uint64]string{}, map[string]bool{}
		var writers sync.WaitGroup
		for writer := range 6 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := range 30 {
					payload := rollbackPayload(writer*1000+i, 50+i*13)
					seq, _, err := s.StoreMsg("q", nil, payload, 1, 0)
					if err != nil {
						continue
					}
					s.Durable(func(err error) {
						mu.Lock()
						defer mu.Unlock()
						if err == nil {
							acked[seq] = string(payload)
						} else {
							refused[string(payload)] = true
						}
					})
				}
			}()
		}
		writers.Wait()
		tasksDone.Wait()
		_ = s.Stop()
		tasksDone.Wait()
		disk.SetFaults(simfs.Faults{})
		disk.Crash(true)
		s = mustOpen(t, rollbackConfig(disk.FS()), store.StreamConfig{Name: "CW"})
		got := served(t, s)
		mu.Lock()
		for seq, payload := range acked {
			if got[seq] != payload {
				t.Fatalf("seed %d: acknowledged message %d lost", seed, seq)
			}
		}
		for seq, payload := range got {
			if refused[payload] {
				t.Fatalf("seed %d: refused message served at %d", seed, seq)
			}
		}
		t.Logf("seed %d: %d acknowledged, %d refused", seed, len(acked), len(refused))
		mu.Unlock()
		_ = s.Stop()
	}
}
