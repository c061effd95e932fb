package stree

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestMatchRegressions proves matching on subject sets that broke other radix-tree subject
// matchers: separators right after a shared prefix, long shared tokens, several wildcards,
// filters with quote characters around wildcards (which make them literal tokens), trailing
// NUL bytes, and the DEL byte some trees reserve. Every case is checked against the
// brute-force definition and must not panic.
func TestMatchRegressions(t *testing.T) {
	nuls := "foo.bar.baz_" + strings.Repeat("\x00", 10)
	sets := []struct {
		subjects []string
		filters  []string
	}{
		{
			[]string{"foo.xxxxx.foo1234.zz", "foo.yyy.foo123.zz", "foo.yyybar789.zz", "foo.yyy.foo12345.zz", "foo.yyy.foo12345.yy", "foo.yyy.foo123456789.zz"},
			[]string{"foo.*.foo123456789.*", "foo.*.*.zzz.foo.>", "foo.yyy*", "foo.*.*.zz", "foo.>"},
		},
		{
			[]string{"A.B.C.D.0.G.H.I.0", "A.B.C.D.1.G.H.I.0"},
			[]string{"A.B.*.D.1.*.*.I.0", "*.*.*.*.*.*.*.*.*", "A.>"},
		},
		{
			[]string{"foo.123", "one.two.three.four.five", "'*.123"},
			[]string{"invalid.>", ">", "'*.*", "'*.*.*'", "`>`", `">"`, "'>'", "'*.>'", "'*.>.", "`invalid.>`", "'*.*'", ".", "..", "*.", ".*"},
		},
		{
			[]string{"STATE.GLOBAL.CELL1.7PDSGAALXNN000010.PROPERTY-A", "STATE.GLOBAL.CELL1.7PDSGAALXNN000010.PROPERTY-B", "STATE.GLOBAL.CELL1.7PDSGAALXNN000010.PROPERTY-C"},
			[]string{"STATE.GLOBAL.CELL1.7PDSGAALXNN000010.*", "STATE.*.*.*.PROPERTY-B", "STATE.GLOBAL.CELL1.7PDSGAALXNN000010"},
		},
		{
			[]string{"0d00.2abbb82c1d.6e16.fa7f85470e.3e46", "534b12.3486c17249.4dde0666", "6f26aabd.920ee3.d4d3.5ffc69f6", "8850.ade3b74c31.aa533f77.9f59.a4bd8415.b3ed7b4111"},
			[]string{"*.*.*.*", "*.*.*", ">", "534b12.>"},
		},
		{
			[]string{"a1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0", "a2.0", "a1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "a2.1"},
			[]string{"a1.*", "a2.*", "*.0"},
		},
		{
			[]string{nuls, nuls + strings.Repeat("\x00", 10), "foo.bar.\x7f", "foo.bar.\x7f\x7f", "foo.bar"},
			[]string{"foo.bar.*", "foo.>", "*.*.*", "foo.bar.\x7f"},
		},
		{
			[]string{"foo.bar.A", "foo.bar.B", "foo.bar.C", "foo.bar.>", "foo.bar"},
			[]string{">", "foo.>", "foo.bar.>", "foo.bar.*", "foo.*.>"},
		},
	}
	for _, set := range sets {
		tree := NewSubjectTree[int]()
		for i, subject := range set.subjects {
			tree.Insert([]byte(subject), i)
		}
		mustValid(t, tree)
		for i, subject := range set.subjects {
			if value, ok := tree.Find([]byte(subject)); !ok || *value != i {
				t.Errorf("Find(%q) = %v, %v", subject, value, ok)
			}
		}
		for _, filter := range set.filters {
			want := bruteMatch(set.subjects, filter)
			if got := matchAll(tree, filter); !slices.Equal(got, want) {
				t.Errorf("Match(%q) = %q, want %q", filter, got, want)
			}
		}
		// Deleting half the subjects keeps the rest findable (a merged prefix bug lost them).
		for _, subject := range set.subjects[:len(set.subjects)/2] {
			tree.Delete([]byte(subject))
		}
		mustValid(t, tree)
		for _, subject := range set.subjects[len(set.subjects)/2:] {
			if _, ok := tree.Find([]byte(subject)); !ok {
				t.Errorf("after deletes, Find(%q) failed", subject)
			}
		}
	}
}

// TestMatchDoubleWildcardAgainstIteration proves '*' in two positions over a wide tree
// agrees with filtering a full iteration.
func TestMatchDoubleWildcardAgainstIteration(t *testing.T) {
	tree := NewSubjectTree[int]()
	var subjects []string
	for i := 1; i <= 5000; i++ {
		subject := fmt.Sprintf("foo.%d.%d", (i*7)%20+1, i)
		subjects = append(subjects, subject)
		tree.Insert([]byte(subject), i)
	}
	for _, filter := range []string{"foo.*.*", "*.2.*", "*.*.222", "foo.1*.>", "*.*.*.*"} {
		want := bruteMatch(subjects, filter)
		if got := matchAll(tree, filter); !slices.Equal(got, want) {
			t.Errorf("Match(%q) found %d subjects, want %d", filter, len(got), len(want))
		}
	}
}

// TestNilCallbacksAndNilTrees proves nil callbacks and nil trees are harmless.
func TestNilCallbacksAndNilTrees(t *testing.T) {
	tree := NewSubjectTree[int]()
	tree.Insert([]byte("foo.bar"), 1)
	tree.Match([]byte("foo.*"), nil)
	tree.Match([]byte("foo.bar"), nil)
	tree.MatchUntil([]byte("foo.*"), nil)
	tree.IterOrdered(nil)
	tree.IterFast(nil)
	var nilTree *SubjectTree[int]
	nilTree.Match([]byte("foo"), func([]byte, *int) { t.Error("nil tree matched") })
	if _, ok := nilTree.Delete([]byte("foo")); ok {
		t.Error("nil tree deleted")
	}
	if _, updated := nilTree.Insert([]byte("foo"), 1); updated {
		t.Error("nil tree updated")
	}
	if nilTree.Empty() == nil {
		t.Error("Empty on a nil tree returned nil")
	}
	LazyIntersect(nilTree, tree, func([]byte, *int, *int) { t.Error("nil tree intersected") })
}

// TestLazyIntersect proves the intersection of two trees of different value types reports
// exactly the common subjects, once each, in order, with both values, whichever is smaller.
func TestLazyIntersect(t *testing.T) {
	numbers := NewSubjectTree[int]()
	words := NewSubjectTree[string]()
	for i := 0; i < 100; i++ {
		numbers.Insert([]byte(fmt.Sprintf("large.%d", i)), i)
	}
	words.Insert([]byte("large.5"), "five")
	words.Insert([]byte("large.50"), "fifty")
	words.Insert([]byte("large.10"), "ten")
	words.Insert([]byte("large"), "prefix only")
	words.Insert([]byte("small.only"), "none")
	want := map[string]string{"large.10": "10/ten", "large.5": "5/five", "large.50": "50/fifty"}
	for _, swapped := range []bool{false, true} {
		got := map[string]string{}
		var order []string
		record := func(subject []byte, number *int, word *string) {
			if _, seen := got[string(subject)]; seen {
				t.Errorf("%q reported twice", subject)
			}
			got[string(subject)] = fmt.Sprintf("%d/%s", *number, *word)
			order = append(order, string(subject))
		}
		if swapped {
			LazyIntersect(words, numbers, func(subject []byte, word *string, number *int) { record(subject, number, word) })
		} else {
			LazyIntersect(numbers, words, record)
		}
		if !maps.Equal(got, want) || !slices.IsSorted(order) {
			t.Errorf("swapped %v: intersection %v in order %q, want %v", swapped, got, order, want)
		}
	}
}
