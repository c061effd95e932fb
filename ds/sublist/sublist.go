// Package sublist matches subjects against subscriptions: a trie of subject tokens whose
// nodes hold plain and queue subscribers, with the '*' and '>' wildcards, and a bounded
// cache of match results for the server's publish hot path.
//
// A Sublist is generic over the subscriber value, which only needs to be comparable (the
// server stores subscription pointers). It is safe for concurrent use: matches run in
// parallel under a read lock, and inserts and removes take the write lock.
//
// The package lives in ds/ and imports only the standard library, ds/subject and ds/stree
// (for IntersectStree); it must never import store/, node/ or anything above them.
package sublist

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/natsim/natsim/ds/subject"
)

// Sentinel errors returned by Insert and Remove. The texts are the reference server's.
var (
	// ErrInvalidSubject: the subject has an empty token, whitespace, or a '>' that is not
	// the last token. It is the same value as subject.ErrInvalidSubject.
	ErrInvalidSubject = subject.ErrInvalidSubject
	// ErrNotFound: Remove found no subscription with that subject, queue and value.
	ErrNotFound = errors.New("sublist no matches found")
	// ErrDuplicate: Insert found a subscription with the same subject, queue and value.
	// Values identify subscriptions, so the server never inserts one twice.
	ErrDuplicate = errors.New("sublist duplicate subscription")
)

// CacheEntriesMaxDefault is the number of match results a Sublist caches unless told
// otherwise. It is the reference server's slCacheMax.
const CacheEntriesMaxDefault = 1024

// Result is what a subject matched: plain subscribers, and queue subscribers grouped by
// queue name so the caller can deliver to one member of each group. Results may be shared
// between callers and cached, so callers must not modify them. The order of values is a
// deterministic function of the operations applied to the Sublist.
type Result[T comparable] struct {
	// Plain holds the values of the matching subscriptions without a queue group.
	Plain []T
	// Queues holds one entry per distinct queue name among the matching subscriptions.
	Queues []QueueGroup[T]
}

// QueueGroup is the matching members of one queue group.
type QueueGroup[T comparable] struct {
	// Name is the queue group name given to Insert.
	Name string
	// Members holds the values of the matching subscriptions in this group; never empty.
	Members []T
}

// Len returns the number of subscriptions in the result, plain and queued.
func (r *Result[T]) Len() int {
	count := len(r.Plain)
	for i := range r.Queues {
		count += len(r.Queues[i].Members)
	}
	return count
}

// Options configure a Sublist.
type Options struct {
	// CacheDisabled turns the match result cache off; every Match walks the trie.
	CacheDisabled bool
	// CacheEntriesMax bounds the cache; zero means CacheEntriesMaxDefault.
	CacheEntriesMax int
}

// Stats are counters for monitoring (the reference's subsz endpoint).
type Stats struct {
	// Subscriptions is the number of subscriptions held.
	Subscriptions int
	// CacheEntries is the number of cached match results.
	CacheEntries int
	// Inserts and Removes count successful calls.
	Inserts, Removes uint64
	// CacheMisses counts Match and MatchBytes calls that walked the trie. Calls answered
	// from the cache are not counted, because a counter shared by every publisher costs
	// more than the cached match itself; callers that want a hit rate count their own
	// matches (the server counts inbound messages anyway).
	CacheMisses uint64
}

// Sublist is a subscription trie. The zero value is not usable; call New.
type Sublist[T comparable] struct {
	mutex sync.RWMutex
	root  *level[T]
	count int
	// generation changes on every successful Insert or Remove. A match computed under the
	// read lock is cached only if the generation is unchanged when the write lock is taken,
	// so a result never outlives the change that made it stale.
	generation uint64
	cache      *resultCache[T]
	// empty is returned for subjects nothing matches, so those matches never allocate.
	empty *Result[T]

	inserts, removes, cacheMisses atomic.Uint64
}

// level is one token position of the trie: the literal tokens seen there and the two
// wildcards, kept apart so that matching looks them up without a map access.
type level[T comparable] struct {
	nodes           map[string]*node[T]
	partialWildcard *node[T]
	fullWildcard    *node[T]
}

