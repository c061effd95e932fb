package sim

import (
	"errors"
	"testing"
	"time"
)

// reachability returns, for the world's processes in spawn order, whether each
// one-way link delivers.
func reachability(w *World) [][]bool {
	ps := w.Processes()
	out := make([][]bool, len(ps))
	for i, p := range ps {
		out[i] = make([]bool, len(ps))
		for j, q := range ps {
			out[i][j] = p == q || w.Reachable(p, q)
		}
	}
	return out
}

// components splits the processes into the groups that reach each other both ways,
// and reports whether every link is symmetric.
func components(reach [][]bool) (sizes []int, symmetric bool) {
	symmetric = true
	seen := make([]bool, len(reach))
	for i := range reach {
		for j := range reach {
			if reach[i][j] != reach[j][i] {
				symmetric = false
			}
		}
		if seen[i] {
			continue
		}
		size := 0
		for j := range reach {
			if !seen[j] && reach[i][j] && reach[j][i] {
				seen[j] = true
				size++
			}
		}
		sizes = append(sizes, size)
	}
	return sizes, symmetric
}

// TestNemesisPartitionShapes proves each partition fault cuts the faulty processes the
// way its name says, on many seeds: a symmetric partition splits them into two groups
// cut both ways; a one-way partition leaves every link of one direction open and some
// of the other cut; isolate-one cuts exactly one process from all; majority-minority
// splits five processes into two and three. Heal restores every link.
func TestNemesisPartitionShapes(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		for _, kind := range []FaultKind{FaultPartitionSymmetric, FaultPartitionAsymmetric, FaultIsolateOne, FaultMajorityMinority} {
			w := NewWorld(testConfig(seed), Options{})
			spawnQuiet(w, 5)
			n := newNemesis(w)
			n.active = true
			n.apply(kind)
			if n.injected[kind] != 1 {
				t.Fatalf("seed %d %s: counted %d injections", seed, kind, n.injected[kind])
			}
			reach := reachability(w)
			sizes, symmetric := components(reach)
			switch kind {
			case FaultPartitionSymmetric:
				if !symmetric || len(sizes) != 2 || sizes[0]+sizes[1] != 5 {
					t.Fatalf("seed %d %s: groups %v symmetric=%v", seed, kind, sizes, symmetric)
				}
			case FaultPartitionAsymmetric:
				cut, openBack := 0, true
				for i := range reach {
					for j := range reach {
						if !reach[i][j] {
							cut++
							openBack = openBack && reach[j][i]
						}
					}
				}
				if symmetric || cut == 0 || !openBack {
					t.Fatalf("seed %d %s: %d links cut, every reverse open=%v", seed, kind, cut, openBack)
				}
			case FaultIsolateOne:
				if !symmetric || len(sizes) != 2 || !(sizes[0] == 1 || sizes[1] == 1) {
					t.Fatalf("seed %d %s: groups %v symmetric=%v", seed, kind, sizes, symmetric)
				}
			case FaultMajorityMinority:
				if !symmetric || len(sizes) != 2 || min(sizes[0], sizes[1]) != 2 {
					t.Fatalf("seed %d %s: groups %v symmetric=%v", seed, kind, sizes, symmetric)
				}
			}
			w.Heal()
			if sizes, _ := components(reachability(w)); len(sizes) != 1 {
				t.Fatalf("seed %d %s: heal left groups %v", seed, kind, sizes)
			}
		}
	}
}

// TestNemesisPartitionEndsByItself proves a partition the nemesis makes heals after at
// most PartitionMax, and that a newer partition replaces an older one rather than
// adding to it.
func TestNemesisPartitionEndsByItself(t *testing.T) {
	c := testConfig(4)
	c.PartitionMax = 300 * time.Millisecond
	w := NewWorld(c, Options{})
	spawnQuiet(w, 5)
	n := newNemesis(w)
	n.active = true
	n.apply(FaultIsolateOne)
	n.apply(FaultIsolateOne)
	if sizes, _ := components(reachability(w)); len(sizes) != 2 {
		t.Fatalf("two isolations in a row left groups %v, want one isolated process", sizes)
	}
	w.RunUntil(w.Now()+c.PartitionMax, 1e6)
	if sizes, _ := components(reachability(w)); len(sizes) != 1 {
		t.Fatalf("partition still in force after PartitionMax: %v", sizes)
	}
}

