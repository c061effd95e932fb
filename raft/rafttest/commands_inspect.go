package rafttest

// Script commands that print state and check invariants.

import (
	"slices"
)

func handleStatus(e *Env, a args) error {
	n, live, err := e.liveNode(a, 0)
	if err != nil || !live {
		return err
	}
	st := n.RawNode.Status()
	e.logf("%d: %s term=%d vote=%d lead=%d commit=%d applied=%d last=%d %s", n.ID, st.RaftState,
		st.Term, st.Vote, st.Lead, st.Commit, st.Applied, st.LastIndex, st.ConfState)
	if st.StorageError != nil {
		e.logf("%d: storage error: %v", n.ID, st.StorageError)
	}
	if st.Removed {
		e.logf("%d: removed", n.ID)
	}
	ids := make([]uint64, 0, len(st.Progress))
	for id := range st.Progress {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := st.Progress[id]
		e.logf("  %d: %s", id, &p)
	}
	return nil
}

func handleRaftState(e *Env, a args) error {
	for _, id := range e.IDs() {
		n := e.Nodes[id]
		if n.Down {
			e.logf("%d: down", id)
			continue
		}
		st := n.RawNode.Status()
		e.logf("%d: %s term=%d lead=%d commit=%d applied=%d", id, st.RaftState, st.Term, st.Lead, st.Commit, st.Applied)
	}
	return nil
}

func handleLog(e *Env, a args) error {
	n, err := e.node(a, 0)
	if err != nil {
		return err
	}
	snap, _ := n.Storage.Snapshot()
	if !snap.IsEmpty() {
		e.logf("snapshot index=%d term=%d", snap.Metadata.Index, snap.Metadata.Term)
	}
	first, _ := n.Storage.FirstIndex()
	last, _ := n.Storage.LastIndex()
	if last >= first {
		ents, err := n.Storage.Entries(first, last+1, 1<<62)
		if err != nil {
			return err
		}
		for _, ent := range ents {
			e.logf("%s", ent)
		}
	}
	e.logf("state: %v", n.State)
	return nil
}

func handleMsgs(e *Env, a args) error {
	for _, m := range e.Messages {
		e.logf("%s", m)
	}
	return nil
}

func handleCheck(e *Env, a args) error {
	if err := e.CheckLogs(); err != nil {
		return err
	}
	e.logf("invariants hold")
	return nil
}
