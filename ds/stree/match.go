package stree

import (
	"math/bits"

	"github.com/natsim/natsim/ds/subject"
)

// Matching runs filters as byte automata over the tree. A filter's state is a position in
// the filter and a mode: comparing literal bytes, inside a '*' token (any bytes up to the
// next separator), or past a '>' (everything below matches). The semantics are exactly
// those of subject.MatchesFilter applied to each stored subject, with subject tokens taken
// literally.

// filterMode is what a filter state does with the next subject byte.
type filterMode uint8

const (
	// modeLiteral: the next byte must equal the filter byte at position.
	modeLiteral filterMode = iota
	// modeStar: position is at a '*' token; bytes up to the next separator are consumed.
	modeStar
	// modeFull: a '>' token was reached; every continuation matches.
	modeFull
)

// filterState is one filter's progress along the subject bytes walked so far.
type filterState struct {
	filter   int32
	position int32
	mode     filterMode
}

// enterToken returns the state at the start of the token at position of filter.
func enterToken(filterIndex int32, filter []byte, position int) filterState {
	if position < len(filter) && (position+1 == len(filter) || filter[position+1] == subject.Separator) {
		switch filter[position] {
		case subject.PartialWildcard:
			return filterState{filter: filterIndex, position: int32(position), mode: modeStar}
		case subject.FullWildcard:
			return filterState{filter: filterIndex, position: int32(position), mode: modeFull}
		}
	}
	return filterState{filter: filterIndex, position: int32(position), mode: modeLiteral}
}

// step feeds one subject byte to the state and reports whether the filter still matches.
func (s filterState) step(filter []byte, b byte) (filterState, bool) {
	position := int(s.position)
	switch s.mode {
	case modeFull:
		return s, true
	case modeStar:
		if b != subject.Separator {
			return s, true
		}
		// The subject starts another token: the filter must have one after the '*'.
		if position+1 >= len(filter) {
			return s, false
		}
		return enterToken(s.filter, filter, position+2), true
	default:
		if position >= len(filter) || filter[position] != b {
			return s, false
		}
		if b == subject.Separator {
			return enterToken(s.filter, filter, position+1), true
		}
		s.position++
		return s, true
	}
}

// accepts reports whether a subject ending here matches.
func (s filterState) accepts(filter []byte) bool {
	switch s.mode {
	case modeFull:
		return true
	case modeStar:
		return int(s.position)+1 == len(filter)
	default:
		return int(s.position) == len(filter)
	}
}

// Inline sizes of the walk's stacks: walks of trees at most this many inner nodes deep, with
// one filter, do not allocate. Deeper trees spill to the heap, they never recurse.
const (
	stackFramesInline = 32
	stackStatesInline = 2 * stackFramesInline
)

// frame is one inner node on the walk's stack, with the filter states that survived its
// prefix in states[statesFrom:statesTo].
type frame[T any] struct {
	node                 inner[T]
	depth                int
	statesFrom, statesTo int
	cursor               int
	// literalOnly says every state wants one specific next byte; candidates holds those
	// bytes, so the walk looks children up instead of scanning them all.
	literalOnly bool
	candidates  [4]uint64
}

// walk calls callback for every subject matched by at least one of filters (or for every
// subject when iterate is set), each exactly once, in byte order when ordered is set. It
// stops and returns true as soon as callback returns false.
func (t *SubjectTree[T]) walk(filters [][]byte, iterate, ordered bool, callback func([]byte, *T) bool) (stopped bool) {
	if t == nil || t.root == nil || callback == nil {
		return false
	}
	var frameBuffer [stackFramesInline]frame[T]
	var stateBuffer [stackStatesInline]filterState
	frames, states := frameBuffer[:0], stateBuffer[:0]
	if iterate {
		states = append(states, filterState{mode: modeFull})
	} else {
		for i, filter := range filters {
			// An empty filter matches nothing, as in subject.MatchesFilter.
			if len(filter) > 0 {
				states = append(states, enterToken(int32(i), filter, 0))
			}
		}
		states = collapseFull(states, 0)
	}
	if len(states) == 0 {
		return false
	}
	frames, states, stopped = walkEnter(filters, frames, states, t.root, 0, 0, callback)
	for !stopped && len(frames) > 0 {
		top := &frames[len(frames)-1]
		child, branch := top.nextChild(ordered)
		if child == nil {
			states = states[:top.statesFrom]
			frames = frames[:len(frames)-1]
			continue
		}
		from := len(states)
		for i := top.statesFrom; i < top.statesTo; i++ {
			state := states[i]
			if next, ok := state.step(filterOf(filters, state), branch); ok {
				states = append(states, next)
			}
		}
		if len(states) == from {
			continue
		}
		states = collapseFull(states, from)
		frames, states, stopped = walkEnter(filters, frames, states, child, top.depth+1, from, callback)
	}
	return stopped
}

