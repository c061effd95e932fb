package raft

import (
	"bytes"
	"fmt"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// readIndex serves a read index request (Raft thesis, section 6.4): the leader records
// its commit index, confirms it is still the leader by a heartbeat round acknowledged by
// a quorum, and only then releases the index. from is the asking node (maybe this one).
func (r *raft) readIndex(from uint64, context []byte) error {
	if r.state != StateLeader {
		return &NotLeaderError{Leader: r.lead}
	}
	if t, err := r.log.term(r.log.committed); err != nil || t != r.term {
		// Until an entry of its own term commits, a new leader does not know the
		// commit index of the group (section 6.4, step 1).
		return fmt.Errorf("%w: leader has not committed an entry in term %d yet", ErrProposalDropped, r.term)
	}
	if len(r.tracker.voters()) == 1 && r.tracker.isVoter(r.id) {
		r.releaseRead(&readRequest{index: r.log.committed, context: context, from: from})
		return nil
	}
	if len(r.reads) >= r.cfg.ReadIndexPendingMax {
		return fmt.Errorf("%w: %d read index requests pending", ErrProposalDropped, len(r.reads))
	}
	for _, rr := range r.reads {
		if bytes.Equal(rr.context, context) {
			return fmt.Errorf("%w: read index context %q already pending", ErrProposalDropped, context)
		}
	}
	rr := &readRequest{index: r.log.committed, context: append([]byte(nil), context...), from: from,
		acks: map[uint64]bool{r.id: true}}
	r.reads = append(r.reads, rr)
	r.broadcastHeartbeat(rr.context)
	return nil
}

// handleReadAck counts a heartbeat response carrying a read context. A quorum of acks
// for a request confirms every request queued before it too.
func (r *raft) handleReadAck(from uint64, context []byte) {
	if !r.tracker.isVoter(from) {
		return
	}
	for i, rr := range r.reads {
		if !bytes.Equal(rr.context, context) {
			continue
		}
		rr.acks[from] = true
		acked := 0
		for _, id := range r.tracker.voters() {
			if rr.acks[id] {
				acked++
			}
		}
		if acked < r.tracker.quorum() {
			return
		}
		for _, done := range r.reads[:i+1] {
			r.releaseRead(done)
		}
		r.reads = append(r.reads[:0], r.reads[i+1:]...)
		return
	}
}

func (r *raft) releaseRead(rr *readRequest) {
	if rr.from == r.id {
		r.readStates = append(r.readStates, ReadState{Index: rr.index, Context: rr.context})
		return
	}
	r.send(pb.Message{To: rr.from, Type: pb.MsgReadIndexResponse, Index: rr.index, Context: rr.context})
}

// requestReadIndex starts a read index on this node: the leader serves it, a follower
// forwards it to the leader.
func (r *raft) requestReadIndex(context []byte) error {
	if r.state == StateLeader {
		return r.readIndex(r.id, context)
	}
	if r.lead == None {
		return &NotLeaderError{Leader: None}
	}
	r.send(pb.Message{To: r.lead, Type: pb.MsgReadIndex, Context: append([]byte(nil), context...)})
	return nil
}
