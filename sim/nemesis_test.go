package sim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
)

// spawnQuiet spawns count faulty processes that do nothing.
func spawnQuiet(w *World, count int) []*Process {
	var out []*Process
	for i := 1; i <= count; i++ {
		out = append(out, w.Spawn("q"+itoa(uint64(i)), ProcessOptions{Faulty: true}, func(env.Env) any { return nil }))
	}
	return out
}

// cloggedProcesses returns, in spawn order, the processes clogged off from every
// other process in both directions (no cuts are made in these tests, so an
// unreachable link is a clogged one).
func cloggedProcesses(w *World) []*Process {
	var out []*Process
	for _, p := range w.Processes() {
		all := true
		for _, q := range w.Processes() {
			if p != q && (w.Reachable(p, q) || w.Reachable(q, p)) {
				all = false
			}
		}
		if all {
			out = append(out, p)
		}
	}
	return out
}

// blockedLinks counts the one-way links between processes that cannot deliver (no cuts
// are made in these tests, so a blocked link is a clogged one).
func blockedLinks(w *World) int {
	blocked := 0
	for _, p := range w.Processes() {
		for _, q := range w.Processes() {
			if p != q && !w.Reachable(p, q) {
				blocked++
			}
		}
	}
	return blocked
}

// TestSwizzleClog proves the swizzle-clog fault clogs the faulty processes one at a
// time, each in its own event, until every link is clogged, then unclogs them one at a
// time, in another order on some seeds, and leaves every link open: the clogged links
// only grow, then only shrink.
func TestSwizzleClog(t *testing.T) {
	reordered := false
	for seed := uint64(1); seed <= 20; seed++ {
		c := testConfig(seed)
		c.ClogMax = 400 * time.Millisecond
		var clogOrder, unclogOrder []string
		w := NewWorld(c, Options{Trace: func(line string) {
			fields := strings.Fields(line)
			if len(fields) == 6 && fields[3] == "swizzle" {
				switch fields[4] {
				case "clog":
					clogOrder = append(clogOrder, fields[5])
				case "unclog":
					if len(clogOrder) < 4 {
						t.Errorf("seed %d: unclogging %s before every process is clogged", seed, fields[5])
					}
					unclogOrder = append(unclogOrder, fields[5])
				}
			}
		}})
		spawnQuiet(w, 4)
		n := newNemesis(w)
		n.active = true
		n.swizzle()
		if !n.swizzling {
			t.Fatalf("seed %d: swizzle not marked as running", seed)
		}
		peak, previous, shrinking := 0, 0, false
		for step := 0; step < 3000; step++ {
			w.RunUntil(w.Now()+time.Millisecond, 1e6)
			blocked := blockedLinks(w)
			if blocked < previous {
				shrinking = true
			} else if blocked > previous && shrinking {
				t.Fatalf("seed %d: clogged links grew again after unclogging began", seed)
			}
			peak, previous = max(peak, blocked), blocked
		}
		if peak != 4*3 || previous != 0 {
			t.Fatalf("seed %d: at most %d of 12 links clogged, %d at the end", seed, peak, previous)
		}
		if n.swizzling {
			t.Fatalf("seed %d: swizzle never finished", seed)
		}
		if len(clogOrder) != 4 || len(unclogOrder) != 4 {
			t.Fatalf("seed %d: clogged %v, unclogged %v", seed, clogOrder, unclogOrder)
		}
		for _, order := range [][]string{clogOrder, unclogOrder} {
			sorted := slices.Sorted(slices.Values(order))
			if !slices.Equal(sorted, []string{"q1", "q2", "q3", "q4"}) {
				t.Fatalf("seed %d: order %v does not name every process once", seed, order)
			}
		}
		if !slices.Equal(clogOrder, unclogOrder) {
			reordered = true
		}
	}
	if !reordered {
		t.Fatal("the unclog order always equals the clog order")
	}
}

