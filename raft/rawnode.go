package raft

import (
	"fmt"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// SoftState is the volatile state worth reporting: who leads and this node's role.
type SoftState struct {
	Lead      uint64
	RaftState StateType
}

// Ready is the output of a RawNode: what the application must persist, send and apply,
// in this order (the ordering contract):
//
//  1. Persist Snapshot (if not empty), then Entries, then HardState (if not empty),
//     durably (fsync) when MustSync. Entries replace any conflicting suffix of the
//     stored log.
//  2. Only after step 1 is durable, send Messages. A message may promise a vote, a term
//     or an acknowledged entry; sending it before those are durable breaks Raft's safety
//     after a crash. CheckSend verifies each message against what is durable; the
//     simulator calls it on every message.
//  3. Apply Snapshot (if not empty), then CommittedEntries, in order. Membership changes
//     take effect inside raft when Advance is called, not before.
//  4. Call Advance(rd) before the next Ready.
//
// If persisting fails, send and apply nothing: call ReportStorageError and then
// Advance(Ready{}) (nothing of rd was persisted). The unpersisted entries and hard state
// are offered again after ClearStorageError; the messages are dropped.
//
// Ownership: every slice in a Ready belongs to the application once handed out; raft
// does not modify them afterwards, and the application must not modify them either
// (entries may also sit in raft's unstable log until Advance).
type Ready struct {
	// SoftState is non-nil when the leader or the role changed.
	*SoftState
	// HardState is non-empty when it changed and must be persisted.
	pb.HardState
	// ReadStates are read indexes confirmed since the last Ready: serve a read with that
	// Context once Index is applied.
	ReadStates []ReadState
	// Entries must be persisted (step 1).
	Entries []pb.Entry
	// Snapshot, if not empty, was received from the leader: persist it, then restore the
	// state machine from it.
	Snapshot pb.Snapshot
	// CommittedEntries are committed and may be applied once persisted.
	CommittedEntries []pb.Entry
	// Messages go out after step 1.
	Messages []pb.Message
	// MustSync: the term, vote or entries changed, so step 1 must be durable (fsync),
	// not just written.
	MustSync bool
}

// RawNode drives one raft node. It is not safe for concurrent use: the caller serializes
// Step, Tick, the proposals, Ready and Advance.
type RawNode struct {
	raft     *raft
	prevSoft SoftState
	prevHard pb.HardState
	// readyOut is set between Ready and Advance.
	readyOut bool
}

// NewRawNode builds a node from its configuration and storage. A brand new group is
// created by persisting BootstrapSnapshot on each initial member first; a node that
// joins later starts with empty storage and receives the leader's snapshot.
func NewRawNode(cfg *Config) (*RawNode, error) {
	r, err := newRaft(cfg)
	if err != nil {
		return nil, err
	}
	rn := &RawNode{raft: r}
	rn.prevSoft = rn.softState()
	rn.prevHard = r.hardState()
	return rn, nil
}

// BootstrapSnapshot is the snapshot (index 1, term 1, no data) that creates a group with
// the given membership. Persist it on every initial member before NewRawNode.
func BootstrapSnapshot(cs pb.ConfState) pb.Snapshot {
	return pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: cloneConfState(cs)}}
}

func (rn *RawNode) softState() SoftState {
	return SoftState{Lead: rn.raft.lead, RaftState: rn.raft.state}
}

// guard snapshots the monotonic state before an input; its check asserts the
// invariants after it.
func (rn *RawNode) guard() func() {
	term, commit := rn.raft.term, rn.raft.log.committed
	return func() {
		rn.raft.checkStorage()
		rn.raft.checkInvariants(term, commit)
	}
}

// Tick advances the node's logical clock by one tick (the caller's timer).
func (rn *RawNode) Tick() {
	defer rn.guard()()
	rn.raft.tick()
}

// Campaign starts an election now (with pre-vote if configured).
func (rn *RawNode) Campaign() error {
	defer rn.guard()()
	return rn.raft.hup(false)
}

// Propose appends data to the log if this node leads; it returns the entry's index. On
// a follower it returns a *NotLeaderError (errors.Is ErrProposalDropped) with the leader.
// The entry may still be lost (a new leader may overwrite it); the application learns
// the outcome from CommittedEntries.
func (rn *RawNode) Propose(data []byte) (uint64, error) {
	if rn.raft.storageErr != nil {
		return 0, fmt.Errorf("%w: %w", ErrProposalDropped, ErrStorageFailed)
	}
	defer rn.guard()()
	return rn.raft.propose(pb.Entry{Type: pb.EntryNormal, Data: data})
}

