// Package seqset holds SequenceSet, a set of uint64 sequence numbers kept in an AVL tree
// whose nodes each cover a fixed-size chunk of the sequence space. The store uses it for
// delete maps and pending acknowledgements, where sequences cluster in long runs.
//
// It is a leaf package: it imports the standard library only, and nothing of this module.
//
// # Node layout
//
// Every node covers a chunk of chunkSize (2048) consecutive sequences, the same span as
// the reference's 2 KiB nodes. A node holds its chunk base, a count of present sequences,
// and a pointer to a 256-byte bitmap. A chunk whose every sequence is present drops its
// bitmap (the pointer is nil), so a run of sequential inserts costs one 48-byte node per
// 2048 sequences, about 0.024 bytes per sequence, while a sparse chunk costs 48 + 256
// bytes. A plain bitmap per node could not go below 0.125 bytes per sequence, which is
// why full chunks are special.
//
// Chunk bases are aligned to chunkSize, shifted by an offset that SetInitialMin chooses
// so that a set starting at an arbitrary sequence fills its first chunk completely. With
// a non-zero offset the chunk [0, offset) is shorter than the others; so is the last
// chunk below math.MaxUint64 when the offset leaves a remainder there.
//
// A SequenceSet is not safe for concurrent use; its owner serializes access.
package seqset

import (
	"errors"
	"math"
	"math/bits"
)

const (
	// wordBits is the number of sequences one bitmap word covers.
	wordBits = 64
	// chunkWords is the number of bitmap words per node.
	chunkWords = 32
	// chunkSize is the number of sequences one node covers.
	chunkSize = chunkWords * wordBits
)

// Errors returned by SequenceSet.
var (
	// ErrSetNotEmpty is returned by SetInitialMin on a set that holds sequences.
	ErrSetNotEmpty = errors.New("seqset: set not empty")
	// ErrBadEncoding is returned by Decode for truncated or inconsistent input.
	ErrBadEncoding = errors.New("seqset: bad encoding")
	// ErrBadVersion is returned by Decode for an encoding version it does not know.
	ErrBadVersion = errors.New("seqset: unknown encoding version")
)

// bitmap marks the present sequences of one chunk: bit i of word w is base+w*64+i.
type bitmap [chunkWords]uint64

// node is one chunk of the sequence space and an AVL tree node ordered by base.
type node struct {
	base uint64
	// bits is nil when every sequence of the chunk is present (count == chunk length).
	bits        *bitmap
	left, right *node
	// height is the AVL height of the subtree rooted here; a leaf has height 1.
	height int16
	// count is the number of present sequences in the chunk, at most chunkSize.
	count uint16
}

// SequenceSet is a set of uint64 sequence numbers. The zero value is an empty set
// ready to use.
type SequenceSet struct {
	root *node
	// offset is the chunk alignment: every chunk base but 0 is congruent to offset
	// modulo chunkSize. It is below chunkSize.
	offset uint64
	size   int
	nodes  int
}

// chunkBase returns the base of the chunk that holds seq.
func (s *SequenceSet) chunkBase(seq uint64) uint64 {
	if seq < s.offset {
		return 0
	}
	return seq - (seq-s.offset)%chunkSize
}

// chunkLength returns the number of sequences in the chunk that starts at base.
func (s *SequenceSet) chunkLength(base uint64) uint64 {
	if base < s.offset {
		return s.offset
	}
	if math.MaxUint64-base < chunkSize-1 {
		return math.MaxUint64 - base + 1
	}
	return chunkSize
}

// Insert adds seq to the set.
func (s *SequenceSet) Insert(seq uint64) {
	n := s.findOrCreate(s.chunkBase(seq))
	s.size += n.orBits(seq-n.base, 1, s.chunkLength(n.base))
}

// Exists reports whether seq is in the set.
func (s *SequenceSet) Exists(seq uint64) bool {
	if s == nil {
		return false
	}
	n := s.find(s.chunkBase(seq))
	return n != nil && n.has(seq-n.base)
}

// Delete removes seq from the set and reports whether it was present.
func (s *SequenceSet) Delete(seq uint64) bool {
	if s == nil {
		return false
	}
	n := s.find(s.chunkBase(seq))
	if n == nil || !n.has(seq-n.base) {
		return false
	}
	n.clearBit(seq-n.base, s.chunkLength(n.base))
	s.size--
	if n.count == 0 {
		s.root = removeNode(s.root, n.base)
		s.nodes--
	}
	return true
}

// SetInitialMin aligns the chunks of an empty set so that min is the first sequence of
// a chunk. A set that will hold a run starting at min then fills its first node instead
// of splitting the run across two half-used nodes. It returns ErrSetNotEmpty, and
// changes nothing, when the set holds sequences.
func (s *SequenceSet) SetInitialMin(min uint64) error {
	if !s.IsEmpty() {
		return ErrSetNotEmpty
	}
	*s = SequenceSet{offset: min % chunkSize}
	return nil
}

