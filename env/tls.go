package env

import (
	"crypto/tls"
	"time"
)

// TLSStarter is an optional capability of a Conn: upgrading the byte stream to TLS.
// The production network (env/osenv) offers it; the simulated network does not, so a
// server that needs TLS finds out with a type assertion and refuses the connection
// when the assertion fails.
//
// The handshake draws its randomness from config.Rand, or from crypto/rand when that
// is nil; only the production implementation may do the latter.
type TLSStarter interface {
	// StartTLS runs a TLS handshake on the connection, as the server side when
	// options.Server is set, and calls done exactly once, from another goroutine,
	// when it is over. It must be called before Conn.Start, after the bytes that are
	// to go out in plain text have been written (they are sent first); bytes written
	// while the handshake runs are held back until it is over.
	//
	// On success every later read and write goes through TLS and done receives the
	// negotiated state. On failure the connection stays open in plain text, so that
	// the caller may still send a plain-text error before closing it; done then
	// receives a nil state and the error. With options.Optional the peer may also
	// decline TLS: done then receives a nil state and a nil error, and the bytes read
	// to find out are delivered first once the connection is started.
	StartTLS(config *tls.Config, options TLSOptions, done func(state *tls.ConnectionState, err error))
}

// TLSOptions shapes one StartTLS call.
type TLSOptions struct {
	// Server selects the server side of the handshake (the client side otherwise).
	Server bool
	// Timeout bounds the handshake; zero or less means no bound. A handshake that
	// runs out of time fails with an error satisfying interface{ Timeout() bool }.
	Timeout time.Duration
	// Optional lets the peer choose: the first byte it sends decides, a TLS handshake
	// record (0x16) starting the handshake and anything else keeping plain text.
	Optional bool
	// DecideWait bounds how long Optional waits for the first byte; when nothing
	// arrives in time the connection stays plain text. Zero means Timeout.
	DecideWait time.Duration
}

// TLSRecordTypeHandshake is the first byte of a TLS ClientHello: the content type of
// a handshake record.
const TLSRecordTypeHandshake = 0x16
