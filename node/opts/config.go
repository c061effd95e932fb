package opts

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/natsim/natsim/proto/conf"
)

// ProcessConfig parses a config file and returns the options it sets, without
// defaults (call SetDefaults, or merge flags first). The name is used in error
// messages and to resolve includes through readFile; lookupEnv resolves `$VAR`
// references no block defines. Either callback may be nil.
//
// Every problem of the file is reported at once in a *ProcessConfigError whose lines
// read `file:line:column: reason`. Warnings alone are not an error; they are kept in
// Options.Warnings.
func ProcessConfig(data []byte, name string, readFile func(string) ([]byte, error), lookupEnv func(string) (string, bool)) (*Options, error) {
	o := &Options{}
	if err := o.ProcessConfig(data, name, conf.Source{ReadFile: readFile, LookupEnv: lookupEnv}); err != nil {
		return nil, err
	}
	return o, nil
}

// ProcessConfig applies a config file over the options already in o: what the file
// sets replaces them, what it does not set is kept. Users, nkeys and accounts are
// appended, so each load (and each reload) should start from fresh Options.
func (o *Options) ProcessConfig(data []byte, name string, source conf.Source) error {
	o.ConfigFile = name
	tree, err := conf.Parse(data, name, source)
	if err != nil {
		return err
	}
	o.ConfigDigest = configDigest(tree)
	r := &reader{}
	// The system account is read first, as in the reference, because other blocks
	// (accounts, exports with latency) check it.
	for _, key := range []string{"system_account", "system"} {
		if e := tree.Get(key); e != nil {
			if name, ok := r.str(e); ok {
				o.SystemAccount = name
			}
			break
		}
	}
	for _, e := range tree.Entries {
		o.processTopLevel(r, e)
	}
	o.checkConsistency(r, tree)
	o.Warnings = r.warnings
	if len(r.errors) > 0 {
		return &ProcessConfigError{Errors: r.errors, Warnings: r.warnings}
	}
	return nil
}

// minLameDuckDuration is the shortest lame_duck_duration the reference accepts.
const minLameDuckDuration = 30 * time.Second

// deferredKeys are top-level keys of features later issues implement; their values are
// kept as parsed in Options.Deferred.
var deferredKeys = map[string]string{
	"ocsp":           "ocsp",
	"ocsp_cache":     "ocsp_cache",
	"proxy_protocol": "proxy_protocol",
	"proxies":        "proxies",
	"feature_flags":  "feature_flags",
	"resolver_tls":   "resolver_tls",
}

func (o *Options) keep(key string, v *conf.Value) {
	if o.Deferred == nil {
		o.Deferred = make(map[string]*conf.Value)
	}
	o.Deferred[key] = v
}

func (o *Options) markInConfig(name string, value bool) {
	if o.inConfig == nil {
		o.inConfig = make(map[string]bool)
	}
	o.inConfig[name] = value
}

// processTopLevel maps one top-level key (processConfigFileLine in the reference).
func (o *Options) processTopLevel(r *reader, e *conf.Entry) {
	key := strings.ToLower(e.Key)
	if canonical, ok := deferredKeys[key]; ok {
		o.keep(canonical, e.Value)
		return
	}
	switch key {
	case "listen":
		if hp, ok := r.listen(e); ok {
			o.Host, o.Port = hp.host, hp.port
		}
	case "port":
		if n, ok := r.integer(e); ok {
			o.Port = int(n)
		}
	case "host", "net":
		if s, ok := r.str(e); ok {
			o.Host = s
		}
	case "client_advertise":
		if s, ok := r.str(e); ok {
			o.ClientAdvertise = s
		}
	case "server_name":
		if s, ok := r.str(e); ok {
			if strings.ContainsAny(s, " \t\r\n") {
				r.fail(e.KeyPos, "server name %q can not contain spaces", s)
				return
			}
			o.ServerName = s
		}
	case "server_tags":
		if tags, ok := r.stringList(e); ok {
			o.ServerTags = append(o.ServerTags, tags...)
		}
	case "server_metadata":
		o.processServerMetadata(r, e)
	default:
		if !o.processLogging(r, e, key) && !o.processLimits(r, e, key) && !o.processMonitoring(r, e, key) &&
			!o.processAuthKeys(r, e, key) && !o.processTopology(r, e, key) {
			r.unknown(e)
		}
	}
}

func (o *Options) processServerMetadata(r *reader, e *conf.Entry) {
	m, ok := r.block(e, "server_metadata")
	if !ok {
		return
	}
	o.ServerMetadata = make(map[string]string, m.Len())
	for _, item := range m.Entries {
		if s, ok := r.str(item); ok {
			o.ServerMetadata[item.Key] = s
		}
	}
}

