package sublist

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/ds/subject"
)

// modelSubscription is one entry of the trivially correct model: a list of subscriptions.
type modelSubscription struct {
	subject, queue string
	value          int
}

// sublistModel answers every query by brute force over the list.
type sublistModel struct {
	subscriptions []modelSubscription
}

func (m *sublistModel) find(want modelSubscription) int {
	return slices.Index(m.subscriptions, want)
}

// match returns the sorted plain values and the sorted "queue:[members]" groups.
func (m *sublistModel) match(subj string) (plain []int, queues []string) {
	groups := map[string][]int{}
	if slices.Contains(strings.Split(subj, "."), "") {
		return nil, nil // A subject with an empty token matches nothing.
	}
	for _, subscription := range m.subscriptions {
		if !subject.MatchesFilter(subj, subscription.subject) {
			continue
		}
		if subscription.queue == "" {
			plain = append(plain, subscription.value)
		} else {
			groups[subscription.queue] = append(groups[subscription.queue], subscription.value)
		}
	}
	slices.Sort(plain)
	for name, members := range groups {
		slices.Sort(members)
		queues = append(queues, fmt.Sprintf("%s:%v", name, members))
	}
	slices.Sort(queues)
	return plain, queues
}

// startingIn is the definition of HasInterestStartingIn: some subscription matches a
// subject made of prefix plus at least one more token.
func (m *sublistModel) startingIn(prefix string) bool {
	if prefix == "" {
		return len(m.subscriptions) > 0
	}
	prefixTokens := strings.Split(prefix, ".")
	for _, subscription := range m.subscriptions {
		filterTokens := strings.Split(subscription.subject, ".")
		matched, fullWildcard := true, false
		for i, prefixToken := range prefixTokens {
			if i >= len(filterTokens) {
				matched = false
				break
			}
			if filterTokens[i] == ">" {
				fullWildcard = true
				break
			}
			if filterTokens[i] != "*" && filterTokens[i] != prefixToken {
				matched = false
				break
			}
		}
		if matched && (fullWildcard || len(filterTokens) > len(prefixTokens)) {
			return true
		}
	}
	return false
}

// subjectGenerator draws subscription subjects over a tiny alphabet so that collisions
// and overlapping wildcards are frequent; a few are invalid on purpose.
func subjectGenerator(wildcards bool) *rapid.Generator[string] {
	alphabet := []string{"a", "b", "c"}
	if wildcards {
		alphabet = append(alphabet, "*", "*", ">", "")
	}
	return rapid.Custom(func(t *rapid.T) string {
		tokens := rapid.SliceOfN(rapid.SampledFrom(alphabet), 1, 4).Draw(t, "tokens")
		return strings.Join(tokens, ".")
	})
}

