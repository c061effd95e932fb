package opts

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/natsim/natsim/proto/conf"
)

func mustProcess(t *testing.T, text string) *Options {
	t.Helper()
	o, err := ProcessConfig([]byte(text), "test.conf", nil, nil)
	if err != nil {
		t.Fatalf("ProcessConfig(%q): %v", text, err)
	}
	return o
}

// TestConfigKeyFamilies proves each key of PARITY.md section 5 that core NATS uses maps
// to its Options field, including the aliases.
func TestConfigKeyFamilies(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		check func(o *Options) bool
	}{
		{"listen host:port", "listen: 127.0.0.1:4333", func(o *Options) bool { return o.Host == "127.0.0.1" && o.Port == 4333 }},
		{"listen port", "listen: 4333", func(o *Options) bool { return o.Port == 4333 }},
		{"listen ipv6", "listen: \"[::1]:4333\"", func(o *Options) bool { return o.Host == "::1" && o.Port == 4333 }},
		{"listen random", "listen: \"0.0.0.0:-1\"", func(o *Options) bool { return o.Port == RandomPort }},
		{"port", "port: 5222", func(o *Options) bool { return o.Port == 5222 }},
		{"port random", "port: -1", func(o *Options) bool { return o.Port == RandomPort }},
		{"host", "host: 10.0.0.1", func(o *Options) bool { return o.Host == "10.0.0.1" }},
		{"net", "net: localhost", func(o *Options) bool { return o.Host == "localhost" }},
		{"client_advertise", "client_advertise: \"a:1\"", func(o *Options) bool { return o.ClientAdvertise == "a:1" }},
		{"server_name", "server_name: n1", func(o *Options) bool { return o.ServerName == "n1" }},
		{"server_tags", "server_tags: [a, \"b:c\"]", func(o *Options) bool { return reflect.DeepEqual(o.ServerTags, []string{"a", "b:c"}) }},
		{"server_metadata", "server_metadata { k: v }", func(o *Options) bool { return o.ServerMetadata["k"] == "v" }},
		{"debug trace logtime", "debug: true\ntrace: true\nlogtime: false\nlogtime_utc: true", func(o *Options) bool {
			return o.Debug && o.Trace && !o.Logtime && o.LogtimeUTC
		}},
		{"trace_verbose implies trace", "trace_verbose: true", func(o *Options) bool { return o.TraceVerbose && o.Trace }},
		{"trace_headers implies trace", "trace_headers: true", func(o *Options) bool { return o.TraceHeaders && o.Trace }},
		{"logfile", "logfile: /var/log/n.log", func(o *Options) bool { return o.LogFile == "/var/log/n.log" }},
		{"log_file", "log_file: x.log", func(o *Options) bool { return o.LogFile == "x.log" }},
		{"log size and count", "logfile_size_limit: 1MB\nlog_max_num: 3", func(o *Options) bool { return o.LogSizeLimit == 1<<20 && o.LogMaxFiles == 3 }},
		{"log_size_limit alias", "log_size_limit: 1k", func(o *Options) bool { return o.LogSizeLimit == 1000 }},
		{"syslog", "syslog: true\nremote_syslog: \"udp://h:514\"", func(o *Options) bool { return o.Syslog && o.RemoteSyslog == "udp://h:514" }},
		{"pid_file", "pid_file: /run/n.pid", func(o *Options) bool { return o.PidFile == "/run/n.pid" }},
		{"pidfile", "pidfile: n.pid", func(o *Options) bool { return o.PidFile == "n.pid" }},
		{"ports_file_dir", "ports_file_dir: /tmp", func(o *Options) bool { return o.PortsFileDir == "/tmp" }},
		{"max_traced_msg_len", "max_traced_msg_len: 64", func(o *Options) bool { return o.MaxTracedMsgLen == 64 }},
		{"max_control_line", "max_control_line: 2KB", func(o *Options) bool { return o.MaxControlLine == 2048 }},
		{"max_payload", "max_payload: 8MB", func(o *Options) bool { return o.MaxPayload == 8<<20 }},
		{"max_pending", "max_pending: 100MB", func(o *Options) bool { return o.MaxPending == 100<<20 }},
		{"max_connections", "max_connections: 10", func(o *Options) bool { return o.MaxConn == 10 }},
		{"max_conn", "max_conn: 11", func(o *Options) bool { return o.MaxConn == 11 }},
		{"max_subscriptions", "max_subscriptions: 5", func(o *Options) bool { return o.MaxSubs == 5 }},
		{"max_subs", "max_subs: 6", func(o *Options) bool { return o.MaxSubs == 6 }},
		{"max_sub_tokens", "max_sub_tokens: 16", func(o *Options) bool { return o.MaxSubTokens == 16 }},
		{"ping_interval duration", "ping_interval: \"30s\"", func(o *Options) bool { return o.PingInterval == 30*time.Second }},
		{"ping_interval bare duration", "ping_interval: 30s", func(o *Options) bool { return o.PingInterval == 30*time.Second }},
		{"ping_interval seconds", "ping_interval: 20", func(o *Options) bool {
			return o.PingInterval == 20*time.Second && len(o.Warnings) == 1 && o.Warnings[0].Error() == `test.conf:1:1: invalid use of field "ping_interval": ping_interval should be converted to a duration`
		}},
		{"ping_max", "ping_max: 5", func(o *Options) bool { return o.MaxPingsOut == 5 }},
		{"write_deadline", "write_deadline: \"2s\"", func(o *Options) bool { return o.WriteDeadline == 2*time.Second }},
		{"write_timeout", "write_timeout: close", func(o *Options) bool { return o.WriteTimeout == "close" }},
		{"max_closed_clients", "max_closed_clients: 5", func(o *Options) bool { return o.MaxClosedClients == 5 }},
		{"no_fast_producer_stall", "no_fast_producer_stall: true", func(o *Options) bool { return o.NoFastProducerStall }},
		{"no_sublist_cache", "no_sublist_cache: true", func(o *Options) bool { return o.NoSublistCache }},
		{"disable_sublist_cache", "disable_sublist_cache: true", func(o *Options) bool { return o.NoSublistCache }},
		{"no_header_support", "no_header_support: true", func(o *Options) bool { return o.NoHeaderSupport }},
		{"lame duck", "lame_duck_duration: \"60s\"\nlame_duck_grace_period: \"5s\"", func(o *Options) bool {
			return o.LameDuckDuration == time.Minute && o.LameDuckGracePeriod == 5*time.Second
		}},
		{"http", "http: 127.0.0.1:8333", func(o *Options) bool { return o.HTTPHost == "127.0.0.1" && o.HTTPPort == 8333 }},
		{"http port only", "http: 8222", func(o *Options) bool { return o.HTTPPort == 8222 }},
		{"https", "https: 0.0.0.0:8443", func(o *Options) bool { return o.HTTPHost == "0.0.0.0" && o.HTTPSPort == 8443 }},
		{"http_port", "http_port: 8222", func(o *Options) bool { return o.HTTPPort == 8222 }},
		{"monitor_port", "monitor_port: 8223", func(o *Options) bool { return o.HTTPPort == 8223 }},
		{"https_port", "https_port: 8443", func(o *Options) bool { return o.HTTPSPort == 8443 }},
		{"http_base_path", "http_base_path: /nats", func(o *Options) bool { return o.HTTPBasePath == "/nats" }},
		{"prof_port", "prof_port: 6060", func(o *Options) bool { return o.ProfPort == 6060 }},
		{"connect error reports", "connect_error_reports: 10\nreconnect_error_reports: 2", func(o *Options) bool {
			return o.ConnectErrorReports == 10 && o.ReconnectErrorReports == 2
		}},
		{"tls", "tls { cert_file: c.pem, key_file: k.pem, ca_file: ca.pem, verify: true, timeout: 3, handshake_first: true }", func(o *Options) bool {
			tc := o.TLSConfig
			return o.TLS && tc.CertFile == "c.pem" && tc.KeyFile == "k.pem" && tc.CaFile == "ca.pem" && tc.Verify && tc.Timeout == 3 &&
				tc.HandshakeFirst && o.TLSTimeout == 3 && o.TLSVerify && o.TLSCert == "c.pem" && o.TLSHandshakeFirst
		}},
		{"tls verify_and_map", "tls { verify_and_map: true, timeout: \"1.5s\" }", func(o *Options) bool {
			return o.TLSConfig.Map && o.TLSConfig.Verify && o.TLSConfig.Timeout == 1.5
		}},
		{"tls handshake_first duration", "tls { handshake_first: 300ms }", func(o *Options) bool {
			return o.TLSConfig.HandshakeFirst && o.TLSConfig.FallbackDelay == 300*time.Millisecond
		}},
		{"allow_non_tls", "allow_non_tls: true", func(o *Options) bool { return o.AllowNonTLS }},
		{"no_auth_user", "no_auth_user: a\naccounts { A { users: [{user: a}] } }", func(o *Options) bool { return o.NoAuthUser == "a" }},
		{"system_account", "system_account: SYS", func(o *Options) bool { return o.SystemAccount == "SYS" }},
		{"system", "system: SYS2", func(o *Options) bool { return o.SystemAccount == "SYS2" }},
		{"no_system_account", "no_system_account: true", func(o *Options) bool { return o.NoSystemAccount }},
		{"no_sys_acc", "no_sys_acc: true", func(o *Options) bool { return o.NoSystemAccount }},
		{"mappings", "mappings { foo: bar, \"a.*\": [{destination: b.$1, weight: 40%}, {destination: c.$1, weight: 60}] }", func(o *Options) bool {
			return len(o.Mappings) == 2 && o.Mappings[0].Destinations[0].Subject == "bar" && o.Mappings[0].Destinations[0].Weight == 100 &&
				o.Mappings[1].Destinations[0].Weight == 40 && o.Mappings[1].Destinations[1].Subject == "c.$1"
		}},
		{"default_sentinel", "default_sentinel: jwt", func(o *Options) bool { return o.DefaultSentinel == "jwt" }},
		{"trusted keys", "trusted_keys: [OA]\nresolver: MEMORY\nresolver_pinned_accounts: [A]", func(o *Options) bool {
			return o.TrustedKeys[0] == "OA" && o.AccountResolver.Type == "MEMORY" && o.ResolverPinnedAccounts[0] == "A"
		}},
		{"operator", "operator: op.jwt\nresolver: MEM", func(o *Options) bool {
			return o.TrustedOperators[0] == "op.jwt" && o.AccountResolver.Type == "MEMORY"
		}},
		{"resolver preload", "resolver_preload { AAPQJQUPKVXGW5CZH5G2HFJULYSKDELAZRVWJA26VDZO7WSBUNIYRFNQ: " + testAccountJWT + " }", func(o *Options) bool {
			return o.ResolverPreloads["AAPQJQUPKVXGW5CZH5G2HFJULYSKDELAZRVWJA26VDZO7WSBUNIYRFNQ"] == testAccountJWT
		}},
		{"resolver url", "resolver: URL(http://h/accounts)", func(o *Options) bool {
			return o.AccountResolver.Type == "URL" && o.AccountResolver.URL == "http://h/accounts"
		}},
		{"resolver dir", "resolver { type: full, dir: /jwt, allow_delete: true, interval: \"2m\" }", func(o *Options) bool {
			r := o.AccountResolver
			return r.Type == "full" && r.Dir == "/jwt" && r.AllowDelete && r.Interval == 2*time.Minute
		}},
		{"deferred keys", "ocsp: false\nresolver_tls { cert_file: c }\nfeature_flags { x: true }", func(o *Options) bool {
			return o.Deferred["ocsp"] != nil && o.Deferred["resolver_tls"] != nil && o.Deferred["feature_flags"] != nil
		}},
		{"case-insensitive keys", "PORT: 1234\nMax_Payload: 10", func(o *Options) bool { return o.Port == 1234 && o.MaxPayload == 10 }},
		{"top-level variable", "P: 4444\nport: $P", func(o *Options) bool { return o.Port == 4444 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := mustProcess(t, c.text)
			if !c.check(o) {
				t.Fatalf("ProcessConfig(%q) gave unexpected options: %+v", c.text, o)
			}
		})
	}
}

