package sublist

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// plainOf returns the plain values of a result, sorted, for order-insensitive comparison.
func plainOf(r *Result[int]) []int {
	values := slices.Clone(r.Plain)
	slices.Sort(values)
	return values
}

// queuesOf renders the queue groups of a result as "name:member,member" sorted strings.
func queuesOf(r *Result[int]) []string {
	var groups []string
	for _, group := range r.Queues {
		members := slices.Clone(group.Members)
		slices.Sort(members)
		groups = append(groups, fmt.Sprintf("%s:%v", group.Name, members))
	}
	slices.Sort(groups)
	return groups
}

func mustInsert(t *testing.T, s *Sublist[int], subject, queue string, value int) {
	t.Helper()
	if err := s.Insert(subject, queue, value); err != nil {
		t.Fatalf("Insert(%q, %q, %d): %v", subject, queue, value, err)
	}
}

// TestMatchTable proves matching on the reference's wildcard cases: literal, '*' in every
// position, '>' alone and trailing, overlapping wildcards, and "foo.>" not matching "foo".
func TestMatchTable(t *testing.T) {
	subscriptions := map[int]string{
		1: "foo", 2: "foo.bar", 3: "foo.*", 4: "foo.>", 5: ">", 6: "*", 7: "*.bar",
		8: "foo.*.baz", 9: "foo.bar.baz", 10: "*.*.*", 11: "*.>", 12: "foo.*.>",
	}
	cases := []struct {
		subject string
		want    []int
	}{
		{"foo", []int{1, 5, 6}},
		{"bar", []int{5, 6}},
		{"foo.bar", []int{2, 3, 4, 5, 7, 11}}, // "foo.*.>" needs three tokens.
		{"foo.baz", []int{3, 4, 5, 11}},
		{"foo.bar.baz", []int{4, 5, 8, 9, 10, 11, 12}},
		{"foo.x.baz", []int{4, 5, 8, 10, 11, 12}},
		{"foo.x.y.z", []int{4, 5, 11, 12}},
		{"a.b.c", []int{5, 10, 11}},
		{"foo..bar", nil},
		{"", nil},
		{".foo", nil},
		{"foo.", nil},
	}
	for _, cacheDisabled := range []bool{false, true} {
		s := NewWithOptions[int](Options{CacheDisabled: cacheDisabled})
		for value, subject := range subscriptions {
			mustInsert(t, s, subject, "", value)
		}
		for round := 0; round < 2; round++ { // The second round is served from the cache.
			for _, c := range cases {
				want := c.want
				if got := plainOf(s.Match(c.subject)); !slices.Equal(got, want) {
					t.Errorf("cache off %v: Match(%q) = %v, want %v", cacheDisabled, c.subject, got, want)
				}
				if got := plainOf(s.MatchBytes([]byte(c.subject))); !slices.Equal(got, want) {
					t.Errorf("MatchBytes(%q) = %v, want %v", c.subject, got, want)
				}
				if got := s.HasInterest(c.subject); got != (len(want) > 0) {
					t.Errorf("HasInterest(%q) = %v", c.subject, got)
				}
				if plain, queued := s.NumInterest(c.subject); plain != len(want) || queued != 0 {
					t.Errorf("NumInterest(%q) = %d, %d, want %d, 0", c.subject, plain, queued, len(want))
				}
			}
		}
	}
}

// TestInvalidSubjects proves Insert and Remove reject invalid subjects with the sentinel
// error and change nothing.
func TestInvalidSubjects(t *testing.T) {
	s := New[int]()
	for _, subject := range []string{"", ".", "foo.", ".foo", "foo..bar", "foo.>.bar", ">.>", "foo bar", "foo.\tbar"} {
		if err := s.Insert(subject, "", 1); !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("Insert(%q) = %v, want ErrInvalidSubject", subject, err)
		}
		if err := s.Remove(subject, "", 1); !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("Remove(%q) = %v, want ErrInvalidSubject", subject, err)
		}
	}
	if s.Count() != 0 {
		t.Errorf("Count = %d after invalid inserts", s.Count())
	}
	if err := s.Remove("foo", "", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of absent = %v, want ErrNotFound", err)
	}
	mustInsert(t, s, "foo", "", 1)
	if err := s.Insert("foo", "", 1); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate Insert = %v, want ErrDuplicate", err)
	}
	for _, c := range []struct {
		subject, queue string
		value          int
	}{{"foo", "", 2}, {"foo", "q", 1}, {"foo.bar", "", 1}, {"fo", "", 1}, {"*", "", 1}} {
		if err := s.Remove(c.subject, c.queue, c.value); !errors.Is(err, ErrNotFound) {
			t.Errorf("Remove(%+v) = %v, want ErrNotFound", c, err)
		}
	}
	if s.Count() != 1 {
		t.Errorf("Count = %d, want 1", s.Count())
	}
}

