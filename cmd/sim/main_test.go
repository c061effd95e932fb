package main

import "testing"

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

// TestRunExitCodes proves the CLI exits 0 on passing runs, 2 on usage errors.
func TestRunExitCodes(t *testing.T) {
	if code := run([]string{"-list"}); code != 0 {
		t.Fatalf("-list exited %d", code)
	}
	if code := run([]string{"-seed", "1", "-scenario", "mesh"}); code != 0 {
		t.Fatalf("-seed 1 -scenario mesh exited %d", code)
	}
	if code := run([]string{"-seeds", "1-2", "-check-determinism", "-scenario", "register"}); code != 0 {
		t.Fatalf("determinism check exited %d", code)
	}
	for _, args := range [][]string{{}, {"-seed", "x"}, {"-seeds", "5-1"}, {"-seed", "1", "-scenario", "nope"}, {"-seed", "1", "-seeds", "1-2"}} {
		if code := run(args); code != 2 {
			t.Errorf("%v exited %d, want 2", args, code)
		}
	}
}