// TestConfigAuthorization proves the authorization block's forms: single user, token,
// users with permissions, nkeys, default permissions and allow_responses.
func TestConfigAuthorization(t *testing.T) {
	o := mustProcess(t, "authorization { user: derek, password: $2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG, timeout: 1.5 }")
	if o.Username != "derek" || o.Password != "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG" || o.AuthTimeout != 1.5 {
		t.Errorf("single user: %q %q %v", o.Username, o.Password, o.AuthTimeout)
	}
	o = mustProcess(t, "authorization { token: s3cr3t, timeout: 2 }")
	if o.Authorization != "s3cr3t" || o.AuthTimeout != 2 {
		t.Errorf("token: %q %v", o.Authorization, o.AuthTimeout)
	}
	o = mustProcess(t, `
authorization {
  default_permissions = { publish = "SANDBOX.*", subscribe = ["PUBLIC.>", "_INBOX.>"] }
  users = [
    {user: alice, password: foo, permissions: {publish: {allow: ["a.>"], deny: ["a.b"]}, subscribe: {deny: "x"}, allow_responses: true}}
    {user: bob, pass: bar}
    {user: carl, password: baz, permissions: {subscribe: ["q.* workers"], allow_responses: {max: 5, expires: "1m"}}}
    {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4, allowed_connection_types: ["STANDARD", "websocket"]}
  ]
}`)
	if len(o.Users) != 3 || len(o.Nkeys) != 1 {
		t.Fatalf("users %d nkeys %d", len(o.Users), len(o.Nkeys))
	}
	alice, bob, carl := o.Users[0].Permissions, o.Users[1].Permissions, o.Users[2].Permissions
	if !reflect.DeepEqual(alice.Publish, &SubjectPermission{Allow: []string{"a.>"}, Deny: []string{"a.b"}}) ||
		!reflect.DeepEqual(alice.Subscribe, &SubjectPermission{Deny: []string{"x"}}) ||
		*alice.Response != (ResponsePermission{MaxMsgs: DefaultResponseMaxMsgs, Expires: DefaultResponseExpires}) {
		t.Errorf("alice permissions %+v %+v %+v", alice.Publish, alice.Subscribe, alice.Response)
	}
	if bob != o.DefaultPermissions || !reflect.DeepEqual(bob.Publish.Allow, []string{"SANDBOX.*"}) || o.Users[1].Password != "bar" {
		t.Errorf("bob did not get the default permissions: %+v", bob)
	}
	if !reflect.DeepEqual(carl.Subscribe.Allow, []string{"q.* workers"}) || *carl.Response != (ResponsePermission{MaxMsgs: 5, Expires: time.Minute}) ||
		carl.Publish == nil || carl.Publish.Allow == nil || len(carl.Publish.Allow) != 0 {
		t.Errorf("carl permissions %+v %+v %+v", carl.Publish, carl.Subscribe, carl.Response)
	}
	nkey := o.Nkeys[0]
	if _, ok := nkey.AllowedConnectionTypes["WEBSOCKET"]; !ok || len(nkey.AllowedConnectionTypes) != 2 || nkey.Permissions != o.DefaultPermissions {
		t.Errorf("nkey user %+v", nkey)
	}
}

