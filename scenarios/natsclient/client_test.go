package natsclient_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/scenarios/natsclient"
	"github.com/natsim/natsim/sim"
)

// testWorld is a simulated world with one real server and a step helper.
type testWorld struct {
	t      *testing.T
	world  *sim.World
	server *sim.Process
}

// newTestWorld boots a node.Server on "server:4222" built from the config text.
func newTestWorld(t *testing.T, seed uint64, config string) *testWorld {
	t.Helper()
	world := sim.NewWorld(sim.Config{
		Seed:                  seed,
		Latency:               sim.LatencyModel{Kind: sim.LatencyUniform, Min: time.Millisecond, Max: 5 * time.Millisecond},
		ChunkSplitProbability: 0.5,
		RetransmitTimeout:     2 * time.Second,
		DialTimeout:           time.Second,
		EventsMax:             5_000_000,
	}, sim.Options{})
	tw := &testWorld{t: t, world: world}
	tw.server = world.Spawn("server", sim.ProcessOptions{}, func(e env.Env) any {
		o, err := opts.ProcessConfig([]byte(config), "test.conf", nil, nil)
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		o.Host, o.Port = "", 4222
		s, err := node.New(e, o, nil)
		if err != nil {
			t.Fatalf("new server: %v", err)
		}
		if err := s.Start(); err != nil {
			t.Fatalf("start: %v", err)
		}
		return s
	})
	return tw
}

// spawnClient spawns a client process whose client connects at once.
func (tw *testWorld) spawnClient(name string, o natsclient.Options, h natsclient.Handlers) *natsclient.Client {
	var c *natsclient.Client
	o.Address, o.Name = "server:4222", name
	tw.world.Spawn(name, sim.ProcessOptions{}, func(e env.Env) any {
		c = natsclient.New(e, o, h)
		c.Connect()
		return c
	})
	return c
}

// run advances virtual time by d.
func (tw *testWorld) run(d time.Duration) {
	tw.t.Helper()
	if tw.world.RunUntil(tw.world.Now()+d, 5_000_000) {
		tw.t.Fatal("event budget exhausted")
	}
}

// TestClientPubSubQueueRequest proves the client's core operations against a real
// server in the simulator: wildcard and queue subscriptions, auto-unsubscribe,
// headers, request/reply, no responders, and request timeouts.
func TestClientPubSubQueueRequest(t *testing.T) {
	tw := newTestWorld(t, 1, "")
	connected := map[string]int{}
	handlers := func(name string) natsclient.Handlers {
		return natsclient.Handlers{Connected: func(uint64) { connected[name]++ }}
	}
	options := natsclient.Options{Headers: true, NoResponders: true}
	a := tw.spawnClient("a", options, handlers("a"))
	b := tw.spawnClient("b", options, handlers("b"))
	tw.run(100 * time.Millisecond)
	if connected["a"] != 1 || connected["b"] != 1 || !a.Connected() || a.ServerInfo().ID == "" {
		t.Fatalf("connected %v, info %+v", connected, a.ServerInfo())
	}

	var wildcard, queueA, queueB, limited, headers []string
	record := func(into *[]string) func(*natsclient.Msg) {
		return func(m *natsclient.Msg) { *into = append(*into, m.Subject+"="+string(m.Data)) }
	}
	b.Subscribe("orders.>", func(m *natsclient.Msg) {
		record(&wildcard)(m)
		if m.Header != nil {
			headers = append(headers, string(m.Header))
		}
	})
	a.QueueSubscribe("work.*", "workers", record(&queueA))
	b.QueueSubscribe("work.*", "workers", record(&queueB))
	limitedSub, _ := b.Subscribe("orders.*", record(&limited))
	limitedSub.AutoUnsubscribe(3)
	b.Subscribe("echo", func(m *natsclient.Msg) {
		value, _ := natsclient.HeaderValue(m.Header, "Kind")
		b.Publish(m.Reply, []byte("echo:"+string(m.Data)+":"+value))
	})
	flushed := false
	b.Flush(func(err error) { flushed = err == nil })
	tw.run(50 * time.Millisecond)
	if !flushed {
		t.Fatal("flush did not complete")
	}

	for i := 0; i < 10; i++ {
		a.Publish(fmt.Sprintf("orders.%d", i), []byte(fmt.Sprint(i)))
		a.Publish("work.x", []byte(fmt.Sprint(i)))
	}
	a.PublishMsg(&natsclient.Msg{Subject: "orders.h", Header: natsclient.AppendHeader(nil, "Kind", "h"), Data: []byte("with header")})
	var replies []string
	var requestErrors []error
	onReply := func(m *natsclient.Msg, err error) {
		if err != nil {
			requestErrors = append(requestErrors, err)
			return
		}
		replies = append(replies, string(m.Data))
	}
	a.Request("echo", []byte("hi"), time.Second, onReply)
	a.Request("nobody.home", []byte("?"), time.Second, onReply)
	tw.run(200 * time.Millisecond)

	if len(wildcard) != 11 || wildcard[0] != "orders.0=0" || wildcard[10] != "orders.h=with header" {
		t.Fatalf("wildcard got %q", wildcard)
	}
	if len(headers) != 1 || headers[0] != "NATS/1.0\r\nKind: h\r\n\r\n" {
		t.Fatalf("headers received %q", headers)
	}
	if len(limited) != 3 || !limitedSub.Closed() || limitedSub.Excess() != 0 {
		t.Fatalf("limited got %q closed=%v excess=%d", limited, limitedSub.Closed(), limitedSub.Excess())
	}
	if len(queueA)+len(queueB) != 10 || len(queueA) == 0 || len(queueB) == 0 {
		t.Fatalf("queue members got %d and %d of 10 (want both some)", len(queueA), len(queueB))
	}
	// The server may order the two requests' answers either way.
	if len(replies) != 1 || replies[0] != "echo:hi:" || len(requestErrors) != 1 || !errors.Is(requestErrors[0], natsclient.ErrNoResponders) {
		t.Fatalf("replies %q errors %v", replies, requestErrors)
	}

	// A request whose responder never answers times out on the client's clock.
	b.Subscribe("silent", func(*natsclient.Msg) {})
	tw.run(20 * time.Millisecond)
	var timedOut error
	a.Request("silent", nil, 300*time.Millisecond, func(_ *natsclient.Msg, err error) { timedOut = err })
	tw.run(200 * time.Millisecond)
	if timedOut != nil {
		t.Fatalf("timed out early: %v", timedOut)
	}
	tw.run(200 * time.Millisecond)
	if !errors.Is(timedOut, natsclient.ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", timedOut)
	}
}

