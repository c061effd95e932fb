package rafttest

// Script commands that create, crash, restart and damage nodes, and snapshot them.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

func handleAddNodes(e *Env, a args) error {
	pos := a.positional()
	if len(pos) != 1 {
		return fmt.Errorf("add-nodes N")
	}
	n, err := strconv.Atoi(pos[0])
	if err != nil {
		return err
	}
	voters, err := a.idList("voters")
	if err != nil {
		return err
	}
	observers, err := a.idList("observers")
	if err != nil {
		return err
	}
	group, err := a.uint("group", 1)
	if err != nil {
		return err
	}
	t := &e.Template
	t.PreVote = a.bool("prevote", t.PreVote)
	t.CheckQuorum = a.bool("checkquorum", t.CheckQuorum)
	for key, field := range map[string]*uint64{"inflight-bytes": &t.InflightBytesMax,
		"message-bytes": &t.MessageBytesMax, "snapshot-chunk": &t.SnapshotChunkBytes} {
		if *field, err = a.uint(key, *field); err != nil {
			return err
		}
	}
	inflight, err := a.uint("inflight", uint64(t.InflightMessagesMax))
	if err != nil {
		return err
	}
	t.InflightMessagesMax = int(inflight)
	join := a.bool("join", len(e.Nodes) > 0 && len(voters) == 0)
	ids, err := e.AddNodes(n, !join, pb.ConfState{Voters: voters, Observers: observers}, group)
	if err != nil {
		return err
	}
	for _, id := range ids {
		st := e.Nodes[id].RawNode.Status()
		e.logf("%d: group=%d %s term=%d commit=%d last=%d", id, group, st.ConfState, st.Term, st.Commit, st.LastIndex)
	}
	return nil
}

func handleSnapshot(e *Env, a args) error {
	n, live, err := e.liveNode(a, 0)
	if err != nil || !live {
		return err
	}
	data := []byte(strings.Join(n.State, ","))
	snap, err := n.Storage.CreateSnapshot(n.Applied, n.RawNode.ConfState(), data)
	if err != nil {
		e.logf("error: %v", err)
		return nil
	}
	if err := n.Storage.Compact(n.Applied); err != nil {
		e.logf("error: %v", err)
		return nil
	}
	e.logf("%d: snapshot index=%d term=%d %s, log compacted", n.ID, snap.Metadata.Index, snap.Metadata.Term, snap.Metadata.ConfState)
	return nil
}

func handleCompact(e *Env, a args) error {
	n, err := e.node(a, 0)
	if err != nil {
		return err
	}
	pos := a.positional()
	index, err := strconv.ParseUint(pos[len(pos)-1], 10, 64)
	if err != nil {
		return err
	}
	if err := n.Storage.Compact(index); err != nil {
		e.logf("error: %v", err)
	}
	return nil
}

func handleCrash(e *Env, a args) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if e.Nodes[id] == nil {
			return fmt.Errorf("no node %d", id)
		}
		e.Crash(id)
	}
	return nil
}

func handleRestart(e *Env, a args) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := e.Restart(id); err != nil {
			return err
		}
		st := e.Nodes[id].RawNode.Status()
		e.logf("%d: restarted term=%d vote=%d commit=%d applied=%d last=%d %s", id, st.Term, st.Vote,
			st.Commit, st.Applied, st.LastIndex, st.ConfState)
	}
	return nil
}

func handleStorageError(e *Env, a args) error {
	n, err := e.node(a, 0)
	if err != nil {
		return err
	}
	n.StorageBroken = true
	return nil
}

func handleStorageOK(e *Env, a args) error {
	n, err := e.node(a, 0)
	if err != nil {
		return err
	}
	n.StorageBroken = false
	if !n.Down {
		n.RawNode.ClearStorageError()
	}
	return nil
}

func handleRecreateGroup(e *Env, a args) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	group, err := a.uint("group", 0)
	if err != nil {
		return err
	}
	e.Messages = slices.DeleteFunc(e.Messages, func(m pb.Message) bool { return slices.Contains(ids, m.To) })
	for _, id := range ids {
		n := e.Nodes[id]
		n.Storage = raft.NewMemoryStorage()
		if err := n.Storage.ApplySnapshot(raft.BootstrapSnapshot(pb.ConfState{Voters: ids})); err != nil {
			return err
		}
		n.Config.Storage, n.Config.GroupID = n.Storage, group
		if err := e.start(n); err != nil {
			return err
		}
		e.logf("%d: group=%d voters=%v", id, group, ids)
	}
	return nil
}

func handleCorruptTail(e *Env, a args) error {
	ids, err := a.ids()
	if err != nil || len(ids) != 2 {
		return fmt.Errorf("corrupt-tail ID KEEP")
	}
	if e.Nodes[ids[0]] == nil {
		return fmt.Errorf("no node %d", ids[0])
	}
	last, err := e.CorruptTail(ids[0], ids[1], a.bool("repair", true))
	if err != nil {
		return err
	}
	st := e.Nodes[ids[0]].RawNode.Status()
	e.logf("%d: log was %d entries, now %d; commit %d; repair up to %d", ids[0], last, st.LastIndex, st.Commit, st.RepairIndex)
	return nil
}

func handleCheckpoint(e *Env, a args) error {
	n, err := e.node(a, 0)
	if err != nil {
		return err
	}
	if err := e.Checkpoint(n.ID); err != nil {
		return err
	}
	last, _ := n.Storage.LastIndex()
	e.logf("%d: checkpoint of the log up to %d, commit %d", n.ID, last, n.Storage.HardState().Commit)
	return nil
}

func handleLoseSinceCheckpoint(e *Env, a args) error {
	n, err := e.node(a, 0)
	if err != nil {
		return err
	}
	last, ok, err := e.LoseSinceCheckpoint(n.ID, a.bool("keep-commit", false))
	if err != nil {
		return err
	}
	if !ok {
		e.logf("%d: no checkpoint", n.ID)
		return nil
	}
	st := n.RawNode.Status()
	e.logf("%d: log was %d entries, now %d; commit %d; repair up to %d", n.ID, last, st.LastIndex, st.Commit, st.RepairIndex)
	return nil
}
