package seqset

// The AVL operations below recurse along one root-to-leaf path, so their depth is the
// tree height. Balance bounds that height by 1.45*log2(nodes+2); with at most 2^53
// chunks (2^64 sequences / 2048) it stays below 80 frames.

// height returns the height of a subtree; an empty subtree has height 0.
func height(n *node) int16 {
	if n == nil {
		return 0
	}
	return n.height
}

// updateHeight recomputes n.height from its children.
func updateHeight(n *node) {
	n.height = 1 + max(height(n.left), height(n.right))
}

// rotateLeft lifts n's right child above n and returns the new subtree root.
func rotateLeft(n *node) *node {
	r := n.right
	n.right = r.left
	r.left = n
	updateHeight(n)
	updateHeight(r)
	return r
}

// rotateRight lifts n's left child above n and returns the new subtree root.
func rotateRight(n *node) *node {
	l := n.left
	n.left = l.right
	l.right = n
	updateHeight(n)
	updateHeight(l)
	return l
}

// rebalance restores the AVL property at n, whose subtrees are balanced and differ in
// height by at most two, and returns the subtree's new root.
func rebalance(n *node) *node {
	updateHeight(n)
	switch balance := height(n.left) - height(n.right); {
	case balance > 1:
		if height(n.left.left) < height(n.left.right) {
			n.left = rotateLeft(n.left)
		}
		return rotateRight(n)
	case balance < -1:
		if height(n.right.right) < height(n.right.left) {
			n.right = rotateRight(n.right)
		}
		return rotateLeft(n)
	}
	return n
}

// insertNode adds leaf, whose base is not in the subtree, and returns the new root.
func insertNode(n *node, leaf *node) *node {
	if n == nil {
		return leaf
	}
	if leaf.base < n.base {
		n.left = insertNode(n.left, leaf)
	} else {
		n.right = insertNode(n.right, leaf)
	}
	return rebalance(n)
}

// removeNode removes the node with the given base from the subtree and returns the
// new root.
func removeNode(n *node, base uint64) *node {
	if n == nil {
		return nil
	}
	switch {
	case base < n.base:
		n.left = removeNode(n.left, base)
	case base > n.base:
		n.right = removeNode(n.right, base)
	default:
		if n.left == nil {
			return n.right
		}
		if n.right == nil {
			return n.left
		}
		// Two children: the in-order successor takes n's place in the tree.
		var successor *node
		n.right, successor = removeMin(n.right)
		successor.left, successor.right = n.left, n.right
		n = successor
	}
	return rebalance(n)
}

// removeMin detaches the smallest node of a non-empty subtree and returns the new
// subtree root and the detached node.
func removeMin(n *node) (root, smallest *node) {
	if n.left == nil {
		return n.right, n
	}
	n.left, smallest = removeMin(n.left)
	return rebalance(n), smallest
}

// buildBalanced links sorted nodes into a balanced tree and returns its root.
func buildBalanced(sorted []*node) *node {
	if len(sorted) == 0 {
		return nil
	}
	middle := len(sorted) / 2
	n := sorted[middle]
	n.left = buildBalanced(sorted[:middle])
	n.right = buildBalanced(sorted[middle+1:])
	updateHeight(n)
	return n
}
