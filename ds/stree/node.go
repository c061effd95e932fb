package stree

// A tree node is either a leaf, which holds one whole subject and its value, or an inner
// node, which holds a compressed prefix, at most one terminal leaf (the subject that ends
// exactly after the prefix) and children keyed by the next byte. Inner nodes come in five
// sizes, node4, node10, node16, node48 and node256, and are replaced by the next size up
// when full and by the next size down when sparse. node10 exists because subjects very
// often end in decimal numbers, whose ten digits fill it exactly.
//
// Leaves keep the whole subject rather than the suffix below their parent: callbacks then
// receive the subject without it being rebuilt, so matching and iteration never allocate.
// Prefixes of inner nodes are slices of some leaf's subject, so a subject stored in the
// tree must never be modified.

// node is a leaf or an inner node.
type node[T any] interface {
	// leaf returns the node as a leaf, or nil for an inner node.
	leaf() *leaf[T]
	// asInner returns the node as an inner node, or nil for a leaf. It replaces a type
	// assertion, which for generic interfaces costs a runtime itab lookup on every step.
	asInner() inner[T]
}

// leaf is one stored subject.
type leaf[T any] struct {
	subject []byte
	value   T
}

func (l *leaf[T]) leaf() *leaf[T]    { return l }
func (l *leaf[T]) asInner() inner[T] { return nil }

// inner is the behaviour shared by the five inner node sizes.
type inner[T any] interface {
	node[T]
	// header returns the fields every inner node has.
	header() *innerHeader[T]
	// child returns the slot holding the child for b, or nil when there is none, so that
	// callers can replace the child in place.
	child(b byte) *node[T]
	// addChild stores c under b. The node must not be full and must not have a child
	// for b.
	addChild(b byte, c node[T])
	// removeChild deletes the child for b, which must exist.
	removeChild(b byte)
	// full reports whether addChild needs a bigger node.
	full() bool
	// grow returns a copy of the node in the next size up.
	grow() inner[T]
	// shrink returns a copy in the next size down when the node has become sparse
	// enough, or nil when it should stay as it is.
	shrink() inner[T]
	// nextChild returns the first child at or after cursor and the cursor to continue
	// from; c is nil when there are no more. ordered asks for byte order; otherwise the
	// node may use whatever order is cheapest. A cursor starts at zero.
	nextChild(cursor int, ordered bool) (next int, b byte, c node[T])
	// capacity returns the maximum number of children, for tests and statistics.
	capacity() int
}

// innerHeader holds what every inner node has besides its children.
type innerHeader[T any] struct {
	// prefix is the run of subject bytes every subject below this node shares after
	// the bytes that led here.
	prefix []byte
	// terminal is the subject that ends exactly after prefix, if any.
	terminal *leaf[T]
	// count is the number of children (the terminal is not counted).
	count int
}

func (h *innerHeader[T]) header() *innerHeader[T] { return h }
func (h *innerHeader[T]) leaf() *leaf[T]          { return nil }

// Shrink thresholds sit below the capacity of the smaller size, so that a node whose
// child count hovers around a boundary is not copied back and forth on every change.
const (
	node10ShrinkAt  = 3
	node16ShrinkAt  = 8
	node48ShrinkAt  = 12
	node256ShrinkAt = 40
)

// node4, node10 and node16 keep their keys sorted and search them linearly, which for
// sixteen bytes is as fast as anything cleverer. The helpers below work on slices of their
// arrays, so the three sizes share one implementation.

func sortedChild[T any](keys []byte, children []node[T], b byte) *node[T] {
	for i, key := range keys {
		if key == b {
			return &children[i]
		}
		if key > b {
			break
		}
	}
	return nil
}

func sortedAdd[T any](keys []byte, children []node[T], count int, b byte, c node[T]) {
	position := count
	for position > 0 && keys[position-1] > b {
		keys[position] = keys[position-1]
		children[position] = children[position-1]
		position--
	}
	keys[position] = b
	children[position] = c
}

