package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/sim"
)

func init() {
	register(jsqueueScenario("jsqueue",
		"Jepsen's queue workload on one JetStream server (file stream, R1, fsync before PubAck): publishers of unique values with acks, pull consumers with explicit acks, server kills and power losses with restarts, client resets, pauses and crashes, clock drift; a full read of the stream after healing; checks no acked publish lost, nothing unexpected or refused read, per-publisher order in the stream, PubAck sequences against the stream under porcupine's log model, and every stored value delivered to a consumer",
		jsqueueOptions{}))
}

// errJSQueue: a guarantee of the queue workload was broken.
var errJSQueue = errors.New("jsqueue")

// jsqueueErrorf builds a violation wrapping errJSQueue.
func jsqueueErrorf(format string, arguments ...any) error {
	return fmt.Errorf("%w: %s", errJSQueue, fmt.Sprintf(format, arguments...))
}

// The workload's fixed names and sizes.
const (
	jsqueuePort         = 4222
	jsqueueStoreDir     = "/data/jetstream"
	jsqueueStream       = "QUEUE"
	jsqueueConsumerName = "WORKERS"
	// jsqueueSubjectPrefix is the stream's subject space: publisher n publishes on
	// "queue.<n>".
	jsqueueSubjectPrefix = "queue."
	// jsqueueValueStride separates publishers' values: publisher n's k-th value is
	// n*jsqueueValueStride + k, unique across the run.
	jsqueueValueStride = 1_000_000
	// jsqueueLivenessAcks is how many acked publishes each publisher needs after the
	// faults end before publishing stops and the final read starts.
	jsqueueLivenessAcks = 3
	// jsqueueReadWindow bounds the final read's message gets in flight.
	jsqueueReadWindow = 16
	// jsqueuePaddingBytesMax bounds a payload's padding.
	jsqueuePaddingBytesMax = 96
)

// jsqueueOptions select the deliberately broken variants (for tests); the zero value is
// the correct scenario.
type jsqueueOptions struct {
	// syncInterval, when set, configures JetStream's sync_interval: the server then
	// acknowledges a publish once written to the OS and fsyncs on a timer, so a power
	// loss loses acknowledged messages.
	syncInterval string
	// dropEvery makes the consumers and the final read miss every value divisible by
	// dropEvery, as a server that loses messages would (0: never).
	dropEvery int64
	// swapFinal makes the final read swap two neighbouring messages of one publisher,
	// as a store that reorders would.
	swapFinal bool
	// powerLossAlways makes every crash the scenario itself injects a power loss.
	powerLossAlways bool
	// strictStoreErrors counts a publish refused with "store failed" (10077) as a
	// definite failure, as the reply suggests; by default it counts as unknown,
	// because the file store gives that error for a failed fsync of a message it
	// already wrote, which a restart then recovers.
	strictStoreErrors bool
}

// jsqueueScenario builds the scenario with the given options.
func jsqueueScenario(name, summary string, o jsqueueOptions) *sim.Scenario {
	return &sim.Scenario{
		Name:       name,
		Summary:    summary,
		ServersMin: 1,
		ServersMax: 1,
		Configure: func(c *sim.Config) {
			c.Safety = 6 * time.Second
			c.LivenessBound = 40 * time.Second
			// The workload is request/response: a lost piece stalls a whole stream,
			// and a second-long stall per loss would leave the run testing timeouts.
			c.LossDelayMax = min(c.LossDelayMax, 250*time.Millisecond)
			c.EventsMax = 3_000_000
		},
		Setup: func(w *sim.World) sim.Workload { return newJSQueueWorkload(w, o) },
	}
}

// jsqueueConfig is the server's configuration: JetStream on the simulated disk.
func jsqueueConfig(o jsqueueOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n", jsqueueStoreDir)
	if o.syncInterval != "" {
		fmt.Fprintf(&b, "  sync_interval: %q\n", o.syncInterval)
	}
	b.WriteString("}\n")
	return b.String()
}

// startJSQueueServer boots one incarnation of the server, recovering JetStream from
// the disk that survived the previous one.
// exited is called when the server fails to start.
func startJSQueueServer(w *sim.World, e env.Env, config string, exited func(error)) any {
	o, err := opts.ProcessConfig([]byte(config), "jsqueue.conf", nil, nil)
	if err != nil {
		w.Fail(fmt.Errorf("jsqueue: server config: %w", err))
		return nil
	}
	o.Host, o.Port = "", jsqueuePort
	s, err := node.New(e, o, nil)
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		// A disk fault (a failed fsync of the store directory) may stop the server
		// from starting, as it would exit on a real machine; its supervisor starts
		// it again a little later.
		exited(err)
		return nil
	}
	return s
}

// jsqueueTimeouts are the clients' timeouts, stretched by the network's worst stalls.
type jsqueueTimeouts struct {
	// publish: a publish without a PubAck by then has an unknown outcome.
	publish time.Duration
	// api: an API request (create, info, get) without a reply by then is retried.
	api time.Duration
	// fetchExpires is a pull request's expiry on the server; fetchGrace is how much
	// longer the client waits for its end before pulling again.
	fetchExpires time.Duration
	fetchGrace   time.Duration
}

func newJSQueueTimeouts(w *sim.World) jsqueueTimeouts {
	c := w.Config()
	tail := c.Latency.Max
	if c.Latency.Kind == sim.LatencyLongTail {
		tail = c.Latency.TailMax
	}
	stall := 2 * (c.LossDelayMax + tail)
	return jsqueueTimeouts{
		publish:      time.Duration(w.Knob("jsqueue/publish-timeout-ns", int64(300*time.Millisecond), int64(1500*time.Millisecond))) + stall,
		api:          time.Second + stall,
		fetchExpires: time.Duration(w.Knob("jsqueue/fetch-expires-ns", int64(200*time.Millisecond), int64(time.Second))),
		fetchGrace:   200*time.Millisecond + stall,
	}
}