// TestQueueGroups proves queue subscribers come back grouped by queue name, merged across
// the subjects that matched, and apart from plain subscribers.
func TestQueueGroups(t *testing.T) {
	s := New[int]()
	mustInsert(t, s, "foo.bar", "", 1)
	mustInsert(t, s, "foo.bar", "workers", 2)
	mustInsert(t, s, "foo.bar", "workers", 3)
	mustInsert(t, s, "foo.*", "workers", 4)
	mustInsert(t, s, "foo.>", "auditors", 5)
	mustInsert(t, s, "foo.bar", "auditors", 1) // The same value may sit in several places.
	result := s.Match("foo.bar")
	if got := plainOf(result); !slices.Equal(got, []int{1}) {
		t.Errorf("plain = %v", got)
	}
	if got, want := queuesOf(result), []string{"auditors:[1 5]", "workers:[2 3 4]"}; !slices.Equal(got, want) {
		t.Errorf("queues = %v, want %v", got, want)
	}
	if plain, queued := s.NumInterest("foo.bar"); plain != 1 || queued != 5 {
		t.Errorf("NumInterest = %d, %d", plain, queued)
	}
	if result.Len() != 6 {
		t.Errorf("Len = %d", result.Len())
	}
	if err := s.Remove("foo.bar", "workers", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("foo.bar", "workers", 3); err != nil {
		t.Fatal(err)
	}
	if got, want := queuesOf(s.Match("foo.bar")), []string{"auditors:[1 5]", "workers:[4]"}; !slices.Equal(got, want) {
		t.Errorf("after removes queues = %v, want %v", got, want)
	}
	if got, want := queuesOf(s.Match("foo.baz")), []string{"auditors:[5]", "workers:[4]"}; !slices.Equal(got, want) {
		t.Errorf("foo.baz queues = %v, want %v", got, want)
	}
}

// TestRemovePrunes proves that removing every subscription leaves an empty trie, including
// when nodes hold more members than the index threshold.
func TestRemovePrunes(t *testing.T) {
	s := New[int]()
	subjects := []string{"a", "a.b", "a.b.c", "a.*.c", "a.>", "*", ">", "x.y.z"}
	for i, subject := range subjects {
		for j := 0; j < 2*membersIndexThreshold; j++ {
			mustInsert(t, s, subject, "", i*100+j)
			mustInsert(t, s, subject, "q", i*100+j)
		}
	}
	if s.Count() != len(subjects)*4*membersIndexThreshold {
		t.Fatalf("Count = %d", s.Count())
	}
	for i, subject := range subjects {
		for j := 0; j < 2*membersIndexThreshold; j++ {
			if err := s.Remove(subject, "", i*100+j); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(subject, "q", i*100+j); err != nil {
				t.Fatal(err)
			}
		}
		if s.HasInterestStartingIn(subject) && i == len(subjects)-1 {
			t.Errorf("interest left under %q", subject)
		}
	}
	if s.Count() != 0 || !s.root.isEmpty() {
		t.Errorf("trie not empty: count %d, root %+v", s.Count(), s.root)
	}
}

// TestHasInterestStartingIn proves the prefix interest query on the reference's cases.
func TestHasInterestStartingIn(t *testing.T) {
	s := New[int]()
	if s.HasInterestStartingIn("foo") || s.HasInterestStartingIn("") {
		t.Error("interest in an empty sublist")
	}
	mustInsert(t, s, "foo.bar.baz", "", 1)
	mustInsert(t, s, "other", "", 2)
	mustInsert(t, s, "x.*.y", "", 3)
	mustInsert(t, s, "w.>", "", 4)
	cases := []struct {
		prefix string
		want   bool
	}{
		{"", true},
		{"foo", true},
		{"foo.bar", true},
		{"foo.bar.baz", false}, // Nothing has more tokens than the subscription itself.
		{"foo.baz", false},
		{"other", false},
		{"x", true},
		{"x.anything", true},
		{"x.anything.y", false},
		{"w", true},
		{"w.a.b.c", true},
		{"z", false},
	}
	for _, c := range cases {
		if got := s.HasInterestStartingIn(c.prefix); got != c.want {
			t.Errorf("HasInterestStartingIn(%q) = %v, want %v", c.prefix, got, c.want)
		}
	}
	mustInsert(t, s, ">", "", 5)
	if !s.HasInterestStartingIn("z") || !s.HasInterestStartingIn("other") {
		t.Error("'>' does not give interest in every prefix")
	}
}

// TestCacheInvalidation proves a cached result never survives an insert or remove that
// changes it, for literal and wildcard subscriptions, and that results already handed out
// are not modified afterwards.
func TestCacheInvalidation(t *testing.T) {
	s := New[int]()
	mustInsert(t, s, "orders.eu.1", "", 1)
	before := s.Match("orders.eu.1")
	if got := plainOf(before); !slices.Equal(got, []int{1}) {
		t.Fatalf("Match = %v", got)
	}
	unrelated := s.Match("metrics.cpu")
	mustInsert(t, s, "orders.*.1", "", 2)
	if got := plainOf(s.Match("orders.eu.1")); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("after wildcard insert Match = %v", got)
	}
	if got := plainOf(before); !slices.Equal(got, []int{1}) {
		t.Errorf("handed-out result changed to %v", got)
	}
	if s.Match("metrics.cpu") != unrelated {
		t.Error("an unrelated cache entry was invalidated")
	}
	mustInsert(t, s, "orders.eu.1", "q", 3)
	if got := queuesOf(s.Match("orders.eu.1")); !slices.Equal(got, []string{"q:[3]"}) {
		t.Errorf("after literal insert queues = %v", got)
	}
	if err := s.Remove("orders.*.1", "", 2); err != nil {
		t.Fatal(err)
	}
	if got := plainOf(s.Match("orders.eu.1")); !slices.Equal(got, []int{1}) {
		t.Errorf("after wildcard remove Match = %v", got)
	}
	mustInsert(t, s, "metrics.>", "", 4)
	if got := plainOf(s.Match("metrics.cpu")); !slices.Equal(got, []int{4}) {
		t.Errorf("after '>' insert Match = %v", got)
	}
	// A subject matched with a literal '*' token is invalidated by a wildcard that covers it.
	_ = s.Match("orders.*")
	mustInsert(t, s, "orders.*", "", 5)
	if got := plainOf(s.Match("orders.*")); !slices.Equal(got, []int{5}) {
		t.Errorf("Match(orders.*) = %v", got)
	}
}

