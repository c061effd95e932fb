package node

import (
	"cmp"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/jwt/v2"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
)

// Close reasons, with the reference's texts (they show in /connz as "reason").
const (
	reasonClientClosed          = "Client Closed"
	reasonAuthenticationTimeout = "Authentication Timeout"
	reasonAuthenticationFailure = "Authentication Failure"
	reasonSlowConsumerPending   = "Slow Consumer (Pending Bytes)"
	reasonSlowConsumerDeadline  = "Slow Consumer (Write Deadline)"
	reasonReadError             = "Read Error"
	reasonStaleConnection       = "Stale Connection"
	reasonProtocolViolation     = "Protocol Violation"
	reasonBadProtocolVersion    = "Bad Client Protocol Version"
	reasonMaxConnections        = "Maximum Connections Exceeded"
	reasonMaxAccountConnections = "Maximum Account Connections Exceeded"
	reasonMaxPayload            = "Maximum Message Payload Exceeded"
	reasonMaxControlLine        = "Maximum Control Line Exceeded"
	reasonServerShutdown        = "Server Shutdown"
	reasonNoRespondersHeaders   = "No Responders Requires Headers"
	reasonParseError            = "Parse Error"
)

// outWriteBytes is the size at which a connection's coalesced output is handed to the
// network before the end of the read batch, so one batch cannot grow it without bound.
const outWriteBytes = 64 * 1024

// outKeptBytesMax bounds the output buffer a connection keeps for reuse after a flush.
const outKeptBytesMax = 256 * 1024

// rejectLinger is how long a connection refused for max_connections waits for the
// client's first bytes before it is closed anyway.
const rejectLinger = 2 * time.Second

// permissionCacheMax bounds a connection's cache of publish permission decisions.
const permissionCacheMax = 256

// errConnectionClosed stops the parser after the handler closed the connection.
var errConnectionClosed = errors.New("node: connection closed")

// clientConn is one client connection. Fields marked "reader" are used only by the
// connection's own OnData calls, which never overlap; the others are guarded by mu,
// because publishers on other connections write into out, and timers and monitoring
// read the state.
type clientConn struct {
	server *Server
	conn   env.Conn
	id     uint64
	start  time.Time
	host   string
	port   int

	// reader
	parser          *client.Parser
	pendingFlush    flushSet
	permissionCache map[string]bool
	// publisher is the reading side's copy of user, for the publish checks; a reload
	// changes user under mu and has the reader refresh this copy.
	publisher *authUser

	// parserLimits and permissionCacheReset carry a reload's changes to the reading
	// side, which applies them before its next read.
	parserLimits         atomic.Pointer[client.Limits]
	permissionCacheReset atomic.Bool

	mu              sync.Mutex
	out             []byte
	flushQueued     bool
	closed          bool
	connectReceived bool
	firstPongSent   bool
	rejected        bool
	options         client.ConnectOptions
	headers         bool
	account         *Account
	user            *authUser
	nonce           string
	subs            map[string]*subscription
	pingsOut        int
	// pingSent is when the last keepalive PING went out; rtt is the round trip its
	// PONG measured (zero until one has).
	pingSent     time.Time
	rtt          time.Duration
	pingTimer    env.Timer
	authTimer    env.Timer
	lastActivity time.Time
	lastIn       time.Time
	stopTime     time.Time
	closeReason  string
	// pendingMax is max_pending; atomic because reloads change it while publishers
	// read it.
	pendingMax atomic.Int64
	// responseGrants are reply subjects this client may publish to under
	// allow_responses, with how many publishes remain.
	responseGrants map[string]*responseGrant
	// tlsState is the negotiated TLS of a secured connection (nil in plain text);
	// tlsFirst tells that the handshake came before INFO.
	tlsState *tls.ConnectionState
	tlsFirst bool

	inMsgs, inBytes, outMsgs, outBytes int64
}

// responseGrant is an allow_responses permission for one reply subject.
type responseGrant struct {
	remaining int
	expires   time.Time
}

