package node_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/sim"
)

// simClient records what a simulated raw-protocol client receives.
type simClient struct {
	data   bytes.Buffer
	closed bool
	conn   env.Conn
}

func (c *simClient) OnData(b []byte)   { c.data.Write(b) }
func (c *simClient) OnClose(err error) { c.closed = true }

// runSimulated boots a server and one client in a simulated world with the given
// seed; the client sends script once connected. It returns what the client received
// after until of virtual time, and the world's trace hash.
func runSimulated(t *testing.T, seed uint64, configure func(*opts.Options), script string, until time.Duration) (*simClient, uint64) {
	t.Helper()
	world := sim.NewWorld(sim.Config{
		Seed:                  seed,
		Latency:               sim.LatencyModel{Kind: sim.LatencyUniform, Min: time.Millisecond, Max: 5 * time.Millisecond},
		ChunkSplitProbability: 0.5,
		RetransmitTimeout:     2 * time.Second,
		DialTimeout:           time.Second,
		EventsMax:             1_000_000,
	}, sim.Options{})
	world.Spawn("server", sim.ProcessOptions{}, func(e env.Env) any {
		o := opts.Default()
		o.Host, o.Port = "", 4222
		if configure != nil {
			configure(o)
		}
		s, err := node.New(e, o, nil)
		if err != nil {
			t.Errorf("new: %v", err)
			return nil
		}
		if err := s.Start(); err != nil {
			t.Errorf("start: %v", err)
		}
		return s
	})
	recorded := &simClient{}
	world.Spawn("client", sim.ProcessOptions{}, func(e env.Env) any {
		e.Clock.AfterFunc(10*time.Millisecond, func() {
			e.Net.Dial("server:4222", func(conn env.Conn, err error) {
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				recorded.conn = conn
				conn.Start(recorded)
				conn.Write([]byte(script))
				conn.Flush()
			})
		})
		return nil
	})
	if world.RunUntil(until, 1_000_000) {
		t.Fatal("event budget exhausted")
	}
	return recorded, world.Hash()
}

// TestSimulatedPubSub proves the server runs in the simulator (no goroutines, no real
// time) and routes a message, with reads split at random points by the network.
func TestSimulatedPubSub(t *testing.T) {
	client, _ := runSimulated(t, 1, nil,
		"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n", time.Second)
	got := client.data.String()
	if !strings.HasPrefix(got, "INFO {") || !strings.Contains(got, "MSG foo 1 5\r\nhello\r\nPONG\r\n") {
		t.Fatalf("received %q", got)
	}
}

// TestSimulatedStaleConnection proves a client that never answers PING is closed
// with "Stale Connection" after ping_max unanswered pings, in virtual time.
func TestSimulatedStaleConnection(t *testing.T) {
	client, _ := runSimulated(t, 2, func(o *opts.Options) {
		o.PingInterval, o.MaxPingsOut = time.Second, 2
	}, "CONNECT {\"verbose\":false}\r\n", 10*time.Second)
	got := client.data.String()
	if strings.Count(got, "PING\r\n") != 2 || !strings.HasSuffix(got, "-ERR 'Stale Connection'\r\n") || !client.closed {
		t.Fatalf("received %q closed=%v", got, client.closed)
	}
}

// TestSimulatedAuthTimeout proves a client that never sends CONNECT to a server with
// authorization is closed with "Authentication Timeout".
func TestSimulatedAuthTimeout(t *testing.T) {
	client, _ := runSimulated(t, 3, func(o *opts.Options) {
		o.Username, o.Password = "u", "p"
	}, "", 5*time.Second)
	if got := client.data.String(); !strings.HasSuffix(got, "-ERR 'Authentication Timeout'\r\n") || !client.closed {
		t.Fatalf("received %q closed=%v", got, client.closed)
	}
}

// TestSimulatedDeterminism proves a seed replays byte for byte: the same INFO (its
// server_id comes from the seeded env.Rand), the same deliveries, the same trace hash.
func TestSimulatedDeterminism(t *testing.T) {
	script := "CONNECT {\"verbose\":true}\r\nSUB a.* q 1\r\nSUB a.> 2\r\nPUB a.b r 2\r\nhi\r\nPING\r\n"
	first, firstHash := runSimulated(t, 9, nil, script, 2*time.Second)
	again, againHash := runSimulated(t, 9, nil, script, 2*time.Second)
	if first.data.String() != again.data.String() || firstHash != againHash {
		t.Fatalf("replay differs:\n%q\n%q", first.data.String(), again.data.String())
	}
	other, _ := runSimulated(t, 10, nil, script, 2*time.Second)
	if other.data.String() == first.data.String() {
		t.Fatal("a different seed gave the same server id")
	}
}

