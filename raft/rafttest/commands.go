package rafttest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

// Run executes one script command and returns its output. An error is a harness failure
// or a violated invariant (the test fails); errors the raft API returns are output.
func (e *Env) Run(tc TestCase) (string, error) {
	e.Out.Reset()
	handler, ok := commands[tc.Cmd]
	if !ok {
		return "", fmt.Errorf("unknown command %q", tc.Cmd)
	}
	a := args(tc.Args)
	if err := handler(e, a); err != nil {
		return "", err
	}
	return NormalizeOutput(e.Out.String()), nil
}

type commandHandler func(e *Env, a args) error

var commands map[string]commandHandler

func init() {
	commands = map[string]commandHandler{
		"add-nodes":       handleAddNodes,
		"campaign":        handleCampaign,
		"propose":         handlePropose,
		"add-peer":        confChangeHandler(pb.ConfChangeAddVoter),
		"add-observer":    confChangeHandler(pb.ConfChangeAddObserver),
		"remove-peer":     confChangeHandler(pb.ConfChangeRemovePeer),
		"deliver-msgs":    handleDeliver,
		"drop":            handleDrop,
		"partition":       handlePartition,
		"heal":            func(e *Env, a args) error { e.Heal(); return nil },
		"tick":            handleTick,
		"tick-election":   handleTickElection,
		"tick-heartbeat":  handleTickHeartbeat,
		"process-ready":   handleProcessReady,
		"stabilize":       handleStabilize,
		"snapshot":        handleSnapshot,
		"compact":         handleCompact,
		"transfer-leader": handleTransferLeader,
		"step-down":       handleStepDown,
		"read-index":      handleReadIndex,
		"crash":           handleCrash,
		"restart":         handleRestart,
		"storage-error":   handleStorageError,
		"storage-ok":      handleStorageOK,
		"recreate-group":  handleRecreateGroup,
		"status":          handleStatus,
		"raft-state":      handleRaftState,
		"log":             handleLog,
		"msgs":            handleMsgs,
		"check":           handleCheck,
		"inject":          handleInject,
		"corrupt-tail":    handleCorruptTail,
	}
}

type args []Arg

// positional returns the bare values.
func (a args) positional() []string {
	var out []string
	for _, x := range a {
		if x.Key == "" {
			out = append(out, x.Values...)
		}
	}
	return out
}

func (a args) ids() ([]uint64, error) {
	var ids []uint64
	for _, v := range a.positional() {
		if v == "/" {
			continue
		}
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad node id %q", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (a args) lookup(key string) ([]string, bool) {
	for _, x := range a {
		if x.Key == key {
			return x.Values, true
		}
	}
	return nil, false
}

func (a args) uint(key string, def uint64) (uint64, error) {
	v, ok := a.lookup(key)
	if !ok || len(v) != 1 {
		return def, nil
	}
	return strconv.ParseUint(v[0], 10, 64)
}

func (a args) idList(key string) ([]uint64, error) {
	v, _ := a.lookup(key)
	var ids []uint64
	for _, s := range v {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad id %q in %s", s, key)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (a args) bool(key string, def bool) bool {
	v, ok := a.lookup(key)
	if !ok || len(v) != 1 {
		return def
	}
	return v[0] == "true"
}

// node returns the live node named by the first positional argument.
func (e *Env) node(a args, i int) (*Node, error) {
	pos := a.positional()
	if len(pos) <= i {
		return nil, fmt.Errorf("missing node id")
	}
	id, err := strconv.ParseUint(pos[i], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad node id %q", pos[i])
	}
	n := e.Nodes[id]
	if n == nil {
		return nil, fmt.Errorf("no node %d", id)
	}
	return n, nil
}

func (e *Env) liveNode(a args, i int) (*Node, bool, error) {
	n, err := e.node(a, i)
	if err != nil {
		return nil, false, err
	}
	if n.Down {
		e.logf("node %d is down", n.ID)
		return n, false, nil
	}
	return n, true, nil
}

// add-nodes N [voters=(..)] [observers=(..)] [join=true] [group=G] [prevote=B]
// [checkquorum=B] [inflight=N] [inflight-bytes=N] [message-bytes=N] [snapshot-chunk=N]
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

// drop [from=X] [to=Y]: drop in-flight messages.
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

// partition 1 2 / 3: sides separated by "/"; one side listed alone isolates it.
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

// tick ID... [n=K]
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

// snapshot ID: the node snapshots its state machine at its applied index and compacts
// its log up to it.
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

// storage-error ID: the node's next writes fail.
func handleStorageError(e *Env, a args) error {
	n, err := e.node(a, 0)
	if err != nil {
		return err
	}
	n.StorageBroken = true
	return nil
}

// storage-ok ID: the storage works again and the application clears the failure.
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

// recreate-group ID... group=G: wipe the nodes and bootstrap a new incarnation of the
// group with them as voters (a group deleted and created again under the same name).
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

// inject FROM TO type=T [term=N] [group=G] [index=N] [logterm=N] [commit=N]
// [reject=B] [entries=(term/index,...)] [corrupt=BYTE]: a hand-made message goes through
// the wire codec (optionally with one byte flipped) and, if it decodes, to node TO.
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

// corrupt-tail ID KEEP [repair=false]: the node's log tail after KEEP is found corrupt on
// recovery and truncated; it restarts asking to be repaired (unless repair=false).
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