// internalHandler receives messages for a server-internal subscription, on the
// publisher's read path; it may publish through publisher.route with set. The
// publication is passed by value so that the publish hot path's one does not escape
// to the heap through this indirect call.
type internalHandler func(publisher *clientConn, pub publication, set *flushSet)

// subscription is one SUB of one connection, or a server-internal subscription (client
// nil, internal set).
type subscription struct {
	internal internalHandler
	client   *clientConn
	subject  string
	queue    string
	sid      []byte
	// max and delivered are guarded by client.mu.
	max       int64
	delivered int64
}

func newClientConn(s *Server, conn env.Conn, id uint64, o *opts.Options) *clientConn {
	now := s.env.Clock.Now()
	c := &clientConn{
		server:       s,
		conn:         conn,
		id:           id,
		start:        now,
		lastActivity: now,
		lastIn:       now,
		options:      client.DefaultConnectOptions(),
		subs:         make(map[string]*subscription),
		parser: client.NewParser(client.Limits{
			ControlLineBytesMax: int(o.MaxControlLine),
			PayloadBytesMax:     int(o.MaxPayload),
		}),
	}
	c.host, c.port, _ = splitHostPort(conn.RemoteAddr())
	c.pendingMax.Store(o.MaxPending)
	return c
}

// begin sends INFO, runs the TLS handshake when the server has TLS, arms the timers,
// and starts reading; tooMany rejects the connection right after INFO, as the
// reference does.
func (c *clientConn) begin(tooMany bool) {
	s := c.server
	s.mu.Lock()
	auth := s.authForLocked(c.conn)
	info := s.baseInfoLocked()
	var nonce string
	if auth.sendsNonce() {
		nonce = s.newNonceLocked()
		info.Nonce = nonce
	}
	secure := s.clientTLSLocked()
	s.mu.Unlock()
	if websocketClientInfo(c.conn, &info) {
		// A websocket client's TLS, if any, came before the HTTP upgrade.
		secure = nil
	}
	info.ClientID = c.id
	info.ClientIP = c.host
	rejectText := ""
	switch {
	case tooMany:
		rejectText = "maximum connections exceeded"
	case secure != nil && !s.allowTLSConnection():
		rejectText = "Connection throttling is active. Please try again later."
	}
	c.mu.Lock()
	c.nonce = nonce
	if rejectText != "" || secure == nil || !secure.handshakeFirst {
		infoJSON, _ := json.Marshal(info)
		c.out = client.AppendInfo(c.out, infoJSON)
	}
	if rejectText != "" {
		// The close waits for the client's first bytes (its CONNECT): closing a socket
		// with unread input resets it, and the client would see a broken pipe instead
		// of the error.
		c.out = client.AppendErr(c.out, rejectText)
		c.rejected = true
		c.authTimer = s.env.Clock.AfterFunc(rejectLinger, func() { c.closeConnection(reasonMaxConnections, "") })
		c.mu.Unlock()
		c.flushOut()
		c.conn.Start(c)
		return
	}
	c.mu.Unlock()
	if secure != nil {
		c.flushOut()
		c.startTLS(secure, info, false)
		return
	}
	c.proceed()
}

// allowTLSConnection counts a new TLS connection against tls connection_rate_limit
// (connections per second) and reports whether it may go on, as the reference's
// rate counter: the first connection opens a one-second window, and each later one
// in the window is allowed while fewer than the limit came before it.
func (s *Server) allowTLSConnection() bool {
	now := s.env.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var limit int64
	if s.options.TLSConfig != nil {
		limit = s.options.TLSConfig.RateLimit
	}
	if limit <= 0 {
		return true
	}
	if now.After(s.tlsRateWindowEnd) {
		s.tlsRateCount = 0
		s.tlsRateWindowEnd = now.Add(time.Second)
	} else {
		s.tlsRateCount++
	}
	return s.tlsRateCount < limit
}