// TestClientReconnectResubscribes proves that after a connection reset the client
// reconnects with backoff, subscribes again (with what is left of a limit), and
// receives what is published afterwards; and that pending PINGs fail.
func TestClientReconnectResubscribes(t *testing.T) {
	tw := newTestWorld(t, 2, "")
	var disconnects []error
	connections := 0
	var received []string
	b := tw.spawnClient("b", natsclient.Options{}, natsclient.Handlers{
		Connected:    func(uint64) { connections++ },
		Disconnected: func(_ uint64, err error) { disconnects = append(disconnects, err) },
	})
	a := tw.spawnClient("a", natsclient.Options{}, natsclient.Handlers{})
	tw.run(100 * time.Millisecond)
	sub, _ := b.Subscribe("x.*", func(m *natsclient.Msg) { received = append(received, string(m.Data)) })
	sub.AutoUnsubscribe(4)
	tw.run(50 * time.Millisecond)
	a.Publish("x.1", []byte("1"))
	tw.run(50 * time.Millisecond)

	var flushErr error = errors.New("unset")
	b.Flush(func(err error) { flushErr = err })
	clientProcess := tw.world.Process("b")
	for _, id := range clientProcess.Connections() {
		tw.world.ResetConnection(clientProcess, id)
	}
	tw.run(time.Millisecond)
	if !errors.Is(flushErr, natsclient.ErrDisconnected) || b.Connected() {
		t.Fatalf("flush after reset: %v, connected %v", flushErr, b.Connected())
	}
	tw.run(2 * time.Second)
	if connections != 2 || len(disconnects) != 1 || b.Connection() != 2 {
		t.Fatalf("connections %d disconnects %v number %d", connections, disconnects, b.Connection())
	}
	for i := 2; i <= 6; i++ {
		a.Publish("x.1", []byte(fmt.Sprint(i)))
	}
	tw.run(100 * time.Millisecond)
	if strings.Join(received, ",") != "1,2,3,4" || !sub.Closed() || sub.Excess() != 0 {
		t.Fatalf("received %q closed=%v excess=%d", received, sub.Closed(), sub.Excess())
	}
}

// TestClientAuthAndErrors proves CONNECT carries user and password (accounts isolate
// subjects), and that -ERR reaches the Error callback.
func TestClientAuthAndErrors(t *testing.T) {
	tw := newTestWorld(t, 3, `
accounts {
  A { users [ {user: a, password: pa, permissions: {publish: {deny: "secret"}}} ] }
  B { users [ {user: b, password: pb} ] }
}`)
	var errorsA, errorsBad []string
	a := tw.spawnClient("a", natsclient.Options{User: "a", Password: "pa"}, natsclient.Handlers{
		Error: func(text string) { errorsA = append(errorsA, text) },
	})
	b := tw.spawnClient("b", natsclient.Options{User: "b", Password: "pb"}, natsclient.Handlers{})
	bad := tw.spawnClient("bad", natsclient.Options{User: "a", Password: "wrong", NoReconnect: true}, natsclient.Handlers{
		Error: func(text string) { errorsBad = append(errorsBad, text) },
	})
	tw.run(100 * time.Millisecond)
	var inB []string
	b.Subscribe(">", func(m *natsclient.Msg) { inB = append(inB, m.Subject) })
	tw.run(50 * time.Millisecond)
	a.Publish("anything", []byte("x"))
	a.Publish("secret", []byte("x"))
	tw.run(100 * time.Millisecond)
	if len(inB) != 0 {
		t.Fatalf("account B saw %q from account A", inB)
	}
	if len(errorsA) != 1 || !strings.Contains(errorsA[0], "Permissions Violation for Publish to \"secret\"") || !a.Connected() {
		t.Fatalf("errors for a: %q connected %v", errorsA, a.Connected())
	}
	if len(errorsBad) != 1 || errorsBad[0] != "Authorization Violation" || bad.Connected() {
		t.Fatalf("errors for bad: %q connected %v", errorsBad, bad.Connected())
	}
}
