// Package raft is the Raft consensus algorithm as a pure, deterministic state machine,
// in the style of etcd's raft: the caller feeds it messages (Step) and clock ticks
// (Tick), collects its output (Ready: what to persist, send and apply) and confirms it
// handled that output (Advance). It performs no I/O, reads no clock, starts no
// goroutines and draws randomness only from Config.Rand.
//
// It implements leader election with pre-vote and check-quorum, log replication with
// pipelining and per-follower flow control, chunked snapshot installation, single-server
// membership changes (voters and observers), leader transfer, linearizable read index and
// a storage-failed mode in which a node neither votes nor leads.
//
// It imports only raft/raftpb and the standard library; never node/, sim/, scenarios/ or
// cmd/.
package raft

import (
	"bytes"
	"errors"
	"fmt"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// None is the absent node id.
const None uint64 = 0

// StateType is a node's role.
type StateType uint8

// The roles.
const (
	StateFollower StateType = iota
	StatePreCandidate
	StateCandidate
	StateLeader
)

func (s StateType) String() string {
	switch s {
	case StateFollower:
		return "StateFollower"
	case StatePreCandidate:
		return "StatePreCandidate"
	case StateCandidate:
		return "StateCandidate"
	case StateLeader:
		return "StateLeader"
	}
	return fmt.Sprintf("StateType(%d)", uint8(s))
}

// Errors returned to the application.
var (
	// ErrProposalDropped: the proposal was not appended (not the leader, a transfer in
	// progress, a conf change pending, too many uncommitted bytes, storage failed). A
	// NotLeaderError wraps it with the known leader.
	ErrProposalDropped = errors.New("raft proposal dropped")
	// ErrInvalidConfChange: the membership change makes no sense for the current
	// configuration.
	ErrInvalidConfChange = errors.New("raft: invalid membership change")
	// ErrStorageFailed: the node's storage failed; it neither votes nor leads.
	ErrStorageFailed = errors.New("raft: storage failed")
	// ErrTransferTarget: a leader transfer names a node that is not a voter.
	ErrTransferTarget = errors.New("raft: leader transfer target is not a voter")
	// ErrStepDropped: Step dropped a message (wrong group, wrong recipient, malformed
	// or stale). Dropping is the protocol's answer to bad input; the caller may count it.
	ErrStepDropped = errors.New("raft: message dropped")
)

// NotLeaderError rejects a request made on a node that is not the leader, with the
// leader the node knows of (None if it knows none).
type NotLeaderError struct {
	Leader uint64
}

func (e *NotLeaderError) Error() string {
	return fmt.Sprintf("raft proposal dropped: not leader (leader hint %d)", e.Leader)
}

// Unwrap makes errors.Is(err, ErrProposalDropped) hold.
func (e *NotLeaderError) Unwrap() error { return ErrProposalDropped }

// campaignTransfer marks the votes of an election started by leader transfer, which
// voters grant even inside their leader lease.
var campaignTransfer = []byte("CampaignTransfer")

// logRepair marks the append rejections of a node whose log is under repair.
var logRepair = []byte("LogRepair")

// Rand is the randomness raft needs (env.Rand satisfies it).
type Rand interface {
	// Intn returns a uniform value in [0, n).
	Intn(n int) int
}

// Config configures one raft node.
type Config struct {
	// ID is this node's id in the group; never None.
	ID uint64
	// GroupID identifies the group (and its incarnation: a group deleted and recreated
	// under the same name must get a new GroupID). Messages of other groups are dropped.
	GroupID uint64
	// ElectionTicks is the election timeout in ticks; a follower campaigns after a
	// random timeout in [ElectionTicks, 2*ElectionTicks).
	ElectionTicks int
	// HeartbeatTicks is the leader's heartbeat interval in ticks (< ElectionTicks).
	HeartbeatTicks int
	// Storage is the durable log.
	Storage Storage
	// Applied is the last index the application has applied and will not be handed
	// again (0 on a fresh node, or the snapshot index after a restart from scratch).
	Applied uint64
	// MessageBytesMax bounds the entries in one AppendEntries (0: 1 MiB; at least one
	// entry is always sent).
	MessageBytesMax uint64
	// InflightMessagesMax bounds the unacknowledged appends to one follower.
	InflightMessagesMax int
	// InflightBytesMax bounds the unacknowledged bytes to one follower (0: no limit).
	InflightBytesMax uint64
	// UncommittedBytesMax bounds what the leader accepts and has not committed
	// (0: 64 MiB).
	UncommittedBytesMax uint64
	// AppliedBytesPerReadyMax bounds the committed entries in one Ready (0: no limit;
	// at least one entry is always handed out).
	AppliedBytesPerReadyMax uint64
	// SnapshotChunkBytes is the size of one InstallSnapshot chunk (0: 1 MiB).
	SnapshotChunkBytes uint64
	// SnapshotBytesMax bounds a snapshot a follower accepts from the leader (0: 4 GiB).
	SnapshotBytesMax uint64
	// ReadIndexPendingMax bounds the read index requests waiting for a quorum, and the
	// read states waiting for the application (0: 4096).
	ReadIndexPendingMax int
	// PreVote enables the pre-vote phase (Raft thesis 9.6), so a partitioned node that
	// returns cannot disrupt the group with a higher term.
	PreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a quorum for an
	// election timeout, and makes followers ignore votes while they hear from a leader.
	CheckQuorum bool
	// Rand draws the randomized election timeout.
	Rand Rand
}

func (c *Config) validate() error {
	switch {
	case c.ID == None:
		return errors.New("raft: Config.ID must not be zero")
	case c.HeartbeatTicks <= 0:
		return errors.New("raft: Config.HeartbeatTicks must be positive")
	case c.ElectionTicks <= c.HeartbeatTicks:
		return errors.New("raft: Config.ElectionTicks must exceed HeartbeatTicks")
	case c.Storage == nil:
		return errors.New("raft: Config.Storage is required")
	case c.Rand == nil:
		return errors.New("raft: Config.Rand is required")
	case c.InflightMessagesMax <= 0:
		return errors.New("raft: Config.InflightMessagesMax must be positive")
	}
	return nil
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.MessageBytesMax == 0 {
		d.MessageBytesMax = 1 << 20
	}
	if d.AppliedBytesPerReadyMax == 0 {
		d.AppliedBytesPerReadyMax = 1<<63 - 1
	}
	if d.SnapshotChunkBytes == 0 {
		d.SnapshotChunkBytes = 1 << 20
	}
	if d.SnapshotBytesMax == 0 {
		d.SnapshotBytesMax = 1 << 32
	}
	if d.ReadIndexPendingMax == 0 {
		d.ReadIndexPendingMax = 4096
	}
	if d.UncommittedBytesMax == 0 {
		d.UncommittedBytesMax = 64 << 20
	}
	return d
}

// ReadState is a linearizable read index: once the application has applied Index, a
// read issued with Context may be served from its state.
type ReadState struct {
	Index   uint64
	Context []byte
}

type readRequest struct {
	index   uint64
	context []byte
	from    uint64 // the follower that asked, or this node
	acks    map[uint64]bool
}

// messagesPerReadyMax bounds the messages raft queues before the application collects
// them with Ready; beyond it, messages are dropped.
const messagesPerReadyMax = 1 << 16

type raft struct {
	id      uint64
	groupID uint64
	cfg     Config

	term uint64
	vote uint64
	log  *raftLog

	tracker tracker
	state   StateType
	lead    uint64
	// leadTransferee is the target of a leader transfer in progress.
	leadTransferee uint64
	// pendingConfIndex is the index of the last conf change proposed by this leader; a
	// new one is refused until it is applied.
	pendingConfIndex uint64
	uncommittedBytes uint64

	msgs       []pb.Message
	readStates []ReadState
	reads      []*readRequest

	electionElapsed           int
	heartbeatElapsed          int
	randomizedElectionTimeout int

	// incoming is the snapshot being received in chunks from the leader.
	incoming *pb.Snapshot

	// storageErr, when set, is why this node neither votes nor leads.
	storageErr error
	// removed: this node applied its own removal; it stays silent.
	removed bool
	// repairIndex, when not zero, is how far a leader must bring this node's log
	// (its commit index) before it may vote or campaign again: its log lost entries
	// it may have acknowledged (see RawNode.RequireRepair).
	repairIndex uint64
	// confirmedIndex is the last index that an append (or snapshot) from the current
	// leader proved this log matches the leader's up to; reset with the term and the
	// leader. A log under repair may hold entries the leader never had at indexes the
	// leader believes this node matches (it lost the records that replaced them, and
	// the leader's match index for it predates the loss), so its commit index never
	// goes past confirmedIndex on the word of a heartbeat.
	confirmedIndex uint64
}

func newRaft(c *Config) (*raft, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	cfg := c.withDefaults()
	log, err := newLog(cfg.Storage, cfg.AppliedBytesPerReadyMax)
	if err != nil {
		return nil, err
	}
	hs, cs, err := cfg.Storage.InitialState()
	if err != nil {
		return nil, fmt.Errorf("raft: storage initial state: %w", err)
	}
	r := &raft{
		id:      cfg.ID,
		groupID: cfg.GroupID,
		cfg:     cfg,
		log:     log,
		tracker: newTracker(cfg.InflightMessagesMax, cfg.InflightBytesMax),
	}
	r.restoreConfState(cs)
	if !hs.IsEmpty() {
		if hs.Commit > log.lastIndex() {
			return nil, fmt.Errorf("raft: hard state commit %d beyond the last index %d", hs.Commit, log.lastIndex())
		}
		// The hard state may lag a snapshot persisted just before a crash.
		r.term, r.vote, log.committed = hs.Term, hs.Vote, max(hs.Commit, log.committed)
	}
	if cfg.Applied > 0 {
		if cfg.Applied > log.committed {
			return nil, fmt.Errorf("raft: applied %d beyond commit %d", cfg.Applied, log.committed)
		}
		// Membership changes up to Applied were applied before the restart; replay
		// them onto the snapshot's configuration.
		if err := r.replayConfChanges(log.applied+1, cfg.Applied+1); err != nil {
			return nil, err
		}
		log.applied = max(log.applied, cfg.Applied)
	}
	r.becomeFollower(r.term, None)
	return r, nil
}

func (r *raft) replayConfChanges(lo, hi uint64) error {
	for lo < hi {
		ents, err := r.log.slice(lo, hi, r.cfg.MessageBytesMax)
		if err != nil {
			return fmt.Errorf("raft: reading entries [%d, %d) to replay membership: %w", lo, hi, err)
		}
		for i := range ents {
			r.applyEntry(&ents[i])
		}
		lo += uint64(len(ents))
	}
	return nil
}

func (r *raft) restoreConfState(cs pb.ConfState) {
	r.tracker.progress = map[uint64]*Progress{}
	last := r.log.lastIndex()
	for _, id := range cs.Voters {
		r.tracker.progress[id] = r.newProgress(last, false)
	}
	for _, id := range cs.Observers {
		r.tracker.progress[id] = r.newProgress(last, true)
	}
	r.tracker.membershipChanged()
}

func (r *raft) newProgress(last uint64, observer bool) *Progress {
	return &Progress{
		Next:       last + 1,
		IsObserver: observer,
		Inflights:  NewInflights(r.tracker.inflightMax, r.tracker.inflightBytes),
		// A new member counts as active, so that check-quorum does not depose the
		// leader before it had a chance to hear from it.
		RecentActive: true,
	}
}

func (r *raft) hardState() pb.HardState {
	return pb.HardState{Term: r.term, Vote: r.vote, Commit: r.log.committed}
}

// promotable reports whether this node may campaign.
func (r *raft) promotable() bool {
	return r.tracker.isVoter(r.id) && r.storageErr == nil && !r.removed && r.repairIndex == 0 &&
		!r.log.hasUnstableSnapshot()
}

func (l *raftLog) hasUnstableSnapshot() bool { return l.unstable.snapshot != nil }

func (r *raft) send(m pb.Message) {
	m.From = r.id
	m.GroupID = r.groupID
	assertf(m.Type.Valid(), "sending invalid message type %d", m.Type)
	switch m.Type {
	case pb.MsgVote, pb.MsgPreVote:
		assertf(m.Term != 0, "%s without a term", m.Type)
	case pb.MsgVoteResponse, pb.MsgPreVoteResponse:
		// A rejection carries the responder's own term, which is 0 on a node that
		// never saw an election (a fresh or bootstrapped node that rejects a pre-vote
		// because it is under repair or its log is longer); a grant carries the
		// candidate's term, never 0.
		assertf(m.Term != 0 || m.Reject, "granted %s without a term", m.Type)
	default:
		assertf(m.Term == 0, "%s with a preset term %d", m.Type, m.Term)
		m.Term = r.term
	}
	if len(r.msgs) >= messagesPerReadyMax {
		// The application has not collected the output for a long time (or a flood of
		// requests came in): drop, as a full network queue would. Raft retransmits.
		return
	}
	r.msgs = append(r.msgs, m)
}

func (r *raft) reset(term uint64) {
	if r.term != term {
		r.term = term
		r.vote = None
	}
	r.lead = None
	r.confirmedIndex = 0
	r.electionElapsed = 0
	r.heartbeatElapsed = 0
	r.resetRandomizedElectionTimeout()
	r.leadTransferee = None
	r.tracker.resetVotes()
	last := r.log.lastIndex()
	for _, id := range r.tracker.ids() {
		p := r.tracker.progress[id]
		*p = Progress{Next: last + 1, IsObserver: p.IsObserver, Inflights: p.Inflights, RecentActive: true}
		p.Inflights.reset()
		if id == r.id {
			p.Match = last
		}
	}
	r.pendingConfIndex = 0
	r.uncommittedBytes = 0
	r.reads = nil
}

func (r *raft) resetRandomizedElectionTimeout() {
	r.randomizedElectionTimeout = r.cfg.ElectionTicks + r.cfg.Rand.Intn(r.cfg.ElectionTicks)
}

func (r *raft) becomeFollower(term, lead uint64) {
	r.reset(term)
	r.state = StateFollower
	r.lead = lead
}

func (r *raft) becomePreCandidate() {
	assertf(r.state != StateLeader, "leader became pre-candidate")
	// The pre-candidate changes neither term nor vote: that is the point of pre-vote.
	r.tracker.resetVotes()
	r.state = StatePreCandidate
	r.lead = None
}

func (r *raft) becomeCandidate() {
	assertf(r.state != StateLeader, "leader became candidate")
	r.reset(r.term + 1)
	r.vote = r.id
	r.state = StateCandidate
}

func (r *raft) becomeLeader() {
	assertf(r.state == StateCandidate, "%s became leader", r.state)
	r.reset(r.term)
	r.state = StateLeader
	r.lead = r.id
	self := r.tracker.progress[r.id]
	self.BecomeReplicate()
	// Conf changes in the uncommitted tail may be pending; refuse new ones until they
	// are applied.
	r.pendingConfIndex = r.log.lastIndex()
	// The no-op entry of the new term: entries of earlier terms commit only with it
	// (Raft paper, section 5.4.2).
	r.appendEntries(pb.Entry{Type: pb.EntryNormal})
}

// appendEntries appends proposals to the leader's log.
func (r *raft) appendEntries(ents ...pb.Entry) {
	last := r.log.lastIndex()
	for i := range ents {
		ents[i].Term = r.term
		ents[i].Index = last + 1 + uint64(i)
	}
	last = r.log.append(ents...)
	r.tracker.progress[r.id].MaybeUpdate(last)
	r.maybeCommit()
}

func (r *raft) maybeCommit() bool {
	return r.log.maybeCommit(r.tracker.committedIndex(), r.term)
}

// tick advances the logical clock by one tick.
func (r *raft) tick() {
	if r.state == StateLeader {
		r.tickHeartbeat()
	} else {
		r.tickElection()
	}
}

func (r *raft) tickElection() {
	r.electionElapsed++
	if r.promotable() && r.electionElapsed >= r.randomizedElectionTimeout {
		r.electionElapsed = 0
		r.hup(false)
	}
}

func (r *raft) tickHeartbeat() {
	r.heartbeatElapsed++
	r.electionElapsed++
	if r.electionElapsed >= r.cfg.ElectionTicks {
		r.electionElapsed = 0
		if r.cfg.CheckQuorum {
			if !r.tracker.quorumActive() {
				r.becomeFollower(r.term, None)
				return
			}
			for _, id := range r.tracker.ids() {
				if id != r.id {
					r.tracker.progress[id].RecentActive = false
				}
			}
		}
		// A transfer that did not finish within an election timeout is abandoned.
		r.leadTransferee = None
	}
	if r.heartbeatElapsed >= r.cfg.HeartbeatTicks {
		r.heartbeatElapsed = 0
		r.broadcastHeartbeat(nil)
	}
}

// errNotPromotable explains a refused campaign.
var errNotPromotable = errors.New("raft: node cannot campaign")

// hup starts an election (a pre-vote first if configured, unless transfer).
func (r *raft) hup(transfer bool) error {
	if r.state == StateLeader {
		return nil
	}
	if !r.promotable() {
		return errNotPromotable
	}
	if r.hasUnappliedConfChanges() {
		// The configuration this node would campaign in is not final yet.
		return fmt.Errorf("%w: membership changes committed but not applied", errNotPromotable)
	}
	if r.cfg.PreVote && !transfer {
		r.campaign(pb.MsgPreVote, nil)
	} else if transfer {
		r.campaign(pb.MsgVote, campaignTransfer)
	} else {
		r.campaign(pb.MsgVote, nil)
	}
	return nil
}

func (r *raft) hasUnappliedConfChanges() bool {
	if r.log.applied >= r.log.committed {
		return false
	}
	lo := max(r.log.applied+1, r.log.firstIndex())
	for lo <= r.log.committed {
		ents, err := r.log.slice(lo, r.log.committed+1, r.cfg.MessageBytesMax)
		if err != nil || len(ents) == 0 {
			return true
		}
		for i := range ents {
			if ents[i].Type == pb.EntryConfChange {
				return true
			}
		}
		lo += uint64(len(ents))
	}
	return false
}

func (r *raft) campaign(voteType pb.MessageType, context []byte) {
	var term uint64
	if voteType == pb.MsgPreVote {
		r.becomePreCandidate()
		term = r.term + 1
	} else {
		r.becomeCandidate()
		term = r.term
	}
	r.tracker.recordVote(r.id, true)
	if _, _, res := r.tracker.tallyVotes(); res == voteWon {
		// A single-voter group wins at once.
		r.winElection(voteType)
		return
	}
	for _, id := range r.tracker.voters() {
		if id == r.id {
			continue
		}
		r.send(pb.Message{Type: voteType, To: id, Term: term, Index: r.log.lastIndex(),
			LogTerm: r.log.lastTerm(), Context: context})
	}
}

func (r *raft) winElection(voteType pb.MessageType) {
	if voteType == pb.MsgPreVote {
		r.campaign(pb.MsgVote, nil)
		return
	}
	if !r.tracker.isVoter(r.id) {
		// The configuration changed under the campaign (a snapshot or an applied
		// removal): this node may no longer lead.
		r.becomeFollower(r.term, None)
		return
	}
	r.becomeLeader()
	r.broadcastAppend()
}

// step handles one message from a peer. Bad or stale input returns ErrStepDropped.
func (r *raft) step(m pb.Message) error {
	if err := r.checkIncoming(m); err != nil {
		return err
	}
	if dropped := r.stepTerm(m); dropped != nil {
		return dropped
	}
	switch m.Type {
	case pb.MsgVote, pb.MsgPreVote:
		r.handleVoteRequest(m)
		return nil
	}
	switch r.state {
	case StateLeader:
		return r.stepLeader(m)
	case StateCandidate, StatePreCandidate:
		return r.stepCandidate(m)
	default:
		return r.stepFollower(m)
	}
}

func (r *raft) checkIncoming(m pb.Message) error {
	switch {
	case !m.Type.Valid():
		return fmt.Errorf("%w: unknown type %d", ErrStepDropped, m.Type)
	case m.GroupID != r.groupID:
		return fmt.Errorf("%w: group %d is not ours (%d)", ErrStepDropped, m.GroupID, r.groupID)
	case m.To != r.id:
		return fmt.Errorf("%w: addressed to %d", ErrStepDropped, m.To)
	case m.From == None || m.From == r.id:
		return fmt.Errorf("%w: bad sender %d", ErrStepDropped, m.From)
	case m.Term == 0 && !isVoteRejection(m):
		// Only a vote rejection may come from term 0 (see send); it is then handled
		// as a rejection of that term: counted by a pre-candidate at term 0, stale
		// for everyone else.
		return fmt.Errorf("%w: %s without a term", ErrStepDropped, m.Type)
	}
	return nil
}

// isVoteRejection reports whether m rejects a vote or pre-vote.
func isVoteRejection(m pb.Message) bool {
	return m.Reject && (m.Type == pb.MsgVoteResponse || m.Type == pb.MsgPreVoteResponse)
}

// stepTerm applies the term rules of the Raft paper (section 5.1) plus the lease and
// pre-vote exceptions. It returns non-nil when the message must be dropped.
func (r *raft) stepTerm(m pb.Message) error {
	switch {
	case m.Term > r.term:
		if m.Type == pb.MsgVote || m.Type == pb.MsgPreVote {
			force := bytes.Equal(m.Context, campaignTransfer)
			inLease := r.cfg.CheckQuorum && r.lead != None && r.electionElapsed < r.cfg.ElectionTicks
			if !force && inLease {
				// A leader was heard from recently: this candidate is disrupting a
				// working group (e.g. a node back from a partition). Ignore it.
				return fmt.Errorf("%w: %s from %d inside the leader lease", ErrStepDropped, m.Type, m.From)
			}
		}
		switch {
		case m.Type == pb.MsgPreVote:
			// A pre-vote never changes our term.
		case m.Type == pb.MsgPreVoteResponse && !m.Reject:
			// The granted pre-vote carries the term we would campaign in.
		default:
			if m.Type == pb.MsgApp || m.Type == pb.MsgHeartbeat || m.Type == pb.MsgSnap {
				r.becomeFollower(m.Term, m.From)
			} else {
				r.becomeFollower(m.Term, None)
			}
		}
	case m.Term < r.term:
		if (r.cfg.CheckQuorum || r.cfg.PreVote) && (m.Type == pb.MsgHeartbeat || m.Type == pb.MsgApp) {
			// A stale leader: tell it our term so it steps down. Without this, a node
			// that keeps a higher term after a partition could never rejoin under
			// check-quorum.
			r.send(pb.Message{To: m.From, Type: pb.MsgAppResponse})
		} else if m.Type == pb.MsgPreVote {
			r.send(pb.Message{To: m.From, Term: r.term, Type: pb.MsgPreVoteResponse, Reject: true})
		}
		// Everything else of an older term (including a vote response or an
		// acknowledgement from an earlier term) is stale and must not count.
		return fmt.Errorf("%w: %s of term %d below ours %d", ErrStepDropped, m.Type, m.Term, r.term)
	}
	return nil
}

func (r *raft) handleVoteRequest(m pb.Message) {
	canVote := r.vote == m.From ||
		(r.vote == None && r.lead == None) ||
		(m.Type == pb.MsgPreVote && m.Term > r.term)
	responseType := pb.MsgVoteResponse
	if m.Type == pb.MsgPreVote {
		responseType = pb.MsgPreVoteResponse
	}
	// A removed node still votes: the others may not have applied its removal yet and
	// need its vote (any majority of the old configuration overlaps any majority of the
	// new one under single-server changes).
	grant := canVote && r.storageErr == nil && r.repairIndex == 0 && r.log.isUpToDate(m.Index, m.LogTerm)
	if !grant {
		r.send(pb.Message{To: m.From, Term: r.term, Type: responseType, Reject: true})
		return
	}
	// A granted response carries the candidate's term, so the candidate counts it; a
	// real vote is recorded (and must be persisted before the response is sent).
	r.send(pb.Message{To: m.From, Term: m.Term, Type: responseType})
	if m.Type == pb.MsgVote {
		r.electionElapsed = 0
		r.vote = m.From
	}
}

func (r *raft) stepLeader(m pb.Message) error {
	p := r.tracker.progress[m.From]
	if p == nil {
		return fmt.Errorf("%w: %s from %d, not a member", ErrStepDropped, m.Type, m.From)
	}
	switch m.Type {
	case pb.MsgAppResponse:
		p.RecentActive = true
		return r.handleAppendResponse(m, p)
	case pb.MsgHeartbeatResponse:
		p.RecentActive = true
		p.ProbeSent = false
		if p.State == StateReplicate && p.Inflights.Full() {
			p.Inflights.FreeFirstOne()
		}
		if p.State == StateSnapshot {
			// Resend the current chunk: the previous one may have been lost.
			p.snapshotSent = false
		}
		if p.Match < r.log.lastIndex() || p.State == StateSnapshot || m.Reject {
			// A rejection comes from a log under repair: the append it gets either
			// matches (and repairs it) or is refused with LogRepair, which resets
			// its match index.
			r.sendAppend(m.From)
		}
		if len(m.Context) > 0 {
			r.handleReadAck(m.From, m.Context)
		}
	case pb.MsgSnapResponse:
		p.RecentActive = true
		r.handleSnapshotResponse(m, p)
	case pb.MsgReadIndex:
		return r.readIndex(m.From, m.Context)
	default:
		return fmt.Errorf("%w: %s unexpected by the leader", ErrStepDropped, m.Type)
	}
	return nil
}

func (r *raft) handleAppendResponse(m pb.Message, p *Progress) error {
	if m.Reject {
		next := m.RejectHint
		if m.LogTerm > 0 {
			next, _ = r.log.findConflictByTerm(m.RejectHint, m.LogTerm)
		}
		if m.Index <= p.Match && bytes.Equal(m.Context, logRepair) {
			// The follower lost entries we saw it acknowledge (a corrupt log under
			// repair): forget its match and probe from its hint. Lowering Match never
			// lowers the commit index.
			p.Match = 0
			p.BecomeProbe()
			p.Next = max(1, min(m.Index, next+1))
			r.sendAppend(m.From)
			return nil
		}
		if p.MaybeDecreaseTo(m.Index, next) {
			if p.State == StateReplicate {
				p.BecomeProbe()
			}
			r.sendAppend(m.From)
		}
		return nil
	}
	if m.Index > r.log.lastIndex() {
		// An acknowledgement of entries this leader never had: forged or from another
		// incarnation. It must not count toward a quorum.
		return fmt.Errorf("%w: acknowledges %d beyond the last index %d", ErrStepDropped, m.Index, r.log.lastIndex())
	}
	oldPaused := p.IsPaused()
	if !p.MaybeUpdate(m.Index) {
		return nil
	}
	switch {
	case p.State == StateProbe:
		p.BecomeReplicate()
	case p.State == StateSnapshot && p.Match >= p.PendingSnapshot:
		p.BecomeProbe()
		p.BecomeReplicate()
	case p.State == StateReplicate:
		p.Inflights.FreeLE(m.Index)
	}
	if r.maybeCommit() {
		r.broadcastAppend()
	} else if oldPaused {
		r.sendAppend(m.From)
	}
	// Pipelining: fill the window.
	for r.maybeSendAppend(m.From, false) {
	}
	if m.From == r.leadTransferee && p.Match == r.log.lastIndex() {
		r.send(pb.Message{To: m.From, Type: pb.MsgTimeoutNow})
	}
	return nil
}

func (r *raft) stepCandidate(m pb.Message) error {
	wantResponse := pb.MsgVoteResponse
	if r.state == StatePreCandidate {
		wantResponse = pb.MsgPreVoteResponse
	}
	switch m.Type {
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		// A leader of our term exists (stepTerm already handled higher terms).
		r.becomeFollower(m.Term, m.From)
		return r.stepFollower(m)
	case wantResponse:
		if !r.tracker.isVoter(m.From) {
			return fmt.Errorf("%w: vote from non-voter %d", ErrStepDropped, m.From)
		}
		r.tracker.recordVote(m.From, !m.Reject)
		switch _, _, res := r.tracker.tallyVotes(); res {
		case voteWon:
			if r.state == StatePreCandidate {
				r.winElection(pb.MsgPreVote)
			} else {
				r.winElection(pb.MsgVote)
			}
		case voteLost:
			r.becomeFollower(r.term, None)
		}
		return nil
	}
	return fmt.Errorf("%w: %s unexpected by a %s", ErrStepDropped, m.Type, r.state)
}

func (r *raft) stepFollower(m pb.Message) error {
	switch m.Type {
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		if r.storageErr != nil {
			// A node whose storage failed cannot durably accept anything; it stays
			// silent rather than acknowledge what it may lose.
			return fmt.Errorf("%w: %s while storage failed", ErrStepDropped, m.Type)
		}
		if r.lead != None && r.lead != m.From {
			// Two leaders in one term cannot exist; this message is forged or from a
			// broken peer.
			return fmt.Errorf("%w: %s from %d, but %d leads term %d", ErrStepDropped, m.Type, m.From, r.lead, r.term)
		}
		r.electionElapsed = 0
		r.lead = m.From
		var err error
		switch m.Type {
		case pb.MsgApp:
			err = r.handleAppendEntries(m)
		case pb.MsgHeartbeat:
			r.handleHeartbeat(m)
		default:
			err = r.handleSnapshotChunk(m)
		}
		r.maybeRepaired()
		return err
	case pb.MsgTimeoutNow:
		if err := r.hup(true); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrStepDropped, m.Type, err)
		}
	case pb.MsgReadIndexResponse:
		if len(r.readStates) >= r.cfg.ReadIndexPendingMax {
			return fmt.Errorf("%w: %d read states not collected", ErrStepDropped, len(r.readStates))
		}
		r.readStates = append(r.readStates, ReadState{Index: m.Index, Context: m.Context})
	default:
		return fmt.Errorf("%w: %s unexpected by a follower", ErrStepDropped, m.Type)
	}
	return nil
}

