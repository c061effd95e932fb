package osenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// recorder is a ConnHandler that keeps what it receives and checks the handler
// contract: calls never overlap and OnClose comes once, last.
type recorder struct {
	t        *testing.T
	inCall   atomic.Bool
	mu       sync.Mutex
	data     bytes.Buffer
	closes   int
	reason   error
	closed   chan struct{}
	received chan struct{}
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, closed: make(chan struct{}), received: make(chan struct{}, 1)}
}

func (r *recorder) OnData(b []byte) {
	if r.inCall.Swap(true) {
		r.t.Error("OnData overlaps another handler call")
	}
	r.mu.Lock()
	if r.closes > 0 {
		r.t.Error("OnData after OnClose")
	}
	r.data.Write(b)
	r.mu.Unlock()
	select {
	case r.received <- struct{}{}:
	default:
	}
	r.inCall.Store(false)
}

func (r *recorder) OnClose(err error) {
	if r.inCall.Swap(true) {
		r.t.Error("OnClose overlaps another handler call")
	}
	r.mu.Lock()
	r.closes++
	r.reason = err
	closes := r.closes
	r.mu.Unlock()
	if closes == 1 {
		close(r.closed)
	} else {
		r.t.Errorf("OnClose called %d times", closes)
	}
	r.inCall.Store(false)
}

// waitBytes waits until at least n bytes have arrived and returns them.
func (r *recorder) waitBytes(n int) []byte {
	r.t.Helper()
	deadline := time.After(testTimeout)
	for {
		r.mu.Lock()
		if r.data.Len() >= n {
			got := bytes.Clone(r.data.Bytes())
			r.mu.Unlock()
			return got
		}
		r.mu.Unlock()
		select {
		case <-r.received:
		case <-r.closed:
			r.mu.Lock()
			got := bytes.Clone(r.data.Bytes())
			r.mu.Unlock()
			if len(got) < n {
				r.t.Fatalf("closed after %d of %d bytes", len(got), n)
			}
			return got
		case <-deadline:
			r.t.Fatalf("timed out waiting for %d bytes", n)
		}
	}
}

