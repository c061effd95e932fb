package node

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node/opts"
)

// startTestServer runs a server on a random loopback port with real sockets.
func startTestServer(t testing.TB, configure func(*opts.Options)) *Server {
	t.Helper()
	o := opts.Default()
	o.Host = "127.0.0.1"
	o.Port = opts.RandomPort
	o.NoSystemAccount = false
	if configure != nil {
		configure(o)
	}
	s, err := New(osenv.New(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t testing.TB, s *Server, options ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestPubSub proves a message reaches plain and wildcard subscribers, once each.
func TestPubSub(t *testing.T) {
	s := startTestServer(t, nil)
	nc := connect(t, s)
	exact, _ := nc.SubscribeSync("foo.bar")
	star, _ := nc.SubscribeSync("foo.*")
	full, _ := nc.SubscribeSync("foo.>")
	other, _ := nc.SubscribeSync("bar")
	if err := nc.Publish("foo.bar", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	for _, sub := range []*nats.Subscription{exact, star, full} {
		msg, err := sub.NextMsg(time.Second)
		if err != nil || string(msg.Data) != "hello" || msg.Subject != "foo.bar" {
			t.Fatalf("%s: %v %v", sub.Subject, msg, err)
		}
	}
	if _, err := other.NextMsg(50 * time.Millisecond); err == nil {
		t.Fatal("bar received foo.bar")
	}
}

// TestQueueGroup proves each message goes to exactly one member of a queue group.
func TestQueueGroup(t *testing.T) {
	s := startTestServer(t, nil)
	nc := connect(t, s)
	var mu sync.Mutex
	counts := map[int]int{}
	for i := range 3 {
		nc.QueueSubscribe("work", "q", func(*nats.Msg) { mu.Lock(); counts[i]++; mu.Unlock() })
	}
	plain, _ := nc.SubscribeSync("work")
	for range 300 {
		nc.Publish("work", []byte("x"))
	}
	nc.Flush()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		total := counts[0] + counts[1] + counts[2]
		mu.Unlock()
		if total == 300 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if counts[0]+counts[1]+counts[2] != 300 || counts[0] == 0 || counts[1] == 0 || counts[2] == 0 {
		t.Fatalf("queue counts %v", counts)
	}
	if n, _, _ := plain.Pending(); n != 300 {
		t.Fatalf("plain subscriber got %d", n)
	}
}

// TestRequestReplyAndNoResponders proves request/reply works, and that a request
// without responders fails fast with the 503 status.
func TestRequestReplyAndNoResponders(t *testing.T) {
	s := startTestServer(t, nil)
	nc := connect(t, s)
	nc.Subscribe("svc", func(m *nats.Msg) { m.Respond(append([]byte("re:"), m.Data...)) })
	msg, err := nc.Request("svc", []byte("q"), time.Second)
	if err != nil || string(msg.Data) != "re:q" {
		t.Fatalf("%v %v", msg, err)
	}
	start := time.Now()
	if _, err := nc.Request("nobody", nil, 2*time.Second); err != nats.ErrNoResponders {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("no responders was not immediate")
	}
}

// TestHeaders proves headers travel with HPUB/HMSG.
func TestHeaders(t *testing.T) {
	s := startTestServer(t, nil)
	nc := connect(t, s)
	sub, _ := nc.SubscribeSync("h")
	m := nats.NewMsg("h")
	m.Header.Set("A", "b")
	m.Data = []byte("body")
	nc.PublishMsg(m)
	got, err := sub.NextMsg(time.Second)
	if err != nil || got.Header.Get("A") != "b" || string(got.Data) != "body" {
		t.Fatalf("%v %v", got, err)
	}
}

// TestAutoUnsubscribe proves UNSUB with a max stops after that many messages.
func TestAutoUnsubscribe(t *testing.T) {
	s := startTestServer(t, nil)
	nc := connect(t, s)
	sub, _ := nc.SubscribeSync("a")
	sub.AutoUnsubscribe(2)
	for range 5 {
		nc.Publish("a", nil)
	}
	nc.Flush()
	time.Sleep(50 * time.Millisecond)
	if n, _, _ := sub.Pending(); n != 2 {
		t.Fatalf("pending %d", n)
	}
	if s.Subsz(SubszOptions{Account: "$G"}).NumSubs != 0 {
		t.Fatal("subscription not removed")
	}
}

// rawConn is a protocol-level client for checking -ERR texts and closes.
type rawConn struct {
	t      testing.TB
	conn   net.Conn
	reader *bufio.Reader
	// info is the server's first INFO line.
	info string
}

func dialRaw(t testing.TB, s *Server) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", s.ClientAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := &rawConn{t: t, conn: conn, reader: bufio.NewReader(conn)}
	if r.info = r.line(); !strings.HasPrefix(r.info, "INFO {") {
		t.Fatalf("first line %q", r.info)
	}
	return r
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := r.conn.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) line() string {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := r.reader.ReadString('\n')
	if err != nil {
		return "ERROR: " + err.Error()
	}
	return strings.TrimRight(line, "\r\n")
}

// expectClosed proves the server closed the connection.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.reader.ReadByte(); err == nil {
		r.t.Fatal("connection still open")
	}
}

// TestProtocolErrors proves each violation gets the reference's -ERR text and the
// same close or stay-open behaviour.
func TestProtocolErrors(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) { o.MaxPayload = 16; o.MaxSubs = 1; o.MaxControlLine = 64; o.MaxSubTokens = 3 })
	cases := []struct {
		name, send, want string
		closes           bool
	}{
		{"unknown op", "FOO\r\n", "-ERR 'Unknown Protocol Operation'", true},
		{"max payload", "PUB a 17\r\n", "-ERR 'Maximum Payload Violation'", true},
		{"max control line", "SUB " + strings.Repeat("a", 100) + " 1\r\n", "-ERR 'maximum control line exceeded'", true},
		{"invalid subject", "SUB a..b 1\r\nPING\r\n", "-ERR 'Invalid Subject'", false},
		{"bad protocol", "CONNECT {\"protocol\":2}\r\n", "-ERR 'invalid client protocol'", true},
		{"no responders without headers", "CONNECT {\"no_responders\":true}\r\n", "-ERR 'no responders requires headers support'", true},
		{"pedantic publish", "CONNECT {\"pedantic\":true,\"verbose\":false}\r\nPUB a.* 0\r\n\r\nPING\r\n", "-ERR 'Invalid Publish Subject'", false},
		{"max subscriptions", "CONNECT {\"verbose\":false}\r\nSUB a 1\r\nSUB b 2\r\nPING\r\n", "-ERR 'maximum subscriptions exceeded'", false},
		{"too many tokens", "CONNECT {\"verbose\":false}\r\nSUB a.b.c.d 1\r\nPING\r\n", `-ERR 'Permissions Violation for Subscription to "a.b.c.d", too many tokens'`, false},
		{"gateway reply subject", "CONNECT {\"verbose\":false}\r\nPUB _GR_.x.y 0\r\n\r\nPING\r\n", `-ERR 'Permissions Violation for Publish to "_GR_.x.y"'`, false},
		{"raft subject", "CONNECT {\"verbose\":false}\r\nPUB $NRG.AE.x 0\r\n\r\nPING\r\n", `-ERR 'Permissions Violation for Publish to "$NRG.AE.x"'`, false},
		{"ack reply", "CONNECT {\"verbose\":false}\r\nPUB a $JS.ACK.s.c 0\r\n\r\nPING\r\n", `-ERR 'Permissions Violation for Publish with Reply of "$JS.ACK.s.c"'`, false},
		{"reserved reply", "CONNECT {\"verbose\":false}\r\nPUB a _R_.x 0\r\n\r\nPING\r\n", `-ERR 'Permissions Violation for Publish with Reply of "_R_.x"'`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dialRaw(t, s)
			r.send(c.send)
			if got := r.line(); got != c.want {
				t.Fatalf("got %q want %q", got, c.want)
			}
			if c.closes {
				r.expectClosed()
			} else if got := r.line(); got != "PONG" {
				t.Fatalf("after error got %q", got)
			}
		})
	}
}

