// Command sim runs the deterministic simulator: one seed of a scenario (replaying it
// exactly, with its trace hash), or a sweep over a range of seeds, optionally twice each
// to check determinism.
//
//	sim -list
//	sim -seed 7 -scenario register [-v]
//	sim -seeds 1-200 [-scenario register] [-check-determinism]
//	sim -seeds 1-20 -scenario mesh -bench
//	sim -seeds 1-200 -scenario register -disk-safety-only
//
// It exits non-zero on any violation or nondeterminism. A failing run's artifacts (the
// porcupine HTML visualization) are written under -out and their paths printed.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/natsim/natsim/scenarios"
	"github.com/natsim/natsim/sim"
)

func main() {
	os.Exit(run(os.Args[1:], scenarios.All(), os.Stdout, os.Stderr))
}

type options struct {
	seed             uint64
	seedSet          bool
	first, last      uint64
	scenario         string
	checkDeterminism bool
	list             bool
	verbose          bool
	bench            bool
	parallel         int
	out              string
	diskSafetyOnly   bool
	// stdout receives the reports and the verbose trace; stderr the usage errors.
	stdout, stderr io.Writer
}

// run parses args, runs the chosen scenarios of catalog and returns the exit code: 0
// when every run passed, 1 on any violation or nondeterminism, 2 on a usage error.
// Tests pass their own catalog (a scenario that always fails, one that is not
// deterministic) and writers, to see the exit codes and the reports.
func run(args []string, catalog []*sim.Scenario, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("sim", flag.ContinueOnError)
	flags.SetOutput(stderr)
	o := options{stdout: stdout, stderr: stderr}
	var seed, seeds string
	flags.StringVar(&seed, "seed", "", "replay one seed")
	flags.StringVar(&seeds, "seeds", "", "sweep a range of seeds, A-B")
	flags.StringVar(&o.scenario, "scenario", "", "scenario name (default: every scenario)")
	flags.BoolVar(&o.checkDeterminism, "check-determinism", false, "run each seed twice and compare trace hashes")
	flags.BoolVar(&o.list, "list", false, "list the scenarios")
	flags.BoolVar(&o.verbose, "v", false, "print the configuration and the event trace")
	flags.BoolVar(&o.bench, "bench", false, "report scheduled events and simulated seconds per wall second")
	flags.IntVar(&o.parallel, "parallel", runtime.NumCPU(), "seeds run at once in a sweep")
	flags.StringVar(&o.out, "out", filepath.Join(os.TempDir(), "natsim-sim"), "directory for failure artifacts")
	flags.BoolVar(&o.diskSafetyOnly, "disk-safety-only", false, "let disk faults hit every copy of a datum (the atlas's safety-only mode)")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "sim: unexpected arguments %q\n", flags.Args())
		return 2
	}
	if o.list {
		for _, s := range catalog {
			fmt.Fprintf(stdout, "%-12s %s\n", s.Name, s.Summary)
		}
		return 0
	}
	var chosen []*sim.Scenario
	if o.scenario == "" {
		chosen = catalog
	} else {
		for _, s := range catalog {
			if s.Name == o.scenario {
				chosen = []*sim.Scenario{s}
			}
		}
		if chosen == nil {
			fmt.Fprintf(stderr, "sim: unknown scenario %q (see -list)\n", o.scenario)
			return 2
		}
	}
	switch {
	case seed != "" && seeds != "":
		fmt.Fprintln(stderr, "sim: give -seed or -seeds, not both")
		return 2
	case seed != "":
		n, err := strconv.ParseUint(seed, 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "sim: bad -seed %q\n", seed)
			return 2
		}
		o.first, o.last = n, n
		o.seedSet = true
	case seeds != "":
		first, last, ok := parseRange(seeds)
		if !ok {
			fmt.Fprintf(stderr, "sim: bad -seeds %q (want A-B)\n", seeds)
			return 2
		}
		o.first, o.last = first, last
	default:
		fmt.Fprintln(stderr, "sim: give -seed N, -seeds A-B or -list")
		flags.Usage()
		return 2
	}
	if o.parallel < 1 || o.verbose {
		o.parallel = 1
	}
	failed := false
	for _, s := range chosen {
		if !sweep(s, o) {
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

func parseRange(s string) (uint64, uint64, bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	return first, last, err1 == nil && err2 == nil && first <= last
}

// outcome is one seed's result (and its second run when checking determinism).
type outcome struct {
	result sim.Result
	second *sim.Result
	wall   time.Duration
}

// sweep runs every seed of the range on s and reports; it returns false on any failure.
func sweep(s *sim.Scenario, o options) bool {
	count := int(o.last - o.first + 1)
	outcomes := make([]outcome, count)
	var next sync.Mutex
	index := 0
	var wg sync.WaitGroup
	for worker := 0; worker < o.parallel && worker < count; worker++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := index
				index++
				next.Unlock()
				if i >= count {
					return
				}
				outcomes[i] = runSeed(s, o.first+uint64(i), o)
			}
		}()
	}
	wg.Wait()

	ok := true
	var events uint64
	var virtual, wall time.Duration
	failures := 0
	for _, oc := range outcomes {
		r := oc.result
		events += r.Events
		virtual += r.VirtualTime
		wall += oc.wall
		nondeterministic := oc.second != nil && !sameRun(r, *oc.second)
		if o.seedSet || r.Violation != nil || nondeterministic {
			report(r, oc, nondeterministic, o)
		}
		if r.Violation != nil || nondeterministic {
			ok = false
			failures++
		}
	}
	if !o.seedSet || o.bench {
		fmt.Fprintf(o.stdout, "%s: seeds %d-%d: %d failed; %d events, %.0fs simulated in %.1fs of run time\n",
			s.Name, o.first, o.last, failures, events, virtual.Seconds(), wall.Seconds())
	}
	if o.bench && wall > 0 {
		fmt.Fprintf(o.stdout, "%s: %.0f events per wall second, %.1f simulated seconds per wall second (per core)\n",
			s.Name, float64(events)/wall.Seconds(), virtual.Seconds()/wall.Seconds())
	}
	return ok
}

