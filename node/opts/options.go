// Package opts owns the server's configuration: the Options struct with the reference
// server's field names and defaults, the mapping from a parsed config file (proto/conf)
// to Options, the command-line flags, and the reload diff that says which changed keys
// can be applied to a running server.
//
// The package is pure: it never touches the file system, the environment or the clock.
// Callers hand it the bytes of the main config file and callbacks to read included files
// and look up environment variables. It must not import node/ or anything above it.
package opts

import (
	"time"

	"github.com/natsim/natsim/proto/conf"
)

// Defaults of the reference server (server/const.go), kept under the same meaning.
const (
	// DefaultPort is the client port.
	DefaultPort = 4222
	// RandomPort asks the listener for any free port (flag `-p -1`, config `port: -1`).
	RandomPort = -1
	// DefaultHost is the address the client listener binds when none is given.
	DefaultHost = "0.0.0.0"
	// DefaultHTTPPort is the monitoring port used by `-m 8222` style setups.
	DefaultHTTPPort = 8222
	// DefaultHTTPBasePath is the prefix of every monitoring endpoint.
	DefaultHTTPBasePath = "/"
	// DefaultLeafNodePort is the port for leaf node connections.
	DefaultLeafNodePort = 7422
	// DefaultMQTTPort is the conventional MQTT port.
	DefaultMQTTPort = 1883
	// DefaultMaxConnections is the maximum number of client connections (64K).
	DefaultMaxConnections = 64 * 1024
	// DefaultMaxControlLineBytes is the longest protocol line a client may send.
	DefaultMaxControlLineBytes = 4096
	// DefaultMaxPayloadBytes is the largest message payload (1MB).
	DefaultMaxPayloadBytes = 1024 * 1024
	// MaxPayloadWarningBytes is the max_payload above which the reference warns (8MB).
	MaxPayloadWarningBytes = 8 * 1024 * 1024
	// DefaultMaxPendingBytes is the per-connection outbound buffer limit (64MB).
	DefaultMaxPendingBytes = 64 * 1024 * 1024
	// DefaultPingInterval is how often the server pings an idle client.
	DefaultPingInterval = 2 * time.Minute
	// DefaultMaxPingsOut is the number of unanswered pings before "Stale Connection".
	DefaultMaxPingsOut = 2
	// DefaultAuthTimeoutSeconds is how long a client has to send CONNECT when auth is on.
	DefaultAuthTimeoutSeconds = 2.0
	// DefaultTLSTimeoutSeconds is the TLS handshake timeout.
	DefaultTLSTimeoutSeconds = 2.0
	// DefaultWriteDeadline is how long a flush may block before the client is a slow consumer.
	DefaultWriteDeadline = 10 * time.Second
	// DefaultLameDuckDuration is how long lame duck mode spreads client closes over.
	DefaultLameDuckDuration = 2 * time.Minute
	// DefaultLameDuckGracePeriod is the wait before lame duck mode starts closing clients.
	DefaultLameDuckGracePeriod = 10 * time.Second
	// DefaultMaxClosedClients is how many closed connections /connz remembers.
	DefaultMaxClosedClients = 10000
	// DefaultConnectErrorReports is the number of failed first connect attempts to a
	// route, gateway or leaf node between two error reports.
	DefaultConnectErrorReports = 3600
	// DefaultReconnectErrorReports is the same for reconnect attempts.
	DefaultReconnectErrorReports = 1
	// DefaultGlobalAccount is the account of clients that name none.
	DefaultGlobalAccount = "$G"
	// DefaultSystemAccount is the system account's name.
	DefaultSystemAccount = "$SYS"
	// DefaultJetStreamSyncInterval is how often the file store fsyncs when not sync_always.
	DefaultJetStreamSyncInterval = 2 * time.Minute
	// DefaultLeafNodeReconnect is the wait between attempts to reconnect a leaf node.
	DefaultLeafNodeReconnect = time.Second
	// DefaultRoutePoolSize is the number of route connections per peer.
	DefaultRoutePoolSize = 3
	// DefaultMaxAccountLimit marks an account limit as unlimited.
	DefaultMaxAccountLimit = -1
	// JetStreamLimitUnlimited marks a JetStream account limit as unlimited.
	JetStreamLimitUnlimited = -1
	// DefaultResponseMaxMsgs is allow_responses' default message count.
	DefaultResponseMaxMsgs = 1
	// DefaultResponseExpires is allow_responses' default expiry.
	DefaultResponseExpires = 2 * time.Minute
	// DefaultServiceResponseThreshold is how long an exported service may take to
	// respond before its response mapping is dropped.
	DefaultServiceResponseThreshold = 2 * time.Minute
)