func (r *raft) handleAppendEntries(m pb.Message) error {
	if m.Index < r.log.committed {
		r.send(pb.Message{To: m.From, Type: pb.MsgAppResponse, Index: r.log.committed})
		return nil
	}
	oldLast := r.log.lastIndex()
	if conflict := r.log.findConflict(m.Entries); conflict != 0 && conflict <= oldLast && r.log.matchTerm(m.Index, m.LogTerm) {
		// The suffix from conflict is about to be replaced before it was persisted
		// or after; acknowledgements of it still queued must not go out.
		r.dropAcksFrom(conflict)
	}
	last, ok, err := r.log.maybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStepDropped, err)
	}
	if ok {
		r.confirmedIndex = max(r.confirmedIndex, last)
		r.send(pb.Message{To: m.From, Type: pb.MsgAppResponse, Index: last})
		return nil
	}
	hintIndex := min(m.Index, r.log.lastIndex())
	hintIndex, hintTerm := r.log.findConflictByTerm(hintIndex, m.LogTerm)
	var context []byte
	if r.repairIndex != 0 {
		// Tell the leader this log lost entries it may believe we have, so it does
		// not take the rejection for a stale one.
		context = logRepair
	}
	r.send(pb.Message{To: m.From, Type: pb.MsgAppResponse, Index: m.Index, Reject: true,
		RejectHint: hintIndex, LogTerm: hintTerm, Context: context})
	return nil
}

