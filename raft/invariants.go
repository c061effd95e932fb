package raft

// checkInvariants asserts what must hold between any two calls into the node. It is
// cheap (linear in the members) and runs after every Step, Tick, proposal and Advance.
func (r *raft) checkInvariants(prevTerm, prevCommit uint64) {
	l := r.log
	assertf(r.term >= prevTerm, "term went back from %d to %d", prevTerm, r.term)
	assertf(l.committed >= prevCommit, "commit went back from %d to %d", prevCommit, l.committed)
	assertf(l.applied <= l.committed, "applied %d beyond commit %d", l.applied, l.committed)
	assertf(l.committed <= l.lastIndex(), "commit %d beyond last index %d", l.committed, l.lastIndex())
	if s := l.unstable.snapshot; s != nil {
		assertf(s.Metadata.Index+1 == l.unstable.offset, "unstable snapshot %d does not precede offset %d",
			s.Metadata.Index, l.unstable.offset)
	}
	assertf(r.vote == None || r.state != StateCandidate || r.vote == r.id, "candidate voted for %d", r.vote)
	if r.state != StateLeader {
		assertf(r.leadTransferee == None, "follower with a transfer to %d", r.leadTransferee)
		return
	}
	assertf(r.lead == r.id, "leader %d believes %d leads", r.id, r.lead)
	self := r.tracker.progress[r.id]
	assertf(self != nil, "leader %d is not a member", r.id)
	last := l.lastIndex()
	assertf(self.Match == last, "leader's own match %d, last index %d", self.Match, last)
	for _, id := range r.tracker.ids() {
		p := r.tracker.progress[id]
		assertf(p.Match <= last, "member %d match %d beyond last index %d", id, p.Match, last)
		assertf(p.Next > p.Match, "member %d next %d not above match %d", id, p.Next, p.Match)
		assertf(p.Inflights.Count() <= r.tracker.inflightMax, "member %d has %d messages in flight", id, p.Inflights.Count())
		assertf(p.State == StateSnapshot || p.snapshot == nil, "member %d keeps a snapshot in %s", id, p.State)
	}
}
