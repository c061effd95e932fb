package opts

import (
	"math"
	"strings"
	"time"

	"github.com/natsim/natsim/proto/conf"
)

// defaultHandshakeFirstFallback is the delay of `handshake_first: auto`.
const defaultHandshakeFirstFallback = 50 * time.Millisecond

// keepNested keeps a key of a block whose feature a later issue implements.
func (o *Options) keepNested(block string, e *conf.Entry) {
	o.keep(block+"."+strings.ToLower(e.Key), e.Value)
}

// tls reads a tls block. clientContext is false for cluster and gateway blocks, where
// verify_cert_and_check_known_urls is allowed.
func (r *reader) tls(e *conf.Entry, clientContext bool) (*TLSConfigOpts, bool) {
	m, ok := r.block(e, "tls")
	if !ok {
		return nil, false
	}
	tc := &TLSConfigOpts{}
	before := len(r.errors)
	for _, item := range m.Entries {
		key := strings.ToLower(item.Key)
		expectFile := func(target *string) {
			if item.Value.Kind != conf.KindString {
				r.fail(item.KeyPos, "error parsing tls config, expected '%s' to be filename", key)
				return
			}
			*target = item.Value.String
		}
		expectBool := func() (bool, bool) {
			if item.Value.Kind != conf.KindBool {
				r.fail(item.KeyPos, "error parsing tls config, expected '%s' to be a boolean", key)
				return false, false
			}
			return item.Value.Bool, true
		}
		switch key {
		case "cert_file":
			expectFile(&tc.CertFile)
		case "key_file":
			expectFile(&tc.KeyFile)
		case "ca_file":
			expectFile(&tc.CaFile)
		case "insecure":
			tc.Insecure, _ = expectBool()
		case "verify":
			tc.Verify, _ = expectBool()
		case "verify_and_map":
			if b, ok := expectBool(); ok {
				tc.Map = b
				tc.Verify = tc.Verify || b
			}
		case "verify_cert_and_check_known_urls":
			if b, ok := expectBool(); ok {
				if b && clientContext {
					r.fail(item.KeyPos, "verify_cert_and_check_known_urls not supported in this context")
					continue
				}
				tc.TLSCheckKnownURLs = b
				tc.Verify = tc.Verify || b
			}
		case "cipher_suites":
			list, ok := r.stringList(item)
			if ok && len(list) == 0 {
				r.fail(item.KeyPos, "error parsing tls config, 'cipher_suites' cannot be empty")
			}
			tc.Ciphers = list
		case "curve_preferences":
			list, ok := r.stringList(item)
			if ok && len(list) == 0 {
				r.fail(item.KeyPos, "error parsing tls config, 'curve_preferences' cannot be empty")
			}
			tc.CurvePreferences = list
		case "timeout":
			switch item.Value.Kind {
			case conf.KindInteger, conf.KindFloat, conf.KindString:
				if item.Value.Kind == conf.KindString {
					if _, err := time.ParseDuration(item.Value.String); err != nil {
						r.fail(item.KeyPos, "error parsing tls config, 'timeout' %s", err)
						continue
					}
				}
				tc.Timeout, _ = r.seconds(item)
			default:
				r.fail(item.KeyPos, "error parsing tls config, 'timeout' wrong type")
			}
		case "connection_rate_limit":
			if item.Value.Kind != conf.KindInteger {
				r.fail(item.KeyPos, "error parsing tls config, 'connection_rate_limit' wrong type")
				continue
			}
			tc.RateLimit = item.Value.Integer
		case "pinned_certs":
			list, ok := r.stringList(item)
			if !ok {
				continue
			}
			for _, pin := range list {
				if !isSHA256Hex(pin) {
					r.fail(item.KeyPos, "error parsing tls config, 'pinned_certs' key %s does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo", strings.ToLower(pin))
				}
				tc.PinnedCerts = append(tc.PinnedCerts, strings.ToLower(pin))
			}
		case "handshake_first", "first", "immediate":
			switch item.Value.Kind {
			case conf.KindBool:
				tc.HandshakeFirst = item.Value.Bool
			case conf.KindString:
				text := strings.ToLower(item.Value.String)
				if text == "auto" || text == "auto_fallback" {
					tc.HandshakeFirst, tc.FallbackDelay = true, defaultHandshakeFirstFallback
					continue
				}
				d, err := time.ParseDuration(text)
				if err != nil {
					r.fail(item.KeyPos, "field %q's value %q is invalid", item.Key, item.Value.String)
					continue
				}
				tc.HandshakeFirst, tc.FallbackDelay = true, d
			default:
				r.fail(item.KeyPos, "field %q should be a boolean or a string, got %s", item.Key, item.Value.Kind)
			}
		case "min_version":
			tc.MinVersion, _ = r.str(item)
		case "cert_store":
			tc.CertStore, _ = r.str(item)
		case "cert_match_by":
			tc.CertMatchBy, _ = r.str(item)
		case "cert_match":
			tc.CertMatch, _ = r.str(item)
		case "ca_certs_match", "cert_match_skip_invalid", "ocsp_peer", "certs":
			// Windows certificate stores, OCSP peer checks and certificate lists come
			// with a later issue; their values are accepted and ignored here.
		default:
			r.fail(item.KeyPos, "error parsing tls config, unknown field %q", item.Key)
		}
	}
	return tc, len(r.errors) == before
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// urls reads a URL or a list of URLs, kept as given.
func (r *reader) urls(e *conf.Entry) []string {
	list, ok := r.stringList(e)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, u := range list {
		out = append(out, strings.TrimSpace(u))
	}
	return out
}

// compression reads a compression setting: a boolean, a mode string or {mode: x}.
func (r *reader) compression(e *conf.Entry) string {
	switch e.Value.Kind {
	case conf.KindBool:
		if e.Value.Bool {
			return "accept"
		}
		return "off"
	case conf.KindString:
		return e.Value.String
	case conf.KindMap:
		if mode := e.Value.Map.Get("mode"); mode != nil {
			s, _ := r.str(mode)
			return s
		}
		return ""
	}
	r.wrongType(e.KeyPos, e.Key, "a boolean, a string or a map", e.Value)
	return ""
}

func (o *Options) processCluster(r *reader, e *conf.Entry) {
	m, ok := r.block(e, "cluster")
	if !ok {
		return
	}
	c := &o.Cluster
	for _, item := range m.Entries {
		switch strings.ToLower(item.Key) {
		case "name":
			if s, ok := r.str(item); ok {
				if strings.ContainsAny(s, " \t\r\n") {
					r.fail(item.KeyPos, "cluster name cannot contain spaces or new lines")
					continue
				}
				c.Name = s
			}
		case "listen":
			if hp, ok := r.listen(item); ok {
				c.Host, c.Port = hp.host, hp.port
			}
		case "port":
			if n, ok := r.integer(item); ok {
				c.Port = int(n)
			}
		case "host", "net":
			c.Host, _ = r.str(item)
		case "authorization":
			auth, ok := r.authorization(item, false)
			if !ok {
				continue
			}
			if auth.users != nil {
				r.fail(item.KeyPos, "Cluster authorization does not allow multiple users")
				continue
			}
			if auth.token != "" {
				r.fail(item.KeyPos, "Cluster authorization does not support tokens")
				continue
			}
			c.Username, c.Password, c.AuthTimeout = auth.user, auth.pass, auth.timeout
			if auth.defaultPermissions != nil {
				r.warn(item.KeyPos, item.Key, `setting "permissions" within cluster authorization block is deprecated`)
				if c.Permissions == nil {
					c.Permissions = &RoutePermissions{Import: auth.defaultPermissions.Publish, Export: auth.defaultPermissions.Subscribe}
				}
			}
		case "routes":
			c.Routes = r.urls(item)
			o.Routes = c.Routes
		case "tls":
			if tc, ok := r.tls(item, false); ok {
				c.TLSConfig, c.TLSTimeout = tc, tc.Timeout
			}
		case "cluster_advertise", "advertise":
			c.Advertise, _ = r.str(item)
		case "no_advertise":
			if b, ok := r.boolean(item); ok {
				c.NoAdvertise = b
				o.markInConfig("Cluster.NoAdvertise", b)
			}
		case "connect_retries":
			if n, ok := r.integer(item); ok {
				c.ConnectRetries = int(n)
			}
		case "connect_backoff":
			c.ConnectBackoff, _ = r.boolean(item)
		case "permissions":
			perms, ok := r.permissions(item)
			if !ok {
				continue
			}
			if perms.Response != nil {
				r.fail(item.KeyPos, "Cluster permissions do not support dynamic responses")
				continue
			}
			c.Permissions = &RoutePermissions{Import: perms.Publish, Export: perms.Subscribe}
		case "pool_size":
			if n, ok := r.intRange(item, -1, math.MaxInt32); ok {
				c.PoolSize = int(n)
			}
		case "accounts":
			c.PinnedAccounts, _ = r.stringList(item)
		case "compression":
			c.Compression = r.compression(item)
		case "ping_interval":
			c.PingInterval, _ = r.duration(item)
		case "ping_max":
			if n, ok := r.integer(item); ok {
				c.MaxPingsOut = int(n)
			}
		case "write_deadline":
			c.WriteDeadline, _ = r.duration(item)
		default:
			r.unknown(item)
		}
	}
}

func (o *Options) processGateway(r *reader, e *conf.Entry) {
	if e.Value.Kind != conf.KindMap {
		r.fail(e.KeyPos, "Expected gateway to be a map, got %s", e.Value.Kind)
		return
	}
	g := &o.Gateway
	for _, item := range e.Value.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "name":
			if s, ok := r.str(item); ok {
				if strings.ContainsAny(s, " \t\r\n") {
					r.fail(item.KeyPos, "gateway name cannot contain spaces or new lines")
					continue
				}
				g.Name = s
			}
		case "listen":
			if hp, ok := r.listen(item); ok {
				g.Host, g.Port = hp.host, hp.port
			}
		case "port":
			if n, ok := r.integer(item); ok {
				g.Port = int(n)
			}
		case "host", "net":
			g.Host, _ = r.str(item)
		case "authorization":
			auth, ok := r.authorization(item, false)
			if !ok {
				continue
			}
			if auth.users != nil {
				r.fail(item.KeyPos, "Gateway authorization does not allow multiple users")
				continue
			}
			if auth.token != "" {
				r.fail(item.KeyPos, "Gateway authorization does not support tokens")
				continue
			}
			g.Username, g.Password, g.AuthTimeout = auth.user, auth.pass, auth.timeout
		case "tls":
			if tc, ok := r.tls(item, false); ok {
				g.TLSConfig, g.TLSTimeout = tc, tc.Timeout
			}
		case "advertise":
			g.Advertise, _ = r.str(item)
		case "connect_retries":
			if n, ok := r.integer(item); ok {
				g.ConnectRetries = int(n)
			}
		case "connect_backoff":
			g.ConnectBackoff, _ = r.boolean(item)
		case "gateways":
			g.Gateways = r.remoteGateways(item)
		case "reject_unknown", "reject_unknown_cluster":
			g.RejectUnknown, _ = r.boolean(item)
		case "write_deadline":
			g.WriteDeadline, _ = r.duration(item)
		default:
			r.unknown(item)
		}
	}
}