func (r *raft) handleHeartbeat(m pb.Message) {
	// The leader sends min(match, commit): what it knows this log holds. That
	// knowledge is stale for a log under repair (it lost entries it acknowledged, and
	// entries the leader never had may have come back at those indexes), so such a log
	// commits only what an append of this leader confirmed.
	limit := r.log.lastIndex()
	if r.repairIndex != 0 {
		limit = min(limit, r.confirmedIndex)
	}
	r.log.commitTo(min(m.Commit, limit))
	// Under repair, the response is a rejection: the leader's match index for this
	// node may be stale, and a leader that believes this log complete would otherwise
	// send nothing (in an idle group) and never repair it.
	r.send(pb.Message{To: m.From, Type: pb.MsgHeartbeatResponse, Context: m.Context, Reject: r.repairIndex != 0})
}

// handleSnapshotChunk assembles InstallSnapshot chunks; the last one restores the log.
func (r *raft) handleSnapshotChunk(m pb.Message) error {
	meta := m.Snapshot
	if meta.Index <= r.log.committed {
		// Nothing to install; tell the leader where we are.
		r.incoming = nil
		r.send(pb.Message{To: m.From, Type: pb.MsgAppResponse, Index: r.log.committed})
		return nil
	}
	if m.SnapshotOffset == 0 {
		r.incoming = &pb.Snapshot{Metadata: meta}
	}
	in := r.incoming
	if in == nil || in.Metadata.Index != meta.Index || in.Metadata.Term != meta.Term ||
		uint64(len(in.Data)) != m.SnapshotOffset {
		expected := uint64(0)
		if in != nil && in.Metadata.Index == meta.Index && in.Metadata.Term == meta.Term {
			expected = uint64(len(in.Data))
		}
		r.send(pb.Message{To: m.From, Type: pb.MsgSnapResponse, Index: expected, Reject: true})
		return nil
	}
	if uint64(len(in.Data))+uint64(len(m.SnapshotData)) > r.cfg.SnapshotBytesMax {
		r.incoming = nil
		return fmt.Errorf("%w: snapshot beyond %d bytes", ErrStepDropped, r.cfg.SnapshotBytesMax)
	}
	in.Data = append(in.Data, m.SnapshotData...)
	if !m.SnapshotDone {
		r.send(pb.Message{To: m.From, Type: pb.MsgSnapResponse, Index: uint64(len(in.Data))})
		return nil
	}
	r.incoming = nil
	if r.restore(*in) {
		r.send(pb.Message{To: m.From, Type: pb.MsgAppResponse, Index: r.log.lastIndex()})
	} else {
		r.send(pb.Message{To: m.From, Type: pb.MsgAppResponse, Index: r.log.committed})
	}
	return nil
}

