package opts

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The natsgo-suite tester (../shared/tools/natsgo-suite/cmd/tester/config.go) renders
// the config files the nats.go test suite runs our binary with. suiteConfig rebuilds
// the same text here, and testdata/natsgo_snippets.txt holds every snippet nats.go
// v1.55.0's tests pass to it (extracted from their sources), so these tests prove that
// every config the suite can write parses.

type suiteShape struct {
	name      string
	jetstream bool
	cluster   bool
	gateway   bool
	tls       bool
	mutualTLS bool
	// tlsTimeout is the generated block's handshake timeout; zero writes 0.0001, the
	// value nats.go's TLS tests ask for.
	tlsTimeout float64
}

var suiteShapes = []suiteShape{
	{name: "server"},
	{name: "server-js", jetstream: true},
	{name: "cluster-js", jetstream: true, cluster: true},
	{name: "super-cluster-js", jetstream: true, cluster: true, gateway: true},
	{name: "server-tls", tls: true},
	{name: "server-mutual-tls-js", jetstream: true, tls: true, mutualTLS: true},
}

// suiteConfig mirrors the tester's buildConfig; part returns a snippet or "" (key
// "_generated_tls" asks for the generated tls block's include line, in include mode).
func suiteConfig(shape suiteShape, part func(string) string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# natsgo-suite tester: %s 00000000-0000-4000-8000-0000abcdef12, server abcdef12-a1\n", shape.name)
	b.WriteString(part("top"))
	w("server_name: %q\n", "abcdef12-a1")
	w("host: %q\n", "127.0.0.1")
	w("port: %d\n", 20001)
	w("client_advertise: %q\n", "localhost:20001")
	if shape.jetstream {
		w("\njetstream {\n  enabled: true\n  store_dir: %q\n", "/tmp/tester/abcdef12-a1")
		b.WriteString(part("jetstream"))
		w("}\n")
	}
	if shape.cluster {
		w("\ncluster {\n  name: %q\n  host: %q\n  port: %d\n  routes: [\n", "C1", "127.0.0.1", 20002)
		for _, r := range []string{"127.0.0.1:20005", "127.0.0.1:20008"} {
			w("    %q\n", "nats://"+r)
		}
		w("  ]\n}\n")
	}
	if shape.gateway {
		w("\ngateway {\n  name: %q\n  host: %q\n  port: %d\n  gateways: [\n", "C1", "127.0.0.1", 20003)
		w("    { name: %q, urls: [%s] }\n", "C1", `"nats://127.0.0.1:20003", "nats://127.0.0.1:20006"`)
		w("    { name: %q, urls: [%s] }\n", "C2", `"nats://127.0.0.1:20012"`)
		w("  ]\n}\n")
	}
	b.WriteString("\n")
	b.WriteString(part("tls"))
	if included := part("_generated_tls"); shape.tls && included != "" {
		b.WriteString(included)
	} else if shape.tls {
		w("tls {\n  cert_file: %q\n  key_file: %q\n", "/tmp/tester/server-cert.pem", "/tmp/tester/server-key.pem")
		if shape.mutualTLS {
			w("  ca_file: %q\n  verify: true\n", "/tmp/tester/ca.pem")
		}
		timeout := shape.tlsTimeout
		if timeout == 0 {
			timeout = 0.0001
		}
		w("  timeout: %s\n", strconv.FormatFloat(timeout, 'f', -1, 64))
		if shape.mutualTLS {
			b.WriteString("  handshake_first: true\n")
		}
		b.WriteString("}\n")
	}
	b.WriteString(part("websocket"))
	b.WriteString(part("mqtt"))
	b.WriteString(part("leafnode"))
	b.WriteString("\n")
	if p := part("system_account"); p != "" {
		b.WriteString(p)
	} else {
		b.WriteString("system_account: \"$SYS\"\n")
	}
	if p := part("authorization"); p != "" {
		b.WriteString(p)
	} else {
		b.WriteString("no_auth_user: user1\n")
	}
	if p := part("accounts"); p != "" {
		b.WriteString(p)
	} else {
		b.WriteString("accounts {\n")
		for i := 1; i <= 5; i++ {
			w("  USERS%d {\n    users: [ { user: \"user%d\", password: \"password\" } ]\n", i, i)
			if shape.jetstream {
				w("    jetstream: enabled\n")
			}
			w("  }\n")
		}
		b.WriteString("  $SYS {\n    users: [ { user: \"system\", password: \"password\" } ]\n  }\n}\n")
	}
	return b.String()
}

var suiteHostKey = regexp.MustCompile(`(?m)^\s*host\s*[:=]`)

// suitePinHost mirrors the tester's pinHost for listener snippets.
func suitePinHost(body string) string {
	if suiteHostKey.MatchString(body) {
		return body
	}
	i := strings.Index(body, "{")
	if i < 0 {
		return body
	}
	return body[:i+1] + "\n  host: \"127.0.0.1\"\n" + body[i+1:]
}

type suiteSnippet struct {
	key, source, body string
}

