package node

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node/jetstream"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
	"github.com/natsim/natsim/proto/jsapi"
)

// Version is the reference server version this server presents itself as.
const Version = "2.15.2"

// ProtocolVersion is the client protocol version advertised in INFO (proto).
const ProtocolVersion = 1

// closedClientsMaxDefault bounds the closed connections kept for /connz when the
// options set none.
const closedClientsMaxDefault = 10000

// ErrServerClosed: the server is shutting down or was never started.
var ErrServerClosed = errors.New("node: server closed")

// Server is one NATS server process. Build it with New, then Start it.
type Server struct {
	env    env.Env
	logger Logger
	id     string

	// mu guards everything below it that is not atomic.
	mu            sync.Mutex
	options       *opts.Options
	clients       map[uint64]*clientConn
	nextClientID  uint64
	accounts      map[string]*Account
	globalAccount *Account
	systemAccount *Account
	auth          *authConfig
	listener      env.Listener
	monitor       env.Listener
	// websocket is the websocket listener's side (nil without one).
	websocket     *websocketListener
	startTime     time.Time
	configTime    time.Time
	running       bool
	shuttingDown  bool
	lameDuck      bool
	closedClients []*ConnInfo
	closedNext    int
	lameDuckTimer env.Timer
	// shutdownDone is closed when Shutdown has finished.
	shutdownDone chan struct{}
	// infoJSON is the INFO sent to new clients, rebuilt when options change.
	infoJSON []byte

	inMsgs, outMsgs, inBytes, outBytes atomic.Int64
	slowConsumers                      atomic.Int64
	// staleConnections counts clients closed for missing ping_max PONGs, and
	// stalledClients the times a publisher was held back by a slow reader.
	staleConnections, stalledClients atomic.Int64
	// httpRequests counts monitoring requests per endpoint, guarded by mu.
	httpRequests map[string]uint64
	// tlsRateCount counts TLS connections in the one-second window ending at
	// tlsRateWindowEnd, for tls connection_rate_limit; guarded by mu.
	tlsRateCount     int64
	tlsRateWindowEnd time.Time
	// tracing mirrors options.Trace so that the read path checks it without a lock.
	tracing          atomic.Bool
	totalConnections atomic.Uint64
	// jetStream is the server's JetStream (nil when disabled), guarded by mu.
	jetStream *jetstream.Manager
	// interestWatch reports subscription changes on the subjects JetStream watches.
	interestWatch interestWatch
	// tlsConfig secures client connections (nil without TLS), guarded by mu; a
	// reload replaces it for new connections.
	tlsConfig *tls.Config
	// baseOptions are the options as given, before operator mode added the
	// resolver's accounts (options has them), for a reload after an account JWT
	// update; guarded by mu. reloadMu serializes reloads.
	baseOptions *opts.Options
	reloadMu    sync.Mutex
	// claimsQueue are the account claims requests waiting for the task that
	// claimsRunning says runs them (see claims.go); guarded by mu.
	claimsQueue   []claimsRequest
	claimsRunning bool
	// eventQueue are the system events waiting for the task eventsRunning says
	// sends them (guarded by mu); eventsSendMu orders their sending; eventSeq numbers
	// the server's published messages (see events.go).
	eventQueue     []systemEvent
	eventsRunning  bool
	eventsStopped  bool
	eventsSendMu   sync.Mutex
	eventSeq       atomic.Uint64
	statszTimer    env.Timer
	statszInterval time.Duration
}

