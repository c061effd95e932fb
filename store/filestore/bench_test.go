package filestore

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/store"
)

// benchPayload is the 128-byte message.
var benchPayload = make([]byte, 128)

func openBench(b *testing.B, interval time.Duration) *Store {
	s, _ := openTimedBench(b, interval)
	return s
}

func openTimedBench(b *testing.B, interval time.Duration) (*Store, *syncTimes) {
	b.Helper()
	times := new(syncTimes)
	cfg := Config{Dir: b.TempDir() + "/stream", FS: timedFS{FS: osenv.FS{}, times: times}, Tasks: osenv.Tasks{}, Clock: osenv.Clock{}, SyncInterval: interval}
	s, err := Open(cfg, store.StreamConfig{Name: "B"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop() })
	return s, times
}

// processCPU returns the process's user and system CPU time in nanoseconds.
func processCPU() int64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return usage.Utime.Nano() + usage.Stime.Nano()
}

// syncTimes counts file syncs and their total duration.
type syncTimes struct {
	mu    sync.Mutex
	count int
	total time.Duration
}

func (t *syncTimes) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count, t.total = 0, 0
}

func (t *syncTimes) report(b *testing.B, msgs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.count > 0 {
		b.ReportMetric(float64(msgs)/float64(t.count), "msgs/fsync")
		b.ReportMetric(float64(t.total.Microseconds())/float64(t.count), "us/fsync")
	}
}

// timedFS times the syncs of the files it opens.
type timedFS struct {
	env.FS
	times *syncTimes
}

func (c timedFS) Create(name string) (env.File, error) {
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return timedFile{File: f, times: c.times}, nil
}

func (c timedFS) OpenReadWrite(name string) (env.File, error) {
	f, err := c.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return timedFile{File: f, times: c.times}, nil
}

type timedFile struct {
	env.File
	times *syncTimes
}

func (c timedFile) Sync() error {
	start := time.Now()
	err := c.File.Sync()
	elapsed := time.Since(start)
	c.times.mu.Lock()
	c.times.count++
	c.times.total += elapsed
	c.times.mu.Unlock()
	return err
}

// benchmarkWriters stores b.N 128-byte messages from 64 concurrent writers, each
// waiting for its Durable callback before its next write (64 writes in flight).
func benchmarkWriters(b *testing.B, interval time.Duration) {
	s, times := openTimedBench(b, interval)
	const writers = 64
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	times.reset()
	cpuBefore := processCPU()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + writers - 1) / writers
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			subject := fmt.Sprintf("bench.%d", w)
			for range per {
				if _, _, err := s.StoreMsg(subject, nil, benchPayload, 1, 0); err != nil {
					b.Error(err)
					return
				}
				s.Durable(func(err error) { done <- err })
				if err := <-done; err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*writers)/b.Elapsed().Seconds(), "msgs/s")
	// The machine is shared: the process CPU time per message is steadier than the
	// rate, and 2 cores divided by it bounds the rate on an idle machine.
	b.ReportMetric(float64(processCPU()-cpuBefore)/float64(per*writers), "cpu-ns/msg")
	if interval == 0 {
		times.report(b, per*writers)
	}
}

// BenchmarkStoreSyncAlways64Writers measures group commit under sync always.
func BenchmarkStoreSyncAlways64Writers(b *testing.B) { benchmarkWriters(b, 0) }

// BenchmarkStoreSyncInterval64Writers measures interval sync (acknowledged once the OS
// has the bytes).
func BenchmarkStoreSyncInterval64Writers(b *testing.B) { benchmarkWriters(b, time.Minute) }

// BenchmarkStoreSyncIntervalBatch measures interval sync from one writer acknowledging
// every 64 messages, without goroutine hand-offs.
func BenchmarkStoreSyncIntervalBatch(b *testing.B) {
	s := openBench(b, time.Minute)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for i := 0; b.Loop(); i++ {
		if _, _, err := s.StoreMsg("bench", nil, benchPayload, 1, 0); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			s.Durable(func(error) {})
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLoadMsgCached measures loads by sequence from the block cache.
func BenchmarkLoadMsgCached(b *testing.B) {
	s := openBench(b, time.Minute)
	const msgs = 10000
	for range msgs {
		if _, _, err := s.StoreMsg("bench", nil, benchPayload, 1, 0); err != nil {
			b.Fatal(err)
		}
	}
	var sm store.StoreMsg
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.LoadMsg(uint64(i%msgs)+1, &sm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "loads/s")
}

// BenchmarkRecover measures reopening a stream of 400,000 128-byte messages (about 70
// MiB of blocks), from the block index files ("index") and with them deleted before
// each open so that every block is replayed and its index rebuilt ("rebuild"), and
// reports the heap per message.
func BenchmarkRecover(b *testing.B) { benchmarkRecover(b, 400_000) }

// BenchmarkRecover1GiB is BenchmarkRecover over about 1 GiB of blocks. It writes the
// gigabyte first, so it runs only with NATSIM_BENCH_GIB=1.
func BenchmarkRecover1GiB(b *testing.B) {
	if os.Getenv("NATSIM_BENCH_GIB") != "1" {
		b.Skip("set NATSIM_BENCH_GIB=1 to write and recover a 1 GiB stream")
	}
	benchmarkRecover(b, 6_300_000)
}

func benchmarkRecover(b *testing.B, msgs int) {
	dir := b.TempDir() + "/stream"
	cfg := Config{Dir: dir, FS: osenv.FS{}}
	s, err := Open(cfg, store.StreamConfig{Name: "R"})
	if err != nil {
		b.Fatal(err)
	}
	for range msgs {
		if _, _, err := s.StoreMsg("bench.recover", nil, benchPayload, 1, 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Stop(); err != nil {
		b.Fatal(err)
	}
	var bytes int64
	names, _ := osenv.FS{}.ReadDir(dir + "/msgs")
	for _, name := range names {
		if info, err := (osenv.FS{}).Stat(dir + "/msgs/" + name); err == nil && strings.HasSuffix(name, ".blk") {
			bytes += info.Size
		}
	}
	for _, mode := range []string{"index", "rebuild"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			var before, after runtime.MemStats
			for b.Loop() {
				if mode == "rebuild" {
					b.StopTimer()
					names, _ := osenv.FS{}.ReadDir(dir + "/msgs")
					for _, name := range names {
						if strings.HasSuffix(name, ".idx") {
							_ = osenv.FS{}.Remove(dir + "/msgs/" + name)
						}
					}
					b.StartTimer()
				}
				runtime.GC()
				runtime.ReadMemStats(&before)
				s, err := Open(cfg, store.StreamConfig{Name: "R"})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(msgs), "heap-bytes/msg")
				stats := s.Recovery()
				if mode == "index" && stats.BlocksReplayed != 0 || mode == "rebuild" && stats.BlocksFromIndex != 0 {
					b.Fatalf("%s: recovery %+v", mode, stats)
				}
				_ = s.Stop()
			}
			b.ReportMetric(float64(msgs)/(b.Elapsed().Seconds()/float64(b.N)), "msgs-recovered/s")
			b.ReportMetric(float64(bytes)/(1<<20), "MiB-of-blocks")
		})
	}
}
