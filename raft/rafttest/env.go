// Package rafttest runs groups of raft nodes over an in-memory network under the
// test's control: the interaction-test harness (scripts in testdata/ with golden output)
// and the randomized property test share it. Every node persists its Ready before
// sending, and every outgoing message is checked against the durable state
// (raft.CheckSend); safety invariants are checked as nodes apply entries.
//
// It imports raft, raft/raftpb and the standard library only.
package rafttest

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

// Node is one member: its raft node, its storage (which survives crashes) and its
// state machine (a list of applied values, rebuilt from the snapshot on restart).
type Node struct {
	ID      uint64
	Config  raft.Config
	Storage *raft.MemoryStorage
	RawNode *raft.RawNode
	// State is the applied values, in order; Applied the index they reach.
	State   []string
	Applied uint64
	// Down: crashed; messages to it are dropped.
	Down bool
	// StorageBroken makes the next persist fail.
	StorageBroken bool
	// KeepState makes the next restart keep State and Applied (a durable state
	// machine) instead of rebuilding them from the snapshot.
	KeepState bool
	// RepairIndex is the durable repair marker: while not zero, every restart asks
	// raft again to be repaired up to it (raft keeps the request in memory only).
	RepairIndex uint64
	// checkpoint is a copy of the log as it was when Checkpoint was last called, for
	// LoseSinceCheckpoint.
	checkpoint *logCheckpoint
}

// logCheckpoint is a node's persisted log at one moment: its snapshot's index and term,
// the entries after it and the commit index.
type logCheckpoint struct {
	snapshotIndex, snapshotTerm uint64
	entries                     []pb.Entry
	commit                      uint64
}

// Env is a set of nodes, the messages in flight between them and the partitions.
type Env struct {
	Nodes map[uint64]*Node
	// Messages are in flight, in send order.
	Messages []pb.Message
	// side assigns nodes to partition sides; messages between sides are dropped.
	side map[uint64]int
	// Out collects the trace of what happened.
	Out strings.Builder
	// Quiet suppresses the trace (for the property test).
	Quiet bool

	// committed[g][i] is the entry applied at index i in group g by the first node that
	// applied it.
	committed map[uint64]map[uint64]pb.Entry
	// leaders[g][term] is the node that became leader in term of group g.
	leaders map[uint64]map[uint64]uint64
	// readFloor[context] is the highest commit index any node knew when the read
	// index request with that context was issued: a linearizable read must not return
	// an index below it.
	readFloor map[string]uint64
	// Template is copied into each new node's Config.
	Template raft.Config
	nextID   uint64
}

// ZeroRand makes every randomized election timeout exactly ElectionTicks, which keeps
// scripts readable.
type ZeroRand struct{}

// Intn returns 0.
func (ZeroRand) Intn(int) int { return 0 }

// NewEnv returns an empty environment whose nodes use template (ID, Storage and
// GroupID are filled in per node).
func NewEnv(template raft.Config) *Env {
	return &Env{Nodes: map[uint64]*Node{}, side: map[uint64]int{},
		committed: map[uint64]map[uint64]pb.Entry{}, leaders: map[uint64]map[uint64]uint64{},
		readFloor: map[string]uint64{},
		Template:  template, nextID: 1}
}

// DefaultConfig is the template interaction scripts start from.
func DefaultConfig() raft.Config {
	return raft.Config{
		ElectionTicks: 10, HeartbeatTicks: 1, InflightMessagesMax: 256, MessageBytesMax: 1 << 20,
		PreVote: true, CheckQuorum: true, Rand: ZeroRand{}, SnapshotChunkBytes: 1 << 20,
	}
}