// New builds a server from options (defaults are filled in on a copy). It does not
// listen until Start.
func New(e env.Env, options *opts.Options, logger Logger) (*Server, error) {
	if logger == nil {
		logger = discardLogger{}
	}
	o := *options
	o.SetDefaults()
	if err := checkSupported(&o); err != nil {
		return nil, err
	}
	tlsConfig, err := serverTLSConfig(e.FS, &o)
	if err != nil {
		return nil, err
	}
	base := o
	trust, err := loadOperatorTrust(e.FS, e.Clock, &o, logger, true)
	if err != nil {
		return nil, err
	}
	trust.apply(&o)
	keys, err := nkeys.CreatePairWithRand(nkeys.PrefixByteServer, randReader{e.Rand})
	if err != nil {
		return nil, fmt.Errorf("node: server id: %w", err)
	}
	id, err := keys.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("node: server id: %w", err)
	}
	s := &Server{
		env:          e,
		logger:       logger,
		id:           id,
		options:      &o,
		baseOptions:  &base,
		clients:      make(map[uint64]*clientConn),
		shutdownDone: make(chan struct{}),
		tlsConfig:    tlsConfig,
	}
	if err := s.configureAccounts(&o); err != nil {
		return nil, err
	}
	auth, err := buildAuth(&o, s.accounts, s.globalAccount, trust)
	if err != nil {
		return nil, err
	}
	s.auth = auth
	s.tracing.Store(o.Trace)
	s.rebuildInfo()
	return s, nil
}

// randReader adapts env.Rand to io.Reader for nkeys.
type randReader struct{ r env.Rand }

func (r randReader) Read(p []byte) (int, error) { return r.r.Read(p) }

// ID returns the server's public nkey identity (server_id).
func (s *Server) ID() string { return s.id }

// Name returns server_name, or the ID when none is configured.
func (s *Server) Name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nameLocked()
}

func (s *Server) nameLocked() string {
	if s.options.ServerName != "" {
		return s.options.ServerName
	}
	return s.id
}

// Options returns a copy of the options in force.
func (s *Server) Options() opts.Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.options
}

// Start opens the client listener (and the monitoring listener when configured) and
// logs the reference's startup lines.
func (s *Server) Start() error {
	s.mu.Lock()
	o := s.options
	if s.running || s.shuttingDown {
		s.mu.Unlock()
		return errors.New("node: server already started")
	}
	s.startTime = s.env.Clock.Now()
	s.configTime = s.startTime
	s.mu.Unlock()

	s.logger.Noticef("Starting nats-server")
	s.logger.Noticef("  Version:  %s", Version)
	s.logger.Noticef("  Git:      [not set]")
	s.logger.Noticef("  Name:     %s", s.Name())
	s.logger.Noticef("  ID:       %s", s.id)
	if o.ConfigFile != "" {
		s.logger.Noticef("Using configuration file: %s", o.ConfigFile)
	}
	if o.HTTPPort != 0 {
		if err := s.startMonitoring(); err != nil {
			return err
		}
	}
	port := o.Port
	if port == opts.RandomPort {
		port = 0
	}
	address := joinHostPort(o.Host, port)
	if err := s.startJetStream(); err != nil {
		s.stopMonitoring()
		return fmt.Errorf("node: jetstream: %w", err)
	}
	listener, err := s.env.Net.Listen(address, s.acceptClient)
	if err != nil {
		s.stopJetStream()
		s.stopMonitoring()
		return fmt.Errorf("node: listen on %s: %w", address, err)
	}
	s.mu.Lock()
	s.listener = listener
	s.running = true
	s.rebuildInfoLocked()
	s.mu.Unlock()
	if err := s.startWebsocket(); err != nil {
		s.Shutdown()
		return err
	}
	s.startSystemServices()
	s.startClaimsServices()
	s.startAccountRequests()
	s.startStatsz()
	s.logger.Noticef("Listening for client connections on %s", listener.Addr())
	s.logTLSMode(o)
	s.logger.Noticef("Server is ready")
	return nil
}

// ClientAddr returns the client listener's "host:port", or "" before Start.
func (s *Server) ClientAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr()
}

// ClientURL returns "nats://host:port" for the client listener, with a loopback
// address in place of an unspecified one.
func (s *Server) ClientURL() string {
	host, port, ok := splitHostPort(s.ClientAddr())
	if !ok {
		return ""
	}
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	return "nats://" + joinHostPort(host, port)
}

