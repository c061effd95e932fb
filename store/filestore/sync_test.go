package filestore

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
)

// taskQueue is an env.Tasks that queues functions until the test runs them, like the
// simulator's event queue.
type taskQueue struct{ queued []func() }

func (q *taskQueue) Go(f func()) { q.queued = append(q.queued, f) }

func (q *taskQueue) runAll() {
	for len(q.queued) > 0 {
		f := q.queued[0]
		q.queued = q.queued[1:]
		f()
	}
}

// manualClock is an env.Clock whose timers fire when the test says.
type manualClock struct {
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	clock   *manualClock
	at      time.Time
	f       func()
	stopped bool
}

func (c *manualClock) Now() time.Time { return c.now }

func (c *manualClock) AfterFunc(d time.Duration, f func()) env.Timer {
	t := &manualTimer{clock: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *manualTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

func (t *manualTimer) Reset(d time.Duration) bool {
	was := !t.stopped
	t.stopped = false
	t.at = t.clock.now.Add(d)
	t.clock.timers = append(t.clock.timers, t)
	return was
}

func (c *manualClock) advance(d time.Duration) {
	c.now = c.now.Add(d)
	due := c.timers
	c.timers = nil
	for _, t := range due {
		if t.stopped || t.at.After(c.now) {
			if !t.stopped {
				c.timers = append(c.timers, t)
			}
			continue
		}
		t.stopped = true
		t.f()
	}
}

// countingFS counts file syncs.
type countingFS struct {
	env.FS
	syncs *int
}

func (c countingFS) Create(name string) (env.File, error) {
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return countingFile{File: f, syncs: c.syncs}, nil
}

func (c countingFS) OpenReadWrite(name string) (env.File, error) {
	f, err := c.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return countingFile{File: f, syncs: c.syncs}, nil
}

type countingFile struct {
	env.File
	syncs *int
}

func (c countingFile) Sync() error {
	*c.syncs++
	return c.File.Sync()
}

// TestGroupCommit proves that Durable never blocks, that callbacks run only after the
// sync, and that every write and callback made before a sync starts shares one fsync.
func TestGroupCommit(t *testing.T) {
	disk := newDisk(5)
	syncs := 0
	tasks := &taskQueue{}
	cfg := variants()["plain"](countingFS{FS: disk.FS(), syncs: &syncs})
	cfg.Tasks = tasks
	cfg.BlockBytesMax = 1 << 20
	s := mustOpen(t, cfg, store.StreamConfig{Name: "G"})
	acked := 0
	for i := range 50 {
		if _, _, err := s.StoreMsg("g", nil, []byte(fmt.Sprint(i)), int64(i), 0); err != nil {
			t.Fatal(err)
		}
		s.Durable(func(err error) {
			if err != nil {
				t.Errorf("Durable: %v", err)
			}
			acked++
		})
	}
	if acked != 0 || len(tasks.queued) != 1 {
		t.Fatalf("before the sync task ran: %d acked, %d tasks queued", acked, len(tasks.queued))
	}
	// Nothing acknowledged is lost; nothing is acknowledged before it is durable.
	syncsBefore := syncs
	tasks.runAll()
	if acked != 50 {
		t.Fatalf("acked %d of 50", acked)
	}
	if got := syncs - syncsBefore; got != 1 {
		t.Fatalf("50 callbacks took %d file syncs, want 1", got)
	}
	disk.Crash(true)
	s = mustOpen(t, variants()["plain"](disk.FS()), store.StreamConfig{Name: "G"})
	defer s.Stop()
	if state := s.State(); state.Msgs != 50 {
		t.Fatalf("after power loss %d messages, want 50", state.Msgs)
	}
}

// TestUnacknowledgedMayBeLost proves the other side: writes whose Durable callback has
// not run are not promised, and a power loss drops them cleanly (no corruption).
func TestUnacknowledgedMayBeLost(t *testing.T) {
	disk := newDisk(6)
	cfg := variants()["plain"](disk.FS())
	cfg.BlockBytesMax = 1 << 20
	cfg.Tasks = &taskQueue{}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "U"})
	for i := range 10 {
		if _, _, err := s.StoreMsg("u", nil, []byte(fmt.Sprint(i)), int64(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	s.Durable(func(error) {})
	disk.Crash(true)
	s = mustOpen(t, variants()["plain"](disk.FS()), store.StreamConfig{Name: "U"})
	defer s.Stop()
	if state := s.State(); state.Msgs != 0 || len(state.Lost) != 0 {
		t.Fatalf("after power loss before the sync: %+v", state)
	}
}

// TestIntervalSync proves interval mode: Durable acknowledges without an fsync, the
// timer's sync makes the writes survive power loss, and before it they may not.
func TestIntervalSync(t *testing.T) {
	disk := newDisk(7)
	syncs := 0
	clock := &manualClock{now: time.Unix(1000, 0)}
	cfg := variants()["plain"](countingFS{FS: disk.FS(), syncs: &syncs})
	cfg.Clock, cfg.SyncInterval, cfg.BlockBytesMax = clock, time.Second, 1<<20
	s := mustOpen(t, cfg, store.StreamConfig{Name: "I"})
	syncsAtOpen := syncs
	for i := range 5 {
		if _, _, err := s.StoreMsg("i", nil, []byte(fmt.Sprint(i)), int64(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	durable(t, s)
	if syncs != syncsAtOpen {
		t.Fatalf("interval mode synced on Durable (%d syncs)", syncs-syncsAtOpen)
	}
	clock.advance(time.Second)
	if syncs == syncsAtOpen {
		t.Fatal("the interval timer did not sync")
	}
	if _, _, err := s.StoreMsg("i", nil, []byte("late"), 9, 0); err != nil {
		t.Fatal(err)
	}
	durable(t, s)
	disk.Crash(true)
	s = mustOpen(t, variants()["plain"](disk.FS()), store.StreamConfig{Name: "I"})
	defer s.Stop()
	if state := s.State(); state.Msgs != 5 {
		t.Fatalf("after power loss %d messages, want the 5 synced by the timer", state.Msgs)
	}
}

// TestSyncFailureFailsStop proves that while every fsync fails the store refuses
// writes, a write whose fsync failed gets no callback (its rollback is not durable, so
// its outcome is unknown), Stop reports the failure, and reopening recovers.
func TestSyncFailureFailsStop(t *testing.T) {
	disk := simfs.New(newTestRand(8), simfs.Config{Name: "s"})
	s := mustOpen(t, variants()["plain"](disk.FS()), store.StreamConfig{Name: "S"})
	if _, _, err := s.StoreMsg("s", nil, []byte("kept"), 1, 0); err != nil {
		t.Fatal(err)
	}
	durable(t, s)
	disk.SetFaults(simfs.Faults{SyncErrorProbability: 1})
	if _, _, err := s.StoreMsg("s", nil, []byte("unknown"), 2, 0); err != nil {
		t.Fatal(err)
	}
	called := false
	s.Durable(func(err error) { called = true })
	if called {
		t.Fatal("Durable called back while its rollback is not durable")
	}
	if _, _, err := s.StoreMsg("s", nil, nil, 3, 0); !errors.Is(err, store.ErrStoreFailed) {
		t.Fatalf("StoreMsg after a failed sync = %v", err)
	}
	if err := s.Stop(); !errors.Is(err, env.ErrIO) {
		t.Fatalf("Stop after failed syncs = %v", err)
	}
	disk.SetFaults(simfs.Faults{})
	disk.Crash(true)
	s = mustOpen(t, variants()["plain"](disk.FS()), store.StreamConfig{Name: "S"})
	defer s.Stop()
	if sm, err := s.LoadMsg(1, nil); err != nil || string(sm.Msg) != "kept" {
		t.Fatalf("acknowledged message after recovery: %v, %v", sm, err)
	}
}

// goTasks runs tasks on goroutines, like osenv.Tasks.
type goTasks struct{ wg *sync.WaitGroup }

func (g goTasks) Go(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

// TestConcurrentWriters proves concurrent writers with goroutine sync tasks get
// distinct sequences, every callback, and a consistent store (run with -race).
func TestConcurrentWriters(t *testing.T) {
	disk := newDisk(9)
	var tasksDone sync.WaitGroup
	cfg := variants()["s2"](disk.FS())
	cfg.Tasks = goTasks{wg: &tasksDone}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "W", MaxMsgsPer: 30})
	const writers, perWriter = 8, 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[uint64]bool{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			for i := range perWriter {
				seq, _, err := s.StoreMsg(fmt.Sprintf("w.%d", w), nil, []byte(fmt.Sprint(i)), int64(i), 0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[seq] {
					t.Errorf("sequence %d handed out twice", seq)
				}
				seen[seq] = true
				mu.Unlock()
				if i%10 == 0 {
					_, _ = s.LoadMsg(seq, nil)
				}
				s.Durable(func(err error) { done <- err })
				if err := <-done; err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	tasksDone.Wait()
	state := s.State()
	if state.LastSeq != writers*perWriter || state.Msgs != writers*30 {
		t.Fatalf("state %+v", state)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	tasksDone.Wait()
	cfg.Tasks = nil
	s = mustOpen(t, cfg, store.StreamConfig{Name: "W", MaxMsgsPer: 30})
	defer s.Stop()
	if again := s.State(); again.Msgs != state.Msgs || again.LastSeq != state.LastSeq {
		t.Fatalf("after reopen %+v, want %+v", again, state)
	}
}

// TestConcurrentIntervalWritersWithErase proves interval mode's flush, which writes the
// write block with the lock released, under concurrent writers that also erase their
// own messages (run with -race): every write is acknowledged, the store reopens with
// every kept message intact, and no erased payload is left on the disk.
func TestConcurrentIntervalWritersWithErase(t *testing.T) {
	disk := newDisk(10)
	var tasksDone sync.WaitGroup
	// Slow writes widen the window in which an erase meets a flush in flight.
	cfg := variants()["plain"](slowWriteFS{FS: disk.FS()})
	cfg.BlockBytesMax = 8 << 10
	cfg.Tasks = goTasks{wg: &tasksDone}
	cfg.SyncInterval = time.Hour
	s := mustOpen(t, cfg, store.StreamConfig{Name: "E"})
	const writers, perWriter = 8, 150
	var wg sync.WaitGroup
	var mu sync.Mutex
	kept := map[uint64]string{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			for i := range perWriter {
				payload := fmt.Sprintf("writer %d message %d", w, i)
				if i%5 == 4 {
					payload = fmt.Sprintf("ERASED-%d-%d", w, i)
				}
				seq, _, err := s.StoreMsg(fmt.Sprintf("e.%d", w), nil, []byte(payload), int64(i), 0)
				if err != nil {
					t.Error(err)
					return
				}
				if i%5 == 4 {
					// Erase the message before it is acknowledged: another writer's flush
					// may be writing the range it lives in right now.
					if ok, err := s.EraseMsg(seq); !ok || err != nil {
						t.Errorf("EraseMsg(%d) = %v, %v", seq, ok, err)
						return
					}
				}
				s.Durable(func(err error) { done <- err })
				if err := <-done; err != nil {
					t.Error(err)
					return
				}
				if i%5 == 4 {
					continue
				}
				mu.Lock()
				kept[seq] = payload
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	tasksDone.Wait()
	cfg.Tasks = nil
	cfg.FS = disk.FS()
	s = mustOpen(t, cfg, store.StreamConfig{Name: "E"})
	defer s.Stop()
	if state := s.State(); state.Msgs != uint64(len(kept)) || len(state.Lost) != 0 {
		t.Fatalf("state %+v, want %d messages", state, len(kept))
	}
	for seq, payload := range kept {
		if sm, err := s.LoadMsg(seq, nil); err != nil || string(sm.Msg) != payload {
			t.Fatalf("LoadMsg(%d) = %v, %v", seq, sm, err)
		}
	}
	names, _ := disk.FS().ReadDir("data/stream/msgs")
	for _, name := range names {
		if contents, _ := disk.Contents("data/stream/msgs/" + name); containsBytes(contents, []byte("ERASED-")) {
			t.Fatalf("an erased payload is still in %s", name)
		}
	}
}

// slowWriteFS makes every file write take a little while.
type slowWriteFS struct{ env.FS }

func (f slowWriteFS) Create(name string) (env.File, error) {
	file, err := f.FS.Create(name)
	return slowWriteFile{file}, err
}

func (f slowWriteFS) OpenReadWrite(name string) (env.File, error) {
	file, err := f.FS.OpenReadWrite(name)
	return slowWriteFile{file}, err
}

type slowWriteFile struct{ env.File }

func (f slowWriteFile) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(20 * time.Microsecond)
	return f.File.WriteAt(p, off)
}

// hookWriteFS calls hook (once) before the next file write.
type hookWriteFS struct {
	env.FS
	hook *func()
}

func (f hookWriteFS) Create(name string) (env.File, error) {
	file, err := f.FS.Create(name)
	return hookWriteFile{file, f.hook}, err
}

func (f hookWriteFS) OpenReadWrite(name string) (env.File, error) {
	file, err := f.FS.OpenReadWrite(name)
	return hookWriteFile{file, f.hook}, err
}

type hookWriteFile struct {
	env.File
	hook *func()
}

func (f hookWriteFile) WriteAt(p []byte, off int64) (int, error) {
	if hook := *f.hook; hook != nil {
		*f.hook = nil
		hook()
	}
	return f.File.WriteAt(p, off)
}

// TestEraseDuringUnlockedFlush proves an erase of a record that an interval-mode flush
// is writing with the lock released (the erase runs inside the write) still removes
// the payload from the disk, and leaves the other records intact.
func TestEraseDuringUnlockedFlush(t *testing.T) {
	disk := newDisk(11)
	var hook func()
	cfg := variants()["plain"](hookWriteFS{FS: disk.FS(), hook: &hook})
	cfg.BlockBytesMax = 1 << 20
	cfg.SyncInterval = time.Hour
	s := mustOpen(t, cfg, store.StreamConfig{Name: "H"})
	for _, payload := range []string{"first payload", "SECRET payload", "third payload"} {
		if _, _, err := s.StoreMsg("h", nil, []byte(payload), 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	erased := false
	hook = func() {
		ok, err := s.EraseMsg(2)
		erased = ok && err == nil
	}
	durable(t, s)
	if !erased {
		t.Fatal("the erase did not run inside the flush")
	}
	durable(t, s)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if contents, _ := disk.Contents("data/stream/msgs/" + blockFileName(1)); containsBytes(contents, []byte("SECRET")) {
		t.Fatal("the erased payload is on the disk")
	}
	cfg.FS = disk.FS()
	s = mustOpen(t, cfg, store.StreamConfig{Name: "H"})
	defer s.Stop()
	if _, err := s.LoadMsg(2, nil); !errors.Is(err, store.ErrStoreMsgNotFound) {
		t.Fatalf("LoadMsg(2) = %v", err)
	}
	for seq, want := range map[uint64]string{1: "first payload", 3: "third payload"} {
		if sm, err := s.LoadMsg(seq, nil); err != nil || string(sm.Msg) != want {
			t.Fatalf("LoadMsg(%d) = %v, %v", seq, sm, err)
		}
	}
}

// TestEncryptedConsumerAndStreamConcurrently proves the stream and a consumer of an
// encrypted store draw nonces from the shared Config.Rand safely (run with -race).
func TestEncryptedConsumerAndStreamConcurrently(t *testing.T) {
	disk := newDisk(12)
	cfg := variants()["aes"](disk.FS())
	s := mustOpen(t, cfg, store.StreamConfig{Name: "C"})
	c, err := s.ConsumerStore("c", store.ConsumerConfig{AckPolicy: store.AckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			if _, _, err := s.StoreMsg("c", nil, []byte(fmt.Sprint(i)), int64(i), 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := uint64(1); i <= 200; i++ {
			if err := c.UpdateDelivered(i, i, 1, int64(i)); err != nil {
				t.Error(err)
				return
			}
			c.Durable(func(err error) {
				if err != nil {
					t.Error(err)
				}
			})
		}
	}()
	wg.Wait()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, cfg, store.StreamConfig{Name: "C"})
	defer s.Stop()
	c, err = s.ConsumerStore("c", store.ConsumerConfig{AckPolicy: store.AckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	if state, _ := c.State(); state.Delivered.Stream != 200 || s.State().Msgs != 200 {
		t.Fatalf("consumer %+v, stream %+v", state, s.State())
	}
}

// TestEraseDuringUnlockedFlushRaces proves the erased bytes win when other writes of
// the range race the unlocked flush: Stop syncing and closing meanwhile, or a flush
// under the lock before the erase (which then writes the erased record itself). The
// unlocked write carries the old bytes and lands last; the flush writes the range
// again when it is done.
func TestEraseDuringUnlockedFlushRaces(t *testing.T) {
	for _, race := range []string{"stop", "locked flush"} {
		t.Run(race, func(t *testing.T) {
			disk := newDisk(13)
			var hook func()
			cfg := variants()["plain"](hookWriteFS{FS: disk.FS(), hook: &hook})
			cfg.BlockBytesMax = 1 << 20
			cfg.SyncInterval = time.Hour
			s := mustOpen(t, cfg, store.StreamConfig{Name: "H"})
			for _, payload := range []string{"first payload", "SECRET payload", "third payload"} {
				if _, _, err := s.StoreMsg("h", nil, []byte(payload), 1, 0); err != nil {
					t.Fatal(err)
				}
			}
			hook = func() {
				if race == "locked flush" {
					s.mu.Lock()
					_ = s.flushAllLocked()
					s.mu.Unlock()
				}
				if ok, err := s.EraseMsg(2); !ok || err != nil {
					t.Errorf("EraseMsg = %v, %v", ok, err)
				}
				if race == "stop" {
					if err := s.Stop(); err != nil {
						t.Errorf("Stop: %v", err)
					}
				}
			}
			s.Durable(func(error) {})
			if race != "stop" {
				if err := s.Stop(); err != nil {
					t.Fatal(err)
				}
			}
			if contents, _ := disk.Contents("data/stream/msgs/" + blockFileName(1)); containsBytes(contents, []byte("SECRET")) {
				t.Fatal("the erased payload is in the file")
			}
			disk.Crash(true)
			if contents, _ := disk.Contents("data/stream/msgs/" + blockFileName(1)); containsBytes(contents, []byte("SECRET")) {
				t.Fatal("the erased payload is on the disk after a power loss")
			}
			cfg.FS = disk.FS()
			s = mustOpen(t, cfg, store.StreamConfig{Name: "H"})
			defer s.Stop()
			if state := s.State(); state.Msgs != 2 || len(state.Lost) != 0 {
				t.Fatalf("state %+v", state)
			}
		})
	}
}

// TestIntervalSyncAhead proves that interval mode fsyncs the write block on a task
// once syncAheadBytes of it are unsynced, without waiting for the timer, that the
// task's fsync makes what it covered survive a power loss, and that Stop waits for
// nothing the task still holds.
func TestIntervalSyncAhead(t *testing.T) {
	disk := newDisk(12)
	tasks := &taskQueue{}
	cfg := variants()["plain"](disk.FS())
	cfg.BlockBytesMax, cfg.SyncInterval, cfg.Tasks = 4*syncAheadBytes, time.Hour, tasks
	s := mustOpen(t, cfg, store.StreamConfig{Name: "A"})
	payload := make([]byte, 1000)
	var stored uint64
	for len(tasks.queued) == 0 {
		if stored > 2*syncAheadBytes/uint64(len(payload)) {
			t.Fatalf("no sync ahead after %d messages", stored)
		}
		seq, _, err := s.StoreMsg("ahead", nil, payload, int64(stored+1), 0)
		if err != nil {
			t.Fatal(err)
		}
		stored = seq
		durable(t, s)
	}
	if w := s.writeBlock(); w.synced >= syncAheadBytes || w.written-w.synced < syncAheadBytes {
		t.Fatalf("sync ahead started with %d written, %d synced", w.written, w.synced)
	}
	tasks.runAll()
	if w := s.writeBlock(); w.synced < syncAheadBytes || s.syncsInFlight != 0 {
		t.Fatalf("after the sync ahead: %d synced, %d syncs in flight", w.synced, s.syncsInFlight)
	}
	if _, _, err := s.StoreMsg("ahead", nil, []byte("unsynced"), 0, 0); err != nil {
		t.Fatal(err)
	}
	durable(t, s)
	disk.Crash(true)
	cfg.FS, cfg.Tasks = disk.FS(), nil
	s = mustOpen(t, cfg, store.StreamConfig{Name: "A"})
	defer s.Stop()
	if state := s.State(); state.Lost != nil || state.LastSeq < stored {
		t.Fatalf("after power loss: last %d (want at least %d synced ahead), lost %v", state.LastSeq, stored, state.Lost)
	}
}

// TestIntervalFlushWaitsForReleasedWriters proves the deferred flush (see "Deferred
// flushes" in sync.go), driven by hand with a task queue and a manual clock: after a
// round, the next one waits while fewer than seven eighths of the writers it released
// are back; the Durable call that brings enough back starts it at once; writers that
// never come back delay it by flushWaitMax at most (the timer then flushes); a single
// writer is never waited for; and callbacks still come in the order Durable was called.
func TestIntervalFlushWaitsForReleasedWriters(t *testing.T) {
	disk := newDisk(13)
	tasks := &taskQueue{}
	clock := &manualClock{now: time.Unix(1000, 0)}
	cfg := variants()["plain"](disk.FS())
	cfg.SyncInterval, cfg.Tasks, cfg.Clock = time.Hour, tasks, clock
	s := mustOpen(t, cfg, store.StreamConfig{Name: "F"})
	defer func() { _ = s.Stop() }()

	var order []string
	// writer stores a message and asks for its callback, which records name and then
	// runs next (a writer coming back from inside its callback, as a woken goroutine
	// would once the round lets the lock go).
	var writer func(name string, next func())
	writer = func(name string, next func()) {
		if _, _, err := s.StoreMsg("f."+name, nil, []byte(name), 0, 0); err != nil {
			t.Fatal(err)
		}
		s.Durable(func(err error) {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			order = append(order, name)
			if next != nil {
				next()
			}
		})
	}
	// A single writer is acknowledged at once, round after round.
	for i := range 3 {
		writer(fmt.Sprint("solo", i), nil)
		if len(order) != i+1 {
			t.Fatalf("single writer's callback %d not called at once: %v", i, order)
		}
	}
	// Writer 0's callback brings writers a-h (eight) in while its round runs, and the
	// next round takes all eight. Six of them come back from their callbacks: two of
	// eight away is too many, so the round after waits.
	order = nil
	writer("w0", func() {
		for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			if name < "g" {
				writer(name, func() { writer(name+"2", nil) })
			} else {
				writer(name, nil)
			}
		}
	})
	want := "[w0 a b c d e f g h]"
	if got := fmt.Sprint(order); got != want {
		t.Fatalf("callbacks %s, want %s", got, want)
	}
	if !s.flushDeferred || len(s.flushWaiters) != 6 {
		t.Fatalf("after a round with 2 of 8 writers away: deferred %v, %d waiting", s.flushDeferred, len(s.flushWaiters))
	}
	// The seventh back starts the round at once, from its own Durable call.
	writer("g2", nil)
	want = "[w0 a b c d e f g h a2 b2 c2 d2 e2 f2 g2]"
	if got := fmt.Sprint(order); got != want {
		t.Fatalf("callbacks %s, want %s", got, want)
	}
	// h and the seven just released are away. Two come back: the round waits for the
	// others, and the timer starts it once flushWaitMax has passed, not before.
	writer("a3", nil)
	writer("b3", nil)
	if len(order) != 16 || !s.flushDeferred {
		t.Fatalf("a flush ran with 6 of 8 writers away: %v", order)
	}
	clock.advance(flushWaitMax - time.Microsecond)
	tasks.runAll()
	if len(order) != 16 {
		t.Fatalf("flushed before flushWaitMax: %v", order)
	}
	clock.advance(time.Microsecond)
	tasks.runAll()
	want = "[w0 a b c d e f g h a2 b2 c2 d2 e2 f2 g2 a3 b3]"
	if got := fmt.Sprint(order); got != want {
		t.Fatalf("after flushWaitMax callbacks %s, want %s", got, want)
	}
	// The timer forgot half of the writers still away (6 of them, so 3): with the two
	// it just released, 5 are counted away, and the fourth to come back leaves one
	// away, which starts the round; g3, back after it, waits for the next.
	for i, name := range []string{"c3", "d3", "e3", "f3", "g3"} {
		writer(name, nil)
		if ran := len(order) > 18; ran != (i >= 3) {
			t.Fatalf("after %s back: flush ran %v (%v)", name, ran, order)
		}
	}
	want = "[w0 a b c d e f g h a2 b2 c2 d2 e2 f2 g2 a3 b3 c3 d3 e3 f3]"
	if got := fmt.Sprint(order); got != want || !s.flushDeferred || len(s.flushWaiters) != 1 {
		t.Fatalf("callbacks %s, want %s; deferred %v with %d waiting", got, want, s.flushDeferred, len(s.flushWaiters))
	}
	// Stop answers the one left waiting.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(order[len(order)-1]); got != "g3" {
		t.Fatalf("Stop left g3 waiting: %v", order)
	}
	s = mustOpen(t, cfg, store.StreamConfig{Name: "F"})
	if state := s.State(); state.Msgs != 3+1+8+7+2+5 {
		t.Fatalf("state %+v", state)
	}
}

// TestStopWritesIndexDuringSyncAhead proves Stop writes the write block's index file
// even while a sync ahead has not run yet (it waits for no task), so the next open
// takes every block from its index; the block index (durable lengths) is left for a
// Stop with no sync in flight.
func TestStopWritesIndexDuringSyncAhead(t *testing.T) {
	disk := newDisk(14)
	tasks := &taskQueue{}
	cfg := variants()["plain"](disk.FS())
	cfg.BlockBytesMax, cfg.SyncInterval, cfg.Tasks = 4*syncAheadBytes, time.Hour, tasks
	s := mustOpen(t, cfg, store.StreamConfig{Name: "A"})
	payload := make([]byte, 1000)
	for i := 0; len(tasks.queued) == 0; i++ {
		if i > 2*syncAheadBytes/len(payload) {
			t.Fatal("no sync ahead queued")
		}
		if _, _, err := s.StoreMsg("ahead", nil, payload, int64(i+1), 0); err != nil {
			t.Fatal(err)
		}
		durable(t, s)
	}
	if s.syncsInFlight == 0 {
		t.Fatal("the sync ahead is not in flight")
	}
	blocks := len(s.blocks)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	tasks.runAll()
	cfg.Tasks = nil
	reopened := mustOpen(t, cfg, store.StreamConfig{Name: "A"})
	defer reopened.Stop()
	if stats := reopened.Recovery(); stats.BlocksFromIndex != blocks || stats.BlocksReplayed != 0 {
		t.Fatalf("recovery %+v for %d blocks", stats, blocks)
	}
}