// proceed arms the authentication and keepalive timers and starts reading, once the
// connection is ready for the protocol (after INFO, and the TLS handshake if any).
func (c *clientConn) proceed() {
	s := c.server
	s.mu.Lock()
	auth := s.authForLocked(c.conn)
	o := s.options
	s.mu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if !auth.required() {
		c.bindAccountLocked(s.globalAccount, nil)
	} else {
		timeout := time.Duration(o.AuthTimeout * float64(time.Second))
		c.authTimer = s.env.Clock.AfterFunc(timeout, c.authTimeout)
	}
	c.pingTimer = s.env.Clock.AfterFunc(o.PingInterval, c.pingTick)
	c.mu.Unlock()
	c.flushOut()
	c.conn.Start(c)
}

// newNonceLocked returns a fresh nonce for nkey authentication.
func (s *Server) newNonceLocked() string {
	var raw [11]byte
	_, _ = s.env.Rand.Read(raw[:])
	return base64URL(raw[:])
}

// OnData is the connection's read event: parse, act, then flush every connection the
// batch wrote to.
func (c *clientConn) OnData(b []byte) {
	now := c.server.env.Clock.Now()
	c.mu.Lock()
	c.lastIn = now
	rejected := c.rejected
	c.mu.Unlock()
	if rejected {
		c.closeConnection(reasonMaxConnections, "")
		return
	}
	if limits := c.parserLimits.Swap(nil); limits != nil {
		c.parser.SetLimits(c.accountLimits(*limits))
	}
	if c.permissionCacheReset.Swap(false) {
		c.permissionCache = nil
		c.mu.Lock()
		c.publisher = c.user
		c.mu.Unlock()
	}
	err := c.parser.Parse(b, c)
	c.pendingFlush.flush(c.server, c)
	if err != nil && !errors.Is(err, errConnectionClosed) {
		c.parseFailed(err)
	}
}

// OnClose is the connection's end. A write that stalled past the write deadline is
// the reference's "Slow Consumer (Write Deadline)".
func (c *clientConn) OnClose(err error) {
	reason := reasonClientClosed
	var timeout interface{ Timeout() bool }
	writeDeadline := errors.As(err, &timeout) && timeout.Timeout()
	if writeDeadline {
		reason = reasonSlowConsumerDeadline
	} else if err != nil && !errors.Is(err, io.EOF) {
		reason = reasonReadError
	}
	if c.closeConnection(reason, "") && writeDeadline {
		c.server.slowConsumers.Add(1)
		c.server.logger.Noticef("%s:%d - cid:%d - Slow Consumer Detected: WriteDeadline exceeded", c.host, c.port, c.id)
	}
}

// parseFailed closes the connection after a protocol error, with the reference's
// -ERR when it sends one.
func (c *clientConn) parseFailed(err error) {
	text, hasText := client.ErrorText(err)
	reason := reasonProtocolViolation
	switch {
	case errors.Is(err, client.ErrPayload):
		reason = reasonMaxPayload
	case errors.Is(err, client.ErrControlLine):
		reason = reasonMaxControlLine
	case errors.Is(err, client.ErrUnknownProtocol):
		reason = reasonParseError
	}
	if !hasText {
		text = ""
	}
	c.server.logger.Debugf("%s - cid:%d - Client parser ERROR: %v", c.host, c.id, err)
	c.closeConnection(reason, text)
}

// HandleOp acts on one parsed operation (client.Handler).
func (c *clientConn) HandleOp(op *client.Op) error {
	if c.server.tracing.Load() {
		c.traceOp(op)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errConnectionClosed
	}
	needsAuth := !c.connectReceived && c.account == nil
	c.mu.Unlock()
	if needsAuth && op.Kind != client.OpConnect {
		if !c.bindNoAuthUser() {
			c.closeConnection(reasonAuthenticationFailure, errAuthorizationViolation)
			return errConnectionClosed
		}
	}
	switch op.Kind {
	case client.OpConnect:
		return c.processConnect(op.Arguments)
	case client.OpPub, client.OpHPub:
		return c.processPub(op)
	case client.OpSub:
		return c.processSub(op)
	case client.OpUnsub:
		return c.processUnsub(op)
	case client.OpPing:
		c.processPing()
	case client.OpPong:
		now := c.server.env.Clock.Now()
		c.mu.Lock()
		c.pingsOut = 0
		if !c.pingSent.IsZero() {
			c.rtt = max(now.Sub(c.pingSent), time.Nanosecond)
			c.pingSent = time.Time{}
		}
		c.mu.Unlock()
	case client.OpErr:
		c.closeConnection(reasonClientClosed, "")
		return errConnectionClosed
	}
	return nil
}

