package stree

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// subjectBytesGenerator draws subjects over a tiny alphabet of tokens, including tokens that
// are prefixes of one another, empty tokens and literal wildcard characters, so that splits,
// terminals and collapses are frequent.
func subjectBytesGenerator() *rapid.Generator[string] {
	tokens := []string{"a", "ab", "abc", "b", "1", "2", "10", "*", ""}
	return rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOfN(rapid.SampledFrom(tokens), 1, 4).Draw(t, "tokens"), ".")
	})
}

// filterGenerator draws filters over the same tokens plus wildcards.
func filterGenerator() *rapid.Generator[string] {
	tokens := []string{"a", "ab", "b", "1", "10", "*", "*", ">", ""}
	return rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOfN(rapid.SampledFrom(tokens), 1, 4).Draw(t, "tokens"), ".")
	})
}

// TestTreeStateMachine proves, for random sequences of inserts, deletes, finds, matches and
// iterations, that the tree agrees with a map and a brute-force matcher, and keeps its
// structural invariants after every step.
func TestTreeStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tree := NewSubjectTree[int]()
		model := map[string]int{}
		subjects := subjectBytesGenerator()
		filters := filterGenerator()
		// Bias toward subjects already present so deletes and updates hit.
		pick := func(t *rapid.T) string {
			if len(model) > 0 && rapid.Bool().Draw(t, "existing") {
				return rapid.SampledFrom(slices.Sorted(maps.Keys(model))).Draw(t, "subject")
			}
			return subjects.Draw(t, "subject")
		}
		actions := map[string]func(*rapid.T){
			"insert": func(t *rapid.T) {
				subject, value := pick(t), rapid.Int().Draw(t, "value")
				if subject == "" {
					if old, updated := tree.Insert(nil, value); old != nil || updated {
						t.Fatalf("Insert of the empty subject = %v, %v", old, updated)
					}
					return // The empty subject is refused.
				}
				previous, existed := model[subject]
				old, updated := tree.Insert([]byte(subject), value)
				if updated != existed || (existed && *old != previous) || (!existed && old != nil) {
					t.Fatalf("Insert(%q) = %v, %v; model had %v, %v", subject, old, updated, previous, existed)
				}
				model[subject] = value
			},
			"delete": func(t *rapid.T) {
				subject := pick(t)
				previous, existed := model[subject]
				value, ok := tree.Delete([]byte(subject))
				if ok != existed || (ok && *value != previous) {
					t.Fatalf("Delete(%q) = %v, %v; model had %v, %v", subject, value, ok, previous, existed)
				}
				delete(model, subject)
			},
			"find": func(t *rapid.T) {
				subject := pick(t)
				previous, existed := model[subject]
				value, ok := tree.Find([]byte(subject))
				if ok != existed || (ok && *value != previous) {
					t.Fatalf("Find(%q) = %v, %v; model had %v, %v", subject, value, ok, previous, existed)
				}
			},
			"match": func(t *rapid.T) {
				filter := filters.Draw(t, "filter")
				want := bruteMatch(slices.Collect(maps.Keys(model)), filter)
				got := []string{}
				tree.Match([]byte(filter), func(subject []byte, value *int) {
					if *value != model[string(subject)] {
						t.Fatalf("Match(%q) gave %q = %d, model %d", filter, subject, *value, model[string(subject)])
					}
					got = append(got, string(subject))
				})
				if !slices.Equal(got, want) && len(got)+len(want) > 0 {
					t.Fatalf("Match(%q) = %q, want %q", filter, got, want)
				}
			},
			"matchFilters": func(t *rapid.T) {
				drawn := rapid.SliceOfN(filters, 0, 3).Draw(t, "filters")
				var filterBytes [][]byte
				wantSet := map[string]bool{}
				for _, filter := range drawn {
					filterBytes = append(filterBytes, []byte(filter))
					for _, subject := range bruteMatch(slices.Collect(maps.Keys(model)), filter) {
						wantSet[subject] = true
					}
				}
				want := slices.Sorted(maps.Keys(wantSet))
				got := []string{}
				tree.MatchFilters(filterBytes, func(subject []byte, _ *int) bool {
					got = append(got, string(subject))
					return true
				})
				if !slices.Equal(got, want) && len(got)+len(want) > 0 {
					t.Fatalf("MatchFilters(%q) = %q, want %q", drawn, got, want)
				}
			},
			"iterate": func(t *rapid.T) {
				want := slices.Sorted(maps.Keys(model))
				if got := orderedSubjects(tree); !slices.Equal(got, want) && len(got)+len(want) > 0 {
					t.Fatalf("IterOrdered = %q, want %q", got, want)
				}
				var fast []string
				tree.IterFast(func(subject []byte, _ *int) bool {
					fast = append(fast, string(subject))
					return true
				})
				slices.Sort(fast)
				if !slices.Equal(fast, want) && len(fast)+len(want) > 0 {
					t.Fatalf("IterFast = %q, want %q", fast, want)
				}
			},
			"": func(t *rapid.T) {
				if tree.Size() != len(model) {
					t.Fatalf("Size = %d, model %d", tree.Size(), len(model))
				}
				if err := checkInvariants(tree); err != nil {
					t.Fatal(err)
				}
			},
		}
		// Several rounds give sequences of about 150 operations, long enough for cache
		// eviction and node shrinking to happen; rapid averages 30 steps per Repeat.
		for round := 0; round < 5; round++ {
			t.Repeat(actions)
		}
	})
}

