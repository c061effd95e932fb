package scenarios

import (
	"bytes"
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim"
	"github.com/natsim/natsim/sim/check"
)

func init() {
	register(registerScenario("register",
		"an ABD register on 3-5 replicas that fsync before acking and recover from peers after a restart; clients' histories checked with porcupine",
		registerOptions{}))
}

// registerPort is where replicas listen.
const registerPort = 7000

// registerOptions select the broken variants; the zero value is the correct protocol.
type registerOptions struct {
	// readOne: a read returns the first replica's answer, with no quorum and no
	// write-back. Stale reads follow.
	readOne bool
}

// registerScenario builds a register scenario with the given options.
func registerScenario(name, summary string, o registerOptions) *sim.Scenario {
	return &sim.Scenario{
		Name:       name,
		Summary:    summary,
		ServersMin: 3,
		ServersMax: 5,
		Configure: func(c *sim.Config) {
			c.Safety = 30 * time.Second
			c.LivenessBound = 20 * time.Second
		},
		Setup: func(w *sim.World) sim.Workload { return newRegisterWorkload(w, o) },
	}
}

// registerWorkload spawns the replicas and clients and keeps the shared history.
type registerWorkload struct {
	world    *sim.World
	options  registerOptions
	history  check.History
	replicas []string
	clients  []*registerClient
	// nextLogical numbers porcupine's clients: a client that gives up on an operation
	// continues under a new number, since the old operation may still be in flight.
	nextLogical int
	liveness    bool
}

func newRegisterWorkload(w *sim.World, o registerOptions) *registerWorkload {
	rw := &registerWorkload{world: w, options: o}
	replicaOptions := replicaOptions{
		port:          registerPort,
		fsyncDelay:    time.Duration(w.Knob("register/fsync-delay-ns", int64(100*time.Microsecond), int64(5*time.Millisecond))),
		scrubInterval: time.Duration(w.Knob("register/scrub-interval-ns", int64(20*time.Millisecond), int64(500*time.Millisecond))),
	}
	clientCount := int(w.Knob("register/clients", 2, 3))
	opTimeout := time.Duration(w.Knob("register/operation-timeout-ns", int64(300*time.Millisecond), int64(2*time.Second)))
	thinkMax := time.Duration(w.Knob("register/think-max-ns", int64(5*time.Millisecond), int64(50*time.Millisecond)))

	servers := w.Config().Servers
	for i := 1; i <= servers; i++ {
		rw.replicas = append(rw.replicas, joinHostPort("r"+itoa(i), registerPort))
	}
	for i := 1; i <= servers; i++ {
		self := "r" + itoa(i)
		var peers []string
		for j, address := range rw.replicas {
			if j != i-1 {
				peers = append(peers, address)
			}
		}
		w.Spawn(self, sim.ProcessOptions{Faulty: true}, func(e env.Env) any {
			return newReplica(e, self, peers, replicaOptions)
		})
	}
	for i := 1; i <= clientCount; i++ {
		c := &registerClient{
			workload:  rw,
			writer:    uint32(i),
			name:      "c" + itoa(i),
			opTimeout: opTimeout,
			thinkMax:  thinkMax,
		}
		rw.clients = append(rw.clients, c)
		c.process = w.Spawn(c.name, sim.ProcessOptions{}, func(e env.Env) any {
			c.boot(e)
			return c
		})
	}
	return rw
}

func (rw *registerWorkload) newLogical() int {
	rw.nextLogical++
	return rw.nextLogical - 1
}

// StartLiveness marks the operations from now on as the ones that must succeed.
func (rw *registerWorkload) StartLiveness() { rw.liveness = true }

// Converged: every client completed a read and a write invoked after the faults ended.
func (rw *registerWorkload) Converged() bool {
	for _, c := range rw.clients {
		if c.livenessReads == 0 || c.livenessWrites == 0 {
			return false
		}
	}
	return true
}