// Options is the whole server configuration, with the reference server's field names.
// Durations are time.Duration; timeouts the reference keeps as float seconds
// (AuthTimeout, TLSTimeout) stay float seconds here so that monitoring output matches.
type Options struct {
	// ConfigFile is the path of the config file the options came from, if any.
	ConfigFile string
	// ConfigDigest is "sha256:<hex>" of the parsed config file, computed as the
	// reference does (its JSON encoding), for /varz config_digest and -t.
	ConfigDigest string
	// ServerName is server_name; empty means the server ID.
	ServerName string
	// ServerTags is server_tags.
	ServerTags []string
	// ServerMetadata is server_metadata.
	ServerMetadata map[string]string
	// Host is the client listener's address (host, net, listen, -a).
	Host string
	// Port is the client port; RandomPort picks a free one, 0 means DefaultPort.
	Port int
	// ClientAdvertise is the host:port advertised to clients in connect_urls.
	ClientAdvertise string

	// Logging.
	Trace           bool
	TraceVerbose    bool
	TraceHeaders    bool
	Debug           bool
	NoLog           bool
	NoSigs          bool
	Logtime         bool
	LogtimeUTC      bool
	LogFile         string
	LogSizeLimit    int64
	LogMaxFiles     int64
	Syslog          bool
	RemoteSyslog    string
	MaxTracedMsgLen int
	PidFile         string
	PortsFileDir    string

	// Limits.
	MaxConn        int
	MaxSubs        int
	MaxSubTokens   uint8
	MaxControlLine int32
	MaxPayload     int32
	MaxPending     int64
	PingInterval   time.Duration
	MaxPingsOut    int
	WriteDeadline  time.Duration
	// WriteTimeout is write_timeout: what a stalled write does ("default", "retry",
	// "close"); empty is the default.
	WriteTimeout          string
	MaxClosedClients      int
	NoFastProducerStall   bool
	NoSublistCache        bool
	NoHeaderSupport       bool
	DisableShortFirstPing bool

	// Authentication and accounts. Users and Nkeys hold every user, including those
	// defined inside accounts (their Account field names the account).
	Username      string
	Password      string
	Authorization string
	AuthTimeout   float64
	Users         []*User
	Nkeys         []*NkeyUser
	NoAuthUser    string
	Accounts      []*Account
	// SystemAccount is system_account; empty means the server uses DefaultSystemAccount
	// unless NoSystemAccount is set.
	SystemAccount   string
	NoSystemAccount bool
	// DefaultPermissions is authorization.default_permissions, already applied to the
	// users of the authorization block that had none.
	DefaultPermissions *Permissions
	// AuthCallout is authorization.auth_callout, kept for a later issue.
	AuthCallout *AuthCallout
	// Mappings is the top-level mappings block (subject transforms of the global account).
	Mappings []*Mapping
	// DefaultSentinel is default_sentinel, a bearer JWT for users without credentials.
	DefaultSentinel string

	// Operator mode, kept for a later issue.
	TrustedKeys            []string
	TrustedOperators       []string
	AccountResolver        *ResolverOpts
	ResolverPreloads       map[string]string
	ResolverPinnedAccounts []string

	// Monitoring.
	HTTPHost      string
	HTTPPort      int
	HTTPSPort     int
	HTTPBasePath  string
	ProfPort      int
	ProfBlockRate int

	// TLS for client connections.
	TLS               bool
	TLSVerify         bool
	TLSMap            bool
	TLSCert           string
	TLSKey            string
	TLSCaCert         string
	TLSTimeout        float64
	TLSConfig         *TLSConfigOpts
	AllowNonTLS       bool
	TLSHandshakeFirst bool

	// Topology, kept for their issues.
	Cluster               ClusterOpts
	Gateway               GatewayOpts
	LeafNode              LeafNodeOpts
	Websocket             WebsocketOpts
	MQTT                  MQTTOpts
	Routes                []string
	RoutesStr             string
	ConnectErrorReports   int
	ReconnectErrorReports int
	LameDuckDuration      time.Duration
	LameDuckGracePeriod   time.Duration

	// JetStream.
	JetStream                  bool
	JetStreamStrict            bool
	JetStreamMaxMemory         int64
	JetStreamMaxStore          int64
	JetStreamDomain            string
	JetStreamExtHint           string
	JetStreamKey               string
	JetStreamOldKey            string
	JetStreamCipher            string
	JetStreamUniqueTag         string
	JetStreamLimits            JetStreamLimitsOpts
	JetStreamMaxCatchup        int64
	JetStreamRequestQueueLimit int64
	StoreDir                   string
	SyncInterval               time.Duration
	SyncAlways                 bool
	// JsAccDefaultDomain maps an account to its default JetStream domain
	// (default_js_domain).
	JsAccDefaultDomain map[string]string

	// CheckConfig is set by `-t`: check the config file and exit.
	CheckConfig bool

	// Deferred holds the values of keys whose features later issues implement, as
	// parsed: top-level keys by name ("ocsp", "proxies", "feature_flags", ...) and block
	// keys as "block.key" ("jetstream.tpm").
	Deferred map[string]*conf.Value
	// Warnings are the config file's accepted but deprecated forms, such as a duration
	// given as a number of seconds; the server logs them.
	Warnings []error

	// inConfig and inCmdLine record which options the file and the flags set
	// explicitly; MergeOptions and the reload diff read them.
	inConfig  map[string]bool
	inCmdLine map[string]bool
}