// Size returns the number of sequences in the set.
func (s *SequenceSet) Size() int {
	if s == nil {
		return 0
	}
	return s.size
}

// Nodes returns the number of tree nodes (chunks) the set uses.
func (s *SequenceSet) Nodes() int {
	if s == nil {
		return 0
	}
	return s.nodes
}

// Empty removes every sequence and forgets the alignment chosen by SetInitialMin.
func (s *SequenceSet) Empty() {
	*s = SequenceSet{}
}

// IsEmpty reports whether the set holds no sequence.
func (s *SequenceSet) IsEmpty() bool {
	return s == nil || s.size == 0
}

// Range calls f for each sequence in ascending order until f returns false.
func (s *SequenceSet) Range(f func(seq uint64) bool) {
	if s == nil {
		return
	}
	s.rangeNodes(s.root, f)
}

// rangeNodes walks the subtree in order. The recursion depth is the tree height, which
// AVL balance keeps below 1.45*log2(nodes)+2.
func (s *SequenceSet) rangeNodes(n *node, f func(uint64) bool) bool {
	if n == nil {
		return true
	}
	if !s.rangeNodes(n.left, f) {
		return false
	}
	if !n.rangeSeqs(s.chunkLength(n.base), f) {
		return false
	}
	return s.rangeNodes(n.right, f)
}

// Heights returns the heights of the root's left and right subtrees.
func (s *SequenceSet) Heights() (left, right int) {
	if s == nil || s.root == nil {
		return 0, 0
	}
	return int(height(s.root.left)), int(height(s.root.right))
}

// State returns the smallest and largest sequences and the number of sequences; all
// three are zero for an empty set.
func (s *SequenceSet) State() (min, max, num uint64) {
	if s.IsEmpty() {
		return 0, 0, 0
	}
	min, max = s.MinMax()
	return min, max, uint64(s.size)
}

// MinMax returns the smallest and largest sequences, or zeros for an empty set.
func (s *SequenceSet) MinMax() (min, max uint64) {
	if s.IsEmpty() {
		return 0, 0
	}
	first := s.root
	for first.left != nil {
		first = first.left
	}
	last := s.root
	for last.right != nil {
		last = last.right
	}
	return first.base + first.firstOffset(), last.base + last.lastOffset(s.chunkLength(last.base))
}

// Clone returns an independent deep copy of the set; a nil set clones to nil.
func (s *SequenceSet) Clone() *SequenceSet {
	if s == nil {
		return nil
	}
	c := *s
	c.root = cloneNode(s.root)
	return &c
}

// cloneNode copies a subtree; the recursion depth is the tree height.
func cloneNode(n *node) *node {
	if n == nil {
		return nil
	}
	c := *n
	if n.bits != nil {
		b := *n.bits
		c.bits = &b
	}
	c.left = cloneNode(n.left)
	c.right = cloneNode(n.right)
	return &c
}

// Union adds every sequence of the given sets to s. Nil sets are skipped.
func (s *SequenceSet) Union(others ...*SequenceSet) {
	for _, o := range others {
		if o == nil || o == s {
			continue
		}
		o.eachNode(o.root, func(n *node) {
			length := o.chunkLength(n.base)
			if n.bits == nil {
				s.insertRange(n.base, n.base+(length-1))
				return
			}
			for w, word := range n.bits {
				if word != 0 {
					s.insertWord(n.base+uint64(w)*wordBits, word)
				}
			}
		})
	}
}

// Union returns a new set holding every sequence of the given sets, or nil when no
// set is given (or all are nil). The inputs are not changed.
func Union(sets ...*SequenceSet) *SequenceSet {
	var largest *SequenceSet
	for _, set := range sets {
		if set != nil && (largest == nil || set.nodes > largest.nodes) {
			largest = set
		}
	}
	if largest == nil {
		return nil
	}
	// Cloning the largest set copies its nodes wholesale; only the others are merged
	// sequence word by sequence word.
	result := largest.Clone()
	for _, set := range sets {
		if set != largest {
			result.Union(set)
		}
	}
	return result
}

// eachNode calls f on every node of the subtree in order.
func (s *SequenceSet) eachNode(n *node, f func(*node)) {
	if n == nil {
		return
	}
	s.eachNode(n.left, f)
	f(n)
	s.eachNode(n.right, f)
}

// insertRange adds every sequence in [first, last].
func (s *SequenceSet) insertRange(first, last uint64) {
	for seq := first; ; {
		base := s.chunkBase(seq)
		length := s.chunkLength(base)
		chunkLast := base + (length - 1)
		end := min(last, chunkLast)
		n := s.findOrCreate(base)
		if seq == base && end == chunkLast {
			s.size += int(length) - int(n.count)
			n.bits, n.count = nil, uint16(length)
		} else {
			// Set the partial range a word at a time: at most 64 bits per call.
			for at := seq; ; {
				span := min(end-at, wordBits-1) + 1
				s.size += n.orBits(at-base, lowBits(span), length)
				if end-at < wordBits {
					break
				}
				at += span
			}
		}
		if end == last {
			return
		}
		seq = end + 1
	}
}

