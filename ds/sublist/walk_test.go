package sublist

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/ds/stree"
	"github.com/natsim/natsim/ds/subject"
)

// TestSubjectsAndWalk proves Subjects and Walk report every subscription once, sorted by
// subject, and that Walk stops when asked.
func TestSubjectsAndWalk(t *testing.T) {
	s := New[int]()
	mustInsert(t, s, "b.>", "", 1)
	mustInsert(t, s, "a.*", "", 2)
	mustInsert(t, s, "a.b", "q", 3)
	mustInsert(t, s, "a.b", "", 4)
	mustInsert(t, s, "a", "", 5)
	if got, want := s.Subjects(), []string{"a", "a.*", "a.b", "b.>"}; !slices.Equal(got, want) {
		t.Errorf("Subjects = %q, want %q", got, want)
	}
	var walked []string
	s.Walk(func(subject, queue string, value int) bool {
		walked = append(walked, fmt.Sprintf("%s/%s/%d", subject, queue, value))
		return true
	})
	if want := []string{"a//5", "a.*//2", "a.b//4", "a.b/q/3", "b.>//1"}; !slices.Equal(walked, want) {
		t.Errorf("Walk = %q, want %q", walked, want)
	}
	calls := 0
	s.Walk(func(string, string, int) bool { calls++; return false })
	if calls != 1 {
		t.Errorf("Walk went on for %d calls after a stop", calls)
	}
}

// TestIntersectStree proves the intersection reports, once each and in order, exactly the
// tree subjects some subscription matches, for random trees and sublists.
func TestIntersectStree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tokens := []string{"a", "b", "c", "10"}
		literal := rapid.Custom(func(t *rapid.T) string {
			return strings.Join(rapid.SliceOfN(rapid.SampledFrom(tokens), 1, 3).Draw(t, "tokens"), ".")
		})
		filter := rapid.Custom(func(t *rapid.T) string {
			drawn := rapid.SliceOfN(rapid.SampledFrom(append(tokens, "*", ">")), 1, 3).Draw(t, "tokens")
			return strings.Join(drawn, ".")
		})
		tree := stree.NewSubjectTree[int]()
		subjects := rapid.SliceOfNDistinct(literal, 0, 30, func(s string) string { return s }).Draw(t, "subjects")
		for i, subject := range subjects {
			tree.Insert([]byte(subject), i)
		}
		s := New[int]()
		filters := rapid.SliceOfN(filter, 0, 5).Draw(t, "filters")
		for i, f := range filters {
			_ = s.Insert(f, "", i) // Invalid filters ('>' not last) are refused and ignored.
		}
		var want []string
		for _, candidate := range subjects {
			for _, f := range s.Subjects() {
				if subject.MatchesFilter(candidate, f) {
					want = append(want, candidate)
					break
				}
			}
		}
		slices.Sort(want)
		var got []string
		IntersectStree(tree, s, func(subject []byte, value *int) {
			if subjects[*value] != string(subject) {
				t.Fatalf("subject %q came with the value of %q", subject, subjects[*value])
			}
			got = append(got, string(subject))
		})
		if !slices.Equal(got, want) {
			t.Fatalf("IntersectStree = %q, want %q", got, want)
		}
	})
}
