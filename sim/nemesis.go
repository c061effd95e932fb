package sim

import (
	"math"
	"time"
)

// nemesis injects the configuration's faults into the faulty processes during the safety
// phase: at exponentially distributed intervals it picks a fault kind by the run's
// weights and applies it, and schedules its undoing. Only one partition is in force at
// a time; a new one replaces the old.
type nemesis struct {
	world        *World
	rand         *Stream
	active       bool
	partitionGen uint64
	swizzling    bool
	injected     [faultKinds]uint64
}

func newNemesis(w *World) *nemesis {
	return &nemesis{world: w, rand: w.Rand("nemesis")}
}

func (n *nemesis) start() {
	if n.world.config.FaultMeanInterval <= 0 {
		return
	}
	n.active = true
	n.scheduleNext()
}

func (n *nemesis) scheduleNext() {
	mean := float64(n.world.config.FaultMeanInterval)
	delay := time.Duration(-math.Log(1-n.rand.Float64()) * mean)
	n.world.At(delay, "nemesis", n.strike)
}

func (n *nemesis) strike() {
	if !n.active {
		return
	}
	if kind, ok := n.pick(); ok {
		n.apply(kind)
	}
	n.scheduleNext()
}

// pick chooses a fault kind by weight.
func (n *nemesis) pick() (FaultKind, bool) {
	weights := n.world.config.FaultWeights
	total := 0.0
	for _, weight := range weights {
		total += weight
	}
	if total <= 0 {
		return 0, false
	}
	x := n.rand.Float64() * total
	for k, weight := range weights {
		if x < weight {
			return FaultKind(k), true
		}
		x -= weight
	}
	return faultKinds - 1, true
}

// faulty returns the faulty processes, optionally only those that are up and running.
func (n *nemesis) faulty(runningOnly bool) []*Process {
	var out []*Process
	for _, p := range n.world.processes {
		if p.options.Faulty && (!runningOnly || p.state == stateRunning) {
			out = append(out, p)
		}
	}
	return out
}

func (n *nemesis) shuffled(ps []*Process) []*Process {
	out := append([]*Process(nil), ps...)
	for i := len(out) - 1; i > 0; i-- {
		j := n.rand.Intn(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func (n *nemesis) duration(max time.Duration) time.Duration {
	return time.Duration(n.rand.Between(int64(time.Millisecond), int64(max)))
}

func (n *nemesis) note(text string) {
	w := n.world
	w.fold(hashString(text))
	if w.tracing {
		w.traceLine(KindWorld, nil, "nemesis: "+text)
	}
}

func (n *nemesis) apply(kind FaultKind) {
	w := n.world
	c := w.config
	all := n.faulty(false)
	if len(all) == 0 {
		return
	}
	n.injected[kind]++
	switch kind {
	case FaultCrash:
		// Paused processes are candidates too: a pause followed by a kill is one of
		// the classic failure sequences.
		var up []*Process
		for _, p := range all {
			if p.Up() {
				up = append(up, p)
			}
		}
		if len(up) == 0 {
			return
		}
		p := up[n.rand.Intn(len(up))]
		w.Crash(p, n.rand.Chance(c.PowerLossProbability))
		w.At(n.duration(c.DownMax), "restart "+p.name, func() {
			if n.active {
				w.Restart(p)
			}
		})
	case FaultPause:
		running := n.faulty(true)
		if len(running) == 0 {
			return
		}
		p := running[n.rand.Intn(len(running))]
		w.Pause(p)
		w.At(n.duration(c.PauseMax), "resume "+p.name, func() { w.Resume(p) })
	case FaultPartitionSymmetric, FaultPartitionAsymmetric, FaultMajorityMinority:
		if len(all) < 2 {
			return
		}
		order := n.shuffled(all)
		split := 1 + n.rand.Intn(len(order)-1)
		if kind == FaultMajorityMinority {
			split = (len(order) - 1) / 2
			if split == 0 {
				split = 1
			}
		}
		minority, majority := order[:split], order[split:]
		n.beginPartition()
		if kind == FaultPartitionAsymmetric {
			n.note("one-way partition " + names(minority) + " -/-> " + names(majority))
			for _, from := range minority {
				for _, to := range majority {
					w.Cut(from, to)
				}
			}
		} else {
			n.note("partition " + names(minority) + " | " + names(majority))
			w.Partition(minority, majority)
		}
		n.endPartitionAfter(n.duration(c.PartitionMax))
	case FaultIsolateOne:
		p := all[n.rand.Intn(len(all))]
		n.beginPartition()
		n.note("isolate " + p.name)
		w.Isolate(p)
		n.endPartitionAfter(n.duration(c.PartitionMax))
	case FaultSwizzleClog:
		n.swizzle()
	case FaultClogLink:
		if len(all) < 2 {
			return
		}
		order := n.shuffled(all)
		n.note("clog " + order[0].name + " -> " + order[1].name)
		w.Clog(order[0], order[1], n.duration(c.ClogMax))
	case FaultResetConnection:
		p := all[n.rand.Intn(len(all))]
		ids := p.Connections()
		if len(ids) > 0 {
			w.ResetConnection(p, ids[n.rand.Intn(len(ids))])
		}
	}
}

func (n *nemesis) beginPartition() {
	n.world.Heal()
	n.partitionGen++
}

func (n *nemesis) endPartitionAfter(d time.Duration) {
	gen := n.partitionGen
	n.world.At(d, "heal", func() {
		if n.partitionGen == gen {
			n.world.Heal()
		}
	})
}

// swizzle clogs the faulty processes one at a time in a random order, then unclogs them
// one at a time in another random order (FoundationDB's swizzle-clog). A swizzle that
// the end of the safety phase interrupts clogs nothing more: the liveness phase must
// see no new fault. Its unclogs still run, which is harmless.
func (n *nemesis) swizzle() {
	if n.swizzling {
		return
	}
	n.swizzling = true
	w := n.world
	step := n.world.config.ClogMax / 4
	if step <= 0 {
		step = time.Millisecond
	}
	clogOrder := n.shuffled(n.faulty(false))
	unclogOrder := n.shuffled(clogOrder)
	n.note("swizzle-clog " + names(clogOrder) + " then unclog " + names(unclogOrder))
	at := time.Duration(0)
	for _, p := range clogOrder {
		at += n.duration(step)
		w.At(at, "swizzle clog "+p.name, func() {
			if n.active {
				n.clogProcess(p, true)
			}
		})
	}
	for _, p := range unclogOrder {
		at += n.duration(step)
		w.At(at, "swizzle unclog "+p.name, func() { n.clogProcess(p, false) })
	}
	w.At(at, "swizzle done", func() { n.swizzling = false })
}

func (n *nemesis) clogProcess(p *Process, clog bool) {
	w := n.world
	for _, other := range w.processes {
		if other == p {
			continue
		}
		if clog {
			w.Clog(p, other, 0)
			w.Clog(other, p, 0)
		} else {
			w.Unclog(p, other)
			w.Unclog(other, p)
		}
	}
}

func names(ps []*Process) string {
	out := ""
	for i, p := range ps {
		if i > 0 {
			out += ","
		}
		out += p.name
	}
	return out
}
