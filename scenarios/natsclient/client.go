package natsclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/client"
)

// Errors the client reports through callbacks and return values.
var (
	// ErrNotConnected: the operation needs a connection and there is none right now.
	ErrNotConnected = errors.New("natsclient: not connected")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("natsclient: client closed")
	// ErrDisconnected: the connection ended before the server answered.
	ErrDisconnected = errors.New("natsclient: disconnected")
	// ErrTimeout: a request got no reply in time.
	ErrTimeout = errors.New("natsclient: timeout")
	// ErrNoResponders: a request's subject had no subscriber (status 503).
	ErrNoResponders = errors.New("natsclient: no responders available for request")
	// ErrBadSubscription: the subscription is closed or its arguments are invalid.
	ErrBadSubscription = errors.New("natsclient: invalid subscription")
	// ErrOutboundFull: the connection's unsent bytes passed Options.PendingBytesMax.
	ErrOutboundFull = errors.New("natsclient: outbound buffer full")
)

// Bounds on the client's own bookkeeping.
const (
	// pingsOutMax bounds the PINGs awaiting a PONG; past it the connection is treated
	// as stale and closed.
	pingsOutMax = 1024
	// requestsMax bounds the requests awaiting a reply.
	requestsMax = 4096
	// inboxTokenBytes is the length of the random inbox prefix token.
	inboxTokenBytes = 22
)

// Options configure a Client. Zero durations take the defaults noted.
type Options struct {
	// Address is the server's "host:port".
	Address string
	// Name, User and Password go into CONNECT.
	Name     string
	User     string
	Password string
	// NoEcho asks the server not to deliver the client's own messages to it.
	NoEcho bool
	// Headers enables HPUB/HMSG; NoResponders (which needs Headers) asks for a 503
	// reply to a request without subscribers.
	Headers      bool
	NoResponders bool
	// ReconnectWaitMin is the first reconnection backoff (default 20ms); each failed
	// attempt doubles it up to ReconnectWaitMax (default 1s). A random jitter of up to
	// half the wait is added.
	ReconnectWaitMin time.Duration
	ReconnectWaitMax time.Duration
	// NoReconnect leaves the client disconnected after a connection ends.
	NoReconnect bool
	// PendingBytesMax bounds the bytes queued on the connection and not yet sent
	// (default 1 MiB); publishing past it fails with ErrOutboundFull.
	PendingBytesMax int
}

// Handlers are the client's event callbacks; any may be nil.
type Handlers struct {
	// Connected is called when a connection's handshake (INFO, CONNECT, PING, PONG)
	// completes, with the connection's number (1 for the first one).
	Connected func(connection uint64)
	// Disconnected is called when an established or pending connection ends.
	Disconnected func(connection uint64, err error)
	// Error is called with each -ERR's text.
	Error func(text string)
}

// Msg is a message delivered to a subscription. Its slices belong to the receiver.
type Msg struct {
	Subject string
	Reply   string
	// Header is the raw header block of an HMSG (nil for MSG).
	Header []byte
	Data   []byte
	// Sub is the subscription the message arrived on.
	Sub *Subscription
}

// Subscription is one SUB; it survives reconnections (the client subscribes again).
type Subscription struct {
	client  *Client
	sid     uint64
	Subject string
	Queue   string
	handler func(*Msg)
	// max is the delivery limit (0: none); delivered counts deliveries.
	max       uint64
	delivered uint64
	// excess counts messages the server sent past max: a server bug.
	excess uint64
	closed bool
}

// SID returns the subscription's id on the wire.
func (s *Subscription) SID() uint64 { return s.sid }

// Delivered returns how many messages were handed to the handler.
func (s *Subscription) Delivered() uint64 { return s.delivered }

// Excess returns how many messages arrived after the auto-unsubscribe limit.
func (s *Subscription) Excess() uint64 { return s.excess }

// Closed reports whether the subscription ended (Unsubscribe, or its limit reached).
func (s *Subscription) Closed() bool { return s.closed }