var suiteSnippetKeys = map[string]string{
	"WithAccounts": "accounts", "WithAuthorization": "authorization", "WithSystemAccount": "system_account",
	"WithJetStream": "jetstream", "WithLeafNode": "leafnode", "WithWebSocket": "websocket",
	"WithTopLevel": "top", "WithMQTT": "mqtt",
}

// renderSnippet fills the text/template fields and fmt verbs the tests leave for the
// tester and for fmt.Sprintf.
func renderSnippet(body string) string {
	body = strings.ReplaceAll(body, "websocket {\n  %s\n}", "websocket {\n  port: {{ .Ports.websocket }}\n  no_tls: true\n  compression: true\n}")
	replacer := strings.NewReplacer(
		"{{ .Ports.websocket }}", "30001", "{{ .Ports.leafnode }}", "30002", "{{ .Ports.mqtt }}", "30003",
		"{{ .TLS.CertFile }}", "/tmp/tester/server-cert.pem", "{{ .TLS.KeyFile }}", "/tmp/tester/server-key.pem",
		"leaf://%s:%d", "leaf://127.0.0.1:30002", `advertise: "%s:`, `advertise: "localhost:`,
		"[%q]", `["ODSKR7MYFQZ5QQTVKSKUBXBBJSZGN7ZFGWPZYMX6FDZPGGR6B46UCWU3"]`,
		"%q: %q", `"AAPQJQUPKVXGW5CZH5G2HFJULYSKDELAZRVWJA26VDZO7WSBUNIYRFNQ": "`+testAccountJWT+`"`,
	)
	return replacer.Replace(body)
}