// Running reports whether the server has started and not shut down.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// Shutdown closes the listeners and every connection. It is idempotent.
func (s *Server) Shutdown() {
	s.mu.Lock()
	if s.shuttingDown {
		s.mu.Unlock()
		return
	}
	s.shuttingDown = true
	s.running = false
	listener := s.listener
	s.listener = nil
	if s.lameDuckTimer != nil {
		s.lameDuckTimer.Stop()
	}
	if s.statszTimer != nil {
		s.statszTimer.Stop()
	}
	clients := s.sortedClientsLocked()
	s.mu.Unlock()
	// The SHUTDOWN event goes before the connections do, and is the last.
	s.sendServerEvent("SHUTDOWN")
	s.mu.Lock()
	s.eventsStopped = true
	s.mu.Unlock()
	s.flushEvents()
	if listener != nil {
		_ = listener.Close()
	}
	s.stopWebsocket()
	s.stopMonitoring()
	// JetStream stops before the clients go, as in the reference, so that waiting
	// pull requests still receive their "409 Server Shutdown".
	s.stopJetStream()
	for _, c := range clients {
		c.closeConnection(reasonServerShutdown, "")
	}
	s.logger.Noticef("Server Exiting..")
	close(s.shutdownDone)
}

// ShutdownDone is closed once Shutdown has finished.
func (s *Server) ShutdownDone() <-chan struct{} { return s.shutdownDone }

// LameDuckMode stops accepting connections, tells clients (INFO ldm:true) and closes
// them spread over lame_duck_duration after lame_duck_grace_period, then shuts down.
func (s *Server) LameDuckMode() {
	s.mu.Lock()
	if s.lameDuck || s.shuttingDown {
		s.mu.Unlock()
		return
	}
	s.lameDuck = true
	listener := s.listener
	s.listener = nil
	o := s.options
	s.rebuildInfoLocked()
	clients := s.sortedClientsLocked()
	s.mu.Unlock()
	s.logger.Noticef("Entering lame duck mode, stop accepting new clients")
	if listener != nil {
		_ = listener.Close()
	}
	s.stopWebsocket()
	for _, c := range clients {
		c.sendLameDuckInfo()
	}
	s.sendServerEvent("LAMEDUCK")
	if len(clients) == 0 {
		s.Shutdown()
		return
	}
	grace := o.LameDuckGracePeriod
	duration := o.LameDuckDuration - grace
	if duration <= 0 {
		duration = time.Millisecond
	}
	step := duration / time.Duration(len(clients))
	s.mu.Lock()
	s.lameDuckTimer = s.env.Clock.AfterFunc(grace, func() { s.lameDuckCloseNext(clients, 0, step) })
	s.mu.Unlock()
}

// lameDuckCloseNext closes the next client and schedules the one after it, so the
// clients' reconnects are spread over the lame duck duration.
func (s *Server) lameDuckCloseNext(clients []*clientConn, next int, step time.Duration) {
	if next >= len(clients) {
		s.Shutdown()
		return
	}
	clients[next].closeConnection(reasonServerShutdown, "")
	s.mu.Lock()
	if s.shuttingDown {
		s.mu.Unlock()
		return
	}
	s.lameDuckTimer = s.env.Clock.AfterFunc(step, func() { s.lameDuckCloseNext(clients, next+1, step) })
	s.mu.Unlock()
}

