package rafttest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
)

// seededRand adapts a seeded PCG to raft.Rand.
type seededRand struct{ r *rand.Rand }

func (s seededRand) Intn(n int) int { return s.r.IntN(n) }

// TestRandomizedSafety drives groups of 3 to 5 nodes through random ticks, message
// deliveries (reordered, dropped, duplicated), proposals, partitions, crashes and
// restarts, snapshots, storage errors, data loss with repair (a torn tail, or the
// records since a checkpoint lost so a replaced suffix comes back) and membership
// changes, and proves the Raft
// safety properties hold throughout: at most one leader per term, log matching, leader
// completeness, state machine safety (checked on every apply), and that no committed
// entry is lost once the network heals (liveness phase: every node converges on every
// committed entry).
func TestRandomizedSafety(t *testing.T) {
	first, seeds := 1, 1000
	if testing.Short() {
		seeds = 100
	}
	// RAFT_SEEDS=A-B runs another range, for soaking by hand.
	if v := os.Getenv("RAFT_SEEDS"); v != "" {
		if _, err := fmt.Sscanf(v, "%d-%d", &first, &seeds); err != nil {
			t.Fatalf("RAFT_SEEDS=%q: want A-B", v)
		}
	}
	for seed := first; seed <= seeds; seed++ {
		if err := runRandomized(uint64(seed), 3000); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

type randomRun struct {
	env      *Env
	rng      *rand.Rand
	proposed int
	reads    int
	spares   []uint64
}

func runRandomized(seed uint64, steps int) error {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	template := DefaultConfig()
	template.Rand = seededRand{rand.New(rand.NewPCG(seed, 1))}
	template.PreVote = rng.IntN(4) != 0
	template.CheckQuorum = rng.IntN(4) != 0
	template.InflightMessagesMax = 1 + rng.IntN(4)
	template.MessageBytesMax = uint64(20 + rng.IntN(100))
	template.SnapshotChunkBytes = uint64(4 + rng.IntN(16))
	template.ElectionTicks = 5 + rng.IntN(6)
	template.HeartbeatTicks = 1 + rng.IntN(2)
	env := NewEnv(template)
	env.Quiet = true
	voters := 3 + rng.IntN(3)
	if _, err := env.AddNodes(voters, true, pb.ConfState{}, 1); err != nil {
		return err
	}
	// Spare nodes start empty and may join through membership changes.
	spares, err := env.AddNodes(2, false, pb.ConfState{}, 1)
	if err != nil {
		return err
	}
	run := &randomRun{env: env, rng: rng, spares: spares}
	if debugHook != nil {
		debugHook(run)
	}
	for step := range steps {
		if err := run.step(); err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
		if step%50 == 0 {
			if err := env.CheckLogs(); err != nil {
				return fmt.Errorf("step %d: %w", step, err)
			}
		}
	}
	return run.converge()
}

// skipRepair disables RequireRepair after a corrupt tail, to check that the test
// catches the unsafety it prevents.
var skipRepair = os.Getenv("RAFT_SKIP_REPAIR") != ""

// debugHook, when set, sees the run before it starts.
var debugHook func(*randomRun)

func (r *randomRun) randomNode() *Node {
	ids := r.env.IDs()
	return r.env.Nodes[ids[r.rng.IntN(len(ids))]]
}

func (r *randomRun) leader() *Node {
	for _, id := range r.env.IDs() {
		n := r.env.Nodes[id]
		if !n.Down && n.RawNode.BasicStatus().RaftState == raft.StateLeader {
			return n
		}
	}
	return nil
}

func (r *randomRun) step() error {
	e := r.env
	switch x := r.rng.IntN(1010); {
	case x < 60:
		// The clock advances for every node; a drifting clock is modelled by the
		// node ticked alone below.
		for _, id := range e.IDs() {
			if n := e.Nodes[id]; !n.Down {
				n.RawNode.Tick()
			}
		}
	case x < 120:
		if n := r.randomNode(); !n.Down {
			n.RawNode.Tick()
		}
	case x < 600:
		if len(e.Messages) > 0 {
			i := r.rng.IntN(len(e.Messages))
			m := e.Messages[i]
			switch y := r.rng.IntN(20); {
			case y == 0: // drop
				e.Messages = slices.Delete(e.Messages, i, i+1)
			case y == 1: // duplicate: deliver and keep
				e.Step(m)
			default:
				e.Messages = slices.Delete(e.Messages, i, i+1)
				if e.connected(m.From, m.To) {
					e.Step(m)
				}
			}
		}
	case x < 760:
		if _, err := e.ProcessReady(r.randomNode().ID); err != nil {
			return err
		}
	case x < 800:
		// A round: every node handles its Ready, then every message in flight arrives.
		for _, id := range e.IDs() {
			if _, err := e.ProcessReady(id); err != nil {
				return err
			}
		}
		e.deliverConnected()
	case x < 880:
		n := r.leader()
		if n == nil || r.rng.IntN(5) == 0 {
			n = r.randomNode()
		}
		if !n.Down {
			r.proposed++
			_, _ = n.RawNode.Propose(fmt.Appendf(nil, "v%d", r.proposed))
		}
	case x < 900:
		ids := e.IDs()
		r.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		cut := 1 + r.rng.IntN(len(ids)-1)
		e.Partition([][]uint64{ids[:cut]})
	case x < 930:
		e.Heal()
	case x < 945:
		// Crash a node, keeping a majority of the nodes up.
		if n := r.randomNode(); !n.Down && r.count(func(n *Node) bool { return n.Down })*2+2 < len(e.Nodes) {
			e.Crash(n.ID)
		}
	case x < 975:
		if n := r.pick(func(n *Node) bool { return n.Down }); n != nil {
			// Half the restarts keep the state machine (as if it were durable with its
			// applied index), so raft replays membership up to Config.Applied.
			n.KeepState = r.rng.IntN(2) == 0
			return e.Restart(n.ID)
		}
	case x < 985:
		if n := r.randomNode(); !n.Down && n.Applied > 1 {
			data := []byte(joinState(n.State))
			if _, err := n.Storage.CreateSnapshot(n.Applied, n.RawNode.ConfState(), data); err == nil {
				if err := n.Storage.Compact(n.Applied); err != nil {
					return err
				}
			}
		}
	case x < 987:
		if r.count(func(n *Node) bool { return n.StorageBroken }) == 0 {
			r.randomNode().StorageBroken = true
		}
	case x < 992:
		if n := r.pick(func(n *Node) bool { return n.StorageBroken }); n != nil {
			// The operator repairs the disk and restarts the node.
			n.StorageBroken = false
			if !n.Down {
				e.Crash(n.ID)
			}
			return e.Restart(n.ID)
		}
	case x < 993:
		// A torn or corrupt tail found on recovery.
		// Data loss stays within the fault atlas: one node in repair at a time, so a
		// quorum that can repair it remains.
		n := r.randomNode()
		last, _ := n.Storage.LastIndex()
		if last > 1 && r.count(func(n *Node) bool { return n.RepairIndex != 0 }) == 0 && r.repairable(n.ID) &&
			r.membershipSettled() {
			if _, err := e.CorruptTail(n.ID, uint64(r.rng.IntN(int(last))), !skipRepair); err != nil {
				return err
			}
		}
	case x < 995:
		if n := r.randomNode(); !n.Down {
			r.reads++
			_ = r.env.ReadIndex(n.ID, fmt.Sprintf("read%d", r.reads))
		}
	case x < 1000:
		r.changeMembership()
	case x < 1005:
		return e.Checkpoint(r.randomNode().ID)
	default:
		// Records written since the node's checkpoint are lost on recovery: a suffix
		// the node replaced (and acknowledged replacing) comes back, with the same
		// limits as a corrupt tail. Half the time the recovered commit index is the
		// newer one, which may cover the superseded entries.
		n := r.randomNode()
		if r.count(func(n *Node) bool { return n.RepairIndex != 0 }) == 0 && r.repairable(n.ID) &&
			r.membershipSettled() && !skipRepair {
			if _, _, err := e.LoseSinceCheckpoint(n.ID, r.rng.IntN(2) == 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// deliverConnected delivers every in-flight message whose endpoints are connected.
func (e *Env) deliverConnected() {
	msgs := e.Messages
	e.Messages = nil
	for _, m := range msgs {
		if e.connected(m.From, m.To) {
			e.Step(m)
		}
	}
}

// membershipSettled reports whether no membership change is in flight: every member
// holds the same configuration and no log holds an unapplied change.
func (r *randomRun) membershipSettled() bool {
	var first *pb.ConfState
	for _, id := range r.env.IDs() {
		n := r.env.Nodes[id]
		ents := storedLog(n.Storage)
		for index, ent := range ents {
			if index > n.Applied && ent.Type == pb.EntryConfChange {
				return false
			}
		}
		if n.Down {
			continue
		}
		cs := n.RawNode.ConfState()
		if len(cs.Voters) == 0 {
			continue
		}
		if first == nil {
			first = &cs
		} else if !first.Equal(cs) {
			return false
		}
	}
	return true
}

// repairable reports whether every configuration any node holds keeps a quorum of
// members that can campaign and vote if id goes into repair: members in their own
// configuration (a member that applied its own removal cannot lead) and not in repair.
func (r *randomRun) repairable(id uint64) bool {
	able := func(v uint64) bool {
		n := r.env.Nodes[v]
		if n == nil || v == id || n.RepairIndex != 0 {
			return false
		}
		if n.Down {
			return true
		}
		return slices.Contains(n.RawNode.ConfState().Voters, v)
	}
	for _, other := range r.env.IDs() {
		n := r.env.Nodes[other]
		if n.Down {
			continue
		}
		voters := n.RawNode.ConfState().Voters
		available := 0
		for _, v := range voters {
			if able(v) {
				available++
			}
		}
		if len(voters) > 0 && available < len(voters)/2+1 {
			return false
		}
	}
	return true
}

func (r *randomRun) count(f func(*Node) bool) int {
	c := 0
	for _, n := range r.env.Nodes {
		if f(n) {
			c++
		}
	}
	return c
}

// pick returns a random node satisfying f, or nil.
func (r *randomRun) pick(f func(*Node) bool) *Node {
	var match []*Node
	for _, id := range r.env.IDs() {
		if n := r.env.Nodes[id]; f(n) {
			match = append(match, n)
		}
	}
	if len(match) == 0 {
		return nil
	}
	return match[r.rng.IntN(len(match))]
}

func joinState(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// changeMembership has the leader add a spare as observer or voter, promote an
// observer, or remove a member (itself included), keeping at least three voters.
func (r *randomRun) changeMembership() {
	l := r.leader()
	if l == nil || r.count(func(n *Node) bool { return n.RepairIndex != 0 }) > 0 {
		// Keep data loss and membership changes apart: together they can take more
		// than a minority of the voters out (a node that applied its own removal no
		// longer campaigns, one under repair no longer votes). Seen with the guard
		// lifted (seed 104 of 2,000, 3 runs left leaderless, none unsafe): leader 1 of
		// {1,2,3,4} commits its removal with 3's help and leaves before the others
		// learn the commit; 3 then loses its tail and goes into repair. 4 campaigns in
		// {1,2,3,4}: 2 grants, 3 may not vote, and 1, whose log runs further, refuses,
		// while 1 itself no longer campaigns. Ending it needs the removed node to
		// campaign in the configuration the others still hold, or to hand its tail on.
		return
	}
	cs := l.RawNode.ConfState()
	var cc pb.ConfChange
	switch r.rng.IntN(3) {
	case 0:
		// A spare, or a node removed earlier (it rejoins with its stale log).
		candidates := r.spares
		if r.rng.IntN(2) == 0 {
			candidates = r.env.IDs()
		}
		for _, id := range candidates {
			if !slices.Contains(cs.Voters, id) && !slices.Contains(cs.Observers, id) {
				cc = pb.ConfChange{Type: pb.ConfChangeAddObserver, NodeID: id}
				if r.rng.IntN(2) == 0 {
					cc.Type = pb.ConfChangeAddVoter
				}
				break
			}
		}
	case 1:
		if len(cs.Observers) > 0 {
			cc = pb.ConfChange{Type: pb.ConfChangeAddVoter, NodeID: cs.Observers[0]}
		}
	default:
		if len(cs.Voters) > 3 {
			cc = pb.ConfChange{Type: pb.ConfChangeRemovePeer, NodeID: cs.Voters[r.rng.IntN(len(cs.Voters))]}
		}
	}
	if cc.NodeID != 0 {
		_, _ = l.RawNode.ProposeConfChange(cc)
	}
}

// converge heals everything and runs the group until every member has applied every
// committed entry plus one new one.
func (r *randomRun) converge() error {
	e := r.env
	e.Heal()
	for _, id := range e.IDs() {
		n := e.Nodes[id]
		n.StorageBroken = false
		if n.Down {
			if err := e.Restart(id); err != nil {
				return err
			}
		}
		n.RawNode.ClearStorageError()
	}
	var maxCommitted uint64
	for index := range e.Committed(1) {
		maxCommitted = max(maxCommitted, index)
	}
	final := -1
	for round := range 400 {
		for _, id := range e.IDs() {
			e.Nodes[id].RawNode.Tick()
		}
		if err := e.Stabilize(); err != nil {
			return err
		}
		l := r.leader()
		if l == nil {
			continue
		}
		if final < 0 || round-final > 40 {
			// Propose again if the last attempt was lost with its leader.
			if _, err := l.RawNode.Propose([]byte("final")); err == nil {
				final = round
			}
			continue
		}
		members := l.RawNode.ConfState()
		done := true
		for _, id := range append(members.Voters, members.Observers...) {
			n := e.Nodes[id]
			if n.Applied < maxCommitted || !slices.Contains(n.State, "final") {
				done = false
			}
		}
		if done {
			if err := e.CheckLogs(); err != nil {
				return err
			}
			return r.checkStates(members)
		}
	}
	return fmt.Errorf("no convergence: %s", r.describe())
}

// checkStates proves no committed entry was lost: each member's state machine holds
// exactly the committed values up to its applied index.
func (r *randomRun) checkStates(members pb.ConfState) error {
	e := r.env
	for _, id := range append(members.Voters, members.Observers...) {
		n := e.Nodes[id]
		var want []string
		for index := uint64(1); index <= n.Applied; index++ {
			ent, ok := e.Committed(1)[index]
			if !ok {
				// Applied through a snapshot only; the snapshot carries the state.
				continue
			}
			if ent.Type == pb.EntryNormal && len(ent.Data) > 0 {
				want = append(want, string(ent.Data))
			}
		}
		if !slices.Equal(n.State, want) {
			return fmt.Errorf("node %d state %v, committed values %v", id, n.State, want)
		}
	}
	return nil
}

func (r *randomRun) describe() string {
	s := ""
	for _, id := range r.env.IDs() {
		n := r.env.Nodes[id]
		if n.Down {
			s += fmt.Sprintf("\n%d: down", id)
			continue
		}
		st := n.RawNode.BasicStatus()
		s += fmt.Sprintf("\n%d: %s term=%d lead=%d commit=%d applied=%d last=%d %s removed=%t err=%v repair=%d",
			id, st.RaftState, st.Term, st.Lead, st.Commit, st.Applied, st.LastIndex, st.ConfState, st.Removed,
			st.StorageError, st.RepairIndex)
	}
	return s
}

// TestRandomizedRunIsDeterministic proves a seed replays byte for byte: raft and the
// harness draw randomness only from the seed and never depend on map order.
func TestRandomizedRunIsDeterministic(t *testing.T) {
	trace := func(seed uint64) string {
		var run *randomRun
		debugHook = func(r *randomRun) { run = r; r.env.Quiet = false }
		defer func() { debugHook = nil }()
		if err := runRandomized(seed, 1500); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		return run.env.Out.String()
	}
	for _, seed := range []uint64{3, 17, 99} {
		a, b := trace(seed), trace(seed)
		if a != b {
			t.Fatalf("seed %d: two runs differ (%d and %d bytes of trace)", seed, len(a), len(b))
		}
		if len(a) == 0 {
			t.Fatalf("seed %d: empty trace", seed)
		}
	}
}