// TestResetConnection proves resetting one connection closes both of its ends with
// ErrConnectionReset, leaves the processes up, and lets a new dial succeed.
func TestResetConnection(t *testing.T) {
	w := NewWorld(testConfig(6), Options{})
	server, client, _ := pair(t, w)
	local := &recorder{}
	(*client).(*endpoint).handler = local
	n1, n2 := w.Process("n1"), w.Process("n2")
	ids := n2.Connections()
	if len(ids) != 1 {
		t.Fatalf("client has connections %v", ids)
	}
	w.ResetConnection(n2, ids[0])
	w.RunUntil(w.Now()+time.Second, 1e6)
	if !errors.Is(server.err, ErrConnectionReset) || !errors.Is(local.err, ErrConnectionReset) {
		t.Fatalf("ends closed with %v and %v", server.err, local.err)
	}
	if len(n1.Connections()) != 0 || len(n2.Connections()) != 0 || !n1.Up() || !n2.Up() {
		t.Fatalf("after reset: connections %v %v", n1.Connections(), n2.Connections())
	}
	if _, err := (*client).Write([]byte("x")); err == nil {
		t.Fatal("write on a reset connection succeeded")
	}
}

// TestLatencyModels proves the drawn delays stay within the configured bounds: a
// uniform model within [Min, Max]; a long-tail model beyond Max for about its tail
// share, never past TailMax; and a lossy network adds a retransmission delay of at
// most LossDelayMax to some pieces.
func TestLatencyModels(t *testing.T) {
	const draws = 20000
	s := NewStream(1, "latency-test")
	uniform := LatencyModel{Kind: LatencyUniform, Min: time.Millisecond, Max: 5 * time.Millisecond}
	low, high := int64(uniform.Max), int64(0)
	for range draws {
		d := uniform.draw(s)
		if d < int64(uniform.Min) || d > int64(uniform.Max) {
			t.Fatalf("uniform draw %v outside [%v, %v]", time.Duration(d), uniform.Min, uniform.Max)
		}
		low, high = min(low, d), max(high, d)
	}
	if time.Duration(high-low) < 39*time.Millisecond/10 {
		t.Fatalf("uniform draws span only %v..%v", time.Duration(low), time.Duration(high))
	}

	tail := LatencyModel{Kind: LatencyLongTail, Min: time.Millisecond, Max: 2 * time.Millisecond,
		TailProbability: 0.05, TailMax: 100 * time.Millisecond}
	beyond := 0
	for range draws {
		d := tail.draw(s)
		if d < int64(tail.Min) || d > int64(tail.TailMax) {
			t.Fatalf("long-tail draw %v outside [%v, %v]", time.Duration(d), tail.Min, tail.TailMax)
		}
		if d > int64(tail.Max) {
			beyond++
		}
	}
	if share := float64(beyond) / draws; share < 0.03 || share > 0.07 {
		t.Fatalf("%.3f of long-tail draws beyond Max, want about %.2f", share, tail.TailProbability)
	}

	c := testConfig(1)
	c.Latency = uniform
	c.LossProbability = 0.5
	c.LossDelayMax = time.Second
	w := NewWorld(c, Options{})
	delayed := 0
	for range draws {
		d := w.network.latency()
		if d < int64(uniform.Min) || d > int64(uniform.Max+c.LossDelayMax) {
			t.Fatalf("lossy draw %v outside [%v, %v]", time.Duration(d), uniform.Min, uniform.Max+c.LossDelayMax)
		}
		if d > int64(uniform.Max) {
			delayed++
		}
	}
	if share := float64(delayed) / draws; share < 0.4 || share > 0.55 {
		t.Fatalf("%.3f of pieces delayed by loss, want about 0.5", share)
	}
}
