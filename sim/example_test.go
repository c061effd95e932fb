package sim_test

import (
	"fmt"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim"
)

// counter is a workload: one server counts the pings a client sends it.
type counter struct {
	pings    int
	liveness int
	live     bool
}

func (c *counter) StartLiveness()  { c.live = true }
func (c *counter) Converged() bool { return c.liveness >= 3 }
func (c *counter) Check() error    { return nil }

type countPings struct{ c *counter }

func (h countPings) OnData(b []byte) {
	h.c.pings += len(b)
	if h.c.live {
		h.c.liveness += len(b)
	}
}
func (h countPings) OnClose(error) {}

// Example shows how a scenario is written and run: Setup spawns processes whose Boot
// function receives an env.Env (clock, tasks, network, disk, randomness), the workload
// says when the liveness phase has converged and checks the history, and Run plays one
// seed through the safety and liveness phases.
func Example() {
	scenario := &sim.Scenario{
		Name:       "ping",
		ServersMin: 1,
		ServersMax: 1,
		Configure: func(c *sim.Config) {
			c.Safety = time.Second
		},
		Setup: func(w *sim.World) sim.Workload {
			c := &counter{}
			w.Spawn("server", sim.ProcessOptions{Faulty: true}, func(e env.Env) any {
				e.Net.Listen(":4222", func(conn env.Conn) { conn.Start(countPings{c}) })
				return nil
			})
			w.Spawn("client", sim.ProcessOptions{}, func(e env.Env) any {
				var ping func()
				ping = func() {
					e.Net.Dial("server:4222", func(conn env.Conn, err error) {
						if err == nil {
							conn.Start(countPings{&counter{}})
							conn.Write([]byte("p"))
							conn.Close()
						}
						e.Clock.AfterFunc(100*time.Millisecond, ping)
					})
				}
				ping()
				return nil
			})
			return c
		},
	}
	first := sim.Run(scenario, 7, sim.Options{})
	again := sim.Run(scenario, 7, sim.Options{})
	fmt.Println(first.Violation, first.Hash == again.Hash)
	// Output: <nil> true
}