func sortedRemove[T any](keys []byte, children []node[T], count int, b byte) {
	position := 0
	for position < count && keys[position] != b {
		position++
	}
	copy(keys[position:count], keys[position+1:count])
	copy(children[position:count], children[position+1:count])
	children[count-1] = nil
}

func sortedNext[T any](keys []byte, children []node[T], count, cursor int) (int, byte, node[T]) {
	if cursor >= count {
		return cursor, 0, nil
	}
	return cursor + 1, keys[cursor], children[cursor]
}

// copyChildren moves every child of from into to, in byte order.
func copyChildren[T any](from, to inner[T]) inner[T] {
	*to.header() = *from.header()
	to.header().count = 0
	for cursor, b, c := from.nextChild(0, true); c != nil; cursor, b, c = from.nextChild(cursor, true) {
		to.addChild(b, c)
		to.header().count++
	}
	return to
}

// node4 is the smallest inner node.
type node4[T any] struct {
	innerHeader[T]
	keys     [4]byte
	children [4]node[T]
}

func (n *node4[T]) child(b byte) *node[T] {
	return sortedChild(n.keys[:n.count], n.children[:], b)
}
func (n *node4[T]) addChild(b byte, c node[T]) {
	sortedAdd(n.keys[:], n.children[:], n.count, b, c)
}
func (n *node4[T]) removeChild(b byte) {
	sortedRemove(n.keys[:], n.children[:], n.count, b)
}
func (n *node4[T]) full() bool { return n.count == len(n.keys) }
func (n *node4[T]) grow() inner[T] {
	return copyChildren[T](n, &node10[T]{})
}
func (n *node4[T]) shrink() inner[T] { return nil }
func (n *node4[T]) nextChild(cursor int, _ bool) (int, byte, node[T]) {
	return sortedNext(n.keys[:], n.children[:], n.count, cursor)
}
func (n *node4[T]) asInner() inner[T] { return n }
func (n *node4[T]) capacity() int     { return len(n.keys) }

// node10 holds up to ten children; a token of decimal digits fills it exactly.
type node10[T any] struct {
	innerHeader[T]
	keys     [10]byte
	children [10]node[T]
}

func (n *node10[T]) child(b byte) *node[T] {
	return sortedChild(n.keys[:n.count], n.children[:], b)
}
func (n *node10[T]) addChild(b byte, c node[T]) {
	sortedAdd(n.keys[:], n.children[:], n.count, b, c)
}
func (n *node10[T]) removeChild(b byte) {
	sortedRemove(n.keys[:], n.children[:], n.count, b)
}
func (n *node10[T]) full() bool { return n.count == len(n.keys) }
func (n *node10[T]) grow() inner[T] {
	return copyChildren[T](n, &node16[T]{})
}
func (n *node10[T]) shrink() inner[T] {
	if n.count > node10ShrinkAt {
		return nil
	}
	return copyChildren[T](n, &node4[T]{})
}
func (n *node10[T]) nextChild(cursor int, _ bool) (int, byte, node[T]) {
	return sortedNext(n.keys[:], n.children[:], n.count, cursor)
}
func (n *node10[T]) asInner() inner[T] { return n }
func (n *node10[T]) capacity() int     { return len(n.keys) }

// node16 holds up to sixteen children.
type node16[T any] struct {
	innerHeader[T]
	keys     [16]byte
	children [16]node[T]
}

