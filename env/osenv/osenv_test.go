package osenv

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestNewFillsEveryPart proves New returns a complete production Env with no faults.
func TestNewFillsEveryPart(t *testing.T) {
	e := New()
	if e.Clock == nil || e.Tasks == nil || e.Rand == nil || e.FS == nil || e.Net == nil {
		t.Fatalf("New left a part nil: %+v", e)
	}
	if e.Faults != nil {
		t.Fatalf("production Faults = %v, want nil", e.Faults)
	}
}

// TestClockNowIsRealTime proves Now reads the wall clock.
func TestClockNowIsRealTime(t *testing.T) {
	before := time.Now()
	now := Clock{}.Now()
	after := time.Now()
	if now.Before(before) || now.After(after) {
		t.Fatalf("Now = %v, not within [%v, %v]", now, before, after)
	}
}

// TestClockAfterFunc proves callbacks fire once, Stop cancels a pending one, and Reset
// reschedules whether or not the callback already ran.
func TestClockAfterFunc(t *testing.T) {
	clock := Clock{}
	fired := make(chan struct{}, 4)
	timer := clock.AfterFunc(0, func() { fired <- struct{}{} })
	waitSignal(t, fired, "AfterFunc(0)")
	if timer.Stop() {
		t.Fatal("Stop after the callback ran reported true")
	}
	if timer.Reset(time.Millisecond) {
		t.Fatal("Reset of a fired timer reported it pending")
	}
	waitSignal(t, fired, "AfterFunc after Reset")

	var calls atomic.Int32
	pending := clock.AfterFunc(time.Hour, func() { calls.Add(1) })
	if !pending.Reset(time.Hour) {
		t.Fatal("Reset of a pending timer reported it not pending")
	}
	if !pending.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if pending.Stop() {
		t.Fatal("second Stop reported true")
	}
	if calls.Load() != 0 {
		t.Fatal("a stopped timer ran")
	}
}

// TestClockAfterFuncRunsOnOwnGoroutine proves a callback can block without blocking
// other callbacks: production callbacks run on their own goroutines.
func TestClockAfterFuncRunsOnOwnGoroutine(t *testing.T) {
	release := make(chan struct{})
	second := make(chan struct{}, 1)
	Clock{}.AfterFunc(0, func() { <-release })
	Clock{}.AfterFunc(time.Millisecond, func() { second <- struct{}{} })
	waitSignal(t, second, "second callback while the first blocks")
	close(release)
}

// TestTasksGo proves Go runs the function concurrently.
func TestTasksGo(t *testing.T) {
	done := make(chan struct{}, 1)
	release := make(chan struct{})
	Tasks{}.Go(func() { <-release; done <- struct{}{} })
	close(release) // Reached only because Go did not run f inline.
	waitSignal(t, done, "Tasks.Go")
}

// TestRandRanges proves every draw stays in its documented range.
func TestRandRanges(t *testing.T) {
	r := NewRand()
	for i := 0; i < 10000; i++ {
		if v := r.Intn(7); v < 0 || v >= 7 {
			t.Fatalf("Intn(7) = %d", v)
		}
		if v := r.Int63n(1 << 40); v < 0 || v >= 1<<40 {
			t.Fatalf("Int63n(2^40) = %d", v)
		}
		if v := r.Float64(); v < 0 || v >= 1 {
			t.Fatalf("Float64 = %v", v)
		}
	}
	if r.Intn(1) != 0 || r.Int63n(1) != 0 {
		t.Fatal("a draw in [0, 1) was not 0")
	}
}

// TestRandSpreads proves Intn reaches every value (a crude uniformity check) and that
// two generators are seeded differently.
func TestRandSpreads(t *testing.T) {
	r := NewRand()
	var seen [16]int
	for i := 0; i < 16000; i++ {
		seen[r.Intn(16)]++
	}
	for value, count := range seen {
		if count < 700 || count > 1300 {
			t.Fatalf("Intn(16) drew %d %d times out of 16000", value, count)
		}
	}
	if NewRand().Uint64() == NewRand().Uint64() {
		t.Fatal("two generators drew the same first value: not seeded from entropy")
	}
}

// TestRandPanicsOnEmptyRange proves Intn and Int63n panic for n <= 0, as documented.
func TestRandPanicsOnEmptyRange(t *testing.T) {
	r := NewRand()
	for name, draw := range map[string]func(){
		"Intn(0)":    func() { r.Intn(0) },
		"Intn(-1)":   func() { r.Intn(-1) },
		"Int63n(0)":  func() { r.Int63n(0) },
		"Int63n(-5)": func() { r.Int63n(-5) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			draw()
		}()
	}
}

// TestRandRead proves Read fills the whole slice with varying bytes and never fails.
func TestRandRead(t *testing.T) {
	r := NewRand()
	a, b := make([]byte, 64), make([]byte, 64)
	if n, err := r.Read(a); n != 64 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	_, _ = r.Read(b)
	if bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 64)) {
		t.Fatal("Read returned repeated or zero bytes")
	}
}

// TestRandConcurrent proves Rand is safe for concurrent use: under -race the detector
// checks the locking, and in every run the draws stay in range and no two of the
// 64-bit values drawn by all goroutines together are equal, which a shared generator
// state updated without a lock would break by handing one state to two goroutines.
func TestRandConcurrent(t *testing.T) {
	const goroutines, draws = 8, 1000
	r := NewRand()
	values := make([][]uint64, goroutines)
	failures := make(chan string, goroutines)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buffer := make([]byte, 16)
			for i := 0; i < draws; i++ {
				values[g] = append(values[g], r.Uint64())
				if v := r.Intn(10); v < 0 || v >= 10 {
					failures <- fmt.Sprintf("Intn(10) = %d", v)
					return
				}
				if v := r.Int63n(10); v < 0 || v >= 10 {
					failures <- fmt.Sprintf("Int63n(10) = %d", v)
					return
				}
				if v := r.Float64(); v < 0 || v >= 1 {
					failures <- fmt.Sprintf("Float64 = %v", v)
					return
				}
				if n, err := r.Read(buffer); n != len(buffer) || err != nil {
					failures <- fmt.Sprintf("Read = %d, %v", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	for failure := range failures {
		t.Error(failure)
	}
	seen := make(map[uint64]bool, goroutines*draws)
	for _, drawn := range values {
		for _, v := range drawn {
			if seen[v] {
				t.Fatalf("value %#x drawn twice across goroutines", v)
			}
			seen[v] = true
		}
	}
	if len(seen) != goroutines*draws {
		t.Fatalf("%d distinct values, want %d", len(seen), goroutines*draws)
	}
}

// BenchmarkRandIntn measures the locked draw a queue group pick costs.
func BenchmarkRandIntn(b *testing.B) {
	r := NewRand()
	b.ReportAllocs()
	for b.Loop() {
		r.Intn(5)
	}
}

func waitSignal(t *testing.T, signal <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-signal:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
