package node

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsim/natsim/node/opts"
)

// TestConcurrentTraffic proves, under the race detector, that concurrent publishers,
// subscribers, queue members, requests, monitoring and reloads neither race nor lose
// messages between connected clients.
func TestConcurrentTraffic(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Users = []*opts.User{{Username: "u", Password: "p"}}
	})
	const publishers, perPublisher = 4, 500
	var received, queued atomic.Int64
	subscriber := connect(t, s, nats.UserInfo("u", "p"))
	subscriber.Subscribe("load.>", func(*nats.Msg) { received.Add(1) })
	for range 3 {
		member := connect(t, s, nats.UserInfo("u", "p"))
		member.QueueSubscribe("load.*", "workers", func(*nats.Msg) { queued.Add(1) })
		member.Flush()
	}
	responder := connect(t, s, nats.UserInfo("u", "p"))
	responder.Subscribe("ask", func(m *nats.Msg) { m.Respond(m.Data) })
	responder.Flush()
	subscriber.Flush()
	var wg sync.WaitGroup
	for i := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("u", "p"))
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			for j := range perPublisher {
				nc.Publish(fmt.Sprintf("load.%d", i), []byte("x"))
				if j%100 == 0 {
					if _, err := nc.Request("ask", []byte("q"), time.Second); err != nil {
						t.Error(err)
					}
				}
			}
			nc.Flush()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			s.Connz(ConnzOptions{Subs: connzSubsDetail})
			s.Varz()
			s.Subsz(SubszOptions{Subs: true})
			o := s.Options()
			if err := s.Reload(&o); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for (received.Load() < publishers*perPublisher || queued.Load() < publishers*perPublisher) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if received.Load() != publishers*perPublisher || queued.Load() != publishers*perPublisher {
		t.Fatalf("received %d, queued %d, want %d each", received.Load(), queued.Load(), publishers*perPublisher)
	}
}
