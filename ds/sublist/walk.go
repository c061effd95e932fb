package sublist

import (
	"slices"
	"strings"

	"github.com/natsim/natsim/ds/stree"
)

// subjectNode pairs a trie node that holds subscriptions with its full subject.
type subjectNode[T comparable] struct {
	subject string
	node    *node[T]
}

// subjectNodes returns every node holding subscriptions with its subject, sorted by
// subject, so that callers see the same order whatever the maps' iteration order. The trie
// is walked with an explicit stack. The caller holds the read lock.
func (s *Sublist[T]) subjectNodes() []subjectNode[T] {
	type pending struct {
		level  *level[T]
		prefix string
	}
	var found []subjectNode[T]
	stack := []pending{{level: s.root}}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		visit := func(token string, n *node[T]) {
			subject := token
			if top.prefix != "" {
				subject = top.prefix + "." + token
			}
			if len(n.plain.values) > 0 || len(n.queues) > 0 {
				found = append(found, subjectNode[T]{subject: subject, node: n})
			}
			if n.next != nil {
				stack = append(stack, pending{level: n.next, prefix: subject})
			}
		}
		for token, n := range top.level.nodes {
			visit(token, n)
		}
		if top.level.partialWildcard != nil {
			visit("*", top.level.partialWildcard)
		}
		if top.level.fullWildcard != nil {
			visit(">", top.level.fullWildcard)
		}
	}
	slices.SortFunc(found, func(a, b subjectNode[T]) int { return strings.Compare(a.subject, b.subject) })
	return found
}

// Subjects returns the distinct subjects that have at least one subscription, sorted.
func (s *Sublist[T]) Subjects() []string {
	s.mutex.RLock()
	defer s.mutex.RUnlock()
	nodes := s.subjectNodes()
	subjects := make([]string, len(nodes))
	for i, found := range nodes {
		subjects[i] = found.subject
	}
	return subjects
}

// Walk calls callback for every subscription, ordered by subject, plain subscriptions
// before queue subscriptions, until callback returns false. It works on a snapshot taken
// under the read lock, so callback may call back into the Sublist.
func (s *Sublist[T]) Walk(callback func(subject, queue string, value T) bool) {
	type subscription struct {
		subject, queue string
		value          T
	}
	s.mutex.RLock()
	snapshot := make([]subscription, 0, s.count)
	for _, found := range s.subjectNodes() {
		for _, value := range found.node.plain.values {
			snapshot = append(snapshot, subscription{found.subject, "", value})
		}
		for _, group := range found.node.queues {
			for _, value := range group.members.values {
				snapshot = append(snapshot, subscription{found.subject, group.name, value})
			}
		}
	}
	s.mutex.RUnlock()
	for _, entry := range snapshot {
		if !callback(entry.subject, entry.queue, entry.value) {
			return
		}
	}
}

// IntersectStree calls callback once for every subject in tree that some subscription in
// s matches, in byte order. The subscriptions' subjects are walked through the tree
// together, so only the parts of the tree some filter can match are visited. The Sublist
// is read under its lock; the tree is the caller's to protect.
func IntersectStree[T any, V comparable](tree *stree.SubjectTree[T], s *Sublist[V], callback func(subject []byte, value *T)) {
	subjects := s.Subjects()
	if len(subjects) == 0 {
		return
	}
	filters := make([][]byte, len(subjects))
	for i, subject := range subjects {
		filters[i] = []byte(subject)
	}
	tree.MatchFilters(filters, func(subject []byte, value *T) bool {
		callback(subject, value)
		return true
	})
}
