package stree

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// matchAll returns the subjects Match reports, in visit order.
func matchAll(t *SubjectTree[int], filter string) []string {
	var subjects []string
	t.Match([]byte(filter), func(subject []byte, _ *int) {
		subjects = append(subjects, string(subject))
	})
	return subjects
}

func orderedSubjects(t *SubjectTree[int]) []string {
	var subjects []string
	t.IterOrdered(func(subject []byte, _ *int) bool {
		subjects = append(subjects, string(subject))
		return true
	})
	return subjects
}

func mustValid(tb testing.TB, tree *SubjectTree[int]) {
	tb.Helper()
	if err := checkInvariants(tree); err != nil {
		tb.Fatal(err)
	}
}

// TestBasics proves insert, update, find and delete on one subject, the empty subject being
// refused, and Empty.
func TestBasics(t *testing.T) {
	tree := NewSubjectTree[int]()
	if tree.Size() != 0 {
		t.Fatal("new tree not empty")
	}
	if old, updated := tree.Insert([]byte("foo.bar"), 22); old != nil || updated {
		t.Fatalf("first insert = %v, %v", old, updated)
	}
	if old, updated := tree.Insert([]byte("foo.bar"), 33); old == nil || *old != 22 || !updated {
		t.Fatalf("update = %v, %v", old, updated)
	}
	if value, ok := tree.Find([]byte("foo.bar")); !ok || *value != 33 {
		t.Fatalf("Find = %v, %v", value, ok)
	}
	for _, missing := range []string{"foo", "foo.ba", "foo.bar.baz", "", "bar"} {
		if _, ok := tree.Find([]byte(missing)); ok {
			t.Errorf("Find(%q) found something", missing)
		}
		if _, ok := tree.Delete([]byte(missing)); ok {
			t.Errorf("Delete(%q) deleted something", missing)
		}
	}
	if _, updated := tree.Insert(nil, 1); updated || tree.Size() != 1 {
		t.Error("empty subject was stored")
	}
	if value, ok := tree.Delete([]byte("foo.bar")); !ok || *value != 33 || tree.Size() != 0 {
		t.Fatalf("Delete = %v, %v, size %d", value, ok, tree.Size())
	}
	tree.Insert([]byte("a"), 1)
	tree.Insert([]byte("b"), 2)
	if tree.Empty().Size() != 0 || len(orderedSubjects(tree)) != 0 {
		t.Error("Empty left subjects")
	}
	var nilTree *SubjectTree[int]
	if nilTree.Size() != 0 || nilTree.MatchUntil([]byte(">"), nil) {
		t.Error("nil tree is not empty")
	}
	if _, ok := nilTree.Find([]byte("a")); ok {
		t.Error("nil tree found something")
	}
}

// TestInsertCopiesSubject proves the tree keeps its own copy of subjects, so callers may
// reuse their buffers.
func TestInsertCopiesSubject(t *testing.T) {
	tree := NewSubjectTree[int]()
	buffer := []byte("foo.bar")
	tree.Insert(buffer, 1)
	copy(buffer, "xxx.xxx")
	if _, ok := tree.Find([]byte("foo.bar")); !ok {
		t.Error("subject changed with the caller's buffer")
	}
}

// TestPrefixSubjects proves subjects that are prefixes of one another (terminal leaves) and
// leaf and node splits at every position.
func TestPrefixSubjects(t *testing.T) {
	tree := NewSubjectTree[int]()
	subjects := []string{"foo.bar.baz", "foo", "foo.bar", "foo.b", "f", "foo.bar.bazz", "foo.bar.ba", "fo"}
	for i, subject := range subjects {
		tree.Insert([]byte(subject), i)
		mustValid(t, tree)
	}
	for i, subject := range subjects {
		if value, ok := tree.Find([]byte(subject)); !ok || *value != i {
			t.Errorf("Find(%q) = %v, %v", subject, value, ok)
		}
	}
	want := slices.Clone(subjects)
	slices.Sort(want)
	if got := orderedSubjects(tree); !slices.Equal(got, want) {
		t.Errorf("ordered = %q, want %q", got, want)
	}
	for i, subject := range subjects {
		if value, ok := tree.Delete([]byte(subject)); !ok || *value != i {
			t.Fatalf("Delete(%q) = %v, %v", subject, value, ok)
		}
		mustValid(t, tree)
		for _, remaining := range subjects[i+1:] {
			if _, ok := tree.Find([]byte(remaining)); !ok {
				t.Fatalf("after deleting %q, %q is gone", subject, remaining)
			}
		}
	}
	if tree.root != nil {
		t.Errorf("root left after deleting everything: %T", tree.root)
	}
}