// TestSimulatedRoundTrip proves the keepalive PING measures the round trip that
// /connz reports.
func TestSimulatedRoundTrip(t *testing.T) {
	var server *node.Server
	world := sim.NewWorld(sim.Config{
		Seed:              4,
		Latency:           sim.LatencyModel{Kind: sim.LatencyUniform, Min: 10 * time.Millisecond, Max: 10 * time.Millisecond},
		RetransmitTimeout: 2 * time.Second,
		DialTimeout:       time.Second,
		EventsMax:         1_000_000,
	}, sim.Options{})
	world.Spawn("server", sim.ProcessOptions{}, func(e env.Env) any {
		o := opts.Default()
		o.Host, o.Port, o.PingInterval = "", 4222, time.Second
		server, _ = node.New(e, o, nil)
		server.Start()
		return server
	})
	world.Spawn("client", sim.ProcessOptions{}, func(e env.Env) any {
		e.Net.Dial("server:4222", func(conn env.Conn, err error) {
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			conn.Start(pongBack{conn})
			conn.Write([]byte("CONNECT {\"verbose\":false}\r\n"))
			conn.Flush()
		})
		return nil
	})
	world.RunUntil(5*time.Second, 1_000_000)
	connz, err := server.Connz(node.ConnzOptions{Sort: "rtt"})
	if err != nil || len(connz.Conns) != 1 || connz.Conns[0].RTT == "" {
		t.Fatalf("connz %+v %v", connz, err)
	}
	if rtt, _ := time.ParseDuration(connz.Conns[0].RTT); rtt < 20*time.Millisecond || rtt > 25*time.Millisecond {
		t.Fatalf("rtt %s, want about 20ms", connz.Conns[0].RTT)
	}
}

// pongBack answers every PING.
type pongBack struct{ conn env.Conn }

func (p pongBack) OnData(b []byte) {
	for range bytes.Count(b, []byte("PING\r\n")) {
		p.conn.Write([]byte("PONG\r\n"))
	}
	p.conn.Flush()
}
func (p pongBack) OnClose(error) {}

// orderedClient is a simulated raw-protocol client that publishes numbered messages
// on its own subject and records, per publisher, the numbers it receives.
type orderedClient struct {
	name     string
	conn     env.Conn
	buffer   []byte
	received map[string][]int
}

func (c *orderedClient) OnData(b []byte) {
	c.buffer = append(c.buffer, b...)
	for {
		end := bytes.Index(c.buffer, []byte("\r\n"))
		if end < 0 {
			return
		}
		fields := strings.Fields(string(c.buffer[:end]))
		if len(fields) == 4 && fields[0] == "MSG" {
			size, _ := strconv.Atoi(fields[3])
			if len(c.buffer) < end+2+size+2 {
				return
			}
			number, _ := strconv.Atoi(string(c.buffer[end+2 : end+2+size]))
			publisher := strings.TrimPrefix(fields[1], "t.")
			c.received[publisher] = append(c.received[publisher], number)
			c.buffer = c.buffer[end+2+size+2:]
			continue
		}
		c.buffer = c.buffer[end+2:]
	}
}
func (c *orderedClient) OnClose(error) {}

// TestSimulatedManyClientsOrdered proves that, with several clients publishing and
// subscribing over a network that splits and delays writes, every subscriber gets
// every message of every publisher exactly once and in publication order.
func TestSimulatedManyClientsOrdered(t *testing.T) {
	for seed := uint64(11); seed <= 30; seed++ {
		runManyClientsOrdered(t, seed)
	}
}