// IDs returns the node ids in ascending order.
func (e *Env) IDs() []uint64 {
	ids := make([]uint64, 0, len(e.Nodes))
	for id := range e.Nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (e *Env) logf(format string, args ...any) {
	if !e.Quiet {
		fmt.Fprintf(&e.Out, format+"\n", args...)
	}
}

// AddNodes creates n nodes. With bootstrap, their storage holds the bootstrap snapshot
// with membership cs; otherwise they start empty and join through the leader.
func (e *Env) AddNodes(n int, bootstrap bool, cs pb.ConfState, groupID uint64) ([]uint64, error) {
	var ids []uint64
	for range n {
		ids = append(ids, e.nextID)
		e.nextID++
	}
	if bootstrap && len(cs.Voters) == 0 {
		cs.Voters = ids
	}
	for _, id := range ids {
		st := raft.NewMemoryStorage()
		if bootstrap {
			if err := st.ApplySnapshot(raft.BootstrapSnapshot(cs)); err != nil {
				return nil, err
			}
		}
		cfg := e.Template
		cfg.ID, cfg.Storage, cfg.GroupID = id, st, groupID
		node := &Node{ID: id, Config: cfg, Storage: st}
		if err := e.start(node); err != nil {
			return nil, err
		}
		e.Nodes[id] = node
	}
	return ids, nil
}

// start builds a node's RawNode from its storage; its state machine restarts from the
// storage's snapshot.
func (e *Env) start(n *Node) error {
	snap, err := n.Storage.Snapshot()
	if err != nil {
		return err
	}
	if !n.KeepState || n.Applied < snap.Metadata.Index {
		n.State = decodeState(snap.Data)
		n.Applied = snap.Metadata.Index
	}
	n.KeepState = false
	cfg := n.Config
	cfg.Applied = n.Applied
	rn, err := raft.NewRawNode(&cfg)
	if err != nil {
		return err
	}
	n.RawNode = rn
	n.Down = false
	if n.RepairIndex != 0 {
		rn.RequireRepair(n.RepairIndex)
	}
	return nil
}

func decodeState(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.Split(string(data), ",")
}

// Crash stops a node: its raft state is lost except what its storage persisted, and the
// messages in flight to it are dropped.
func (e *Env) Crash(id uint64) {
	n := e.Nodes[id]
	n.Down = true
	n.RawNode = nil
	e.Messages = slices.DeleteFunc(e.Messages, func(m pb.Message) bool { return m.To == id })
}

// Restart brings a crashed node back from its storage.
func (e *Env) Restart(id uint64) error {
	n := e.Nodes[id]
	if !n.Down {
		return fmt.Errorf("node %d is not down", id)
	}
	return e.start(n)
}

// CorruptTail models a log whose tail was found corrupt on recovery: the node crashes
// (if up), loses its entries after keep (never below its snapshot), gets its commit index
// lowered to what survived, and restarts asking to be repaired up to its old last index.
// It returns the old last index.
func (e *Env) CorruptTail(id, keep uint64, repair bool) (uint64, error) {
	n := e.Nodes[id]
	if !n.Down {
		e.Crash(id)
	}
	old := n.Storage
	snap, _ := old.Snapshot()
	last, _ := old.LastIndex()
	keep = max(keep, snap.Metadata.Index)
	fresh := raft.NewMemoryStorage()
	if err := fresh.ApplySnapshot(snap); err != nil {
		return 0, err
	}
	if keep > snap.Metadata.Index {
		ents, err := old.Entries(snap.Metadata.Index+1, keep+1, 1<<62)
		if err != nil {
			return 0, err
		}
		if err := fresh.Append(ents); err != nil {
			return 0, err
		}
	}
	hs := old.HardState()
	hs.Commit = min(hs.Commit, keep)
	if err := fresh.SetHardState(hs); err != nil {
		return 0, err
	}
	n.Storage, n.Config.Storage = fresh, fresh
	n.KeepState = false
	if repair {
		n.RepairIndex = max(n.RepairIndex, last)
	}
	if err := e.Restart(id); err != nil {
		return 0, err
	}
	return last, nil
}

// Checkpoint remembers the node's persisted log as it is now: LoseSinceCheckpoint
// brings it back.
func (e *Env) Checkpoint(id uint64) error {
	n := e.Nodes[id]
	snap, err := n.Storage.Snapshot()
	if err != nil {
		return err
	}
	first, _ := n.Storage.FirstIndex()
	last, _ := n.Storage.LastIndex()
	var ents []pb.Entry
	if last >= first {
		if ents, err = n.Storage.Entries(first, last+1, 1<<62); err != nil {
			return err
		}
	}
	n.checkpoint = &logCheckpoint{snapshotIndex: snap.Metadata.Index, snapshotTerm: snap.Metadata.Term,
		entries: slices.Clone(ents), commit: n.Storage.HardState().Commit}
	return nil
}

// LoseSinceCheckpoint models a log that lost every record written since the node's last
// Checkpoint, as a write-ahead log does when a damaged record ends the log on recovery:
// the entries it held then come back, including a suffix that was since replaced by a
// conflicting append (the replacement was among the lost records). The snapshot and the
// hard state's term and vote survive (they are kept apart); the commit index is the one
// recorded with the surviving entries, or with keepCommit the newer one lowered to the
// surviving last index (a state file kept apart from the log, as store/wal recovered it
// before it restarted such logs from the snapshot: it may then cover the superseded
// entries). The node restarts asking to be repaired up to everything it may have
// acknowledged. It returns the old last index, and false if the node has no checkpoint.
func (e *Env) LoseSinceCheckpoint(id uint64, keepCommit bool) (uint64, bool, error) {
	n := e.Nodes[id]
	cp := n.checkpoint
	if cp == nil {
		return 0, false, nil
	}
	if !n.Down {
		e.Crash(id)
	}
	old := n.Storage
	snap, _ := old.Snapshot()
	last, _ := old.LastIndex()
	hs := old.HardState()
	fresh := raft.NewMemoryStorage()
	if err := fresh.ApplySnapshot(snap); err != nil {
		return 0, false, err
	}
	// The surviving entries must continue the snapshot: those after it are kept when
	// the checkpoint holds the snapshot's own last entry.
	s := snap.Metadata
	chained := cp.snapshotIndex == s.Index && cp.snapshotTerm == s.Term
	for _, ent := range cp.entries {
		if ent.Index == s.Index && ent.Term == s.Term {
			chained = true
		}
	}
	var kept []pb.Entry
	if chained {
		for _, ent := range cp.entries {
			if ent.Index > s.Index {
				kept = append(kept, ent)
			}
		}
	}
	if err := fresh.Append(kept); err != nil {
		return 0, false, err
	}
	freshLast, _ := fresh.LastIndex()
	commit := s.Index
	if chained {
		commit = max(commit, min(cp.commit, freshLast))
	}
	if keepCommit {
		commit = max(s.Index, min(hs.Commit, freshLast))
	}
	if err := fresh.SetHardState(pb.HardState{Term: hs.Term, Vote: hs.Vote, Commit: commit}); err != nil {
		return 0, false, err
	}
	n.Storage, n.Config.Storage = fresh, fresh
	n.KeepState = false
	n.checkpoint = nil
	n.RepairIndex = max(n.RepairIndex, last, hs.Commit)
	if err := e.Restart(id); err != nil {
		return 0, false, err
	}
	return last, true, nil
}

// Partition splits the nodes into sides; nodes in no side form one more side.
func (e *Env) Partition(sides [][]uint64) {
	clear(e.side)
	for i, s := range sides {
		for _, id := range s {
			e.side[id] = i + 1
		}
	}
}

// Heal removes all partitions.
func (e *Env) Heal() { clear(e.side) }

func (e *Env) connected(a, b uint64) bool { return e.side[a] == e.side[b] }

// ProcessReady handles one Ready of node id following the ordering contract: persist,
// check and send the messages, apply, Advance. It reports whether there was a Ready.
func (e *Env) ProcessReady(id uint64) (bool, error) {
	n := e.Nodes[id]
	if n.Down || !n.RawNode.HasReady() {
		return false, nil
	}
	if n.StorageBroken && n.RawNode.BasicStatus().StorageError != nil {
		// The node knows its storage is broken; its output waits for the repair.
		return false, nil
	}
	rd := n.RawNode.Ready()
	e.logReady(id, &rd)
	if n.StorageBroken && (len(rd.Entries) > 0 || !rd.HardState.IsEmpty() || !rd.Snapshot.IsEmpty()) {
		// The write failed: nothing is persisted, so nothing that depends on it may be
		// sent or applied. The node learns of the failure and stops taking part.
		e.logf("%d: persist failed: storage error; messages withheld", id)
		n.RawNode.ReportStorageError(errStorage)
		n.RawNode.Advance(raft.Ready{})
		return true, nil
	}
	if err := e.persist(n, &rd); err != nil {
		return true, err
	}
	durable, err := raft.DurableOf(n.Storage)
	if err != nil {
		return true, err
	}
	for _, m := range rd.Messages {
		if err := raft.CheckSend(m, durable); err != nil {
			return true, err
		}
		e.send(m)
	}
	if err := e.apply(n, &rd); err != nil {
		return true, err
	}
	for _, rs := range rd.ReadStates {
		if floor, ok := e.readFloor[string(rs.Context)]; ok && rs.Index < floor {
			return true, fmt.Errorf("read index %d for %q below the commit index %d known when it was issued",
				rs.Index, rs.Context, floor)
		}
	}
	n.RawNode.Advance(rd)
	if n.RepairIndex != 0 && n.RawNode.BasicStatus().RepairIndex == 0 {
		// Raft reports the log repaired, and this Ready persisted what proves it.
		n.RepairIndex = 0
	}
	return true, nil
}

var errStorage = errors.New("injected storage error")

func (e *Env) persist(n *Node, rd *raft.Ready) error {
	if !rd.Snapshot.IsEmpty() {
		if err := n.Storage.ApplySnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	if err := n.Storage.Append(rd.Entries); err != nil {
		return err
	}
	if !rd.HardState.IsEmpty() {
		if err := n.Storage.SetHardState(rd.HardState); err != nil {
			return err
		}
	}
	if rd.SoftState != nil && rd.SoftState.RaftState == raft.StateLeader {
		term := rd.HardState.Term
		if term == 0 {
			term = n.Storage.HardState().Term
		}
		leaders := e.groupLeaders(n.Config.GroupID)
		if prev, ok := leaders[term]; ok && prev != n.ID {
			return fmt.Errorf("two leaders in term %d: %d and %d", term, prev, n.ID)
		}
		leaders[term] = n.ID
	}
	return nil
}

func (e *Env) send(m pb.Message) {
	// Every message crosses the wire encoding, so the codec sees everything raft sends.
	decoded, err := pb.DecodeMessage(pb.EncodeMessage(&m))
	if err != nil {
		panic(fmt.Sprintf("codec round trip of %s: %v", m, err))
	}
	m = decoded
	to := e.Nodes[m.To]
	if to == nil || to.Down || !e.connected(m.From, m.To) {
		e.logf("  dropped in network: %s", m)
		return
	}
	e.Messages = append(e.Messages, m)
}

// apply applies the snapshot and committed entries to the node's state machine and
// checks state machine safety: every node applies the same entry at each index.
func (e *Env) apply(n *Node, rd *raft.Ready) error {
	if !rd.Snapshot.IsEmpty() {
		n.State = decodeState(rd.Snapshot.Data)
		n.Applied = rd.Snapshot.Metadata.Index
	}
	for _, ent := range rd.CommittedEntries {
		if ent.Index <= n.Applied {
			continue
		}
		if ent.Index != n.Applied+1 {
			return fmt.Errorf("node %d applies %d after %d", n.ID, ent.Index, n.Applied)
		}
		committed := e.Committed(n.Config.GroupID)
		if prev, ok := committed[ent.Index]; ok {
			if prev.Term != ent.Term || string(prev.Data) != string(ent.Data) || prev.Type != ent.Type {
				return fmt.Errorf("state machine safety: node %d applies %s at %d, another applied %s",
					n.ID, ent, ent.Index, prev)
			}
		} else {
			committed[ent.Index] = ent
		}
		if ent.Type == pb.EntryNormal && len(ent.Data) > 0 {
			n.State = append(n.State, string(ent.Data))
		}
		n.Applied = ent.Index
	}
	return nil
}

func (e *Env) logReady(id uint64, rd *raft.Ready) {
	if e.Quiet {
		return
	}
	if rd.SoftState != nil {
		e.logf("%d: Lead:%d State:%s", id, rd.SoftState.Lead, rd.SoftState.RaftState)
	}
	if !rd.HardState.IsEmpty() {
		e.logf("%d: HardState Term:%d Vote:%d Commit:%d", id, rd.HardState.Term, rd.HardState.Vote, rd.HardState.Commit)
	}
	if !rd.Snapshot.IsEmpty() {
		m := rd.Snapshot.Metadata
		e.logf("%d: Snapshot Index:%d Term:%d %s", id, m.Index, m.Term, m.ConfState)
	}
	for _, ent := range rd.Entries {
		e.logf("%d: Persist %s", id, ent)
	}
	for _, ent := range rd.CommittedEntries {
		e.logf("%d: Apply %s", id, ent)
	}
	for _, rs := range rd.ReadStates {
		e.logf("%d: ReadState Index:%d Context:%q", id, rs.Index, rs.Context)
	}
	for _, m := range rd.Messages {
		e.logf("%d: Send %s", id, m)
	}
}

// Deliver steps the in-flight messages addressed to the given nodes (all if none), in
// order. It returns how many were delivered.
func (e *Env) Deliver(ids ...uint64) int {
	var keep, deliver []pb.Message
	for _, m := range e.Messages {
		if len(ids) == 0 || slices.Contains(ids, m.To) {
			deliver = append(deliver, m)
		} else {
			keep = append(keep, m)
		}
	}
	e.Messages = keep
	for _, m := range deliver {
		e.Step(m)
	}
	return len(deliver)
}

// Step hands one message to its recipient (a message the network already carried).
func (e *Env) Step(m pb.Message) {
	n := e.Nodes[m.To]
	if n == nil || n.Down {
		return
	}
	e.logf("%s", m)
	if err := n.RawNode.Step(m); err != nil {
		e.logf("  %v", err)
	}
}

// ReadIndex issues a read index request on node id and records the commit floor the
// answer must reach.
func (e *Env) ReadIndex(id uint64, context string) error {
	var floor uint64
	for _, other := range e.IDs() {
		if n := e.Nodes[other]; !n.Down && n.Config.GroupID == e.Nodes[id].Config.GroupID {
			floor = max(floor, n.RawNode.BasicStatus().Commit)
		}
	}
	e.readFloor[context] = floor
	return e.Nodes[id].RawNode.ReadIndex([]byte(context))
}

// Drop removes the in-flight messages matching from and to (None matches any).
func (e *Env) Drop(from, to uint64) int {
	before := len(e.Messages)
	e.Messages = slices.DeleteFunc(e.Messages, func(m pb.Message) bool {
		return (from == raft.None || m.From == from) && (to == raft.None || m.To == to)
	})
	return before - len(e.Messages)
}

// stabilizeRoundsMax bounds Stabilize; a group that has not converged by then is livelocked.
const stabilizeRoundsMax = 10000

// Stabilize processes Readies and delivers messages among ids (all nodes if none) until
// nothing is left to do.
func (e *Env) Stabilize(ids ...uint64) error {
	if len(ids) == 0 {
		ids = e.IDs()
	}
	for range stabilizeRoundsMax {
		progress := false
		for _, id := range ids {
			did, err := e.ProcessReady(id)
			if err != nil {
				return err
			}
			progress = progress || did
		}
		if e.Deliver(ids...) > 0 {
			progress = true
		}
		if !progress {
			return nil
		}
	}
	return errors.New("stabilize did not converge")
}

// CheckLogs checks log matching over the persisted logs of each group: if two logs hold
// an entry with the same index and term, they hold the same entries up to it. It also
// checks leader completeness: the leader of a group's highest term holds every entry
// applied in that group (unless compacted into its snapshot).
func (e *Env) CheckLogs() error {
	groups := map[uint64][]uint64{}
	for _, id := range e.IDs() {
		g := e.Nodes[id].Config.GroupID
		groups[g] = append(groups[g], id)
	}
	for g, ids := range groups {
		if err := e.checkGroupLogs(g, ids); err != nil {
			return fmt.Errorf("group %d: %w", g, err)
		}
	}
	return nil
}

func (e *Env) checkGroupLogs(group uint64, ids []uint64) error {
	logs := map[uint64]map[uint64]pb.Entry{}
	for _, id := range ids {
		logs[id] = storedLog(e.Nodes[id].Storage)
	}
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			if err := checkMatching(logs[a], logs[b]); err != nil {
				return fmt.Errorf("log matching between %d and %d: %w", a, b, err)
			}
		}
	}
	var topTerm, leader uint64
	for term, id := range e.groupLeaders(group) {
		if term > topTerm {
			topTerm, leader = term, id
		}
	}
	n := e.Nodes[leader]
	if n == nil || n.Down || n.Config.GroupID != group {
		return nil
	}
	if st := n.RawNode.BasicStatus(); st.RaftState != raft.StateLeader || st.Term != topTerm {
		return nil
	}
	snap, _ := n.Storage.Snapshot()
	for index, ent := range e.Committed(group) {
		if index <= snap.Metadata.Index {
			continue
		}
		got, ok := logs[leader][index]
		if !ok || got.Term != ent.Term || string(got.Data) != string(ent.Data) {
			return fmt.Errorf("leader completeness: leader %d of term %d lacks committed %s", leader, topTerm, ent)
		}
	}
	return nil
}