// processLogging maps the logging keys; it reports whether key was one of them.
func (o *Options) processLogging(r *reader, e *conf.Entry, key string) bool {
	setBool := func(target *bool, name string) {
		if b, ok := r.boolean(e); ok {
			*target = b
			o.markInConfig(name, b)
		}
	}
	setString := func(target *string) {
		if s, ok := r.str(e); ok {
			*target = s
		}
	}
	switch key {
	case "debug":
		setBool(&o.Debug, "Debug")
	case "trace":
		setBool(&o.Trace, "Trace")
	case "trace_verbose":
		setBool(&o.TraceVerbose, "TraceVerbose")
		if o.TraceVerbose {
			o.Trace = true
			o.markInConfig("Trace", true)
		}
	case "trace_headers":
		setBool(&o.TraceHeaders, "TraceHeaders")
		if o.TraceHeaders {
			o.Trace = true
			o.markInConfig("Trace", true)
		}
	case "logtime":
		setBool(&o.Logtime, "Logtime")
	case "logtime_utc":
		setBool(&o.LogtimeUTC, "LogtimeUTC")
	case "syslog":
		setBool(&o.Syslog, "Syslog")
	case "logfile", "log_file":
		setString(&o.LogFile)
	case "remote_syslog":
		setString(&o.RemoteSyslog)
	case "pidfile", "pid_file":
		setString(&o.PidFile)
	case "ports_file_dir":
		setString(&o.PortsFileDir)
	case "logfile_size_limit", "log_size_limit":
		if n, ok := r.integer(e); ok {
			o.LogSizeLimit = n
		}
	case "logfile_max_num", "log_max_num":
		if n, ok := r.integer(e); ok {
			o.LogMaxFiles = n
		}
	case "max_traced_msg_len":
		if n, ok := r.intRange(e, math.MinInt32, math.MaxInt32); ok {
			o.MaxTracedMsgLen = int(n)
		}
	default:
		return false
	}
	return true
}

// processLimits maps the connection limit keys; it reports whether key was one of them.
func (o *Options) processLimits(r *reader, e *conf.Entry, key string) bool {
	switch key {
	case "max_control_line":
		if n, ok := r.intRange(e, math.MinInt32, math.MaxInt32); ok {
			o.MaxControlLine = int32(n)
		}
	case "max_payload":
		if n, ok := r.intRange(e, math.MinInt32, math.MaxInt32); ok {
			o.MaxPayload = int32(n)
		}
	case "max_pending":
		if n, ok := r.integer(e); ok {
			o.MaxPending = n
		}
	case "max_connections", "max_conn":
		if n, ok := r.intRange(e, math.MinInt32, math.MaxInt32); ok {
			o.MaxConn = int(n)
		}
	case "max_subscriptions", "max_subs":
		if n, ok := r.intRange(e, math.MinInt32, math.MaxInt32); ok {
			o.MaxSubs = int(n)
		}
	case "max_sub_tokens", "max_subscription_tokens":
		n, ok := r.integer(e)
		switch {
		case !ok:
		case n > math.MaxUint8:
			r.fail(e.KeyPos, "%s value is too big", e.Key)
		case n <= 0:
			r.fail(e.KeyPos, "%s value can not be negative", e.Key)
		default:
			o.MaxSubTokens = uint8(n)
		}
	case "ping_interval":
		if d, ok := r.duration(e); ok {
			o.PingInterval = d
		}
	case "ping_max":
		if n, ok := r.intRange(e, math.MinInt32, math.MaxInt32); ok {
			o.MaxPingsOut = int(n)
		}
	case "write_deadline":
		if d, ok := r.duration(e); ok {
			o.WriteDeadline = d
		}
	case "write_timeout":
		if s, ok := r.str(e); ok {
			switch strings.ToLower(s) {
			case "default", "retry", "close":
				o.WriteTimeout = strings.ToLower(s)
			default:
				r.fail(e.KeyPos, "write_timeout must be one of 'default', 'retry' or 'close', got %q", s)
			}
		}
	case "max_closed_clients":
		if n, ok := r.intRange(e, math.MinInt32, math.MaxInt32); ok {
			o.MaxClosedClients = int(n)
		}
	case "no_fast_producer_stall":
		if b, ok := r.boolean(e); ok {
			o.NoFastProducerStall = b
		}
	case "disable_sublist_cache", "no_sublist_cache":
		if b, ok := r.boolean(e); ok {
			o.NoSublistCache = b
		}
	case "no_header_support":
		if b, ok := r.boolean(e); ok {
			o.NoHeaderSupport = b
		}
	case "lame_duck_duration":
		if d, ok := r.strictDuration(e); ok {
			if d < minLameDuckDuration {
				r.fail(e.KeyPos, "invalid lame_duck_duration of %v, minimum is 30 seconds", d)
				return true
			}
			o.LameDuckDuration = d
		}
	case "lame_duck_grace_period":
		if d, ok := r.strictDuration(e); ok {
			if d < 0 {
				r.fail(e.KeyPos, "invalid lame_duck_grace_period, needs to be positive")
				return true
			}
			o.LameDuckGracePeriod = d
		}
	default:
		return false
	}
	return true
}