// Unsubscribe ends the subscription now.
func (s *Subscription) Unsubscribe() error {
	if s.closed {
		return ErrBadSubscription
	}
	c := s.client
	s.closed = true
	delete(c.subscriptions, s.sid)
	if c.writable() {
		c.write(client.AppendUnsub(nil, []byte(strconv.FormatUint(s.sid, 10)), -1))
	}
	return nil
}

// AutoUnsubscribe ends the subscription after max deliveries in total (counting those
// already made).
func (s *Subscription) AutoUnsubscribe(max uint64) error {
	if s.closed || max == 0 {
		return ErrBadSubscription
	}
	s.max = max
	if s.delivered >= max {
		s.finish()
		return nil
	}
	if c := s.client; c.writable() {
		c.write(client.AppendUnsub(nil, []byte(strconv.FormatUint(s.sid, 10)), int64(max-s.delivered)))
	}
	return nil
}

// finish ends a subscription whose limit is reached; later messages count as excess.
func (s *Subscription) finish() {
	s.closed = true
	c := s.client
	delete(c.subscriptions, s.sid)
	c.finished[s.sid] = s
}

type connectionState uint8

const (
	stateDisconnected connectionState = iota
	// stateDialing: a dial is in flight.
	stateDialing
	// stateAwaitingInfo: the connection is up, the server's INFO has not arrived.
	stateAwaitingInfo
	// stateConnected: CONNECT was sent; operations may be written.
	stateConnected
	stateClosedForGood
)

// request is a request awaiting its reply.
type request struct {
	done  func(*Msg, error)
	timer env.Timer
}

// Client is one logical NATS connection that reconnects by itself. All its methods
// and callbacks run on the caller's event loop (the simulator's single goroutine); it
// takes no locks.
type Client struct {
	env      env.Env
	options  Options
	handlers Handlers

	state connectionState
	conn  env.Conn
	// connection numbers the connections (1 for the first); callbacks of an older one
	// are ignored.
	connection uint64
	// handshaken: the current connection's first PONG arrived.
	handshaken bool
	parser     Parser
	info       client.Info
	// pings holds, in order, what to do when each outstanding PONG arrives.
	pings []func(error)

	subscriptions map[uint64]*Subscription
	// finished keeps subscriptions ended by their limit, to count excess deliveries.
	finished map[uint64]*Subscription
	nextSID  uint64

	inboxPrefix  string
	responses    *Subscription
	requests     map[string]*request
	nextRequest  uint64
	attempts     int
	reconnecting env.Timer

	// Statistics for checkers and tests.
	unknownSIDMessages uint64
}

// New builds a client; it does nothing until Connect.
func New(e env.Env, options Options, handlers Handlers) *Client {
	if options.ReconnectWaitMin <= 0 {
		options.ReconnectWaitMin = 20 * time.Millisecond
	}
	if options.ReconnectWaitMax < options.ReconnectWaitMin {
		options.ReconnectWaitMax = max(time.Second, options.ReconnectWaitMin)
	}
	if options.PendingBytesMax <= 0 {
		options.PendingBytesMax = 1 << 20
	}
	return &Client{
		env:           e,
		options:       options,
		handlers:      handlers,
		subscriptions: map[uint64]*Subscription{},
		finished:      map[uint64]*Subscription{},
		requests:      map[string]*request{},
	}
}

// Connect starts the first dial. The result arrives through Handlers.Connected or
// Handlers.Disconnected; after a failure the client keeps trying unless NoReconnect.
func (c *Client) Connect() {
	if c.state == stateDisconnected {
		c.dial()
	}
}

// Connected reports whether operations can be written now (CONNECT was sent).
func (c *Client) Connected() bool { return c.state == stateConnected }

// Connection returns the current connection's number (0 before the first).
func (c *Client) Connection() uint64 { return c.connection }