// User is a user of the users list (authorization or an account), with a password
// that may be a bcrypt hash ("$2a$..."), kept as given: the server compares.
type User struct {
	Username    string
	Password    string
	Permissions *Permissions
	// Account is the name of the account the user belongs to; empty is the global one.
	Account string
	// AllowedConnectionTypes holds the upper-case names of allowed_connection_types;
	// nil allows every type.
	AllowedConnectionTypes map[string]struct{}
	ProxyRequired          bool
}

// NkeyUser is a user authenticated by a signed nonce.
type NkeyUser struct {
	Nkey                   string
	Permissions            *Permissions
	Account                string
	SigningKey             string
	AllowedConnectionTypes map[string]struct{}
	ProxyRequired          bool
}

// Permissions are a user's publish and subscribe permissions and allow_responses.
type Permissions struct {
	Publish   *SubjectPermission
	Subscribe *SubjectPermission
	Response  *ResponsePermission
}

// SubjectPermission is an allow list and a deny list of subjects (wildcards allowed;
// subscribe entries may be "subject queue").
type SubjectPermission struct {
	Allow []string
	Deny  []string
}

// ResponsePermission lets a user publish to the reply subjects of requests it received:
// at most MaxMsgs replies per request, within Expires.
type ResponsePermission struct {
	MaxMsgs int
	Expires time.Duration
}

// Account is one entry of the accounts block.
type Account struct {
	Name string
	// Nkey is the account's public nkey, if given.
	Nkey string
	// NameTag is the name in the account's JWT (operator mode), for monitoring.
	NameTag string
	// Users and Nkeys are the account's users; the same pointers are in Options.Users
	// and Options.Nkeys.
	Users              []*User
	Nkeys              []*NkeyUser
	Exports            []*Export
	Imports            []*Import
	DefaultPermissions *Permissions
	Mappings           []*Mapping
	Limits             AccountLimits
	// JetStream is nil when JetStream is not enabled for the account.
	JetStream *JetStreamAccountLimits
	// MsgTrace is msg_trace, kept for a later issue.
	MsgTrace *MsgTraceOpts
}

// AccountLimits are an account's connection limits; -1 means unlimited.
type AccountLimits struct {
	MaxConnections   int
	MaxSubscriptions int
	MaxPayload       int
	MaxLeafNodes     int
}

// JetStreamAccountLimits are an account's JetStream limits; -1 means unlimited.
type JetStreamAccountLimits struct {
	MaxMemory            int64
	MaxStore             int64
	MaxStreams           int
	MaxConsumers         int
	MaxAckPending        int
	MemoryMaxStreamBytes int64
	StoreMaxStreamBytes  int64
	MaxBytesRequired     bool
	ClusterTraffic       string
}

