package osenv

import "sync"

// The outgoing queue of a connection is a list of chunks taken from size-class pools,
// written with one writev per flush. Compared with one growing buffer this never
// copies queued bytes when the queue grows (a slow consumer can queue 64 MiB), and a
// message fanned out to thousands of connections costs each of them a small chunk,
// returned to the pool as soon as it is written.
const (
	chunkSmallBytes  = 512
	chunkMediumBytes = 4 << 10
	chunkLargeBytes  = 64 << 10
)

var (
	chunkSmallPool  = sync.Pool{New: func() any { return new([chunkSmallBytes]byte) }}
	chunkMediumPool = sync.Pool{New: func() any { return new([chunkMediumBytes]byte) }}
	chunkLargePool  = sync.Pool{New: func() any { return new([chunkLargeBytes]byte) }}
)

// chunkFor returns an empty pooled chunk for a queue that will hold at least wanted
// more bytes and whose last chunk had capacity previous (0 for an empty queue): the
// smallest class that fits, and above the previous chunk's class (up to the largest),
// so that a growing queue quickly moves to large chunks.
func chunkFor(wanted, previous int) []byte {
	switch size := max(wanted, previous); {
	case size <= chunkSmallBytes && previous < chunkSmallBytes:
		return chunkSmallPool.Get().(*[chunkSmallBytes]byte)[:0]
	case size <= chunkMediumBytes && previous < chunkMediumBytes:
		return chunkMediumPool.Get().(*[chunkMediumBytes]byte)[:0]
	default:
		return chunkLargePool.Get().(*[chunkLargeBytes]byte)[:0]
	}
}

// releaseChunk returns a chunk from chunkFor to its pool; the caller keeps no
// reference to it.
func releaseChunk(chunk []byte) {
	switch cap(chunk) {
	case chunkSmallBytes:
		chunkSmallPool.Put((*[chunkSmallBytes]byte)(chunk[:chunkSmallBytes]))
	case chunkMediumBytes:
		chunkMediumPool.Put((*[chunkMediumBytes]byte)(chunk[:chunkMediumBytes]))
	case chunkLargeBytes:
		chunkLargePool.Put((*[chunkLargeBytes]byte)(chunk[:chunkLargeBytes]))
	}
}

// appendChunks copies b to the end of the chunk list, taking new chunks as needed.
func appendChunks(chunks [][]byte, b []byte) [][]byte {
	// The common case: a small message that fits in the last chunk.
	if last := len(chunks) - 1; last >= 0 && len(b) <= cap(chunks[last])-len(chunks[last]) {
		chunks[last] = append(chunks[last], b...)
		return chunks
	}
	for len(b) > 0 {
		last := len(chunks) - 1
		if last < 0 || len(chunks[last]) == cap(chunks[last]) {
			previous := 0
			if last >= 0 {
				previous = cap(chunks[last])
			}
			chunks = append(chunks, chunkFor(len(b), previous))
			last++
		}
		chunk := chunks[last]
		n := copy(chunk[len(chunk):cap(chunk)], b)
		chunks[last] = chunk[:len(chunk)+n]
		b = b[n:]
	}
	return chunks
}

// releaseChunks returns every chunk of the list to its pool and clears the list.
func releaseChunks(chunks [][]byte) [][]byte {
	for i, chunk := range chunks {
		releaseChunk(chunk)
		chunks[i] = nil
	}
	return chunks[:0]
}