// insertWord adds start+i for every bit i set in word. The 64 sequences may straddle
// two chunks of s when s is aligned differently from the set the word came from.
func (s *SequenceSet) insertWord(start uint64, word uint64) {
	for word != 0 {
		skip := uint64(bits.TrailingZeros64(word))
		first := start + skip
		base := s.chunkBase(first)
		length := s.chunkLength(base)
		rel := first - base
		segment := word >> skip
		if avail := length - rel; avail < wordBits {
			segment &= lowBits(avail)
		}
		n := s.findOrCreate(base)
		s.size += n.orBits(rel, segment, length)
		word &^= segment << skip
	}
}

// lowBits returns a word with the lowest n bits set, for n in [0, 64].
func lowBits(n uint64) uint64 {
	if n >= wordBits {
		return math.MaxUint64
	}
	return 1<<n - 1
}

// find returns the node whose chunk starts at base, or nil.
func (s *SequenceSet) find(base uint64) *node {
	n := s.root
	for n != nil {
		switch {
		case base < n.base:
			n = n.left
		case base > n.base:
			n = n.right
		default:
			return n
		}
	}
	return nil
}

// findOrCreate returns the node whose chunk starts at base, adding an empty one if
// there is none. An empty node must be filled by the caller before the set is used
// again, since the invariants forbid empty nodes.
func (s *SequenceSet) findOrCreate(base uint64) *node {
	if n := s.find(base); n != nil {
		return n
	}
	n := &node{base: base, bits: new(bitmap), height: 1}
	s.root = insertNode(s.root, n)
	s.nodes++
	return n
}

// has reports whether the sequence at offset rel of the chunk is present.
func (n *node) has(rel uint64) bool {
	if n.bits == nil {
		return true
	}
	return n.bits[rel/wordBits]&(1<<(rel%wordBits)) != 0
}

// orBits sets the sequences rel+i for every bit i of segment, all inside the chunk of
// the given length, and returns how many were not present before.
func (n *node) orBits(rel uint64, segment uint64, length uint64) int {
	if n.bits == nil {
		return 0
	}
	w, shift := rel/wordBits, rel%wordBits
	added := setWord(&n.bits[w], segment<<shift)
	if shift != 0 && w+1 < chunkWords {
		added += setWord(&n.bits[w+1], segment>>(wordBits-shift))
	}
	n.count += uint16(added)
	if uint64(n.count) == length {
		// A full chunk needs no bitmap: this is what keeps long runs compact.
		n.bits = nil
	}
	return added
}

// setWord ORs mask into *word and returns the number of bits that were newly set.
func setWord(word *uint64, mask uint64) int {
	added := bits.OnesCount64(mask &^ *word)
	*word |= mask
	return added
}

// clearBit removes the present sequence at offset rel of a chunk of the given length.
func (n *node) clearBit(rel uint64, length uint64) {
	if n.bits == nil {
		n.bits = fullBitmap(length)
	}
	n.bits[rel/wordBits] &^= 1 << (rel % wordBits)
	n.count--
}

// fullBitmap returns a bitmap with the first length bits set.
func fullBitmap(length uint64) *bitmap {
	b := new(bitmap)
	for w := range b {
		start := uint64(w) * wordBits
		if start >= length {
			break
		}
		b[w] = lowBits(length - start)
	}
	return b
}

// firstOffset returns the offset of the smallest present sequence of a non-empty node.
func (n *node) firstOffset() uint64 {
	if n.bits == nil {
		return 0
	}
	for w, word := range n.bits {
		if word != 0 {
			return uint64(w)*wordBits + uint64(bits.TrailingZeros64(word))
		}
	}
	return 0
}

// lastOffset returns the offset of the largest present sequence of a non-empty node.
func (n *node) lastOffset(length uint64) uint64 {
	if n.bits == nil {
		return length - 1
	}
	for w := chunkWords - 1; w >= 0; w-- {
		if word := n.bits[w]; word != 0 {
			return uint64(w)*wordBits + wordBits - 1 - uint64(bits.LeadingZeros64(word))
		}
	}
	return 0
}

// rangeSeqs calls f on the node's sequences in order and reports whether f asked to
// go on.
func (n *node) rangeSeqs(length uint64, f func(uint64) bool) bool {
	if n.bits == nil {
		for rel := uint64(0); rel < length; rel++ {
			if !f(n.base + rel) {
				return false
			}
		}
		return true
	}
	for w, word := range n.bits {
		for word != 0 {
			bit := uint64(bits.TrailingZeros64(word))
			if !f(n.base + uint64(w)*wordBits + bit) {
				return false
			}
			word &= word - 1
		}
	}
	return true
}
