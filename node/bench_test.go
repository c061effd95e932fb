package node

import (
	"sync"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
)

// memoryConn is an env.Conn that keeps what is written, for driving the server
// without sockets.
type memoryConn struct {
	mu      sync.Mutex
	written []byte
	handler env.ConnHandler
	closed  bool
	keep    bool
}

func (m *memoryConn) Start(h env.ConnHandler) { m.handler = h }
func (m *memoryConn) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, env.ErrClosed
	}
	if m.keep {
		m.written = append(m.written, b...)
	}
	return len(b), nil
}
func (m *memoryConn) Flush()             {}
func (m *memoryConn) Pending() int       { return 0 }
func (m *memoryConn) Close() error       { m.mu.Lock(); m.closed = true; m.mu.Unlock(); return nil }
func (m *memoryConn) LocalAddr() string  { return "127.0.0.1:4222" }
func (m *memoryConn) RemoteAddr() string { return "127.0.0.1:5555" }

// benchServer starts a server whose connections the benchmark creates by hand.
func benchServer(b *testing.B) *Server {
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", opts.RandomPort
	s, err := New(osEnvForTests(), o, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Shutdown)
	return s
}

func benchConnect(s *Server) *memoryConn {
	conn := &memoryConn{}
	s.acceptClient(conn)
	conn.handler.OnData([]byte("CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\n"))
	return conn
}

func pubBatch(count int, subject string, payloadBytes int) []byte {
	payload := make([]byte, payloadBytes)
	var batch []byte
	for range count {
		batch = client.AppendPub(batch, []byte(subject), nil, payload)
	}
	return batch
}

// BenchmarkServerPublishNoInterest measures the publish path with no subscriber:
// parse, permission and match, per message.
func BenchmarkServerPublishNoInterest(b *testing.B) {
	s := benchServer(b)
	publisher := benchConnect(s)
	batch := pubBatch(100, "bench.subject", 16)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		publisher.handler.OnData(batch)
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkServerPublishOneSubscriber measures publish plus delivery to one
// subscriber on another connection, per batch of 100 messages.
func BenchmarkServerPublishOneSubscriber(b *testing.B) {
	s := benchServer(b)
	subscriber := benchConnect(s)
	subscriber.handler.OnData([]byte("SUB bench.subject 1\r\n"))
	publisher := benchConnect(s)
	batch := pubBatch(100, "bench.subject", 16)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		publisher.handler.OnData(batch)
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "msgs/s")
}

// osEnvForTests is the production env; tests that need no sockets of their own still
// run the real listener so that the server is in its started state.
func osEnvForTests() env.Env { return osenv.New() }

// TestPublishPathDoesNotAllocate proves the hot path (parse PUB, match, write MSG to
// a subscriber) allocates nothing per message once warm.
func TestPublishPathDoesNotAllocate(t *testing.T) {
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", opts.RandomPort
	s, err := New(osEnvForTests(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	subscriber := &memoryConn{}
	s.acceptClient(subscriber)
	subscriber.handler.OnData([]byte("CONNECT {\"verbose\":false}\r\nSUB bench.* 1\r\nSUB bench.* q 2\r\n"))
	publisher := &memoryConn{}
	s.acceptClient(publisher)
	publisher.handler.OnData([]byte("CONNECT {\"verbose\":false}\r\n"))
	batch := pubBatch(10, "bench.subject", 16)
	publisher.handler.OnData(batch)
	if allocs := testing.AllocsPerRun(100, func() { publisher.handler.OnData(batch) }); allocs > 0 {
		t.Fatalf("%v allocations per batch of 10 messages", allocs)
	}
}

// stallConn is a memoryConn with a settable backlog that records stalls.
type stallConn struct {
	memoryConn
	pending int
	waits   []int
}

func (c *stallConn) Pending() int { return c.pending }
func (c *stallConn) WaitPending(limit int, timeout time.Duration) {
	c.waits = append(c.waits, limit)
}

// TestPublisherStallsOnSubscriberBacklog proves a publisher is held back (through the
// connection's PendingWaiter) when a subscriber's backlog passes the stall threshold,
// and not otherwise.
func TestPublisherStallsOnSubscriberBacklog(t *testing.T) {
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", opts.RandomPort
	s, err := New(osEnvForTests(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	subscriber := &stallConn{}
	s.acceptClient(subscriber)
	subscriber.handler.OnData([]byte("CONNECT {\"verbose\":false}\r\nSUB x 1\r\n"))
	publisher := &memoryConn{}
	s.acceptClient(publisher)
	publisher.handler.OnData([]byte("CONNECT {\"verbose\":false}\r\nPUB x 1\r\na\r\n"))
	if len(subscriber.waits) != 0 {
		t.Fatal("stalled without a backlog")
	}
	subscriber.pending = stallPendingBytesMax + 1
	publisher.handler.OnData([]byte("PUB x 1\r\na\r\n"))
	if len(subscriber.waits) != 1 || subscriber.waits[0] != stallPendingBytesMax {
		t.Fatalf("waits %v", subscriber.waits)
	}
}
