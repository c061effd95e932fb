package core

// entryChunkBits sets the entries of one chunk of the index: 1,024 entries, 48 KiB.
const entryChunkBits = 10

// entryChunkLen is the number of entries in a full chunk.
const entryChunkLen = 1 << entryChunkBits

// entryChunkFirstLen is the capacity of a new list's only chunk: a stream with a few
// messages does not pay for a whole chunk; the chunk doubles up to entryChunkLen.
const entryChunkFirstLen = 16

// entryList is the sequence-ordered entries of a stream, in chunks of entryChunkLen.
// A slice of entries had to be copied whole each time it grew: under the store's
// lock, into fresh memory, with a GC write barrier per subject pointer while a
// collection ran, which was about a sixth of the write path's CPU time with many
// messages. Chunks are never copied once full, and dropping the oldest entries frees
// their chunks without touching the rest.
//
// Logical index i lives at physical position i+offset, in chunk (i+offset) /
// entryChunkLen. Every chunk but the last is full; only a list's single chunk may be
// smaller than entryChunkLen (it grows by copying until it is full).
type entryList struct {
	chunks [][]Entry
	offset int
	n      int
}

// len returns the number of entries.
func (l *entryList) len() int { return l.n }

// at returns the entry at logical index i, which must be below len.
func (l *entryList) at(i int) *Entry {
	j := i + l.offset
	return &l.chunks[j>>entryChunkBits][j&(entryChunkLen-1)]
}

// push appends e and returns its slot.
func (l *entryList) push(e Entry) *Entry {
	last := len(l.chunks) - 1
	if last < 0 {
		l.chunks = append(l.chunks, make([]Entry, 0, entryChunkFirstLen))
		last = 0
	} else if chunk := l.chunks[last]; len(chunk) == cap(chunk) {
		if cap(chunk) < entryChunkLen {
			// Only a single chunk is ever short (see entryList), so growing it keeps
			// every position where it was.
			grown := make([]Entry, len(chunk), min(2*cap(chunk), entryChunkLen))
			copy(grown, chunk)
			l.chunks[last] = grown
		} else {
			l.chunks = append(l.chunks, make([]Entry, 0, entryChunkLen))
			last++
		}
	}
	chunk := append(l.chunks[last], e)
	l.chunks[last] = chunk
	l.n++
	return &chunk[len(chunk)-1]
}

// pop removes the last entry.
func (l *entryList) pop() { l.truncate(l.n - 1) }

// truncate keeps the first n entries.
func (l *entryList) truncate(n int) {
	if n >= l.n {
		return
	}
	if n <= 0 {
		l.reset()
		return
	}
	end := n + l.offset // physical position of the first entry dropped
	keep := end >> entryChunkBits
	within := end & (entryChunkLen - 1)
	if within == 0 {
		// The chunk holding the first dropped entry goes whole.
		keep--
		within = len(l.chunks[keep])
	}
	chunk := l.chunks[keep]
	clear(chunk[within:])
	l.chunks[keep] = chunk[:within]
	clear(l.chunks[keep+1:])
	l.chunks = l.chunks[:keep+1]
	l.n = n
}

// dropFront removes the first k entries; chunks left with none are freed.
func (l *entryList) dropFront(k int) {
	if k <= 0 {
		return
	}
	if k >= l.n {
		l.reset()
		return
	}
	start := l.offset + k // physical position of the new first entry
	whole := start >> entryChunkBits
	clear(l.chunks[:whole])
	l.chunks = l.chunks[whole:]
	l.offset = start - whole<<entryChunkBits
	l.n -= k
}

// reset empties the list, keeping a single small chunk for reuse.
func (l *entryList) reset() {
	var spare []Entry
	if len(l.chunks) > 0 && cap(l.chunks[0]) <= entryChunkFirstLen {
		spare = l.chunks[0][:0]
		clear(spare[:cap(spare)])
	}
	clear(l.chunks)
	l.chunks = l.chunks[:0]
	if spare != nil {
		l.chunks = append(l.chunks, spare)
	}
	l.offset, l.n = 0, 0
}

// reserve makes room in the chunk table for n more entries (a journal replay that can
// estimate its size).
func (l *entryList) reserve(n int) {
	need := (l.offset+l.n+n)>>entryChunkBits + 1
	if cap(l.chunks) < need {
		grown := make([][]Entry, len(l.chunks), need)
		copy(grown, l.chunks)
		l.chunks = grown
	}
}

// searchSeq returns the smallest logical index in [from, len) whose entry's sequence
// is at least seq, or len when there is none. Sequences increase along the list.
func (l *entryList) searchSeq(from int, seq uint64) int {
	lo, hi := from, l.n
	if lo >= hi {
		return hi
	}
	// Sequences are dense unless messages were skipped or compacted away, so the
	// entry at the distance of seq from the first one is usually the one.
	first := l.at(lo).Seq
	if seq <= first {
		return lo
	}
	if distance := seq - first; distance < uint64(hi-lo) {
		guess := lo + int(distance)
		if l.at(guess).Seq == seq {
			return guess
		}
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if l.at(mid).Seq < seq {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// capacity returns the entries the list has room for, for accounting in tests.
func (l *entryList) capacity() int {
	total := 0
	for _, chunk := range l.chunks {
		total += cap(chunk)
	}
	return total
}