// traceOp logs an inbound operation as the reference's -V trace does.
func (c *clientConn) traceOp(op *client.Op) {
	var text string
	switch op.Kind {
	case client.OpPub, client.OpHPub:
		text = fmt.Sprintf("%s %s %s %d", op.Kind, op.Subject, op.Reply, len(op.Payload))
	case client.OpSub:
		text = fmt.Sprintf("SUB %s %s %s", op.Subject, op.Queue, op.SID)
	case client.OpUnsub:
		text = fmt.Sprintf("UNSUB %s", op.SID)
	case client.OpConnect:
		text = "CONNECT " + redactConnect(op.Arguments)
	default:
		text = op.Kind.String()
	}
	c.server.logger.Tracef("%s:%d - cid:%d - <<- [%s]", c.host, c.port, c.id, text)
}

// redactConnect hides a CONNECT's password and token in traces.
func redactConnect(arguments []byte) string {
	var fields map[string]any
	if json.Unmarshal(arguments, &fields) != nil {
		return "[unparsable]"
	}
	for _, secret := range []string{"pass", "auth_token", "sig"} {
		if _, ok := fields[secret]; ok {
			fields[secret] = "[REDACTED]"
		}
	}
	redacted, _ := json.Marshal(fields)
	return string(redacted)
}

// bindNoAuthUser lets a client that skipped CONNECT in as no_auth_user.
func (c *clientConn) bindNoAuthUser() bool {
	s := c.server
	s.mu.Lock()
	auth := s.authForLocked(c.conn)
	user := auth.noAuthUser
	s.mu.Unlock()
	if user == nil || !user.allows(auth.connectionType) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	return c.bindAccountLocked(user.account, user) == ""
}

// bindAccountLocked attaches the connection to an account as user; it returns the
// -ERR text when the account is full.
func (c *clientConn) bindAccountLocked(account *Account, user *authUser) string {
	account.mu.Lock()
	if account.limits.MaxConnections > 0 && account.connections >= account.limits.MaxConnections {
		account.mu.Unlock()
		return "maximum account active connections exceeded"
	}
	account.connections++
	account.mu.Unlock()
	c.account, c.user = account, user
	c.publisher = user
	c.parser.SetLimits(c.accountLimits(c.parser.Limits()))
	return ""
}

// setParserLimits hands new server limits to the reading side.
func (c *clientConn) setParserLimits(limits client.Limits) {
	c.parserLimits.Store(&limits)
}

// accountLimits narrows server limits by the connection's account limits.
func (c *clientConn) accountLimits(limits client.Limits) client.Limits {
	account := c.account
	if account == nil {
		return limits
	}
	payloadMax := account.limitsNow().MaxPayload
	if payloadMax > 0 && (limits.PayloadBytesMax <= 0 || payloadMax < limits.PayloadBytesMax) {
		limits.PayloadBytesMax = payloadMax
	}
	if u := c.user; u != nil && u.maxPayload > 0 && (limits.PayloadBytesMax <= 0 || u.maxPayload < limits.PayloadBytesMax) {
		limits.PayloadBytesMax = u.maxPayload
	}
	return limits
}