// TestCacheBounded proves the cache never exceeds its bound and keeps answering correctly
// after evictions.
func TestCacheBounded(t *testing.T) {
	s := NewWithOptions[int](Options{CacheEntriesMax: 16})
	mustInsert(t, s, "a.*", "", 1)
	for i := 0; i < 100; i++ {
		subject := fmt.Sprintf("a.%d", i%40)
		if got := plainOf(s.Match(subject)); !slices.Equal(got, []int{1}) {
			t.Fatalf("Match(%q) = %v", subject, got)
		}
		if entries := s.Stats().CacheEntries; entries > 16 {
			t.Fatalf("cache holds %d entries, bound 16", entries)
		}
	}
	stats := s.Stats()
	if stats.CacheMisses < 40 || stats.CacheMisses > 100 || stats.Subscriptions != 1 || stats.Inserts != 1 {
		t.Errorf("stats = %+v", stats)
	}
}

// TestCachedMatchDoesNotAllocate proves the hot path targets: cached Match and MatchBytes,
// HasInterest and NumInterest do not allocate, nor does a miss that matches nothing.
func TestCachedMatchDoesNotAllocate(t *testing.T) {
	s := New[int]()
	mustInsert(t, s, "orders.*.new", "", 1)
	mustInsert(t, s, "orders.eu.7", "q", 2)
	subjectBytes := []byte("orders.eu.7")
	_ = s.Match("orders.eu.7")
	_ = s.Match("orders.us.new")
	checks := map[string]func(){
		"Match":       func() { _ = s.Match("orders.eu.7") },
		"MatchBytes":  func() { _ = s.MatchBytes(subjectBytes) },
		"HasInterest": func() { _ = s.HasInterest("orders.us.new") },
		"NumInterest": func() { _, _ = s.NumInterest("orders.eu.8") },
		"StartingIn":  func() { _ = s.HasInterestStartingIn("orders.eu") },
	}
	for name, check := range checks {
		if allocations := testing.AllocsPerRun(200, check); allocations != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, allocations)
		}
	}
	uncached := NewWithOptions[int](Options{CacheDisabled: true})
	mustInsert(t, uncached, "orders.*.new", "", 1)
	if allocations := testing.AllocsPerRun(200, func() { _ = uncached.Match("metrics.cpu") }); allocations != 0 {
		t.Errorf("uncached empty Match: %v allocations per call, want 0", allocations)
	}
}

