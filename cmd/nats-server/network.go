package main

import (
	"crypto/tls"
	"errors"
	"time"

	"github.com/natsim/natsim/env"
)

// stallingNetwork wraps the production network so that its connections offer
// node.PendingWaiter: a publisher whose subscriber falls behind is held back for a
// few milliseconds (the reference's fast-producer stall) instead of the backlog
// growing until the subscriber is cut off. The waiting belongs here, in cmd/, because
// node/ may not sleep.
type stallingNetwork struct {
	env.Network
}

// Listen wraps each accepted connection.
func (n stallingNetwork) Listen(addr string, accept func(env.Conn)) (env.Listener, error) {
	return n.Network.Listen(addr, func(conn env.Conn) { accept(&stallingConn{Conn: conn}) })
}

// Dial wraps the dialed connection.
func (n stallingNetwork) Dial(addr string, done func(env.Conn, error)) {
	n.Network.Dial(addr, func(conn env.Conn, err error) {
		if conn != nil {
			conn = &stallingConn{Conn: conn}
		}
		done(conn, err)
	})
}

// stallingConn is an env.Conn with WaitPending.
type stallingConn struct {
	env.Conn
}

// stallPollMax bounds the pause between two looks at the pending bytes.
const stallPollMax = time.Millisecond

// WaitPending polls Pending, with growing pauses, until it is at most limit or timeout
// has passed.
func (c *stallingConn) WaitPending(limit int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	pause := 50 * time.Microsecond
	for c.Pending() > limit && time.Now().Before(deadline) {
		time.Sleep(pause)
		if pause < stallPollMax {
			pause *= 2
		}
	}
}

// StartTLS hands the TLS upgrade (env.TLSStarter) to the wrapped connection.
func (c *stallingConn) StartTLS(config *tls.Config, options env.TLSOptions, done func(*tls.ConnectionState, error)) {
	starter, ok := c.Conn.(env.TLSStarter)
	if !ok {
		go done(nil, errors.New("nats-server: this connection cannot upgrade to TLS"))
		return
	}
	starter.StartTLS(config, options, done)
}

var _ env.TLSStarter = (*stallingConn)(nil)