// Check runs porcupine over the history; an unproven history (Unknown) fails too.
func (rw *registerWorkload) Check() error {
	var html bytes.Buffer
	result, err := check.CheckLinearizable(check.RegisterModel(""), prunePending(rw.history.Operations()),
		check.LinearizabilityOptions{Visualization: &html})
	if err != nil {
		return err
	}
	if result.OK() {
		return nil
	}
	if result.Visualized {
		rw.world.AddArtifact(fmt.Sprintf("register-seed-%d.html", rw.world.Seed()), html.Bytes())
	}
	return fmt.Errorf("register: %s", result)
}

// prunePending drops the operations that never returned and cannot matter, which keeps
// porcupine's search small: a read without a return says nothing, and a write without a
// return whose value no read returned can be linearized last, after every other
// operation, which is the same as leaving it out (values are unique).
func prunePending(operations []porcupine.Operation) []porcupine.Operation {
	observed := map[string]bool{}
	for _, op := range operations {
		if output, ok := op.Output.(check.RegisterOutput); ok && op.Input.(check.RegisterInput).Operation == check.RegisterRead {
			observed[output.Value] = true
		}
	}
	kept := operations[:0]
	for _, op := range operations {
		if op.Return == check.Infinity {
			input := op.Input.(check.RegisterInput)
			if input.Operation == check.RegisterRead || !observed[input.Value] {
				continue
			}
		}
		kept = append(kept, op)
	}
	return kept
}

// registerClient runs one ABD operation at a time against every replica.
type registerClient struct {
	workload  *registerWorkload
	process   *sim.Process
	env       env.Env
	name      string
	writer    uint32
	logical   int
	opTimeout time.Duration
	thinkMax  time.Duration

	conns       []env.Conn
	dialing     []bool
	nextRequest uint64
	lastCounter uint64
	written     int
	operation   *registerOperation

	livenessReads, livenessWrites int
}

// registerOperation is the client's operation in flight.
type registerOperation struct {
	id        check.OperationID
	write     bool
	value     string
	request   uint64
	storing   bool // in the store phase
	answered  []bool
	answers   int
	bestTag   registerTag
	bestValue string
	timer     env.Timer
	liveness  bool
}

func (c *registerClient) boot(e env.Env) {
	c.env = e
	c.logical = c.workload.newLogical()
	c.conns = make([]env.Conn, len(c.workload.replicas))
	c.dialing = make([]bool, len(c.workload.replicas))
	for i := range c.workload.replicas {
		c.dial(i)
	}
	c.env.Clock.AfterFunc(c.think(), c.begin)
}

func (c *registerClient) think() time.Duration {
	return time.Duration(c.env.Rand.Int63n(int64(c.thinkMax)))
}

// dial (re)connects to replica i.
func (c *registerClient) dial(i int) {
	if c.dialing[i] || c.conns[i] != nil {
		return
	}
	c.dialing[i] = true
	c.env.Net.Dial(c.workload.replicas[i], func(conn env.Conn, err error) {
		c.dialing[i] = false
		if err != nil {
			c.env.Clock.AfterFunc(50*time.Millisecond, func() { c.dial(i) })
			return
		}
		c.conns[i] = conn
		conn.Start(&clientConn{client: c, conn: conn, replica: i})
	})
}

// clientConn is the client's connection to one replica.
type clientConn struct {
	client  *registerClient
	conn    env.Conn
	replica int
	reader  frameReader
}

func (h *clientConn) OnData(b []byte) {
	if err := h.reader.feed(b, h.handle); err != nil {
		h.conn.Close()
	}
}

func (h *clientConn) OnClose(error) {
	c := h.client
	if c.conns[h.replica] == h.conn {
		c.conns[h.replica] = nil
		c.env.Clock.AfterFunc(20*time.Millisecond, func() { c.dial(h.replica) })
	}
}

func (h *clientConn) handle(payload []byte) error {
	m, err := decodeRegisterMessage(payload)
	if err != nil {
		return err
	}
	h.client.answer(h.replica, m)
	return nil
}

func (c *registerClient) majority() int { return len(c.workload.replicas)/2 + 1 }