// processMonitoring maps the monitoring and TLS keys; it reports whether key was one.
func (o *Options) processMonitoring(r *reader, e *conf.Entry, key string) bool {
	switch key {
	case "http":
		if hp, ok := r.listen(e); ok {
			o.HTTPHost, o.HTTPPort = hp.host, hp.port
		}
	case "https":
		if hp, ok := r.listen(e); ok {
			o.HTTPHost, o.HTTPSPort = hp.host, hp.port
		}
	case "http_port", "monitor_port":
		if n, ok := r.integer(e); ok {
			o.HTTPPort = int(n)
		}
	case "https_port":
		if n, ok := r.integer(e); ok {
			o.HTTPSPort = int(n)
		}
	case "http_base_path":
		if s, ok := r.str(e); ok {
			o.HTTPBasePath = s
		}
	case "prof_port":
		if n, ok := r.integer(e); ok {
			o.ProfPort = int(n)
		}
	case "prof_block_rate":
		if n, ok := r.integer(e); ok {
			o.ProfBlockRate = int(n)
		}
	case "tls":
		if tc, ok := r.tls(e, true); ok {
			o.TLSConfig = tc
			o.TLS = true
			o.TLSCert, o.TLSKey, o.TLSCaCert = tc.CertFile, tc.KeyFile, tc.CaFile
			o.TLSVerify, o.TLSMap = tc.Verify, tc.Map
			o.TLSTimeout = tc.Timeout
			o.TLSHandshakeFirst = tc.HandshakeFirst
		}
	case "allow_non_tls":
		if b, ok := r.boolean(e); ok {
			o.AllowNonTLS = b
		}
	default:
		return false
	}
	return true
}

// processTopology maps the cluster, gateway, leaf node, websocket, MQTT and JetStream
// keys; it reports whether key was one of them.
func (o *Options) processTopology(r *reader, e *conf.Entry, key string) bool {
	switch key {
	case "cluster":
		o.processCluster(r, e)
	case "gateway":
		o.processGateway(r, e)
	case "leaf", "leafnodes":
		o.processLeafNodes(r, e)
	case "websocket", "ws":
		o.processWebsocket(r, e)
	case "mqtt":
		o.processMQTT(r, e)
	case "jetstream":
		o.processJetStream(r, e)
	case "store_dir", "storedir":
		if s, ok := r.str(e); ok {
			if o.inConfig["StoreDir"] {
				r.fail(e.KeyPos, "Duplicate 'store_dir' configuration")
				return true
			}
			o.StoreDir = s
			o.markInConfig("StoreDir", true)
		}
	case "default_js_domain":
		if m, ok := r.block(e, "default_js_domain"); ok {
			o.JsAccDefaultDomain = make(map[string]string, m.Len())
			for _, item := range m.Entries {
				if s, ok := r.str(item); ok {
					o.JsAccDefaultDomain[item.Key] = s
				}
			}
		}
	case "connect_error_reports":
		if n, ok := r.integer(e); ok {
			o.ConnectErrorReports = int(n)
		}
	case "reconnect_error_reports":
		if n, ok := r.integer(e); ok {
			o.ReconnectErrorReports = int(n)
		}
	default:
		return false
	}
	return true
}

// checkConsistency reports combinations the reference rejects once the whole file is
// read; it only runs on an otherwise valid file, so one mistake is not reported twice.
func (o *Options) checkConsistency(r *reader, tree *conf.Map) {
	if len(r.errors) > 0 {
		return
	}
	if err := o.Validate(); err != nil {
		pos := conf.Position{File: o.ConfigFile, Line: 1, Column: 1}
		if e := tree.Get("no_auth_user"); e != nil {
			pos = e.KeyPos
		}
		r.fail(pos, "%s", err.Error())
	}
}

// configDigest hashes the parsed file as the reference does: the SHA-256 of the JSON
// encoding (one json.Encoder line, map keys sorted) of its tree of plain values, so
// the same file gives the same digest as nats-server's.
func configDigest(tree *conf.Map) string {
	digest := sha256.New()
	if err := json.NewEncoder(digest).Encode(tree.Interface()); err != nil {
		return ""
	}
	return fmt.Sprintf("sha256:%x", digest.Sum(nil))
}