// TestSublistStateMachine proves, for random sequences of inserts, removes and queries, that
// a cached Sublist (with a tiny cache, so eviction happens) and an uncached one answer every
// query exactly as the brute-force model does.
func TestSublistStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		model := &sublistModel{}
		sublists := []*Sublist[int]{
			NewWithOptions[int](Options{CacheEntriesMax: 4}),
			NewWithOptions[int](Options{CacheDisabled: true}),
		}
		filters := subjectGenerator(true)
		literals := subjectGenerator(false)
		queues := rapid.SampledFrom([]string{"", "", "q1", "q2"})
		values := rapid.IntRange(0, 4)
		actions := map[string]func(*rapid.T){
			"insert": func(t *rapid.T) {
				subscription := modelSubscription{filters.Draw(t, "subject"), queues.Draw(t, "queue"), values.Draw(t, "value")}
				var want error
				switch {
				case !subject.IsValidSubject(subscription.subject):
					want = ErrInvalidSubject
				case model.find(subscription) >= 0:
					want = ErrDuplicate
				default:
					model.subscriptions = append(model.subscriptions, subscription)
				}
				for _, s := range sublists {
					if err := s.Insert(subscription.subject, subscription.queue, subscription.value); !errors.Is(err, want) {
						t.Fatalf("Insert(%+v) = %v, want %v", subscription, err, want)
					}
				}
			},
			"remove": func(t *rapid.T) {
				subscription := modelSubscription{filters.Draw(t, "subject"), queues.Draw(t, "queue"), values.Draw(t, "value")}
				if len(model.subscriptions) > 0 && rapid.Bool().Draw(t, "existing") {
					subscription = rapid.SampledFrom(model.subscriptions).Draw(t, "subscription")
				}
				var want error
				if !subject.IsValidSubject(subscription.subject) {
					want = ErrInvalidSubject
				} else if position := model.find(subscription); position < 0 {
					want = ErrNotFound
				} else {
					model.subscriptions = slices.Delete(model.subscriptions, position, position+1)
				}
				for _, s := range sublists {
					if err := s.Remove(subscription.subject, subscription.queue, subscription.value); !errors.Is(err, want) {
						t.Fatalf("Remove(%+v) = %v, want %v", subscription, err, want)
					}
				}
			},
			"removeBatch": func(t *rapid.T) {
				var batch []Subscription[int]
				for i := rapid.IntRange(0, 3).Draw(t, "size"); i > 0; i-- {
					candidate := modelSubscription{filters.Draw(t, "subject"), queues.Draw(t, "queue"), values.Draw(t, "value")}
					if len(model.subscriptions) > 0 && rapid.Bool().Draw(t, "existing") {
						candidate = rapid.SampledFrom(model.subscriptions).Draw(t, "subscription")
					}
					batch = append(batch, Subscription[int]{Subject: candidate.subject, Queue: candidate.queue, Value: candidate.value})
				}
				var want error
				for _, removed := range batch {
					position := model.find(modelSubscription{removed.Subject, removed.Queue, removed.Value})
					switch {
					case !subject.IsValidSubject(removed.Subject):
						want = cmp.Or(want, ErrInvalidSubject)
					case position < 0:
						want = cmp.Or(want, ErrNotFound)
					default:
						model.subscriptions = slices.Delete(model.subscriptions, position, position+1)
					}
				}
				for _, s := range sublists {
					if err := s.RemoveBatch(batch); !errors.Is(err, want) {
						t.Fatalf("RemoveBatch(%+v) = %v, want %v", batch, err, want)
					}
				}
			},
			"match": func(t *rapid.T) {
				subj := literals.Draw(t, "subject")
				if rapid.IntRange(0, 9).Draw(t, "odd") == 0 {
					subj = filters.Draw(t, "odd subject") // Wildcards taken literally, empty tokens.
				}
				wantPlain, wantQueues := model.match(subj)
				for _, s := range sublists {
					// The uncached match runs first so that a cached entry it wrongly left
					// behind would be served by the cached ones and caught by the model.
					uncached := s.MatchBytesUncached([]byte(subj))
					for _, result := range []*Result[int]{uncached, s.Match(subj), s.MatchBytes([]byte(subj))} {
						if got := plainOf(result); !slices.Equal(got, wantPlain) {
							t.Fatalf("Match(%q) plain = %v, want %v", subj, got, wantPlain)
						}
						if got := queuesOf(result); !slices.Equal(got, wantQueues) {
							t.Fatalf("Match(%q) queues = %v, want %v", subj, got, wantQueues)
						}
					}
					queued := 0
					for _, group := range wantQueues {
						queued += strings.Count(group, " ") + 1
					}
					if plain, gotQueued := s.NumInterest(subj); plain != len(wantPlain) || gotQueued != queued {
						t.Fatalf("NumInterest(%q) = %d, %d, want %d, %d", subj, plain, gotQueued, len(wantPlain), queued)
					}
					if got := s.HasInterest(subj); got != (len(wantPlain)+queued > 0) {
						t.Fatalf("HasInterest(%q) = %v", subj, got)
					}
				}
			},
			"startingIn": func(t *rapid.T) {
				prefix := literals.Draw(t, "prefix")
				want := model.startingIn(prefix)
				for _, s := range sublists {
					if got := s.HasInterestStartingIn(prefix); got != want {
						t.Fatalf("HasInterestStartingIn(%q) = %v, want %v", prefix, got, want)
					}
				}
			},
			"": func(t *rapid.T) {
				for _, s := range sublists {
					if s.Count() != len(model.subscriptions) {
						t.Fatalf("Count = %d, want %d", s.Count(), len(model.subscriptions))
					}
					if len(model.subscriptions) == 0 && !s.root.isEmpty() {
						t.Fatalf("empty sublist keeps nodes: %+v", s.root)
					}
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

// FuzzSublist proves that arbitrary subjects, queues and operation sequences never panic
// and that the Sublist agrees with the brute-force model. Each line of the script is an
// operation byte, then subject and queue separated by a tab.
func FuzzSublist(f *testing.F) {
	f.Add("ifoo.bar\t\nifoo.*\tq\nmfoo.bar\nrfoo.*\tq\nmfoo.bar")
	f.Add("i>\t\ni*.>\tq\nm \nia..b\t\nm.\nr>\t")
	f.Add("ifoo bar\t\nifoo.>.bar\t\nm\x00")
	f.Fuzz(func(t *testing.T, script string) {
		model := &sublistModel{}
		s := NewWithOptions[int](Options{CacheEntriesMax: 2})
		for i, line := range strings.Split(script, "\n") {
			if line == "" {
				continue
			}
			subj, queue, _ := strings.Cut(line[1:], "\t")
			subscription := modelSubscription{subject: subj, queue: queue, value: i % 3}
			switch line[0] % 3 {
			case 0:
				err := s.Insert(subj, queue, subscription.value)
				valid := subject.IsValidSubject(subj)
				if (err == nil) != (valid && model.find(subscription) < 0) {
					t.Fatalf("Insert(%q, %q) = %v", subj, queue, err)
				}
				if err == nil {
					model.subscriptions = append(model.subscriptions, subscription)
				}
			case 1:
				err := s.Remove(subj, queue, subscription.value)
				position := model.find(subscription)
				if (err == nil) != (position >= 0) {
					t.Fatalf("Remove(%q, %q) = %v", subj, queue, err)
				}
				if err == nil {
					model.subscriptions = slices.Delete(model.subscriptions, position, position+1)
				}
			case 2:
				wantPlain, wantQueues := model.match(subj)
				result := s.Match(subj)
				if !slices.Equal(plainOf(result), wantPlain) || !slices.Equal(queuesOf(result), wantQueues) {
					t.Fatalf("Match(%q) = %v, want %v %v", subj, result, wantPlain, wantQueues)
				}
				_ = s.HasInterestStartingIn(subj)
			}
		}
		if s.Count() != len(model.subscriptions) {
			t.Fatalf("Count = %d, model %d", s.Count(), len(model.subscriptions))
		}
	})
}