// node is one token at one level: the subscriptions whose subject ends here and the level
// of the next token.
type node[T comparable] struct {
	next  *level[T]
	plain members[T]
	// queues holds one group per queue name. Subjects rarely carry more than a handful of
	// queue groups, so a slice searched linearly beats a map.
	queues []*queueGroup[T]
}

// New returns an empty Sublist with a result cache of CacheEntriesMaxDefault entries.
func New[T comparable]() *Sublist[T] {
	return NewWithOptions[T](Options{})
}

// NewWithOptions returns an empty Sublist configured by options.
func NewWithOptions[T comparable](options Options) *Sublist[T] {
	s := &Sublist[T]{root: &level[T]{}, empty: &Result[T]{}}
	if !options.CacheDisabled {
		entriesMax := options.CacheEntriesMax
		if entriesMax <= 0 {
			entriesMax = CacheEntriesMaxDefault
		}
		s.cache = newResultCache[T](entriesMax)
	}
	return s
}

// CacheEnabled reports whether the Sublist caches match results.
func (s *Sublist[T]) CacheEnabled() bool { return s.cache != nil }

// Insert adds the subscription (subj, queue, value); an empty queue means a plain
// subscription. It returns ErrInvalidSubject for an invalid subject and ErrDuplicate when
// the same subscription is already present.
func (s *Sublist[T]) Insert(subj, queue string, value T) error {
	if !subject.IsValidSubject(subj) {
		return ErrInvalidSubject
	}
	s.mutex.Lock()
	defer s.mutex.Unlock()
	l := s.root
	var n *node[T]
	for remaining, more := subj, true; more; {
		var token string
		token, remaining, more = subject.Cut(remaining)
		n = l.child(token)
		if n == nil {
			n = l.addChild(token)
		}
		if more {
			if n.next == nil {
				n.next = &level[T]{}
			}
			l = n.next
		}
	}
	if !n.add(queue, value) {
		return ErrDuplicate
	}
	s.count++
	s.generation++
	s.inserts.Add(1)
	if s.cache != nil {
		s.cache.invalidate(subj)
	}
	return nil
}

// Remove deletes the subscription (subj, queue, value). It returns ErrInvalidSubject for an
// invalid subject and ErrNotFound when no such subscription is present. Nodes and levels
// left empty are pruned, so memory follows the live subscriptions.
func (s *Sublist[T]) Remove(subj, queue string, value T) error {
	if !subject.IsValidSubject(subj) {
		return ErrInvalidSubject
	}
	s.mutex.Lock()
	defer s.mutex.Unlock()
	if err := s.removeLocked(subj, queue, value); err != nil {
		return err
	}
	if s.cache != nil {
		s.cache.invalidate(subj)
	}
	return nil
}

// Subscription names one subscription, for RemoveBatch.
type Subscription[T comparable] struct {
	Subject, Queue string
	Value          T
}

// removeBatchInvalidationsMax is the number of wildcard removals in one batch above which
// RemoveBatch drops the whole cache instead of scanning it once per wildcard subject.
const removeBatchInvalidationsMax = 16

// RemoveBatch removes several subscriptions under one lock, as when a connection closes.
// Every present subscription is removed even when some are invalid or absent; the first
// such error is returned.
func (s *Sublist[T]) RemoveBatch(subscriptions []Subscription[T]) error {
	s.mutex.Lock()
	defer s.mutex.Unlock()
	var firstError error
	wildcards := 0
	for _, removed := range subscriptions {
		err := ErrInvalidSubject
		if subject.IsValidSubject(removed.Subject) {
			err = s.removeLocked(removed.Subject, removed.Queue, removed.Value)
		}
		if err != nil {
			if firstError == nil {
				firstError = err
			}
			continue
		}
		if s.cache == nil {
			continue
		}
		if subject.IsLiteral(removed.Subject) {
			s.cache.invalidate(removed.Subject)
		} else if wildcards++; wildcards <= removeBatchInvalidationsMax {
			s.cache.invalidate(removed.Subject)
		} else if wildcards == removeBatchInvalidationsMax+1 {
			s.cache.clear()
		}
	}
	return firstError
}

