package osenv

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsim/natsim/env"
)

const (
	// DefaultWriteDeadline is how long one socket write may stall (the peer not
	// reading) before the connection is closed: the reference server's write_deadline.
	DefaultWriteDeadline = 10 * time.Second
	// DefaultDialTimeout bounds a Dial that gets no answer.
	DefaultDialTimeout = 2 * time.Second

	// readBufferMin and readBufferMax bound the per-connection read buffer. It starts
	// at readBufferStart, doubles when a read fills it (the peer is sending faster than
	// we read) and halves after readShortReadsMax reads in a row that used less than a
	// quarter of it, so that idle connections hold little memory.
	readBufferMin     = 512
	readBufferStart   = 4 << 10
	readBufferMax     = 64 << 10
	readShortReadsMax = 16

	// acceptBackoffMin and acceptBackoffMax bound the pause after a failed Accept (for
	// example EMFILE) so that the accept loop does not spin.
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// closeDrainMax bounds how long Close keeps sending queued bytes on a connection
// without a write deadline. It is a variable so that a test can shorten it.
var closeDrainMax = DefaultWriteDeadline

// NetworkOptions configures a Network. The zero value gives the defaults.
type NetworkOptions struct {
	// WriteDeadline bounds how long one socket write may stall before the connection
	// is closed; zero means DefaultWriteDeadline and a negative value means no bound.
	// The connection's OnClose then receives an error for which
	// errors.Is(err, os.ErrDeadlineExceeded) holds and which, through errors.As,
	// satisfies interface{ Timeout() bool } with Timeout() true (so code that may not
	// import os can still tell a write-deadline close: the reference's "Slow Consumer
	// (Write Deadline)"). Conn.SetWriteDeadline overrides it per connection.
	WriteDeadline time.Duration
	// DialTimeout bounds Dial; zero means DefaultDialTimeout.
	DialTimeout time.Duration
}

// Network is env.Network over TCP sockets from package net.
//
// Each accepted or dialed connection has a writer goroutine from the start and a read
// goroutine from Conn.Start. Write copies into the pending queue (pooled chunks, see
// chunks.go) under a mutex and never blocks; Flush wakes the writer, which swaps the
// queue with an empty one and hands it to the socket in one writev, so steady traffic
// allocates nothing per write and costs one syscall per flush.
type Network struct {
	writeDeadline time.Duration
	dialTimeout   time.Duration
}

// NewNetwork returns a Network with the given options.
func NewNetwork(options NetworkOptions) *Network {
	network := &Network{writeDeadline: options.WriteDeadline, dialTimeout: options.DialTimeout}
	if network.writeDeadline == 0 {
		network.writeDeadline = DefaultWriteDeadline
	}
	if network.dialTimeout <= 0 {
		network.dialTimeout = DefaultDialTimeout
	}
	return network
}

// Listen binds a TCP listener on addr and accepts connections on its own goroutine,
// calling accept for each (sequentially, so accept should not block).
func (n *Network) Listen(addr string, accept func(env.Conn)) (env.Listener, error) {
	socket, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{socket: socket.(*net.TCPListener), network: n}
	go l.acceptLoop(accept)
	return l, nil
}

// Dial connects to addr on its own goroutine and calls done exactly once, from that
// goroutine, with the connection or the error.
func (n *Network) Dial(addr string, done func(env.Conn, error)) {
	go func() {
		dialer := net.Dialer{Timeout: n.dialTimeout}
		socket, err := dialer.Dial("tcp", addr)
		if err != nil {
			done(nil, err)
			return
		}
		done(n.newConn(socket.(*net.TCPConn)), nil)
	}()
}

// Listener is env.Listener over a *net.TCPListener.
type Listener struct {
	socket  *net.TCPListener
	network *Network
	closed  atomic.Bool
}

// Addr returns the bound address with the real port.
func (l *Listener) Addr() string { return l.socket.Addr().String() }

// Close stops accepting; connections already accepted stay open. A second Close
// returns env.ErrClosed.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return env.ErrClosed
	}
	return l.socket.Close()
}

