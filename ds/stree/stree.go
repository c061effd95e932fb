// Package stree is an adaptive radix tree keyed by subject bytes: the store's per-subject
// state (message counts, first and last sequences) lives in one, and wildcard filters walk
// only the parts of the tree they can match.
//
// Inner nodes compress shared prefixes and come in five sizes (4, 10, 16, 48 and 256
// children) that grow and shrink with the number of children. Lookups, matches and
// iterations use loops and an explicit stack, never recursion, so no input can exhaust the
// goroutine stack; Find, Match, MatchUntil and the iterations do not allocate for trees up
// to 32 inner nodes deep (stackFramesInline), and deeper trees only spill that stack to
// the heap.
//
// Subjects are any non-empty byte strings; no byte value is reserved. In filters, '*' and
// '>' are wildcards when they form a whole token, with the meaning of
// subject.MatchesFilter; in stored subjects they are ordinary bytes. Every visit reports
// subjects in a deterministic order.
//
// A SubjectTree is not safe for concurrent use; its owner locks. The package lives in ds/
// and imports only the standard library and ds/subject.
package stree

import "bytes"

// SubjectTree maps subjects to values of type T. The zero value is an empty tree.
type SubjectTree[T any] struct {
	root node[T]
	size int
}

// NewSubjectTree returns an empty tree.
func NewSubjectTree[T any]() *SubjectTree[T] {
	return &SubjectTree[T]{}
}

// Size returns the number of subjects in the tree.
func (t *SubjectTree[T]) Size() int {
	if t == nil {
		return 0
	}
	return t.size
}

// Empty removes every subject and returns the tree, now empty.
func (t *SubjectTree[T]) Empty() *SubjectTree[T] {
	if t == nil {
		return NewSubjectTree[T]()
	}
	t.root, t.size = nil, 0
	return t
}

// Insert stores value under subject. When the subject was already present it returns a
// copy of the previous value and true. The tree keeps its own copy of subject. An empty
// subject is not stored (nil, false).
func (t *SubjectTree[T]) Insert(subject []byte, value T) (old *T, updated bool) {
	if t == nil || len(subject) == 0 {
		return nil, false
	}
	ref := &t.root
	depth := 0
	for {
		current := *ref
		if current == nil {
			*ref = newLeaf(subject, value)
			t.size++
			return nil, false
		}
		if l := current.leaf(); l != nil {
			if bytes.Equal(l.subject, subject) {
				previous := l.value
				l.value = value
				return &previous, true
			}
			*ref = splitLeaf(l, newLeaf(subject, value), depth)
			t.size++
			return nil, false
		}
		n := current.asInner()
		header := n.header()
		common := commonPrefixLength(header.prefix, subject[depth:])
		if common < len(header.prefix) {
			*ref = splitInner(n, newLeaf(subject, value), depth, common)
			t.size++
			return nil, false
		}
		depth += len(header.prefix)
		if depth == len(subject) {
			if header.terminal != nil {
				previous := header.terminal.value
				header.terminal.value = value
				return &previous, true
			}
			header.terminal = newLeaf(subject, value)
			t.size++
			return nil, false
		}
		if slot := n.child(subject[depth]); slot != nil {
			ref = slot
			depth++
			continue
		}
		if n.full() {
			n = n.grow()
			*ref = n
		}
		n.addChild(subject[depth], newLeaf(subject, value))
		n.header().count++
		t.size++
		return nil, false
	}
}

// Find returns the value stored under subject. The pointer stays valid until the subject
// is deleted, and the value may be changed through it. Find does not allocate.
func (t *SubjectTree[T]) Find(subject []byte) (*T, bool) {
	if l := t.findLeaf(subject); l != nil {
		return &l.value, true
	}
	return nil, false
}

// findLeaf returns the leaf holding subject, or nil.
func (t *SubjectTree[T]) findLeaf(subject []byte) *leaf[T] {
	if t == nil {
		return nil
	}
	current := t.root
	depth := 0
	for current != nil {
		if l := current.leaf(); l != nil {
			if bytes.Equal(l.subject, subject) {
				return l
			}
			return nil
		}
		n := current.asInner()
		header := n.header()
		if !bytes.HasPrefix(subject[depth:], header.prefix) {
			return nil
		}
		depth += len(header.prefix)
		if depth == len(subject) {
			if header.terminal != nil {
				return header.terminal
			}
			return nil
		}
		slot := n.child(subject[depth])
		if slot == nil {
			return nil
		}
		current = *slot
		depth++
	}
	return nil
}