// processConnect applies a CONNECT: options, protocol checks and authentication.
func (c *clientConn) processConnect(arguments []byte) error {
	s := c.server
	c.mu.Lock()
	options := c.options
	alreadyBound := c.account != nil
	c.mu.Unlock()
	if err := json.Unmarshal(arguments, &options); err != nil {
		c.closeConnection(reasonProtocolViolation, "")
		return errConnectionClosed
	}
	if options.Protocol < 0 || options.Protocol > ProtocolVersion {
		c.closeConnection(reasonBadProtocolVersion, "invalid client protocol")
		return errConnectionClosed
	}
	if options.Account != "" || options.NewAccount {
		c.closeConnection(reasonAuthenticationFailure, errAuthorizationViolation)
		return errConnectionClosed
	}
	s.mu.Lock()
	auth := s.authForLocked(c.conn)
	noHeaders := s.options.NoHeaderSupport
	tlsMap := s.options.TLSMap
	s.mu.Unlock()
	websocketCredentials(c.conn, &options)
	if options.NoResponders && !options.Headers {
		c.closeConnection(reasonNoRespondersHeaders, "no responders requires headers support")
		return errConnectionClosed
	}
	var user *authUser
	if auth.required() {
		c.mu.Lock()
		nonce := c.nonce
		c.mu.Unlock()
		user = c.authenticate(auth, &options, nonce, tlsMap)
		if user != nil && alreadyBound && !c.sameLogin(user) {
			// A second CONNECT may renew its credentials, not change who it is.
			user = nil
		}
		if user == nil {
			s.logger.Errorf("%s:%d - cid:%d - authentication error", c.host, c.port, c.id)
			c.mu.Lock()
			c.options = options
			c.mu.Unlock()
			c.closeConnection(reasonAuthenticationFailure, errAuthorizationViolation)
			s.sendAuthErrorEvent(c, cmp.Or(options.Username, options.Nkey, jwtSubject(options.JWT)))
			return errConnectionClosed
		}
	}
	c.mu.Lock()
	c.options = options
	alreadyConnected := c.connectReceived
	c.connectReceived = true
	c.headers = options.Headers && !noHeaders
	if c.authTimer != nil {
		c.authTimer.Stop()
		c.authTimer = nil
	}
	var bindError string
	switch {
	case user != nil && !alreadyBound:
		bindError = c.bindAccountLocked(user.account, user)
	case user != nil:
		// The same login renewed: its permissions and limits are the new ones.
		c.user, c.publisher = user, user
		c.parser.SetLimits(c.accountLimits(c.parser.Limits()))
	}
	if user != nil && !user.expires.IsZero() && bindError == "" {
		// A user JWT's authentication ends at its expiry.
		c.authTimer = s.env.Clock.AfterFunc(max(user.expires.Sub(s.env.Clock.Now()), 0), c.authExpired)
	}
	c.mu.Unlock()
	if bindError != "" {
		c.closeConnection(reasonMaxAccountConnections, bindError)
		return errConnectionClosed
	}
	if options.Verbose {
		c.queueOwn(client.OKOp)
	}
	if !alreadyConnected {
		s.sendConnectEvent(c)
	}
	return nil
}

// sameLogin reports whether user is the connection's current login: the same
// account and the same user name or key (a connection bound without a login, to the
// global account, takes any login of that account).
func (c *clientConn) sameLogin(user *authUser) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.account != user.account {
		return false
	}
	return c.user == nil || c.user.name == user.name && c.user.nkey == user.nkey
}

// jwtSubject returns the subject of a user JWT, or "".
func jwtSubject(token string) string {
	if token == "" {
		return ""
	}
	claims, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return ""
	}
	return claims.Subject
}

// authExpired closes a connection whose user JWT expired.
func (c *clientConn) authExpired() {
	c.server.logger.Errorf("%s:%d - cid:%d - %s", c.host, c.port, c.id, errAuthenticationExpired)
	c.closeConnection(reasonAuthenticationExpired, errAuthenticationExpired)
}