// ServerInfo returns the last INFO the server sent.
func (c *Client) ServerInfo() client.Info { return c.info }

// UnknownSIDMessages counts messages for subscriptions the client does not know
// (unsubscribed ones whose messages were in flight, or a server bug).
func (c *Client) UnknownSIDMessages() uint64 { return c.unknownSIDMessages }

// Close ends the client for good: the connection closes, pending requests and PINGs
// fail with ErrClosed, nothing reconnects.
func (c *Client) Close() {
	if c.state == stateClosedForGood {
		return
	}
	conn := c.conn
	c.state = stateClosedForGood
	c.conn = nil
	if c.reconnecting != nil {
		c.reconnecting.Stop()
	}
	c.failPings(ErrClosed)
	for _, token := range sortedKeys(c.requests) {
		r := c.requests[token]
		delete(c.requests, token)
		r.timer.Stop()
		r.done(nil, ErrClosed)
	}
	if conn != nil {
		conn.Close()
	}
}

func (c *Client) dial() {
	c.state = stateDialing
	c.env.Net.Dial(c.options.Address, func(conn env.Conn, err error) {
		if c.state != stateDialing {
			if conn != nil {
				conn.Close()
			}
			return
		}
		c.connection++
		if err != nil {
			c.state = stateDisconnected
			c.lost(err)
			return
		}
		c.conn = conn
		c.state = stateAwaitingInfo
		c.handshaken = false
		c.parser = Parser{}
		conn.Start(&connHandler{client: c, connection: c.connection})
	})
}

// lost reports a connection's end and schedules the next attempt.
func (c *Client) lost(err error) {
	if c.handlers.Disconnected != nil {
		c.handlers.Disconnected(c.connection, err)
	}
	if c.options.NoReconnect || c.state == stateClosedForGood {
		return
	}
	wait := c.options.ReconnectWaitMin << min(c.attempts, 16)
	if wait > c.options.ReconnectWaitMax || wait <= 0 {
		wait = c.options.ReconnectWaitMax
	}
	wait += time.Duration(c.env.Rand.Int63n(int64(wait)/2 + 1))
	c.attempts++
	c.reconnecting = c.env.Clock.AfterFunc(wait, func() {
		if c.state == stateDisconnected {
			c.dial()
		}
	})
}

// connHandler routes one connection's events to the client, ignoring those of a
// connection the client has moved on from.
type connHandler struct {
	client     *Client
	connection uint64
}

func (h *connHandler) current() bool {
	c := h.client
	return c.connection == h.connection && (c.state == stateAwaitingInfo || c.state == stateConnected)
}

// OnData feeds the parser; a protocol error closes the connection.
func (h *connHandler) OnData(b []byte) {
	if !h.current() {
		return
	}
	c := h.client
	if err := c.parser.Parse(b, c); err != nil && h.current() {
		c.conn.Close()
	}
	if h.current() {
		c.conn.Flush()
	}
}

// OnClose fails what waited on the connection and reconnects.
func (h *connHandler) OnClose(err error) {
	if !h.current() {
		return
	}
	c := h.client
	c.conn = nil
	c.state = stateDisconnected
	c.failPings(ErrDisconnected)
	if err == nil {
		err = ErrDisconnected
	}
	c.lost(err)
}

func (c *Client) failPings(err error) {
	pings := c.pings
	c.pings = nil
	for _, done := range pings {
		done(err)
	}
}

func (c *Client) writable() bool { return c.state == stateConnected && c.conn != nil }

// write queues b on the connection and flushes it.
func (c *Client) write(b []byte) {
	_, _ = c.conn.Write(b)
	c.conn.Flush()
}