func (r *reader) remoteGateways(e *conf.Entry) []*RemoteGatewayOpts {
	if e.Value.Kind != conf.KindArray {
		r.fail(e.KeyPos, "Expected gateways field to be an array, got %s", e.Value.Kind)
		return nil
	}
	var out []*RemoteGatewayOpts
	for _, element := range e.Value.Array {
		if element.Kind != conf.KindMap {
			r.fail(element.Pos, "Expected gateway entry to be a map/struct, got %s", element.Kind)
			continue
		}
		gateway := &RemoteGatewayOpts{}
		for _, item := range element.Map.Entries {
			switch strings.ToLower(item.Key) {
			case "name":
				gateway.Name, _ = r.str(item)
			case "tls":
				if tc, ok := r.tls(item, false); ok {
					gateway.TLSConfig, gateway.TLSTimeout = tc, tc.Timeout
				}
			case "url":
				gateway.URLs = append(gateway.URLs, r.urls(item)...)
			case "urls":
				gateway.URLs = r.urls(item)
			default:
				r.unknown(item)
			}
		}
		out = append(out, gateway)
	}
	return out
}

func (o *Options) processLeafNodes(r *reader, e *conf.Entry) {
	m, ok := r.block(e, "a leafnode")
	if !ok {
		return
	}
	l := &o.LeafNode
	for _, item := range m.Entries {
		switch strings.ToLower(item.Key) {
		case "listen":
			if hp, ok := r.listen(item); ok {
				l.Host, l.Port = hp.host, hp.port
			}
		case "port":
			if n, ok := r.integer(item); ok {
				l.Port = int(n)
			}
		case "host", "net":
			l.Host, _ = r.str(item)
		case "authorization":
			if auth, ok := r.authorization(item, true); ok {
				l.Username, l.Password, l.AuthTimeout = auth.user, auth.pass, auth.timeout
				l.Account, l.Users = auth.account, auth.users
				if len(auth.nkeys) == 1 {
					l.Nkey = auth.nkeys[0].Nkey
				}
			}
		case "remotes":
			l.Remotes = r.remoteLeafNodes(item)
		case "reconnect", "reconnect_delay", "reconnect_interval":
			l.ReconnectInterval, _ = r.duration(item)
		case "dial_timeout":
			l.DialTimeout, _ = r.duration(item)
		case "tls":
			if tc, ok := r.tls(item, true); ok {
				l.TLSConfig, l.TLSTimeout = tc, tc.Timeout
			}
		case "leafnode_advertise", "advertise":
			l.Advertise, _ = r.str(item)
		case "no_advertise":
			if b, ok := r.boolean(item); ok {
				l.NoAdvertise = b
				o.markInConfig("LeafNode.NoAdvertise", b)
			}
		case "min_version", "minimum_version":
			l.MinVersion, _ = r.str(item)
		case "compression":
			l.Compression = r.compression(item)
		case "isolate_leafnode_interest", "isolate":
			l.IsolateLeafnodeInterest, _ = r.boolean(item)
		case "write_deadline":
			l.WriteDeadline, _ = r.duration(item)
		default:
			r.unknown(item)
		}
	}
}