// dropAcksFrom removes queued acknowledgements of entries at index and above: those
// entries are being replaced, and an acknowledgement of them sent after the replacement
// is persisted would claim entries this node does not hold (a leader could count it
// toward a quorum and commit an entry that then gets lost).
func (r *raft) dropAcksFrom(index uint64) {
	kept := r.msgs[:0]
	for _, m := range r.msgs {
		if m.Type == pb.MsgAppResponse && !m.Reject && m.Index >= index {
			continue
		}
		kept = append(kept, m)
	}
	clear(r.msgs[len(kept):])
	r.msgs = kept
}

// restore installs a snapshot from the leader; false if it is not needed.
func (r *raft) restore(s pb.Snapshot) bool {
	if s.Metadata.Index <= r.log.committed {
		return false
	}
	if r.log.matchTerm(s.Metadata.Index, s.Metadata.Term) {
		// We have the snapshot's last entry, so the log matches the leader's up to it
		// (log matching): only fast-forward the commit index.
		r.confirmedIndex = max(r.confirmedIndex, s.Metadata.Index)
		r.log.commitTo(s.Metadata.Index)
		return false
	}
	r.dropAcksFrom(s.Metadata.Index + 1)
	r.log.restore(s)
	r.confirmedIndex = s.Metadata.Index
	r.restoreConfState(s.Metadata.ConfState)
	r.removed = false
	return true
}

