// Package host runs many raft groups on one node: it owns one RawNode per group, ticks
// them all from one Tick, collects their Ready output, persists each group's writes
// through the group's callback before releasing its messages (the Ready contract), and
// batches the outgoing messages per destination node.
//
// Idle groups cost little: the heartbeats of every group a pair of nodes shares (and
// their responses) travel as compact (group, term, commit) triples inside the pair's one
// Batch per Ready, and are expanded back into per-group raft messages on receipt.
//
// The package is pure: no I/O, no clock, no goroutines. The caller (node/ in
// production, a scenario in the simulator) moves Batches over the network, calls Tick
// from its timer, and applies what Ready hands out.
package host

import (
	"errors"
	"fmt"
	"slices"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

// Errors of the host.
var (
	// ErrUnknownGroup: no group of that name runs on this host.
	ErrUnknownGroup = errors.New("host: unknown group")
	// ErrGroupExists: a group of that name, or with that GroupID, already runs here.
	ErrGroupExists = errors.New("host: group already exists")
)

// Config configures a host; the raft fields apply to every group it runs.
type Config struct {
	// NodeID is this node's id in every group.
	NodeID uint64
	// ElectionTicks and HeartbeatTicks are raft's timeouts in Tick calls.
	ElectionTicks  int
	HeartbeatTicks int
	// InflightMessagesMax bounds the unacknowledged appends to one follower (0: 64).
	InflightMessagesMax int
	// MessageBytesMax bounds the entries in one append (0: raft's default).
	MessageBytesMax uint64
	// PreVote and CheckQuorum are raft's options of the same names.
	PreVote     bool
	CheckQuorum bool
	// Rand draws election timeouts.
	Rand raft.Rand
	// VerifySends makes Ready check every outgoing message with raft.CheckSend against
	// the group's Durable (the simulator turns it on); failures are reported in
	// Output.Violations.
	VerifySends bool
}

// GroupConfig describes one group to run.
type GroupConfig struct {
	// Name is the group's name on this host (for example a stream's).
	Name string
	// GroupID identifies the group's incarnation on the wire.
	GroupID uint64
	// Storage is the group's durable log.
	Storage raft.Storage
	// Applied is the last index the application applied before (re)starting.
	Applied uint64
	// Persist writes a Ready's snapshot, entries and hard state durably (when
	// rd.MustSync) in the contract's order; the host sends nothing of rd until it
	// returns nil. An error is reported to raft (ReportStorageError) and rd's messages
	// are dropped.
	Persist func(rd *raft.Ready) error
	// Durable, when set, tells what the group's storage holds durably (for
	// Config.VerifySends).
	Durable func() raft.Durable
	// RepairIndex, when not zero, is passed to RequireRepair at once (the WAL's
	// persisted repair marker).
	RepairIndex uint64
}

// group is one running group.
type group struct {
	config GroupConfig
	node   *raft.RawNode
	leader uint64
	// dirty: the node was stepped, ticked or proposed to since its last Ready, so it
	// may have output. Ready asks only dirty groups, which keeps idle groups cheap.
	dirty bool
}

// Host runs the raft groups of one node. It is not safe for concurrent use.
type Host struct {
	config Config
	groups map[string]*group
	byID   map[uint64]*group
	// names is the sorted group names: every loop over groups runs in this order;
	// ordered holds the groups in the same order.
	names   []string
	ordered []*group
	// dropped counts incoming messages for groups not on this host.
	dropped uint64
}

// New returns a host without groups.
func New(config Config) *Host {
	if config.InflightMessagesMax <= 0 {
		config.InflightMessagesMax = 64
	}
	return &Host{config: config, groups: map[string]*group{}, byID: map[uint64]*group{}}
}

// AddGroup starts a group on this host from its storage.
func (h *Host) AddGroup(gc GroupConfig) error {
	if _, ok := h.groups[gc.Name]; ok {
		return fmt.Errorf("%w: %q", ErrGroupExists, gc.Name)
	}
	if _, ok := h.byID[gc.GroupID]; ok {
		return fmt.Errorf("%w: group id %d", ErrGroupExists, gc.GroupID)
	}
	node, err := raft.NewRawNode(&raft.Config{
		ID: h.config.NodeID, GroupID: gc.GroupID,
		ElectionTicks: h.config.ElectionTicks, HeartbeatTicks: h.config.HeartbeatTicks,
		Storage: gc.Storage, Applied: gc.Applied,
		MessageBytesMax: h.config.MessageBytesMax, InflightMessagesMax: h.config.InflightMessagesMax,
		PreVote: h.config.PreVote, CheckQuorum: h.config.CheckQuorum, Rand: h.config.Rand,
	})
	if err != nil {
		return err
	}
	if gc.RepairIndex != 0 {
		node.RequireRepair(gc.RepairIndex)
	}
	g := &group{config: gc, node: node, dirty: true}
	h.groups[gc.Name] = g
	h.byID[gc.GroupID] = g
	index, _ := slices.BinarySearch(h.names, gc.Name)
	h.names = slices.Insert(h.names, index, gc.Name)
	h.ordered = slices.Insert(h.ordered, index, g)
	return nil
}

// RemoveGroup stops a group; its messages are dropped from now on. Removing an unknown
// group does nothing.
func (h *Host) RemoveGroup(name string) {
	g, ok := h.groups[name]
	if !ok {
		return
	}
	delete(h.groups, name)
	delete(h.byID, g.config.GroupID)
	if index, found := slices.BinarySearch(h.names, name); found {
		h.names = slices.Delete(h.names, index, index+1)
		h.ordered = slices.Delete(h.ordered, index, index+1)
	}
}

// Groups returns the names of the groups, sorted.
func (h *Host) Groups() []string { return slices.Clone(h.names) }

// Node returns a group's RawNode for what the host does not wrap (read index, leader
// transfer, status), or nil.
func (h *Host) Node(name string) *raft.RawNode {
	if g, ok := h.groups[name]; ok {
		// The caller may change the node's state (campaign, transfer, read index).
		g.dirty = true
		return g.node
	}
	return nil
}

// Status returns a group's status.
func (h *Host) Status(name string) (raft.Status, error) {
	g, ok := h.groups[name]
	if !ok {
		return raft.Status{}, fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	return g.node.BasicStatus(), nil
}

// Propose proposes data in a group; it returns the entry's index, or an error
// (*raft.NotLeaderError with a leader hint on a follower).
func (h *Host) Propose(name string, data []byte) (uint64, error) {
	g, ok := h.groups[name]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	g.dirty = true
	return g.node.Propose(data)
}

// ProposeConfChange proposes a membership change in a group.
func (h *Host) ProposeConfChange(name string, cc pb.ConfChange) (uint64, error) {
	g, ok := h.groups[name]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	g.dirty = true
	return g.node.ProposeConfChange(cc)
}

// Tick advances every group's logical clock by one tick.
func (h *Host) Tick() {
	for _, g := range h.ordered {
		g.node.Tick()
		g.dirty = true
	}
}

// Step delivers a batch received from another node: its messages, and its coalesced
// heartbeats expanded into per-group messages. Messages for groups not on this host,
// or that raft refuses, are dropped; the count of the former is returned.
func (h *Host) Step(batch *Batch) (dropped int) {
	deliver := func(m pb.Message) {
		g, ok := h.byID[m.GroupID]
		if !ok || m.To != h.config.NodeID {
			dropped++
			return
		}
		// Raft answers bad input by dropping it (ErrStepDropped); nothing to do.
		_ = g.node.Step(m)
		g.dirty = true
	}
	for _, hb := range batch.Heartbeats {
		deliver(pb.Message{Type: pb.MsgHeartbeat, GroupID: hb.GroupID, From: batch.From, To: batch.To, Term: hb.Term, Commit: hb.Commit})
	}
	for _, hb := range batch.HeartbeatResponses {
		deliver(pb.Message{Type: pb.MsgHeartbeatResponse, GroupID: hb.GroupID, From: batch.From, To: batch.To, Term: hb.Term})
	}
	for i := range batch.Messages {
		deliver(batch.Messages[i])
	}
	h.dropped += uint64(dropped)
	return dropped
}

// Committed is what a group hands the application in one Ready: restore Snapshot (if
// not empty), then apply Entries in order.
type Committed struct {
	Group    string
	GroupID  uint64
	Snapshot pb.Snapshot
	Entries  []pb.Entry
}

// LeaderChange reports a group's new leader (raft.None when it lost its leader) as seen
// by this node.
type LeaderChange struct {
	Group  string
	Leader uint64
	Term   uint64
}

// Output is what one Ready call produced: send every Batch, apply every Committed in
// order before the next Ready.
type Output struct {
	// Batches go to other nodes, one per destination, sorted by destination.
	Batches []*Batch
	// Committed lists, per group with something to apply, in group name order.
	Committed []Committed
	// LeaderChanges lists the groups whose leader changed.
	LeaderChanges []LeaderChange
	// StorageErrors lists the groups whose Persist failed in this call.
	StorageErrors []string
	// Violations are messages that failed raft.CheckSend (Config.VerifySends).
	Violations []error
}

// Empty reports whether o carries nothing.
func (o *Output) Empty() bool {
	return len(o.Batches) == 0 && len(o.Committed) == 0 && len(o.LeaderChanges) == 0 &&
		len(o.StorageErrors) == 0 && len(o.Violations) == 0
}

// HasReady reports whether any group has output.
func (h *Host) HasReady() bool {
	for _, g := range h.ordered {
		if g.dirty && g.node.HasReady() {
			return true
		}
	}
	return false
}

// Ready collects every group's Ready: it persists each (Persist), then batches its
// messages per destination, hands out what it committed, and advances it. The
// messages in the returned batches are all backed by durable state.
func (h *Host) Ready() Output {
	var out Output
	// out.Batches stays sorted by destination; a node has few peers, so a linear
	// search beats a map here.
	batchFor := func(to uint64) *Batch {
		i := 0
		for i < len(out.Batches) && out.Batches[i].To < to {
			i++
		}
		if i < len(out.Batches) && out.Batches[i].To == to {
			return out.Batches[i]
		}
		b := &Batch{From: h.config.NodeID, To: to}
		out.Batches = slices.Insert(out.Batches, i, b)
		return b
	}
	for _, g := range h.ordered {
		name := g.config.Name
		if !g.dirty {
			continue
		}
		if !g.node.HasReady() {
			g.dirty = false
			continue
		}
		rd := g.node.Ready()
		if err := g.config.Persist(&rd); err != nil {
			g.node.ReportStorageError(err)
			g.node.Advance(raft.Ready{})
			out.StorageErrors = append(out.StorageErrors, name)
			continue
		}
		var durable raft.Durable
		if h.config.VerifySends && g.config.Durable != nil {
			durable = g.config.Durable()
		}
		for _, m := range rd.Messages {
			if h.config.VerifySends && g.config.Durable != nil {
				if err := raft.CheckSend(m, durable); err != nil {
					out.Violations = append(out.Violations, fmt.Errorf("group %s node %d: %w", name, h.config.NodeID, err))
				}
			}
			b := batchFor(m.To)
			switch {
			case m.Type == pb.MsgHeartbeat && len(m.Context) == 0:
				b.Heartbeats = append(b.Heartbeats, Heartbeat{GroupID: m.GroupID, Term: m.Term, Commit: m.Commit})
			case m.Type == pb.MsgHeartbeatResponse && len(m.Context) == 0 && !m.Reject:
				b.HeartbeatResponses = append(b.HeartbeatResponses, Heartbeat{GroupID: m.GroupID, Term: m.Term})
			default:
				b.Messages = append(b.Messages, m)
			}
		}
		if !rd.Snapshot.IsEmpty() || len(rd.CommittedEntries) > 0 {
			out.Committed = append(out.Committed, Committed{Group: name, GroupID: g.config.GroupID,
				Snapshot: rd.Snapshot, Entries: rd.CommittedEntries})
		}
		if rd.SoftState != nil && (rd.SoftState.Lead != g.leader) {
			g.leader = rd.SoftState.Lead
			out.LeaderChanges = append(out.LeaderChanges, LeaderChange{Group: name, Leader: g.leader, Term: g.node.BasicStatus().Term})
		}
		g.node.Advance(rd)
	}
	return out
}