// nodeKindAt returns the type of the node that holds the children after prefix.
func nodeKindAt(tree *SubjectTree[int]) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", tree.root), "*stree.")
}

// TestNodeGrowAndShrink proves a node grows through every size as children are added and
// shrinks back, with hysteresis, as they are removed.
func TestNodeGrowAndShrink(t *testing.T) {
	tree := NewSubjectTree[int]()
	subjectOf := func(i int) []byte { return []byte{'x', '.', byte(i)} }
	wantGrow := map[int]string{2: "node4[int]", 4: "node4[int]", 5: "node10[int]", 10: "node10[int]", 11: "node16[int]", 16: "node16[int]", 17: "node48[int]", 48: "node48[int]", 49: "node256[int]", 256: "node256[int]"}
	for i := 0; i < 256; i++ {
		tree.Insert(subjectOf(i), i)
		if want, ok := wantGrow[i+1]; ok {
			if got := nodeKindAt(tree); got != want {
				t.Errorf("with %d children the node is %s, want %s", i+1, got, want)
			}
		}
		mustValid(t, tree)
	}
	wantShrink := map[int]string{41: "node256[int]", 40: "node48[int]", 13: "node48[int]", 12: "node16[int]", 9: "node16[int]", 8: "node10[int]", 4: "node10[int]", 3: "node4[int]", 2: "node4[int]", 1: "leaf[int]"}
	for i := 255; i >= 0; i-- {
		if _, ok := tree.Delete(subjectOf(i)); !ok {
			t.Fatalf("Delete(%d) failed", i)
		}
		if want, ok := wantShrink[i]; ok {
			if got := nodeKindAt(tree); got != want {
				t.Errorf("with %d children the node is %s, want %s", i, got, want)
			}
		}
		mustValid(t, tree)
	}
	if tree.root != nil || tree.Size() != 0 {
		t.Error("tree not empty")
	}
}

// TestDeleteCollapses proves that deleting down to one child merges a node into its child,
// joining their prefixes, and that the merged tree still finds everything.
func TestDeleteCollapses(t *testing.T) {
	tree := NewSubjectTree[int]()
	tree.Insert([]byte("orders.eu.1"), 1)
	tree.Insert([]byte("orders.eu.2"), 2)
	tree.Insert([]byte("orders.us.1"), 3)
	root := tree.root.(inner[int]).header()
	if string(root.prefix) != "orders." || root.count != 2 {
		t.Fatalf("root prefix %q with %d children", root.prefix, root.count)
	}
	tree.Delete([]byte("orders.us.1"))
	mustValid(t, tree)
	merged := tree.root.(inner[int]).header()
	if string(merged.prefix) != "orders.eu." || merged.count != 2 {
		t.Errorf("after collapse prefix %q with %d children", merged.prefix, merged.count)
	}
	tree.Delete([]byte("orders.eu.1"))
	if l := tree.root.leaf(); l == nil || string(l.subject) != "orders.eu.2" {
		t.Errorf("after second delete root is %T", tree.root)
	}
	// A node with a terminal and one child stays; losing the child leaves the terminal leaf.
	tree.Insert([]byte("orders.eu"), 4)
	tree.Delete([]byte("orders.eu.2"))
	if l := tree.root.leaf(); l == nil || string(l.subject) != "orders.eu" {
		t.Errorf("terminal not promoted, root is %T", tree.root)
	}
	mustValid(t, tree)
}