// Info handles the server's INFO: the first one starts the handshake.
func (c *Client) Info(infoJSON []byte) {
	var info client.Info
	if err := json.Unmarshal(infoJSON, &info); err != nil {
		c.conn.Close()
		return
	}
	c.info = info
	if c.state != stateAwaitingInfo {
		return
	}
	connect := client.ConnectOptions{
		Echo:         !c.options.NoEcho,
		Username:     c.options.User,
		Password:     c.options.Password,
		Name:         c.options.Name,
		Lang:         "go-sim",
		Version:      "0.1.0",
		Protocol:     1,
		Headers:      c.options.Headers,
		NoResponders: c.options.NoResponders && c.options.Headers,
	}
	encoded, err := json.Marshal(connect)
	if err != nil {
		c.conn.Close()
		return
	}
	out := client.AppendConnect(nil, encoded)
	for _, sid := range sortedKeys(c.subscriptions) {
		out = c.appendSubscribe(out, c.subscriptions[sid])
	}
	out = append(out, "PING\r\n"...)
	c.state = stateConnected
	c.pings = append(c.pings, c.handshakeDone(c.connection))
	c.write(out)
}

// handshakeDone is what the handshake's PONG does.
func (c *Client) handshakeDone(connection uint64) func(error) {
	return func(err error) {
		if err != nil || c.connection != connection {
			return
		}
		c.handshaken = true
		c.attempts = 0
		if c.handlers.Connected != nil {
			c.handlers.Connected(connection)
		}
	}
}

// appendSubscribe appends a SUB and, for a limited subscription, the UNSUB with what
// is left of its limit.
func (c *Client) appendSubscribe(out []byte, s *Subscription) []byte {
	sid := []byte(strconv.FormatUint(s.sid, 10))
	out = client.AppendSub(out, []byte(s.Subject), []byte(s.Queue), sid)
	if s.max > 0 {
		out = client.AppendUnsub(out, sid, int64(s.max-s.delivered))
	}
	return out
}

// Msg delivers a MSG or HMSG to its subscription.
func (c *Client) Msg(subject, sid, reply, header, payload []byte) {
	id, err := strconv.ParseUint(string(sid), 10, 64)
	s := c.subscriptions[id]
	if err != nil || s == nil {
		if finished := c.finished[id]; finished != nil {
			finished.excess++
		} else {
			c.unknownSIDMessages++
		}
		return
	}
	m := &Msg{Subject: string(subject), Reply: string(reply), Data: append([]byte(nil), payload...), Sub: s}
	if header != nil {
		m.Header = append([]byte{}, header...)
	}
	s.delivered++
	if s.max > 0 && s.delivered >= s.max {
		s.finish()
	}
	s.handler(m)
}

// Ping answers the server's PING.
func (c *Client) Ping() {
	if c.conn != nil {
		_, _ = c.conn.Write(client.PongOp)
	}
}

// Pong completes the oldest outstanding PING.
func (c *Client) Pong() {
	if len(c.pings) == 0 {
		return
	}
	done := c.pings[0]
	c.pings[0] = nil
	c.pings = c.pings[1:]
	done(nil)
}

// OK ignores +OK: the client never asks for verbose mode.
func (c *Client) OK() {}

// Err reports -ERR; the server closes the connection after the fatal ones.
func (c *Client) Err(text string) {
	if c.handlers.Error != nil {
		c.handlers.Error(text)
	}
}

// Flush sends a PING and calls done when its PONG arrives (nil: everything written
// before it was processed by the server) or the connection ends first.
func (c *Client) Flush(done func(error)) error {
	if !c.writable() {
		return ErrNotConnected
	}
	if len(c.pings) >= pingsOutMax {
		c.conn.Close()
		return ErrDisconnected
	}
	c.pings = append(c.pings, done)
	c.write([]byte("PING\r\n"))
	return nil
}

// Subscribe subscribes handler to subject; the subscription is sent now when
// connected, and on every (re)connection until it ends.
func (c *Client) Subscribe(subject string, handler func(*Msg)) (*Subscription, error) {
	return c.QueueSubscribe(subject, "", handler)
}

