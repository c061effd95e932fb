package scenarios

import (
	"bytes"
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/natsim/natsim/env"
	pb "github.com/natsim/natsim/raft/raftpb"
	"github.com/natsim/natsim/sim"
	"github.com/natsim/natsim/sim/check"
)

func init() {
	register(&sim.Scenario{
		Name: "raftkv",
		Summary: "a key-value map replicated by raft (3 or 5 voters plus a spare, store/wal on simulated disks) under every fault and membership changes; " +
			"clients' get/put/cas histories checked with porcupine per key, raft's safety invariants checked at every step",
		ServersMin: 3,
		ServersMax: 5,
		Configure: func(c *sim.Config) {
			c.Safety = 20 * time.Second
			c.LivenessBound = 30 * time.Second
		},
		Setup: func(w *sim.World) sim.Workload { return newRaftKVWorkload(w) },
	})
}

const (
	raftKVGroup   = "kv"
	raftKVGroupID = 1
	// raftKVKeys is how many keys the clients share: few keys, many conflicts.
	raftKVKeys = 3
)

// raftKVWorkload runs the voters, a spare process for membership changes, and clients.
type raftKVWorkload struct {
	world    *sim.World
	cluster  *raftCluster
	servers  []*sim.Process
	voters   int
	history  check.History
	clients  []*raftKVClient
	logical  int
	liveness bool
	// membershipChanges counts the changes proposed.
	membershipChanges int
}

func newRaftKVWorkload(w *sim.World) *raftKVWorkload {
	rw := &raftKVWorkload{world: w, voters: w.Config().Servers}
	var names []string
	for i := 1; i <= rw.voters+1; i++ {
		names = append(names, "k"+itoa(i))
	}
	c := newRaftCluster(&worldRef{w: w}, names)
	// The election timeout must outlast the network's stalls (a lost piece holds a
	// stream up to a second): heartbeats every 80-240 ms, elections after 0.4-1.6 s.
	c.tick = time.Duration(w.Knob("raftkv/tick-ns", int64(40*time.Millisecond), int64(80*time.Millisecond)))
	c.heartbeatTicks = int(w.Knob("raftkv/heartbeat-ticks", 2, 3))
	c.electionTicks = int(w.Knob("raftkv/election-ticks", 10, 20))
	c.snapshotEvery = uint64(w.Knob("raftkv/snapshot-every", 10, 200))
	initial := pb.ConfState{}
	for i := 1; i <= rw.voters; i++ {
		initial.Voters = append(initial.Voters, uint64(i))
	}
	c.groupsOf = func(process int, nodeID uint64) []raftGroupSpec {
		spec := raftGroupSpec{name: raftKVGroup, groupID: raftKVGroupID}
		// Only the first incarnations of the initial voters bootstrap; a spare or a
		// rejoining node starts empty and is brought up by the leader's snapshot.
		if nodeID <= uint64(rw.voters) {
			spec.bootstrap = initial
		}
		return []raftGroupSpec{spec}
	}
	rw.cluster = c
	for i := range names {
		index := i
		rw.servers = append(rw.servers, w.Spawn(names[i], sim.ProcessOptions{Faulty: true}, func(e env.Env) any {
			return newRaftNode(c, e, index)
		}))
	}
	// Every set of voters the group may have (all processes, or all but one) keeps a
	// strict healthy majority of disks: a damaged disk puts its node in repair, and
	// repair needs a quorum of healthy voters.
	w.AddDiskGroup(rw.servers...)
	for skip := range rw.servers {
		var group []*sim.Process
		for i, p := range rw.servers {
			if i != skip {
				group = append(group, p)
			}
		}
		w.AddDiskGroup(group...)
	}
	clientCount := int(w.Knob("raftkv/clients", 2, 4))
	opTimeout := time.Duration(w.Knob("raftkv/operation-timeout-ns", int64(time.Second), int64(3*time.Second)))
	thinkMax := time.Duration(w.Knob("raftkv/think-max-ns", int64(80*time.Millisecond), int64(250*time.Millisecond)))
	for i := 1; i <= clientCount; i++ {
		cl := &raftKVClient{workload: rw, name: "c" + itoa(i), id: uint64(i), opTimeout: opTimeout, thinkMax: thinkMax}
		rw.clients = append(rw.clients, cl)
		cl.process = w.Spawn(cl.name, sim.ProcessOptions{}, func(e env.Env) any {
			cl.boot(e)
			return cl
		})
	}
	if w.Rand("raftkv/membership").Chance(0.7) {
		interval := time.Duration(w.Knob("raftkv/membership-interval-ns", int64(500*time.Millisecond), int64(4*time.Second)))
		var change func()
		change = func() {
			rw.changeMembership()
			w.At(interval, "raftkv membership", change)
		}
		w.At(interval, "raftkv membership", change)
	}
	return rw
}