func runManyClientsOrdered(t *testing.T, seed uint64) {
	const clientsCount, messagesEach = 4, 200
	world := sim.NewWorld(sim.Config{
		Seed:                  seed,
		Latency:               sim.LatencyModel{Kind: sim.LatencyUniform, Min: time.Millisecond, Max: 8 * time.Millisecond},
		ChunkSplitProbability: 0.5,
		RetransmitTimeout:     2 * time.Second,
		DialTimeout:           time.Second,
		EventsMax:             5_000_000,
	}, sim.Options{})
	world.Spawn("server", sim.ProcessOptions{}, func(e env.Env) any {
		o := opts.Default()
		o.Host, o.Port = "", 4222
		s, _ := node.New(e, o, nil)
		s.Start()
		return s
	})
	clients := make([]*orderedClient, clientsCount)
	for i := range clients {
		client := &orderedClient{name: strconv.Itoa(i), received: map[string][]int{}}
		clients[i] = client
		world.Spawn("client"+client.name, sim.ProcessOptions{}, func(e env.Env) any {
			e.Net.Dial("server:4222", func(conn env.Conn, err error) {
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				client.conn = conn
				conn.Start(client)
				conn.Write([]byte("CONNECT {\"verbose\":false}\r\nSUB t.> 1\r\nPING\r\n"))
				conn.Flush()
				next := 0
				var publish func()
				publish = func() {
					for range 1 + e.Rand.Intn(5) {
						if next == messagesEach {
							break
						}
						payload := strconv.Itoa(next)
						conn.Write([]byte(fmt.Sprintf("PUB t.%s %d\r\n%s\r\n", client.name, len(payload), payload)))
						next++
					}
					conn.Flush()
					if next < messagesEach {
						e.Clock.AfterFunc(time.Duration(e.Rand.Intn(3))*time.Millisecond, publish)
					}
				}
				// Publishing starts once every client has subscribed.
				e.Clock.AfterFunc(200*time.Millisecond, publish)
			})
			return nil
		})
	}
	world.RunUntil(30*time.Second, 5_000_000)
	for _, subscriber := range clients {
		for _, publisher := range clients {
			got := subscriber.received[publisher.name]
			if len(got) != messagesEach {
				missing := []int{}
				seen := map[int]bool{}
				for _, n := range got {
					seen[n] = true
				}
				for n := range messagesEach {
					if !seen[n] {
						missing = append(missing, n)
					}
				}
				t.Fatalf("seed %d: client %s got %d messages of %s, missing %v", seed, subscriber.name, len(got), publisher.name, missing)
			}
			for i, number := range got {
				if number != i {
					t.Fatalf("seed %d: client %s: message %d of %s out of order (%d)", seed, subscriber.name, i, publisher.name, number)
				}
			}
		}
	}
}

// TestSimulatedSlowConsumer proves a subscriber whose link is clogged, so that its
// backlog passes max_pending, is cut off as a slow consumer while the publisher and
// other subscribers carry on.
func TestSimulatedSlowConsumer(t *testing.T) {
	world := sim.NewWorld(sim.Config{
		Seed:              21,
		WindowBytes:       4096,
		Latency:           sim.LatencyModel{Kind: sim.LatencyUniform, Min: time.Millisecond, Max: 2 * time.Millisecond},
		RetransmitTimeout: 2 * time.Second,
		DialTimeout:       time.Second,
		EventsMax:         1_000_000,
	}, sim.Options{})
	var server *node.Server
	serverProcess := world.Spawn("server", sim.ProcessOptions{}, func(e env.Env) any {
		o := opts.Default()
		o.Host, o.Port, o.MaxPending = "", 4222, 8*1024
		server, _ = node.New(e, o, nil)
		server.Start()
		return server
	})
	slow, healthy := &simClient{}, &simClient{}
	spawnSubscriber := func(name string, recorder *simClient) *sim.Process {
		return world.Spawn(name, sim.ProcessOptions{}, func(e env.Env) any {
			e.Net.Dial("server:4222", func(conn env.Conn, err error) {
				if err == nil {
					conn.Start(recorder)
					conn.Write([]byte("CONNECT {\"verbose\":false}\r\nSUB big 1\r\n"))
					conn.Flush()
				}
			})
			return nil
		})
	}
	slowProcess := spawnSubscriber("slow", slow)
	spawnSubscriber("healthy", healthy)
	world.Spawn("publisher", sim.ProcessOptions{}, func(e env.Env) any {
		e.Clock.AfterFunc(100*time.Millisecond, func() {
			e.Net.Dial("server:4222", func(conn env.Conn, err error) {
				if err != nil {
					return
				}
				conn.Start(&simClient{})
				payload := strings.Repeat("x", 100)
				// Ten messages every 10ms: a subscriber that keeps up never has more than
				// a couple of kilobytes pending; the clogged one piles them up once the
				// link's window is full.
				sent := 0
				var publish func()
				publish = func() {
					for range 10 {
						conn.Write([]byte("PUB big 100\r\n" + payload + "\r\n"))
					}
					conn.Flush()
					if sent += 10; sent < 500 {
						e.Clock.AfterFunc(10*time.Millisecond, publish)
					}
				}
				publish()
			})
		})
		return nil
	})
	world.At(50*time.Millisecond, "clog", func() { world.Clog(serverProcess, slowProcess, 10*time.Second) })
	world.RunUntil(20*time.Second, 1_000_000)
	closed, _ := server.Connz(node.ConnzOptions{State: "closed"})
	if !slow.closed || server.Varz().SlowConsumers != 1 || len(closed.Conns) != 1 || closed.Conns[0].Reason != "Slow Consumer (Pending Bytes)" {
		for _, info := range closed.Conns {
			t.Logf("closed %d %s", info.CID, info.Reason)
		}
		t.Fatalf("slow closed %v, slow consumers %d", slow.closed, server.Varz().SlowConsumers)
	}
	if healthy.closed || strings.Count(healthy.data.String(), "MSG big 1 100\r\n") != 500 {
		t.Fatalf("healthy subscriber closed %v, got %d messages", healthy.closed, strings.Count(healthy.data.String(), "MSG big"))
	}
}