// MsgTraceOpts is an account's msg_trace block.
type MsgTraceOpts struct {
	Destination string
	Sampling    int
}

// ExportResponseType is how many responses an exported service sends per request.
type ExportResponseType string

// Service response types, as spelled in the config and the reference.
const (
	ResponseTypeSingleton ExportResponseType = "Singleton"
	ResponseTypeStream    ExportResponseType = "Stream"
	ResponseTypeChunked   ExportResponseType = "Chunked"
)

// Export is a stream or service export of an account.
type Export struct {
	// Subject is the exported subject.
	Subject string
	// Service is true for a service export, false for a stream export.
	Service bool
	// Accounts restricts the export to these accounts; empty is public.
	Accounts          []string
	ResponseType      ExportResponseType
	ResponseThreshold time.Duration
	// Latency is service latency tracking; nil when off.
	Latency              *ServiceLatency
	AccountTokenPosition uint
	AllowTrace           bool
}

// ServiceLatency says where latency samples of an exported service go.
type ServiceLatency struct {
	SamplingPercent int
	// SamplingHeaders is true for `sampling: headers`.
	SamplingHeaders bool
	Subject         string
}

// Import is a stream or service import from another account.
type Import struct {
	// Account is the exporting account.
	Account string
	// Subject is the exported subject being imported.
	Subject string
	// Service is true for a service import.
	Service bool
	// Prefix is a stream import's local prefix (legacy).
	Prefix string
	// To is the local subject (service imports and, for streams, the mapping target).
	To         string
	Share      bool
	AllowTrace bool
}

// Mapping maps a source subject to one or more weighted destinations.
type Mapping struct {
	Source       string
	Destinations []*MappingDestination
}

// MappingDestination is one weighted destination of a mapping.
type MappingDestination struct {
	Subject string
	// Weight is a percentage; the weights of a mapping sum to at most 100.
	Weight  uint8
	Cluster string
}

// AuthCallout is authorization.auth_callout.
type AuthCallout struct {
	Issuer          string
	Account         string
	AuthUsers       []string
	XKey            string
	AllowedAccounts []string
}

// ResolverOpts is the account resolver configuration.
type ResolverOpts struct {
	// Type is MEMORY, URL, full or cache.
	Type        string
	URL         string
	Dir         string
	AllowDelete bool
	HardDelete  bool
	Limit       int64
	TTL         time.Duration
	Interval    time.Duration
	Timeout     time.Duration
}

// TLSConfigOpts is a parsed tls block; the server builds a crypto/tls config from it.
type TLSConfigOpts struct {
	CertFile          string
	KeyFile           string
	CaFile            string
	Verify            bool
	Insecure          bool
	Map               bool
	TLSCheckKnownURLs bool
	HandshakeFirst    bool
	// FallbackDelay is handshake_first's fallback delay when given as a duration.
	FallbackDelay    time.Duration
	Timeout          float64
	RateLimit        int64
	Ciphers          []string
	CurvePreferences []string
	PinnedCerts      []string
	MinVersion       string
	CertMatch        string
	CertMatchBy      string
	CertStore        string
}

// ClusterOpts is the cluster block.
type ClusterOpts struct {
	Name           string
	Host           string
	Port           int
	Username       string
	Password       string
	AuthTimeout    float64
	Permissions    *RoutePermissions
	TLSConfig      *TLSConfigOpts
	TLSTimeout     float64
	ListenStr      string
	Advertise      string
	NoAdvertise    bool
	ConnectRetries int
	ConnectBackoff bool
	PoolSize       int
	PinnedAccounts []string
	Compression    string
	PingInterval   time.Duration
	MaxPingsOut    int
	WriteDeadline  time.Duration
	// Routes are the route URLs, as given.
	Routes []string
}

// RoutePermissions are the import and export permissions of routes.
type RoutePermissions struct {
	Import *SubjectPermission
	Export *SubjectPermission
}

// GatewayOpts is the gateway block.
type GatewayOpts struct {
	Name           string
	Host           string
	Port           int
	Username       string
	Password       string
	AuthTimeout    float64
	TLSConfig      *TLSConfigOpts
	TLSTimeout     float64
	Advertise      string
	ConnectRetries int
	ConnectBackoff bool
	Gateways       []*RemoteGatewayOpts
	RejectUnknown  bool
	WriteDeadline  time.Duration
}

