package sim

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/natsim/natsim/env"
)

// Errors the simulated network reports; they wrap the conditions callers branch on.
var (
	// ErrConnectionReset: the peer crashed, or a partition outlasted the retransmission
	// timeout, or the nemesis reset the connection.
	ErrConnectionReset = errors.New("sim: connection reset by peer")
	// ErrConnectionRefused: the host is up but nothing listens on the port.
	ErrConnectionRefused = errors.New("sim: connection refused")
	// ErrDialTimeout: the host is unreachable (partitioned, unknown or powered off).
	ErrDialTimeout = errors.New("sim: dial timeout")
	// ErrAddressInUse: a listener already holds the address.
	ErrAddressInUse = errors.New("sim: address already in use")
)

// Port numbers the simulated network hands out.
const (
	ephemeralPortFirst = 40000
	ephemeralPortLast  = 65535
)

// windowBytesDefault is the connection window when the configuration leaves it unset.
const windowBytesDefault = 1 << 20

// chunkPiecesMax bounds how many pieces one flush is split into.
const chunkPiecesMax = 4

// link is the state of the one-way path from one process to another.
type link struct {
	cut     bool   // a partition: nothing gets through until healed
	clogged bool   // a clog: deliveries wait, connections survive
	clogGen uint64 // which Clog call the pending unclog belongs to
}

// network is the world's single simulated network.
type network struct {
	world      *World
	rand       *Stream
	links      [][]link // [from][to], by process id
	listeners  map[string]*listener
	nextConnID uint64
	// stalled are endpoints whose next delivery waits on a cut or clogged link; every
	// change that opens a link pumps them again.
	stalled []*endpoint
}

func newNetwork(w *World) *network {
	return &network{world: w, rand: w.Rand("network"), listeners: map[string]*listener{}}
}

// grow makes room for process ids below size. The matrix doubles, so spawning
// hundreds of processes one by one stays cheap.
func (n *network) grow(size int) {
	if size <= len(n.links) {
		return
	}
	if size < 2*len(n.links) {
		size = 2 * len(n.links)
	}
	links := make([][]link, size)
	for i := range links {
		links[i] = make([]link, size)
		if i < len(n.links) {
			copy(links[i], n.links[i])
		}
	}
	n.links = links
}

func (n *network) link(from, to *Process) *link { return &n.links[from.id][to.id] }

func (n *network) blocked(from, to *Process) bool {
	l := &n.links[from.id][to.id]
	return l.cut || l.clogged
}

// latency draws one delivery delay from the run's latency model, plus a retransmission
// delay when the piece is lost once.
func (n *network) latency() int64 {
	c := &n.world.config
	d := c.Latency.draw(n.rand)
	if c.LossProbability > 0 && n.rand.Chance(c.LossProbability) {
		d += n.rand.Between(0, int64(c.LossDelayMax))
	}
	return d
}

// normalizeHost maps the names a process may listen on to its own host name.
func normalizeHost(p *Process, host string) string {
	switch host {
	case "", "0.0.0.0", "::", "127.0.0.1", "localhost", "::1":
		return p.name
	}
	return host
}

// splitAddress parses "host:port".
func splitAddress(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("sim: address %q: missing port", addr)
	}
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("sim: address %q: bad port", addr)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr[:i], "["), "]")
	return host, port, nil
}