// Delete removes subject and returns its value. Nodes left with a single entry are merged
// into their parent, and sparse nodes shrink.
func (t *SubjectTree[T]) Delete(subject []byte) (*T, bool) {
	if t == nil || len(subject) == 0 {
		return nil, false
	}
	ref := &t.root
	// parentRef is the slot of the inner node whose child ref is; nil at the root.
	var parentRef *node[T]
	var parentByte byte
	depth := 0
	for {
		current := *ref
		if current == nil {
			return nil, false
		}
		if l := current.leaf(); l != nil {
			if !bytes.Equal(l.subject, subject) {
				return nil, false
			}
			if parentRef == nil {
				t.root = nil
			} else {
				parent := (*parentRef).asInner()
				parent.removeChild(parentByte)
				parent.header().count--
				compact(parentRef)
			}
			t.size--
			return &l.value, true
		}
		n := current.asInner()
		header := n.header()
		if !bytes.HasPrefix(subject[depth:], header.prefix) {
			return nil, false
		}
		depth += len(header.prefix)
		if depth == len(subject) {
			removed := header.terminal
			if removed == nil {
				return nil, false
			}
			header.terminal = nil
			compact(ref)
			t.size--
			return &removed.value, true
		}
		slot := n.child(subject[depth])
		if slot == nil {
			return nil, false
		}
		parentRef, parentByte = ref, subject[depth]
		ref = slot
		depth++
	}
}

// newLeaf makes a leaf holding its own copy of subject.
func newLeaf[T any](subject []byte, value T) *leaf[T] {
	return &leaf[T]{subject: bytes.Clone(subject), value: value}
}

// commonPrefixLength returns how many leading bytes a and b share.
func commonPrefixLength(a, b []byte) int {
	length := min(len(a), len(b))
	for i := 0; i < length; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return length
}

// place puts l under n, whose prefix ends at byte offset end of the subject: as the
// terminal when the subject ends there, else as the child for its next byte.
func place[T any](n inner[T], l *leaf[T], end int) {
	if len(l.subject) == end {
		n.header().terminal = l
		return
	}
	n.addChild(l.subject[end], l)
	n.header().count++
}

// splitLeaf replaces existing, reached after depth bytes, by a node4 holding it and added.
func splitLeaf[T any](existing, added *leaf[T], depth int) inner[T] {
	common := commonPrefixLength(existing.subject[depth:], added.subject[depth:])
	n := &node4[T]{}
	// The prefix is a slice of a stored subject, which is never modified.
	n.prefix = existing.subject[depth : depth+common]
	place[T](n, existing, depth+common)
	place[T](n, added, depth+common)
	return n
}

// splitInner puts a node4 above n, reached after depth bytes, whose prefix is the first
// common bytes of n's prefix, and hangs added from it.
func splitInner[T any](n inner[T], added *leaf[T], depth, common int) inner[T] {
	header := n.header()
	parent := &node4[T]{}
	parent.prefix = header.prefix[:common]
	branch := header.prefix[common]
	header.prefix = header.prefix[common+1:]
	parent.addChild(branch, n)
	parent.count++
	place[T](parent, added, depth+common)
	return parent
}

// compact restores the shape of the inner node in *ref after it lost an entry: a node
// left with only its terminal becomes that leaf, a node left with one child and no terminal
// is merged into the child, and a sparse node shrinks.
func compact[T any](ref *node[T]) {
	n := (*ref).asInner()
	header := n.header()
	switch {
	case header.count == 0:
		if header.terminal != nil {
			*ref = header.terminal
		} else {
			*ref = nil
		}
	case header.count == 1 && header.terminal == nil:
		_, branch, child := n.nextChild(0, true)
		if childInner := child.asInner(); childInner != nil {
			childHeader := childInner.header()
			merged := make([]byte, 0, len(header.prefix)+1+len(childHeader.prefix))
			merged = append(merged, header.prefix...)
			merged = append(merged, branch)
			childHeader.prefix = append(merged, childHeader.prefix...)
		}
		*ref = child
	default:
		if smaller := n.shrink(); smaller != nil {
			*ref = smaller
		}
	}
}
