package conf

import (
	"strings"
	"testing"
)

// BenchmarkParse measures a config the size of the natsgo-suite tester's default
// (cluster, gateway, TLS, six accounts).
func BenchmarkParse(b *testing.B) {
	var text strings.Builder
	text.WriteString("server_name: \"n1\"\nhost: \"127.0.0.1\"\nport: 4222\njetstream {\n  enabled: true\n  store_dir: \"/tmp/x\"\n}\n")
	text.WriteString("cluster {\n  name: \"C1\"\n  port: 6222\n  routes: [\n    \"nats://127.0.0.1:6223\"\n    \"nats://127.0.0.1:6224\"\n  ]\n}\n")
	text.WriteString("tls {\n  cert_file: \"/c.pem\"\n  key_file: \"/k.pem\"\n  timeout: 2\n}\nsystem_account: \"$SYS\"\nno_auth_user: user1\naccounts {\n")
	for i := 1; i <= 5; i++ {
		text.WriteString("  USERS" + string(rune('0'+i)) + " {\n    users: [ { user: \"user\", password: \"password\" } ]\n    jetstream: enabled\n  }\n")
	}
	text.WriteString("  $SYS {\n    users: [ { user: \"system\", password: \"password\" } ]\n  }\n}\n")
	data := []byte(text.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "bench.conf", Source{}); err != nil {
			b.Fatal(err)
		}
	}
}
