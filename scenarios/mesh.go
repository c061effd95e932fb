package scenarios

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim"
)

func init() {
	register(&sim.Scenario{
		Name:       "mesh",
		Summary:    "5 processes stream numbered frames to each other over every pair of connections; each connection must deliver its stream exactly (no loss, duplicate or reorder)",
		ServersMin: 5,
		ServersMax: 5,
		Configure: func(c *sim.Config) {
			c.Safety = 5 * time.Second
			c.LivenessBound = 10 * time.Second
		},
		Setup: func(w *sim.World) sim.Workload { return newMeshWorkload(w) },
	})
}

const (
	meshPort = 9000
	// meshPaddingBytesMax bounds the random padding after a frame's sequence number.
	meshPaddingBytesMax = 48
	// meshLivenessFrames is how many frames every ordered pair must deliver after the
	// faults end.
	meshLivenessFrames = 20
)

// errMeshStream: a connection delivered a frame out of sequence.
var errMeshStream = errors.New("mesh: stream corrupted")

// meshWorkload owns what survives the processes' crashes: the liveness counters.
type meshWorkload struct {
	world    *sim.World
	names    []string
	interval time.Duration
	liveness bool
	// delivered counts frames delivered after the faults ended, [from][to].
	delivered [][]int
}

func newMeshWorkload(w *sim.World) *meshWorkload {
	mw := &meshWorkload{world: w}
	mw.interval = time.Duration(w.Knob("mesh/send-interval-ns", int64(time.Millisecond), int64(10*time.Millisecond)))
	count := w.Config().Servers
	for i := 0; i < count; i++ {
		mw.names = append(mw.names, "m"+itoa(i+1))
		mw.delivered = append(mw.delivered, make([]int, count))
	}
	for i := range mw.names {
		index := i
		w.Spawn(mw.names[i], sim.ProcessOptions{Faulty: true}, func(e env.Env) any {
			return newMeshNode(mw, e, index)
		})
	}
	return mw
}

// StartLiveness starts counting deliveries.
func (mw *meshWorkload) StartLiveness() { mw.liveness = true }

// Converged: every ordered pair delivered meshLivenessFrames frames since the faults
// ended.
func (mw *meshWorkload) Converged() bool {
	for from := range mw.delivered {
		for to, n := range mw.delivered[from] {
			if from != to && n < meshLivenessFrames {
				return false
			}
		}
	}
	return true
}

// Check has nothing left to do: stream errors fail the run as they happen.
func (mw *meshWorkload) Check() error { return nil }

// meshNode is one incarnation of a mesh process.
type meshNode struct {
	workload *meshWorkload
	env      env.Env
	index    int
	// dialed[j] is the live connection this node dialed to node j (for j > index).
	dialed []*meshConn
}

func newMeshNode(mw *meshWorkload, e env.Env, index int) *meshNode {
	n := &meshNode{workload: mw, env: e, index: index, dialed: make([]*meshConn, len(mw.names))}
	e.Net.Listen(joinHostPort(mw.names[index], meshPort), func(c env.Conn) {
		n.startConn(c, -1)
	})
	for j := index + 1; j < len(mw.names); j++ {
		n.dial(j)
	}
	return n
}

func (n *meshNode) dial(peer int) {
	n.env.Net.Dial(joinHostPort(n.workload.names[peer], meshPort), func(c env.Conn, err error) {
		if err != nil {
			n.env.Clock.AfterFunc(n.backoff(), func() { n.dial(peer) })
			return
		}
		n.dialed[peer] = n.startConn(c, peer)
	})
}

func (n *meshNode) backoff() time.Duration {
	return time.Duration(10+n.env.Rand.Intn(40)) * time.Millisecond
}

// startConn runs both directions of a connection: a sender of numbered frames and a
// receiver that checks them. The first frame names the sender, so an accepted
// connection learns its peer.
func (n *meshNode) startConn(c env.Conn, peer int) *meshConn {
	mc := &meshConn{node: n, conn: c, peer: peer, expected: 0}
	c.Start(mc)
	mc.send()
	return mc
}

// meshConn is one connection of a mesh node.
type meshConn struct {
	node     *meshNode
	conn     env.Conn
	peer     int // -1 until the peer's first frame names it (accepted connections)
	sent     uint64
	expected uint64
	reader   frameReader
	timer    env.Timer
	closed   bool
}

// send writes the next frame (sequence, sender index, padding) and schedules the next.
func (mc *meshConn) send() {
	if mc.closed {
		return
	}
	e := mc.node.env
	payload := make([]byte, 12, 12+meshPaddingBytesMax)
	binary.BigEndian.PutUint64(payload, mc.sent)
	binary.BigEndian.PutUint32(payload[8:], uint32(mc.node.index))
	padding := e.Rand.Intn(meshPaddingBytesMax + 1)
	for i := 0; i < padding; i++ {
		payload = append(payload, byte(mc.sent)+byte(i))
	}
	if _, err := mc.conn.Write(appendFrame(nil, payload)); err != nil {
		return
	}
	mc.conn.Flush()
	mc.sent++
	interval := mc.node.workload.interval
	mc.timer = e.Clock.AfterFunc(interval/2+time.Duration(e.Rand.Int63n(int64(interval))), mc.send)
}

func (mc *meshConn) OnData(b []byte) {
	if err := mc.reader.feed(b, mc.frame); err != nil {
		mc.node.workload.world.Fail(err)
	}
}

// frame checks one received frame: the next sequence number, from the right sender,
// with the padding it was sent with.
func (mc *meshConn) frame(payload []byte) error {
	mw := mc.node.workload
	if len(payload) < 12 {
		return fmt.Errorf("%w: %d-byte frame", errMeshStream, len(payload))
	}
	sequence := binary.BigEndian.Uint64(payload)
	sender := int(binary.BigEndian.Uint32(payload[8:]))
	if mc.peer < 0 {
		mc.peer = sender
	}
	if sender != mc.peer || sequence != mc.expected {
		return fmt.Errorf("%w: %s from %s: frame %d from node %d, want frame %d from node %d",
			errMeshStream, mw.names[mc.node.index], mc.conn.RemoteAddr(), sequence, sender, mc.expected, mc.peer)
	}
	for i, b := range payload[12:] {
		if b != byte(sequence)+byte(i) {
			return fmt.Errorf("%w: frame %d padding byte %d", errMeshStream, sequence, i)
		}
	}
	mc.expected++
	if mw.liveness && sender < len(mw.delivered) {
		mw.delivered[sender][mc.node.index]++
	}
	return nil
}

// OnClose stops the sender; the dialing side reconnects.
func (mc *meshConn) OnClose(error) {
	mc.closed = true
	if mc.timer != nil {
		mc.timer.Stop()
	}
	n := mc.node
	if mc.peer > n.index && n.dialed[mc.peer] == mc {
		n.dialed[mc.peer] = nil
		peer := mc.peer
		n.env.Clock.AfterFunc(n.backoff(), func() { n.dial(peer) })
	}
}