// filterOf returns the filter a state runs; iteration states have none.
func filterOf(filters [][]byte, state filterState) []byte {
	if state.mode == modeFull {
		return nil
	}
	return filters[state.filter]
}

// collapseFull replaces states[from:] by a single full-match state when one of them has
// reached a '>', because then nothing else needs tracking below.
func collapseFull(states []filterState, from int) []filterState {
	for i := from; i < len(states); i++ {
		if states[i].mode == modeFull {
			states[from] = states[i]
			return states[:from+1]
		}
	}
	return states
}

// walkEnter visits n, reached after depth subject bytes with the states in states[from:].
// A leaf is decided at once; an inner node runs its prefix through the states and, when
// some survive, reports its terminal and is pushed to have its children walked.
func walkEnter[T any](filters [][]byte, frames []frame[T], states []filterState, n node[T], depth, from int, callback func([]byte, *T) bool) ([]frame[T], []filterState, bool) {
	if l := n.leaf(); l != nil {
		matched := leafMatches(filters, states[from:], l.subject[depth:])
		states = states[:from]
		if matched && !callback(l.subject, &l.value) {
			return frames, states, true
		}
		return frames, states, false
	}
	in := n.asInner()
	header := in.header()
	survivors := from
	for i := from; i < len(states); i++ {
		state, ok := states[i], true
		filter := filterOf(filters, state)
		for j := 0; ok && j < len(header.prefix) && state.mode != modeFull; j++ {
			state, ok = state.step(filter, header.prefix[j])
		}
		if ok {
			states[survivors] = state
			survivors++
		}
	}
	states = collapseFull(states[:survivors], from)
	if len(states) == from {
		return frames, states, false
	}
	if header.terminal != nil && anyAccepts(filters, states[from:]) {
		if !callback(header.terminal.subject, &header.terminal.value) {
			return frames, states[:from], true
		}
	}
	if header.count == 0 {
		return frames, states[:from], false
	}
	top := frame[T]{node: in, depth: depth + len(header.prefix), statesFrom: from, statesTo: len(states), literalOnly: true}
	for _, state := range states[from:] {
		filter := filterOf(filters, state)
		if state.mode != modeLiteral {
			top.literalOnly = false
			break
		}
		if int(state.position) < len(filter) {
			b := filter[state.position]
			top.candidates[b/64] |= 1 << (b % 64)
		}
	}
	return append(frames, top), states, false
}

// nextChild returns the frame's next child worth visiting and its byte, or nil.
func (f *frame[T]) nextChild(ordered bool) (node[T], byte) {
	if !f.literalOnly {
		var branch byte
		var child node[T]
		f.cursor, branch, child = f.node.nextChild(f.cursor, ordered)
		return child, branch
	}
	// Candidate bytes are visited in increasing order, which is byte order.
	for f.cursor < 256 {
		word := f.candidates[f.cursor/64] >> (f.cursor % 64)
		if word == 0 {
			f.cursor = (f.cursor/64 + 1) * 64
			continue
		}
		f.cursor += bits.TrailingZeros64(word)
		branch := byte(f.cursor)
		f.cursor++
		if slot := f.node.child(branch); slot != nil {
			return *slot, branch
		}
	}
	return nil, 0
}