// removeLocked removes one subscription with a valid subject; the caller holds the write
// lock and invalidates the cache.
func (s *Sublist[T]) removeLocked(subj, queue string, value T) error {
	// The path is kept so empty nodes can be pruned bottom-up without recursion.
	var pathBuffer [32]pathStep[T]
	path := pathBuffer[:0]
	l := s.root
	for remaining, more := subj, true; more; {
		var token string
		token, remaining, more = subject.Cut(remaining)
		if l == nil {
			return ErrNotFound
		}
		n := l.child(token)
		if n == nil {
			return ErrNotFound
		}
		path = append(path, pathStep[T]{level: l, token: token, node: n})
		l = n.next
	}
	if !path[len(path)-1].node.remove(queue, value) {
		return ErrNotFound
	}
	for i := len(path) - 1; i >= 0; i-- {
		step := path[i]
		if step.node.next != nil && step.node.next.isEmpty() {
			step.node.next = nil
		}
		if !step.node.isEmpty() {
			break
		}
		step.level.removeChild(step.token)
	}
	s.count--
	s.generation++
	s.removes.Add(1)
	return nil
}

// pathStep records one level of a Remove walk.
type pathStep[T comparable] struct {
	level *level[T]
	token string
	node  *node[T]
}

// Count returns the number of subscriptions.
func (s *Sublist[T]) Count() int {
	s.mutex.RLock()
	defer s.mutex.RUnlock()
	return s.count
}

// Stats returns the Sublist's counters.
func (s *Sublist[T]) Stats() Stats {
	s.mutex.RLock()
	stats := Stats{Subscriptions: s.count}
	if s.cache != nil {
		stats.CacheEntries = len(s.cache.entries)
	}
	s.mutex.RUnlock()
	stats.Inserts = s.inserts.Load()
	stats.Removes = s.removes.Load()
	stats.CacheMisses = s.cacheMisses.Load()
	return stats
}

// Match returns the subscriptions whose subjects match subj. The tokens of subj are taken
// literally, so publishers should pass literal subjects. A subject with an empty token
// matches nothing. The result is shared: the caller must not modify it. With the cache on,
// a repeated Match of the same subject does not allocate.
func (s *Sublist[T]) Match(subj string) *Result[T] {
	return s.match(subj)
}

// MatchBytes is Match for a subject held in bytes. It does not convert the bytes to a
// string except to store a new cache entry, and it does not retain subj.
func (s *Sublist[T]) MatchBytes(subj []byte) *Result[T] {
	if len(subj) == 0 {
		return s.empty
	}
	// The view is used only for lookups while subj is alive; match copies it before
	// keeping it as a cache key.
	return s.match(unsafe.String(&subj[0], len(subj)))
}

// MatchBytesUncached is MatchBytes for a subject that is almost surely published once
// (a request's unique reply inbox, a JetStream ack subject): it neither looks in the
// cache nor fills it. Caching such a subject only evicts useful entries and costs a
// copy of the key and the write lock on every miss. The result is as Match's.
func (s *Sublist[T]) MatchBytesUncached(subj []byte) *Result[T] {
	if len(subj) == 0 || s.cache == nil {
		return s.MatchBytes(subj)
	}
	view := unsafe.String(&subj[0], len(subj))
	s.mutex.RLock()
	defer s.mutex.RUnlock()
	if hasEmptyToken(view) {
		return s.empty
	}
	state := matchState[T]{mode: matchCollect}
	matchLevel(s.root, view, &state)
	if state.result == nil {
		return s.empty
	}
	return state.result
}

// match serves Match and MatchBytes. subj may alias caller memory, so it is copied before
// it is kept.
func (s *Sublist[T]) match(subj string) *Result[T] {
	s.mutex.RLock()
	if s.cache != nil {
		if result, ok := s.cache.get(subj); ok {
			s.mutex.RUnlock()
			return result
		}
	}
	if hasEmptyToken(subj) {
		s.mutex.RUnlock()
		return s.empty
	}
	state := matchState[T]{mode: matchCollect}
	matchLevel(s.root, subj, &state)
	result := state.result
	if result == nil {
		result = s.empty
	}
	generation := s.generation
	s.mutex.RUnlock()
	if s.cache == nil {
		return result
	}
	s.cacheMisses.Add(1)
	// A borrowed subject aliases the caller's bytes, and even a string may be a slice of
	// a large buffer, so the cache keeps its own copy.
	key := strings.Clone(subj)
	s.mutex.Lock()
	if s.generation == generation {
		s.cache.put(key, result)
	}
	s.mutex.Unlock()
	return result
}