// TestConfigAccounts proves accounts with users, nkeys, exports, imports, JetStream
// limits, account limits and mappings, and that account users join Options.Users.
func TestConfigAccounts(t *testing.T) {
	o := mustProcess(t, `
accounts {
  A {
    nkey: ABBNWTQ6R4YT3YBJCIZC6XA5YIFFQXRVR5I2S3OZQGNOHAGVSWTH4ENT
    users: [{user: a, password: a}]
    exports: [
      {stream: "public.>"}
      {service: "svc.req", accounts: [B], response_type: stream, threshold: "5s", latency: {sampling: 50%, subject: lat.a}}
      {service: "single"}
    ]
    jetstream: {max_mem: 64MB, max_file: 1G, max_streams: 10, max_consumers: 20, max_ack_pending: 100, memory_max_stream_bytes: 2048, store_max_stream_bytes: 4096, max_stream_bytes: true}
    limits: {max_connections: 5, max_subscriptions: 6, max_payload: 7, max_leafnodes: 8}
    mappings: {foo: bar}
  }
  B {
    users: [{user: b, password: b}, {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4}]
    imports: [
      {stream: {account: A, subject: "public.>"}, prefix: from_a}
      {stream: {account: A, subject: "public.x"}, to: "local.x"}
      {service: {account: A, subject: "svc.req"}, to: "a.req", share: true}
      {service: {account: A, subject: "single"}}
    ]
    jetstream: enabled
    default_permissions: {publish: "b.>"}
  }
  C { jetstream: disabled }
}
authorization { users: [{user: g, password: g}] }
`)
	if names := strings.Join(o.AccountNames(), ","); names != "A,B,C" {
		t.Fatalf("accounts %s", names)
	}
	a, b, c := o.Accounts[0], o.Accounts[1], o.Accounts[2]
	if a.Nkey == "" || len(a.Exports) != 3 || a.Exports[0].Service || a.Exports[0].Subject != "public.>" {
		t.Errorf("account A: %+v", a)
	}
	svc := a.Exports[1]
	if !svc.Service || svc.ResponseType != ResponseTypeStream || svc.ResponseThreshold != 5*time.Second || svc.Accounts[0] != "B" ||
		svc.Latency.SamplingPercent != 50 || svc.Latency.Subject != "lat.a" || a.Exports[2].ResponseType != ResponseTypeSingleton {
		t.Errorf("service export %+v latency %+v", svc, svc.Latency)
	}
	js := a.JetStream
	if js.MaxMemory != 64<<20 || js.MaxStore != 1e9 || js.MaxStreams != 10 || js.MaxConsumers != 20 || js.MaxAckPending != 100 ||
		js.MemoryMaxStreamBytes != 2048 || js.StoreMaxStreamBytes != 4096 || !js.MaxBytesRequired {
		t.Errorf("jetstream limits %+v", js)
	}
	if a.Limits != (AccountLimits{MaxConnections: 5, MaxSubscriptions: 6, MaxPayload: 7, MaxLeafNodes: 8}) || a.Mappings[0].Source != "foo" {
		t.Errorf("limits %+v mappings %+v", a.Limits, a.Mappings)
	}
	if b.Limits.MaxConnections != -1 || b.JetStream == nil || b.JetStream.MaxMemory != -1 || c.JetStream != nil {
		t.Errorf("defaults: B limits %+v js %+v, C js %+v", b.Limits, b.JetStream, c.JetStream)
	}
	want := []*Import{
		{Account: "A", Subject: "public.>", Prefix: "from_a"},
		{Account: "A", Subject: "public.x", To: "local.x"},
		{Account: "A", Subject: "svc.req", Service: true, To: "a.req", Share: true},
		{Account: "A", Subject: "single", Service: true, To: "single"},
	}
	if !reflect.DeepEqual(b.Imports, want) {
		for _, im := range b.Imports {
			t.Errorf("import %+v", im)
		}
	}
	// Account users are appended to the global lists with their account name; the
	// authorization block's users have none.
	var users []string
	for _, u := range o.Users {
		users = append(users, u.Username+"@"+u.Account)
	}
	if strings.Join(users, ",") != "a@A,b@B,g@" {
		t.Errorf("users %v", users)
	}
	if len(o.Nkeys) != 1 || o.Nkeys[0].Account != "B" || o.Users[1].Permissions == nil || o.Users[1].Permissions.Publish.Allow[0] != "b.>" {
		t.Errorf("nkeys %+v, b permissions %+v", o.Nkeys, o.Users[1].Permissions)
	}
	o = mustProcess(t, "accounts: [A, B]")
	if strings.Join(o.AccountNames(), ",") != "A,B" {
		t.Errorf("account list %v", o.AccountNames())
	}
}