func (l *Listener) acceptLoop(accept func(env.Conn)) {
	backoff := acceptBackoffMin
	for {
		socket, err := l.socket.AcceptTCP()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Running out of file descriptors or memory is transient: wait for
			// connections to close rather than spin or give up on the listener.
			time.Sleep(backoff)
			backoff = min(2*backoff, acceptBackoffMax)
			continue
		}
		backoff = acceptBackoffMin
		accept(l.network.newConn(socket))
	}
}

// connState is where a connection is in its life; it only moves forward.
type connState uint8

const (
	// connOpen: writes are accepted.
	connOpen connState = iota
	// connClosing: Close was called; the writer sends what is queued, then closes
	// the socket.
	connClosing
	// connDead: the socket is closed (or being closed); queued bytes are dropped.
	connDead
)

// Conn is env.Conn over a *net.TCPConn.
type Conn struct {
	socket *net.TCPConn
	// stream is what reads and writes go through: the socket, or the TLS connection
	// over it after StartTLS. It changes only while the writer is idle and before the
	// read goroutine starts, and is read by the writer under mu.
	stream net.Conn
	// prefix holds bytes StartTLS read to decide between TLS and plain text; the read
	// goroutine delivers them first. It is set before the read goroutine starts.
	prefix        []byte
	localAddress  string
	remoteAddress string
	handler       env.ConnHandler
	started       atomic.Bool
	// localClose is set by Close so that the reader stops delivering data the
	// handler no longer wants while the writer drains.
	localClose atomic.Bool
	// writeDeadline is the stall bound in nanoseconds; zero or less means none.
	writeDeadline atomic.Int64
	// readsPaused holds the reader between reads (PauseReads); resume (capacity
	// one) wakes it, and dead lets it leave when the connection ends meanwhile.
	readsPaused atomic.Bool
	resume      chan struct{}
	dead        atomic.Bool

	// wake carries at most one token: it is sent only when writerAwake turns true.
	wake chan struct{}

	mu sync.Mutex
	// queued holds the chunks written and not yet taken by the writer, and
	// queuedBytes their total length.
	queued      [][]byte
	queuedBytes int
	// spare is the (empty) chunk list the writer gave back after its last write,
	// reused as the next queue so that swapping allocates nothing.
	spare [][]byte
	// inFlight counts the bytes the writer is handing to the socket now.
	inFlight int
	// writerAwake is true from the moment the writer is woken until it finds nothing
	// left to send; while it is true Flush need not wake it again.
	writerAwake bool
	state       connState
	// reason is what OnClose reports; the first cause wins (reasonSet).
	reason    error
	reasonSet bool
	// drainTimer bounds Close's drain on a connection without a write deadline.
	drainTimer *time.Timer
	// upgrading is true while StartTLS owns the socket: the writer leaves the queue
	// alone (a Close drops it) and Flush does not wake it.
	upgrading bool
	// writerIdle, when set, is closed by the writer the next time it stops writing,
	// or by kill, so that StartTLS knows the socket is free.
	writerIdle chan struct{}
}

func (n *Network) newConn(socket *net.TCPConn) *Conn {
	// Go enables TCP_NODELAY by default; set it explicitly since latency of small
	// messages is what this server is measured on.
	_ = socket.SetNoDelay(true)
	c := &Conn{
		socket:        socket,
		stream:        socket,
		localAddress:  socket.LocalAddr().String(),
		remoteAddress: socket.RemoteAddr().String(),
		wake:          make(chan struct{}, 1),
		resume:        make(chan struct{}, 1),
	}
	c.writeDeadline.Store(int64(n.writeDeadline))
	go c.writeLoop()
	return c
}

// SetWriteDeadline sets how long one socket write of this connection may stall before
// the connection is closed (zero or less: no bound). It is not part of env.Conn: the
// server reaches it with a type assertion to interface{ SetWriteDeadline(time.Duration) }
// when a connection kind (route, gateway, leaf) has its own write_deadline.
func (c *Conn) SetWriteDeadline(d time.Duration) { c.writeDeadline.Store(int64(d)) }

