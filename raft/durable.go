package raft

import (
	"errors"
	"fmt"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// Durable is what a node's storage holds durably: the hard state and the last entry.
type Durable struct {
	HardState pb.HardState
	LastIndex uint64
	LastTerm  uint64
}

// DurableOf reads the durable state of a storage whose writes are all durable (the
// simulator's disk knows synced from pending bytes and builds Durable itself).
func DurableOf(s Storage) (Durable, error) {
	hs, _, err := s.InitialState()
	if err != nil {
		return Durable{}, err
	}
	last, err := s.LastIndex()
	if err != nil {
		return Durable{}, err
	}
	term, err := s.Term(last)
	if err != nil {
		return Durable{}, err
	}
	return Durable{HardState: hs, LastIndex: last, LastTerm: term}, nil
}

// ErrSentBeforePersist: a message promises state that is not durable yet.
var ErrSentBeforePersist = errors.New("raft: message sent before the state it depends on was persisted")

// CheckSend verifies the "persist before send" half of the Ready contract for one
// outgoing message of the node whose durable state is d: the term it speaks in, the
// vote it casts or asks for, and the entries it acknowledges or sends must all be
// durable.
func CheckSend(m pb.Message, d Durable) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrSentBeforePersist, m, fmt.Sprintf(format, args...))
	}
	speaksInOwnTerm := m.Type != pb.MsgPreVote && !(m.Type == pb.MsgPreVoteResponse && !m.Reject) &&
		!(m.Type == pb.MsgVoteResponse && !m.Reject)
	if speaksInOwnTerm && m.Term > d.HardState.Term {
		return fail("term %d, durable term %d", m.Term, d.HardState.Term)
	}
	switch m.Type {
	// A vote cast (or asked for) in term T is safe once the durable state records it, or
	// once a later term is durable: the node can never vote in T again.
	case pb.MsgVote:
		if d.HardState.Term < m.Term || (d.HardState.Term == m.Term && d.HardState.Vote != m.From) {
			return fail("durable term %d vote %d", d.HardState.Term, d.HardState.Vote)
		}
	case pb.MsgVoteResponse:
		if !m.Reject && (d.HardState.Term < m.Term || (d.HardState.Term == m.Term && d.HardState.Vote != m.To)) {
			return fail("granted, durable term %d vote %d", d.HardState.Term, d.HardState.Vote)
		}
	case pb.MsgAppResponse:
		if !m.Reject && m.Index > d.LastIndex {
			return fail("acknowledges %d, durable last index %d", m.Index, d.LastIndex)
		}
	case pb.MsgApp:
		// A leader's append of a term it has since left is only a delayed message: its
		// entries were in that leader's log, and no leader of that term can count
		// acknowledgements any more. (Its log may have been truncated meanwhile.)
		if m.Term < d.HardState.Term {
			break
		}
		if last := m.Index + uint64(len(m.Entries)); last > d.LastIndex {
			return fail("sends up to %d, durable last index %d", last, d.LastIndex)
		}
	}
	return nil
}
