package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
	"github.com/natsim/natsim/proto/websocket"
)

// websocketHandshakeTimeoutDefault bounds the TLS handshake and the upgrade request
// when the websocket block sets no handshake_timeout.
const websocketHandshakeTimeoutDefault = 2 * time.Second

// websocketRequestBytesMax bounds an upgrade request head; a longer one is refused
// with 431, as an HTTP server would.
const websocketRequestBytesMax = 64 * 1024

// websocketCompressBytesMin is the payload below which the server does not compress
// a frame even on a compressed connection: deflate gains nothing on tiny payloads.
const websocketCompressBytesMin = 64

// errWebsocketTLSRequired refuses a websocket block that has neither tls nor no_tls.
var errWebsocketTLSRequired = errors.New("websocket requires TLS configuration")

// websocketListener is the server's websocket side: the listener and what new
// connections need, fixed at Start.
type websocketListener struct {
	listener  env.Listener
	tlsConfig *tls.Config
	options   opts.WebsocketOpts
	// headers are the block's extra response headers, sorted by name so that the
	// response is the same on every run.
	headers []websocket.HeaderField
	// override is the block's own authorization, which replaces the server's for
	// websocket clients when it names any user, nkey or token (nil otherwise).
	override *authConfig
	// stopping is set when the listener closes for a shutdown or lame duck mode, so
	// that connections closing afterwards say "going away" (1001).
	stopping atomic.Bool
}

// checkWebsocketOptions refuses a websocket block the server cannot serve safely.
func checkWebsocketOptions(o *opts.Options) error {
	w := &o.Websocket
	if w.Port == 0 {
		return nil
	}
	if !w.NoTLS && w.TLSConfig == nil {
		return errWebsocketTLSRequired
	}
	return nil
}

// startWebsocket opens the websocket listener when the options have one.
func (s *Server) startWebsocket() error {
	s.mu.Lock()
	w := s.options.Websocket
	s.mu.Unlock()
	if w.Port == 0 {
		return nil
	}
	if err := checkWebsocketOptions(&opts.Options{Websocket: w}); err != nil {
		return err
	}
	side := &websocketListener{options: w}
	if !w.NoTLS {
		config, err := buildTLSConfig(s.env.FS, w.TLSConfig)
		if err != nil {
			return fmt.Errorf("websocket: %w", err)
		}
		side.tlsConfig = config
	}
	names := make([]string, 0, len(w.Headers))
	for name := range w.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		side.headers = append(side.headers, websocket.HeaderField{Name: name, Value: w.Headers[name]})
	}
	if w.Username != "" || w.Token != "" || len(w.Users) > 0 || len(w.Nkeys) > 0 {
		s.mu.Lock()
		override, err := buildAuth(&opts.Options{Users: w.Users, Nkeys: w.Nkeys, Username: w.Username,
			Password: w.Password, Authorization: w.Token, NoAuthUser: w.NoAuthUser}, s.accounts, s.globalAccount, nil)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("websocket: %w", err)
		}
		override.connectionType = connectionTypeWebsocket
		side.override = override
	}
	port := w.Port
	if port == opts.RandomPort {
		port = 0
	}
	address := joinHostPort(w.Host, port)
	listener, err := s.env.Net.Listen(address, s.acceptWebsocket)
	if err != nil {
		return fmt.Errorf("node: websocket listen on %s: %w", address, err)
	}
	side.listener = listener
	s.mu.Lock()
	s.websocket = side
	s.mu.Unlock()
	scheme := "wss"
	if w.NoTLS {
		scheme = "ws"
		s.logger.Warnf("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!")
	}
	s.logger.Noticef("Listening for websocket clients on %s://%s", scheme, listener.Addr())
	return nil
}

// stopWebsocket closes the websocket listener; connections already upgraded are
// clients and close with them.
func (s *Server) stopWebsocket() {
	s.mu.Lock()
	side := s.websocket
	var listener env.Listener
	if side != nil {
		listener, side.listener = side.listener, nil
		side.stopping.Store(true)
	}
	s.mu.Unlock()
	if listener != nil {
		_ = listener.Close()
	}
}