// TestMatchTable proves wildcard matching on edge cases: '>' alone, '*' in the middle and at
// the ends, overlapping wildcards, "foo.>" not matching "foo", empty tokens, and partial
// tokens not being wildcards.
func TestMatchTable(t *testing.T) {
	tree := NewSubjectTree[int]()
	subjects := []string{"foo", "foo.bar", "foo.bar.baz", "foo.baz.baz", "foo.bar.baz.qux", "bar", "foo*", "foo.*", "a..b", "a.x.b", "a.", "22.33", "223"}
	for i, subject := range subjects {
		tree.Insert([]byte(subject), i)
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{">", []string{"22.33", "223", "a.", "a..b", "a.x.b", "bar", "foo", "foo*", "foo.*", "foo.bar", "foo.bar.baz", "foo.bar.baz.qux", "foo.baz.baz"}},
		{"*", []string{"223", "bar", "foo", "foo*"}},
		{"foo", []string{"foo"}},
		{"foo.>", []string{"foo.*", "foo.bar", "foo.bar.baz", "foo.bar.baz.qux", "foo.baz.baz"}},
		{"foo.*", []string{"foo.*", "foo.bar"}},
		{"foo.*.baz", []string{"foo.bar.baz", "foo.baz.baz"}},
		{"*.*.baz", []string{"foo.bar.baz", "foo.baz.baz"}},
		{"*.bar.>", []string{"foo.bar.baz", "foo.bar.baz.qux"}},
		{"*.*.*.*", []string{"foo.bar.baz.qux"}},
		{"foo.*.*.>", []string{"foo.bar.baz.qux"}},
		{"a.*.b", []string{"a..b", "a.x.b"}},
		{"a.*", []string{"a."}},
		{"a.>", []string{"a.", "a..b", "a.x.b"}},
		{"fo*", nil},
		{"foo*", []string{"foo*"}},
		{"22.*", []string{"22.33"}},
		{"2*", nil},
		{"", nil},
		{"nothing.>", nil},
		{"foo.bar.baz.qux.more", nil},
	}
	for _, c := range cases {
		got := matchAll(tree, c.filter)
		if !slices.Equal(got, c.want) {
			t.Errorf("Match(%q) = %q, want %q", c.filter, got, c.want)
		}
		// The table agrees with the brute-force definition.
		if brute := bruteMatch(subjects, c.filter); !slices.Equal(brute, c.want) {
			t.Errorf("brute Match(%q) = %q, want %q", c.filter, brute, c.want)
		}
	}
}

// TestMatchUntilAndIterationStop proves that returning false stops walks at once.
func TestMatchUntilAndIterationStop(t *testing.T) {
	tree := NewSubjectTree[int]()
	for i := 0; i < 100; i++ {
		tree.Insert([]byte(fmt.Sprintf("a.%d", i)), i)
	}
	calls := 0
	stopped := tree.MatchUntil([]byte("a.*"), func([]byte, *int) bool {
		calls++
		return calls < 5
	})
	if !stopped || calls != 5 {
		t.Errorf("MatchUntil stopped %v after %d calls", stopped, calls)
	}
	if tree.MatchUntil([]byte("a.*"), func([]byte, *int) bool { return true }) {
		t.Error("MatchUntil reported a stop that did not happen")
	}
	// A literal filter is a lookup; stopping on its only subject is still a stop.
	if !tree.MatchUntil([]byte("a.7"), func([]byte, *int) bool { return false }) {
		t.Error("MatchUntil on a literal did not report its stop")
	}
	if tree.MatchUntil([]byte("a.missing"), func([]byte, *int) bool { return false }) {
		t.Error("MatchUntil on an absent literal reported a stop")
	}
	for _, iterate := range []func(func([]byte, *int) bool){tree.IterOrdered, tree.IterFast} {
		calls = 0
		iterate(func([]byte, *int) bool {
			calls++
			return calls < 7
		})
		if calls != 7 {
			t.Errorf("iteration went on for %d calls", calls)
		}
	}
}

// TestOrderedVersusFastIteration proves IterOrdered is lexicographic and IterFast visits
// the same subjects exactly once, in an order that differs when node48s are involved.
func TestOrderedVersusFastIteration(t *testing.T) {
	tree := NewSubjectTree[int]()
	var want []string
	// Inserting bytes in descending order makes node48 slot order differ from byte order.
	for i := 40; i >= 0; i-- {
		subject := fmt.Sprintf("m.%c.x", 'A'+i)
		tree.Insert([]byte(subject), i)
		want = append(want, subject)
	}
	slices.Sort(want)
	ordered := orderedSubjects(tree)
	if !slices.Equal(ordered, want) {
		t.Errorf("ordered = %q", ordered)
	}
	var fast []string
	tree.IterFast(func(subject []byte, _ *int) bool {
		fast = append(fast, string(subject))
		return true
	})
	if slices.Equal(fast, want) {
		t.Error("fast iteration happened to be ordered; the test no longer exercises node48")
	}
	slices.Sort(fast)
	if !slices.Equal(fast, want) {
		t.Errorf("fast iteration visited %q", fast)
	}
}