func (r *raft) handleSnapshotResponse(m pb.Message, p *Progress) {
	if p.State != StateSnapshot || p.snapshot == nil {
		return
	}
	if m.Index > uint64(len(p.snapshot.Data)) {
		return
	}
	p.snapshotOffset = m.Index
	p.snapshotSent = false
	r.sendAppend(m.From)
}

// broadcastAppend sends appends (or snapshot chunks) to every member that is not paused.
func (r *raft) broadcastAppend() {
	for _, id := range r.tracker.ids() {
		if id != r.id {
			r.sendAppend(id)
		}
	}
}

func (r *raft) sendAppend(to uint64) { r.maybeSendAppend(to, true) }

// maybeSendAppend sends entries from the member's Next, or a snapshot chunk. With
// sendIfEmpty false it sends nothing when there are no entries (pipelining loops).
func (r *raft) maybeSendAppend(to uint64, sendIfEmpty bool) bool {
	p := r.tracker.progress[to]
	if p == nil {
		return false
	}
	if p.State == StateSnapshot {
		return r.sendSnapshotChunk(to, p)
	}
	if p.IsPaused() {
		return false
	}
	prevIndex := p.Next - 1
	prevTerm, termErr := r.log.term(prevIndex)
	ents, entsErr := r.log.entriesFrom(p.Next, r.cfg.MessageBytesMax)
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	if termErr != nil || entsErr != nil {
		// The entries were compacted: the member needs the snapshot.
		if !p.RecentActive {
			return false
		}
		snap, err := r.log.snapshot()
		if err != nil || snap.IsEmpty() {
			return false
		}
		p.BecomeSnapshot(&snap)
		return r.sendSnapshotChunk(to, p)
	}
	r.send(pb.Message{To: to, Type: pb.MsgApp, Index: prevIndex, LogTerm: prevTerm,
		Entries: ents, Commit: r.log.committed})
	if n := len(ents); n > 0 {
		switch p.State {
		case StateReplicate:
			last := ents[n-1].Index
			p.Next = last + 1
			p.Inflights.Add(last, payloadBytes(ents))
		case StateProbe:
			p.ProbeSent = true
		}
	} else if p.State == StateProbe {
		p.ProbeSent = true
	}
	return true
}