// WebsocketAddr returns the websocket listener's "host:port", or "" without one.
func (s *Server) WebsocketAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.websocket == nil || s.websocket.listener == nil {
		return ""
	}
	return s.websocket.listener.Addr()
}

// acceptWebsocket is the websocket listener's callback: the TLS handshake when the
// listener has TLS, then the HTTP upgrade, then a client connection speaking through
// the framing.
func (s *Server) acceptWebsocket(conn env.Conn) {
	s.mu.Lock()
	side := s.websocket
	if !s.running || s.shuttingDown || s.lameDuck || side == nil {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.mu.Unlock()
	timeout := side.options.HandshakeTimeout
	if timeout <= 0 {
		timeout = websocketHandshakeTimeoutDefault
	}
	upgrade := &websocketUpgrade{server: s, side: side, raw: conn}
	upgrade.timer = s.env.Clock.AfterFunc(timeout, upgrade.timedOut)
	if side.tlsConfig == nil {
		conn.Start(upgrade)
		return
	}
	starter, ok := conn.(env.TLSStarter)
	if !ok {
		s.logger.Errorf("%s - websocket TLS handshake error: this network does not support TLS", conn.RemoteAddr())
		upgrade.timer.Stop()
		_ = conn.Close()
		return
	}
	starter.StartTLS(side.tlsConfig, env.TLSOptions{Server: true, Timeout: timeout}, func(state *tls.ConnectionState, err error) {
		if err != nil {
			s.logger.Errorf("%s - websocket TLS handshake error: %v", conn.RemoteAddr(), err)
			upgrade.timer.Stop()
			_ = conn.Close()
			return
		}
		upgrade.tlsState = state
		conn.Start(upgrade)
	})
}

// websocketUpgrade is the raw connection's handler: it reads the HTTP upgrade
// request, answers it, and afterwards hands every read to the websocket connection.
type websocketUpgrade struct {
	server   *Server
	side     *websocketListener
	raw      env.Conn
	tlsState *tls.ConnectionState
	timer    env.Timer

	// reader
	request  []byte
	upgraded *websocketConn
	mu       sync.Mutex
	done     bool
}

// timedOut closes a connection whose upgrade request did not come in time.
func (u *websocketUpgrade) timedOut() {
	u.mu.Lock()
	done := u.done
	u.done = true
	u.mu.Unlock()
	if !done {
		_ = u.raw.Close()
	}
}

// OnData reads the upgrade request, then passes frames on.
func (u *websocketUpgrade) OnData(b []byte) {
	if u.upgraded != nil {
		u.upgraded.onRawData(b)
		return
	}
	u.request = append(u.request, b...)
	request, consumed, err := websocket.ParseRequest(u.request, websocketRequestBytesMax)
	switch {
	case errors.Is(err, websocket.ErrRequestIncomplete):
		return
	case errors.Is(err, websocket.ErrRequestTooLarge):
		u.refuse(websocket.AppendMalformedResponse(nil, 431))
		return
	case err != nil:
		u.refuse(websocket.AppendMalformedResponse(nil, 400))
		return
	}
	if status, reason := websocket.CheckUpgrade(request); status != 0 {
		u.refuse(websocket.AppendErrorResponse(nil, status, reason))
		return
	}
	policy := websocket.OriginPolicy{SameOrigin: u.side.options.SameOrigin, Allowed: u.side.options.AllowedOrigins, TLS: u.tlsState != nil}
	if err := policy.CheckOrigin(request); err != nil {
		u.refuse(websocket.AppendErrorResponse(nil, 403, "origin not allowed: "+err.Error()))
		return
	}
	u.mu.Lock()
	if u.done {
		u.mu.Unlock()
		return
	}
	u.done = true
	u.mu.Unlock()
	u.timer.Stop()
	compress := u.side.options.Compression && websocket.OffersCompression(request)
	response := websocket.AppendUpgradeResponse(nil, request.Header("Sec-WebSocket-Key"), compress, u.side.headers)
	_, _ = u.raw.Write(response)
	u.raw.Flush()
	rest := u.request[consumed:]
	u.request = nil
	conn := newWebsocketConn(u.server, u.side, u.raw, compress, u.tlsState != nil)
	conn.credentials = u.side.cookieCredentials(request)
	u.upgraded = conn
	u.server.acceptClient(conn)
	if len(rest) > 0 {
		conn.onRawData(rest)
	}
}

// refuse answers a bad upgrade request and closes the connection.
func (u *websocketUpgrade) refuse(response []byte) {
	u.mu.Lock()
	u.done = true
	u.mu.Unlock()
	u.timer.Stop()
	u.request = nil
	_, _ = u.raw.Write(response)
	u.raw.Flush()
	_ = u.raw.Close()
}

// OnClose ends the client connection, if the upgrade made one.
func (u *websocketUpgrade) OnClose(err error) {
	u.mu.Lock()
	u.done = true
	u.mu.Unlock()
	u.timer.Stop()
	if u.upgraded != nil {
		u.upgraded.onRawClose(err)
	}
}

// websocketConn is an env.Conn that carries a client connection's bytes in websocket
// frames over the raw connection: reads are unframed (and inflated) before the
// client's handler sees them; what the client writes goes out in one binary frame
// per Flush (compressed when negotiated).
type websocketConn struct {
	server   *Server
	side     *websocketListener
	raw      env.Conn
	compress bool
	secure   bool
	// credentials are those the upgrade request's cookies carried (jwt_cookie,
	// user_cookie, pass_cookie, token_cookie), used where CONNECT has none.
	credentials client.ConnectOptions

	// reader
	decoder  websocket.Decoder
	inflated []byte

	mu         sync.Mutex
	handler    env.ConnHandler
	out        []byte
	frame      []byte
	compressor websocket.Compressor
	closeSent  bool
	closed     bool
	// closeError is why the websocket layer closed the connection, told to the
	// handler when the raw connection's close arrives.
	closeError error
}

func newWebsocketConn(s *Server, side *websocketListener, raw env.Conn, compress, secure bool) *websocketConn {
	w := &websocketConn{server: s, side: side, raw: raw, compress: compress, secure: secure}
	s.mu.Lock()
	payloadMax := int(s.options.MaxPayload)
	s.mu.Unlock()
	w.decoder.CompressionAllowed = compress
	w.decoder.CompressedBytesMax = 2*payloadMax + websocketRequestBytesMax
	return w
}

// Start records the client's handler; the raw connection is already reading.
func (w *websocketConn) Start(h env.ConnHandler) {
	w.mu.Lock()
	w.handler = h
	w.mu.Unlock()
}

// Write queues payload bytes; Flush frames them.
func (w *websocketConn) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, env.ErrClosed
	}
	w.out = append(w.out, b...)
	return len(b), nil
}

