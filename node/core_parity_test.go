package node

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsim/natsim/node/opts"
)

// TestConnectAccountFieldsAreAuthViolations proves a CONNECT naming an account or
// asking for a new one is refused with "Authorization Violation" and closed, as the
// reference treats the retired dynamic-account feature.
func TestConnectAccountFieldsAreAuthViolations(t *testing.T) {
	s := startTestServer(t, nil)
	for _, connect := range []string{
		"CONNECT {\"verbose\":false,\"account\":\"A\"}\r\nPING\r\n",
		"CONNECT {\"verbose\":false,\"new_account\":true}\r\nPING\r\n",
	} {
		r := dialRaw(t, s)
		r.send(connect)
		if got := r.line(); got != "-ERR 'Authorization Violation'" {
			t.Fatalf("%q: got %q", connect, got)
		}
		r.expectClosed()
	}
}

// TestProtocolZeroAndOneAccepted proves the two protocol versions the reference
// knows are accepted, and a negative one is refused and closed.
func TestProtocolZeroAndOneAccepted(t *testing.T) {
	s := startTestServer(t, nil)
	for _, protocol := range []string{"0", "1"} {
		r := dialRaw(t, s)
		r.send("CONNECT {\"verbose\":false,\"protocol\":" + protocol + "}\r\nPING\r\n")
		if got := r.line(); got != "PONG" {
			t.Fatalf("protocol %s: got %q", protocol, got)
		}
	}
	r := dialRaw(t, s)
	r.send("CONNECT {\"verbose\":false,\"protocol\":-1}\r\n")
	if got := r.line(); got != "-ERR 'invalid client protocol'" {
		t.Fatalf("got %q", got)
	}
	r.expectClosed()
}

