package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
)

// testConfig is a calm configuration: no nemesis, jittery latency, frequent splits.
func testConfig(seed uint64) Config {
	return Config{
		Seed:                  seed,
		Latency:               LatencyModel{Kind: LatencyUniform, Min: time.Millisecond, Max: 10 * time.Millisecond},
		ChunkSplitProbability: 0.5,
		RetransmitTimeout:     2 * time.Second,
		DialTimeout:           time.Second,
		EventsMax:             10_000_000,
	}
}

// recorder is a ConnHandler that keeps everything it is given.
type recorder struct {
	data   bytes.Buffer
	reads  int
	closed bool
	err    error
}

func (r *recorder) OnData(b []byte) { r.data.Write(b); r.reads++ }
func (r *recorder) OnClose(err error) {
	r.closed = true
	r.err = err
}

// pair spawns a server n1 listening on 4222 and a client n2 that dials it; it returns
// the server's record of what it receives and the client's connection.
func pair(t *testing.T, w *World) (server *recorder, client *env.Conn, serverConn *env.Conn) {
	t.Helper()
	server = &recorder{}
	serverConn = new(env.Conn)
	client = new(env.Conn)
	w.Spawn("n1", ProcessOptions{Faulty: true}, func(e env.Env) any {
		if _, err := e.Net.Listen(":4222", func(c env.Conn) {
			*serverConn = c
			c.Start(server)
		}); err != nil {
			t.Fatalf("listen: %v", err)
		}
		return nil
	})
	w.Spawn("n2", ProcessOptions{}, func(e env.Env) any {
		e.Net.Dial("n1:4222", func(c env.Conn, err error) {
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			*client = c
			c.Start(&recorder{})
		})
		return nil
	})
	w.RunUntil(time.Second, 1e6)
	if *client == nil || *serverConn == nil {
		t.Fatalf("connection not established")
	}
	return server, client, serverConn
}