// ProposeConfChange proposes a membership change. At most one may be pending (proposed
// and not yet applied); it takes effect on each node when applied.
func (rn *RawNode) ProposeConfChange(cc pb.ConfChange) (uint64, error) {
	if rn.raft.storageErr != nil {
		return 0, fmt.Errorf("%w: %w", ErrProposalDropped, ErrStorageFailed)
	}
	if rn.raft.state != StateLeader {
		return 0, &NotLeaderError{Leader: rn.raft.lead}
	}
	if err := rn.raft.validateConfChange(cc); err != nil {
		return 0, err
	}
	defer rn.guard()()
	return rn.raft.propose(pb.Entry{Type: pb.EntryConfChange, Data: cc.Marshal()})
}

// Step feeds a message from a peer. Messages for another group, another node, of a
// stale term or otherwise unusable return an error wrapping ErrStepDropped; they never
// panic and never change state.
func (rn *RawNode) Step(m pb.Message) error {
	defer rn.guard()()
	return rn.raft.step(m)
}

// TransferLeader asks the leader to hand leadership to the voter to (sending it
// MsgTimeoutNow once its log is up to date). Proposals are refused meanwhile; the
// transfer is abandoned after an election timeout.
func (rn *RawNode) TransferLeader(to uint64) error {
	defer rn.guard()()
	return rn.raft.transferLeader(to)
}

// StepDown makes a leader a follower at once.
func (rn *RawNode) StepDown() error {
	defer rn.guard()()
	return rn.raft.stepDown()
}

// ReadIndex requests a linearizable read. The result arrives as a ReadState with the
// same context (which must be unique among pending requests) in a later Ready; serve
// the read after applying up to its Index. On a follower the request goes to the leader.
func (rn *RawNode) ReadIndex(context []byte) error {
	defer rn.guard()()
	return rn.raft.requestReadIndex(context)
}

// ReportStorageError tells raft that persisting or reading its log failed. The node
// steps down and neither votes, campaigns, nor acknowledges appends until
// ClearStorageError: a node that may have lost what it promised must not count toward
// any quorum.
func (rn *RawNode) ReportStorageError(err error) {
	defer rn.guard()()
	rn.raft.setStorageError(err)
}

// RequireRepair tells raft that the log lost entries up to index that this node may
// have acknowledged (for example a corrupt or torn tail truncated on recovery, with the
// hard state's commit lowered to the surviving log). Until leaders have replicated the
// log up to index again, the node neither votes nor campaigns, so it cannot help elect a
// leader that lacks an entry it helped commit; it does accept appends and snapshots,
// which is how it is repaired. The hard state (term
// and vote) must have survived: a node that lost its vote must not take part in any
// term it may have voted in.
//
// Raft keeps the request in memory only: the application persists a repair marker (for
// example in its write-ahead log), calls RequireRepair again after every restart, and
// clears the marker once Status().RepairIndex is zero after an Advance. Repair needs a
// leader, so it only completes while a quorum of voters is not itself in repair.
//
// The commit index recovered with a log that lost records is not trusted either: a lost
// record may have been the replacement of a suffix, which then came back, and a commit
// index covering it would apply entries the group never committed. Called before the
// first Ready (as at every restart), RequireRepair lowers the commit index to the
// applied index; leaders confirm the rest. The durable hard state is left alone (the
// next one written carries the commit index learned again).
func (rn *RawNode) RequireRepair(index uint64) {
	r := rn.raft
	if !rn.readyOut && r.log.committed > r.log.applied {
		r.log.committed = r.log.applied
		rn.prevHard.Commit = min(rn.prevHard.Commit, r.log.committed)
	}
	defer rn.guard()()
	r.repairIndex = max(r.repairIndex, index)
	if r.state != StateFollower {
		r.becomeFollower(r.term, None)
	}
}

// ClearStorageError ends the storage-failed state once the application repaired its
// storage (for example rebuilt it from the leader's snapshot) and restarted the node.
func (rn *RawNode) ClearStorageError() { rn.raft.storageErr = nil }

// ReportUnreachable tells the leader that sending to id failed, so it stops pipelining
// to it and probes instead.
func (rn *RawNode) ReportUnreachable(id uint64) {
	if rn.raft.state != StateLeader {
		return
	}
	if p := rn.raft.tracker.progress[id]; p != nil && p.State == StateReplicate {
		p.BecomeProbe()
	}
}

// ConfState returns the membership as of the last applied entry (membership changes
// take effect in Advance); a snapshot created at the applied index, between Advance and
// the next Ready, records it.
func (rn *RawNode) ConfState() pb.ConfState { return rn.raft.tracker.confState() }

