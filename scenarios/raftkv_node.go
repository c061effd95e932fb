package scenarios

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/raft"
	"github.com/natsim/natsim/raft/host"
	pb "github.com/natsim/natsim/raft/raftpb"
	"github.com/natsim/natsim/store/wal"
)

// The raft scenarios (raftkv, raftscale) run raftNode processes: a raft/host with one
// or more groups, each group a replicated key-value map logged in a store/wal on the
// process's simulated disk. Peers exchange host.Batch frames; clients send KV requests
// and get answers once their entry is applied.

const (
	raftPeerPort   = 7100
	raftClientPort = 7101
	// raftFrameBytesMax bounds one frame between raft peers (a batch of appends or a
	// snapshot chunk).
	raftFrameBytesMax = 8 << 20
	// raftConnPendingMax drops batches to a peer whose connection has this much queued:
	// raft retransmits, and memory stays bounded.
	raftConnPendingMax = 1 << 20
	// raftPendingRequestsMax bounds the client requests a node waits to apply.
	raftPendingRequestsMax = 4096
	// raftReadyRoundsMax bounds the Ready rounds one event runs.
	raftReadyRoundsMax = 8
	// raftRetryDelay paces a node's reopening of storage after a failure.
	raftRetryDelay = 200 * time.Millisecond
	// raftNodeIDGeneration separates the node ids a process takes over time: id =
	// process index + 1 + generation * raftNodeIDGeneration.
	raftNodeIDGeneration = 100
)

// errRaftInvariant is a broken raft safety invariant.
var errRaftInvariant = errors.New("raft invariant violated")

// raftGroupSpec is one group a process hosts.
type raftGroupSpec struct {
	name    string
	groupID uint64
	// bootstrap, if not empty, is the initial membership written on a fresh disk.
	bootstrap pb.ConfState
}

// raftCluster is the workload-side state the raft nodes share: the invariant ledgers,
// the node ids, and the options. It survives every crash.
type raftCluster struct {
	world          *worldRef
	processes      []string
	nodeIDs        []uint64 // by process index: the id the process runs under
	tick           time.Duration
	electionTicks  int
	heartbeatTicks int
	snapshotEvery  uint64
	// groupsOf lists the groups of each process, by process index.
	groupsOf func(process int, nodeID uint64) []raftGroupSpec

	// Invariant ledgers, per group id.
	leaders map[uint64]map[uint64]uint64 // term -> leader id
	entries map[uint64]map[[2]uint64]uint64
	applied map[uint64]map[uint64]appliedEntry
	// commits lists, per group, the entries in the order first applied anywhere, each
	// with the highest leader term seen by then (the committing leader's term is at
	// most that).
	commits map[uint64][]commitRecord
	// leaderTermMax is the highest term any leader of the group was seen in.
	leaderTermMax map[uint64]uint64
	// broken marks processes whose storage cannot be opened (a damaged snapshot).
	broken []bool
	// debug, when set, receives a line per notable node event (tests).
	debug func(string)
	// onApply, when set, is told of every entry a node applies.
	onApply func(group uint64, node uint64, ent *pb.Entry)
}

// commitRecord is a committed entry and a bound on the term it was committed in.
type commitRecord struct {
	index, term, termBound uint64
}

// appliedEntry is what the ledger remembers of an applied entry.
type appliedEntry struct {
	term uint64
	hash uint64
}

func newRaftCluster(ref *worldRef, processes []string) *raftCluster {
	c := &raftCluster{
		world: ref, processes: processes, nodeIDs: make([]uint64, len(processes)),
		leaders: map[uint64]map[uint64]uint64{}, entries: map[uint64]map[[2]uint64]uint64{},
		applied: map[uint64]map[uint64]appliedEntry{}, commits: map[uint64][]commitRecord{},
		leaderTermMax: map[uint64]uint64{},
		broken:        make([]bool, len(processes)),
	}
	for i := range processes {
		c.nodeIDs[i] = uint64(i + 1)
	}
	return c
}

// processOf maps a node id to its process index.
func (c *raftCluster) processOf(id uint64) int {
	if id == 0 {
		return -1
	}
	index := int((id - 1) % raftNodeIDGeneration)
	if index >= len(c.processes) {
		return -1
	}
	return index
}