// node returns the running, unpaused incarnation of server i, or nil.
func (rw *raftKVWorkload) node(i int) *raftNode {
	p := rw.servers[i]
	if !p.Up() || p.Paused() {
		return nil
	}
	n, _ := p.Instance().(*raftNode)
	return n
}

// changeMembership is the operator. Through the leader with the highest term it grows
// the group by one fresh node (a process outside the group, wiped and given a new id)
// when it has its normal size, and shrinks it back by one random voter (possibly the
// leader) when it has one more: the group never runs with fewer voters than it was
// built with, so one damaged disk cannot take its quorum away. Voters that are gone
// for good (an id no process runs any more, or a process whose storage is broken) are
// removed first. During the liveness phase only such repairs are made.
func (rw *raftKVWorkload) changeMembership() {
	var leader *raftNode
	var leaderTerm uint64
	var cs pb.ConfState
	for i := range rw.servers {
		n := rw.node(i)
		if n == nil {
			continue
		}
		if isLeader, term, conf := n.leaderStatus(raftKVGroup); isLeader && term > leaderTerm {
			leader, leaderTerm, cs = n, term, conf
		}
	}
	if leader == nil {
		return
	}
	rnd := rw.world.Rand("raftkv/membership")
	current := map[uint64]int{}
	for i, id := range rw.cluster.nodeIDs {
		current[id] = i
	}
	var broken []uint64
	for _, v := range cs.Voters {
		i, ok := current[v]
		if !ok {
			rw.propose(leader, pb.ConfChange{Type: pb.ConfChangeRemovePeer, NodeID: v})
			return
		}
		if rw.cluster.broken[i] {
			broken = append(broken, v)
		}
	}
	var candidates []int
	for i, id := range rw.cluster.nodeIDs {
		if !isVoter(cs, id) && rw.node(i) != nil {
			candidates = append(candidates, i)
		}
	}
	switch {
	case len(cs.Voters) > rw.voters || (len(candidates) == 0 && len(broken) > 0):
		if len(broken) == 0 && rw.liveness {
			return
		}
		victim := cs.Voters[rnd.Intn(len(cs.Voters))]
		if len(broken) > 0 {
			victim = broken[0]
		}
		rw.propose(leader, pb.ConfChange{Type: pb.ConfChangeRemovePeer, NodeID: victim})
	case len(candidates) > 0 && (!rw.liveness || len(cs.Voters) < rw.voters || len(broken) > 0):
		i := candidates[rnd.Intn(len(candidates))]
		id := rw.cluster.nodeIDs[i] + raftNodeIDGeneration
		rw.world.Note(rw.servers[i], fmt.Sprintf("rejoin as node %d", id))
		rw.node(i).rejoin(id)
		rw.propose(leader, pb.ConfChange{Type: pb.ConfChangeAddVoter, NodeID: id})
	}
}

func isVoter(cs pb.ConfState, id uint64) bool {
	for _, v := range cs.Voters {
		if v == id {
			return true
		}
	}
	return false
}

