package scenarios

import (
	"fmt"
	"time"

	"github.com/natsim/natsim/env"
	pb "github.com/natsim/natsim/raft/raftpb"
	"github.com/natsim/natsim/sim"
)

func init() {
	register(&sim.Scenario{
		Name: "raftscale",
		Summary: "100 nodes host 300 raft groups of 3 replicas (store/wal on simulated disks, heartbeats coalesced per node pair) under partitions and crashes; " +
			"raft's safety invariants checked at every step, and every group must elect a leader and commit after the faults end",
		ServersMin: raftScaleNodes,
		ServersMax: raftScaleNodes,
		Configure: func(c *sim.Config) {
			// A short fault phase keeps a 200-seed sweep within a minute; what a seed
			// covers is breadth (300 groups), not length.
			c.Safety = 10 * time.Second
			c.LivenessBound = 20 * time.Second
			// Partitions and crashes: the faults that move leadership around.
			for k := range c.FaultWeights {
				switch sim.FaultKind(k) {
				case sim.FaultCrash, sim.FaultPartitionSymmetric, sim.FaultPartitionAsymmetric,
					sim.FaultIsolateOne, sim.FaultMajorityMinority, sim.FaultPause:
					if c.FaultWeights[k] == 0 {
						c.FaultWeights[k] = 0.5
					}
				default:
					c.FaultWeights[k] = 0
				}
			}
			c.FaultMeanInterval = min(c.FaultMeanInterval, 300*time.Millisecond)
		},
		Setup: func(w *sim.World) sim.Workload { return newRaftScaleWorkload(w) },
	})
}

const (
	raftScaleNodes  = 100
	raftScaleGroups = 300
	// raftScaleReplicas is each group's size.
	raftScaleReplicas = 3
)

// raftScaleWorkload places the groups on a ring (group g on nodes g, g+1, g+2), so
// that every pair of neighbors shares several groups and their heartbeats travel
// together; a proposer keeps a trickle of writes going.
type raftScaleWorkload struct {
	world   *sim.World
	cluster *raftCluster
	servers []*sim.Process
	// replicas lists each group's process indexes; names its name.
	replicas [][]int
	names    []string
	liveness bool
	// livenessStart is each group's highest applied index when the faults ended; a
	// group converged once an entry beyond it is applied.
	livenessStart []uint64
	appliedMax    []uint64
	converged     int
}

func newRaftScaleWorkload(w *sim.World) *raftScaleWorkload {
	rw := &raftScaleWorkload{world: w}
	var names []string
	for i := 1; i <= raftScaleNodes; i++ {
		names = append(names, "n"+itoa(i))
	}
	c := newRaftCluster(&worldRef{w: w}, names)
	c.tick = time.Duration(w.Knob("raftscale/tick-ns", int64(100*time.Millisecond), int64(150*time.Millisecond)))
	c.heartbeatTicks = 2
	c.electionTicks = int(w.Knob("raftscale/election-ticks", 10, 20))
	c.snapshotEvery = uint64(w.Knob("raftscale/snapshot-every", 5, 50))
	groupsOf := make([][]raftGroupSpec, raftScaleNodes)
	for g := 0; g < raftScaleGroups; g++ {
		spec := raftGroupSpec{name: fmt.Sprintf("g%03d", g), groupID: uint64(g + 1)}
		var replicas []int
		for r := 0; r < raftScaleReplicas; r++ {
			p := (g + r) % raftScaleNodes
			replicas = append(replicas, p)
			spec.bootstrap.Voters = append(spec.bootstrap.Voters, uint64(p+1))
		}
		sortIDs(spec.bootstrap.Voters)
		rw.replicas = append(rw.replicas, replicas)
		rw.names = append(rw.names, spec.name)
		for _, p := range replicas {
			groupsOf[p] = append(groupsOf[p], spec)
		}
	}
	c.groupsOf = func(process int, nodeID uint64) []raftGroupSpec { return groupsOf[process] }
	rw.appliedMax = make([]uint64, raftScaleGroups)
	c.onApply = func(group, node uint64, ent *pb.Entry) {
		rw.appliedMax[group-1] = max(rw.appliedMax[group-1], ent.Index)
	}
	rw.cluster = c
	for i := range names {
		index := i
		rw.servers = append(rw.servers, w.Spawn(names[i], sim.ProcessOptions{Faulty: true}, func(e env.Env) any {
			return newRaftNode(c, e, index)
		}))
	}
	for _, replicas := range rw.replicas {
		var group []*sim.Process
		for _, p := range replicas {
			group = append(group, rw.servers[p])
		}
		w.AddDiskGroup(group...)
	}
	interval := time.Duration(w.Knob("raftscale/propose-interval-ns", int64(20*time.Millisecond), int64(100*time.Millisecond)))
	rnd := w.Rand("raftscale/proposer")
	sequence := 0
	var propose func()
	propose = func() {
		w.At(interval, "raftscale propose", propose)
		if rw.liveness {
			// After the faults, write to every group that has not converged yet.
			for g := range rw.appliedMax {
				if rw.appliedMax[g] <= rw.livenessStart[g] {
					sequence++
					rw.proposeTo(g, sequence)
				}
			}
			return
		}
		sequence++
		rw.proposeTo(rnd.Intn(raftScaleGroups), sequence)
	}
	w.At(interval, "raftscale propose", propose)
	return rw
}

func sortIDs(ids []uint64) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

// proposeTo writes to group g through the replica that leads it, if any is reachable.
func (rw *raftScaleWorkload) proposeTo(g, sequence int) {
	name := rw.names[g]
	for _, p := range rw.replicas[g] {
		proc := rw.servers[p]
		if !proc.Up() || proc.Paused() {
			continue
		}
		n, _ := proc.Instance().(*raftNode)
		if n == nil {
			continue
		}
		if isLeader, _, _ := n.leaderStatus(name); !isLeader {
			continue
		}
		cmd := kvCommand{tag: uint64(sequence), op: kvPut, key: "k", value: itoa(sequence)}
		if _, err := n.host.Propose(name, cmd.encode()); err == nil {
			n.queueReady()
		}
		return
	}
}

// StartLiveness records where each group stands.
func (rw *raftScaleWorkload) StartLiveness() {
	rw.liveness = true
	rw.livenessStart = append([]uint64(nil), rw.appliedMax...)
}

// Converged: every group applied an entry after the faults ended (so it has a leader
// that commits).
func (rw *raftScaleWorkload) Converged() bool {
	rw.converged = 0
	for g := range rw.appliedMax {
		if rw.appliedMax[g] > rw.livenessStart[g] {
			rw.converged++
		}
	}
	return rw.converged == raftScaleGroups
}

// Check has nothing left: the invariants fail the run as they break.
func (rw *raftScaleWorkload) Check() error { return nil }