// begin invokes the next operation: a read or a write of a fresh value.
func (c *registerClient) begin() {
	rw := c.workload
	op := &registerOperation{liveness: rw.liveness}
	op.write = c.env.Rand.Intn(2) == 0
	input := check.RegisterInput{Operation: check.RegisterRead}
	if op.write {
		c.written++
		op.value = c.name + "-" + itoa(c.written)
		input = check.RegisterInput{Operation: check.RegisterWrite, Value: op.value}
	}
	op.id = rw.history.Invoke(c.logical, input, int64(rw.world.Now()))
	if op.write {
		rw.world.Note(c.process, "invoke write "+op.value)
	} else {
		rw.world.Note(c.process, "invoke read")
	}
	c.operation = op
	op.timer = c.env.Clock.AfterFunc(c.opTimeout, func() { c.giveUp(op) })
	if env.Buggify(c.env.Faults, "register/client-drop-connection") {
		// Drop one connection just before the query: the operation must still finish
		// through the others or time out cleanly.
		if conn := c.conns[c.env.Rand.Intn(len(c.conns))]; conn != nil {
			conn.Close()
		}
	}
	c.broadcast(op, registerMessage{kind: messageQuery})
}

// broadcast starts a phase: a fresh request id sent to every connected replica.
func (c *registerClient) broadcast(op *registerOperation, m registerMessage) {
	c.nextRequest++
	op.request = c.nextRequest
	op.answered = make([]bool, len(c.conns))
	op.answers = 0
	m.request = op.request
	frame := m.appendTo(nil)
	for _, conn := range c.conns {
		if conn != nil {
			if _, err := conn.Write(frame); err == nil {
				conn.Flush()
			}
		}
	}
}

func (c *registerClient) answer(replica int, m registerMessage) {
	op := c.operation
	if op == nil || m.request != op.request || op.answered[replica] {
		return
	}
	wanted := messageQueryReply
	if op.storing {
		wanted = messageStoreAck
	}
	if m.kind != wanted {
		return
	}
	op.answered[replica] = true
	op.answers++
	if !op.storing {
		if op.answers == 1 || op.bestTag.less(m.tag) {
			op.bestTag, op.bestValue = m.tag, m.value
		}
		if !op.write && c.workload.options.readOne {
			c.complete(op, op.bestValue)
			return
		}
		if op.answers < c.majority() {
			return
		}
		op.storing = true
		if op.write {
			counter := op.bestTag.counter
			if c.lastCounter > counter {
				counter = c.lastCounter
			}
			counter++
			c.lastCounter = counter
			c.broadcast(op, registerMessage{kind: messageStore, tag: registerTag{counter: counter, writer: c.writer}, value: op.value})
		} else {
			c.broadcast(op, registerMessage{kind: messageStore, tag: op.bestTag, value: op.bestValue})
		}
		return
	}
	if op.answers >= c.majority() {
		c.complete(op, op.bestValue)
	}
}

// complete records the operation's return and schedules the next one.
func (c *registerClient) complete(op *registerOperation, read string) {
	rw := c.workload
	op.timer.Stop()
	output := check.RegisterOutput{}
	if op.write {
		rw.world.Note(c.process, "ok write "+op.value)
		if op.liveness {
			c.livenessWrites++
		}
	} else {
		output.Value = read
		rw.world.Note(c.process, "ok read "+read)
		if op.liveness {
			c.livenessReads++
		}
	}
	rw.history.Return(op.id, output, int64(rw.world.Now()))
	c.operation = nil
	c.env.Clock.AfterFunc(c.think(), c.begin)
}

// giveUp abandons a timed-out operation: its outcome stays unknown, and the client goes
// on under a new porcupine client number.
func (c *registerClient) giveUp(op *registerOperation) {
	if c.operation != op {
		return
	}
	c.workload.world.Note(c.process, "timeout")
	c.operation = nil
	c.logical = c.workload.newLogical()
	c.env.Clock.AfterFunc(c.think(), c.begin)
}
