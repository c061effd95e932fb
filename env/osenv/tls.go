package osenv

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/natsim/natsim/env"
)

// StartTLS upgrades the connection to TLS (env.TLSStarter). On its own goroutine it
// waits for a write in progress to end, sends what was queued when it was called (the
// plain-text INFO, typically), then runs the handshake over the socket with
// crypto/tls, which draws its randomness from crypto/rand unless config.Rand is set:
// this package is the one place allowed to. It must be called before Start.
func (c *Conn) StartTLS(config *tls.Config, options env.TLSOptions, done func(*tls.ConnectionState, error)) {
	c.mu.Lock()
	if c.state != connOpen || c.upgrading || c.started.Load() {
		c.mu.Unlock()
		go done(nil, errors.New("osenv: StartTLS on a closed, started or upgrading connection"))
		return
	}
	// What is queued now goes out in plain text, sent by the handshake goroutine
	// itself; what is written from now on waits for the handshake.
	c.upgrading = true
	plain := c.queued
	c.queued, c.queuedBytes = nil, 0
	idle := make(chan struct{})
	if c.writerAwake {
		c.writerIdle = idle
	} else {
		close(idle)
	}
	c.mu.Unlock()
	go func() {
		<-idle
		var state *tls.ConnectionState
		err := c.writePlain(plain)
		if err == nil {
			state, err = c.upgrade(config, options)
		}
		c.mu.Lock()
		c.upgrading = false
		// Bytes written during the handshake go out now, through TLS if it worked.
		wake := c.state != connDead && c.queuedBytes > 0 && !c.writerAwake
		if wake {
			c.writerAwake = true
		}
		c.mu.Unlock()
		if wake {
			c.wake <- struct{}{}
		}
		done(state, err)
	}()
}

// writePlain sends the chunks queued before StartTLS, under the write deadline.
func (c *Conn) writePlain(chunks [][]byte) error {
	defer releaseChunks(chunks)
	if len(chunks) == 0 {
		return nil
	}
	if c.dead.Load() {
		return env.ErrClosed
	}
	vectors := net.Buffers(append([][]byte(nil), chunks...))
	deadlineSet := false
	if err := c.writeVectors(c.socket, &vectors, &deadlineSet); err != nil {
		c.kill(err)
		return err
	}
	if deadlineSet {
		_ = c.socket.SetWriteDeadline(time.Time{})
	}
	return nil
}

// upgrade decides between TLS and plain text when the options allow either, then runs
// the handshake. It is called with the writer idle and the reader not started, so it
// alone uses the socket.
func (c *Conn) upgrade(config *tls.Config, options env.TLSOptions) (*tls.ConnectionState, error) {
	if c.dead.Load() {
		return nil, env.ErrClosed
	}
	if options.Optional && len(c.prefix) == 0 {
		wait := options.DecideWait
		if wait <= 0 {
			wait = options.Timeout
		}
		if wait > 0 {
			_ = c.socket.SetReadDeadline(time.Now().Add(wait))
		}
		first := make([]byte, 1)
		n, _ := c.socket.Read(first)
		_ = c.socket.SetReadDeadline(time.Time{})
		// Nothing in time (or the peer left, which the reader will find out): plain
		// text, as the reference decides.
		c.prefix = first[:n]
	}
	if options.Optional && (len(c.prefix) == 0 || c.prefix[0] != env.TLSRecordTypeHandshake) {
		return nil, nil
	}
	raw := &replayConn{TCPConn: c.socket, replay: c.prefix}
	c.prefix = nil
	var conn *tls.Conn
	if options.Server {
		conn = tls.Server(raw, config)
	} else {
		conn = tls.Client(raw, config)
	}
	if options.Timeout > 0 {
		// A socket deadline, rather than a context, makes the error a net timeout
		// that callers can tell from the others; clearing it afterwards leaves the
		// socket usable for a plain-text answer.
		_ = c.socket.SetDeadline(time.Now().Add(options.Timeout))
	}
	err := conn.Handshake()
	_ = c.socket.SetDeadline(time.Time{})
	if err != nil {
		return nil, err
	}
	state := conn.ConnectionState()
	c.mu.Lock()
	c.stream = conn
	c.mu.Unlock()
	return &state, nil
}

// replayConn is the socket with bytes already read put back in front, so that a
// handshake sees the first byte that was read to decide on TLS.
type replayConn struct {
	*net.TCPConn
	replay []byte
}

// Read returns the replayed bytes first, then reads the socket.
func (r *replayConn) Read(p []byte) (int, error) {
	if len(r.replay) > 0 {
		n := copy(p, r.replay)
		r.replay = r.replay[n:]
		return n, nil
	}
	return r.TCPConn.Read(p)
}

var (
	_ net.Conn       = (*replayConn)(nil)
	_ env.TLSStarter = (*Conn)(nil)
)