func (r *reader) remoteLeafNodes(e *conf.Entry) []*RemoteLeafOpts {
	if e.Value.Kind != conf.KindArray {
		r.fail(e.KeyPos, "Expected remotes field to be an array, got %s", e.Value.Kind)
		return nil
	}
	var out []*RemoteLeafOpts
	for _, element := range e.Value.Array {
		if element.Kind != conf.KindMap {
			r.fail(element.Pos, "Expected remote leafnode entry to be a map/struct, got %s", element.Kind)
			continue
		}
		remote := &RemoteLeafOpts{}
		for _, item := range element.Map.Entries {
			switch strings.ToLower(item.Key) {
			case "no_randomize", "dont_randomize":
				remote.NoRandomize, _ = r.boolean(item)
			case "url", "urls":
				remote.URLs = append(remote.URLs, r.urls(item)...)
			case "account", "local":
				remote.LocalAccount, _ = r.str(item)
			case "creds", "credentials":
				remote.Credentials, _ = r.str(item)
			case "nkey", "seed":
				remote.Nkey, _ = r.str(item)
			case "tls":
				if tc, ok := r.tls(item, true); ok {
					remote.TLS, remote.TLSConfig, remote.TLSTimeout = true, tc, tc.Timeout
				}
			case "hub":
				remote.Hub, _ = r.boolean(item)
			case "deny_imports", "deny_import":
				remote.DenyImports, _ = r.permissionSubjects(item)
			case "deny_exports", "deny_export":
				remote.DenyExports, _ = r.permissionSubjects(item)
			case "ws_compress", "ws_compression", "websocket_compress", "websocket_compression":
				remote.Websocket.Compression, _ = r.boolean(item)
			case "ws_no_masking", "websocket_no_masking":
				remote.Websocket.NoMasking, _ = r.boolean(item)
			case "js_cluster_migrate":
				remote.JetStreamClusterMigrate = item.Value.Kind != conf.KindBool || item.Value.Bool
			case "isolate", "request_isolation":
				remote.RequestIsolation, _ = r.boolean(item)
			case "compression":
				remote.Compression = r.compression(item)
			case "first_info_timeout":
				remote.FirstInfoTimeout, _ = r.duration(item)
			case "dial_timeout":
				remote.DialTimeout, _ = r.duration(item)
			case "disabled":
				remote.Disabled, _ = r.boolean(item)
			case "proxy", "ignore_discovered_servers":
				// Proxied remotes come with a later issue; accepted and ignored here.
			default:
				r.unknown(item)
			}
		}
		out = append(out, remote)
	}
	return out
}