func storedLog(st *raft.MemoryStorage) map[uint64]pb.Entry {
	first, _ := st.FirstIndex()
	last, _ := st.LastIndex()
	out := map[uint64]pb.Entry{}
	if last < first {
		return out
	}
	ents, err := st.Entries(first, last+1, 1<<62)
	if err != nil {
		return out
	}
	for _, ent := range ents {
		out[ent.Index] = ent
	}
	return out
}

func checkMatching(a, b map[uint64]pb.Entry) error {
	var top uint64
	for index, ea := range a {
		if eb, ok := b[index]; ok && ea.Term == eb.Term && index > top {
			top = index
		}
	}
	for index := uint64(1); index <= top; index++ {
		ea, okA := a[index]
		eb, okB := b[index]
		if okA && okB && (ea.Term != eb.Term || string(ea.Data) != string(eb.Data)) {
			return fmt.Errorf("index %d: %s vs %s, though both hold an entry of the same term at %d", index, ea, eb, top)
		}
	}
	return nil
}

// Committed returns the applied entries of a group by index, for the
// no-committed-entry-lost check.
func (e *Env) Committed(group uint64) map[uint64]pb.Entry {
	if e.committed[group] == nil {
		e.committed[group] = map[uint64]pb.Entry{}
	}
	return e.committed[group]
}

func (e *Env) groupLeaders(group uint64) map[uint64]uint64 {
	if e.leaders[group] == nil {
		e.leaders[group] = map[uint64]uint64{}
	}
	return e.leaders[group]
}
