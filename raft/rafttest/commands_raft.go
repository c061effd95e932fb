package rafttest

// Script commands that drive raft: elections, proposals, membership, ticks, Readies.

import (
	"fmt"

	pb "github.com/natsim/natsim/raft/raftpb"
)

func handleCampaign(e *Env, a args) error {
	n, live, err := e.liveNode(a, 0)
	if err != nil || !live {
		return err
	}
	if err := n.RawNode.Campaign(); err != nil {
		e.logf("error: %v", err)
	}
	return nil
}

func handlePropose(e *Env, a args) error {
	n, live, err := e.liveNode(a, 0)
	if err != nil || !live {
		return err
	}
	pos := a.positional()
	if len(pos) != 2 {
		return fmt.Errorf("propose ID DATA")
	}
	if index, err := n.RawNode.Propose([]byte(pos[1])); err != nil {
		e.logf("error: %v", err)
	} else {
		e.logf("%d: proposed at %d", n.ID, index)
	}
	return nil
}

func confChangeHandler(t pb.ConfChangeType) commandHandler {
	return func(e *Env, a args) error {
		n, live, err := e.liveNode(a, 0)
		if err != nil || !live {
			return err
		}
		ids, err := a.ids()
		if err != nil || len(ids) != 2 {
			return fmt.Errorf("%s LEADER ID", t)
		}
		if index, err := n.RawNode.ProposeConfChange(pb.ConfChange{Type: t, NodeID: ids[1]}); err != nil {
			e.logf("error: %v", err)
		} else {
			e.logf("%d: proposed %s %d at %d", n.ID, t, ids[1], index)
		}
		return nil
	}
}

func tickNode(e *Env, a args, ticks func(*Node) int) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	for _, id := range ids {
		n := e.Nodes[id]
		if n == nil || n.Down {
			e.logf("node %d is down", id)
			continue
		}
		for range ticks(n) {
			n.RawNode.Tick()
		}
	}
	return nil
}

func handleTick(e *Env, a args) error {
	k, err := a.uint("n", 1)
	if err != nil {
		return err
	}
	return tickNode(e, a, func(*Node) int { return int(k) })
}

func handleTickElection(e *Env, a args) error {
	return tickNode(e, a, func(n *Node) int { return n.Config.ElectionTicks })
}

func handleTickHeartbeat(e *Env, a args) error {
	return tickNode(e, a, func(n *Node) int { return n.Config.HeartbeatTicks })
}

func handleProcessReady(e *Env, a args) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		ids = e.IDs()
	}
	for _, id := range ids {
		if _, err := e.ProcessReady(id); err != nil {
			return err
		}
	}
	return nil
}

func handleStabilize(e *Env, a args) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	if err := e.Stabilize(ids...); err != nil {
		return err
	}
	return e.CheckLogs()
}

func handleTransferLeader(e *Env, a args) error {
	n, live, err := e.liveNode(a, 0)
	if err != nil || !live {
		return err
	}
	ids, _ := a.ids()
	if len(ids) != 2 {
		return fmt.Errorf("transfer-leader FROM TO")
	}
	if err := n.RawNode.TransferLeader(ids[1]); err != nil {
		e.logf("error: %v", err)
	}
	return nil
}

func handleStepDown(e *Env, a args) error {
	n, live, err := e.liveNode(a, 0)
	if err != nil || !live {
		return err
	}
	if err := n.RawNode.StepDown(); err != nil {
		e.logf("error: %v", err)
	}
	return nil
}

func handleReadIndex(e *Env, a args) error {
	n, live, err := e.liveNode(a, 0)
	if err != nil || !live {
		return err
	}
	pos := a.positional()
	if len(pos) != 2 {
		return fmt.Errorf("read-index ID CONTEXT")
	}
	if err := e.ReadIndex(n.ID, pos[1]); err != nil {
		e.logf("error: %v", err)
	}
	return nil
}