func (o *Options) processWebsocket(r *reader, e *conf.Entry) {
	m, ok := r.block(e, "websocket")
	if !ok {
		return
	}
	w := &o.Websocket
	for _, item := range m.Entries {
		switch strings.ToLower(item.Key) {
		case "listen":
			if hp, ok := r.listen(item); ok {
				w.Host, w.Port = hp.host, hp.port
			}
		case "port":
			if n, ok := r.integer(item); ok {
				w.Port = int(n)
			}
		case "host", "net":
			w.Host, _ = r.str(item)
		case "advertise":
			w.Advertise, _ = r.str(item)
		case "no_tls":
			w.NoTLS, _ = r.boolean(item)
		case "tls":
			if tc, ok := r.tls(item, true); ok {
				w.TLSConfig = tc
			}
		case "same_origin":
			w.SameOrigin, _ = r.boolean(item)
		case "allowed_origins", "allowed_origin", "allow_origins", "allow_origin", "origins", "origin":
			w.AllowedOrigins, _ = r.stringList(item)
		case "handshake_timeout":
			// A bare integer is milliseconds here, as in the reference.
			if item.Value.Kind == conf.KindInteger {
				w.HandshakeTimeout = time.Duration(item.Value.Integer) * time.Millisecond
				continue
			}
			w.HandshakeTimeout, _ = r.strictDuration(item)
		case "compress", "compression":
			w.Compression, _ = r.boolean(item)
		case "authorization", "authentication":
			if auth, ok := r.authorization(item, false); ok {
				w.Username, w.Password, w.Token = auth.user, auth.pass, auth.token
				w.Users, w.Nkeys, w.AuthTimeout = auth.users, auth.nkeys, auth.timeout
			}
		case "jwt_cookie":
			w.JWTCookie, _ = r.str(item)
		case "user_cookie":
			w.UsernameCookie, _ = r.str(item)
		case "pass_cookie":
			w.PasswordCookie, _ = r.str(item)
		case "token_cookie":
			w.TokenCookie, _ = r.str(item)
		case "no_auth_user":
			w.NoAuthUser, _ = r.str(item)
		case "headers":
			if hm, ok := r.block(item, "websocket headers"); ok {
				w.Headers = make(map[string]string, hm.Len())
				for _, h := range hm.Entries {
					if s, ok := r.str(h); ok {
						w.Headers[h.Key] = s
					}
				}
			}
		case "ping_interval":
			w.PingInterval, _ = r.duration(item)
		default:
			r.unknown(item)
		}
	}
}