// TestEventOrder proves events run in (virtual time, scheduling order) order, whatever
// order they were scheduled in.
func TestEventOrder(t *testing.T) {
	w := NewWorld(testConfig(1), Options{})
	var got []string
	w.Spawn("n1", ProcessOptions{}, func(e env.Env) any {
		e.Clock.AfterFunc(30*time.Millisecond, func() { got = append(got, "c") })
		e.Clock.AfterFunc(10*time.Millisecond, func() {
			got = append(got, "a")
			e.Tasks.Go(func() { got = append(got, "a-task") })
			e.Clock.AfterFunc(0, func() { got = append(got, "a-timer0") })
		})
		e.Clock.AfterFunc(10*time.Millisecond, func() { got = append(got, "b") })
		e.Tasks.Go(func() { got = append(got, "first") })
		return nil
	})
	w.RunUntil(time.Second, 1000)
	want := []string{"first", "a", "b", "a-task", "a-timer0", "c"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if w.Now() != time.Second {
		t.Fatalf("clock stands at %v, want 1s", w.Now())
	}
}

// TestQueueMatchesSort checks the hand-written heap against a sort on random pushes and
// removals.
func TestQueueMatchesSort(t *testing.T) {
	s := NewStream(7, "queue-test")
	var q eventQueue
	var live []*event
	seq := uint64(0)
	for i := 0; i < 5000; i++ {
		if len(live) > 0 && s.Chance(0.3) {
			j := s.Intn(len(live))
			q.remove(live[j])
			live = append(live[:j], live[j+1:]...)
			continue
		}
		seq++
		e := &event{at: s.Int63n(100), seq: seq}
		q.push(e)
		live = append(live, e)
	}
	var previous *event
	for q.len() > 0 {
		e := q.pop()
		if previous != nil && less(e, previous) {
			t.Fatalf("popped (%d,%d) after (%d,%d)", e.at, e.seq, previous.at, previous.seq)
		}
		previous = e
	}
}

// TestTimerStopReset proves Stop cancels, Reset reschedules, and both report whether the
// timer was pending.
func TestTimerStopReset(t *testing.T) {
	w := NewWorld(testConfig(1), Options{})
	fired := 0
	var timer env.Timer
	w.Spawn("n1", ProcessOptions{}, func(e env.Env) any {
		timer = e.Clock.AfterFunc(time.Second, func() { fired++ })
		return nil
	})
	if !timer.Stop() || timer.Stop() {
		t.Fatalf("Stop should report pending once")
	}
	if timer.Reset(2 * time.Second) {
		t.Fatalf("Reset of a stopped timer reported pending")
	}
	w.RunUntil(time.Second, 100)
	if fired != 0 {
		t.Fatalf("fired before its reset time")
	}
	if !timer.Reset(time.Second) {
		t.Fatalf("Reset of a pending timer reported not pending")
	}
	w.RunUntil(3*time.Second, 100)
	if fired != 1 || timer.Stop() {
		t.Fatalf("fired %d times; Stop after firing must report false", fired)
	}
}

// TestCrashDropsCallbacks proves a crashed incarnation's timers, tasks and connection
// callbacks never run, even if the process restarts before they were due, and that a
// restart boots a new incarnation.
func TestCrashDropsCallbacks(t *testing.T) {
	w := NewWorld(testConfig(1), Options{})
	var ran []string
	boots := 0
	p := w.Spawn("n1", ProcessOptions{Faulty: true}, func(e env.Env) any {
		boots++
		incarnation := boots
		e.Clock.AfterFunc(100*time.Millisecond, func() { ran = append(ran, "timer", string(rune('0'+incarnation))) })
		e.Tasks.Go(func() {
			e.Clock.AfterFunc(50*time.Millisecond, func() { ran = append(ran, "late") })
		})
		return incarnation
	})
	w.RunUntil(10*time.Millisecond, 100)
	w.Crash(p, true)
	if p.Up() || p.Instance() != nil {
		t.Fatalf("crashed process still up")
	}
	w.Restart(p)
	w.RunUntil(time.Second, 100)
	if boots != 2 || p.Incarnation() != 2 || p.Instance() != 2 {
		t.Fatalf("boots=%d incarnation=%d instance=%v", boots, p.Incarnation(), p.Instance())
	}
	for _, r := range ran {
		if r == "1" {
			t.Fatalf("first incarnation's timer ran after the crash: %v", ran)
		}
	}
	if len(ran) != 3 { // the second incarnation's timer (2 entries) and its late timer
		t.Fatalf("ran %v", ran)
	}
}

// TestPauseHoldsEvents proves a paused process runs nothing until resumed, then runs
// what was held in order.
func TestPauseHoldsEvents(t *testing.T) {
	w := NewWorld(testConfig(1), Options{})
	var ran []int
	var stopped env.Timer
	p := w.Spawn("n1", ProcessOptions{}, func(e env.Env) any {
		for i := 1; i <= 3; i++ {
			e.Clock.AfterFunc(time.Duration(i)*100*time.Millisecond, func() { ran = append(ran, i) })
		}
		stopped = e.Clock.AfterFunc(150*time.Millisecond, func() { ran = append(ran, 99) })
		return nil
	})
	w.Pause(p)
	w.RunUntil(time.Second, 100)
	if len(ran) != 0 {
		t.Fatalf("paused process ran %v", ran)
	}
	if !stopped.Stop() {
		t.Fatalf("a held timer should be pending")
	}
	w.Resume(p)
	w.RunUntil(2*time.Second, 100)
	if len(ran) != 3 || ran[0] != 1 || ran[1] != 2 || ran[2] != 3 {
		t.Fatalf("after resume ran %v", ran)
	}
}

// TestClockOffsetAndDrift proves each process's clock has its own offset and rate, and
// that AfterFunc durations are measured on the process's clock.
func TestClockOffsetAndDrift(t *testing.T) {
	c := testConfig(3)
	c.ClockOffsetMax = 10 * time.Second
	c.ClockDriftMax = 0.05
	w := NewWorld(c, Options{})
	var envs []env.Env
	for _, name := range []string{"n1", "n2"} {
		w.Spawn(name, ProcessOptions{}, func(e env.Env) any { envs = append(envs, e); return nil })
	}
	start0, start1 := envs[0].Clock.Now(), envs[1].Clock.Now()
	if start0.Equal(start1) {
		t.Fatalf("two processes share a clock offset")
	}
	var firedLocal time.Duration
	envs[0].Clock.AfterFunc(10*time.Second, func() { firedLocal = envs[0].Clock.Now().Sub(start0) })
	w.RunUntil(time.Minute, 100)
	if d := firedLocal - 10*time.Second; d < -time.Microsecond || d > time.Microsecond {
		t.Fatalf("timer of 10s fired after %v on the process's clock", firedLocal)
	}
	elapsed := envs[1].Clock.Now().Sub(start1)
	if elapsed == time.Minute || elapsed < 57*time.Second || elapsed > 63*time.Second {
		t.Fatalf("a drifting clock measured %v for a virtual minute", elapsed)
	}
}

// TestOrderedDelivery proves a connection delivers the byte stream exactly, in order,
// despite per-piece latency jitter and random splits, and that reads are split at
// arbitrary places.
func TestOrderedDelivery(t *testing.T) {
	w := NewWorld(testConfig(11), Options{})
	server, client, _ := pair(t, w)
	var want bytes.Buffer
	for i := 0; i < 2000; i++ {
		var frame [8]byte
		binary.BigEndian.PutUint64(frame[:], uint64(i))
		(*client).Write(frame[:])
		want.Write(frame[:])
		if i%7 == 0 {
			(*client).Flush()
		}
	}
	(*client).Flush()
	w.RunUntil(10*time.Second, 1e6)
	if !bytes.Equal(server.data.Bytes(), want.Bytes()) {
		t.Fatalf("stream differs: got %d bytes, want %d", server.data.Len(), want.Len())
	}
	if server.reads <= 2000/7+1 {
		t.Fatalf("no flush was split: %d reads", server.reads)
	}
}

// TestPartitionBlocksAndHeals proves a partition holds deliveries (without loss) until
// healed, and that a partition longer than the retransmission timeout resets the
// connection at both ends.
func TestPartitionBlocksAndHeals(t *testing.T) {
	w := NewWorld(testConfig(5), Options{})
	server, client, _ := pair(t, w)
	n1, n2 := w.Process("n1"), w.Process("n2")
	w.Partition([]*Process{n1}, []*Process{n2})
	(*client).Write([]byte("hello"))
	(*client).Flush()
	w.RunUntil(w.Now()+time.Second, 1e6)
	if server.data.Len() != 0 {
		t.Fatalf("delivered across a partition")
	}
	w.Heal()
	w.RunUntil(w.Now()+time.Second, 1e6)
	if server.data.String() != "hello" || server.closed {
		t.Fatalf("after heal got %q closed=%v", server.data.String(), server.closed)
	}

	w.Cut(n2, n1) // one way is enough to stall the client's bytes
	(*client).Write([]byte("again"))
	(*client).Flush()
	w.RunUntil(w.Now()+5*time.Second, 1e6)
	if !server.closed || !errors.Is(server.err, ErrConnectionReset) {
		t.Fatalf("a long partition did not reset: closed=%v err=%v", server.closed, server.err)
	}
	if _, err := (*client).Write([]byte("x")); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("write after reset: %v", err)
	}
}

