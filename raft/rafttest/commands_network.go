package rafttest

// Script commands that move, drop, partition and forge messages.

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

func handleDeliver(e *Env, a args) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	if a.bool("drop", false) {
		for _, id := range ids {
			e.logf("dropped %d messages to %d", e.Drop(raft.None, id), id)
		}
		return nil
	}
	from, err := a.uint("from", raft.None)
	if err != nil {
		return err
	}
	if from == raft.None {
		e.Deliver(ids...)
		return nil
	}
	// Deliver only the messages from one sender, keeping the others in flight.
	var deliver []pb.Message
	e.Messages = slices.DeleteFunc(e.Messages, func(m pb.Message) bool {
		if m.From == from && (len(ids) == 0 || slices.Contains(ids, m.To)) {
			deliver = append(deliver, m)
			return true
		}
		return false
	})
	for _, m := range deliver {
		e.Step(m)
	}
	return nil
}

func handleDrop(e *Env, a args) error {
	from, err := a.uint("from", raft.None)
	if err != nil {
		return err
	}
	to, err := a.uint("to", raft.None)
	if err != nil {
		return err
	}
	e.logf("dropped %d messages", e.Drop(from, to))
	return nil
}

func handlePartition(e *Env, a args) error {
	var sides [][]uint64
	cur := []uint64{}
	for _, v := range a.positional() {
		if v == "/" {
			sides = append(sides, cur)
			cur = []uint64{}
			continue
		}
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return err
		}
		cur = append(cur, id)
	}
	sides = append(sides, cur)
	e.Partition(sides)
	return nil
}

func handleInject(e *Env, a args) error {
	ids, err := a.ids()
	if err != nil || len(ids) != 2 {
		return fmt.Errorf("inject FROM TO type=...")
	}
	m := pb.Message{From: ids[0], To: ids[1], GroupID: 1}
	if to := e.Nodes[ids[1]]; to != nil {
		m.GroupID = to.Config.GroupID
	}
	typ, _ := a.lookup("type")
	for t := pb.MsgVote; t.Valid(); t++ {
		if len(typ) == 1 && t.String() == typ[0] {
			m.Type = t
		}
	}
	for key, field := range map[string]*uint64{"term": &m.Term, "group": &m.GroupID, "index": &m.Index,
		"logterm": &m.LogTerm, "commit": &m.Commit} {
		if *field, err = a.uint(key, *field); err != nil {
			return err
		}
	}
	m.Reject = a.bool("reject", false)
	entries, _ := a.lookup("entries")
	for _, v := range entries {
		var ent pb.Entry
		if _, err := fmt.Sscanf(v, "%d/%d", &ent.Term, &ent.Index); err != nil {
			return fmt.Errorf("entry %q: want term/index", v)
		}
		m.Entries = append(m.Entries, ent)
	}
	data := pb.EncodeMessage(&m)
	if v, ok := a.lookup("corrupt"); ok {
		i, err := strconv.Atoi(v[0])
		if err != nil || i >= len(data) {
			return fmt.Errorf("corrupt=%v: want a byte offset below %d", v, len(data))
		}
		data[i] ^= 0x40
	}
	if v, ok := a.lookup("truncate"); ok {
		i, err := strconv.Atoi(v[0])
		if err != nil || i > len(data) {
			return fmt.Errorf("truncate=%v: want at most %d", v, len(data))
		}
		data = data[:i]
	}
	decoded, err := pb.DecodeMessage(data)
	if err != nil {
		e.logf("decode: %v", err)
		return nil
	}
	e.Step(decoded)
	return nil
}