// TestMatchFilters proves matching several overlapping filters visits each subject once,
// in order.
func TestMatchFilters(t *testing.T) {
	tree := NewSubjectTree[int]()
	subjects := []string{"a.b", "a.c", "b.b", "b.c", "c.c.c", "a.b.c"}
	for i, subject := range subjects {
		tree.Insert([]byte(subject), i)
	}
	var got []string
	filters := [][]byte{[]byte("a.*"), []byte("*.b"), []byte("a.b"), []byte("c.>"), []byte("")}
	tree.MatchFilters(filters, func(subject []byte, _ *int) bool {
		got = append(got, string(subject))
		return true
	})
	if want := []string{"a.b", "a.c", "b.b", "c.c.c"}; !slices.Equal(got, want) {
		t.Errorf("MatchFilters = %q, want %q", got, want)
	}
}

// TestLongSubjects proves subjects far deeper than the inline stacks work without
// recursion, and that matching them still finds them.
func TestLongSubjects(t *testing.T) {
	tree := NewSubjectTree[int]()
	var subjects []string
	// Each subject branches from the previous one a little further along, giving a
	// tree hundreds of nodes deep.
	base := strings.Repeat("t.", 400)
	for i := 0; i < 400; i++ {
		subject := base[:2*i] + "x"
		subjects = append(subjects, subject)
		tree.Insert([]byte(subject), i)
	}
	mustValid(t, tree)
	slices.Sort(subjects)
	if got := orderedSubjects(tree); !slices.Equal(got, subjects) {
		t.Errorf("ordered walk of a deep tree lost subjects: %d of %d", len(got), len(subjects))
	}
	if got := matchAll(tree, ">"); len(got) != 400 {
		t.Errorf("Match(>) = %d subjects", len(got))
	}
	if got := matchAll(tree, strings.Repeat("*.", 10)+"x"); len(got) != 1 {
		t.Errorf("Match(*.*...x) = %q", got)
	}
	for _, subject := range subjects {
		if _, ok := tree.Delete([]byte(subject)); !ok {
			t.Fatalf("Delete(%q) failed", subject)
		}
	}
	mustValid(t, tree)
}

// TestNoAllocations proves Find, Match, MatchUntil and both iterations do not allocate.
func TestNoAllocations(t *testing.T) {
	tree := NewSubjectTree[int]()
	for i := 0; i < 1000; i++ {
		tree.Insert([]byte(fmt.Sprintf("orders.%s.%d", []string{"eu", "us", "ap"}[i%3], i)), i)
	}
	subject := []byte("orders.us.301")
	filter := []byte("orders.*.30*")
	wildcard := []byte("orders.eu.>")
	count := 0
	checks := map[string]func(){
		"Find":       func() { _, _ = tree.Find(subject) },
		"Match":      func() { tree.Match(wildcard, func([]byte, *int) { count++ }) },
		"MatchUntil": func() { tree.MatchUntil(filter, func([]byte, *int) bool { count++; return true }) },
		"Ordered":    func() { tree.IterOrdered(func([]byte, *int) bool { count++; return true }) },
		"Fast":       func() { tree.IterFast(func([]byte, *int) bool { count++; return true }) },
	}
	for name, check := range checks {
		if allocations := testing.AllocsPerRun(50, check); allocations != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, allocations)
		}
	}
	if count == 0 {
		t.Error("no callbacks ran")
	}
}

// bruteMatch is the definition Match is held to: filter every subject, then sort.
func bruteMatch(subjects []string, filter string) []string {
	var matched []string
	for _, subject := range subjects {
		if matchesFilter(subject, filter) {
			matched = append(matched, subject)
		}
	}
	slices.Sort(matched)
	return matched
}

// matchesFilter restates subject.MatchesFilter over split tokens.
func matchesFilter(subject, filter string) bool {
	if subject == "" || filter == "" {
		return false
	}
	subjectTokens, filterTokens := strings.Split(subject, "."), strings.Split(filter, ".")
	for i, filterToken := range filterTokens {
		if filterToken == ">" {
			return len(subjectTokens) > i
		}
		if i >= len(subjectTokens) || (filterToken != "*" && filterToken != subjectTokens[i]) {
			return false
		}
	}
	return len(subjectTokens) == len(filterTokens)
}