func hashData(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func (c *raftCluster) fail(format string, args ...any) {
	c.world.w.Fail(fmt.Errorf("%w: %s", errRaftInvariant, fmt.Sprintf(format, args...)))
}

// noteLeader checks election safety: at most one leader per term.
func (c *raftCluster) noteLeader(group, term, id uint64) {
	byTerm := c.leaders[group]
	if byTerm == nil {
		byTerm = map[uint64]uint64{}
		c.leaders[group] = byTerm
	}
	if other, ok := byTerm[term]; ok && other != id {
		c.fail("group %d: two leaders in term %d: %d and %d", group, term, other, id)
		return
	}
	byTerm[term] = id
	c.leaderTermMax[group] = max(c.leaderTermMax[group], term)
}

// notePersisted checks log matching: two entries with the same index and term are the
// same entry.
func (c *raftCluster) notePersisted(group uint64, ents []pb.Entry) {
	known := c.entries[group]
	if known == nil {
		known = map[[2]uint64]uint64{}
		c.entries[group] = known
	}
	for i := range ents {
		key := [2]uint64{ents[i].Index, ents[i].Term}
		h := hashData(ents[i].Data) ^ uint64(ents[i].Type)
		if other, ok := known[key]; ok && other != h {
			c.fail("group %d: two different entries at index %d term %d", group, key[0], key[1])
			return
		}
		known[key] = h
	}
}

// noteApplied checks state machine safety: every node applies the same entry at an
// index.
func (c *raftCluster) noteApplied(group, node uint64, ent *pb.Entry) {
	byIndex := c.applied[group]
	if byIndex == nil {
		byIndex = map[uint64]appliedEntry{}
		c.applied[group] = byIndex
	}
	a := appliedEntry{term: ent.Term, hash: hashData(ent.Data) ^ uint64(ent.Type)}
	if other, ok := byIndex[ent.Index]; ok && other != a {
		c.fail("group %d: node %d applied a different entry at index %d (term %d, first applied term %d)",
			group, node, ent.Index, ent.Term, other.term)
		return
	}
	if _, ok := byIndex[ent.Index]; !ok {
		c.commits[group] = append(c.commits[group], commitRecord{index: ent.Index, term: ent.Term, termBound: c.leaderTermMax[group]})
	}
	byIndex[ent.Index] = a
	if c.onApply != nil {
		c.onApply(group, node, ent)
	}
}

// checkLeaderCompleteness: a new leader of term T holds every entry committed in a
// term before T: the last entry first applied while no leader of term T or later had
// been seen (and, by log matching, every entry before it).
func (c *raftCluster) checkLeaderCompleteness(group, id, leaderTerm uint64, storage raft.Storage) {
	commits := c.commits[group]
	// termBound never decreases along commits.
	i := sort.Search(len(commits), func(i int) bool { return commits[i].termBound >= leaderTerm })
	if i == 0 {
		return
	}
	record := commits[i-1]
	last, _ := storage.LastIndex()
	if last < record.index {
		c.fail("group %d: leader %d of term %d lacks committed index %d (last %d)", group, id, leaderTerm, record.index, last)
		return
	}
	term, err := storage.Term(record.index)
	if err != nil {
		return // compacted: the snapshot covers it
	}
	if term != record.term {
		c.fail("group %d: leader %d of term %d has term %d at committed index %d, committed term %d",
			group, id, leaderTerm, term, record.index, record.term)
	}
}

// worldRef lets the node code reach the world without importing the scenario's
// workload type.
type worldRef struct{ w interface{ Fail(error) } }

// kvGroup is one group on a node: its log, its state machine and its waiting clients.
type kvGroup struct {
	spec    raftGroupSpec
	log     *wal.WAL
	kv      map[string]string
	applied uint64
	// snapshotIndex is the index of the last snapshot taken or restored.
	snapshotIndex uint64
	// pending maps a proposal's tag to the client waiting for it.
	pending map[uint64]pendingRequest
}

type pendingRequest struct {
	conn    env.Conn
	request uint64
}

// raftNode is one incarnation of a raft process.
type raftNode struct {
	cluster *raftCluster
	env     env.Env
	index   int
	id      uint64
	host    *host.Host
	groups  map[string]*kvGroup
	byID    map[uint64]*kvGroup
	peers   map[int]env.Conn
	dialing map[int]bool
	// readyQueued: processReady is running (guards against reentry).
	readyQueued bool
	// generation counts the node's software reboots; stale callbacks check it.
	generation int
	stopped    bool
	leaderOf   map[string]uint64
}

func newRaftNode(c *raftCluster, e env.Env, index int) *raftNode {
	n := &raftNode{cluster: c, env: e, index: index, peers: map[int]env.Conn{}, dialing: map[int]bool{}}
	e.Net.Listen(joinHostPort(c.processes[index], raftPeerPort), n.acceptPeer)
	e.Net.Listen(joinHostPort(c.processes[index], raftClientPort), n.acceptClient)
	n.start()
	e.Clock.AfterFunc(c.tick, n.onTick)
	return n
}

// start (re)opens every group from the disk under the process's current node id.
func (n *raftNode) start() {
	n.generation++
	n.id = n.cluster.nodeIDs[n.index]
	n.groups = map[string]*kvGroup{}
	n.byID = map[uint64]*kvGroup{}
	n.leaderOf = map[string]uint64{}
	n.host = host.New(host.Config{
		NodeID: n.id, ElectionTicks: n.cluster.electionTicks, HeartbeatTicks: n.cluster.heartbeatTicks,
		InflightMessagesMax: 32, MessageBytesMax: 64 << 10, PreVote: true, CheckQuorum: true,
		Rand: n.env.Rand, VerifySends: true,
	})
	specs := n.cluster.groupsOf(n.index, n.id)
	keep := map[string]bool{}
	for _, spec := range specs {
		keep[n.dir(spec)] = true
	}
	// Directories of earlier node ids (a process that left and rejoined) are wiped.
	if names, err := n.env.FS.ReadDir("raft"); err == nil {
		for _, name := range names {
			if !keep["raft/"+name] {
				n.env.FS.RemoveAll("raft/" + name)
			}
		}
	}
	n.stopped = false
	n.cluster.broken[n.index] = false
	n.openGroups(specs)
}

// openGroups opens the groups, retrying the ones whose storage fails to open (a disk
// error) later; the others run meanwhile.
func (n *raftNode) openGroups(specs []raftGroupSpec) {
	var failed []raftGroupSpec
	for _, spec := range specs {
		if err := n.openGroup(spec); err != nil {
			if errors.Is(err, wal.ErrCorruptSnapshot) || errors.Is(err, wal.ErrHardStateLost) {
				n.cluster.broken[n.index] = true
			}
			failed = append(failed, spec)
		}
	}
	if len(failed) > 0 {
		generation := n.generation
		n.env.Clock.AfterFunc(raftRetryDelay, func() {
			if n.generation == generation && !n.stopped {
				n.openGroups(failed)
			}
		})
	}
	n.queueReady()
}

func (n *raftNode) dir(spec raftGroupSpec) string {
	return fmt.Sprintf("raft/%s-%d", spec.name, n.id)
}

func (n *raftNode) openGroup(spec raftGroupSpec) error {
	log, recovery, err := wal.Open(n.env.FS, n.dir(spec), wal.Options{SegmentBytesMax: 64 << 10, CacheBytesMax: 256 << 10})
	if err != nil {
		return err
	}
	g := &kvGroup{spec: spec, log: log, kv: map[string]string{}, pending: map[uint64]pendingRequest{}}
	if n.cluster.debug != nil {
		first, _ := log.FirstIndex()
		last, _ := log.LastIndex()
		lt, _ := log.Term(last)
		n.cluster.debug(fmt.Sprintf("%s id %d open: %+v first %d last %d/%d hs %+v", n.cluster.processes[n.index], n.id, recovery, first, last, lt, log.HardState()))
	}
	snap, _ := log.Snapshot()
	last, _ := log.LastIndex()
	hs := log.HardState()
	if snap.IsEmpty() && last == 0 && hs.IsEmpty() && len(spec.bootstrap.Voters) > 0 {
		if err := log.Save(raft.BootstrapSnapshot(spec.bootstrap), nil, pb.HardState{}); err != nil {
			log.Close()
			return err
		}
		snap, _ = log.Snapshot()
	}
	if !snap.IsEmpty() {
		g.kv = decodeKV(snap.Data)
		g.applied = snap.Metadata.Index
		g.snapshotIndex = snap.Metadata.Index
	}
	err = n.host.AddGroup(host.GroupConfig{
		Name: spec.name, GroupID: spec.groupID, Storage: log, Applied: g.applied,
		Persist: func(rd *raft.Ready) error { return n.persist(g, rd) },
		Durable: log.Durable, RepairIndex: recovery.RepairIndex,
	})
	if err != nil {
		log.Close()
		return err
	}
	n.groups[spec.name] = g
	n.byID[spec.groupID] = g
	return nil
}

// stop closes every log; the node is silent until start.
func (n *raftNode) stop() {
	n.stopped = true
	for _, g := range n.groups {
		g.log.Close()
	}
	n.groups = map[string]*kvGroup{}
	n.byID = map[uint64]*kvGroup{}
	n.host = host.New(host.Config{NodeID: n.id, ElectionTicks: 2, HeartbeatTicks: 1, Rand: n.env.Rand})
}

// rejoin makes the process a fresh node under a new id: its storage is wiped and it
// waits for a leader to add it.
func (n *raftNode) rejoin(id uint64) {
	n.stop()
	n.cluster.nodeIDs[n.index] = id
	n.start()
}

// persist is a group's Persist callback: the Ready's writes, one sync.
func (n *raftNode) persist(g *kvGroup, rd *raft.Ready) error {
	if rd.Snapshot.IsEmpty() && len(rd.Entries) == 0 && !rd.MustSync {
		// Only the commit index moved: it may be lost in a crash (raft learns it
		// again), so it rides along with the next sync instead of costing one.
		if rd.HardState.IsEmpty() {
			return nil
		}
		return g.log.SetHardState(rd.HardState)
	}
	if n.cluster.debug != nil {
		var ids []string
		for _, e := range rd.Entries {
			ids = append(ids, fmt.Sprintf("%d/%d", e.Term, e.Index))
		}
		n.cluster.debug(fmt.Sprintf("%s id %d save snap=%d ents=%v hs=%+v", n.cluster.processes[n.index], n.id, rd.Snapshot.Metadata.Index, ids, rd.HardState))
	}
	if err := g.log.Save(rd.Snapshot, rd.Entries, rd.HardState); err != nil {
		if n.cluster.debug != nil {
			n.cluster.debug(fmt.Sprintf("%s id %d save failed: %v", n.cluster.processes[n.index], n.id, err))
		}
		return err
	}
	n.cluster.notePersisted(g.spec.groupID, rd.Entries)
	return nil
}

// queueReady runs the host's Ready now, at the end of the event that made it ready
// (a delivery, a tick, a proposal): one simulator event does both, which keeps the
// event count, and so the simulation's cost, down.
func (n *raftNode) queueReady() {
	if n.readyQueued {
		return
	}
	n.readyQueued = true
	n.processReady()
	// Applying may make more ready (a snapshot taken, a repair cleared); a bounded
	// number of rounds, the next event picks up the rest.
	for round := 0; round < raftReadyRoundsMax && !n.stopped && n.host.HasReady(); round++ {
		n.processReady()
	}
	n.readyQueued = false
}

func (n *raftNode) onTick() {
	n.env.Clock.AfterFunc(n.cluster.tick, n.onTick)
	if n.stopped {
		return
	}
	n.host.Tick()
	n.queueReady()
}

// processReady runs the host's Ready: send, apply, check, snapshot.
func (n *raftNode) processReady() {
	if n.stopped {
		return
	}
	out := n.host.Ready()
	for _, v := range out.Violations {
		n.cluster.world.w.Fail(fmt.Errorf("%w: %v", errRaftInvariant, v))
		return
	}
	for _, b := range out.Batches {
		n.send(b)
	}
	for _, change := range out.LeaderChanges {
		if n.cluster.debug != nil {
			n.cluster.debug(fmt.Sprintf("%s id %d: group %s leader %d term %d", n.cluster.processes[n.index], n.id, change.Group, change.Leader, change.Term))
		}
		n.leaderOf[change.Group] = change.Leader
		if change.Leader == n.id {
			g := n.groups[change.Group]
			n.cluster.checkLeaderCompleteness(g.spec.groupID, n.id, change.Term, g.log)
			n.cluster.noteLeader(g.spec.groupID, change.Term, n.id)
		}
	}
	for _, committed := range out.Committed {
		g := n.groups[committed.Group]
		n.apply(g, committed)
		if g.log.RepairIndex() != 0 {
			if s, _ := n.host.Status(committed.Group); s.RepairIndex == 0 {
				g.log.ClearRepair()
			}
		}
		n.maybeSnapshot(g)
	}
	if len(out.StorageErrors) > 0 {
		// A failed write leaves the disk's state unknown: reboot the node's software
		// from the disk, as a crash would.
		n.stop()
		generation := n.generation
		n.env.Clock.AfterFunc(raftRetryDelay, func() {
			if n.generation == generation {
				n.start()
			}
		})
		return
	}
}

// apply restores a snapshot and applies entries to the group's map, answering the
// clients that wait for them.
func (n *raftNode) apply(g *kvGroup, c host.Committed) {
	if !c.Snapshot.IsEmpty() && c.Snapshot.Metadata.Index > g.applied {
		g.kv = decodeKV(c.Snapshot.Data)
		g.applied = c.Snapshot.Metadata.Index
		g.snapshotIndex = c.Snapshot.Metadata.Index
	}
	for i := range c.Entries {
		ent := &c.Entries[i]
		if ent.Index <= g.applied {
			continue
		}
		g.applied = ent.Index
		n.cluster.noteApplied(g.spec.groupID, n.id, ent)
		if ent.Type != pb.EntryNormal || len(ent.Data) == 0 {
			continue
		}
		cmd, err := decodeKVCommand(ent.Data)
		if err != nil {
			n.cluster.fail("group %d: undecodable entry %d: %v", g.spec.groupID, ent.Index, err)
			return
		}
		reply, answer := g.execute(cmd)
		if p, ok := g.pending[cmd.tag]; ok {
			delete(g.pending, cmd.tag)
			if answer {
				reply.request = p.request
				writeFrame(p.conn, reply.encode())
			}
		}
	}
}

// maybeSnapshot snapshots the map every snapshotEvery applied entries and compacts the
// log up to it.
func (n *raftNode) maybeSnapshot(g *kvGroup) {
	if n.cluster.snapshotEvery == 0 || g.applied < g.snapshotIndex+n.cluster.snapshotEvery {
		return
	}
	node := n.host.Node(g.spec.name)
	if node == nil {
		return
	}
	snap, err := g.log.CreateSnapshot(g.applied, node.ConfState(), encodeKV(g.kv))
	if err != nil {
		return
	}
	g.snapshotIndex = snap.Metadata.Index
	// Keep a short tail of entries for slow followers.
	if err := g.log.Compact(snap.Metadata.Index); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return
	}
}