// Flush sends the queued bytes as one binary frame.
func (w *websocketConn) Flush() {
	w.mu.Lock()
	w.frameOutLocked()
	w.mu.Unlock()
	w.raw.Flush()
}

// frameOutLocked hands the queued payload to the raw connection as one frame.
func (w *websocketConn) frameOutLocked() {
	if len(w.out) == 0 || w.closeSent {
		return
	}
	payload := w.out
	compressed := false
	if w.compress && len(payload) > websocketCompressBytesMin {
		deflated, err := w.compressor.Deflate(w.frame[:0], payload)
		if err == nil {
			payload, compressed = deflated, true
			w.frame = deflated[:0]
		}
	}
	header := websocket.AppendHeader(make([]byte, 0, websocket.HeaderBytesMax), true, compressed, websocket.OpBinary, len(payload))
	_, _ = w.raw.Write(header)
	_, _ = w.raw.Write(payload)
	if cap(w.out) > outKeptBytesMax {
		w.out = nil
	} else {
		w.out = w.out[:0]
	}
	if cap(w.frame) > outKeptBytesMax {
		w.frame = nil
	}
}

// Pending counts the queued payload and the raw connection's backlog.
func (w *websocketConn) Pending() int {
	w.mu.Lock()
	queued := len(w.out)
	w.mu.Unlock()
	return queued + w.raw.Pending()
}

