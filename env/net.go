package env

// Network opens listeners and connections. Reads are delivered to handlers; writes are
// non-blocking enqueues, sent when Flush is called.
type Network interface {
	// Listen starts accepting connections on addr ("host:port"; port 0 picks a free
	// one). accept is called for each new connection, which delivers nothing until
	// Conn.Start is called.
	Listen(addr string, accept func(Conn)) (Listener, error)
	// Dial connects to addr without blocking; done is called exactly once with the
	// connection or an error. The connection delivers nothing until Conn.Start.
	Dial(addr string, done func(Conn, error))
}

// Listener accepts connections until closed.
type Listener interface {
	// Addr returns the address the listener is bound to, with the real port.
	Addr() string
	// Close stops accepting. Connections already accepted stay open.
	Close() error
}

// ConnHandler receives a connection's events. For one connection the calls never
// overlap and arrive in stream order; OnClose is the last call.
type ConnHandler interface {
	// OnData is called with the next bytes read. b is only valid during the call; the
	// handler copies what it keeps.
	OnData(b []byte)
	// OnClose is called once when the connection ends, with the reason (nil for a
	// local Close).
	OnClose(err error)
}

// Conn is a bidirectional ordered byte stream.
type Conn interface {
	// Start begins delivering events to h. It is called once.
	Start(h ConnHandler)
	// Write appends b to the outgoing queue (b is copied) and never blocks. After the
	// connection is closed it returns ErrClosed.
	Write(b []byte) (n int, err error)
	// Flush asks for the queued bytes to be sent; it does not wait for them.
	Flush()
	// Pending returns the bytes queued and not yet handed to the network: the measure
	// for slow consumer detection.
	Pending() int
	// Close ends the connection after trying to send what is queued; the handler's
	// OnClose follows.
	Close() error
	// LocalAddr and RemoteAddr are "host:port".
	LocalAddr() string
	RemoteAddr() string
}