// RemoteGatewayOpts is one entry of gateway.gateways.
type RemoteGatewayOpts struct {
	Name       string
	TLSConfig  *TLSConfigOpts
	TLSTimeout float64
	// URLs are the remote gateway URLs, as given.
	URLs []string
}

// LeafNodeOpts is the leafnodes block.
type LeafNodeOpts struct {
	Host                    string
	Port                    int
	Username                string
	Password                string
	Account                 string
	Users                   []*User
	Nkey                    string
	AuthTimeout             float64
	TLSConfig               *TLSConfigOpts
	TLSTimeout              float64
	Advertise               string
	NoAdvertise             bool
	ReconnectInterval       time.Duration
	DialTimeout             time.Duration
	MinVersion              string
	Compression             string
	IsolateLeafnodeInterest bool
	WriteDeadline           time.Duration
	Remotes                 []*RemoteLeafOpts
}

// RemoteLeafOpts is one entry of leafnodes.remotes.
type RemoteLeafOpts struct {
	LocalAccount string
	NoRandomize  bool
	// URLs are the remote URLs, as given.
	URLs                    []string
	Credentials             string
	Nkey                    string
	TLS                     bool
	TLSConfig               *TLSConfigOpts
	TLSTimeout              float64
	Hub                     bool
	DenyImports             []string
	DenyExports             []string
	FirstInfoTimeout        time.Duration
	DialTimeout             time.Duration
	Disabled                bool
	Compression             string
	JetStreamClusterMigrate bool
	RequestIsolation        bool
	Websocket               struct {
		Compression bool
		NoMasking   bool
	}
}

// WebsocketOpts is the websocket block.
type WebsocketOpts struct {
	Host             string
	Port             int
	Advertise        string
	NoAuthUser       string
	JWTCookie        string
	UsernameCookie   string
	PasswordCookie   string
	TokenCookie      string
	Username         string
	Password         string
	Token            string
	Users            []*User
	Nkeys            []*NkeyUser
	AuthTimeout      float64
	NoTLS            bool
	TLSConfig        *TLSConfigOpts
	SameOrigin       bool
	AllowedOrigins   []string
	Compression      bool
	HandshakeTimeout time.Duration
	PingInterval     time.Duration
	Headers          map[string]string
}

// MQTTOpts is the mqtt block.
type MQTTOpts struct {
	Host                      string
	Port                      int
	NoAuthUser                string
	Username                  string
	Password                  string
	Token                     string
	Users                     []*User
	Nkeys                     []*NkeyUser
	JsDomain                  string
	StreamReplicas            int
	ConsumerReplicas          int
	ConsumerMemoryStorage     bool
	ConsumerInactiveThreshold time.Duration
	AuthTimeout               float64
	TLSConfig                 *TLSConfigOpts
	TLSTimeout                float64
	AckWait                   time.Duration
	JSAPITimeout              time.Duration
	MaxAckPending             uint16
	RejectQoS2Pub             bool
	DowngradeQoS2Sub          bool
}

// JetStreamLimitsOpts is jetstream.limits: server-wide caps on what streams and
// consumers may ask for; zero means no cap.
type JetStreamLimitsOpts struct {
	MaxRequestBatch           int
	MaxAckPending             int
	MaxHAAssets               int
	Duplicates                time.Duration
	DefaultMaxConsumers       int
	MaxBatchInflightPerStream int
	MaxBatchInflightTotal     int
	MaxBatchSize              int
	MaxBatchTimeout           time.Duration
}

// Default returns the options of a server started with no config file and no flags.
func Default() *Options {
	o := &Options{}
	o.SetDefaults()
	return o
}