// TestDeterministicOrder proves two sublists fed the same operations return results in
// the same order, which the simulator relies on when it picks queue members.
func TestDeterministicOrder(t *testing.T) {
	build := func() *Sublist[int] {
		s := New[int]()
		for i := 0; i < 200; i++ {
			queue := ""
			if i%3 == 0 {
				queue = fmt.Sprintf("q%d", i%7)
			}
			mustInsert(t, s, []string{"a.b", "a.*", "a.>", ">"}[i%4], queue, i)
		}
		for i := 0; i < 200; i += 5 {
			queue := ""
			if i%3 == 0 {
				queue = fmt.Sprintf("q%d", i%7)
			}
			if err := s.Remove([]string{"a.b", "a.*", "a.>", ">"}[i%4], queue, i); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	first, second := build().Match("a.b"), build().Match("a.b")
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("results differ:\n%v\n%v", first, second)
	}
}

// TestConcurrentUse proves parallel matches, inserts and removes keep the invariants; run
// it with -race. Each writer owns its values, so at the end exactly the survivors remain.
func TestConcurrentUse(t *testing.T) {
	s := NewWithOptions[int](Options{CacheEntriesMax: 64})
	const writers, readers, operationsPerWriter = 4, 4, 400
	var wait sync.WaitGroup
	for w := 0; w < writers; w++ {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for i := 0; i < operationsPerWriter; i++ {
				value := w*operationsPerWriter + i
				subject := fmt.Sprintf("orders.r%d.%d", i%5, i%17)
				if i%4 == 0 {
					subject = fmt.Sprintf("orders.*.%d", i%17)
				}
				if err := s.Insert(subject, "", value); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 1 {
					if err := s.Remove(subject, "", value); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	for r := 0; r < readers; r++ {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for i := 0; i < 2000; i++ {
				subject := fmt.Sprintf("orders.r%d.%d", (i+r)%5, i%17)
				result := s.Match(subject)
				for _, value := range result.Plain {
					if value < 0 || value >= writers*operationsPerWriter {
						t.Errorf("impossible value %d", value)
						return
					}
				}
				_ = s.HasInterest(subject)
				_, _ = s.NumInterest(subject)
				_ = s.MatchBytes([]byte(subject))
			}
		}()
	}
	wait.Wait()
	if got, want := s.Count(), writers*operationsPerWriter/2; got != want {
		t.Errorf("Count = %d, want %d", got, want)
	}
	// After the dust settles, cached and walked results agree for every subject.
	for region := 0; region < 5; region++ {
		for id := 0; id < 17; id++ {
			subject := fmt.Sprintf("orders.r%d.%d", region, id)
			cached := plainOf(s.Match(subject))
			state := matchState[int]{mode: matchCollect}
			matchLevel(s.root, subject, &state)
			walked := []int{}
			if state.result != nil {
				walked = plainOf(state.result)
			}
			if !slices.Equal(cached, walked) && !(len(cached) == 0 && len(walked) == 0) {
				t.Errorf("%s: cached %v, walked %v", subject, cached, walked)
			}
		}
	}
}

// TestLongSubject proves a subject with thousands of tokens neither overflows nor slows
// down matching against many '*' subscriptions.
func TestLongSubject(t *testing.T) {
	s := New[int]()
	tokens := make([]string, 2000)
	for i := range tokens {
		tokens[i] = "*"
	}
	filter := strings.Join(tokens, ".")
	mustInsert(t, s, filter, "", 1)
	mustInsert(t, s, strings.Join(tokens[:1000], ".")+".>", "", 2)
	for i := range tokens {
		tokens[i] = "a"
	}
	if got := plainOf(s.Match(strings.Join(tokens, "."))); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Match = %v", got)
	}
	if err := s.Remove(filter, "", 1); err != nil {
		t.Fatal(err)
	}
}

// TestWildcardCharactersAsLiterals proves '*' and '>' inside longer tokens are literal: they
// neither match other subjects nor get removed by them.
func TestWildcardCharactersAsLiterals(t *testing.T) {
	s := New[int]()
	for i, subject := range []string{"foo.*-", "foo.>-", "foo.a*", "foo.>>"} {
		mustInsert(t, s, subject, "", i)
		if got := plainOf(s.Match("foo.bar")); len(got) != 0 {
			t.Errorf("%q matched foo.bar", subject)
		}
		if got := plainOf(s.Match(subject)); !slices.Equal(got, []int{i}) {
			t.Errorf("Match(%q) = %v", subject, got)
		}
		if err := s.Remove("foo.bar", "", i); !errors.Is(err, ErrNotFound) {
			t.Errorf("Remove(foo.bar) = %v", err)
		}
		if err := s.Remove(subject, "", i); err != nil {
			t.Errorf("Remove(%q) = %v", subject, err)
		}
	}
	if !s.root.isEmpty() {
		t.Error("levels left behind")
	}
}

// TestEmptyTokensMatchNothing proves published subjects with empty tokens match nothing,
// not even '>', and are not cached.
func TestEmptyTokensMatchNothing(t *testing.T) {
	s := New[int]()
	mustInsert(t, s, ">", "", 1)
	mustInsert(t, s, "*.*", "", 2)
	for _, subject := range []string{".foo", "..foo", "foo..", "foo.", "foo..bar", "foo...bar", ".", ""} {
		if got := s.Match(subject); got.Len() != 0 {
			t.Errorf("Match(%q) = %v", subject, got)
		}
		if s.HasInterest(subject) {
			t.Errorf("HasInterest(%q)", subject)
		}
		if plain, queued := s.NumInterest(subject); plain+queued != 0 {
			t.Errorf("NumInterest(%q) = %d, %d", subject, plain, queued)
		}
	}
	if entries := s.Stats().CacheEntries; entries != 0 {
		t.Errorf("%d invalid subjects cached", entries)
	}
}

// TestInterestOverlapping proves interest through overlapping literal and wildcard
// subscriptions of different lengths.
func TestInterestOverlapping(t *testing.T) {
	s := New[int]()
	mustInsert(t, s, "stream.A.child", "", 1)
	mustInsert(t, s, "stream.*", "", 2)
	for subject, want := range map[string]bool{"stream.A.child": true, "stream.A": true, "stream": false, "stream.A.other": false} {
		if got := s.HasInterest(subject); got != want {
			t.Errorf("HasInterest(%q) = %v, want %v", subject, got, want)
		}
	}
	cases := []struct {
		filter string
		want   map[string]bool
	}{
		{"foo.*", map[string]bool{"foo": false, "foo.bar": true, "foo.bar.baz": false}},
		{"foo.>", map[string]bool{"foo": false, "foo.bar": true, "foo.bar.baz": true}},
		{"*.>", map[string]bool{"foo": false, "foo.bar": true, "foo.bar.baz": true}},
		{"*.bar", map[string]bool{"foo": false, "foo.bar": true, "foo.baz": false}},
		{"*", map[string]bool{"foo": true, "foo.bar": false}},
	}
	for _, c := range cases {
		mustInsert(t, s, c.filter, "", 9)
		for subject, want := range c.want {
			if got := s.HasInterest(subject); got != want {
				t.Errorf("with %q, HasInterest(%q) = %v, want %v", c.filter, subject, got, want)
			}
		}
		if err := s.Remove(c.filter, "", 9); err != nil {
			t.Fatal(err)
		}
		for subject := range c.want {
			if s.HasInterest(subject) && !strings.HasPrefix(subject, "stream") {
				t.Errorf("after removing %q, interest in %q remains", c.filter, subject)
			}
		}
	}
}

// TestRemoveBatch proves a batch removes every present subscription, reports the first
// problem, and leaves no stale cached result, including past the wildcard threshold where
// the whole cache is dropped.
func TestRemoveBatch(t *testing.T) {
	s := New[int]()
	var batch []Subscription[int]
	for i := 0; i < 2*removeBatchInvalidationsMax+2; i++ {
		subject := fmt.Sprintf("w%d.*", i)
		if i%2 == 0 {
			subject = fmt.Sprintf("w%d.x", i)
		}
		mustInsert(t, s, subject, "", i)
		batch = append(batch, Subscription[int]{Subject: subject, Value: i})
		_ = s.Match(fmt.Sprintf("w%d.x", i))
	}
	mustInsert(t, s, "keep.x", "", -1)
	_ = s.Match("keep.x")
	batch = append(batch, Subscription[int]{Subject: "absent", Value: 1}, Subscription[int]{Subject: "bad..subject", Value: 1})
	if err := s.RemoveBatch(batch[len(batch)-1:]); !errors.Is(err, ErrInvalidSubject) {
		t.Errorf("RemoveBatch of an invalid subject = %v", err)
	}
	if err := s.RemoveBatch(batch); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveBatch = %v, want ErrNotFound first", err)
	}
	if s.Count() != 1 {
		t.Errorf("Count = %d, want 1", s.Count())
	}
	for i := 0; i < 2*removeBatchInvalidationsMax+2; i++ {
		if got := s.Match(fmt.Sprintf("w%d.x", i)); got.Len() != 0 {
			t.Errorf("stale result for w%d.x: %v", i, got)
		}
	}
	if got := plainOf(s.Match("keep.x")); !slices.Equal(got, []int{-1}) {
		t.Errorf("Match(keep.x) = %v", got)
	}
}

// TestMatchBytesDoesNotRetainBuffer proves the cache keeps its own copy of a subject given
// as bytes, so a reused read buffer cannot corrupt cached entries.
func TestMatchBytesDoesNotRetainBuffer(t *testing.T) {
	s := New[int]()
	mustInsert(t, s, "foo.bar", "", 1)
	buffer := []byte("foo.bar")
	if got := plainOf(s.MatchBytes(buffer)); !slices.Equal(got, []int{1}) {
		t.Fatalf("MatchBytes = %v", got)
	}
	copy(buffer, "xxx.yyy")
	if got := s.Match("xxx.yyy"); got.Len() != 0 {
		t.Errorf("Match(xxx.yyy) = %v after the buffer was reused", got)
	}
	if got := plainOf(s.Match("foo.bar")); !slices.Equal(got, []int{1}) {
		t.Errorf("Match(foo.bar) = %v after the buffer was reused", got)
	}
	if s.MatchBytes(nil).Len() != 0 {
		t.Error("MatchBytes(nil) matched")
	}
}

// TestSubjectForwards proves the reference-named helpers forward to ds/subject.
func TestSubjectForwards(t *testing.T) {
	if !IsValidSubject("foo.*") || IsValidPublishSubject("foo.*") || !IsValidLiteralSubject("foo.bar") {
		t.Error("validity forwards disagree")
	}
	if !SubjectMatchesFilter("foo.bar", "foo.*") || !SubjectIsSubsetMatch("foo.*", "foo.>") || !SubjectsCollide("foo.*", "*.bar") {
		t.Error("matching forwards disagree")
	}
	if got := TokenizeSubject(nil, "a.b"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("TokenizeSubject = %q", got)
	}
	if !New[int]().CacheEnabled() || NewWithOptions[int](Options{CacheDisabled: true}).CacheEnabled() {
		t.Error("CacheEnabled is wrong")
	}
}

// TestMatchBytesUncachedLeavesCacheAlone checks that a one-off subject matched without
// the cache finds the same subscriptions and adds no cache entry.
func TestMatchBytesUncachedLeavesCacheAlone(t *testing.T) {
	s := New[int]()
	if err := s.Insert("_INBOX.abc.*", "", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert("_INBOX.>", "q", 2); err != nil {
		t.Fatal(err)
	}
	result := s.MatchBytesUncached([]byte("_INBOX.abc.1"))
	if len(result.Plain) != 1 || result.Plain[0] != 1 || len(result.Queues) != 1 || result.Queues[0].Members[0] != 2 {
		t.Fatalf("MatchBytesUncached = %+v", result)
	}
	if got := s.MatchBytesUncached([]byte("other")); len(got.Plain)+len(got.Queues) != 0 {
		t.Fatalf("MatchBytesUncached(other) = %+v, want empty", got)
	}
	if entries := s.Stats().CacheEntries; entries != 0 {
		t.Fatalf("cache entries = %d after uncached matches, want 0", entries)
	}
}
