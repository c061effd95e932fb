package node_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/sim"
	"github.com/natsim/natsim/sim/simfs"
)

// timedClient records what a simulated raw-protocol client receives, with the
// virtual time of each arrival.
type timedClient struct {
	clock    env.Clock
	received []timedChunk
}

type timedChunk struct {
	at   time.Duration
	data string
}

func (c *timedClient) OnData(b []byte) {
	c.received = append(c.received, timedChunk{at: c.since(), data: string(b)})
}
func (c *timedClient) OnClose(err error) {}

var simEpoch time.Time

func (c *timedClient) since() time.Duration { return c.clock.Now().Sub(simEpoch) }

// firstArrival returns the virtual time at which text first arrived at or after from
// (text must arrive within one chunk), or -1.
func (c *timedClient) firstArrival(from time.Duration, text string) time.Duration {
	for _, chunk := range c.received {
		if chunk.at >= from && strings.Contains(chunk.data, text) {
			return chunk.at
		}
	}
	return -1
}

// textBetween is everything received in [from, to).
func (c *timedClient) textBetween(from, to time.Duration) string {
	var text bytes.Buffer
	for _, chunk := range c.received {
		if chunk.at >= from && chunk.at < to {
			text.WriteString(chunk.data)
		}
	}
	return text.String()
}

// pub formats a PUB with a reply.
func pub(subject, reply, payload string) string {
	return fmt.Sprintf("PUB %s %s %d\r\n%s\r\n", subject, reply, len(payload), payload)
}

// runTimedScript boots a JetStream server and one client in a simulated world; the
// client connects at 10ms and sends each step's text at its virtual time.
func runTimedScript(t *testing.T, seed uint64, steps map[time.Duration]string, until time.Duration) *timedClient {
	t.Helper()
	world := sim.NewWorld(sim.Config{
		Seed:              seed,
		Latency:           sim.LatencyModel{Kind: sim.LatencyUniform, Min: time.Millisecond, Max: 2 * time.Millisecond},
		RetransmitTimeout: 2 * time.Second,
		DialTimeout:       time.Second,
		EventsMax:         1_000_000,
	}, sim.Options{NewDisk: func(process string, random env.Rand) sim.Disk {
		return simfs.New(random, simfs.Config{Name: process})
	}})
	world.Spawn("server", sim.ProcessOptions{}, func(e env.Env) any {
		o := opts.Default()
		o.Host, o.Port = "", 4222
		o.JetStream = true
		o.StoreDir = "/data"
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
	recorded := &timedClient{}
	world.Spawn("client", sim.ProcessOptions{}, func(e env.Env) any {
		recorded.clock = e.Clock
		simEpoch = e.Clock.Now()
		e.Clock.AfterFunc(10*time.Millisecond, func() {
			e.Net.Dial("server:4222", func(conn env.Conn, err error) {
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				conn.Start(recorded)
				conn.Write([]byte("CONNECT {\"verbose\":false,\"headers\":true,\"protocol\":1}\r\nSUB _INBOX.r 99\r\n"))
				conn.Flush()
				for at, text := range steps {
					e.Clock.AfterFunc(at-10*time.Millisecond, func() {
						conn.Write([]byte(text))
						conn.Flush()
					})
				}
			})
		})
		return nil
	})
	if world.RunUntil(until, 1_000_000) {
		t.Fatal("event budget exhausted")
	}
	return recorded
}

// TestSimulatedPushConsumerFollowsInterest proves, in virtual time, that a push
// consumer reacts to subscription changes on its deliver subject as they happen: a
// subscriber arriving 2.6s after the consumer was created gets the stored message
// within the network's latency (no polling delay), and once the last subscriber
// leaves (at 4s) the ephemeral consumer is deleted when its 5s inactive threshold
// has passed counting from then, not before.
func TestSimulatedPushConsumerFollowsInterest(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		create := `{"stream_name":"S","config":{"name":"E","deliver_subject":"d","ack_policy":"none","inactive_threshold":5000000000}}`
		steps := map[time.Duration]string{
			100 * time.Millisecond:  pub("$JS.API.STREAM.CREATE.S", "_INBOX.r", `{"name":"S","subjects":["s.>"],"storage":"memory"}`),
			300 * time.Millisecond:  pub("s.1", "_INBOX.r", "hello"),
			500 * time.Millisecond:  pub("$JS.API.CONSUMER.CREATE.S.E", "_INBOX.r", create),
			3100 * time.Millisecond: "SUB d 1\r\n",
			4 * time.Second:         "UNSUB 1\r\n",
			8500 * time.Millisecond: pub("$JS.API.CONSUMER.INFO.S.E", "_INBOX.r", ""),
			9100 * time.Millisecond: pub("$JS.API.CONSUMER.INFO.S.E", "_INBOX.r", ""),
		}
		client := runTimedScript(t, seed, steps, 10*time.Second)
		if created := client.textBetween(500*time.Millisecond, time.Second); !strings.Contains(created, `"name":"E"`) {
			t.Fatalf("seed %d: consumer not created: %q", seed, created)
		}
		arrival := client.firstArrival(3100*time.Millisecond, "MSG s.1 1 ")
		if arrival < 0 {
			t.Fatalf("seed %d: late subscriber got nothing: %q", seed, client.textBetween(3*time.Second, 4*time.Second))
		}
		if delay := arrival - 3100*time.Millisecond; delay > 20*time.Millisecond {
			t.Fatalf("seed %d: late subscriber waited %v", seed, delay)
		}
		if info := client.textBetween(8500*time.Millisecond, 9*time.Second); !strings.Contains(info, `"name":"E"`) || strings.Contains(info, `"push_bound":true`) {
			t.Fatalf("seed %d: info 4.5s after the subscriber left: %q", seed, info)
		}
		if gone := client.textBetween(9100*time.Millisecond, 10*time.Second); !strings.Contains(gone, `"err_code":10014`) {
			t.Fatalf("seed %d: consumer alive past its inactive threshold: %q", seed, gone)
		}
	}
}