// PauseReads stops the read goroutine before its next read, until ResumeReads: the
// kernel's receive buffer then fills and TCP flow control slows the peer down. It is
// the production half of the reference server's fast-producer stall (a publisher
// whose messages pile up in a subscriber's queue is read more slowly), reached with a
// type assertion to interface{ PauseReads(); ResumeReads() }; env.Conn does not have
// it yet. The OnData call in progress, if any, completes.
func (c *Conn) PauseReads() { c.readsPaused.Store(true) }

// ResumeReads lets a paused read goroutine read again.
func (c *Conn) ResumeReads() {
	c.readsPaused.Store(false)
	select {
	case c.resume <- struct{}{}:
	default:
	}
}

// Start begins delivering events to h from the connection's read goroutine. Only the
// first call has an effect.
func (c *Conn) Start(h env.ConnHandler) {
	if c.started.Swap(true) {
		return
	}
	c.handler = h
	go c.readLoop()
}

// Write appends b to the outgoing queue and never blocks. After Close, or once the
// connection has failed, it returns env.ErrClosed.
func (c *Conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.state != connOpen {
		c.mu.Unlock()
		return 0, env.ErrClosed
	}
	c.queued = appendChunks(c.queued, b)
	c.queuedBytes += len(b)
	c.mu.Unlock()
	return len(b), nil
}

// Flush wakes the writer if there is something to send and it is not already awake.
// It does not wait, and a Flush while the writer is busy costs one uncontended lock.
func (c *Conn) Flush() {
	c.mu.Lock()
	if c.writerAwake || c.queuedBytes == 0 || c.upgrading {
		c.mu.Unlock()
		return
	}
	c.writerAwake = true
	c.mu.Unlock()
	c.wake <- struct{}{}
}

// Pending returns the bytes queued and not yet accepted by the socket, including those
// of a write in progress (a write stalls when the peer does not read).
func (c *Conn) Pending() int {
	c.mu.Lock()
	pending := c.queuedBytes + c.inFlight
	c.mu.Unlock()
	return pending
}

// Close stops accepting writes and has the writer send what is queued (each write
// bounded by the write deadline; without one the whole drain is bounded by
// DefaultWriteDeadline) before it closes the socket; OnClose(nil) follows. Data read
// after Close is not delivered. A second Close returns env.ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.state != connOpen {
		c.mu.Unlock()
		return env.ErrClosed
	}
	c.state = connClosing
	c.setReasonLocked(nil)
	c.localClose.Store(true)
	if time.Duration(c.writeDeadline.Load()) <= 0 {
		// Without a write deadline a peer that never reads would keep the writer,
		// and so the socket, alive forever: bound the drain. Closing the socket
		// also ends a write already stalled.
		c.drainTimer = time.AfterFunc(closeDrainMax, func() { c.kill(nil) })
	}
	wake := !c.writerAwake
	c.writerAwake = true
	c.mu.Unlock()
	if wake {
		c.wake <- struct{}{}
	}
	return nil
}

// LocalAddr returns the local "host:port".
func (c *Conn) LocalAddr() string { return c.localAddress }

// RemoteAddr returns the peer's "host:port".
func (c *Conn) RemoteAddr() string { return c.remoteAddress }

// setReasonLocked records why the connection ends unless a reason is already known.
func (c *Conn) setReasonLocked(err error) {
	if !c.reasonSet {
		c.reason, c.reasonSet = err, true
	}
}

// kill marks the connection dead with err as the reason (unless one is known), drops
// what is queued and closes the socket, which ends the read goroutine and, through a
// wake-up, the writer.
func (c *Conn) kill(err error) {
	c.mu.Lock()
	if c.state == connDead {
		c.mu.Unlock()
		return
	}
	c.state = connDead
	c.dead.Store(true)
	c.setReasonLocked(err)
	c.queued = releaseChunks(c.queued)
	c.queuedBytes = 0
	if c.drainTimer != nil {
		c.drainTimer.Stop()
	}
	if c.writerIdle != nil {
		close(c.writerIdle)
		c.writerIdle = nil
	}
	// An idle writer is parked on wake: give it the token so that it sees the
	// connection dead and exits instead of leaking.
	wake := !c.writerAwake
	c.writerAwake = true
	c.mu.Unlock()
	if wake {
		c.wake <- struct{}{}
	}
	_ = c.socket.Close()
	// A reader held by PauseReads must see the end too.
	select {
	case c.resume <- struct{}{}:
	default:
	}
}