// HasReady reports whether Ready would return anything.
func (rn *RawNode) HasReady() bool {
	r := rn.raft
	if rn.softState() != rn.prevSoft {
		return true
	}
	if hs := r.hardState(); !hs.IsEmpty() && hs != rn.prevHard {
		return true
	}
	return r.log.unstable.snapshot != nil || len(r.log.unstable.entries) > 0 || len(r.msgs) > 0 ||
		len(r.readStates) > 0 || r.log.hasNextCommittedEntries()
}

// Ready returns the pending output. Messages and ReadStates move to the caller; Advance
// must follow before the next Ready.
func (rn *RawNode) Ready() Ready {
	assertf(!rn.readyOut, "Ready called twice without Advance")
	r := rn.raft
	rd := Ready{
		Entries:          r.log.unstableEntries(),
		CommittedEntries: r.log.nextCommittedEntries(),
		Messages:         r.msgs,
		ReadStates:       r.readStates,
	}
	r.msgs = nil
	r.readStates = nil
	if s := rn.softState(); s != rn.prevSoft {
		rd.SoftState = &s
	}
	if hs := r.hardState(); hs != rn.prevHard {
		rd.HardState = hs
	}
	if r.log.unstable.snapshot != nil {
		rd.Snapshot = *r.log.unstable.snapshot
	}
	// A commit index alone may be lost (it is learned again); a term, a vote, entries
	// or a snapshot may not.
	rd.MustSync = len(rd.Entries) > 0 || !rd.Snapshot.IsEmpty() ||
		(!rd.HardState.IsEmpty() && (rd.HardState.Term != rn.prevHard.Term || rd.HardState.Vote != rn.prevHard.Vote))
	rn.readyOut = true
	return rd
}

// Advance tells raft the application handled rd per the ordering contract: persisted
// it, sent its messages and applied its committed entries.
func (rn *RawNode) Advance(rd Ready) {
	assertf(rn.readyOut, "Advance without Ready")
	defer rn.guard()()
	rn.readyOut = false
	r := rn.raft
	if rd.SoftState != nil {
		rn.prevSoft = *rd.SoftState
	}
	if !rd.HardState.IsEmpty() {
		rn.prevHard = rd.HardState
	}
	if !rd.Snapshot.IsEmpty() {
		r.log.stableSnapTo(rd.Snapshot.Metadata.Index)
		r.log.appliedTo(rd.Snapshot.Metadata.Index)
	}
	if n := len(rd.Entries); n > 0 {
		r.log.stableTo(rd.Entries[n-1].Index, rd.Entries[n-1].Term)
	}
	for i := range rd.CommittedEntries {
		ent := &rd.CommittedEntries[i]
		if ent.Index <= r.log.applied {
			// Already covered by the snapshot applied just above.
			continue
		}
		r.applyEntry(ent)
		r.log.appliedTo(ent.Index)
		r.uncommittedBytes -= min(r.uncommittedBytes, ent.Size())
	}
}

// Status is a snapshot of a node's state for tests, monitoring and the simulator.
type Status struct {
	ID      uint64
	GroupID uint64
	pb.HardState
	SoftState
	Applied        uint64
	LastIndex      uint64
	LeadTransferee uint64
	ConfState      pb.ConfState
	// Progress is the leader's view of each member (nil on followers); copies.
	Progress map[uint64]Progress
	// StorageError is why the node neither votes nor leads (nil when healthy).
	StorageError error
	// Removed: the node applied its own removal from the group.
	Removed bool
	// RepairIndex is not zero while the node waits for a leader to repair its log
	// (see RequireRepair).
	RepairIndex uint64
}

// Status returns the node's current state, with a copy of the leader's progress.
func (rn *RawNode) Status() Status {
	s := rn.BasicStatus()
	r := rn.raft
	if r.state == StateLeader {
		s.Progress = map[uint64]Progress{}
		for id, p := range r.tracker.progress {
			c := *p
			c.Inflights = &Inflights{}
			*c.Inflights = *p.Inflights
			s.Progress[id] = c
		}
	}
	return s
}

// BasicStatus is Status without the copy of the leader's progress.
func (rn *RawNode) BasicStatus() Status {
	r := rn.raft
	return Status{
		ID: r.id, GroupID: r.groupID, HardState: r.hardState(), SoftState: rn.softState(),
		Applied: r.log.applied, LastIndex: r.log.lastIndex(), LeadTransferee: r.leadTransferee,
		ConfState: r.tracker.confState(), StorageError: r.storageErr, Removed: r.removed,
		RepairIndex: r.repairIndex,
	}
}