func loadSuiteSnippets(t *testing.T) []suiteSnippet {
	t.Helper()
	data, err := os.ReadFile("testdata/natsgo_snippets.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []suiteSnippet
	for _, chunk := range strings.Split(string(data), "=== ")[1:] {
		header, body, _ := strings.Cut(chunk, "\n")
		fields := strings.Fields(header)
		key, ok := suiteSnippetKeys[fields[0]]
		if !ok {
			t.Fatalf("unknown snippet helper %q", fields[0])
		}
		out = append(out, suiteSnippet{key: key, source: fields[1], body: renderSnippet(body)})
	}
	if len(out) < 50 {
		t.Fatalf("only %d snippets loaded", len(out))
	}
	return out
}

// snippetParts returns the snippets a test passes together with s, as the nats.go
// helpers pair them: an authorization block clears accounts and the system account
// (singleUserPassOpts); an accounts block without the default users clears the
// default no_auth_user; a no_auth_user names a user some account must define.
func snippetParts(s suiteSnippet) map[string]string {
	parts := map[string]string{s.key: s.body}
	switch s.key {
	case "authorization":
		if strings.Contains(s.body, "authorization") {
			parts["accounts"] = "# accounts block intentionally empty"
			parts["system_account"] = "# system_account intentionally unset"
		}
		if m := regexp.MustCompile(`no_auth_user:\s*(\S+)`).FindStringSubmatch(s.body); m != nil {
			parts["accounts"] = fmt.Sprintf("accounts { EXTRA { users: [ { user: %q } ] } }", m[1])
		}
	case "accounts":
		parts["authorization"] = "# auth required, no no_auth_user"
	}
	return parts
}

// TestNatsGoSuiteConfigsParse proves every config the tester can write for nats.go's
// tests parses, inlined and with snippets included from files.
func TestNatsGoSuiteConfigsParse(t *testing.T) {
	snippets := loadSuiteSnippets(t)
	for _, shape := range suiteShapes {
		for _, s := range snippets {
			if s.key == "jetstream" && !shape.jetstream {
				continue
			}
			parts := snippetParts(s)
			for _, include := range []bool{false, true} {
				files := map[string]string{}
				part := func(key string) string {
					if key == "_generated_tls" {
						if !include {
							return ""
						}
						files["/tmp/tester/snippets-1/_generated_tls.conf"] = "tls {\n  cert_file: \"/c.pem\"\n  key_file: \"/k.pem\"\n  timeout: 2\n}\n"
						return "include \"snippets-1/_generated_tls.conf\"\n"
					}
					body, ok := parts[key]
					if !ok {
						return ""
					}
					if key == "websocket" || key == "mqtt" || key == "leafnode" {
						body = suitePinHost(body)
					}
					if !strings.HasSuffix(body, "\n") {
						body += "\n"
					}
					if include {
						name := "snippets-1/" + key + ".conf"
						files["/tmp/tester/"+name] = body
						return fmt.Sprintf("include %q\n", name)
					}
					return body
				}
				text := suiteConfig(shape, part)
				o, err := ProcessConfig([]byte(text), "/tmp/tester/server.conf", mapFiles(files), nil)
				if err != nil {
					t.Errorf("%s with %s snippet from %s (include %v): %v\n%s", shape.name, s.key, s.source, include, err, text)
					continue
				}
				if o.Port != 20001 || o.Host != "127.0.0.1" || o.ServerName != "abcdef12-a1" || o.JetStream != shape.jetstream || (o.TLSConfig != nil) != shape.tls {
					t.Errorf("%s: basic options wrong: port %d host %q name %q js %v", shape.name, o.Port, o.Host, o.ServerName, o.JetStream)
				}
			}
		}
	}
}

// TestNatsGoSuiteDefaultConfig proves the tester's default config maps to the options
// the suite relies on.
func TestNatsGoSuiteDefaultConfig(t *testing.T) {
	shape := suiteShapes[3]
	text := suiteConfig(shape, func(string) string { return "" })
	o, err := ProcessConfig([]byte(text), "server.conf", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.ClientAdvertise != "localhost:20001" || o.StoreDir != "/tmp/tester/abcdef12-a1" || !o.JetStream {
		t.Errorf("listen/jetstream options wrong: %+v", o)
	}
	if o.SystemAccount != "$SYS" || o.NoAuthUser != "user1" {
		t.Errorf("system account %q, no_auth_user %q", o.SystemAccount, o.NoAuthUser)
	}
	if names := strings.Join(o.AccountNames(), ","); names != "$SYS,USERS1,USERS2,USERS3,USERS4,USERS5" {
		t.Errorf("accounts = %s", names)
	}
	if len(o.Users) != 6 || o.Users[0].Username != "user1" || o.Users[0].Account != "USERS1" || o.Users[0].Password != "password" {
		t.Errorf("users = %+v", o.Users[0])
	}
	for _, a := range o.Accounts {
		if (a.JetStream != nil) != (a.Name != "$SYS") {
			t.Errorf("account %s jetstream = %+v", a.Name, a.JetStream)
		}
	}
	if o.Cluster.Name != "C1" || o.Cluster.Port != 20002 || len(o.Cluster.Routes) != 2 || o.Cluster.Routes[0] != "nats://127.0.0.1:20005" {
		t.Errorf("cluster = %+v", o.Cluster)
	}
	if o.Gateway.Name != "C1" || len(o.Gateway.Gateways) != 2 || o.Gateway.Gateways[1].Name != "C2" || o.Gateway.Gateways[0].URLs[1] != "nats://127.0.0.1:20006" {
		t.Errorf("gateway = %+v", o.Gateway)
	}

	text = suiteConfig(suiteShapes[5], func(string) string { return "" })
	o, err = ProcessConfig([]byte(text), "server.conf", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := o.TLSConfig
	if tc == nil || !tc.Verify || !tc.HandshakeFirst || tc.Timeout != 0.0001 || tc.CaFile != "/tmp/tester/ca.pem" || !o.TLSHandshakeFirst {
		t.Errorf("tls = %+v", tc)
	}
}

func mapFiles(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		text, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("open %s: no such file or directory", name)
		}
		return []byte(text), nil
	}
}

// TestNatsGoSuiteReloads proves the reloads nats.go's tests perform (tester.update then
// SIGHUP) are all reloadable: max_connections, accounts and their users, TLS timeout.
func TestNatsGoSuiteReloads(t *testing.T) {
	render := func(shape suiteShape, parts map[string]string) *Options {
		t.Helper()
		text := suiteConfig(shape, func(key string) string {
			if body, ok := parts[key]; ok {
				return body + "\n"
			}
			return ""
		})
		o, err := ProcessConfig([]byte(text), "server.conf", nil, nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		o.SetDefaults()
		return o
	}
	noAuthUser := "# auth required, no no_auth_user"
	slowTLS := suiteShapes[4]
	slowTLS.tlsTimeout = 2
	cases := []struct {
		name               string
		oldShape, newShape suiteShape
		old, new           map[string]string
		wantFields         string
	}{
		{"max_connections", suiteShapes[2], suiteShapes[2], map[string]string{"top": "max_connections: 2"}, map[string]string{"top": "max_connections: 1"}, "MaxConn"},
		{"account renamed", suiteShapes[0], suiteShapes[0],
			map[string]string{"accounts": `accounts: { APP1: { users: [ {user: "app", password: "pass"} ] } }`, "authorization": noAuthUser},
			map[string]string{"accounts": `accounts: { APP2: { users: [ {user: "app", password: "pass"} ] } }`, "authorization": noAuthUser},
			"Users,Accounts"},
		{"account user replaced", suiteShapes[0], suiteShapes[0],
			map[string]string{"accounts": `accounts: { A { users: [{ user: "pp", password: "foo" }] } }`, "authorization": "# none"},
			map[string]string{"accounts": `accounts: { A { users: [{ user: "dd", password: "bar" }] } }`, "authorization": "# none"},
			"Users,Accounts"},
		{"tls timeout", suiteShapes[4], slowTLS, nil, nil, "AuthTimeout,TLSTimeout,TLSConfig"},
	}
	for _, c := range cases {
		old, new := render(c.oldShape, c.old), render(c.newShape, c.new)
		changes, err := Diff(old, new)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var fields []string
		for _, change := range changes {
			fields = append(fields, change.Field)
		}
		if got := strings.Join(fields, ","); got != c.wantFields {
			t.Errorf("%s: changed %s, want %s", c.name, got, c.wantFields)
		}
	}
}