func payloadBytes(ents []pb.Entry) uint64 {
	var n uint64
	for i := range ents {
		n += ents[i].Size()
	}
	return n
}

// sendSnapshotChunk sends the chunk at the member's snapshot offset, one at a time:
// the next goes out when this one is acknowledged (or a heartbeat response arrives).
func (r *raft) sendSnapshotChunk(to uint64, p *Progress) bool {
	if p.snapshotSent || p.snapshot == nil {
		return false
	}
	snap := p.snapshot
	end := min(p.snapshotOffset+r.cfg.SnapshotChunkBytes, uint64(len(snap.Data)))
	r.send(pb.Message{To: to, Type: pb.MsgSnap, Snapshot: snap.Metadata,
		SnapshotOffset: p.snapshotOffset, SnapshotData: snap.Data[p.snapshotOffset:end],
		SnapshotDone: end == uint64(len(snap.Data))})
	p.snapshotSent = true
	return false
}

func (r *raft) broadcastHeartbeat(context []byte) {
	for _, id := range r.tracker.ids() {
		if id == r.id {
			continue
		}
		p := r.tracker.progress[id]
		// Never tell a follower to commit beyond what it is known to have.
		commit := min(p.Match, r.log.committed)
		r.send(pb.Message{To: id, Type: pb.MsgHeartbeat, Commit: commit, Context: context})
	}
}