// TestDialAcrossPartitionTimesOut proves a dial into a partition fails with a timeout
// after the configured dial timeout, and succeeds once healed.
func TestDialAcrossPartitionTimesOut(t *testing.T) {
	w := NewWorld(testConfig(5), Options{})
	pair(t, w)
	n1, n2 := w.Process("n1"), w.Process("n2")
	w.Cut(n1, n2)
	var dialErr error
	var failedAt time.Duration
	start := w.Now()
	n2.Env().Net.Dial("n1:4222", func(c env.Conn, err error) { dialErr, failedAt = err, w.Now() })
	w.RunUntil(w.Now()+5*time.Second, 1e6)
	if !errors.Is(dialErr, ErrDialTimeout) || failedAt-start != w.Config().DialTimeout {
		t.Fatalf("dial across a partition: %v after %v", dialErr, failedAt-start)
	}
	w.Heal()
	var conn env.Conn
	n2.Env().Net.Dial("n1:4222", func(c env.Conn, err error) { conn, dialErr = c, err })
	w.RunUntil(w.Now()+time.Second, 1e6)
	if conn == nil || dialErr != nil {
		t.Fatalf("dial after heal: %v", dialErr)
	}
	if _, err := n2.Env().Net.Listen("n1:5000", nil); err == nil {
		t.Fatalf("listened on another host's address")
	}
	if _, err := n1.Env().Net.Listen(":4222", nil); !errors.Is(err, ErrAddressInUse) {
		t.Fatalf("second listener on a bound port: %v", err)
	}
}

