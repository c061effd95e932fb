package rafttest

import (
	"fmt"
	"strconv"

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
		"add-nodes":             handleAddNodes,
		"campaign":              handleCampaign,
		"propose":               handlePropose,
		"add-peer":              confChangeHandler(pb.ConfChangeAddVoter),
		"add-observer":          confChangeHandler(pb.ConfChangeAddObserver),
		"remove-peer":           confChangeHandler(pb.ConfChangeRemovePeer),
		"deliver-msgs":          handleDeliver,
		"drop":                  handleDrop,
		"partition":             handlePartition,
		"heal":                  func(e *Env, a args) error { e.Heal(); return nil },
		"tick":                  handleTick,
		"tick-election":         handleTickElection,
		"tick-heartbeat":        handleTickHeartbeat,
		"process-ready":         handleProcessReady,
		"stabilize":             handleStabilize,
		"snapshot":              handleSnapshot,
		"compact":               handleCompact,
		"transfer-leader":       handleTransferLeader,
		"step-down":             handleStepDown,
		"read-index":            handleReadIndex,
		"crash":                 handleCrash,
		"restart":               handleRestart,
		"storage-error":         handleStorageError,
		"storage-ok":            handleStorageOK,
		"recreate-group":        handleRecreateGroup,
		"status":                handleStatus,
		"raft-state":            handleRaftState,
		"log":                   handleLog,
		"msgs":                  handleMsgs,
		"check":                 handleCheck,
		"inject":                handleInject,
		"corrupt-tail":          handleCorruptTail,
		"checkpoint":            handleCheckpoint,
		"lose-since-checkpoint": handleLoseSinceCheckpoint,
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
// drop [from=X] [to=Y]: drop in-flight messages.
// partition 1 2 / 3: sides separated by "/"; one side listed alone isolates it.
// tick ID... [n=K]
// snapshot ID: the node snapshots its state machine at its applied index and compacts
// its log up to it.
// storage-error ID: the node's next writes fail.
// storage-ok ID: the storage works again and the application clears the failure.
// recreate-group ID... group=G: wipe the nodes and bootstrap a new incarnation of the
// group with them as voters (a group deleted and created again under the same name).
// inject FROM TO type=T [term=N] [group=G] [index=N] [logterm=N] [commit=N]
// [reject=B] [entries=(term/index,...)] [corrupt=BYTE]: a hand-made message goes through
// the wire codec (optionally with one byte flipped) and, if it decodes, to node TO.
// corrupt-tail ID KEEP [repair=false]: the node's log tail after KEEP is found corrupt on
// recovery and truncated; it restarts asking to be repaired (unless repair=false).
// checkpoint ID: remember the node's persisted log as it is now.
// lose-since-checkpoint ID [keep-commit=true]: every record the node wrote since its
// checkpoint is lost on recovery (a replaced suffix comes back); it restarts asking to be
// repaired. keep-commit keeps the newer commit index, lowered to the surviving log.