// propose appends data as a new entry on the leader.
func (r *raft) propose(ent pb.Entry) (uint64, error) {
	if r.state != StateLeader {
		return 0, &NotLeaderError{Leader: r.lead}
	}
	if r.leadTransferee != None {
		return 0, fmt.Errorf("%w: leader transfer to %d in progress", ErrProposalDropped, r.leadTransferee)
	}
	if r.tracker.progress[r.id] == nil {
		return 0, fmt.Errorf("%w: leader is not a member", ErrProposalDropped)
	}
	size := ent.Size()
	if max := r.cfg.UncommittedBytesMax; max > 0 && r.uncommittedBytes > 0 && r.uncommittedBytes+size > max {
		return 0, fmt.Errorf("%w: %d uncommitted bytes", ErrProposalDropped, r.uncommittedBytes)
	}
	if ent.Type == pb.EntryConfChange {
		if r.pendingConfIndex > r.log.applied {
			return 0, fmt.Errorf("%w: membership change at %d not applied yet", ErrProposalDropped, r.pendingConfIndex)
		}
	}
	r.uncommittedBytes += size
	r.appendEntries(ent)
	index := r.log.lastIndex()
	if ent.Type == pb.EntryConfChange {
		r.pendingConfIndex = index
	}
	r.broadcastAppend()
	return index, nil
}