// processSub adds a subscription.
func (c *clientConn) processSub(op *client.Op) error {
	c.mu.Lock()
	account, user, verbose := c.account, c.user, c.options.Verbose
	c.mu.Unlock()
	subj, queue := string(op.Subject), string(op.Queue)
	if user != nil && !user.permissions.canSubscribe(subj, queue) {
		text := fmt.Sprintf("Permissions Violation for Subscription to %q", subj)
		logText := fmt.Sprintf("Subscription Violation - Subject %q, SID %s", subj, op.SID)
		if queue != "" {
			text = fmt.Sprintf("Permissions Violation for Subscription to %q using queue %q", subj, queue)
			logText = fmt.Sprintf("Subscription Violation - Subject %q, Queue: %q, SID %s", subj, queue, op.SID)
		}
		c.server.logger.Errorf("%s:%d - cid:%d - %s", c.host, c.port, c.id, logText)
		c.queueErr(text)
		return nil
	}
	c.server.mu.Lock()
	tokensMax := int(c.server.options.MaxSubTokens)
	c.server.mu.Unlock()
	if tokensMax > 0 && strings.Count(subj, ".")+1 > tokensMax {
		c.server.logger.Errorf("%s:%d - cid:%d - Subscription Violation Too Many Tokens - Subject %q, SID %s", c.host, c.port, c.id, subj, op.SID)
		c.queueErr(fmt.Sprintf("Permissions Violation for Subscription to %q, too many tokens", subj))
		return nil
	}
	if !subject.IsValidSubject(subj) || (queue != "" && !subject.IsValidLiteralSubject(queue)) {
		c.queueErr("Invalid Subject")
		return nil
	}
	s := c.server
	s.mu.Lock()
	subsMax := s.options.MaxSubs
	s.mu.Unlock()
	if accountMax := account.limitsNow().MaxSubscriptions; accountMax > 0 && (subsMax <= 0 || accountMax < subsMax) {
		subsMax = accountMax
	}
	if user != nil && user.maxSubs > 0 && (subsMax <= 0 || user.maxSubs < subsMax) {
		subsMax = user.maxSubs
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errConnectionClosed
	}
	if _, exists := c.subs[string(op.SID)]; exists {
		c.mu.Unlock()
		if verbose {
			c.queueOwn(client.OKOp)
		}
		return nil
	}
	if subsMax > 0 && len(c.subs) >= subsMax {
		c.mu.Unlock()
		c.queueErr("maximum subscriptions exceeded")
		return nil
	}
	sub := &subscription{client: c, subject: subj, queue: queue, sid: append([]byte(nil), op.SID...)}
	c.subs[string(sub.sid)] = sub
	c.mu.Unlock()
	if err := account.sublist.Insert(subj, queue, sub); err != nil {
		c.mu.Lock()
		delete(c.subs, string(sub.sid))
		c.mu.Unlock()
		c.queueErr("Invalid Subject")
		return nil
	}
	s.subscriptionChanged(account, subj, queue)
	if verbose {
		c.queueOwn(client.OKOp)
	}
	return nil
}

// processUnsub removes a subscription now, or after max more messages.
func (c *clientConn) processUnsub(op *client.Op) error {
	c.mu.Lock()
	verbose := c.options.Verbose
	sub := c.subs[string(op.SID)]
	remove := false
	if sub != nil {
		if op.Max > 0 && op.Max > sub.delivered {
			sub.max = op.Max
		} else {
			remove = true
			delete(c.subs, string(op.SID))
		}
	}
	account := c.account
	c.mu.Unlock()
	if remove {
		_ = account.sublist.Remove(sub.subject, sub.queue, sub)
		c.server.subscriptionChanged(account, sub.subject, sub.queue)
	}
	if verbose {
		c.queueOwn(client.OKOp)
	}
	return nil
}

// processPing answers PONG; the first PING after CONNECT of a client that supports
// async INFO also gets an INFO naming the account it is bound to.
func (c *clientConn) processPing() {
	c.queueOwn(client.PongOp)
	c.mu.Lock()
	sendInfo := c.connectReceived && !c.firstPongSent && c.options.Protocol >= 1 && c.account != nil
	if c.connectReceived {
		c.firstPongSent = true
	}
	account := c.account
	c.mu.Unlock()
	if !sendInfo {
		return
	}
	s := c.server
	s.mu.Lock()
	info := s.baseInfoLocked()
	isSystem := account == s.systemAccount
	s.mu.Unlock()
	info.ClientID, info.ClientIP = c.id, c.host
	info.RemoteAccount, info.IsSystemAccount, info.ConnectInfo = account.Name, isSystem, true
	infoJSON, _ := json.Marshal(info)
	c.queueOwn(client.AppendInfo(nil, infoJSON))
}

// queueOwn appends a protocol line to this connection's output, flushed at the end of
// the read batch.
func (c *clientConn) queueOwn(line []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.out = append(c.out, line...)
	queue := !c.flushQueued
	c.flushQueued = true
	c.mu.Unlock()
	if queue {
		c.pendingFlush.add(c)
	}
}

