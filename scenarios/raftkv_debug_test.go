package scenarios

import (
	"os"
	"strconv"
	"testing"

	"github.com/natsim/natsim/sim"
)

// The tests in this file are tools for investigating a seed by hand; they skip unless
// their environment variables are set:
//
//	SEED=N go test -run RaftKVDebug -v ./scenarios      raftkv seed N, every node's state at the end
//	SCALESEED=N go test -run RaftScaleDebug -v ./scenarios
//	SWEEP=raftkv FROM=1 TO=100 go test -run SweepDebug -v ./scenarios

// TestRaftKVDebug runs one raftkv seed and logs leader changes and every node's raft
// state at the end.
func TestRaftKVDebug(t *testing.T) {
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	if seed == 0 {
		t.Skip()
	}
	base := Lookup("raftkv")
	var rw *raftKVWorkload
	s := *base
	s.Setup = func(w *sim.World) sim.Workload {
		rw = base.Setup(w).(*raftKVWorkload)
		rw.cluster.debug = func(line string) {
			if w.Now() > 0 {
				t.Logf("%v %s", w.Now(), line)
			}
		}
		return rw
	}
	r := sim.Run(&s, uint64(seed), sim.Options{})
	t.Logf("violation: %v; membership changes %d; ids %v", r.Violation, rw.membershipChanges, rw.cluster.nodeIDs)
	for i, p := range rw.servers {
		n, _ := p.Instance().(*raftNode)
		if n == nil {
			t.Logf("%s down", p.Name())
			continue
		}
		node := n.host.Node(raftKVGroup)
		if node == nil {
			t.Logf("%s id %d stopped=%v no group broken=%v", p.Name(), n.id, n.stopped, rw.cluster.broken[i])
			continue
		}
		st := node.BasicStatus()
		g := n.groups[raftKVGroup]
		t.Logf("%s id %d stopped=%v %+v walrepair=%d peers=%d", p.Name(), n.id, n.stopped, st, g.log.RepairIndex(), len(n.peers))
		for peer, c := range n.peers {
			t.Logf("   -> %d pending %d %s->%s", peer, c.Pending(), c.LocalAddr(), c.RemoteAddr())
		}
	}
	for _, c := range rw.clients {
		t.Logf("client %s target %d conn %v op %v reads %d writes %d", c.name, c.target, c.conn != nil, c.operation != nil, c.livenessReads, c.livenessWrites)
	}
}

// TestRaftScaleDebug runs one raftscale seed.
func TestRaftScaleDebug(t *testing.T) {
	seed, _ := strconv.Atoi(os.Getenv("SCALESEED"))
	if seed == 0 {
		t.Skip()
	}
	sc := *Lookup("raftscale")
	configure := sc.Configure
	sc.Configure = func(c *sim.Config) { configure(c); c.EventsMax = 20_000_000 }
	r := sim.Run(&sc, uint64(seed), sim.Options{})
	t.Logf("%v %v %d", r.Violation, r.VirtualTime, r.Events)
}

// TestSweepDebug sweeps seeds of a scenario in this process (cmd/sim does it in
// parallel; this one is handy for profiling with -cpuprofile).
func TestSweepDebug(t *testing.T) {
	name := os.Getenv("SWEEP")
	if name == "" {
		t.Skip()
	}
	from, _ := strconv.Atoi(os.Getenv("FROM"))
	to, _ := strconv.Atoi(os.Getenv("TO"))
	var simulated float64
	failed := 0
	for seed := from; seed <= to; seed++ {
		r := sim.Run(Lookup(name), uint64(seed), sim.Options{})
		simulated += r.VirtualTime.Seconds()
		if r.Violation != nil {
			failed++
			t.Logf("seed %d: %v", seed, r.Violation)
		}
	}
	t.Logf("%s %d-%d: %d failed, %.0f s simulated", name, from, to, failed, simulated)
}