// HasInterest reports whether any subscription matches subj. It does not allocate.
func (s *Sublist[T]) HasInterest(subj string) bool {
	s.mutex.RLock()
	defer s.mutex.RUnlock()
	if s.cache != nil {
		if result, ok := s.cache.get(subj); ok {
			return result.Len() > 0
		}
	}
	if hasEmptyToken(subj) {
		return false
	}
	state := matchState[T]{mode: matchAny}
	matchLevel(s.root, subj, &state)
	return state.found
}

// NumInterest returns the number of plain and of queued subscriptions matching subj. It
// does not allocate.
func (s *Sublist[T]) NumInterest(subj string) (plain, queued int) {
	s.mutex.RLock()
	defer s.mutex.RUnlock()
	if s.cache != nil {
		if result, ok := s.cache.get(subj); ok {
			return len(result.Plain), result.Len() - len(result.Plain)
		}
	}
	if hasEmptyToken(subj) {
		return 0, 0
	}
	state := matchState[T]{mode: matchCount}
	matchLevel(s.root, subj, &state)
	return state.plainCount, state.queueCount
}

// HasInterestStartingIn reports whether some subscription could match a subject made of
// the tokens of prefix followed by at least one more token: a subscription with more tokens
// than prefix whose leading tokens match it, or one whose '>' falls within prefix. An empty
// prefix asks whether there is any subscription at all. It does not allocate. Its recursion
// is bounded by the number of tokens in prefix.
func (s *Sublist[T]) HasInterestStartingIn(prefix string) bool {
	s.mutex.RLock()
	defer s.mutex.RUnlock()
	if prefix == "" {
		return s.count > 0
	}
	return hasInterestStartingIn(s.root, prefix)
}

func hasInterestStartingIn[T comparable](l *level[T], prefix string) bool {
	for {
		if l == nil {
			return false
		}
		if l.fullWildcard != nil {
			return true
		}
		token, rest, more := subject.Cut(prefix)
		if !more {
			// A non-nil level holds at least one subscription below it, because Remove
			// prunes empty levels.
			return l.partialWildcard.nextLevel() != nil || l.nodes[token].nextLevel() != nil
		}
		if l.partialWildcard != nil && hasInterestStartingIn(l.partialWildcard.next, rest) {
			return true
		}
		l = l.nodes[token].nextLevel()
		prefix = rest
	}
}

// nextLevel returns the level below n; it is nil for a nil node.
func (n *node[T]) nextLevel() *level[T] {
	if n == nil {
		return nil
	}
	return n.next
}

// hasEmptyToken reports whether subj is empty or has an empty token; such subjects match
// nothing and are never cached.
func hasEmptyToken(subj string) bool {
	if len(subj) == 0 || subj[0] == subject.Separator || subj[len(subj)-1] == subject.Separator {
		return true
	}
	return strings.Contains(subj, "..")
}

// matchMode says what a walk of the trie gathers.
type matchMode uint8

const (
	// matchCollect builds a Result.
	matchCollect matchMode = iota
	// matchCount counts plain and queued subscriptions.
	matchCount
	// matchAny stops at the first subscription.
	matchAny
)

// matchState is what a walk gathers. It is a concrete type handed down by pointer so that
// it stays on the caller's stack.
type matchState[T comparable] struct {
	mode                   matchMode
	result                 *Result[T]
	plainCount, queueCount int
	found                  bool
}

// add gathers the subscriptions of n and reports whether the walk can stop.
func (m *matchState[T]) add(n *node[T]) (stop bool) {
	switch m.mode {
	case matchAny:
		m.found = m.found || len(n.plain.values) > 0 || len(n.queues) > 0
		return m.found
	case matchCount:
		m.plainCount += len(n.plain.values)
		for _, group := range n.queues {
			m.queueCount += len(group.members.values)
		}
		return false
	}
	if len(n.plain.values) == 0 && len(n.queues) == 0 {
		return false
	}
	if m.result == nil {
		m.result = &Result[T]{}
	}
	m.result.Plain = append(m.result.Plain, n.plain.values...)
	for _, group := range n.queues {
		m.result.addQueueMembers(group.name, group.members.values)
	}
	return false
}