func (o *Options) processMQTT(r *reader, e *conf.Entry) {
	m, ok := r.block(e, "mqtt")
	if !ok {
		return
	}
	q := &o.MQTT
	for _, item := range m.Entries {
		switch strings.ToLower(item.Key) {
		case "listen":
			if hp, ok := r.listen(item); ok {
				q.Host, q.Port = hp.host, hp.port
			}
		case "port":
			if n, ok := r.integer(item); ok {
				q.Port = int(n)
			}
		case "host", "net":
			q.Host, _ = r.str(item)
		case "tls":
			if tc, ok := r.tls(item, true); ok {
				q.TLSConfig, q.TLSTimeout = tc, tc.Timeout
			}
		case "authorization", "authentication":
			if auth, ok := r.authorization(item, false); ok {
				q.Username, q.Password, q.Token = auth.user, auth.pass, auth.token
				q.Users, q.Nkeys, q.AuthTimeout = auth.users, auth.nkeys, auth.timeout
			}
		case "no_auth_user":
			q.NoAuthUser, _ = r.str(item)
		case "ack_wait", "ackwait":
			q.AckWait, _ = r.duration(item)
		case "js_api_timeout", "api_timeout":
			q.JSAPITimeout, _ = r.duration(item)
		case "max_ack_pending", "max_pending", "max_inflight":
			if n, ok := r.intRange(item, 0, math.MaxUint16); ok {
				q.MaxAckPending = uint16(n)
			}
		case "js_domain":
			q.JsDomain, _ = r.str(item)
		case "stream_replicas":
			if n, ok := r.integer(item); ok {
				q.StreamReplicas = int(n)
			}
		case "consumer_replicas":
			if n, ok := r.integer(item); ok {
				q.ConsumerReplicas = int(n)
			}
		case "consumer_memory_storage":
			q.ConsumerMemoryStorage, _ = r.boolean(item)
		case "consumer_inactive_threshold", "consumer_auto_cleanup":
			q.ConsumerInactiveThreshold, _ = r.duration(item)
		case "reject_qos2_publish":
			q.RejectQoS2Pub, _ = r.boolean(item)
		case "downgrade_qos2_subscribe":
			q.DowngradeQoS2Sub, _ = r.boolean(item)
		default:
			r.unknown(item)
		}
	}
}