// TestVerbose proves +OK follows each op when verbose, including the default (no
// CONNECT sent means verbose).
func TestVerbose(t *testing.T) {
	s := startTestServer(t, nil)
	r := dialRaw(t, s)
	r.send("CONNECT {\"verbose\":true}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\n")
	for _, want := range []string{"+OK", "+OK", "+OK", "MSG a 1 2", "hi"} {
		if got := r.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

// TestAuthUserPassword proves user/password auth accepts good and rejects bad
// credentials with "Authorization Violation".
func TestAuthUserPassword(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) { o.Username, o.Password = "u", "p" })
	if _, err := nats.Connect(s.ClientURL(), nats.UserInfo("u", "bad")); err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("bad password: %v", err)
	}
	nc := connect(t, s, nats.UserInfo("u", "p"))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, s)
	r.send("PING\r\n")
	if got := r.line(); got != "-ERR 'Authorization Violation'" {
		t.Fatalf("got %q", got)
	}
	r.expectClosed()
}

// TestAccountsIsolationAndImports proves accounts do not see each other's messages
// except through a stream import, and that a service import answers requests.
func TestAccountsIsolationAndImports(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		a := &opts.Account{Name: "A", Exports: []*opts.Export{{Subject: "public.>"}, {Subject: "svc", Service: true}}}
		b := &opts.Account{Name: "B", Imports: []*opts.Import{
			{Account: "A", Subject: "public.>"},
			{Account: "A", Subject: "svc", Service: true, To: "asksvc"},
		}}
		ua := &opts.User{Username: "a", Password: "a", Account: "A"}
		ub := &opts.User{Username: "b", Password: "b", Account: "B"}
		o.Accounts = []*opts.Account{a, b}
		o.Users = []*opts.User{ua, ub}
	})
	na := connect(t, s, nats.UserInfo("a", "a"))
	nb := connect(t, s, nats.UserInfo("b", "b"))
	private, _ := nb.SubscribeSync("private")
	public, _ := nb.SubscribeSync("public.news")
	nb.Flush()
	na.Publish("private", []byte("x"))
	na.Publish("public.news", []byte("y"))
	na.Flush()
	if msg, err := public.NextMsg(time.Second); err != nil || string(msg.Data) != "y" {
		t.Fatalf("stream import: %v %v", msg, err)
	}
	if _, err := private.NextMsg(50 * time.Millisecond); err == nil {
		t.Fatal("message crossed accounts")
	}
	na.Subscribe("svc", func(m *nats.Msg) { m.Respond([]byte("served")) })
	na.Flush()
	msg, err := nb.Request("asksvc", nil, time.Second)
	if err != nil || string(msg.Data) != "served" {
		t.Fatalf("service import: %v %v", msg, err)
	}
}