func (n *node16[T]) child(b byte) *node[T] {
	return sortedChild(n.keys[:n.count], n.children[:], b)
}
func (n *node16[T]) addChild(b byte, c node[T]) {
	sortedAdd(n.keys[:], n.children[:], n.count, b, c)
}
func (n *node16[T]) removeChild(b byte) {
	sortedRemove(n.keys[:], n.children[:], n.count, b)
}
func (n *node16[T]) full() bool { return n.count == len(n.keys) }
func (n *node16[T]) grow() inner[T] {
	return copyChildren[T](n, &node48[T]{})
}
func (n *node16[T]) shrink() inner[T] {
	if n.count > node16ShrinkAt {
		return nil
	}
	return copyChildren[T](n, &node10[T]{})
}
func (n *node16[T]) nextChild(cursor int, _ bool) (int, byte, node[T]) {
	return sortedNext(n.keys[:], n.children[:], n.count, cursor)
}
func (n *node16[T]) asInner() inner[T] { return n }
func (n *node16[T]) capacity() int     { return len(n.keys) }

// node48 maps each byte to one of 48 dense slots. Slots are kept packed (a removal moves
// the last slot into the hole), so unordered iteration walks only the used slots.
type node48[T any] struct {
	innerHeader[T]
	// slotOf holds one more than the slot of each byte's child; zero means no child.
	slotOf   [256]uint8
	keys     [48]byte
	children [48]node[T]
}

func (n *node48[T]) child(b byte) *node[T] {
	if slot := n.slotOf[b]; slot != 0 {
		return &n.children[slot-1]
	}
	return nil
}
func (n *node48[T]) addChild(b byte, c node[T]) {
	slot := n.count
	n.keys[slot] = b
	n.children[slot] = c
	n.slotOf[b] = uint8(slot + 1)
}
func (n *node48[T]) removeChild(b byte) {
	slot := int(n.slotOf[b]) - 1
	last := n.count - 1
	if slot != last {
		n.keys[slot] = n.keys[last]
		n.children[slot] = n.children[last]
		n.slotOf[n.keys[slot]] = uint8(slot + 1)
	}
	n.children[last] = nil
	n.slotOf[b] = 0
}
func (n *node48[T]) full() bool { return n.count == len(n.keys) }
func (n *node48[T]) grow() inner[T] {
	return copyChildren[T](n, &node256[T]{})
}
func (n *node48[T]) shrink() inner[T] {
	if n.count > node48ShrinkAt {
		return nil
	}
	return copyChildren[T](n, &node16[T]{})
}
func (n *node48[T]) nextChild(cursor int, ordered bool) (int, byte, node[T]) {
	if !ordered {
		if cursor >= n.count {
			return cursor, 0, nil
		}
		return cursor + 1, n.keys[cursor], n.children[cursor]
	}
	for ; cursor < len(n.slotOf); cursor++ {
		if slot := n.slotOf[cursor]; slot != 0 {
			return cursor + 1, byte(cursor), n.children[slot-1]
		}
	}
	return cursor, 0, nil
}
func (n *node48[T]) asInner() inner[T] { return n }
func (n *node48[T]) capacity() int     { return len(n.keys) }

// node256 has a slot for every byte.
type node256[T any] struct {
	innerHeader[T]
	children [256]node[T]
}

func (n *node256[T]) child(b byte) *node[T] {
	if n.children[b] != nil {
		return &n.children[b]
	}
	return nil
}
func (n *node256[T]) addChild(b byte, c node[T]) { n.children[b] = c }
func (n *node256[T]) removeChild(b byte)         { n.children[b] = nil }
func (n *node256[T]) full() bool                 { return false }
func (n *node256[T]) grow() inner[T]             { return n }
func (n *node256[T]) shrink() inner[T] {
	if n.count > node256ShrinkAt {
		return nil
	}
	return copyChildren[T](n, &node48[T]{})
}
func (n *node256[T]) nextChild(cursor int, _ bool) (int, byte, node[T]) {
	for ; cursor < len(n.children); cursor++ {
		if c := n.children[cursor]; c != nil {
			return cursor + 1, byte(cursor), c
		}
	}
	return cursor, 0, nil
}
func (n *node256[T]) asInner() inner[T] { return n }
func (n *node256[T]) capacity() int     { return len(n.children) }
