// Package raftpb holds the raft message, entry and state types and their compact binary
// codec. It is pure: no I/O, no clock, and it imports only the standard library.
//
// Every decoder here treats its input as hostile: malformed, truncated or oversized input
// is reported as an error, never a panic.
package raftpb

import (
	"fmt"
	"strings"
)

// MessageType is the kind of a raft message sent between the members of one group.
type MessageType uint8

// The message types. Names follow the Raft paper: RequestVote, AppendEntries,
// InstallSnapshot, plus the pre-vote, heartbeat, leader transfer and read index
// extensions.
const (
	// MsgVote is RequestVote: Index and LogTerm describe the candidate's last entry.
	MsgVote MessageType = iota + 1
	// MsgVoteResponse answers MsgVote; Reject false means the vote was granted.
	MsgVoteResponse
	// MsgPreVote asks whether the receiver would vote for the sender at Term without
	// anybody changing term (the pre-vote phase of the Raft thesis, section 9.6).
	MsgPreVote
	// MsgPreVoteResponse answers MsgPreVote.
	MsgPreVoteResponse
	// MsgApp is AppendEntries: Index and LogTerm identify the entry preceding Entries.
	MsgApp
	// MsgAppResponse acknowledges (Index = last matching index) or rejects
	// (Index = the rejected Index, RejectHint and LogTerm = a hint where to retry).
	MsgAppResponse
	// MsgHeartbeat is an empty AppendEntries that carries the commit index.
	MsgHeartbeat
	// MsgHeartbeatResponse acknowledges a heartbeat (and a read index context);
	// Reject says the follower's log is under repair, so the leader's match index for
	// it may be stale.
	MsgHeartbeatResponse
	// MsgSnap is one chunk of InstallSnapshot: Snapshot has the metadata,
	// SnapshotOffset and SnapshotData the chunk, SnapshotDone marks the last chunk.
	MsgSnap
	// MsgSnapResponse acknowledges a chunk: Index is the next offset the receiver
	// expects; Reject asks the leader to restart from that offset.
	MsgSnapResponse
	// MsgTimeoutNow tells the receiver to start an election at once (leader transfer).
	MsgTimeoutNow
	// MsgReadIndex asks the leader for a linearizable read index; Context identifies it.
	MsgReadIndex
	// MsgReadIndexResponse carries the read index (Index) for Context.
	MsgReadIndexResponse

	messageTypeEnd
)

var messageTypeNames = [...]string{
	MsgVote:              "MsgVote",
	MsgVoteResponse:      "MsgVoteResp",
	MsgPreVote:           "MsgPreVote",
	MsgPreVoteResponse:   "MsgPreVoteResp",
	MsgApp:               "MsgApp",
	MsgAppResponse:       "MsgAppResp",
	MsgHeartbeat:         "MsgHeartbeat",
	MsgHeartbeatResponse: "MsgHeartbeatResp",
	MsgSnap:              "MsgSnap",
	MsgSnapResponse:      "MsgSnapResp",
	MsgTimeoutNow:        "MsgTimeoutNow",
	MsgReadIndex:         "MsgReadIndex",
	MsgReadIndexResponse: "MsgReadIndexResp",
}

// Valid reports whether t is a known message type.
func (t MessageType) Valid() bool { return t >= MsgVote && t < messageTypeEnd }

func (t MessageType) String() string {
	if t.Valid() {
		return messageTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// IsResponse reports whether t answers another message.
func (t MessageType) IsResponse() bool {
	switch t {
	case MsgVoteResponse, MsgPreVoteResponse, MsgAppResponse, MsgHeartbeatResponse,
		MsgSnapResponse, MsgReadIndexResponse:
		return true
	}
	return false
}

// EntryType is the kind of a log entry.
type EntryType uint8

const (
	// EntryNormal carries application data (empty data: the leader's no-op).
	EntryNormal EntryType = iota
	// EntryConfChange carries an encoded ConfChange.
	EntryConfChange

	entryTypeEnd
)

func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "EntryNormal"
	case EntryConfChange:
		return "EntryConfChange"
	}
	return fmt.Sprintf("EntryType(%d)", uint8(t))
}

// Entry is one log entry.
type Entry struct {
	Term  uint64
	Index uint64
	Type  EntryType
	Data  []byte
}

// Size is the entry's payload size in bytes, the unit of all byte limits in raft.
func (e *Entry) Size() uint64 { return uint64(len(e.Data)) + entryOverheadBytes }

// entryOverheadBytes is a fixed charge per entry so that empty entries still count
// against byte limits.
const entryOverheadBytes = 16

// HardState is the state a node must persist before it sends any message that
// depends on it: the current term, the vote cast in it, and the commit index.
type HardState struct {
	Term   uint64
	Vote   uint64
	Commit uint64
}

// IsEmpty reports whether h is the zero HardState.
func (h HardState) IsEmpty() bool { return h == HardState{} }

// ConfState is the membership of a group: the voters, and the observers (learners),
// which replicate the log but never vote or count toward a quorum. Both are sorted and
// disjoint.
type ConfState struct {
	Voters    []uint64
	Observers []uint64
}

