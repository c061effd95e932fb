package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/scenarios"
	"github.com/natsim/natsim/sim"
)

// TestParseRange proves the -seeds syntax.
func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		in          string
		first, last uint64
		ok          bool
	}{
		{"1-200", 1, 200, true},
		{"7-7", 7, 7, true},
		{"9-3", 0, 0, false},
		{"12", 0, 0, false},
		{"a-b", 0, 0, false},
	} {
		first, last, ok := parseRange(c.in)
		if ok != c.ok || (ok && (first != c.first || last != c.last)) {
			t.Errorf("parseRange(%q) = %d, %d, %v", c.in, first, last, ok)
		}
	}
}

// invoke runs the CLI over catalog and returns its exit code and standard output.
func invoke(t *testing.T, catalog []*sim.Scenario, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, catalog, &stdout, &stderr)
	if testing.Verbose() {
		t.Logf("sim %s -> %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	return code, stdout.String()
}

// testWorkload is a small scenario for the CLI's tests: two processes exchange timer
// ticks that are noted in the trace, and the check fails on the seeds the test picks.
type testWorkload struct {
	failOn func(seed uint64) bool
	world  *sim.World
}

func (w *testWorkload) StartLiveness()  {}
func (w *testWorkload) Converged() bool { return true }
func (w *testWorkload) Check() error {
	if w.failOn != nil && w.failOn(w.world.Seed()) {
		w.world.AddArtifact(fmt.Sprintf("test-seed-%d.html", w.world.Seed()), []byte("<html>seed</html>"))
		return errors.New("test: history is wrong")
	}
	return nil
}

// testScenario builds a scenario named name; failOn picks the failing seeds, and
// extra, when set, is noted in the trace at boot (a nondeterministic value makes the
// scenario nondeterministic).
func testScenario(name string, failOn func(uint64) bool, extra func() string) *sim.Scenario {
	return &sim.Scenario{
		Name:       name,
		Summary:    "a CLI test scenario named " + name,
		ServersMin: 2,
		ServersMax: 2,
		Configure: func(c *sim.Config) {
			c.Safety = 500 * time.Millisecond
			c.LivenessBound = 100 * time.Millisecond
		},
		Setup: func(w *sim.World) sim.Workload {
			for i := 1; i <= w.Config().Servers; i++ {
				name := fmt.Sprintf("p%d", i)
				w.Spawn(name, sim.ProcessOptions{Faulty: true}, func(e env.Env) any {
					p := w.Process(name)
					if extra != nil {
						w.Note(p, extra())
					}
					var tick func()
					tick = func() {
						w.Note(p, fmt.Sprintf("tick %d", e.Rand.Intn(1000)))
						e.Clock.AfterFunc(time.Duration(1+e.Rand.Intn(50))*time.Millisecond, tick)
					}
					tick()
					return nil
				})
			}
			return &testWorkload{failOn: failOn, world: w}
		},
	}
}

// reportLine matches one seed's status line and captures the status, seed and hash.
var reportLine = regexp.MustCompile(`(?m)^(ok|FAIL) scenario=(\S+) seed=(\d+) hash=([0-9a-f]{16}) events=\d+`)

// TestRunExitCodes proves the CLI exits 0 on passing runs, 1 on a violation, and 2 on
// usage errors, with the real scenarios and with test ones.
func TestRunExitCodes(t *testing.T) {
	real := scenarios.All()
	if code, _ := invoke(t, real, "-seed", "1", "-scenario", "mesh"); code != 0 {
		t.Fatalf("-seed 1 -scenario mesh exited %d", code)
	}
	if code, _ := invoke(t, real, "-seeds", "1-2", "-check-determinism", "-scenario", "register"); code != 0 {
		t.Fatalf("determinism check exited %d", code)
	}
	catalog := []*sim.Scenario{testScenario("fails", func(uint64) bool { return true }, nil)}
	if code, _ := invoke(t, catalog, "-seed", "3", "-out", t.TempDir()); code != 1 {
		t.Fatalf("a failing seed exited %d, want 1", code)
	}
	if code, _ := invoke(t, catalog, "-seeds", "1-3", "-out", t.TempDir()); code != 1 {
		t.Fatalf("a failing sweep exited %d, want 1", code)
	}
	for _, args := range [][]string{
		{}, {"-seed", "x"}, {"-seeds", "5-1"}, {"-seed", "1", "-scenario", "nope"},
		{"-seed", "1", "-seeds", "1-2"}, {"-no-such-flag"}, {"-seed", "1", "stray"},
	} {
		if code, _ := invoke(t, real, args...); code != 2 {
			t.Errorf("%v exited %d, want 2", args, code)
		}
	}
}

// TestList proves -list prints every scenario with its summary, one per line.
func TestList(t *testing.T) {
	code, out := invoke(t, scenarios.All(), "-list")
	if code != 0 {
		t.Fatalf("-list exited %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(scenarios.All()) {
		t.Fatalf("-list printed %d lines for %d scenarios:\n%s", len(lines), len(scenarios.All()), out)
	}
	for i, s := range scenarios.All() {
		if fields := strings.Fields(lines[i]); len(fields) < 2 || fields[0] != s.Name ||
			!strings.HasSuffix(lines[i], s.Summary) {
			t.Errorf("line %d is %q, want %s and its summary", i, lines[i], s.Name)
		}
	}
	for _, name := range []string{"register", "mesh"} {
		if !strings.Contains(out, name+" ") {
			t.Errorf("-list lacks %s", name)
		}
	}
}

// TestSweepPrintsReplayCommands proves a sweep reports exactly the failing seeds, each
// with its violation, its artifact's path and a replay command, and that running the
// printed replay command reproduces the same violation and trace hash.
func TestSweepPrintsReplayCommands(t *testing.T) {
	failing := map[uint64]bool{2: true, 5: true}
	catalog := []*sim.Scenario{
		testScenario("flaky", func(seed uint64) bool { return failing[seed] }, nil),
		testScenario("other", nil, nil),
	}
	out := t.TempDir()
	code, text := invoke(t, catalog, "-seeds", "1-6", "-scenario", "flaky", "-out", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	reports := reportLine.FindAllStringSubmatch(text, -1)
	if len(reports) != len(failing) {
		t.Fatalf("%d seeds reported, want the %d failing ones:\n%s", len(reports), len(failing), text)
	}
	if !strings.Contains(text, "flaky: seeds 1-6: 2 failed") {
		t.Errorf("no sweep summary:\n%s", text)
	}
	replays := regexp.MustCompile(`(?m)^  replay: go run \./cmd/sim (.*)$`).FindAllStringSubmatch(text, -1)
	if len(replays) != len(failing) {
		t.Fatalf("%d replay commands for %d failures:\n%s", len(replays), len(failing), text)
	}
	for i, report := range reports {
		seed := report[3]
		if report[1] != "FAIL" || report[2] != "flaky" || !failing[parseSeed(t, seed)] {
			t.Fatalf("unexpected report %q", report[0])
		}
		if want := "-seed " + seed + " -scenario flaky"; replays[i][1] != want {
			t.Fatalf("replay arguments %q, want %q", replays[i][1], want)
		}
		artifact := filepath.Join(out, "test-seed-"+seed+".html")
		if data, err := os.ReadFile(artifact); err != nil || !bytes.Contains(data, []byte("<html>")) {
			t.Fatalf("artifact %s: %v", artifact, err)
		}
		if !strings.Contains(text, "  wrote "+artifact) {
			t.Errorf("artifact path %s not printed", artifact)
		}

		args := append(strings.Fields(replays[i][1]), "-out", t.TempDir())
		replayCode, replayText := invoke(t, catalog, args...)
		if replayCode != 1 {
			t.Fatalf("replay of seed %s exited %d, want 1", seed, replayCode)
		}
		again := reportLine.FindStringSubmatch(replayText)
		if again == nil || again[0] != report[0] || !strings.Contains(replayText, "violation: test: history is wrong") {
			t.Fatalf("replay of seed %s reported\n%s\nwant %s", seed, replayText, report[0])
		}
	}
	if !strings.Contains(text, "violation: test: history is wrong") {
		t.Errorf("violation not printed:\n%s", text)
	}
}

func parseSeed(t *testing.T, s string) uint64 {
	t.Helper()
	var seed uint64
	if _, err := fmt.Sscan(s, &seed); err != nil {
		t.Fatal(err)
	}
	return seed
}

// TestCheckDeterminismFails proves -check-determinism exits 1 and names the seed when
// two runs of it differ, while the same scenario passes without the check; the replay
// command is printed for the nondeterministic seed.
func TestCheckDeterminismFails(t *testing.T) {
	calls := 0
	catalog := []*sim.Scenario{testScenario("leaky", nil, func() string {
		// State that outlives a run, the kind of leak the check exists to find.
		calls++
		return fmt.Sprintf("boot %d", calls)
	})}
	if code, _ := invoke(t, catalog, "-seeds", "1-2", "-parallel", "1"); code != 0 {
		t.Fatalf("without the check the sweep exited %d", code)
	}
	code, text := invoke(t, catalog, "-seeds", "1-2", "-parallel", "1", "-check-determinism")
	if code != 1 {
		t.Fatalf("-check-determinism exited %d, want 1", code)
	}
	for _, seed := range []string{"1", "2"} {
		if !regexp.MustCompile(`(?m)^FAIL scenario=leaky seed=` + seed + ` `).MatchString(text) {
			t.Errorf("seed %s not marked FAIL:\n%s", seed, text)
		}
		if !strings.Contains(text, "NONDETERMINISTIC scenario=leaky seed="+seed+":") {
			t.Errorf("seed %s not reported as nondeterministic:\n%s", seed, text)
		}
		if !strings.Contains(text, "replay: go run ./cmd/sim -seed "+seed+" -scenario leaky") {
			t.Errorf("no replay command for seed %s", seed)
		}
	}
	deterministic := []*sim.Scenario{testScenario("steady", nil, nil)}
	if code, text := invoke(t, deterministic, "-seeds", "1-3", "-check-determinism"); code != 0 ||
		strings.Contains(text, "NONDETERMINISTIC") {
		t.Fatalf("a deterministic scenario failed the check (exit %d):\n%s", code, text)
	}
}

// TestVerboseTrace proves -v prints the drawn configuration, one line per event in
// virtual time order, the end-of-run summary and the result, and that tracing does
// not change the run: the hash equals the one printed without -v.
func TestVerboseTrace(t *testing.T) {
	real := scenarios.All()
	_, quiet := invoke(t, real, "-seed", "7", "-scenario", "register")
	code, text := invoke(t, real, "-seed", "7", "-scenario", "register", "-v")
	if code != 0 {
		t.Fatalf("-v exited %d", code)
	}
	quietReport, verboseReport := reportLine.FindString(quiet), reportLine.FindString(text)
	if quietReport == "" || quietReport != verboseReport {
		t.Fatalf("report without -v %q, with -v %q", quietReport, verboseReport)
	}
	if !strings.HasPrefix(text, "config: seed=7 ") {
		t.Fatalf("the trace does not start with the configuration:\n%.300s", text)
	}
	event := regexp.MustCompile(`^ *(\d+)\.(\d{9}) (\S+) +(\S+) +(.*)$`)
	events, boots, notes := 0, 0, 0
	previous := ""
	for _, line := range strings.Split(text, "\n") {
		m := event.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		events++
		at := fmt.Sprintf("%12s.%s", m[1], m[2])
		if at < previous {
			t.Fatalf("trace goes back in time at %q", line)
		}
		previous = at
		switch {
		case m[3] == "world" && m[5] == "boot":
			boots++
		case m[3] == "note":
			notes++
		}
	}
	if events < 1000 || boots < 3 || notes == 0 {
		t.Fatalf("trace has %d event lines, %d boots, %d notes", events, boots, notes)
	}
	if !strings.Contains(text, "\nsummary: faults") || !strings.Contains(text, "liveness phase: faults off") {
		t.Fatalf("trace lacks the phase change or the summary")
	}
}

// TestDiskSafetyOnlyFlag proves -disk-safety-only reaches the run (the configuration
// line says so) and is part of the replay command of a failing seed.
func TestDiskSafetyOnlyFlag(t *testing.T) {
	catalog := []*sim.Scenario{testScenario("fails", func(uint64) bool { return true }, nil)}
	code, text := invoke(t, catalog, "-seed", "4", "-disk-safety-only", "-v", "-out", t.TempDir())
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(text, "safety-only=true") {
		t.Fatalf("the configuration does not say safety-only:\n%.400s", text)
	}
	if !strings.Contains(text, "replay: go run ./cmd/sim -seed 4 -scenario fails -disk-safety-only\n") {
		t.Fatalf("replay command lacks -disk-safety-only:\n%s", text)
	}
	if _, plain := invoke(t, catalog, "-seed", "4", "-v", "-out", t.TempDir()); !strings.Contains(plain, "safety-only=false") {
		t.Fatalf("safety-only without the flag")
	}
}
