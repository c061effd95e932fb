package scenarios

import (
	"fmt"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/sim"
)

func init() {
	register(corenatsScenario("corenats",
		"one core NATS server and 3-4 clients in two accounts doing pub/sub with wildcards, queue groups and request/reply under resets, pauses (slow consumers), client crashes and server restarts; checks at-most-once in publisher order, delivery to stably connected subscriptions, one queue member per message, and account isolation with a stream import",
		corenatsOptions{}))
}

// corenatsPort is the server's client port.
const corenatsPort = 4222

// corenatsOptions select the deliberately broken variants; the zero value is the
// correct scenario.
type corenatsOptions struct {
	// loseEvery makes subscribers forget every loseEvery-th message they receive, as
	// a lossy server would (0: never).
	loseEvery uint64
	// duplicateEvery makes subscribers record every duplicateEvery-th message twice,
	// as a server that redelivers would (0: never).
	duplicateEvery uint64
	// queueIgnored subscribes the queue group's members without their queue name, so
	// that every member gets every message, as a server ignoring queue groups would.
	queueIgnored bool
	// oneAccount puts account B's user into account A, so that nothing isolates them.
	oneAccount bool
}

// corenatsScenario builds the scenario with the given options.
func corenatsScenario(name, summary string, o corenatsOptions) *sim.Scenario {
	return &sim.Scenario{
		Name:       name,
		Summary:    summary,
		ServersMin: 4,
		ServersMax: 5,
		Configure: func(c *sim.Config) {
			c.Safety = 8 * time.Second
			c.LivenessBound = 30 * time.Second
			// A small window makes a paused subscriber push back on the server soon,
			// so its pending bytes grow past max_pending and it is cut as a slow
			// consumer.
			c.WindowBytes = 16<<10 + int(c.Seed%2)*16<<10
			// Every lost piece stalls its whole stream (bytes arrive in order), so a
			// loss delay near a second would leave no stream able to carry the load,
			// and the run would test nothing but slow consumer cuts.
			c.LossDelayMax = min(c.LossDelayMax, 250*time.Millisecond)
			c.EventsMax = 5_000_000
		},
		Setup: func(w *sim.World) sim.Workload { return newCorenatsWorkload(w, o) },
	}
}

// corenatsConfig is the server's configuration: two accounts, A exporting the stream
// public.> and B importing it.
func corenatsConfig(maxPendingBytes int64, oneAccount bool) string {
	accounts := `
accounts {
  A {
    users [ {user: a, password: pa} ]
    exports [ {stream: "public.>"} ]
  }
  B {
    users [ {user: b, password: pb} ]
    imports [ {stream: {account: A, subject: "public.>"}} ]
  }
}`
	if oneAccount {
		accounts = `
accounts {
  A { users [ {user: a, password: pa}, {user: b, password: pb} ] }
}`
	}
	return fmt.Sprintf("max_pending: %d\n%s\n", maxPendingBytes, accounts)
}

// startCorenatsServer boots one incarnation of the server on the process's env, as
// cmd/nats-server does on the real machine.
func startCorenatsServer(w *sim.World, e env.Env, config string) any {
	o, err := opts.ProcessConfig([]byte(config), "corenats.conf", nil, nil)
	if err != nil {
		w.Fail(fmt.Errorf("corenats: server config: %w", err))
		return nil
	}
	o.Host, o.Port = "", corenatsPort
	s, err := node.New(e, o, nil)
	if err != nil {
		w.Fail(fmt.Errorf("corenats: new server: %w", err))
		return nil
	}
	if err := s.Start(); err != nil {
		w.Fail(fmt.Errorf("corenats: start server: %w", err))
		return nil
	}
	return s
}