// queueErr sends -ERR '<text>' and keeps the connection open.
func (c *clientConn) queueErr(text string) {
	c.queueOwn(client.AppendErr(nil, text))
}

// authTimeout closes a connection that did not authenticate in time.
func (c *clientConn) authTimeout() {
	c.mu.Lock()
	done := c.connectReceived || c.closed
	c.mu.Unlock()
	if !done {
		c.closeConnection(reasonAuthenticationTimeout, errAuthenticationTimeout)
	}
}

// pingTick sends a keepalive PING, or closes the connection when ping_max are
// outstanding.
func (c *clientConn) pingTick() {
	s := c.server
	s.mu.Lock()
	interval, pingsMax := s.options.PingInterval, s.options.MaxPingsOut
	s.mu.Unlock()
	now := s.env.Clock.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.pingsOut+1 > pingsMax {
		c.mu.Unlock()
		s.logger.Debugf("%s:%d - cid:%d - Stale Client Connection - Closing", c.host, c.port, c.id)
		s.staleConnections.Add(1)
		c.closeConnection(reasonStaleConnection, "Stale Connection")
		return
	}
	// A client that just sent us something is alive; the reference skips the PING.
	if now.Sub(c.lastIn) >= interval || !c.connectReceived {
		c.pingsOut++
		c.pingSent = now
		c.out = append(c.out, client.PingOp...)
	}
	c.pingTimer = s.env.Clock.AfterFunc(interval, c.pingTick)
	c.mu.Unlock()
	c.flushOut()
}

// sendLameDuckInfo tells a client that the server is entering lame duck mode.
func (c *clientConn) sendLameDuckInfo() {
	s := c.server
	s.mu.Lock()
	infoJSON := s.infoJSON
	s.mu.Unlock()
	c.mu.Lock()
	if c.closed || c.options.Protocol < 1 {
		c.mu.Unlock()
		return
	}
	c.out = client.AppendInfo(c.out, infoJSON)
	c.mu.Unlock()
	c.flushOut()
}

// flushOut hands the coalesced output to the network and checks for a slow consumer.
// It returns the bytes still pending on the network.
func (c *clientConn) flushOut() int {
	c.mu.Lock()
	c.flushQueued = false
	if c.closed {
		c.mu.Unlock()
		return 0
	}
	if len(c.out) > 0 {
		_, _ = c.conn.Write(c.out)
		if cap(c.out) > outKeptBytesMax {
			c.out = nil
		} else {
			c.out = c.out[:0]
		}
	}
	pendingMax := c.pendingMax.Load()
	c.mu.Unlock()
	c.conn.Flush()
	pending := c.conn.Pending()
	if pendingMax > 0 && int64(pending) > pendingMax {
		c.slowConsumer()
		return 0
	}
	return pending
}

// PendingWaiter is an optional capability of an env.Conn whose queued bytes drain on
// their own (the production network): WaitPending blocks the caller until at most
// limit bytes are pending or timeout has passed. The server uses it to stall a fast
// publisher for a moment when a subscriber falls behind, as the reference does,
// instead of letting the subscriber's backlog grow until it is cut off as a slow
// consumer. The simulated network does not offer it (nothing may block there), so in
// simulation a backlog grows and is cut off at max_pending.
type PendingWaiter interface {
	WaitPending(limit int, timeout time.Duration)
}

// stallPendingBytesMax is the backlog above which a publisher is stalled even when
// max_pending is larger: past a few megabytes the backlog only costs memory, since
// the subscriber drains at its own pace anyway.
const stallPendingBytesMax = 4 << 20

// stallTimeMax bounds one stall, as the reference's stallClientMaxDuration does.
const stallTimeMax = 5 * time.Millisecond

// stallThreshold is the pending bytes above which publishers to this connection are
// stalled: three quarters of max_pending, as the reference, capped.
func (c *clientConn) stallThreshold() int {
	threshold := int(c.pendingMax.Load() / 4 * 3)
	if threshold <= 0 || threshold > stallPendingBytesMax {
		threshold = stallPendingBytesMax
	}
	return threshold
}