func (rw *raftKVWorkload) propose(leader *raftNode, cc pb.ConfChange) {
	if _, err := leader.host.ProposeConfChange(raftKVGroup, cc); err == nil {
		rw.membershipChanges++
		rw.world.Note(rw.servers[leader.index], "propose "+cc.String())
		leader.queueReady()
	}
}

func (rw *raftKVWorkload) newLogical() int {
	rw.logical++
	return rw.logical - 1
}

// StartLiveness marks the operations from now on as the ones that must succeed.
func (rw *raftKVWorkload) StartLiveness() { rw.liveness = true }

// Converged: every client completed a write and a read invoked after the faults ended.
func (rw *raftKVWorkload) Converged() bool {
	for _, c := range rw.clients {
		if c.livenessReads == 0 || c.livenessWrites == 0 {
			return false
		}
	}
	return true
}

// Check runs porcupine over the history, partitioned by key.
func (rw *raftKVWorkload) Check() error {
	var html bytes.Buffer
	result, err := check.CheckLinearizable(check.KVModel(), pruneKVPending(rw.history.Operations()),
		check.LinearizabilityOptions{Visualization: &html})
	if err != nil {
		return err
	}
	if result.OK() {
		return nil
	}
	if result.Visualized {
		rw.world.AddArtifact(fmt.Sprintf("raftkv-seed-%d.html", rw.world.Seed()), html.Bytes())
	}
	return fmt.Errorf("raftkv: %s", result)
}

// pruneKVPending drops the reads that never returned: they constrain nothing.
func pruneKVPending(operations []porcupine.Operation) []porcupine.Operation {
	kept := operations[:0]
	for _, op := range operations {
		if op.Return == check.Infinity && op.Input.(check.KVInput).Operation == check.KVGet {
			continue
		}
		kept = append(kept, op)
	}
	return kept
}

// raftKVClient runs one operation at a time against the node it believes leads.
type raftKVClient struct {
	workload  *raftKVWorkload
	process   *sim.Process
	env       env.Env
	name      string
	id        uint64 // the session id, for exactly-once application
	logical   int
	opTimeout time.Duration
	thinkMax  time.Duration

	target      int
	conn        env.Conn
	dialing     bool
	nextRequest uint64
	written     int
	operation   *raftKVOperation
	reader      raftFrameReader

	livenessReads, livenessWrites int
}

type raftKVOperation struct {
	id       check.OperationID
	command  kvCommand
	input    check.KVInput
	timer    env.Timer
	liveness bool
	retry    env.Timer
}

func (c *raftKVClient) boot(e env.Env) {
	c.env = e
	c.logical = c.workload.newLogical()
	c.target = e.Rand.Intn(len(c.workload.servers))
	c.dial()
	e.Clock.AfterFunc(c.think(), c.begin)
}

func (c *raftKVClient) think() time.Duration {
	return time.Duration(c.env.Rand.Int63n(int64(c.thinkMax)))
}

func (c *raftKVClient) dial() {
	if c.dialing || c.conn != nil {
		return
	}
	c.dialing = true
	target := c.target
	c.env.Net.Dial(joinHostPort(c.workload.cluster.processes[target], raftClientPort), func(conn env.Conn, err error) {
		c.dialing = false
		if err != nil {
			c.env.Clock.AfterFunc(20*time.Millisecond, c.dial)
			return
		}
		if target != c.target {
			conn.Close()
			c.dial()
			return
		}
		c.conn = conn
		c.reader = raftFrameReader{}
		conn.Start(&raftKVClientConn{client: c, conn: conn})
		if c.operation != nil {
			writeFrame(conn, c.operation.command.encode())
		}
	})
}

// switchTo moves the client to another node.
func (c *raftKVClient) switchTo(target int) {
	if target == c.target && c.conn != nil {
		return
	}
	c.target = target
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	c.dial()
}

type raftKVClientConn struct {
	client *raftKVClient
	conn   env.Conn
}

func (h *raftKVClientConn) OnData(b []byte) {
	if h.client.conn != h.conn {
		return
	}
	if err := h.client.reader.feed(b, h.client.handle); err != nil {
		h.conn.Close()
	}
}