// TestWindowPushesBack proves a reader that stops reading (a paused process) makes the
// sender's Pending grow once the window is full, and that everything then drains in
// order, including bytes queued before a Close, which still end with the FIN.
func TestWindowPushesBack(t *testing.T) {
	c := testConfig(8)
	c.WindowBytes = 1000
	w := NewWorld(c, Options{})
	server, client, _ := pair(t, w)
	n1 := w.Process("n1")
	w.Pause(n1)
	var want []byte
	for i := 0; i < 50; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 100)
		want = append(want, b...)
		(*client).Write(b)
		(*client).Flush()
	}
	w.RunUntil(w.Now()+time.Second, 1e6)
	if pending := (*client).Pending(); pending != 5000-1000 {
		t.Fatalf("Pending = %d with a full 1000-byte window, want 4000", pending)
	}
	(*client).Write([]byte("end"))
	want = append(want, "end"...)
	if err := (*client).Close(); err != nil {
		t.Fatal(err)
	}
	w.Resume(n1)
	w.RunUntil(w.Now()+10*time.Second, 1e6)
	if !bytes.Equal(server.data.Bytes(), want) || !errors.Is(server.err, io.EOF) {
		t.Fatalf("got %d bytes (want %d), close %v", server.data.Len(), len(want), server.err)
	}
}

// TestClogDelaysWithoutReset proves a clogged link delays deliveries past the
// retransmission timeout without resetting, and delivers everything when unclogged.
func TestClogDelaysWithoutReset(t *testing.T) {
	w := NewWorld(testConfig(5), Options{})
	server, client, _ := pair(t, w)
	n1, n2 := w.Process("n1"), w.Process("n2")
	w.Clog(n2, n1, 0)
	(*client).Write([]byte("slow"))
	(*client).Flush()
	w.RunUntil(w.Now()+10*time.Second, 1e6)
	if server.data.Len() != 0 || server.closed {
		t.Fatalf("clogged link delivered or reset")
	}
	w.Unclog(n2, n1)
	w.RunUntil(w.Now()+time.Second, 1e6)
	if server.data.String() != "slow" {
		t.Fatalf("after unclog got %q", server.data.String())
	}
}

// TestCrashResetsPeers proves a killed process's peers see a reset, and that dialing a
// crashed host is refused (kill) or times out (power loss).
func TestCrashResetsPeers(t *testing.T) {
	for _, powerLoss := range []bool{false, true} {
		w := NewWorld(testConfig(9), Options{})
		_, client, _ := pair(t, w)
		handler := &recorder{}
		(*client).(*endpoint).handler = handler
		n1 := w.Process("n1")
		w.Crash(n1, powerLoss)
		w.RunUntil(w.Now()+5*time.Second, 1e6)
		if !handler.closed || !errors.Is(handler.err, ErrConnectionReset) {
			t.Fatalf("powerLoss=%v: peer not reset: %v", powerLoss, handler.err)
		}
		var dialErr error
		w.Process("n2").Env().Net.Dial("n1:4222", func(c env.Conn, err error) { dialErr = err })
		w.RunUntil(w.Now()+5*time.Second, 1e6)
		want := ErrConnectionRefused
		if powerLoss {
			want = ErrDialTimeout
		}
		if !errors.Is(dialErr, want) {
			t.Fatalf("powerLoss=%v: dial to a crashed host: %v", powerLoss, dialErr)
		}
	}
}

// TestCloseDeliversFin proves Close delivers queued bytes, then EOF at the peer, and
// OnClose(nil) locally.
func TestCloseDeliversFin(t *testing.T) {
	w := NewWorld(testConfig(2), Options{})
	server, client, _ := pair(t, w)
	local := &recorder{}
	(*client).(*endpoint).handler = local
	(*client).Write([]byte("bye"))
	if err := (*client).Close(); err != nil {
		t.Fatal(err)
	}
	w.RunUntil(w.Now()+time.Second, 1e6)
	if server.data.String() != "bye" || !errors.Is(server.err, io.EOF) || !local.closed || local.err != nil {
		t.Fatalf("server %q %v; local closed=%v err=%v", server.data.String(), server.err, local.closed, local.err)
	}
}

