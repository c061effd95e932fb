package raft

import (
	"fmt"
	"slices"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// ProgressState is how the leader currently replicates to one follower.
type ProgressState uint8

const (
	// StateProbe: the leader does not know where the follower's log matches; it sends
	// one AppendEntries per heartbeat interval until one is accepted.
	StateProbe ProgressState = iota
	// StateReplicate: the logs match up to Match; the leader pipelines appends, bounded
	// by the in-flight limits.
	StateReplicate
	// StateSnapshot: the follower needs entries the leader compacted; the leader sends
	// the snapshot in chunks and nothing else.
	StateSnapshot
)

func (s ProgressState) String() string {
	switch s {
	case StateProbe:
		return "StateProbe"
	case StateReplicate:
		return "StateReplicate"
	case StateSnapshot:
		return "StateSnapshot"
	}
	return fmt.Sprintf("ProgressState(%d)", uint8(s))
}

// Inflights bounds the AppendEntries a leader has sent to one follower and not yet seen
// acknowledged, by count and by bytes.
type Inflights struct {
	countMax int
	bytesMax uint64
	// indexes and sizes are parallel FIFOs of the last index and the bytes of each
	// in-flight message.
	indexes []uint64
	sizes   []uint64
	bytes   uint64
}

// NewInflights returns an empty window of at most countMax messages and bytesMax bytes
// (0 means unlimited bytes).
func NewInflights(countMax int, bytesMax uint64) *Inflights {
	return &Inflights{countMax: countMax, bytesMax: bytesMax}
}

// Add records a message whose last entry is index.
func (in *Inflights) Add(index, bytes uint64) {
	assertf(!in.Full(), "inflights full: %d messages, %d bytes", len(in.indexes), in.bytes)
	assertf(len(in.indexes) == 0 || in.indexes[len(in.indexes)-1] < index,
		"inflights index %d not above %v", index, in.indexes)
	in.indexes = append(in.indexes, index)
	in.sizes = append(in.sizes, bytes)
	in.bytes += bytes
}

// FreeLE forgets the messages whose last index is <= index.
func (in *Inflights) FreeLE(index uint64) {
	n := 0
	for n < len(in.indexes) && in.indexes[n] <= index {
		in.bytes -= in.sizes[n]
		n++
	}
	if n == 0 {
		return
	}
	in.indexes = append(in.indexes[:0], in.indexes[n:]...)
	in.sizes = append(in.sizes[:0], in.sizes[n:]...)
}

// FreeFirstOne forgets the oldest message (a heartbeat response proves the follower is
// alive, so one more message may go out even if acks were lost).
func (in *Inflights) FreeFirstOne() {
	if len(in.indexes) > 0 {
		in.FreeLE(in.indexes[0])
	}
}

// Full reports whether no more messages may be sent.
func (in *Inflights) Full() bool {
	return len(in.indexes) >= in.countMax || (in.bytesMax > 0 && in.bytes >= in.bytesMax)
}

// Count is the number of in-flight messages.
func (in *Inflights) Count() int { return len(in.indexes) }

// Bytes is the size of the in-flight messages.
func (in *Inflights) Bytes() uint64 { return in.bytes }

func (in *Inflights) reset() {
	in.indexes = in.indexes[:0]
	in.sizes = in.sizes[:0]
	in.bytes = 0
}

// Progress is the leader's view of one member's log.
type Progress struct {
	// Match is the highest index known to be replicated on the member.
	Match uint64
	// Next is the index of the next entry to send.
	Next  uint64
	State ProgressState
	// ProbeSent: in StateProbe, an append is outstanding; wait for its answer or the
	// next heartbeat response.
	ProbeSent bool
	// PendingSnapshot is the index of the snapshot being sent in StateSnapshot.
	PendingSnapshot uint64
	// RecentActive: the member answered within the last election timeout (check-quorum).
	RecentActive bool
	// IsObserver: the member replicates but never votes or counts toward a quorum.
	IsObserver bool
	Inflights  *Inflights

	// snapshot is the leader's copy of the snapshot being sent, snapshotOffset the
	// offset of the next chunk to send.
	snapshot       *pb.Snapshot
	snapshotOffset uint64
	snapshotSent   bool
}

func (p *Progress) resetState(state ProgressState) {
	p.ProbeSent = false
	p.PendingSnapshot = 0
	p.State = state
	p.snapshot = nil
	p.snapshotOffset = 0
	p.snapshotSent = false
	p.Inflights.reset()
}

// BecomeProbe moves to StateProbe, resuming after the snapshot if one was sent.
func (p *Progress) BecomeProbe() {
	if p.State == StateSnapshot {
		pending := p.PendingSnapshot
		p.resetState(StateProbe)
		p.Next = max(p.Match+1, pending+1)
		return
	}
	p.resetState(StateProbe)
	p.Next = p.Match + 1
}

// BecomeReplicate moves to StateReplicate.
func (p *Progress) BecomeReplicate() {
	p.resetState(StateReplicate)
	p.Next = p.Match + 1
}

// BecomeSnapshot moves to StateSnapshot to send snap.
func (p *Progress) BecomeSnapshot(snap *pb.Snapshot) {
	p.resetState(StateSnapshot)
	p.PendingSnapshot = snap.Metadata.Index
	p.snapshot = snap
}

// MaybeUpdate records that the member has the log up to n; it reports whether Match
// grew.
func (p *Progress) MaybeUpdate(n uint64) bool {
	updated := false
	if p.Match < n {
		p.Match = n
		updated = true
		p.ProbeSent = false
	}
	p.Next = max(p.Next, n+1)
	return updated
}

// MaybeDecreaseTo handles a rejected append of index rejected, with the follower's hint
// matchHint. It reports false for a stale rejection.
func (p *Progress) MaybeDecreaseTo(rejected, matchHint uint64) bool {
	if p.State == StateReplicate {
		if rejected <= p.Match {
			return false
		}
		p.Next = p.Match + 1
		return true
	}
	if p.Next-1 != rejected {
		return false
	}
	p.Next = max(min(rejected, matchHint+1), p.Match+1)
	p.ProbeSent = false
	return true
}

// IsPaused reports whether the leader must not send appends now.
func (p *Progress) IsPaused() bool {
	switch p.State {
	case StateProbe:
		return p.ProbeSent
	case StateReplicate:
		return p.Inflights.Full()
	default:
		return true
	}
}

func (p *Progress) String() string {
	s := fmt.Sprintf("%s match=%d next=%d", p.State, p.Match, p.Next)
	if p.IsObserver {
		s += " observer"
	}
	if p.State == StateSnapshot {
		s += fmt.Sprintf(" pending-snapshot=%d offset=%d", p.PendingSnapshot, p.snapshotOffset)
	}
	if p.ProbeSent {
		s += " paused"
	}
	if n := p.Inflights.Count(); n > 0 {
		s += fmt.Sprintf(" inflight=%d", n)
		if p.Inflights.Full() {
			s += "[full]"
		}
	}
	return s
}

// tracker holds the membership and the leader's progress for each member.
type tracker struct {
	progress      map[uint64]*Progress
	inflightMax   int
	inflightBytes uint64
	votes         map[uint64]bool
	// sortedIDs and sortedVoters cache the members in ascending order (iteration must
	// be deterministic, and heartbeats of idle groups must not allocate). They are
	// rebuilt by membershipChanged and must not be modified by callers.
	sortedIDs    []uint64
	sortedVoters []uint64
	// matches is scratch space for committedIndex.
	matches []uint64
}

func newTracker(inflightMax int, inflightBytes uint64) tracker {
	return tracker{progress: map[uint64]*Progress{}, inflightMax: inflightMax, inflightBytes: inflightBytes,
		votes: map[uint64]bool{}}
}

// membershipChanged must follow every change to progress or to a member's role.
func (t *tracker) membershipChanged() {
	t.sortedIDs = t.sortedIDs[:0]
	for id := range t.progress {
		t.sortedIDs = append(t.sortedIDs, id)
	}
	slices.Sort(t.sortedIDs)
	t.sortedVoters = t.sortedVoters[:0]
	for _, id := range t.sortedIDs {
		if !t.progress[id].IsObserver {
			t.sortedVoters = append(t.sortedVoters, id)
		}
	}
}

// ids returns the members in ascending order.
func (t *tracker) ids() []uint64 {
	assertf(len(t.sortedIDs) == len(t.progress), "tracker cache stale: %d ids, %d members", len(t.sortedIDs), len(t.progress))
	return t.sortedIDs
}

// voters returns the voters in ascending order.
func (t *tracker) voters() []uint64 { return t.sortedVoters }

func (t *tracker) isVoter(id uint64) bool {
	p, ok := t.progress[id]
	return ok && !p.IsObserver
}

func (t *tracker) confState() pb.ConfState {
	var cs pb.ConfState
	for _, id := range t.ids() {
		if t.progress[id].IsObserver {
			cs.Observers = append(cs.Observers, id)
		} else {
			cs.Voters = append(cs.Voters, id)
		}
	}
	return cs
}

func (t *tracker) quorum() int { return len(t.voters())/2 + 1 }

// committedIndex is the highest index replicated on a quorum of voters.
func (t *tracker) committedIndex() uint64 {
	voters := t.voters()
	if len(voters) == 0 {
		return 0
	}
	matches := t.matches[:0]
	for _, id := range voters {
		matches = append(matches, t.progress[id].Match)
	}
	slices.Sort(matches)
	t.matches = matches
	// With n voters sorted ascending, the entry at n-quorum is on a quorum.
	return matches[len(matches)-t.quorum()]
}

// voteResult tallies votes: won, lost or still pending.
type voteResult uint8

const (
	votePending voteResult = iota
	voteWon
	voteLost
)

func (t *tracker) recordVote(id uint64, granted bool) {
	if _, ok := t.votes[id]; !ok {
		t.votes[id] = granted
	}
}

func (t *tracker) tallyVotes() (granted, rejected int, result voteResult) {
	for _, id := range t.voters() {
		v, voted := t.votes[id]
		if !voted {
			continue
		}
		if v {
			granted++
		} else {
			rejected++
		}
	}
	q := t.quorum()
	switch {
	case granted >= q:
		return granted, rejected, voteWon
	case rejected > len(t.voters())-q:
		return granted, rejected, voteLost
	}
	return granted, rejected, votePending
}

func (t *tracker) resetVotes() { clear(t.votes) }

// quorumActive reports whether a quorum of voters was recently active.
func (t *tracker) quorumActive() bool {
	active := 0
	for _, id := range t.voters() {
		if t.progress[id].RecentActive {
			active++
		}
	}
	return active >= t.quorum()
}