// QueueSubscribe subscribes handler to subject in a queue group (queue "" for none).
func (c *Client) QueueSubscribe(subject, queue string, handler func(*Msg)) (*Subscription, error) {
	if c.state == stateClosedForGood {
		return nil, ErrClosed
	}
	if subject == "" || handler == nil {
		return nil, ErrBadSubscription
	}
	c.nextSID++
	s := &Subscription{client: c, sid: c.nextSID, Subject: subject, Queue: queue, handler: handler}
	c.subscriptions[s.sid] = s
	if c.writable() {
		c.write(c.appendSubscribe(nil, s))
	}
	return s, nil
}

// Publish sends payload to subject.
func (c *Client) Publish(subject string, payload []byte) error {
	return c.PublishMsg(&Msg{Subject: subject, Data: payload})
}

// PublishMsg sends m (PUB, or HPUB when it has a header block).
func (c *Client) PublishMsg(m *Msg) error {
	if c.state == stateClosedForGood {
		return ErrClosed
	}
	if !c.writable() {
		return ErrNotConnected
	}
	if c.conn.Pending() > c.options.PendingBytesMax {
		return ErrOutboundFull
	}
	if m.Header == nil {
		c.write(client.AppendPub(nil, []byte(m.Subject), []byte(m.Reply), m.Data))
		return nil
	}
	c.write(appendHPub(nil, m))
	return nil
}

// appendHPub appends `HPUB <subject> [reply] <header size> <total size>\r\n<header><body>\r\n`.
func appendHPub(dst []byte, m *Msg) []byte {
	dst = append(dst, "HPUB "...)
	dst = append(dst, m.Subject...)
	dst = append(dst, ' ')
	if m.Reply != "" {
		dst = append(dst, m.Reply...)
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(len(m.Header)), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(m.Header)+len(m.Data)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, m.Header...)
	dst = append(dst, m.Data...)
	return append(dst, "\r\n"...)
}

// Request publishes payload to subject with a unique reply subject and calls done
// once: with the first reply, ErrNoResponders, or ErrTimeout after timeout (on the
// client's clock). A request survives a reconnection as long as its timer runs.
func (c *Client) Request(subject string, payload []byte, timeout time.Duration, done func(*Msg, error)) error {
	if len(c.requests) >= requestsMax {
		return ErrOutboundFull
	}
	if c.responses == nil {
		c.inboxPrefix = "_INBOX." + c.randomToken() + "."
		responses, err := c.Subscribe(c.inboxPrefix+"*", c.response)
		if err != nil {
			return err
		}
		c.responses = responses
	}
	c.nextRequest++
	token := strconv.FormatUint(c.nextRequest, 10)
	if err := c.PublishMsg(&Msg{Subject: subject, Reply: c.inboxPrefix + token, Data: payload}); err != nil {
		return err
	}
	r := &request{done: done}
	r.timer = c.env.Clock.AfterFunc(timeout, func() {
		if c.requests[token] == r {
			delete(c.requests, token)
			done(nil, ErrTimeout)
		}
	})
	c.requests[token] = r
	return nil
}

// response completes the request a reply subject names.
func (c *Client) response(m *Msg) {
	token := m.Subject[len(c.inboxPrefix):]
	r := c.requests[token]
	if r == nil {
		return
	}
	delete(c.requests, token)
	r.timer.Stop()
	if len(m.Data) == 0 && HeaderStatus(m.Header) == "503" {
		r.done(nil, ErrNoResponders)
		return
	}
	r.done(m, nil)
}

// randomToken draws an inbox token from the environment's randomness.
func (c *Client) randomToken() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	token := make([]byte, inboxTokenBytes)
	for i := range token {
		token[i] = alphabet[c.env.Rand.Intn(len(alphabet))]
	}
	return string(token)
}

// String describes the client for failure messages.
func (c *Client) String() string {
	return fmt.Sprintf("client %q connection %d", c.options.Name, c.connection)
}

// sortedKeys returns a map's keys in order, so that nothing observable depends on map
// iteration order.
func sortedKeys[K int | uint64 | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