func (r *raft) validateConfChange(cc pb.ConfChange) error {
	p := r.tracker.progress[cc.NodeID]
	switch cc.Type {
	case pb.ConfChangeAddVoter:
		if p != nil && !p.IsObserver {
			return fmt.Errorf("%w: %d is already a voter", ErrInvalidConfChange, cc.NodeID)
		}
	case pb.ConfChangeAddObserver:
		if p != nil {
			return fmt.Errorf("%w: %d is already a member", ErrInvalidConfChange, cc.NodeID)
		}
	case pb.ConfChangeRemovePeer:
		if p == nil {
			return fmt.Errorf("%w: %d is not a member", ErrInvalidConfChange, cc.NodeID)
		}
		if !p.IsObserver && len(r.tracker.voters()) == 1 {
			return fmt.Errorf("%w: cannot remove the last voter", ErrInvalidConfChange)
		}
	default:
		return fmt.Errorf("%w: type %d", ErrInvalidConfChange, cc.Type)
	}
	return nil
}

// applyEntry is called as the application applies an entry; membership changes take
// effect here, on every node at the same log position.
func (r *raft) applyEntry(ent *pb.Entry) {
	if ent.Type != pb.EntryConfChange {
		return
	}
	var cc pb.ConfChange
	if err := cc.Unmarshal(ent.Data); err != nil {
		// The leader validated it; a damaged entry is ignored the same way on every node.
		return
	}
	r.applyConfChange(cc)
}

func (r *raft) applyConfChange(cc pb.ConfChange) {
	if r.validateConfChange(cc) != nil {
		// Invalid against the configuration at this log position: every node reaches
		// the same decision, so ignoring it keeps them consistent.
		return
	}
	last := r.log.lastIndex()
	added := r.tracker.progress[cc.NodeID] == nil
	if cc.NodeID == r.id && cc.Type != pb.ConfChangeRemovePeer {
		// Added back after a removal: take part again.
		r.removed = false
	}
	switch cc.Type {
	case pb.ConfChangeAddVoter:
		if p := r.tracker.progress[cc.NodeID]; p != nil {
			p.IsObserver = false
		} else {
			r.tracker.progress[cc.NodeID] = r.newProgress(last, false)
		}
		r.tracker.membershipChanged()
	case pb.ConfChangeAddObserver:
		r.tracker.progress[cc.NodeID] = r.newProgress(last, true)
		r.tracker.membershipChanged()
	case pb.ConfChangeRemovePeer:
		delete(r.tracker.progress, cc.NodeID)
		r.tracker.membershipChanged()
		if cc.NodeID == r.leadTransferee {
			r.leadTransferee = None
		}
		if cc.NodeID == r.id {
			r.removeSelf()
			return
		}
	}
	if r.state == StateLeader {
		// A removal may shrink the quorum and commit more; an addition needs the new
		// member probed at once.
		if r.maybeCommit() {
			r.broadcastAppend()
		} else if added {
			r.sendAppend(cc.NodeID)
		}
	}
}

// removeSelf handles this node's own removal: a leader first tells the others the
// commit index and hands leadership to the most up-to-date voter, then steps down.
func (r *raft) removeSelf() {
	r.removed = true
	if r.state != StateLeader {
		if r.state != StateFollower {
			r.becomeFollower(r.term, None)
		}
		return
	}
	// The followers learned the commit index of the removal when it committed (the
	// commit broadcast precedes its application), so the leader can leave at once.
	last := r.log.lastIndex()
	for _, id := range r.tracker.voters() {
		if r.tracker.progress[id].Match == last {
			r.send(pb.Message{To: id, Type: pb.MsgTimeoutNow})
			break
		}
	}
	r.becomeFollower(r.term, None)
}

func (r *raft) transferLeader(to uint64) error {
	if r.state != StateLeader {
		return &NotLeaderError{Leader: r.lead}
	}
	if to == r.id {
		return nil
	}
	p := r.tracker.progress[to]
	if p == nil || p.IsObserver {
		return fmt.Errorf("%w: %d", ErrTransferTarget, to)
	}
	r.leadTransferee = to
	// The transfer must complete within one election timeout.
	r.electionElapsed = 0
	if p.Match == r.log.lastIndex() {
		r.send(pb.Message{To: to, Type: pb.MsgTimeoutNow})
	} else {
		r.sendAppend(to)
	}
	return nil
}

func (r *raft) stepDown() error {
	if r.state != StateLeader {
		return &NotLeaderError{Leader: r.lead}
	}
	r.becomeFollower(r.term, None)
	return nil
}

// maybeRepaired ends the repair once the current leader has confirmed the log up to the
// repair index. That leader's term is at least that of any entry this node
// acknowledged, and it holds every entry that was or will be committed with this node's
// help (its election needed a quorum without this node); the log matches that leader's
// up to the repair index, so it holds those entries again. The log's length alone
// proves nothing: the entries past the surviving prefix may be stale ones that came back
// (a lost record may have been the replacement of a suffix).
func (r *raft) maybeRepaired() {
	if r.repairIndex != 0 && r.confirmedIndex >= r.repairIndex {
		r.repairIndex = 0
	}
}

// setStorageError puts the node in the storage-failed state: it steps down and stops
// voting, campaigning and acknowledging until clearStorageError.
func (r *raft) setStorageError(err error) {
	if r.storageErr == nil {
		r.storageErr = err
	}
	if r.state != StateFollower {
		r.becomeFollower(r.term, None)
	}
}

// checkStorage turns an error the log saw while reading storage into the failed state.
func (r *raft) checkStorage() {
	if r.log.storageErr != nil {
		r.setStorageError(r.log.storageErr)
		r.log.storageErr = nil
	}
}