// sortedClientsLocked returns the connections ordered by id, so that anything done to
// them in turn happens in a deterministic order.
func (s *Server) sortedClientsLocked() []*clientConn {
	clients := make([]*clientConn, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, func(a, b *clientConn) int { return compareUint64(a.id, b.id) })
	return clients
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// NumClients returns the number of open client connections.
func (s *Server) NumClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// rebuildInfo recomputes the INFO template sent to new connections.
func (s *Server) rebuildInfo() {
	s.mu.Lock()
	s.rebuildInfoLocked()
	s.mu.Unlock()
}

func (s *Server) rebuildInfoLocked() {
	info := s.baseInfoLocked()
	s.infoJSON, _ = json.Marshal(info)
}

func (s *Server) baseInfoLocked() client.Info {
	o := s.options
	host, port := o.Host, o.Port
	if s.listener != nil {
		if h, p, ok := splitHostPort(s.listener.Addr()); ok {
			host, port = h, p
		}
	}
	info := client.Info{
		ID:           s.id,
		Name:         s.nameLocked(),
		Version:      Version,
		Proto:        ProtocolVersion,
		GoVersion:    runtime.Version(),
		Host:         host,
		Port:         port,
		Headers:      !o.NoHeaderSupport,
		AuthRequired: s.auth != nil && s.auth.required(),
		MaxPayload:   o.MaxPayload,
		LameDuckMode: s.lameDuck,
		// As the reference: JetStream and its domain come from the options, the API
		// level is always advertised.
		JetStream: o.JetStream,
		Domain:    o.JetStreamDomain,
		APILevel:  jsapi.APILevel,
		Cluster:   o.Cluster.Name,
	}
	if s.tlsConfig != nil {
		// allow_non_tls advertises TLS as available instead of required.
		info.TLSRequired = !o.AllowNonTLS
		info.TLSAvailable = o.AllowNonTLS
		info.TLSVerify = s.tlsConfig.ClientAuth == tls.RequireAndVerifyClientCert
	}
	// connect_urls stays empty: the reference fills it (client_advertise included)
	// only from cluster routes, and a standalone server's client would otherwise
	// learn a second URL for the same server, which, among other things, lets a TLS
	// client that failed hostname verification on an IP retry by the advertised name.
	return info
}

// acceptClient is the listener's callback for a new connection.
func (s *Server) acceptClient(conn env.Conn) {
	s.mu.Lock()
	if !s.running || s.shuttingDown || s.lameDuck {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.nextClientID++
	c := newClientConn(s, conn, s.nextClientID, s.options)
	// A negative max_connections refuses every client, as in the reference.
	tooMany := s.options.MaxConn < 0 || (s.options.MaxConn > 0 && len(s.clients) >= s.options.MaxConn)
	if !tooMany {
		s.clients[c.id] = c
	}
	s.mu.Unlock()
	s.totalConnections.Add(1)
	c.begin(tooMany)
}

// removeClient forgets a closed connection and remembers it for /connz state=closed.
func (s *Server) removeClient(c *clientConn, info *ConnInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.id]; !ok {
		return
	}
	delete(s.clients, c.id)
	closedMax := s.options.MaxClosedClients
	if closedMax <= 0 {
		closedMax = closedClientsMaxDefault
	}
	if len(s.closedClients) < closedMax {
		s.closedClients = append(s.closedClients, info)
		return
	}
	s.closedClients[s.closedNext] = info
	s.closedNext = (s.closedNext + 1) % closedMax
}

// ErrNotSupported: the options ask for a feature this server does not have yet.
var ErrNotSupported = errors.New("not supported by this server yet")

// checkSupported refuses options for listeners this server cannot serve yet, so that
// a client or harness fails at once instead of waiting for a port that never opens
// or talking plain text to a TLS client.
func checkSupported(o *opts.Options) error {
	switch {
	case o.Cluster.Port != 0:
		return fmt.Errorf("cluster: %w", ErrNotSupported)
	case o.Gateway.Port != 0:
		return fmt.Errorf("gateway: %w", ErrNotSupported)
	case o.LeafNode.Port != 0 || len(o.LeafNode.Remotes) > 0:
		return fmt.Errorf("leafnodes: %w", ErrNotSupported)
	case checkWebsocketOptions(o) != nil:
		return checkWebsocketOptions(o)
	case o.MQTT.Port != 0:
		return fmt.Errorf("mqtt: %w", ErrNotSupported)
	}
	return nil
}

func sortStrings(values []string) { slices.Sort(values) }