// WaitPending forwards the stall of a fast publisher to the raw connection.
func (w *websocketConn) WaitPending(limit int, timeout time.Duration) {
	if waiter, ok := w.raw.(PendingWaiter); ok {
		waiter.WaitPending(limit, timeout)
	}
}

// Close sends what is queued, a close frame with the status and text of the
// client's close reason, and closes the raw connection.
func (w *websocketConn) Close() error {
	reason := ""
	if c, ok := w.currentHandler().(*clientConn); ok {
		c.mu.Lock()
		reason = c.closeReason
		c.mu.Unlock()
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.frameOutLocked()
	w.closed = true
	status := websocketCloseStatus(reason)
	if reason == "" && w.side.stopping.Load() {
		status = websocket.CloseGoingAway
	}
	w.sendCloseLocked(status, reason)
	w.mu.Unlock()
	w.raw.Flush()
	return w.raw.Close()
}

// sendCloseLocked queues a close frame once.
func (w *websocketConn) sendCloseLocked(status int, reason string) {
	if w.closeSent {
		return
	}
	w.closeSent = true
	_, _ = w.raw.Write(websocket.AppendClose(nil, status, reason))
}

// LocalAddr is the raw connection's.
func (w *websocketConn) LocalAddr() string { return w.raw.LocalAddr() }

// RemoteAddr is the raw connection's.
func (w *websocketConn) RemoteAddr() string { return w.raw.RemoteAddr() }

// onRawData decodes frames; a protocol error closes with status 1002.
func (w *websocketConn) onRawData(b []byte) {
	if err := w.decoder.Feed(b, w); err != nil {
		w.fail(websocket.CloseProtocolError, err)
	}
}

// fail closes the connection from the websocket layer with a close status.
func (w *websocketConn) fail(status int, err error) {
	w.mu.Lock()
	if w.closeError == nil {
		w.closeError = err
	}
	w.frameOutLocked()
	w.sendCloseLocked(status, err.Error())
	w.closed = true
	w.mu.Unlock()
	w.raw.Flush()
	_ = w.raw.Close()
}

// onRawClose tells the client's handler the connection ended.
func (w *websocketConn) onRawClose(err error) {
	w.mu.Lock()
	handler := w.handler
	w.closed = true
	if w.closeError != nil && err == nil {
		err = w.closeError
	}
	w.mu.Unlock()
	if handler != nil {
		handler.OnClose(err)
	}
}

// currentHandler returns the client's handler (nil before Start).
func (w *websocketConn) currentHandler() env.ConnHandler {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.handler
}

// Data passes unframed payload to the client (websocket.Sink).
func (w *websocketConn) Data(b []byte) error {
	if handler := w.currentHandler(); handler != nil {
		handler.OnData(b)
	}
	return nil
}

// CompressedMessage inflates a message and passes it to the client (websocket.Sink).
func (w *websocketConn) CompressedMessage(b []byte) error {
	inflated, err := websocket.Inflate(w.inflated[:0], b, w.decoder.CompressedBytesMax)
	if err != nil {
		return err
	}
	w.inflated = inflated[:0]
	if cap(w.inflated) > outKeptBytesMax {
		w.inflated = nil
	}
	return w.Data(inflated)
}

// Control answers pings and closes (websocket.Sink); pongs need nothing.
func (w *websocketConn) Control(opcode byte, payload []byte) error {
	switch opcode {
	case websocket.OpPing:
		w.mu.Lock()
		if !w.closeSent {
			w.frameOutLocked()
			_, _ = w.raw.Write(websocket.AppendFrame(nil, true, false, websocket.OpPong, payload))
		}
		w.mu.Unlock()
		w.raw.Flush()
	case websocket.OpClose:
		status, _, err := websocket.ParseClose(payload)
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.frameOutLocked()
		w.sendCloseLocked(status, "")
		w.closed = true
		w.mu.Unlock()
		w.raw.Flush()
		_ = w.raw.Close()
	}
	return nil
}

// websocketClientInfo adjusts the INFO a websocket client receives, as the
// reference: TLS happened (or not) before the upgrade, so the client is told whether
// the listener has it rather than asked to start it.
func websocketClientInfo(conn env.Conn, info *client.Info) bool {
	w, ok := conn.(*websocketConn)
	if !ok {
		return false
	}
	if !info.AuthRequired && w.side.override != nil {
		info.AuthRequired = w.side.override.required()
	}
	info.TLSRequired = false
	info.TLSVerify = false
	info.TLSAvailable = w.secure
	return true
}

// connectionType is the /connz "type" of a client connection.
func connectionType(conn env.Conn) string {
	if _, ok := conn.(*websocketConn); ok {
		return "websocket"
	}
	return "nats"
}

// connectionTypeWebsocket is the allowed_connection_types name of websocket clients.
const connectionTypeWebsocket = "WEBSOCKET"

// authForLocked returns the authorization a connection logs in with: the server's,
// or for a websocket client the websocket block's override, or the server's with the
// block's no_auth_user; websocket clients are checked against WEBSOCKET in
// allowed_connection_types. The caller holds s.mu.
func (s *Server) authForLocked(conn env.Conn) *authConfig {
	w, ok := conn.(*websocketConn)
	if !ok {
		return s.auth
	}
	if w.side.override != nil && s.auth.trust == nil {
		// In operator mode the websocket block's own users do not log in either.
		return w.side.override
	}
	auth := *s.auth
	auth.connectionType = connectionTypeWebsocket
	if name := w.side.options.NoAuthUser; name != "" {
		auth.noAuthUser = auth.users[name]
		if auth.noAuthUser == nil {
			auth.noAuthUser = auth.nkeys[name]
		}
	}
	return &auth
}

// cookieCredentials reads the credentials the block's cookie names point at.
func (side *websocketListener) cookieCredentials(request *websocket.Request) client.ConnectOptions {
	var credentials client.ConnectOptions
	w := &side.options
	for _, cookie := range []struct {
		name   string
		target *string
	}{
		{w.JWTCookie, &credentials.JWT},
		{w.UsernameCookie, &credentials.Username},
		{w.PasswordCookie, &credentials.Password},
		{w.TokenCookie, &credentials.Token},
	} {
		if cookie.name == "" {
			continue
		}
		if value, ok := request.Cookie(cookie.name); ok {
			*cookie.target = value
		}
	}
	return credentials
}

// websocketCredentials fills in a websocket client's CONNECT from its cookies where
// the CONNECT left a credential empty, as the reference does.
func websocketCredentials(conn env.Conn, options *client.ConnectOptions) {
	w, ok := conn.(*websocketConn)
	if !ok {
		return
	}
	for _, pair := range []struct{ target, cookie *string }{
		{&options.JWT, &w.credentials.JWT},
		{&options.Username, &w.credentials.Username},
		{&options.Password, &w.credentials.Password},
		{&options.Token, &w.credentials.Token},
	} {
		if *pair.target == "" {
			*pair.target = *pair.cookie
		}
	}
}

// websocketCloseStatus is the close status the reference sends for a close reason.
func websocketCloseStatus(reason string) int {
	switch reason {
	case "", reasonClientClosed:
		return websocket.CloseNormal
	case reasonAuthenticationTimeout, reasonAuthenticationFailure, reasonSlowConsumerPending,
		reasonSlowConsumerDeadline, reasonMaxAccountConnections, reasonMaxConnections,
		reasonMaxControlLine:
		return websocket.ClosePolicyViolation
	case reasonTLSHandshakeError:
		return websocket.CloseTLSHandshake
	case reasonParseError, reasonProtocolViolation, reasonBadProtocolVersion:
		return websocket.CloseProtocolError
	case reasonMaxPayload:
		return websocket.CloseMessageTooBig
	case reasonServerShutdown:
		return websocket.CloseGoingAway
	}
	return websocket.CloseInternalError
}