// TestConfigTopologyBlocks proves cluster, gateway, leafnodes, websocket, MQTT and
// JetStream blocks are parsed and kept.
func TestConfigTopologyBlocks(t *testing.T) {
	o := mustProcess(t, `
cluster {
  name: C1, listen: 0.0.0.0:6222, routes: [nats://a:6222, nats://b:6222]
  authorization { user: r, password: p, timeout: 2 }
  no_advertise: true, connect_retries: 3, pool_size: 5, compression: s2_fast, advertise: "x:1"
  permissions { import: "a.>", export: {deny: "b"} }
  tls { cert_file: c, key_file: k, verify_cert_and_check_known_urls: true }
}
gateway {
  name: G, host: 127.0.0.1, port: 7222, reject_unknown_cluster: true
  gateways: [{name: A, urls: ["nats://a:7222"]}, {name: B, url: "nats://b:7222"}]
}
leafnodes {
  port: 7422, host: 127.0.0.1
  authorization { user: l, password: p, account: LA, users: [{user: lu, password: lp, account: LB}] }
  remotes: [{url: "nats-leaf://h:7422", account: X, credentials: "/c.creds", hub: true, deny_imports: ["a"]}, {urls: ["tls://h:1", "tls://h:2"]}]
  reconnect: "2s"
}
websocket { port: 8080, no_tls: true, compression: true, same_origin: true, allowed_origins: ["http://x"], handshake_timeout: "2s", authorization { token: t } }
mqtt { port: 1883, ack_wait: "10s", max_ack_pending: 100, no_auth_user: m, js_domain: D }
jetstream {
  store_dir: /data, max_memory_store: 1GB, max_file_store: "10G", domain: HUB, sync_interval: always
  cipher: chacha, key: secret, unique_tag: "AZ:", limits { max_ack_pending: 7, duplicate_window: "1m" }
  tpm { keys_file: x }
}
`)
	c := o.Cluster
	if c.Name != "C1" || c.Host != "0.0.0.0" || c.Port != 6222 || len(c.Routes) != 2 || c.Username != "r" || c.AuthTimeout != 2 ||
		!c.NoAdvertise || c.ConnectRetries != 3 || c.PoolSize != 5 || c.Compression != "s2_fast" || c.Advertise != "x:1" ||
		c.Permissions.Import.Allow[0] != "a.>" || c.Permissions.Export.Deny[0] != "b" || !c.TLSConfig.TLSCheckKnownURLs {
		t.Errorf("cluster %+v", c)
	}
	g := o.Gateway
	if g.Name != "G" || g.Port != 7222 || !g.RejectUnknown || len(g.Gateways) != 2 || g.Gateways[1].URLs[0] != "nats://b:7222" {
		t.Errorf("gateway %+v", g)
	}
	l := o.LeafNode
	if l.Port != 7422 || l.Username != "l" || l.Account != "LA" || len(l.Users) != 1 || l.Users[0].Account != "LB" || len(l.Remotes) != 2 || l.Remotes[0].LocalAccount != "X" ||
		!l.Remotes[0].Hub || l.Remotes[0].Credentials != "/c.creds" || len(l.Remotes[1].URLs) != 2 || l.ReconnectInterval != 2*time.Second {
		t.Errorf("leafnodes %+v", l)
	}
	w := o.Websocket
	if w.Port != 8080 || !w.NoTLS || !w.Compression || !w.SameOrigin || w.AllowedOrigins[0] != "http://x" || w.HandshakeTimeout != 2*time.Second || w.Token != "t" {
		t.Errorf("websocket %+v", w)
	}
	q := o.MQTT
	if q.Port != 1883 || q.AckWait != 10*time.Second || q.MaxAckPending != 100 || q.NoAuthUser != "m" || q.JsDomain != "D" {
		t.Errorf("mqtt %+v", q)
	}
	if !o.JetStream || o.StoreDir != "/data" || o.JetStreamMaxMemory != 1<<30 || o.JetStreamMaxStore != 10<<30 || o.JetStreamDomain != "HUB" ||
		!o.SyncAlways || o.JetStreamCipher != "chacha" || o.JetStreamKey != "secret" || o.JetStreamUniqueTag != "az:" ||
		o.JetStreamLimits.MaxAckPending != 7 || o.JetStreamLimits.Duplicates != time.Minute || o.Deferred["jetstream.tpm"] == nil {
		t.Errorf("jetstream: %+v", o)
	}
	for text, want := range map[string]bool{"jetstream: true": true, "jetstream: enabled": true, "jetstream: disabled": false, "jetstream { enabled: false }": false} {
		if o := mustProcess(t, text); o.JetStream != want {
			t.Errorf("%q: JetStream = %v", text, o.JetStream)
		}
	}
}