// send writes a batch to its destination's process, dropping it when the peer is
// unknown, not connected yet or backed up (raft retransmits).
func (n *raftNode) send(b *host.Batch) {
	peer := n.cluster.processOf(b.To)
	if peer < 0 || peer == n.index {
		return
	}
	conn := n.peers[peer]
	if conn == nil {
		n.dial(peer)
		return
	}
	if conn.Pending() > raftConnPendingMax {
		return
	}
	writeFrame(conn, b.Encode(nil))
}

func (n *raftNode) dial(peer int) {
	if n.dialing[peer] {
		return
	}
	n.dialing[peer] = true
	n.env.Net.Dial(joinHostPort(n.cluster.processes[peer], raftPeerPort), func(c env.Conn, err error) {
		n.dialing[peer] = false
		if err != nil {
			return
		}
		n.peers[peer] = c
		c.Start(&raftPeerConn{node: n, conn: c, peer: peer})
	})
}

// writeFrame writes one length-prefixed frame and flushes.
func writeFrame(c env.Conn, payload []byte) {
	frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(payload)), uint32(len(payload)))
	if _, err := c.Write(append(frame, payload...)); err == nil {
		c.Flush()
	}
}

// raftFrameReader reassembles frames of up to raftFrameBytesMax.
type raftFrameReader struct{ pending []byte }

