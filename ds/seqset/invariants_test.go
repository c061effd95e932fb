package seqset

import (
	"fmt"
	"math"
	"math/bits"
)

// checkInvariants verifies everything the set's methods rely on: AVL heights and
// balance, strictly increasing chunk bases that are chunk starts, node counts that
// match their bitmaps, no empty nodes, full chunks without bitmaps, no bits past a
// chunk's end, and the cached size and node count.
func (s *SequenceSet) checkInvariants() error {
	if s.offset >= chunkSize {
		return fmt.Errorf("offset %d not below %d", s.offset, chunkSize)
	}
	var (
		previous      *node
		nodes, size   int
		walk          func(n *node) (int16, error)
		heightBoundOK = func(h int16, count int) bool {
			return float64(h) <= 1.45*math.Log2(float64(count)+2)+1
		}
	)
	walk = func(n *node) (int16, error) {
		if n == nil {
			return 0, nil
		}
		left, err := walk(n.left)
		if err != nil {
			return 0, err
		}
		if err := s.checkNode(n, previous); err != nil {
			return 0, err
		}
		previous = n
		nodes++
		size += int(n.count)
		right, err := walk(n.right)
		if err != nil {
			return 0, err
		}
		if left-right > 1 || right-left > 1 {
			return 0, fmt.Errorf("node %d unbalanced: left height %d, right height %d", n.base, left, right)
		}
		if want := 1 + max(left, right); n.height != want {
			return 0, fmt.Errorf("node %d height %d, want %d", n.base, n.height, want)
		}
		return n.height, nil
	}
	h, err := walk(s.root)
	if err != nil {
		return err
	}
	if nodes != s.nodes || size != s.size {
		return fmt.Errorf("cached nodes %d size %d, counted nodes %d size %d", s.nodes, s.size, nodes, size)
	}
	if !heightBoundOK(h, nodes) {
		return fmt.Errorf("height %d too large for %d nodes", h, nodes)
	}
	return nil
}

// checkNode verifies one node's own invariants and its order after previous.
func (s *SequenceSet) checkNode(n, previous *node) error {
	if previous != nil && previous.base >= n.base {
		return fmt.Errorf("bases out of order: %d then %d", previous.base, n.base)
	}
	if s.chunkBase(n.base) != n.base {
		return fmt.Errorf("base %d is not a chunk start (offset %d)", n.base, s.offset)
	}
	length := s.chunkLength(n.base)
	if n.count == 0 || uint64(n.count) > length {
		return fmt.Errorf("node %d count %d outside (0, %d]", n.base, n.count, length)
	}
	if (n.bits == nil) != (uint64(n.count) == length) {
		return fmt.Errorf("node %d count %d of %d but bitmap present=%v", n.base, n.count, length, n.bits != nil)
	}
	if n.bits == nil {
		return nil
	}
	count := 0
	for w, word := range n.bits {
		count += bits.OnesCount64(word)
		start := uint64(w) * wordBits
		if start >= length && word != 0 || start < length && length-start < wordBits && word&^lowBits(length-start) != 0 {
			return fmt.Errorf("node %d has bits past its end in word %d", n.base, w)
		}
	}
	if count != int(n.count) {
		return fmt.Errorf("node %d count %d, bitmap holds %d", n.base, n.count, count)
	}
	return nil
}