func (h *raftKVClientConn) OnClose(error) {
	c := h.client
	if c.conn == h.conn {
		c.conn = nil
		c.env.Clock.AfterFunc(20*time.Millisecond, c.dial)
	}
}

// begin invokes the next operation on a random key.
func (c *raftKVClient) begin() {
	rw := c.workload
	rnd := c.env.Rand
	key := "k" + itoa(rnd.Intn(raftKVKeys))
	c.nextRequest++
	op := &raftKVOperation{liveness: rw.liveness}
	switch rnd.Intn(3) {
	case 0:
		op.input = check.KVInput{Operation: check.KVGet, Key: key}
		op.command = kvCommand{op: kvGet, key: key}
	case 1:
		c.written++
		value := c.name + "-" + itoa(c.written)
		op.input = check.KVInput{Operation: check.KVPut, Key: key, Value: value}
		op.command = kvCommand{op: kvPut, key: key, value: value}
	default:
		c.written++
		value := c.name + "-" + itoa(c.written)
		// Expect a value some client may have written.
		expected := "c" + itoa(1+rnd.Intn(len(rw.clients))) + "-" + itoa(1+rnd.Intn(max(1, c.written)))
		op.input = check.KVInput{Operation: check.KVCompareAndSwap, Key: key, Value: value, Expected: expected}
		op.command = kvCommand{op: kvCompareAndSwap, key: key, value: value, expected: expected}
	}
	op.command.client = c.id
	op.command.request = c.nextRequest
	op.id = rw.history.Invoke(c.logical, op.input, int64(rw.world.Now()))
	c.operation = op
	op.timer = c.env.Clock.AfterFunc(c.opTimeout, func() { c.giveUp(op) })
	if c.conn != nil {
		writeFrame(c.conn, op.command.encode())
	} else {
		c.dial()
	}
}

// handle takes a node's reply to the operation in flight.
func (c *raftKVClient) handle(payload []byte) error {
	reply, err := decodeKVReply(payload)
	if err != nil {
		return err
	}
	op := c.operation
	if op == nil || reply.request != op.command.request {
		return nil
	}
	rw := c.workload
	switch reply.status {
	case kvReplyNotLeader:
		// Not applied anywhere: retry on the leader it names, or another node. The
		// same request goes out again (it was never proposed).
		target := (c.target + 1) % len(rw.servers)
		if p := rw.cluster.processOf(reply.leader); p >= 0 {
			target = p
		}
		if op.retry != nil {
			op.retry.Stop()
		}
		op.retry = c.env.Clock.AfterFunc(10*time.Millisecond, func() {
			if c.operation != op {
				return
			}
			if target != c.target {
				c.switchTo(target)
			} else if c.conn != nil {
				writeFrame(c.conn, op.command.encode())
			}
		})
		return nil
	case kvReplyOK:
	default:
		return nil
	}
	output := check.KVOutput{Value: reply.value, Found: reply.found, OK: reply.ok}
	op.timer.Stop()
	rw.history.Return(op.id, output, int64(rw.world.Now()))
	if op.liveness {
		if op.input.Operation == check.KVGet {
			c.livenessReads++
		} else if op.input.Operation == check.KVPut {
			c.livenessWrites++
		}
	}
	c.operation = nil
	c.env.Clock.AfterFunc(c.think(), c.begin)
	return nil
}

// giveUp abandons a timed-out operation: its outcome stays unknown; the client goes on
// under a new porcupine client number, through another node.
func (c *raftKVClient) giveUp(op *raftKVOperation) {
	if c.operation != op {
		return
	}
	c.operation = nil
	c.logical = c.workload.newLogical()
	// A new request number: a late answer to the abandoned one must not be taken
	// for the next operation's.
	c.switchTo(c.env.Rand.Intn(len(c.workload.servers)))
	c.env.Clock.AfterFunc(c.think(), c.begin)
}