func (r *raftFrameReader) feed(b []byte, each func([]byte) error) error {
	data := b
	if len(r.pending) > 0 {
		r.pending = append(r.pending, b...)
		data = r.pending
	}
	for len(data) >= 4 {
		size := binary.BigEndian.Uint32(data)
		if size > raftFrameBytesMax {
			r.pending = nil
			return errFrameTooLarge
		}
		if uint32(len(data)-4) < size {
			break
		}
		if err := each(data[4 : 4+size]); err != nil {
			r.pending = nil
			return err
		}
		data = data[4+size:]
	}
	r.pending = append(r.pending[:0], data...)
	return nil
}

// raftPeerConn is a connection between raft peers: the dialer sends on it, the
// acceptor receives.
type raftPeerConn struct {
	node   *raftNode
	conn   env.Conn
	peer   int // -1 for accepted connections
	reader raftFrameReader
}

func (n *raftNode) acceptPeer(c env.Conn) {
	c.Start(&raftPeerConn{node: n, conn: c, peer: -1})
}

func (h *raftPeerConn) OnData(b []byte) {
	if err := h.reader.feed(b, h.handle); err != nil {
		h.conn.Close()
	}
}

func (h *raftPeerConn) handle(payload []byte) error {
	n := h.node
	b, err := host.DecodeBatch(payload)
	if err != nil {
		return err
	}
	if n.stopped || b.To != n.id {
		return nil
	}
	n.host.Step(b)
	n.queueReady()
	return nil
}