// TestConfigErrors proves malformed or unknown keys give the reference's messages with
// the file, line and column of the key, and that all errors are reported at once.
func TestConfigErrors(t *testing.T) {
	cases := []struct {
		text string
		want string
	}{
		{"port: 4222\nfoo: bar", `test.conf:2:1: unknown field "foo"`},
		{"authorization {\n  user: a\n  bogus: 1\n}", `test.conf:3:3: unknown field "bogus"`},
		{"accounts {\n  A {\n    users: [{user: a, wat: 1}]\n  }\n}", `test.conf:3:23: unknown field "wat"`},
		{"cluster {\n  nme: x\n}", `test.conf:2:3: unknown field "nme"`},
		{"jetstream {\n  max_memory: 1G\n}", `test.conf:2:3: unknown field "max_memory"`},
		{"websocket { port: 1, nope: 2 }", `test.conf:1:22: unknown field "nope"`},
		{"tls { cert: x }", `test.conf:1:7: error parsing tls config, unknown field "cert"`},
		{"port: \"abc\"", `test.conf:1:1: error parsing "port": expected an integer, got string`},
		{"debug: 1", `test.conf:1:1: error parsing "debug": expected a boolean, got integer`},
		{"max_payload: 3GB", "test.conf:1:1: max_payload value is too big"},
		{"max_sub_tokens: 300", "max_sub_tokens value is too big"},
		{"max_sub_tokens: 0", "max_sub_tokens value can not be negative"},
		{"ping_interval: \"2x\"", `test.conf:1:1: error parsing ping_interval: time: unknown unit "x" in duration "2x"`},
		{"lame_duck_duration: \"10s\"", "invalid lame_duck_duration of 10s, minimum is 30 seconds"},
		{"listen: \"nohostport\"", `could not parse address string "nohostport"`},
		{"authorization { user: a, password: b, token: c }", "test.conf:1:1: Cannot have a user/pass and token"},
		{"authorization { user: a, users: [{user: b}] }", "Can not have a single user/pass and a users array"},
		{"authorization { token: a, users: [{user: b}] }", "Can not have a token and a users array"},
		{"authorization { users: [{password: b}] }", "User entry requires a user"},
		{"authorization { users: [{nkey: UBAD}] }", "Not a valid public nkey for a user"},
		{"authorization { users: [{user: a, permissions: {publish: {allow: [\"a..b\"]}}}] }", `subject "a..b" is not a valid subject`},
		{"authorization { users: [{user: a, permissions: {pub: {allw: x}}}] }", `Unknown field name "allw" parsing subject permissions, only 'allow' or 'deny' are permitted`},
		{"authorization { users: [{user: a, permissions: {bogus: x}}] }", `Unknown field "bogus" parsing permissions`},
		{"accounts { $G { } }", `"$G" is a Reserved Account`},
		{"accounts { A { users: [{user: a}] }, B { users: [{user: a}] } }", `Duplicate user "a" detected`},
		{"accounts { A { imports: [{stream: {account: Z, subject: x}}] } }", `"Z" account not defined for stream import`},
		{"accounts { A { exports: [{service: x, accounts: [Q]}] } }", `"Q" account not defined for service export`},
		{"accounts { A { exports: [{stream: x, response_type: stream}] } }", "Detected response directive on non-service"},
		{"accounts { A { jetstream: maybe } }", "Expected 'enabled' or 'disabled' for string value, got 'maybe'"},
		{"resolver: MEM\nresolver_preload {\n  A: garbage\n}", "test.conf:3:3: invalid account JWT"},
		{"trusted_keys: [OA]\noperator: op.jwt", "conflicting options for 'TrustedKeys' and 'TrustedOperators'"},
		{"accounts { A { limits: {max_bogus: 1} } }", `Unknown field "max_bogus" parsing account limits`},
		{"no_auth_user: ghost\naccounts { A { users: [{user: a}] } }", `test.conf:1:1: no_auth_user: "ghost" not present as user or nkey in authorization block or account configuration`},
		{"no_auth_user: ghost", `no_auth_user: "ghost" present, but users/nkeys are not defined`},
		{"store_dir: /a\njetstream { store_dir: /b }", "test.conf:2:13: Duplicate 'store_dir' configuration"},
		{"jetstream { cipher: rot13 }", `Unknown cipher type: "rot13"`},
		{"mappings { foo: [{destination: a, weight: 120}] }", "Invalid weight 120 for mapping destination"},
		{"cluster { authorization { users: [{user: a}] } }", "Cluster authorization does not allow multiple users"},
		{"gateway { authorization { token: x } }", "Gateway authorization does not support tokens"},
		{"authorization { account: A }", `test.conf:1:17: unknown field "account"`},
		{"authorization { users: [{user: a, account: A}] }", `test.conf:1:35: unknown field "account"`},
		{"port: 1 2", "Expected a top-level value to end with a new line, comment or EOF, but got '2' instead."},
	}
	for _, c := range cases {
		_, err := ProcessConfig([]byte(c.text), "test.conf", nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ProcessConfig(%q) error = %v\nwant it to contain %q", c.text, err, c.want)
		}
	}

	// Every error of the file is listed, each on its own line, in file order.
	_, err := ProcessConfig([]byte("a: 1\nport: x\nb: 2\n"), "multi.conf", nil, nil)
	var pce *ProcessConfigError
	if !errors.As(err, &pce) || len(pce.Errors) != 3 {
		t.Fatalf("error = %v; want three errors", err)
	}
	want := "multi.conf:1:1: unknown field \"a\"\nmulti.conf:2:1: error parsing \"port\": expected an integer, got string\nmulti.conf:3:1: unknown field \"b\""
	if err.Error() != want {
		t.Errorf("error text\n%s\nwant\n%s", err, want)
	}
	var unknown *UnknownFieldError
	if !errors.As(pce.Errors[0], &unknown) || unknown.Field != "a" || unknown.Pos.Line != 1 {
		t.Errorf("first error %#v", pce.Errors[0])
	}
}