// Equal reports whether c and o list the same members.
func (c ConfState) Equal(o ConfState) bool {
	return equalIDs(c.Voters, o.Voters) && equalIDs(c.Observers, o.Observers)
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (c ConfState) String() string {
	return fmt.Sprintf("voters=%v observers=%v", c.Voters, c.Observers)
}

// SnapshotMetadata describes the log prefix a snapshot replaces.
type SnapshotMetadata struct {
	Index     uint64
	Term      uint64
	ConfState ConfState
}

// Snapshot is the application's state up to Metadata.Index.
type Snapshot struct {
	Metadata SnapshotMetadata
	Data     []byte
}

// IsEmpty reports whether s carries no snapshot.
func (s *Snapshot) IsEmpty() bool { return s.Metadata.Index == 0 }

// ConfChangeType is the kind of a membership change.
type ConfChangeType uint8

const (
	// ConfChangeAddVoter adds a voter, or promotes an observer to voter.
	ConfChangeAddVoter ConfChangeType = iota + 1
	// ConfChangeAddObserver adds an observer.
	ConfChangeAddObserver
	// ConfChangeRemovePeer removes a voter or an observer, possibly the leader itself.
	ConfChangeRemovePeer

	confChangeTypeEnd
)

func (t ConfChangeType) String() string {
	switch t {
	case ConfChangeAddVoter:
		return "add-voter"
	case ConfChangeAddObserver:
		return "add-observer"
	case ConfChangeRemovePeer:
		return "remove-peer"
	}
	return fmt.Sprintf("ConfChangeType(%d)", uint8(t))
}

// ConfChange is a single-server membership change (Raft thesis, section 4.1). It is
// proposed as the Data of an EntryConfChange entry.
type ConfChange struct {
	Type   ConfChangeType
	NodeID uint64
}

func (c ConfChange) String() string { return fmt.Sprintf("%s %d", c.Type, c.NodeID) }

// Message is one raft message. Which fields mean what depends on Type (see the
// MessageType constants). GroupID names the raft group; a message for another group
// (for example from a removed peer of an earlier group with the same name) is dropped.
type Message struct {
	Type    MessageType
	GroupID uint64
	From    uint64
	To      uint64
	Term    uint64
	// LogTerm is the term of the entry at Index (AppendEntries, votes), or the term
	// hint of a rejection.
	LogTerm uint64
	Index   uint64
	Commit  uint64
	Reject  bool
	// RejectHint is the rejecting follower's guess of where the logs diverge.
	RejectHint uint64
	Entries    []Entry
	// Context carries a read index request id, or campaignTransfer on votes.
	Context []byte
	// The InstallSnapshot chunk fields, set on MsgSnap only.
	Snapshot       SnapshotMetadata
	SnapshotOffset uint64
	SnapshotData   []byte
	SnapshotDone   bool
}

// String renders m compactly for logs and interaction tests.
func (m Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d->%d %s Term:%d", m.From, m.To, m.Type, m.Term)
	switch m.Type {
	case MsgVote, MsgPreVote:
		fmt.Fprintf(&b, " Log:%d/%d", m.LogTerm, m.Index)
	case MsgApp:
		fmt.Fprintf(&b, " Log:%d/%d Commit:%d", m.LogTerm, m.Index, m.Commit)
	case MsgAppResponse:
		fmt.Fprintf(&b, " Log:%d/%d", m.LogTerm, m.Index)
		if m.Reject {
			fmt.Fprintf(&b, " Rejected (Hint: %d)", m.RejectHint)
		}
	case MsgHeartbeat:
		fmt.Fprintf(&b, " Commit:%d", m.Commit)
	case MsgSnap:
		fmt.Fprintf(&b, " Snapshot: index=%d term=%d %s offset=%d bytes=%d done=%t",
			m.Snapshot.Index, m.Snapshot.Term, m.Snapshot.ConfState, m.SnapshotOffset,
			len(m.SnapshotData), m.SnapshotDone)
	case MsgSnapResponse, MsgReadIndexResponse:
		fmt.Fprintf(&b, " Index:%d", m.Index)
	}
	if m.Type != MsgAppResponse && m.Reject {
		b.WriteString(" Rejected")
	}
	if len(m.Context) > 0 {
		fmt.Fprintf(&b, " Context:%q", m.Context)
	}
	if len(m.Entries) > 0 {
		b.WriteString(" Entries:[")
		for i := range m.Entries {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(m.Entries[i].String())
		}
		b.WriteString("]")
	}
	return b.String()
}

// String renders e as term/index plus its payload.
func (e Entry) String() string {
	switch e.Type {
	case EntryConfChange:
		var cc ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			return fmt.Sprintf("%d/%d EntryConfChange <%v>", e.Term, e.Index, err)
		}
		return fmt.Sprintf("%d/%d EntryConfChange %s", e.Term, e.Index, cc)
	default:
		if len(e.Data) == 0 {
			return fmt.Sprintf("%d/%d EntryNormal", e.Term, e.Index)
		}
		return fmt.Sprintf("%d/%d EntryNormal %q", e.Term, e.Index, e.Data)
	}
}