func (h *raftPeerConn) OnClose(error) {
	if h.peer >= 0 && h.node.peers[h.peer] == h.conn {
		delete(h.node.peers, h.peer)
	}
}

// The key-value commands in the log and the client protocol.

const (
	kvGet byte = iota + 1
	kvPut
	kvCompareAndSwap
)

// The reply statuses.
const (
	kvReplyOK byte = iota + 1
	kvReplyNotLeader
)

// kvCommand is a client request, and (with its tag) a log entry. A client that resends
// a request (after a reconnection) may get it into the log twice: the state machine
// keeps each client's last request and reply (its session) and applies a request once.
type kvCommand struct {
	// client identifies the session (0: none); request numbers grow per client.
	client   uint64
	request  uint64
	tag      uint64
	op       byte
	key      string
	value    string
	expected string
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type byteReader struct {
	data []byte
	err  error
}

func (r *byteReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data)
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	r.data = r.data[n:]
	return v
}

func (r *byteReader) string() string {
	size := r.uint()
	if r.err != nil || size > uint64(len(r.data)) {
		r.err = errors.New("bad string")
		return ""
	}
	s := string(r.data[:size])
	r.data = r.data[size:]
	return s
}

func (c kvCommand) encode() []byte {
	b := binary.AppendUvarint(nil, c.client)
	b = binary.AppendUvarint(b, c.request)
	b = binary.AppendUvarint(b, c.tag)
	b = append(b, c.op)
	b = appendString(b, c.key)
	b = appendString(b, c.value)
	return appendString(b, c.expected)
}