// pingPong is a small workload used by the determinism tests: two processes bounce a
// counter with random think times.
func pingPong(seed uint64, trace func(string)) *World {
	c := testConfig(seed)
	w := NewWorld(c, Options{Trace: trace})
	for _, name := range []string{"n1", "n2"} {
		w.Spawn(name, ProcessOptions{}, func(e env.Env) any {
			e.Net.Listen(":1", func(c env.Conn) { c.Start(&echo{conn: c, env: e}) })
			if name == "n2" {
				e.Net.Dial("n1:1", func(c env.Conn, err error) {
					if err == nil {
						c.Start(&echo{conn: c, env: e})
						c.Write([]byte{0})
						c.Flush()
					}
				})
			}
			return nil
		})
	}
	w.RunUntil(5*time.Second, 1e6)
	return w
}

type echo struct {
	conn env.Conn
	env  env.Env
}

func (h *echo) OnData(b []byte) {
	// One byte in, one byte out: a one-byte write is never split, so the exchange
	// neither grows nor dies out.
	n := b[0] + byte(h.env.Rand.Intn(256))
	h.env.Clock.AfterFunc(time.Duration(h.env.Rand.Intn(1000))*time.Microsecond, func() {
		h.conn.Write([]byte{n})
		h.conn.Flush()
	})
}
func (h *echo) OnClose(error) {}

// TestDeterminism proves the same seed yields the same trace hash and trace, and
// different seeds different hashes.
func TestDeterminism(t *testing.T) {
	var first, second []string
	a := pingPong(42, func(s string) { first = append(first, s) })
	b := pingPong(42, func(s string) { second = append(second, s) })
	if a.Hash() != b.Hash() || a.Events() != b.Events() || len(first) != len(second) {
		t.Fatalf("same seed, different runs: %x/%d vs %x/%d", a.Hash(), a.Events(), b.Hash(), b.Events())
	}
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("trace differs at line %d:\n%s\n%s", i, first[i], second[i])
		}
	}
	if a.Events() < 100 {
		t.Fatalf("the workload ran only %d events", a.Events())
	}
	seen := map[uint64]uint64{}
	for seed := uint64(1); seed <= 20; seed++ {
		h := pingPong(seed, nil).Hash()
		if other, dup := seen[h]; dup {
			t.Fatalf("seeds %d and %d share hash %x", other, seed, h)
		}
		seen[h] = seed
	}
}

// TestStreamsIndependent proves a stream's draws depend only on the run seed and its
// name, not on other streams being used.
func TestStreamsIndependent(t *testing.T) {
	a := NewStream(5, "network")
	_ = NewStream(5, "other").Uint64()
	b := NewStream(5, "network")
	for i := 0; i < 10; i++ {
		if a.Uint64() != b.Uint64() {
			t.Fatalf("streams of the same name diverged")
		}
	}
	if NewStream(5, "network").Uint64() == NewStream(6, "network").Uint64() {
		t.Fatalf("different seeds gave the same first draw")
	}
}

// TestBuggifyRates proves about a quarter of sites are enabled per run, and enabled
// sites fire about a quarter of the time.
func TestBuggifyRates(t *testing.T) {
	enabled, fired, asked := 0, 0, 0
	const sites = 2000
	b := newBuggify(77, NewStream(77, "buggify"))
	for i := 0; i < sites; i++ {
		site := "site-" + itoa(uint64(i))
		hits := 0
		for j := 0; j < 40; j++ {
			if b.Fire(site) {
				hits++
			}
		}
		if b.enabled[site] {
			enabled++
			fired += hits
			asked += 40
		} else if hits > 0 {
			t.Fatalf("a disabled site fired")
		}
	}
	if enabled < sites/5 || enabled > sites*3/10 {
		t.Fatalf("%d of %d sites enabled", enabled, sites)
	}
	if rate := float64(fired) / float64(asked); rate < 0.2 || rate > 0.3 {
		t.Fatalf("enabled sites fired at rate %.3f", rate)
	}
	b.active = false
	if b.Fire("site-0") || b.Fire("site-1") {
		t.Fatalf("inactive buggify fired")
	}
	if !env.Buggify(b, "site-x") && env.Buggify(nil, "site-x") {
		t.Fatalf("nil faults fired")
	}
}