// slowConsumer closes a connection that does not read fast enough; it is counted
// once however many publishers notice.
func (c *clientConn) slowConsumer() {
	if c.closeConnection(reasonSlowConsumerPending, "") {
		c.server.slowConsumers.Add(1)
		c.server.logger.Noticef("%s:%d - cid:%d - Slow Consumer Detected: MaxPending of %d Exceeded", c.host, c.port, c.id, c.pendingMax.Load())
	}
}

// closeConnection ends the connection once: an optional -ERR, the queued output, then
// the close; its subscriptions leave the account. It reports whether this call closed
// it (false when it was already closed).
func (c *clientConn) closeConnection(reason, errText string) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if errText != "" {
		c.out = client.AppendErr(c.out, errText)
	}
	if len(c.out) > 0 {
		_, _ = c.conn.Write(c.out)
		c.out = nil
	}
	c.closed = true
	c.closeReason = reason
	c.stopTime = c.server.env.Clock.Now()
	connected := c.connectReceived
	for _, timer := range []env.Timer{c.pingTimer, c.authTimer} {
		if timer != nil {
			timer.Stop()
		}
	}
	subs := c.subs
	c.subs = nil
	account := c.account
	c.mu.Unlock()
	info := c.connInfo(true, connzSubsNone)
	c.conn.Flush()
	_ = c.conn.Close()
	if account != nil {
		for _, sub := range sortedSubs(subs) {
			_ = account.sublist.Remove(sub.subject, sub.queue, sub)
			c.server.subscriptionChanged(account, sub.subject, sub.queue)
		}
		c.mu.Lock()
		in, out := MsgBytes{Msgs: c.inMsgs, Bytes: c.inBytes}, MsgBytes{Msgs: c.outMsgs, Bytes: c.outBytes}
		c.mu.Unlock()
		account.mu.Lock()
		account.connections--
		account.closedIn.Msgs += in.Msgs
		account.closedIn.Bytes += in.Bytes
		account.closedOut.Msgs += out.Msgs
		account.closedOut.Bytes += out.Bytes
		if reason == reasonSlowConsumerPending || reason == reasonSlowConsumerDeadline {
			account.slowConsumers++
		}
		account.mu.Unlock()
		if connected {
			c.server.sendDisconnectEvent(c, account, reason)
		}
	}
	c.server.removeClient(c, info)
	return true
}

// flushSet collects the connections a batch of work wrote to, so each is flushed
// once at the end, and counts the batch's messages so that the shared counters are
// updated once per batch rather than once per message.
type flushSet struct {
	conns             []*clientConn
	inMsgs, inBytes   int64
	outMsgs, outBytes int64
}

func (f *flushSet) add(c *clientConn) { f.conns = append(f.conns, c) }

// flush writes out every connection touched and publishes the batch's counters to
// the server and, for inbound ones, to the reading connection (nil for work that is
// not a connection's read).
func (f *flushSet) flush(s *Server, reader *clientConn) {
	var stalled *clientConn
	stalledExcess := 0
	for i, c := range f.conns {
		pending := c.flushOut()
		if excess := pending - c.stallThreshold(); excess > stalledExcess {
			stalled, stalledExcess = c, excess
		}
		f.conns[i] = nil
	}
	f.conns = f.conns[:0]
	if stalled != nil && reader != nil {
		s.stalledClients.Add(1)
		if waiter, ok := stalled.conn.(PendingWaiter); ok {
			waiter.WaitPending(stalled.stallThreshold(), stallTimeMax)
		}
	}
	if f.inMsgs > 0 {
		s.inMsgs.Add(f.inMsgs)
		s.inBytes.Add(f.inBytes)
		if reader != nil {
			reader.mu.Lock()
			reader.inMsgs += f.inMsgs
			reader.inBytes += f.inBytes
			reader.mu.Unlock()
		}
		f.inMsgs, f.inBytes = 0, 0
	}
	if f.outMsgs > 0 {
		s.outMsgs.Add(f.outMsgs)
		s.outBytes.Add(f.outBytes)
		f.outMsgs, f.outBytes = 0, 0
	}
}