// TestSwizzleStopsWithSafety proves a swizzle interrupted by the end of the safety
// phase clogs nothing more, so the liveness phase sees no new fault.
func TestSwizzleStopsWithSafety(t *testing.T) {
	c := testConfig(3)
	c.ClogMax = 400 * time.Millisecond
	w := NewWorld(c, Options{})
	spawnQuiet(w, 4)
	n := newNemesis(w)
	n.active = true
	n.swizzle()
	for len(cloggedProcesses(w)) == 0 {
		w.RunUntil(w.Now()+time.Millisecond, 1e6)
	}
	// What Run does when the safety phase ends.
	n.active = false
	w.UnclogAll()
	for step := 0; step < 3000; step++ {
		w.RunUntil(w.Now()+time.Millisecond, 1e6)
		if clogged := cloggedProcesses(w); len(clogged) > 0 {
			t.Fatalf("%v clogged %v after the faults ended", w.Now(), clogged[0].Name())
		}
	}
}

// TestRunDiskAtlasModes proves that Run keeps a healthy majority of disks in the
// default (recoverable) mode, and that the safety-only mode, set by Options or by the
// configuration, may give every disk of the group corrupting faults.
func TestRunDiskAtlasModes(t *testing.T) {
	scenario := func(corrupting *int) *Scenario {
		return &Scenario{
			Name:       "disks",
			ServersMin: 3,
			ServersMax: 3,
			Configure: func(c *Config) {
				c.FaultMeanInterval = 0
				c.DiskFaults = true
				c.DiskFaultIntensity = 1
				c.Safety = 100 * time.Millisecond
				c.LivenessBound = 100 * time.Millisecond
			},
			Setup: func(w *World) Workload {
				spawnQuiet(w, 3)
				w.At(time.Millisecond, "count corrupting disks", func() {
					for _, d := range w.Disks() {
						if d.Faults().Corrupting() {
							*corrupting++
						}
					}
				})
				return &idleWorkload{world: w, converges: true}
			},
		}
	}
	for _, safetyOnly := range []bool{false, true} {
		everyDisk, someDisk := 0, 0
		for seed := uint64(1); seed <= 100; seed++ {
			corrupting := 0
			r := Run(scenario(&corrupting), seed, Options{DiskSafetyOnly: safetyOnly})
			if r.Violation != nil {
				t.Fatalf("seed %d: %v", seed, r.Violation)
			}
			if r.Config.DiskSafetyOnly != safetyOnly {
				t.Fatalf("seed %d: Config.DiskSafetyOnly = %v", seed, r.Config.DiskSafetyOnly)
			}
			if !safetyOnly && corrupting > 1 {
				t.Fatalf("seed %d: %d of 3 disks corrupting in the recoverable mode", seed, corrupting)
			}
			if corrupting == 3 {
				everyDisk++
			}
			if corrupting > 0 {
				someDisk++
			}
		}
		if someDisk == 0 {
			t.Fatalf("safetyOnly=%v: no disk ever corrupting", safetyOnly)
		}
		if safetyOnly && everyDisk == 0 {
			t.Fatalf("the safety-only mode never made every disk corrupting")
		}
	}
}

// TestWorldStreamsIndependent proves each component's stream depends only on the seed
// and the component's name: heavy use of other streams, other components spawned
// first, or other knobs drawn first change none of its draws.
func TestWorldStreamsIndependent(t *testing.T) {
	draws := func(s *Stream) [8]uint64 {
		var out [8]uint64
		for i := range out {
			out[i] = s.Uint64()
		}
		return out
	}
	quiet := NewWorld(testConfig(9), Options{})
	want := draws(quiet.Rand("component"))
	wantKnob := quiet.Knob("k", 0, 1<<40)

	busy := NewWorld(testConfig(9), Options{})
	spawnQuiet(busy, 3)
	for i := 0; i < 1000; i++ {
		busy.Rand("other").Uint64()
		busy.Rand("network").Uint64()
	}
	busy.Knob("before", 0, 1<<40)
	if got := draws(busy.Rand("component")); got != want {
		t.Fatalf("draws shifted by other components: %v vs %v", got, want)
	}
	if got := busy.Knob("k", 0, 1<<40); got != wantKnob {
		t.Fatalf("knob shifted by an earlier knob: %d vs %d", got, wantKnob)
	}
	if draws(NewWorld(testConfig(10), Options{}).Rand("component")) == want {
		t.Fatal("two seeds gave the same stream")
	}
}