// writeLoop runs for the connection's whole life: each wake-up it sends everything
// queued, one swapped chunk list per writev, until nothing is left.
func (c *Conn) writeLoop() {
	// deadlineSet remembers whether the socket carries a write deadline, so that a
	// connection without one never pays for clearing it.
	deadlineSet := false
	// vectors is handed to writev; net.Buffers consumes its entries, so it is a
	// reusable copy of the chunk list.
	var vectors net.Buffers
	for range c.wake {
		for {
			c.mu.Lock()
			if c.state == connDead {
				c.mu.Unlock()
				return
			}
			if c.queuedBytes == 0 || c.upgrading {
				// While a TLS handshake owns the socket nothing queued may go out
				// in plain text; a Close then gives up on the queue.
				if c.state == connClosing {
					c.mu.Unlock()
					c.kill(nil)
					return
				}
				c.writerAwake = false
				if c.writerIdle != nil {
					// StartTLS waits for the socket to be free.
					close(c.writerIdle)
					c.writerIdle = nil
				}
				c.mu.Unlock()
				break
			}
			stream := c.stream
			chunks := c.queued
			c.queued, c.spare = c.spare, nil
			c.inFlight, c.queuedBytes = c.queuedBytes, 0
			c.mu.Unlock()

			vectors = append(vectors[:0], chunks...)
			err := c.writeVectors(stream, &vectors, &deadlineSet)
			clear(vectors[:cap(vectors)])
			chunks = releaseChunks(chunks)

			c.mu.Lock()
			c.inFlight = 0
			c.spare = chunks
			c.mu.Unlock()
			if err != nil {
				c.kill(err)
				return
			}
		}
	}
}

// writeVectors hands the chunks to the socket in one writev (more if the kernel takes
// them in parts) under the connection's write deadline.
func (c *Conn) writeVectors(stream net.Conn, vectors *net.Buffers, deadlineSet *bool) error {
	deadline := time.Duration(c.writeDeadline.Load())
	switch {
	case deadline > 0:
		_ = c.socket.SetWriteDeadline(time.Now().Add(deadline))
		*deadlineSet = true
	case *deadlineSet:
		_ = c.socket.SetWriteDeadline(time.Time{})
		*deadlineSet = false
	}
	_, err := vectors.WriteTo(stream)
	if err == nil {
		return nil
	}
	var netError net.Error
	if errors.As(err, &netError) && netError.Timeout() {
		return fmt.Errorf("osenv: write to %s stalled longer than the write deadline of %v: %w",
			c.remoteAddress, deadline, err)
	}
	return err
}

// readLoop delivers what the socket reads to the handler, then OnClose once.
func (c *Conn) readLoop() {
	buffer := make([]byte, readBufferStart)
	shortReads := 0
	var err error
	if len(c.prefix) > 0 && !c.localClose.Load() {
		c.handler.OnData(c.prefix)
	}
	c.prefix = nil
	for {
		var n int
		n, err = c.stream.Read(buffer)
		if n > 0 && !c.localClose.Load() {
			c.handler.OnData(buffer[:n])
		}
		if err != nil {
			break
		}
		for c.readsPaused.Load() && !c.dead.Load() {
			<-c.resume
		}
		switch {
		case n == len(buffer) && len(buffer) < readBufferMax:
			buffer = make([]byte, 2*len(buffer))
			shortReads = 0
		case n < len(buffer)/4 && len(buffer) > readBufferMin:
			shortReads++
			if shortReads >= readShortReadsMax {
				buffer = make([]byte, len(buffer)/2)
				shortReads = 0
			}
		default:
			shortReads = 0
		}
	}
	// The peer closing (io.EOF), a reset, or our own side closing the socket all end
	// here; the first recorded cause is what the handler hears.
	c.kill(err)
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	c.handler.OnClose(reason)
}

var (
	_ env.Conn     = (*Conn)(nil)
	_ env.Listener = (*Listener)(nil)
)