// TestConfigVariablesAndIncludes proves variables defined at the top level are not
// unknown fields, environment variables reach the options, and includes work through
// the callback.
func TestConfigVariablesAndIncludes(t *testing.T) {
	files := map[string]string{
		"/etc/nats/auth.conf": "authorization { user: $USER, password: $PASS }\n",
	}
	// An included file is parsed on its own, as in the reference: it sees the
	// environment but not the variables of the including file.
	environment := map[string]string{"PASS": "from-env", "PORT": "4999", "USER": "admin"}
	text := "P: $PORT\nport: $P\ninclude auth.conf\n"
	o, err := ProcessConfig([]byte(text), "/etc/nats/main.conf", mapFiles(files), func(k string) (string, bool) {
		v, ok := environment[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.Port != 4999 || o.Username != "admin" || o.Password != "from-env" || o.ConfigFile != "/etc/nats/main.conf" {
		t.Errorf("port %d user %q pass %q", o.Port, o.Username, o.Password)
	}
	// An unused top-level definition is still an unknown field.
	if _, err := ProcessConfig([]byte("UNUSED: 1"), "v.conf", nil, nil); err == nil || !strings.Contains(err.Error(), `v.conf:1:1: unknown field "UNUSED"`) {
		t.Errorf("unused variable error = %v", err)
	}
	// Errors inside an included file point into that file.
	files["/etc/nats/bad.conf"] = "\n  bogus_key: 1\n"
	_, err = ProcessConfig([]byte("include bad.conf"), "/etc/nats/main.conf", mapFiles(files), nil)
	if err == nil || !strings.Contains(err.Error(), `/etc/nats/bad.conf:2:3: unknown field "bogus_key"`) {
		t.Errorf("included error = %v", err)
	}
}

// TestDefaults proves Default has the reference's defaults and SetDefaults keeps
// explicit values.
func TestDefaults(t *testing.T) {
	o := Default()
	if o.Host != "0.0.0.0" || o.Port != 4222 || o.MaxConn != 65536 || o.MaxControlLine != 4096 || o.MaxPayload != 1<<20 ||
		o.MaxPending != 64<<20 || o.PingInterval != 2*time.Minute || o.MaxPingsOut != 2 || o.AuthTimeout != 2 ||
		o.TLSTimeout != 2 || o.WriteDeadline != 10*time.Second || o.LameDuckDuration != 2*time.Minute ||
		o.LameDuckGracePeriod != 10*time.Second || o.MaxClosedClients != 10000 || o.HTTPHost != "0.0.0.0" || o.HTTPBasePath != "/" {
		t.Errorf("defaults %+v", o)
	}
	o = &Options{Port: RandomPort, MaxPayload: 10, TLSConfig: &TLSConfigOpts{}, TLSTimeout: 3}
	o.SetDefaults()
	if o.Port != RandomPort || o.MaxPayload != 10 || o.AuthTimeout != 4 {
		t.Errorf("explicit values lost: port %d payload %d auth timeout %v", o.Port, o.MaxPayload, o.AuthTimeout)
	}
	again := *o
	again.SetDefaults()
	if !reflect.DeepEqual(&again, o) {
		t.Error("SetDefaults is not idempotent")
	}
}

// TestClone proves Clone shares nothing mutable with the original and keeps aliasing.
func TestClone(t *testing.T) {
	o := mustProcess(t, `
authorization { default_permissions: {publish: "a"}, users: [{user: a}, {user: b}] }
accounts { A { users: [{user: c}] } }
server_tags: [x]
`)
	clone := o.Clone()
	if !reflect.DeepEqual(clone, o) {
		t.Fatal("clone differs")
	}
	clone.Users[0].Username = "changed"
	clone.Users[0].Permissions.Publish.Allow[0] = "changed"
	clone.ServerTags[0] = "changed"
	clone.Accounts[0].Users[0].Password = "changed"
	if o.Users[0].Username != "a" || o.DefaultPermissions.Publish.Allow[0] != "a" || o.ServerTags[0] != "x" || o.Users[2].Password != "" {
		t.Error("clone shares memory with the original")
	}
	if clone.Users[1].Permissions != clone.DefaultPermissions || clone.Users[2] != clone.Accounts[0].Users[0] {
		t.Error("clone lost aliasing")
	}
	if (*Options)(nil).Clone() != nil {
		t.Error("nil clone")
	}
}

// TestConfigDigestMatchesReference proves the digest of a parsed file is the one
// nats-server v2.15.2 prints for it with -t (both values were taken from the
// reference binary), whatever the separators, includes and variables.
func TestConfigDigestMatchesReference(t *testing.T) {
	files := map[string]string{
		"mon.conf": "host: 127.0.0.1\nport: -1\nhttp: \"127.0.0.1:-1\"\n" +
			"accounts { A { users: [{user: a, password: a}], exports: [{stream: \"x.>\"}] }, " +
			"B { users: [{user: b, password: b}], imports: [{stream: {account: A, subject: \"x.>\"}}] }, " +
			"SYS { users: [{user: sys, password: sys}] } }\nsystem_account: SYS\n",
		"dig.conf": "port: 4222\nmax_payload: 1MB\nV = 3\nping_max: $V\nlogtime: true\nserver_tags: [a, \"b\"]\n" +
			"authorization { users = [ {user: x, password: \"y\"} ] }\ninclude \"inc.conf\"\n# c\n",
		"inc.conf": "server_name = bar\n",
	}
	readFile := func(name string) ([]byte, error) {
		if data, ok := files[filepath.Base(name)]; ok {
			return []byte(data), nil
		}
		return nil, os.ErrNotExist
	}
	for name, want := range map[string]string{
		"mon.conf": "sha256:09eab7d0e445b257bafcc08f451099412bfbf1eed3284fb742fa22beed0aced0",
		"dig.conf": "sha256:28e6b96a080470cfd03dc04ce225e9481b6ace6add2a46de4e3e9eb673919061",
	} {
		o := &Options{}
		if err := o.ProcessConfig([]byte(files[name]), name, conf.Source{ReadFile: readFile}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o.ConfigDigest != want {
			t.Errorf("%s: digest %s, want %s", name, o.ConfigDigest, want)
		}
	}
}