// TestPermissions proves publish and subscribe permission violations get the
// reference's texts and keep the connection open.
func TestPermissions(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Users = []*opts.User{{Username: "u", Password: "p", Permissions: &opts.Permissions{
			Publish:   &opts.SubjectPermission{Allow: []string{"ok.>"}},
			Subscribe: &opts.SubjectPermission{Deny: []string{"secret"}},
		}}}
	})
	r := dialRaw(t, s)
	r.send("CONNECT {\"user\":\"u\",\"pass\":\"p\",\"verbose\":false}\r\nPUB no 0\r\n\r\nSUB secret 1\r\nPING\r\n")
	for _, want := range []string{`-ERR 'Permissions Violation for Publish to "no"'`,
		`-ERR 'Permissions Violation for Subscription to "secret"'`, "PONG"} {
		if got := r.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

// TestMonitoringHandlers proves the monitoring handlers report the server's state.
func TestMonitoringHandlers(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) { o.HTTPHost = "127.0.0.1"; o.HTTPPort = -1 })
	nc := connect(t, s, nats.Name("watcher"))
	nc.SubscribeSync("x")
	nc.Flush()
	connz, err := s.Connz(ConnzOptions{Subs: connzSubsList})
	if err != nil || connz.NumConns != 1 || connz.Conns[0].Name != "watcher" || len(connz.Conns[0].Subs) != 1 {
		t.Fatalf("connz %+v %v", connz, err)
	}
	if v := s.Varz(); v.Connections != 1 || s.Subsz(SubszOptions{Account: "$G"}).NumSubs != 1 {
		t.Fatalf("varz %+v", v)
	}
	conn, err := net.Dial("tcp", s.MonitorAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	reader := bufio.NewReader(conn)
	status, _ := reader.ReadString('\n')
	if !strings.Contains(status, "200") {
		t.Fatalf("healthz status %q", status)
	}
}