// waitClose waits for OnClose and returns its reason.
func (r *recorder) waitClose() error {
	r.t.Helper()
	select {
	case <-r.closed:
	case <-time.After(testTimeout):
		r.t.Fatal("timed out waiting for OnClose")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason
}

// listen starts a listener on a free loopback port that hands accepted connections to
// the returned channel.
func listen(t *testing.T, network *Network) (env.Listener, chan env.Conn) {
	t.Helper()
	accepted := make(chan env.Conn, 16)
	l, err := network.Listen("127.0.0.1:0", func(c env.Conn) { accepted <- c })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, accepted
}

// dial connects through network and waits for the result.
func dial(t *testing.T, network *Network, addr string) (env.Conn, error) {
	t.Helper()
	type result struct {
		conn env.Conn
		err  error
	}
	done := make(chan result, 2)
	network.Dial(addr, func(c env.Conn, err error) { done <- result{c, err} })
	select {
	case r := <-done:
		return r.conn, r.err
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for Dial")
		return nil, nil
	}
}

func acceptOne(t *testing.T, accepted chan env.Conn) env.Conn {
	t.Helper()
	select {
	case c := <-accepted:
		return c
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for accept")
		return nil
	}
}

// pair returns a dialed and an accepted connection, both started with recorders.
func pair(t *testing.T, network *Network) (client env.Conn, clientRecorder *recorder, server env.Conn, serverRecorder *recorder) {
	t.Helper()
	l, accepted := listen(t, network)
	client, err := dial(t, network, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	server = acceptOne(t, accepted)
	clientRecorder, serverRecorder = newRecorder(t), newRecorder(t)
	client.Start(clientRecorder)
	server.Start(serverRecorder)
	return client, clientRecorder, server, serverRecorder
}

// TestListenerAddrAndClose proves Addr has the real port, Close stops accepting,
// a second Close reports env.ErrClosed, and accepted connections survive it.
func TestListenerAddrAndClose(t *testing.T) {
	network := NewNetwork(NetworkOptions{})
	l, accepted := listen(t, network)
	host, port, err := net.SplitHostPort(l.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr = %q", l.Addr())
	}
	client, err := dial(t, network, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	server := acceptOne(t, accepted)
	clientRecorder := newRecorder(t)
	client.Start(clientRecorder)
	server.Start(newRecorder(t))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("second Close = %v, want env.ErrClosed", err)
	}
	if _, err := dial(t, network, l.Addr()); err == nil {
		t.Fatal("Dial to a closed listener succeeded")
	}
	_, _ = server.Write([]byte("still open"))
	server.Flush()
	if got := clientRecorder.waitBytes(10); string(got) != "still open" {
		t.Fatalf("client got %q", got)
	}
	_ = client.Close()
}

// TestAddresses proves LocalAddr and RemoteAddr mirror each other across a pair.
func TestAddresses(t *testing.T) {
	client, _, server, _ := pair(t, NewNetwork(NetworkOptions{}))
	if client.LocalAddr() != server.RemoteAddr() || client.RemoteAddr() != server.LocalAddr() {
		t.Fatalf("client %s -> %s, server %s <- %s", client.LocalAddr(), client.RemoteAddr(),
			server.LocalAddr(), server.RemoteAddr())
	}
	_ = client.Close()
}

// TestDialClosedPort proves Dial reports an error (once) for a port nobody listens on.
func TestDialClosedPort(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	_ = probe.Close()
	conn, err := dial(t, NewNetwork(NetworkOptions{}), addr)
	if err == nil || conn != nil {
		t.Fatalf("Dial to a closed port = %v, %v; want an error", conn, err)
	}
}

// TestEchoManySmallWrites proves ordering and completeness of a loopback echo where
// both sides write many small pieces and flush at irregular points.
func TestEchoManySmallWrites(t *testing.T) {
	network := NewNetwork(NetworkOptions{})
	l, accepted := listen(t, network)
	client, err := dial(t, network, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	server := acceptOne(t, accepted)
	server.Start(echo{server})
	clientRecorder := newRecorder(t)
	client.Start(clientRecorder)

	var want bytes.Buffer
	const messages = 20000
	for i := 0; i < messages; i++ {
		message := fmt.Appendf(nil, "PUB s.%d %d\r\n", i, i%7)
		want.Write(message)
		if _, err := client.Write(message); err != nil {
			t.Fatal(err)
		}
		if i%13 == 0 {
			client.Flush()
		}
	}
	client.Flush()
	got := clientRecorder.waitBytes(want.Len())
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("echo differs: got %d bytes, want %d", len(got), want.Len())
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if reason := clientRecorder.waitClose(); reason != nil {
		t.Fatalf("local Close reason = %v, want nil", reason)
	}
}

// echo writes back what it reads.
type echo struct{ conn env.Conn }

func (e echo) OnData(b []byte) {
	_, _ = e.conn.Write(b)
	e.conn.Flush()
}
func (echo) OnClose(error) {}

// TestCloseSendsQueuedBytes proves Close delivers what was queued (without a Flush)
// before the peer sees the end of the stream, and that the peer's OnClose gets io.EOF.
func TestCloseSendsQueuedBytes(t *testing.T) {
	client, clientRecorder, server, serverRecorder := pair(t, NewNetwork(NetworkOptions{}))
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	if _, err := server.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if reason := clientRecorder.waitClose(); !errors.Is(reason, io.EOF) {
		t.Fatalf("peer close reason = %v, want io.EOF", reason)
	}
	if got := clientRecorder.waitBytes(len(payload)); !bytes.Equal(got, payload) {
		t.Fatalf("got %d bytes, want the %d queued", len(got), len(payload))
	}
	if reason := serverRecorder.waitClose(); reason != nil {
		t.Fatalf("local close reason = %v, want nil", reason)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("Write after the peer closed = %v, want env.ErrClosed", err)
	}
}

// TestWriteAfterClose proves Write and a second Close report env.ErrClosed and Flush
// and Pending stay harmless.
func TestWriteAfterClose(t *testing.T) {
	client, clientRecorder, _, _ := pair(t, NewNetwork(NetworkOptions{}))
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("Write after Close = %v, want env.ErrClosed", err)
	}
	if err := client.Close(); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("second Close = %v, want env.ErrClosed", err)
	}
	client.Flush()
	clientRecorder.waitClose()
	if pending := client.Pending(); pending != 0 {
		t.Fatalf("Pending after close = %d", pending)
	}
}

// TestStartLateAndTwice proves data written before Start is delivered after it, that
// a connection that died before Start still reports OnClose, and that only the first
// Start counts.
func TestStartLateAndTwice(t *testing.T) {
	network := NewNetwork(NetworkOptions{})
	l, accepted := listen(t, network)
	client, err := dial(t, network, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	server := acceptOne(t, accepted)
	_, _ = client.Write([]byte("early"))
	client.Flush()
	_ = client.Close()
	time.Sleep(20 * time.Millisecond) // Let the bytes and the FIN arrive before Start.
	first, second := newRecorder(t), newRecorder(t)
	server.Start(first)
	server.Start(second)
	if got := first.waitBytes(5); string(got) != "early" {
		t.Fatalf("got %q, want %q", got, "early")
	}
	if reason := first.waitClose(); !errors.Is(reason, io.EOF) {
		t.Fatalf("reason = %v, want io.EOF", reason)
	}
	second.mu.Lock()
	defer second.mu.Unlock()
	if second.data.Len() != 0 || second.closes != 0 {
		t.Fatal("the second Start's handler received events")
	}
}

// TestPendingGrowsWhenPeerDoesNotRead proves Pending counts what the socket has not
// taken: with a peer that never reads, it keeps growing by what we write.
func TestPendingGrowsWhenPeerDoesNotRead(t *testing.T) {
	network := NewNetwork(NetworkOptions{WriteDeadline: -1})
	l, accepted := listen(t, network)
	peer, err := net.Dial("tcp", l.Addr()) // Never read from.
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	server := acceptOne(t, accepted)
	recorder := newRecorder(t)
	server.Start(recorder)
	chunk := make([]byte, 256<<10)
	// The kernel absorbs what fits in the socket buffers (tens of MiB at most on
	// loopback, as the peer's receive window never opens up); past that every byte
	// written must show up in Pending.
	const targetBytes = 32 << 20
	deadline := time.Now().Add(testTimeout)
	written := 0
	for server.Pending() < targetBytes {
		if time.Now().After(deadline) {
			t.Fatalf("Pending stuck at %d after %d bytes written", server.Pending(), written)
		}
		if _, err := server.Write(chunk); err != nil {
			t.Fatal(err)
		}
		written += len(chunk)
		if pending := server.Pending(); pending > written {
			t.Fatalf("Pending = %d after only %d bytes written", pending, written)
		}
		server.Flush()
		time.Sleep(time.Millisecond)
	}
	_ = server.Close()
}

// TestWriteDeadlineClosesStalledConnection proves a write that stalls longer than the
// connection's write deadline closes it with a timeout error, after which Write
// reports env.ErrClosed. (That Write never blocks on a stalled socket is proven by
// TestPendingGrowsWhenPeerDoesNotRead, whose writes go on while the writer is stuck.)
func TestWriteDeadlineClosesStalledConnection(t *testing.T) {
	network := NewNetwork(NetworkOptions{})
	l, accepted := listen(t, network)
	peer, err := net.Dial("tcp", l.Addr()) // Never read from.
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	server := acceptOne(t, accepted)
	server.(interface{ SetWriteDeadline(time.Duration) }).SetWriteDeadline(100 * time.Millisecond)
	recorder := newRecorder(t)
	server.Start(recorder)
	chunk := make([]byte, 1<<20)
	for {
		_, err := server.Write(chunk)
		if err != nil {
			if !errors.Is(err, env.ErrClosed) {
				t.Fatalf("Write = %v, want env.ErrClosed", err)
			}
			break
		}
		server.Flush()
		time.Sleep(5 * time.Millisecond)
	}
	reason := recorder.waitClose()
	var timeout interface{ Timeout() bool }
	if !errors.Is(reason, os.ErrDeadlineExceeded) || !errors.As(reason, &timeout) || !timeout.Timeout() {
		t.Fatalf("reason = %v, want a write deadline timeout", reason)
	}
}

// TestCloseDrainIsBounded proves Close on a connection without a write deadline, whose
// peer never reads, still closes the socket (after closeDrainMax) and reports
// OnClose(nil), even though a write is stalled in the socket at that moment.
func TestCloseDrainIsBounded(t *testing.T) {
	saved := closeDrainMax
	closeDrainMax = 100 * time.Millisecond
	defer func() { closeDrainMax = saved }()
	network := NewNetwork(NetworkOptions{WriteDeadline: -1})
	l, accepted := listen(t, network)
	peer, err := net.Dial("tcp", l.Addr()) // Never read from.
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	server := acceptOne(t, accepted)
	recorder := newRecorder(t)
	server.Start(recorder)
	_, _ = server.Write(make([]byte, 64<<20))
	server.Flush()
	time.Sleep(20 * time.Millisecond) // Let the writer stall in the socket.
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if reason := recorder.waitClose(); reason != nil {
		t.Fatalf("reason = %v, want nil for a local Close", reason)
	}
}

// TestPauseReads proves a paused connection stops delivering data, so the peer's
// writes back up, until ResumeReads delivers everything in order; and that a
// connection closed while paused still reports OnClose.
func TestPauseReads(t *testing.T) {
	client, _, server, serverRecorder := pair(t, NewNetwork(NetworkOptions{}))
	pauser := server.(interface {
		PauseReads()
		ResumeReads()
	})
	_, _ = client.Write([]byte("first"))
	client.Flush()
	serverRecorder.waitBytes(5)
	pauser.PauseReads()
	// The reader may already sit in a read that the next bytes complete: one more
	// delivery can happen, after which nothing more arrives while paused.
	_, _ = client.Write([]byte("x"))
	client.Flush()
	serverRecorder.waitBytes(6)
	payload := bytes.Repeat([]byte("y"), 16<<20)
	_, _ = client.Write(payload)
	client.Flush()
	time.Sleep(200 * time.Millisecond)
	serverRecorder.mu.Lock()
	delivered := serverRecorder.data.Len()
	serverRecorder.mu.Unlock()
	if delivered > 6+readBufferMax {
		t.Fatalf("%d bytes delivered while paused", delivered)
	}
	if client.Pending() == 0 {
		t.Fatal("the peer's queue did not back up while reads were paused")
	}
	pauser.ResumeReads()
	got := serverRecorder.waitBytes(6 + len(payload))
	if !bytes.Equal(got[6:], payload) || string(got[:6]) != "firstx" {
		t.Fatal("data after ResumeReads differs from what was written")
	}
	pauser.PauseReads()
	_ = server.Close()
	if reason := serverRecorder.waitClose(); reason != nil {
		t.Fatalf("reason = %v, want nil", reason)
	}
	_ = client.Close()
}

// TestPeerResetReportsError proves an abortive close by the peer (RST) reaches
// OnClose as a non-nil error.
func TestPeerResetReportsError(t *testing.T) {
	network := NewNetwork(NetworkOptions{})
	l, accepted := listen(t, network)
	peer, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	server := acceptOne(t, accepted)
	recorder := newRecorder(t)
	server.Start(recorder)
	_ = peer.(*net.TCPConn).SetLinger(0)
	_ = peer.Close()
	if reason := recorder.waitClose(); reason == nil {
		t.Fatal("reason = nil after a peer reset")
	}
}

// TestCloseRaces proves that concurrent Write, Flush, Pending and Close from several
// goroutines, racing with the peer closing, never panic, deadlock or call OnClose
// more than once (run with -race).
func TestCloseRaces(t *testing.T) {
	network := NewNetwork(NetworkOptions{})
	for round := 0; round < 50; round++ {
		client, clientRecorder, server, serverRecorder := pair(t, network)
		var wg sync.WaitGroup
		for _, conn := range []env.Conn{client, server} {
			for g := 0; g < 3; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					message := []byte("MSG a 1 5\r\nhello\r\n")
					for i := 0; i < 200; i++ {
						if _, err := conn.Write(message); err != nil && !errors.Is(err, env.ErrClosed) {
							t.Errorf("Write = %v", err)
						}
						conn.Flush()
						conn.Pending()
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
				_ = conn.Close()
			}()
		}
		wg.Wait()
		clientRecorder.waitClose()
		serverRecorder.waitClose()
	}
}

// TestConnectionGoroutinesExit proves a closed connection leaves no reader or writer
// goroutine behind.
func TestConnectionGoroutinesExit(t *testing.T) {
	network := NewNetwork(NetworkOptions{})
	l, accepted := listen(t, network)
	before := countGoroutines()
	for i := 0; i < 20; i++ {
		client, err := dial(t, network, l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		server := acceptOne(t, accepted)
		clientRecorder, serverRecorder := newRecorder(t), newRecorder(t)
		client.Start(clientRecorder)
		server.Start(serverRecorder)
		_ = client.Close()
		clientRecorder.waitClose()
		serverRecorder.waitClose()
	}
	deadline := time.Now().Add(testTimeout)
	for countGoroutines() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after closing every connection", before, countGoroutines())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkConnWriteFlush16B measures the hot path of a server fanning out small
// messages: one 16-byte Write and one Flush per operation, over loopback, with a peer
// that drains the socket. It must not allocate per operation.
func BenchmarkConnWriteFlush16B(b *testing.B) {
	benchmarkWrites(b, 1)
}

// BenchmarkConnWrite16BFlushEvery64 measures the same with one Flush per 64 writes, as
// a server does when one read carried many messages.
func BenchmarkConnWrite16BFlushEvery64(b *testing.B) {
	benchmarkWrites(b, 64)
}

func benchmarkWrites(b *testing.B, writesPerFlush int) {
	network := NewNetwork(NetworkOptions{})
	accepted := make(chan env.Conn, 1)
	l, err := network.Listen("127.0.0.1:0", func(c env.Conn) { accepted <- c })
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	peer, err := net.Dial("tcp", l.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer peer.Close()
	server := <-accepted
	server.Start(discard{})
	received := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, peer)
		received <- n
	}()
	message := []byte("MSG ab 1 2\r\nhi\r\n") // 16 bytes.
	b.SetBytes(int64(len(message)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = server.Write(message)
		if i%writesPerFlush == 0 {
			server.Flush()
		}
	}
	_ = server.Close()
	if n := <-received; n != int64(b.N*len(message)) {
		b.Fatalf("peer received %d bytes, want %d", n, b.N*len(message))
	}
}

type discard struct{}

func (discard) OnData([]byte) {}
func (discard) OnClose(error) {}

func countGoroutines() int { return runtime.NumGoroutine() }

// BenchmarkConnRead measures the read path: a peer streams 16-byte messages in 32 KiB
// writes (as nats.go's buffered writer does) and the handler sees every byte. Reads
// reuse the connection's buffer, so it must not allocate per operation.
func BenchmarkConnRead(b *testing.B) {
	network := NewNetwork(NetworkOptions{})
	accepted := make(chan env.Conn, 1)
	l, err := network.Listen("127.0.0.1:0", func(c env.Conn) { accepted <- c })
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	peer, err := net.Dial("tcp", l.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer peer.Close()
	server := <-accepted
	const messageBytes = 16
	total := int64(b.N) * messageBytes
	counter := &countingHandler{target: total, done: make(chan struct{})}
	server.Start(counter)
	chunk := bytes.Repeat([]byte("PUB a 2\r\nhi\r\n\r\n\r\n")[:messageBytes], 32<<10/messageBytes)
	b.SetBytes(messageBytes)
	b.ReportAllocs()
	b.ResetTimer()
	for remaining := total; remaining > 0; {
		n := min(remaining, int64(len(chunk)))
		if _, err := peer.Write(chunk[:n]); err != nil {
			b.Fatal(err)
		}
		remaining -= n
	}
	<-counter.done
	b.StopTimer()
	_ = server.Close()
}

// countingHandler counts bytes and signals once target bytes have arrived.
type countingHandler struct {
	received int64
	target   int64
	done     chan struct{}
}

func (h *countingHandler) OnData(b []byte) {
	h.received += int64(len(b))
	if h.received >= h.target && h.received-int64(len(b)) < h.target {
		close(h.done)
	}
}

func (*countingHandler) OnClose(error) {}