// processJetStream reads jetstream: a boolean, "enabled"/"disabled" or a block.
func (o *Options) processJetStream(r *reader, e *conf.Entry) {
	switch e.Value.Kind {
	case conf.KindBool:
		o.JetStream = e.Value.Bool
		return
	case conf.KindString:
		switch strings.ToLower(e.Value.String) {
		case "enabled", "enable":
			o.JetStream = true
		case "disabled", "disable":
			o.JetStream = false
		default:
			r.fail(e.KeyPos, "Expected 'enabled' or 'disabled' for string value, got '%s'", e.Value.String)
		}
		return
	case conf.KindMap:
	default:
		r.fail(e.KeyPos, "Expected map, bool or string to define JetStream, got %s", e.Value.Kind)
		return
	}
	enable := true
	for _, item := range e.Value.Map.Entries {
		switch key := strings.ToLower(item.Key); key {
		case "store", "store_dir", "storedir":
			if s, ok := r.str(item); ok {
				// Only a second store_dir in the file is ambiguous; one given on the
				// command line simply overrides the file's.
				if o.inConfig["StoreDir"] {
					r.fail(item.KeyPos, "Duplicate 'store_dir' configuration")
					continue
				}
				o.StoreDir = s
				o.markInConfig("StoreDir", true)
			}
		case "sync", "sync_interval":
			if item.Value.Kind == conf.KindString && strings.EqualFold(item.Value.String, "always") {
				o.SyncAlways, o.SyncInterval = true, DefaultJetStreamSyncInterval
				continue
			}
			o.SyncInterval, _ = r.duration(item)
		case "max_memory_store", "max_mem_store", "max_mem":
			if n, ok := r.size(item); ok {
				o.JetStreamMaxMemory = n
				o.markInConfig("JetStreamMaxMemory", true)
			}
		case "max_file_store", "max_file":
			if n, ok := r.size(item); ok {
				o.JetStreamMaxStore = n
				o.markInConfig("JetStreamMaxStore", true)
			}
		case "domain":
			o.JetStreamDomain, _ = r.str(item)
		case "enable", "enabled":
			enable, _ = r.boolean(item)
		case "key", "ek", "encryption_key":
			o.JetStreamKey, _ = r.str(item)
		case "prev_key", "prev_ek", "prev_encryption_key":
			o.JetStreamOldKey, _ = r.str(item)
		case "cipher":
			if s, ok := r.str(item); ok {
				switch strings.ToLower(s) {
				case "chacha", "chachapoly":
					o.JetStreamCipher = "chacha"
				case "aes":
					o.JetStreamCipher = "aes"
				default:
					r.fail(item.KeyPos, "Unknown cipher type: %q", s)
				}
			}
		case "extension_hint":
			o.JetStreamExtHint, _ = r.str(item)
		case "strict":
			o.JetStreamStrict, _ = r.boolean(item)
			o.markInConfig("JetStreamStrict", true)
		case "unique_tag":
			if s, ok := r.str(item); ok {
				o.JetStreamUniqueTag = strings.ToLower(strings.TrimSpace(s))
			}
		case "max_outstanding_catchup", "max_catchup":
			o.JetStreamMaxCatchup, _ = r.size(item)
		case "request_queue_limit":
			o.JetStreamRequestQueueLimit, _ = r.integer(item)
		case "limits":
			r.jetStreamLimits(item, &o.JetStreamLimits)
		case "tpm", "max_buffered_size", "max_buffered_msgs", "info_queue_limit", "meta_compact",
			"meta_compact_size", "meta_compact_sync", "max_concurrent_io":
			o.keepNested("jetstream", item)
		default:
			r.unknown(item)
		}
	}
	o.JetStream = enable
}

