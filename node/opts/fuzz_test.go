package opts

import (
	"errors"
	"os"
	"testing"

	"github.com/natsim/natsim/proto/conf"
)

// FuzzProcessConfig proves that no config file makes the options layer panic, and that
// every rejection is a positioned parse error or a *ProcessConfigError.
func FuzzProcessConfig(f *testing.F) {
	for _, seed := range []string{
		"port: 4222\nauthorization { users: [{user: a, password: b, permissions: {publish: {allow: [x]}, allow_responses: {max: 1}}}] }",
		"accounts { A { users: [{user: a}], exports: [{service: s, latency: {sampling: 50%, subject: l}}], jetstream: {max_mem: 1G} }, B { imports: [{service: {account: A, subject: s}}] } }",
		"cluster { name: c, routes: [nats://a:1], authorization { user: u, password: p } }\ngateway { name: g, gateways: [{name: x, urls: [nats://b:2]}] }",
		"leafnodes { remotes: [{url: x, deny_imports: a}] }\nwebsocket { port: 1, no_tls: true }\nmqtt { port: 2 }",
		"jetstream { store_dir: /x, max_mem_store: 1G, sync_interval: always, limits { batch { max_msgs: 1 } } }",
		"tls { cert_file: a, key_file: b, timeout: 2, handshake_first: auto, pinned_certs: [x] }",
		"mappings { a: [{destination: b, weight: 50%}] }\nresolver { type: full, dir: /d }",
		"ping_interval: 2m\nlame_duck_duration: \"1m\"\nno_auth_user: x",
	} {
		f.Add([]byte(seed))
	}
	if data, err := os.ReadFile("testdata/natsgo_snippets.txt"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ProcessConfig(data, "fuzz.conf", nil, nil)
		if err == nil {
			if o == nil {
				t.Fatal("nil options without an error")
			}
			o.SetDefaults()
			if _, err := Diff(Default(), o); err != nil && err.Error() == "" {
				t.Fatal("empty reload error")
			}
			return
		}
		var parseError *conf.Error
		var processError *ProcessConfigError
		if !errors.As(err, &parseError) && !errors.As(err, &processError) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
	})
}