func decodeKVCommand(data []byte) (kvCommand, error) {
	r := &byteReader{data: data}
	c := kvCommand{client: r.uint(), request: r.uint(), tag: r.uint()}
	if r.err == nil && len(r.data) > 0 {
		c.op = r.data[0]
		r.data = r.data[1:]
	} else if r.err == nil {
		r.err = errors.New("missing op")
	}
	c.key, c.value, c.expected = r.string(), r.string(), r.string()
	if r.err == nil && (c.op < kvGet || c.op > kvCompareAndSwap) {
		r.err = errors.New("bad op")
	}
	return c, r.err
}

// kvReply answers a kvCommand.
type kvReply struct {
	request uint64
	status  byte
	leader  uint64
	found   bool
	ok      bool
	value   string
}

func (r kvReply) encode() []byte {
	b := binary.AppendUvarint(nil, r.request)
	b = append(b, r.status)
	b = binary.AppendUvarint(b, r.leader)
	flags := byte(0)
	if r.found {
		flags |= 1
	}
	if r.ok {
		flags |= 2
	}
	b = append(b, flags)
	return appendString(b, r.value)
}

func decodeKVReply(data []byte) (kvReply, error) {
	r := &byteReader{data: data}
	reply := kvReply{request: r.uint()}
	if r.err == nil && len(r.data) > 0 {
		reply.status = r.data[0]
		r.data = r.data[1:]
	}
	reply.leader = r.uint()
	if r.err == nil && len(r.data) > 0 {
		reply.found = r.data[0]&1 != 0
		reply.ok = r.data[0]&2 != 0
		r.data = r.data[1:]
	}
	reply.value = r.string()
	return reply, r.err
}