func (r *reader) jetStreamLimits(e *conf.Entry, limits *JetStreamLimitsOpts) {
	m, ok := r.block(e, "jetstream limits")
	if !ok {
		return
	}
	for _, item := range m.Entries {
		switch strings.ToLower(item.Key) {
		case "max_ack_pending":
			n, _ := r.integer(item)
			limits.MaxAckPending = int(n)
		case "max_ha_assets":
			n, _ := r.integer(item)
			limits.MaxHAAssets = int(n)
		case "max_request_batch":
			n, _ := r.integer(item)
			limits.MaxRequestBatch = int(n)
		case "default_max_consumers":
			n, _ := r.integer(item)
			limits.DefaultMaxConsumers = int(n)
		case "duplicate_window":
			limits.Duplicates, _ = r.duration(item)
		case "batch":
			batch, ok := r.block(item, "jetstream batch limits")
			if !ok {
				continue
			}
			for _, b := range batch.Entries {
				switch strings.ToLower(b.Key) {
				case "max_inflight_per_stream":
					n, _ := r.integer(b)
					limits.MaxBatchInflightPerStream = int(n)
				case "max_inflight_total":
					n, _ := r.integer(b)
					limits.MaxBatchInflightTotal = int(n)
				case "max_msgs", "max_size":
					n, _ := r.integer(b)
					limits.MaxBatchSize = int(n)
				case "timeout":
					limits.MaxBatchTimeout, _ = r.duration(b)
				default:
					r.unknown(b)
				}
			}
		default:
			r.unknown(item)
		}
	}
}