// TestSlowConsumerPendingBytes proves a subscriber whose pending output passes
// max_pending is closed as a slow consumer, and publishers are unaffected.
func TestSlowConsumerPendingBytes(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) { o.MaxPending = 2048 })
	r := dialRaw(t, s)
	r.send("CONNECT {\"verbose\":false}\r\nSUB big 1\r\nPING\r\n")
	if got := r.line(); got != "PONG" {
		t.Fatalf("got %q", got)
	}
	nc := connect(t, s)
	payload := make([]byte, 512)
	for range 20 {
		nc.Publish("big", payload)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Varz().SlowConsumers == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	connz, _ := s.Connz(ConnzOptions{State: "closed"})
	if s.Varz().SlowConsumers != 1 || len(connz.Conns) != 1 || connz.Conns[0].Reason != "Slow Consumer (Pending Bytes)" {
		t.Fatalf("slow consumers %d, closed %+v", s.Varz().SlowConsumers, connz.Conns)
	}
	if !nc.IsConnected() {
		t.Fatal("publisher was disconnected")
	}
}

// TestReconnectAndResubscribe proves a client reconnects to a restarted server on the
// same port and its subscriptions work again.
func TestReconnectAndResubscribe(t *testing.T) {
	s := startTestServer(t, nil)
	address := s.ClientAddr()
	_, port, _ := splitHostPort(address)
	reconnected := make(chan struct{}, 1)
	nc := connect(t, s, nats.ReconnectWait(20*time.Millisecond), nats.MaxReconnects(-1),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	sub, _ := nc.SubscribeSync("again")
	nc.Flush()
	s.Shutdown()
	restarted := startTestServer(t, func(o *opts.Options) { o.Port = port })
	select {
	case <-reconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnect")
	}
	// A round trip makes sure the server has the re-sent subscription.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	other := connect(t, restarted)
	other.Publish("again", []byte("x"))
	other.Flush()
	if _, err := sub.NextMsg(time.Second); err != nil {
		t.Fatalf("subscription not restored: %v", err)
	}
}

// TestDrain proves Drain delivers what is in flight and then closes.
func TestDrain(t *testing.T) {
	s := startTestServer(t, nil)
	nc := connect(t, s)
	var received atomic.Int32
	nc.Subscribe("d", func(*nats.Msg) { time.Sleep(time.Millisecond); received.Add(1) })
	nc.Flush()
	pub := connect(t, s)
	for range 50 {
		pub.Publish("d", nil)
	}
	pub.Flush()
	time.Sleep(20 * time.Millisecond)
	if err := nc.Drain(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !nc.IsClosed() || received.Load() != 50 {
		t.Fatalf("closed %v received %d", nc.IsClosed(), received.Load())
	}
}

// TestMaxConnections proves the connection past max_connections gets the reference's
// error after INFO and is closed.
func TestMaxConnections(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) { o.MaxConn = 1 })
	connect(t, s).Flush()
	if _, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(0)); err == nil || !strings.Contains(err.Error(), "maximum connections exceeded") {
		t.Fatalf("got %v", err)
	}
}