// TestTreeGrowShrinkModel proves the same agreement on wide trees, where nodes pass
// through every size: subjects are two tokens, the second drawn from all byte values.
func TestTreeGrowShrinkModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tree := NewSubjectTree[int]()
		model := map[string]int{}
		operations := rapid.IntRange(50, 600).Draw(t, "operations")
		for i := 0; i < operations; i++ {
			subject := string([]byte{'w', '.', rapid.Byte().Draw(t, "byte")})
			if rapid.IntRange(0, 2).Draw(t, "delete") == 0 {
				_, ok := tree.Delete([]byte(subject))
				if _, existed := model[subject]; ok != existed {
					t.Fatalf("Delete(%q) = %v", subject, ok)
				}
				delete(model, subject)
			} else {
				tree.Insert([]byte(subject), i)
				model[subject] = i
			}
			if err := checkInvariants(tree); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := orderedSubjects(tree), slices.Sorted(maps.Keys(model)); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("IterOrdered = %q, want %q", got, want)
		}
	})
}

// FuzzTree proves insert, find, delete and match stay consistent with a map for subjects
// and filters of arbitrary bytes, and never panic. The input is a list of operations: each
// line's first byte picks the operation and the rest is the subject or filter.
func FuzzTree(f *testing.F) {
	f.Add("ifoo.bar\nifoo\nifoo.baz\nmfoo.*\nm>\ndfoo\nmfoo.>")
	f.Add("ia.b.c\nia..b\nia.\nm*.*\nm*.>\nda.b.c\nm>")
	f.Add("i\x00\xff\ni\xff\nm\xff\nm*")
	f.Fuzz(func(t *testing.T, script string) {
		tree := NewSubjectTree[int]()
		model := map[string]int{}
		for i, line := range strings.Split(script, "\n") {
			if line == "" {
				continue
			}
			operation, argument := line[0], line[1:]
			switch operation % 4 {
			case 0:
				tree.Insert([]byte(argument), i)
				if argument != "" {
					model[argument] = i
				}
			case 1:
				_, ok := tree.Delete([]byte(argument))
				if _, existed := model[argument]; ok != existed {
					t.Fatalf("Delete(%q) = %v", argument, ok)
				}
				delete(model, argument)
			case 2:
				value, ok := tree.Find([]byte(argument))
				if want, existed := model[argument]; ok != existed || (ok && *value != want) {
					t.Fatalf("Find(%q) = %v", argument, ok)
				}
			case 3:
				want := bruteMatch(slices.Collect(maps.Keys(model)), argument)
				var got []string
				tree.Match([]byte(argument), func(subject []byte, _ *int) { got = append(got, string(subject)) })
				if !slices.Equal(got, want) {
					t.Fatalf("Match(%q) = %q, want %q", argument, got, want)
				}
			}
		}
		if err := checkInvariants(tree); err != nil {
			t.Fatal(err)
		}
		if tree.Size() != len(model) {
			t.Fatalf("Size = %d, model %d", tree.Size(), len(model))
		}
	})
}