func runSeed(s *sim.Scenario, seed uint64, o options) outcome {
	simOptions := sim.Options{DiskSafetyOnly: o.diskSafetyOnly}
	if o.verbose {
		simOptions.Trace = func(line string) { fmt.Fprintln(o.stdout, line) }
	}
	start := time.Now()
	oc := outcome{result: sim.Run(s, seed, simOptions)}
	oc.wall = time.Since(start)
	if o.checkDeterminism {
		second := sim.Run(s, seed, sim.Options{DiskSafetyOnly: o.diskSafetyOnly})
		oc.second = &second
	}
	return oc
}

// sameRun compares what must replay exactly.
func sameRun(a, b sim.Result) bool {
	return a.Hash == b.Hash && a.Events == b.Events && fmt.Sprint(a.Violation) == fmt.Sprint(b.Violation)
}

func report(r sim.Result, oc outcome, nondeterministic bool, o options) {
	status := "ok"
	if r.Violation != nil || nondeterministic {
		status = "FAIL"
	}
	fmt.Fprintf(o.stdout, "%s scenario=%s seed=%d hash=%016x events=%d virtual=%v\n",
		status, r.Scenario, r.Seed, r.Hash, r.Events, r.VirtualTime)
	if nondeterministic {
		fmt.Fprintf(o.stdout, "NONDETERMINISTIC scenario=%s seed=%d: hash %016x vs %016x, events %d vs %d\n",
			r.Scenario, r.Seed, r.Hash, oc.second.Hash, r.Events, oc.second.Events)
	}
	if r.Violation != nil {
		fmt.Fprintf(o.stdout, "  violation: %v\n", r.Violation)
	}
	for _, a := range r.Artifacts {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			fmt.Fprintf(o.stdout, "  artifact %s: %v\n", a.Name, err)
			continue
		}
		path := filepath.Join(o.out, a.Name)
		if err := os.WriteFile(path, a.Data, 0o644); err != nil {
			fmt.Fprintf(o.stdout, "  artifact %s: %v\n", a.Name, err)
			continue
		}
		fmt.Fprintf(o.stdout, "  wrote %s\n", path)
	}
	if r.Violation != nil || nondeterministic {
		fmt.Fprintf(o.stdout, "  replay: %s\n", r.ReplayCommand())
	}
}