// TestEchoFalse proves echo:false keeps a connection's own messages from its own
// subscriptions while other connections still receive them.
func TestEchoFalse(t *testing.T) {
	s := startTestServer(t, nil)
	r := dialRaw(t, s)
	r.send("CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\nPING\r\n")
	if got := r.line(); got != "PONG" {
		t.Fatalf("own message echoed: got %q", got)
	}
	other := connect(t, s)
	if err := other.Publish("a", []byte("yo")); err != nil {
		t.Fatal(err)
	}
	other.Flush()
	for _, want := range []string{"MSG a 1 2", "yo"} {
		if got := r.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
	// The default echoes.
	echo := dialRaw(t, s)
	echo.send("CONNECT {\"verbose\":false}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\n")
	for _, want := range []string{"MSG a 1 2", "hi"} {
		if got := echo.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

// TestUnsubMaxRaw proves "UNSUB <sid> <max>" lets exactly max more messages through,
// counting the ones delivered before the UNSUB.
func TestUnsubMaxRaw(t *testing.T) {
	s := startTestServer(t, nil)
	r := dialRaw(t, s)
	r.send("CONNECT {\"verbose\":false}\r\nSUB a 1\r\nPUB a 1\r\n1\r\nUNSUB 1 3\r\n")
	r.send("PUB a 1\r\n2\r\nPUB a 1\r\n3\r\nPUB a 1\r\n4\r\nPING\r\n")
	for _, want := range []string{"MSG a 1 1", "1", "MSG a 1 1", "2", "MSG a 1 1", "3", "PONG"} {
		if got := r.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

// TestMaxAccountConnections proves an account's max_connections refuses the next
// connection of that account with the reference's text and closes it, while other
// accounts are unaffected.
func TestMaxAccountConnections(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		limited := &opts.Account{Name: "A"}
		limited.Limits.MaxConnections = 1
		o.Accounts = []*opts.Account{limited, {Name: "B"}}
		o.Users = []*opts.User{
			{Username: "a1", Password: "p", Account: "A"},
			{Username: "a2", Password: "p", Account: "A"},
			{Username: "b", Password: "p", Account: "B"},
		}
	})
	connect(t, s, nats.UserInfo("a1", "p")).Flush()
	r := dialRaw(t, s)
	r.send("CONNECT {\"verbose\":false,\"user\":\"a2\",\"pass\":\"p\"}\r\nPING\r\n")
	if got := r.line(); got != "-ERR 'maximum account active connections exceeded'" {
		t.Fatalf("got %q", got)
	}
	r.expectClosed()
	if err := connect(t, s, nats.UserInfo("b", "p")).Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestMaxPendingClosesSlowConsumer proves a subscriber that does not read is closed
// as a slow consumer once its pending bytes pass max_pending, and the publisher is
// not affected.
func TestMaxPendingClosesSlowConsumer(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) { o.MaxPending = 64 * 1024 })
	r := dialRaw(t, s)
	r.send("CONNECT {\"verbose\":false}\r\nSUB a 1\r\nPING\r\n")
	if got := r.line(); got != "PONG" {
		t.Fatalf("got %q", got)
	}
	publisher := connect(t, s)
	payload := []byte(strings.Repeat("x", 32*1024))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for range 64 {
			publisher.Publish("a", payload)
		}
		publisher.Flush()
		if s.Varz().SlowConsumers > 0 {
			break
		}
	}
	if s.Varz().SlowConsumers == 0 {
		t.Fatal("no slow consumer detected")
	}
	if !publisher.IsConnected() {
		t.Fatal("publisher dropped")
	}
}

// TestInfoFields proves the INFO a client gets carries the reference's fields: the
// server's identity, limits and features, the client's id and address, the
// JetStream flag, domain and API level, and after the first PONG (protocol 1) an
// INFO with connect_info and the bound account.
func TestInfoFields(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.JetStream, o.JetStreamDomain, o.StoreDir = true, "ABC", t.TempDir()
		o.ServerName = "info-test"
	})
	conn, err := net.Dial("tcp", s.ClientAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reader := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, _ := reader.ReadString('\n')
	var info map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSpace(line), "INFO ")), &info); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	for key, want := range map[string]any{
		"server_id": s.ID(), "server_name": "info-test", "version": Version, "proto": 1.0, "headers": true,
		"max_payload": float64(opts.DefaultMaxPayloadBytes), "jetstream": true, "domain": "ABC", "api_lvl": 5.0,
		"client_ip": "127.0.0.1", "host": "127.0.0.1",
	} {
		if info[key] != want {
			t.Errorf("INFO %s = %v, want %v", key, info[key], want)
		}
	}
	for _, key := range []string{"go", "port", "client_id"} {
		if _, ok := info[key]; !ok {
			t.Errorf("INFO without %s", key)
		}
	}
	fmt.Fprintf(conn, "CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n")
	if line, _ := reader.ReadString('\n'); line != "PONG\r\n" {
		t.Fatalf("got %q", line)
	}
	line, _ = reader.ReadString('\n')
	var after map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSpace(line), "INFO ")), &after); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if after["connect_info"] != true || after["remote_account"] != "$G" {
		t.Fatalf("INFO after the first PONG: %v", after)
	}
}

// TestReloadRemovesForbiddenSubscriptions proves a reload that takes a subscribe
// permission away removes the subscriptions it no longer allows, telling the client
// with the reference's text naming the sid, and keeps the connection and its other
// subscriptions.
func TestReloadRemovesForbiddenSubscriptions(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Users = []*opts.User{{Username: "u", Password: "p"}}
	})
	r := dialRaw(t, s)
	r.send("CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"p\"}\r\nSUB secret.a 1\r\nSUB public.a 2\r\nSUB secret.b workers 3\r\nPING\r\n")
	if got := r.line(); got != "PONG" {
		t.Fatalf("got %q", got)
	}
	o := s.Options()
	o.Users = []*opts.User{{Username: "u", Password: "p", Permissions: &opts.Permissions{
		Subscribe: &opts.SubjectPermission{Deny: []string{"secret.>"}},
	}}}
	if err := s.Reload(&o); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`-ERR 'Permissions Violation for Subscription to "secret.a" (sid "1")'`,
		`-ERR 'Permissions Violation for Subscription to "secret.b" using queue "workers" (sid "3")'`,
	} {
		if got := r.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
	publisher := connect(t, s, nats.UserInfo("u", "p"))
	publisher.Publish("secret.a", []byte("x"))
	publisher.Publish("public.a", []byte("y"))
	publisher.Flush()
	for _, want := range []string{"MSG public.a 2 1", "y"} {
		if got := r.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}