// SetDefaults fills every zero-valued option with its default, as the reference's
// setBaselineOptions does; explicit values are kept.
func (o *Options) SetDefaults() {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.HTTPHost == "" {
		o.HTTPHost = o.Host
	}
	if o.HTTPBasePath == "" {
		o.HTTPBasePath = DefaultHTTPBasePath
	}
	if o.MaxConn == 0 {
		o.MaxConn = DefaultMaxConnections
	}
	if o.MaxControlLine == 0 {
		o.MaxControlLine = DefaultMaxControlLineBytes
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = DefaultMaxPayloadBytes
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPendingBytes
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxPingsOut == 0 {
		o.MaxPingsOut = DefaultMaxPingsOut
	}
	if o.TLSTimeout == 0 {
		o.TLSTimeout = DefaultTLSTimeoutSeconds
	}
	if o.AuthTimeout == 0 {
		o.AuthTimeout = defaultAuthTimeout(o.TLSConfig, o.TLSTimeout)
	}
	if o.WriteDeadline == 0 {
		o.WriteDeadline = DefaultWriteDeadline
	}
	if o.MaxClosedClients == 0 {
		o.MaxClosedClients = DefaultMaxClosedClients
	}
	if o.LameDuckDuration == 0 {
		o.LameDuckDuration = DefaultLameDuckDuration
	}
	if o.LameDuckGracePeriod == 0 {
		o.LameDuckGracePeriod = DefaultLameDuckGracePeriod
	}
	if o.ConnectErrorReports == 0 {
		o.ConnectErrorReports = DefaultConnectErrorReports
	}
	if o.ReconnectErrorReports == 0 {
		o.ReconnectErrorReports = DefaultReconnectErrorReports
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultJetStreamSyncInterval
	}
	// JetStream limits the file did not set mean "whatever the machine has".
	// The JetStream API decodes strictly unless the file says strict: false.
	if !o.inConfig["JetStreamStrict"] {
		o.JetStreamStrict = true
	}
	if o.JetStreamMaxMemory == 0 && !o.inConfig["JetStreamMaxMemory"] {
		o.JetStreamMaxMemory = JetStreamLimitUnlimited
	}
	if o.JetStreamMaxStore == 0 && !o.inConfig["JetStreamMaxStore"] {
		o.JetStreamMaxStore = JetStreamLimitUnlimited
	}
	if o.Cluster.PoolSize == 0 {
		o.Cluster.PoolSize = DefaultRoutePoolSize
	}
	if o.Cluster.Port != 0 {
		setListenerDefaults(&o.Cluster.Host, &o.Cluster.TLSTimeout, &o.Cluster.AuthTimeout, o.Cluster.TLSConfig)
	}
	if o.Gateway.Port != 0 {
		setListenerDefaults(&o.Gateway.Host, &o.Gateway.TLSTimeout, &o.Gateway.AuthTimeout, o.Gateway.TLSConfig)
	}
	if o.LeafNode.Port != 0 {
		setListenerDefaults(&o.LeafNode.Host, &o.LeafNode.TLSTimeout, &o.LeafNode.AuthTimeout, o.LeafNode.TLSConfig)
	}
	// The reconnect interval applies to solicited leaf connections, listener or not.
	if o.LeafNode.ReconnectInterval == 0 {
		o.LeafNode.ReconnectInterval = DefaultLeafNodeReconnect
	}
	if o.Websocket.Port != 0 && o.Websocket.Host == "" {
		o.Websocket.Host = DefaultHost
	}
	if o.MQTT.Port != 0 {
		if o.MQTT.Host == "" {
			o.MQTT.Host = DefaultHost
		}
		if o.MQTT.TLSTimeout == 0 {
			o.MQTT.TLSTimeout = DefaultTLSTimeoutSeconds
		}
	}
}

// setListenerDefaults gives a cluster, gateway or leaf node listener the reference's
// host, TLS timeout and auth timeout defaults.
func setListenerDefaults(host *string, tlsTimeout, authTimeout *float64, tls *TLSConfigOpts) {
	if *host == "" {
		*host = DefaultHost
	}
	if *tlsTimeout == 0 {
		*tlsTimeout = DefaultTLSTimeoutSeconds
	}
	if *authTimeout == 0 {
		*authTimeout = defaultAuthTimeout(tls, *tlsTimeout)
	}
}

// defaultAuthTimeout is the reference's: with TLS, the handshake time plus a second, so
// a slow handshake does not eat the whole authentication window.
func defaultAuthTimeout(tls *TLSConfigOpts, tlsTimeout float64) float64 {
	if tls != nil {
		return tlsTimeout + 1
	}
	return DefaultAuthTimeoutSeconds
}