func joinAddress(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// listener is a bound address on a process.
type listener struct {
	process     *Process
	incarnation uint32
	address     string
	port        int
	accept      func(env.Conn)
	closed      bool
}

// Addr returns the bound "host:port".
func (l *listener) Addr() string { return l.address }

// Close stops accepting; accepted connections stay open.
func (l *listener) Close() error {
	if l.closed {
		return env.ErrClosed
	}
	l.closed = true
	n := l.process.world.network
	if n.listeners[l.address] == l {
		delete(n.listeners, l.address)
	}
	if l.process.listeners[l.port] == l {
		delete(l.process.listeners, l.port)
	}
	return nil
}

// Listen binds addr on the incarnation's host.
func (b *incarnationEnv) Listen(addr string, accept func(env.Conn)) (env.Listener, error) {
	if !b.alive() {
		return nil, env.ErrClosed
	}
	p := b.process
	n := p.world.network
	host, port, err := splitAddress(addr)
	if err != nil {
		return nil, err
	}
	if normalizeHost(p, host) != p.name {
		return nil, fmt.Errorf("sim: listen %s on host %s: cannot assign requested address", addr, p.name)
	}
	if port == 0 {
		port = p.freePort()
		if port == 0 {
			return nil, fmt.Errorf("sim: listen %s: %w", addr, ErrAddressInUse)
		}
	}
	address := joinAddress(p.name, port)
	if _, taken := n.listeners[address]; taken {
		return nil, fmt.Errorf("sim: listen %s: %w", address, ErrAddressInUse)
	}
	l := &listener{process: p, incarnation: b.incarnation, address: address, port: port, accept: accept}
	n.listeners[address] = l
	p.listeners[port] = l
	return l, nil
}

// freePort returns an unused ephemeral port, or 0 when none is left.
func (p *Process) freePort() int {
	for tries := 0; tries <= ephemeralPortLast-ephemeralPortFirst; tries++ {
		port := p.nextPort
		p.nextPort++
		if p.nextPort > ephemeralPortLast {
			p.nextPort = ephemeralPortFirst
		}
		if _, taken := p.listeners[port]; !taken && !p.portConnected(port) {
			return port
		}
	}
	return 0
}

func (p *Process) portConnected(port int) bool {
	suffix := ":" + strconv.Itoa(port)
	for _, e := range p.endpoints {
		if strings.HasSuffix(e.localAddr, suffix) && strings.HasPrefix(e.localAddr, p.name+":") {
			return true
		}
	}
	return false
}

// Dial connects to addr: after a round trip the dialer's done gets the connection and
// the listener's accept gets the other end; an unreachable host times out, a reachable
// one without a listener refuses.
func (b *incarnationEnv) Dial(addr string, done func(env.Conn, error)) {
	if !b.alive() {
		return
	}
	p := b.process
	w := p.world
	n := w.network
	fail := func(delay int64, err error) {
		wrapped := fmt.Errorf("sim: dial %s: %w", addr, err)
		w.schedule(p, KindDial, w.now+delay, hashString(err.Error()), "dial "+addr+" failed: "+err.Error(), func() {
			done(nil, wrapped)
		})
	}
	host, port, err := splitAddress(addr)
	if err != nil {
		fail(0, err)
		return
	}
	target := w.byName[normalizeHost(p, host)]
	if target == nil || n.links[p.id][target.id].cut || n.links[target.id][p.id].cut {
		fail(int64(w.config.DialTimeout), ErrDialTimeout)
		return
	}
	there := n.latency()
	incarnation := b.incarnation
	start := w.now
	w.At(time.Duration(there), "syn "+addr, func() {
		if p.incarnation != incarnation || p.state == stateDown {
			return // the dialer died; its connection never existed
		}
		n.synArrived(p, incarnation, target, port, addr, start, done, fail)
	})
}

// synArrived is the dial's first packet reaching the target host.
func (n *network) synArrived(p *Process, incarnation uint32, target *Process, port int, addr string, start int64, done func(env.Conn, error), fail func(int64, error)) {
	w := n.world
	back := n.latency()
	if n.links[p.id][target.id].cut || n.links[target.id][p.id].cut || (target.state == stateDown && target.poweredOff) {
		fail(start+int64(w.config.DialTimeout)-w.now, ErrDialTimeout)
		return
	}
	l := target.listeners[port]
	if target.state == stateDown || l == nil || l.closed {
		fail(back, ErrConnectionRefused)
		return
	}
	n.nextConnID++
	id := n.nextConnID
	localPort := p.freePort()
	dialer := newEndpoint(n, id, p, incarnation, joinAddress(p.name, localPort), l.address)
	accepted := newEndpoint(n, id, target, target.incarnation, l.address, dialer.localAddr)
	dialer.peer = accepted
	accepted.peer = dialer
	w.schedule(target, KindAccept, w.now, id, "accept "+dialer.localAddr+" -> "+l.address, func() {
		if l.closed || l.incarnation != target.incarnation {
			n.reset(accepted)
			return
		}
		l.accept(accepted)
	})
	w.schedule(p, KindDial, w.now+back, id, "dial "+addr+" connected from "+dialer.localAddr, func() {
		done(dialer, nil)
	})
}

// chunkKind says what a chunk carries.
type chunkKind uint8

const (
	chunkData  chunkKind = iota
	chunkFin             // the peer closed: OnClose(io.EOF)
	chunkReset           // the peer's host reset the connection: OnClose(ErrConnectionReset)
	chunkLocal           // this end closed or detected a reset: OnClose(err), no link crossed
)

// chunk is a piece of a stream in flight toward an endpoint.
type chunk struct {
	data    []byte
	readyAt int64
	kind    chunkKind
	err     error
}

// endpoint is one end of a simulated TCP connection; it implements env.Conn. Its
// inbound queue holds what the peer sent, in stream order, each piece with the time it
// may arrive; one pump event delivers the head when it is due and its link is open.
type endpoint struct {
	network     *network
	id          uint64
	process     *Process
	incarnation uint32
	peer        *endpoint
	localAddr   string
	remoteAddr  string
	handler     env.ConnHandler

	writable bool // Write accepted: not closed, reset or finished
	done     bool // OnClose delivered (or the process died): nothing more is delivered
	outgoing []byte
	// inflight counts bytes sent and not yet read (or discarded) by the peer; it may
	// not exceed the window, which is how a slow reader pushes back on Pending.
	inflight int
	// flushable counts the bytes at the front of outgoing that Flush released.
	flushable int
	closing   bool // Close was called: drain outgoing, then send the FIN
	finSent   bool

	inbound      []chunk
	inboundHead  int
	lastReadyAt  int64
	pumpEvent    event
	stalledSince int64 // virtual time the head first waited on a cut link; -1 if not
	stalled      bool  // listed in network.stalled
}

func newEndpoint(n *network, id uint64, p *Process, incarnation uint32, local, remote string) *endpoint {
	e := &endpoint{
		network:      n,
		id:           id,
		process:      p,
		incarnation:  incarnation,
		localAddr:    local,
		remoteAddr:   remote,
		writable:     true,
		stalledSince: -1,
	}
	e.pumpEvent = event{
		index:       indexNone,
		kind:        KindDeliver,
		process:     p,
		incarnation: incarnation,
		detail:      id,
		endpoint:    e,
	}
	p.endpoints[id] = e
	return e
}

// Start begins delivering to h.
func (e *endpoint) Start(h env.ConnHandler) {
	if e.handler != nil || h == nil {
		return
	}
	e.handler = h
	e.schedulePump(e.network.world.now)
}

// Write queues a copy of b; nothing is sent until Flush.
func (e *endpoint) Write(b []byte) (int, error) {
	if !e.writable {
		return 0, env.ErrClosed
	}
	e.outgoing = append(e.outgoing, b...)
	return len(b), nil
}

// Flush hands the queued bytes to the network, as much as the connection's window
// allows (the rest stays queued and counts in Pending until the peer reads enough),
// split into pieces at random places, each with its own latency but never overtaking
// the one before.
func (e *endpoint) Flush() {
	if !e.writable {
		return
	}
	e.flushable = len(e.outgoing)
	e.transmit()
}

// transmit sends what the window allows; a closing endpoint sends its FIN once all its
// bytes are on their way.
func (e *endpoint) transmit() {
	n := e.network
	window := n.world.config.WindowBytes
	if window <= 0 {
		window = windowBytesDefault
	}
	for e.flushable > 0 && e.inflight < window {
		size := min(e.flushable, window-e.inflight)
		data := e.outgoing[:size:size]
		e.outgoing = e.outgoing[size:]
		e.flushable -= size
		e.inflight += size
		e.sendPieces(data)
	}
	if len(e.outgoing) == 0 {
		e.outgoing, e.flushable = nil, 0
		if e.closing && !e.finSent {
			e.finSent = true
			e.peer.receive(chunk{kind: chunkFin}, n.latency())
		}
	}
}

func (e *endpoint) sendPieces(data []byte) {
	n := e.network
	pieces := 1
	if len(data) > 1 && n.rand.Chance(n.world.config.ChunkSplitProbability) {
		pieces = 2 + n.rand.Intn(chunkPiecesMax-1)
		if pieces > len(data) {
			pieces = len(data)
		}
	}
	for pieces > 1 {
		cut := 1 + n.rand.Intn(len(data)-pieces+1)
		e.peer.receive(chunk{data: data[:cut:cut], kind: chunkData}, n.latency())
		data = data[cut:]
		pieces--
	}
	e.peer.receive(chunk{data: data, kind: chunkData}, n.latency())
}

// consumed credits the window of the endpoint that sent bytes this endpoint read or
// discarded, and lets it send more.
func (e *endpoint) consumed(bytes int, resume bool) {
	sender := e.peer
	sender.inflight -= bytes
	if resume && sender.flushable > 0 && (sender.writable || sender.closing) {
		sender.transmit()
	}
}

// Pending returns the bytes written and not yet handed to the network: unflushed, or
// held back because the peer has not read enough (the window is full).
func (e *endpoint) Pending() int { return len(e.outgoing) }

// Close sends what is queued and then a FIN (as the window allows, even after OnClose),
// and delivers OnClose(nil) locally.
func (e *endpoint) Close() error {
	if !e.writable {
		return env.ErrClosed
	}
	e.writable = false
	e.closing = true
	e.flushable = len(e.outgoing)
	e.transmit()
	e.closeLocally(nil)
	return nil
}

// LocalAddr returns this end's "host:port".
func (e *endpoint) LocalAddr() string { return e.localAddr }

// RemoteAddr returns the peer's "host:port".
func (e *endpoint) RemoteAddr() string { return e.remoteAddr }

// receive appends a chunk that arrives after delay (and after every earlier chunk).
func (e *endpoint) receive(c chunk, delay int64) {
	if e.done {
		e.consumed(len(c.data), false) // a closed socket swallows what still arrives
		return
	}
	w := e.network.world
	c.readyAt = w.now + delay
	if c.readyAt < e.lastReadyAt {
		c.readyAt = e.lastReadyAt
	}
	e.lastReadyAt = c.readyAt
	e.inbound = append(e.inbound, c)
	if e.inboundHead == len(e.inbound)-1 {
		e.schedulePump(c.readyAt)
	}
}

// closeLocally drops what has not been delivered and makes OnClose(err) the next event.
// A local Close (err nil) keeps sending what it queued; a reset drops it.
func (e *endpoint) closeLocally(err error) {
	e.writable = false
	if err != nil || !e.closing {
		e.outgoing, e.flushable = nil, 0 // a reset: nothing more is sent
	}
	e.dropInbound()
	e.inbound = append(e.inbound, chunk{kind: chunkLocal, err: err, readyAt: e.network.world.now})
	if e.pumpEvent.index >= 0 {
		e.network.world.queue.remove(&e.pumpEvent)
	}
	e.schedulePump(e.network.world.now)
}

func (e *endpoint) dropInbound() {
	discarded := 0
	for i := range e.inbound {
		discarded += len(e.inbound[i].data)
		e.inbound[i] = chunk{}
	}
	if discarded > 0 && e.peer != nil {
		e.consumed(discarded, true)
	}
	e.inbound = e.inbound[:0]
	e.inboundHead = 0
}

// schedulePump queues the pump event at the given time unless it is already queued or
// held (it then runs no later than needed: chunks only ever become due later).
func (e *endpoint) schedulePump(at int64) {
	if e.pumpEvent.index != indexNone || e.done {
		return
	}
	e.network.world.enqueue(&e.pumpEvent, at)
}

// pump delivers the head chunk if it is due and its link is open, then schedules itself
// for the next one. One chunk per event, so other events interleave between reads.
func (e *endpoint) pump() {
	if e.done || e.handler == nil || e.inboundHead == len(e.inbound) {
		return
	}
	n := e.network
	w := n.world
	c := &e.inbound[e.inboundHead]
	if c.readyAt > w.now {
		e.schedulePump(c.readyAt)
		return
	}
	if c.kind != chunkLocal && n.blocked(e.peer.process, e.process) {
		n.stall(e)
		return
	}
	e.stalledSince = -1
	delivered := *c
	*c = chunk{}
	e.inboundHead++
	if e.inboundHead == len(e.inbound) {
		e.inbound = e.inbound[:0]
		e.inboundHead = 0
	} else if e.inboundHead > 64 && e.inboundHead*2 > len(e.inbound) {
		remaining := copy(e.inbound, e.inbound[e.inboundHead:])
		clear(e.inbound[remaining:])
		e.inbound = e.inbound[:remaining]
		e.inboundHead = 0
	}
	w.fold(uint64(delivered.kind)<<32 | uint64(len(delivered.data)))
	if delivered.kind == chunkData {
		w.hash = hashBytes(w.hash, delivered.data)
	}
	if w.tracing {
		w.traceLine(KindDeliver, e.process, e.describe(delivered))
	}
	switch delivered.kind {
	case chunkData:
		e.consumed(len(delivered.data), true)
		e.handler.OnData(delivered.data)
	case chunkFin:
		e.finish(io.EOF)
	case chunkReset:
		e.finish(ErrConnectionReset)
	case chunkLocal:
		e.finish(delivered.err)
	}
	if !e.done && e.inboundHead < len(e.inbound) {
		e.schedulePump(e.inbound[e.inboundHead].readyAt)
	}
}

func (e *endpoint) describe(c chunk) string {
	route := e.remoteAddr + " -> " + e.localAddr
	switch c.kind {
	case chunkData:
		return fmt.Sprintf("conn %d %s %d bytes %q", e.id, route, len(c.data), abbreviate(c.data))
	case chunkFin:
		return fmt.Sprintf("conn %d %s fin", e.id, route)
	case chunkReset:
		return fmt.Sprintf("conn %d %s reset", e.id, route)
	default:
		return fmt.Sprintf("conn %d %s closed locally: %v", e.id, e.localAddr, c.err)
	}
}

// abbreviate keeps trace lines short.
func abbreviate(b []byte) []byte {
	const traceBytesMax = 48
	if len(b) > traceBytesMax {
		return b[:traceBytesMax]
	}
	return b
}

// finish ends the endpoint: OnClose is the last call it makes.
func (e *endpoint) finish(err error) {
	e.writable = false
	e.done = true
	if !e.closing {
		e.outgoing, e.flushable = nil, 0
	}
	e.dropInbound()
	delete(e.process.endpoints, e.id)
	e.handler.OnClose(err)
}

// stall parks e until a link change; if the link is cut (not merely clogged) for longer
// than the retransmission timeout, the connection resets.
func (n *network) stall(e *endpoint) {
	w := n.world
	if !e.stalled {
		e.stalled = true
		n.stalled = append(n.stalled, e)
	}
	if !n.links[e.peer.process.id][e.process.id].cut || e.stalledSince >= 0 {
		return
	}
	since := w.now
	e.stalledSince = since
	w.At(w.config.RetransmitTimeout, "retransmission timeout check", func() {
		if e.stalledSince == since && !e.done {
			n.reset(e)
		}
	})
}

// unstall pumps every stalled endpoint again; those still blocked stall again.
func (n *network) unstall() {
	stalled := n.stalled
	n.stalled = nil
	for _, e := range stalled {
		e.stalled = false
		if !e.done {
			e.schedulePump(n.world.now)
		}
	}
}

// reset breaks e's connection at both ends: each live end drops what is in flight and
// gets OnClose(ErrConnectionReset).
func (n *network) reset(e *endpoint) {
	for _, end := range [2]*endpoint{e, e.peer} {
		if !end.done && end.process.incarnation == end.incarnation {
			end.closeLocally(ErrConnectionReset)
		}
	}
}

// crash forgets a crashed process's sockets. Its peers learn of it by a reset that
// arrives after the latency (a kill: the kernel closes the sockets) or after the
// retransmission timeout (a power loss: silence).
func (n *network) crash(p *Process, powerLoss bool) {
	p.poweredOff = powerLoss
	for _, port := range sortedKeys(intKeys(p.listeners)) {
		l := p.listeners[int(port)]
		l.Close()
	}
	for _, id := range sortedKeys(p.endpoints) {
		e := p.endpoints[id]
		e.writable = false
		e.done = true
		e.outgoing, e.flushable = nil, 0
		e.dropInbound()
		if e.pumpEvent.index >= 0 {
			n.world.queue.remove(&e.pumpEvent)
		}
		delete(p.endpoints, id)
		peer := e.peer
		if peer.done {
			continue
		}
		if powerLoss {
			peer.outgoing, peer.flushable = nil, 0
			peer.receive(chunk{kind: chunkLocal, err: ErrConnectionReset}, int64(n.world.config.RetransmitTimeout))
		} else {
			peer.receive(chunk{kind: chunkReset}, n.latency())
		}
	}
}

func intKeys[V any](m map[int]V) map[uint64]V {
	out := make(map[uint64]V, len(m))
	for k, v := range m {
		out[uint64(k)] = v
	}
	return out
}

// Connections returns the ids of the live connections touching p, in order.
func (p *Process) Connections() []uint64 { return sortedKeys(p.endpoints) }

// ResetConnection resets one of p's connections (as a middlebox would).
func (w *World) ResetConnection(p *Process, id uint64) {
	if e := p.endpoints[id]; e != nil {
		w.worldNote(p, "reset connection "+itoa(id))
		w.network.reset(e)
	}
}

// Cut blocks the one-way link from one process to another until healed.
func (w *World) Cut(from, to *Process) {
	if from == to {
		return
	}
	w.network.link(from, to).cut = true
}

// Partition cuts every link between processes of different groups, both ways.
func (w *World) Partition(groups ...[]*Process) {
	for i, a := range groups {
		for j, b := range groups {
			if i == j {
				continue
			}
			for _, from := range a {
				for _, to := range b {
					w.Cut(from, to)
				}
			}
		}
	}
}

// Isolate cuts p off from every other process, both ways.
func (w *World) Isolate(p *Process) {
	for _, other := range w.processes {
		w.Cut(p, other)
		w.Cut(other, p)
	}
}

// Heal restores every cut link (clogs stay) and pumps the stalled connections.
func (w *World) Heal() {
	for i := range w.network.links {
		for j := range w.network.links[i] {
			w.network.links[i][j].cut = false
		}
	}
	w.fold(hashString("heal"))
	if w.tracing {
		w.traceLine(KindWorld, nil, "heal partitions")
	}
	w.network.unstall()
}

// Clog delays every delivery on the one-way link until Unclog, or for d when d > 0.
func (w *World) Clog(from, to *Process, d time.Duration) {
	l := w.network.link(from, to)
	l.clogged = true
	l.clogGen++
	if d <= 0 {
		return
	}
	gen := l.clogGen
	w.At(d, "unclog "+from.name+" -> "+to.name, func() {
		if l.clogGen == gen {
			l.clogged = false
			w.network.unstall()
		}
	})
}

// Unclog lets the one-way link deliver again.
func (w *World) Unclog(from, to *Process) {
	l := w.network.link(from, to)
	l.clogged = false
	l.clogGen++
	w.network.unstall()
}

// UnclogAll lets every link deliver again.
func (w *World) UnclogAll() {
	for i := range w.network.links {
		for j := range w.network.links[i] {
			l := &w.network.links[i][j]
			l.clogged = false
			l.clogGen++
		}
	}
	w.network.unstall()
}

// Reachable reports whether the one-way link from one process to another is neither cut
// nor clogged.
func (w *World) Reachable(from, to *Process) bool { return !w.network.blocked(from, to) }
