package stree

import (
	"bytes"
	"fmt"
)

// shrinkThreshold returns the child count at or below which a node of this size shrinks.
func shrinkThreshold[T any](n inner[T]) int {
	switch n.(type) {
	case *node10[T]:
		return node10ShrinkAt
	case *node16[T]:
		return node16ShrinkAt
	case *node48[T]:
		return node48ShrinkAt
	case *node256[T]:
		return node256ShrinkAt
	}
	return 0
}

// checkInvariants walks the whole tree (with an explicit stack) and returns the first
// broken structural invariant: every leaf sits where its subject leads, every inner node
// has at least two entries, child counts are right and within the node's size and above its
// shrink threshold, node48 slots are consistent, and the size is the number of leaves.
func checkInvariants[T any](t *SubjectTree[T]) error {
	type item struct {
		n     node[T]
		path  []byte
		depth int
	}
	leaves := 0
	if t.root == nil {
		if t.size != 0 {
			return fmt.Errorf("empty tree with size %d", t.size)
		}
		return nil
	}
	stack := []item{{n: t.root}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if l := it.n.leaf(); l != nil {
			leaves++
			if !bytes.HasPrefix(l.subject, it.path) || len(l.subject) < it.depth {
				return fmt.Errorf("leaf %q under path %q", l.subject, it.path)
			}
			continue
		}
		in := it.n.(inner[T])
		header := in.header()
		path := append(bytes.Clone(it.path), header.prefix...)
		if header.terminal != nil {
			leaves++
			if !bytes.Equal(header.terminal.subject, path) {
				return fmt.Errorf("terminal %q at path %q", header.terminal.subject, path)
			}
		}
		entries := header.count
		if header.terminal != nil {
			entries++
		}
		if entries < 2 {
			return fmt.Errorf("inner node at %q has %d entries", path, entries)
		}
		if header.count > in.capacity() || (header.count <= shrinkThreshold(in) && shrinkThreshold(in) > 0) {
			return fmt.Errorf("node of capacity %d at %q has %d children", in.capacity(), path, header.count)
		}
		counted := 0
		previous := -1
		for cursor, b, c := in.nextChild(0, true); c != nil; cursor, b, c = in.nextChild(cursor, true) {
			counted++
			if int(b) <= previous {
				return fmt.Errorf("children out of order at %q", path)
			}
			previous = int(b)
			if slot := in.child(b); slot == nil || *slot != c {
				return fmt.Errorf("child %q at %q not found by lookup", b, path)
			}
			childPath := append(bytes.Clone(path), b)
			stack = append(stack, item{n: c, path: childPath, depth: len(childPath)})
		}
		fast := 0
		for cursor, _, c := in.nextChild(0, false); c != nil; cursor, _, c = in.nextChild(cursor, false) {
			fast++
		}
		if counted != header.count || fast != header.count {
			return fmt.Errorf("node at %q counts %d children, ordered walk %d, fast walk %d", path, header.count, counted, fast)
		}
	}
	if leaves != t.size {
		return fmt.Errorf("size %d, leaves %d", t.size, leaves)
	}
	return nil
}