// addQueueMembers merges members into the result's group of that name, so a queue group
// subscribed through several matching subjects still yields one group.
func (r *Result[T]) addQueueMembers(name string, values []T) {
	for i := range r.Queues {
		if r.Queues[i].Name == name {
			r.Queues[i].Members = append(r.Queues[i].Members, values...)
			return
		}
	}
	r.Queues = append(r.Queues, QueueGroup[T]{Name: name, Members: append([]T(nil), values...)})
}

// matchLevel walks the trie from l for the tokens of subj and hands every node whose
// subscriptions match to m. Its recursion (one call per '*' branch) is bounded by the
// number of tokens of subj, and each level is visited at most once per walk, because a
// level sits at one fixed depth. It reports whether m asked to stop.
func matchLevel[T comparable](l *level[T], subj string, m *matchState[T]) (stop bool) {
	for l != nil {
		token, rest, more := subject.Cut(subj)
		if l.fullWildcard != nil && m.add(l.fullWildcard) {
			return true
		}
		literal := l.nodes[token]
		if !more {
			if literal != nil && m.add(literal) {
				return true
			}
			return l.partialWildcard != nil && m.add(l.partialWildcard)
		}
		if l.partialWildcard != nil && matchLevel(l.partialWildcard.next, rest, m) {
			return true
		}
		if literal == nil {
			return false
		}
		l = literal.next
		subj = rest
	}
	return false
}

// child returns the node for token at this level, or nil.
func (l *level[T]) child(token string) *node[T] {
	if len(token) == 1 {
		switch token[0] {
		case subject.PartialWildcard:
			return l.partialWildcard
		case subject.FullWildcard:
			return l.fullWildcard
		}
	}
	return l.nodes[token]
}

// addChild creates the node for token at this level. The token is copied, so the trie
// never pins the memory of a caller's subject.
func (l *level[T]) addChild(token string) *node[T] {
	n := &node[T]{}
	if len(token) == 1 {
		switch token[0] {
		case subject.PartialWildcard:
			l.partialWildcard = n
			return n
		case subject.FullWildcard:
			l.fullWildcard = n
			return n
		}
	}
	if l.nodes == nil {
		l.nodes = make(map[string]*node[T])
	}
	l.nodes[strings.Clone(token)] = n
	return n
}

// removeChild deletes the node for token at this level.
func (l *level[T]) removeChild(token string) {
	if len(token) == 1 {
		switch token[0] {
		case subject.PartialWildcard:
			l.partialWildcard = nil
			return
		case subject.FullWildcard:
			l.fullWildcard = nil
			return
		}
	}
	delete(l.nodes, token)
	if len(l.nodes) == 0 {
		l.nodes = nil
	}
}

// isEmpty reports whether the level has no nodes.
func (l *level[T]) isEmpty() bool {
	return len(l.nodes) == 0 && l.partialWildcard == nil && l.fullWildcard == nil
}

// isEmpty reports whether the node holds no subscriptions and has no level below it.
func (n *node[T]) isEmpty() bool {
	return len(n.plain.values) == 0 && len(n.queues) == 0 && n.next == nil
}

// add stores a subscription on n and reports false when it was already there.
func (n *node[T]) add(queue string, value T) bool {
	if queue == "" {
		return n.plain.add(value)
	}
	for _, group := range n.queues {
		if group.name == queue {
			return group.members.add(value)
		}
	}
	group := &queueGroup[T]{name: strings.Clone(queue)}
	group.members.add(value)
	n.queues = append(n.queues, group)
	return true
}

// remove deletes a subscription from n and reports false when it was not there. A queue
// group left empty is removed, keeping the order of the others.
func (n *node[T]) remove(queue string, value T) bool {
	if queue == "" {
		return n.plain.remove(value)
	}
	for i, group := range n.queues {
		if group.name != queue {
			continue
		}
		if !group.members.remove(value) {
			return false
		}
		if len(group.members.values) == 0 {
			n.queues = slices.Delete(n.queues, i, i+1)
			if len(n.queues) == 0 {
				n.queues = nil
			}
		}
		return true
	}
	return false
}