// TestReloadKeepsConnectionsAndAppliesLimits proves Reload applies new limits and
// authorization without dropping clients that still authenticate.
func TestReloadKeepsConnectionsAndAppliesLimits(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Users = []*opts.User{{Username: "keep", Password: "p"}, {Username: "drop", Password: "p"}}
	})
	keep := connect(t, s, nats.UserInfo("keep", "p"), nats.MaxReconnects(0))
	drop := connect(t, s, nats.UserInfo("drop", "p"), nats.MaxReconnects(0))
	keep.Flush()
	drop.Flush()
	o := s.Options()
	o.Users = []*opts.User{{Username: "keep", Password: "p"}}
	o.MaxPayload = 8
	if err := s.Reload(&o); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !drop.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !drop.IsClosed() || !keep.IsConnected() {
		t.Fatalf("drop closed %v, keep connected %v", drop.IsClosed(), keep.IsConnected())
	}
	r := dialRaw(t, s)
	r.send("CONNECT {\"user\":\"keep\",\"pass\":\"p\"}\r\nPUB a 9\r\n")
	for _, want := range []string{"+OK", "-ERR 'Maximum Payload Violation'"} {
		if got := r.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

// TestLameDuckMode proves lame duck mode stops accepting, tells clients and closes
// them, then shuts down.
func TestLameDuckMode(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.LameDuckDuration, o.LameDuckGracePeriod = 200*time.Millisecond, 50*time.Millisecond
	})
	lameDuck := make(chan struct{}, 1)
	nc := connect(t, s, nats.MaxReconnects(0), nats.LameDuckModeHandler(func(*nats.Conn) { lameDuck <- struct{}{} }))
	nc.Flush()
	address := s.ClientAddr()
	s.LameDuckMode()
	select {
	case <-lameDuck:
	case <-time.After(time.Second):
		t.Fatal("client not told about lame duck mode")
	}
	if conn, err := net.DialTimeout("tcp", address, 200*time.Millisecond); err == nil {
		conn.Close()
		t.Fatal("listener still accepting")
	}
	select {
	case <-s.ShutdownDone():
	case <-time.After(2 * time.Second):
		t.Fatal("no shutdown after lame duck duration")
	}
	if !nc.IsClosed() {
		t.Fatal("client still connected")
	}
}

// TestSystemRequests proves the monitoring data is served over NATS to system
// account users, and that other accounts cannot reach it.
func TestSystemRequests(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Accounts = []*opts.Account{{Name: "SYS"}, {Name: "APP"}}
		o.SystemAccount = "SYS"
		o.Users = []*opts.User{{Username: "sys", Password: "p", Account: "SYS"}, {Username: "app", Password: "p", Account: "APP"}}
	})
	system := connect(t, s, nats.UserInfo("sys", "p"))
	msg, err := system.Request("$SYS.REQ.SERVER.PING", nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var statsz ServerStatsMsg
	if err := json.Unmarshal(msg.Data, &statsz); err != nil || statsz.Server.ID != s.ID() || statsz.Stats.Connections != 1 {
		t.Fatalf("statsz %s %v", msg.Data, err)
	}
	msg, err = system.Request("$SYS.REQ.SERVER.PING.CONNZ", []byte(`{"subscriptions":true}`), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var connz struct {
		Server ServerInfo `json:"server"`
		Data   Connz      `json:"data"`
	}
	if err := json.Unmarshal(msg.Data, &connz); err != nil || connz.Data.NumConns != 1 {
		t.Fatalf("connz %s %v", msg.Data, err)
	}
	msg, err = system.Request("$SYS.REQ.SERVER."+s.ID()+".IDZ", nil, time.Second)
	if err != nil || !strings.Contains(string(msg.Data), s.ID()) {
		t.Fatalf("idz %v %v", msg, err)
	}
	app := connect(t, s, nats.UserInfo("app", "p"))
	if _, err := app.Request("$SYS.REQ.SERVER.PING", nil, 200*time.Millisecond); err == nil {
		t.Fatal("a non-system account reached the system services")
	}
}

// TestClosedConnectionReason proves a client that closes is reported as "Client
// Closed" in /connz state=closed.
func TestClosedConnectionReason(t *testing.T) {
	s := startTestServer(t, nil)
	nc := connect(t, s, nats.Name("leaver"))
	nc.Flush()
	nc.Close()
	deadline := time.Now().Add(2 * time.Second)
	for s.NumClients() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	connz, err := s.Connz(ConnzOptions{State: "closed"})
	if err != nil || len(connz.Conns) != 1 || connz.Conns[0].Reason != "Client Closed" || connz.Conns[0].Name != "leaver" || connz.Conns[0].Stop == nil {
		t.Fatalf("%+v %v", connz, err)
	}
}