// leafMatches reports whether some state, fed the rest of a leaf's subject, accepts it.
func leafMatches(filters [][]byte, states []filterState, rest []byte) bool {
	for _, state := range states {
		filter := filterOf(filters, state)
		ok := true
		for i := 0; ok && i < len(rest) && state.mode != modeFull; i++ {
			state, ok = state.step(filter, rest[i])
		}
		if ok && state.accepts(filter) {
			return true
		}
	}
	return false
}

// anyAccepts reports whether some state accepts a subject ending here.
func anyAccepts(filters [][]byte, states []filterState) bool {
	for _, state := range states {
		if state.accepts(filterOf(filters, state)) {
			return true
		}
	}
	return false
}

// Match calls callback for every subject matched by filter, in byte order. In filter, a
// '*' token matches any one token and a '>' token one or more trailing tokens; the tokens
// of stored subjects are taken literally. The subject passed to callback must not be
// modified. A nil callback makes Match a no-op. Match does not allocate.
func (t *SubjectTree[T]) Match(filter []byte, callback func(subject []byte, value *T)) {
	if callback == nil {
		return
	}
	if isLiteral(filter) {
		if l := t.findLeaf(filter); l != nil {
			callback(l.subject, &l.value)
		}
		return
	}
	filters := [1][]byte{filter}
	t.walk(filters[:], false, true, func(subject []byte, value *T) bool {
		callback(subject, value)
		return true
	})
}

// MatchUntil is Match with a callback that returns false to stop the walk. It reports
// whether the walk was stopped.
func (t *SubjectTree[T]) MatchUntil(filter []byte, callback func(subject []byte, value *T) bool) (stopped bool) {
	if callback == nil {
		return false
	}
	if isLiteral(filter) {
		if l := t.findLeaf(filter); l != nil {
			return !callback(l.subject, &l.value)
		}
		return false
	}
	filters := [1][]byte{filter}
	return t.walk(filters[:], false, true, callback)
}

// MatchFilters calls callback once for every subject matched by at least one of filters,
// in byte order, until callback returns false; it reports whether it was stopped. The
// filters are walked together, so each part of the tree is visited once however many
// filters reach it, and parts no filter can match are skipped.
func (t *SubjectTree[T]) MatchFilters(filters [][]byte, callback func(subject []byte, value *T) bool) (stopped bool) {
	return t.walk(filters, false, true, callback)
}

// IterOrdered calls callback for every subject in byte order until callback returns false.
// It does not allocate.
func (t *SubjectTree[T]) IterOrdered(callback func(subject []byte, value *T) bool) {
	t.walk(nil, true, true, callback)
}

// IterFast calls callback for every subject, in whatever order is cheapest, until callback
// returns false. The order is still a deterministic function of the operations applied to
// the tree. It does not allocate.
func (t *SubjectTree[T]) IterFast(callback func(subject []byte, value *T) bool) {
	t.walk(nil, true, false, callback)
}

// isLiteral reports whether filter has no wildcard token, so that matching it is a lookup.
func isLiteral(filter []byte) bool {
	start := 0
	for i := 0; i <= len(filter); i++ {
		if i == len(filter) || filter[i] == subject.Separator {
			if i-start == 1 && (filter[start] == subject.PartialWildcard || filter[start] == subject.FullWildcard) {
				return false
			}
			start = i + 1
		}
	}
	return true
}

// LazyIntersect calls callback for every subject present in both trees, with its value in
// each, in byte order. It walks the smaller tree in order and looks each subject up in the
// larger one, so its cost follows the smaller tree.
func LazyIntersect[A, B any](a *SubjectTree[A], b *SubjectTree[B], callback func(subject []byte, valueA *A, valueB *B)) {
	if a.Size() == 0 || b.Size() == 0 || callback == nil {
		return
	}
	if a.Size() <= b.Size() {
		a.IterOrdered(func(subject []byte, valueA *A) bool {
			if valueB, ok := b.Find(subject); ok {
				callback(subject, valueA, valueB)
			}
			return true
		})
		return
	}
	b.IterOrdered(func(subject []byte, valueB *B) bool {
		if valueA, ok := a.Find(subject); ok {
			callback(subject, valueA, valueB)
		}
		return true
	})
}