// sessionKey is where the map keeps a client's session (no client key starts with a
// zero byte).
func sessionKey(client uint64) string { return "\x00session/" + strconv.FormatUint(client, 10) }

// execute applies a command to the map, once per client request: a duplicate of the
// session's last request gets the recorded reply, an older one none (ok false).
func (g *kvGroup) execute(c kvCommand) (kvReply, bool) {
	if c.client != 0 {
		if session, ok := g.kv[sessionKey(c.client)]; ok {
			r := &byteReader{data: []byte(session)}
			last := r.uint()
			if c.request < last {
				return kvReply{}, false
			}
			if c.request == last {
				reply, err := decodeKVReply(r.data)
				return reply, err == nil
			}
		}
	}
	reply := g.run(c)
	if c.client != 0 {
		g.kv[sessionKey(c.client)] = string(append(binary.AppendUvarint(nil, c.request), reply.encode()...))
	}
	return reply, true
}

// run applies a command to the map.
func (g *kvGroup) run(c kvCommand) kvReply {
	reply := kvReply{status: kvReplyOK}
	switch c.op {
	case kvGet:
		reply.value, reply.found = g.kv[c.key]
	case kvPut:
		g.kv[c.key] = c.value
	case kvCompareAndSwap:
		if current, exists := g.kv[c.key]; exists && current == c.expected {
			g.kv[c.key] = c.value
			reply.ok = true
		}
	}
	return reply
}

func encodeKV(kv map[string]string) []byte {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, kv[k])
	}
	return b
}

func decodeKV(data []byte) map[string]string {
	kv := map[string]string{}
	r := &byteReader{data: data}
	for len(r.data) > 0 && r.err == nil {
		k, v := r.string(), r.string()
		if r.err == nil {
			kv[k] = v
		}
	}
	return kv
}

// The client side of a node: requests are proposed on the leader and answered when
// applied.

type raftClientConn struct {
	node   *raftNode
	conn   env.Conn
	reader raftFrameReader
}

func (n *raftNode) acceptClient(c env.Conn) {
	c.Start(&raftClientConn{node: n, conn: c})
}

func (h *raftClientConn) OnData(b []byte) {
	if err := h.reader.feed(b, h.handle); err != nil {
		h.conn.Close()
	}
}

func (h *raftClientConn) OnClose(error) {}

func (h *raftClientConn) handle(payload []byte) error {
	cmd, err := decodeKVCommand(payload)
	if err != nil {
		return err
	}
	h.node.propose(h.conn, cmd)
	return nil
}

// propose puts a client's command in the first group's log, or answers with the
// leader it knows.
func (n *raftNode) propose(conn env.Conn, cmd kvCommand) {
	names := n.host.Groups()
	if n.stopped || len(names) == 0 {
		writeFrame(conn, kvReply{request: cmd.request, status: kvReplyNotLeader}.encode())
		return
	}
	g := n.groups[names[0]]
	if len(g.pending) >= raftPendingRequestsMax {
		return
	}
	cmd.tag = n.env.Rand.Uint64()
	_, err := n.host.Propose(g.spec.name, cmd.encode())
	if err != nil {
		var notLeader *raft.NotLeaderError
		leader := uint64(0)
		if errors.As(err, &notLeader) {
			leader = notLeader.Leader
		}
		writeFrame(conn, kvReply{request: cmd.request, status: kvReplyNotLeader, leader: leader}.encode())
		return
	}
	g.pending[cmd.tag] = pendingRequest{conn: conn, request: cmd.request}
	n.queueReady()
}

// leaderStatus reports whether this node leads the group, and its term and membership.
func (n *raftNode) leaderStatus(name string) (bool, uint64, pb.ConfState) {
	if n.stopped {
		return false, 0, pb.ConfState{}
	}
	node := n.host.Node(name)
	if node == nil {
		return false, 0, pb.ConfState{}
	}
	s := node.BasicStatus()
	return s.RaftState == raft.StateLeader, s.Term, s.ConfState
}
