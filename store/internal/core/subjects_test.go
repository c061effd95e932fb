package core

import (
	"fmt"
	"testing"

	"github.com/natsim/natsim/store"
	"pgregory.net/rapid"
)

// nopBackend journals nothing.
type nopBackend struct{}

func (nopBackend) Append(*Entry, int64, []byte, []byte) error { return nil }
func (nopBackend) Load(*Entry, *store.StoreMsg) error         { return store.ErrStoreMsgNotFound }
func (nopBackend) Remove(*Entry, bool) error                  { return nil }
func (nopBackend) Skip(uint64, uint64) error                  { return nil }
func (nopBackend) Purge(uint64, uint64, bool) error           { return nil }
func (nopBackend) Released(*Entry)                            {}

// TestRecentSubjectsModel proves that the subject states found through
// recentSubjects stay those of the tree while subjects come and go (stores,
// removals, per-subject limits, purges, compactions, truncations), including past
// recentSubjectsMax subjects: the per-subject counts and sequences agree with a plain
// list of the live messages, every cached state is the tree's own, and Intern hands
// back the index's string.
func TestRecentSubjectsModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		subjects := rapid.IntRange(1, recentSubjectsMax+50).Draw(t, "subjects")
		perSubject := rapid.IntRange(0, 3).Draw(t, "perSubject")
		s := New(store.StreamConfig{Name: "T", MaxMsgsPer: int64(perSubject)}, nopBackend{})
		type live struct {
			seq     uint64
			subject string
		}
		var model []live
		subjectName := func(t *rapid.T) string {
			// Nested names share prefixes, so leaves split and merge in the tree.
			n := rapid.IntRange(0, subjects-1).Draw(t, "subject")
			return fmt.Sprintf("s.%d.%d", n%7, n)
		}
		removeSeq := func(seq uint64) {
			for i, m := range model {
				if m.seq == seq {
					model = append(model[:i], model[i+1:]...)
					return
				}
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"store": func(t *rapid.T) {
				subject := subjectName(t)
				seq := s.Last() + 1
				if err := s.StoreMsg(subject, nil, []byte("x"), seq, int64(seq), 0, false); err != nil {
					t.Fatal(err)
				}
				model = append(model, live{seq, subject})
				if perSubject > 0 {
					var kept []live
					count := 0
					for i := len(model) - 1; i >= 0; i-- {
						if model[i].subject == subject {
							count++
							if count > perSubject {
								continue
							}
						}
						kept = append(kept, model[i])
					}
					for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
						kept[i], kept[j] = kept[j], kept[i]
					}
					model = kept
				}
			},
			"remove": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				seq := model[rapid.IntRange(0, len(model)-1).Draw(t, "index")].seq
				if ok, err := s.Remove(seq, false, false); !ok || err != nil {
					t.Fatalf("remove %d: %v %v", seq, ok, err)
				}
				removeSeq(seq)
			},
			"compact": func(t *rapid.T) {
				seq := uint64(rapid.IntRange(1, int(s.Last())+2).Draw(t, "seq"))
				if _, err := s.Compact(seq, false); err != nil {
					t.Fatal(err)
				}
				var kept []live
				for _, m := range model {
					if m.seq >= seq {
						kept = append(kept, m)
					}
				}
				model = kept
			},
			"truncate": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				seq := model[rapid.IntRange(0, len(model)-1).Draw(t, "index")].seq
				if err := s.Truncate(seq, false); err != nil {
					t.Fatal(err)
				}
				var kept []live
				for _, m := range model {
					if m.seq <= seq {
						kept = append(kept, m)
					}
				}
				model = kept
			},
			"purge": func(t *rapid.T) {
				if rapid.IntRange(0, 9).Draw(t, "rarely") != 0 {
					t.Skip("rare")
				}
				if _, err := s.Purge(false); err != nil {
					t.Fatal(err)
				}
				model = nil
			},
			"": func(t *rapid.T) {
				want := map[string]store.SimpleState{}
				for _, m := range model {
					state := want[m.subject]
					if state.Msgs == 0 {
						state.First = m.seq
					}
					state.Msgs++
					state.Last = m.seq
					want[m.subject] = state
				}
				got := s.SubjectsState(">")
				if len(got) != len(want) {
					t.Fatalf("%d subjects, want %d", len(got), len(want))
				}
				for subject, w := range want {
					if g := got[subject]; g != w {
						t.Fatalf("subject %s: %+v, want %+v", subject, g, w)
					}
				}
				if len(s.recentSubjects) > recentSubjectsMax {
					t.Fatalf("%d recent subjects, more than %d", len(s.recentSubjects), recentSubjectsMax)
				}
				for name, cached := range s.recentSubjects {
					inTree, ok := s.subjects.Find([]byte(name))
					if !ok || inTree != cached || cached.name != name {
						t.Fatalf("recent subject %s is not the tree's state", name)
					}
				}
				for subject := range want {
					if interned := s.Intern([]byte(subject)); interned != subject {
						t.Fatalf("Intern(%s) = %s", subject, interned)
					}
				}
			},
		})
	})
}
