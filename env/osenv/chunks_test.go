package osenv

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

// TestAppendChunksModel proves, against a plain byte slice, that the chunk list holds
// exactly the bytes written in order, that every chunk but the last is full, that
// chunk classes never shrink along the list, and that releasing empties it.
func TestAppendChunksModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var chunks [][]byte
		var model []byte
		writes := rapid.SliceOfN(rapid.IntRange(0, 3*chunkLargeBytes), 1, 20).Draw(t, "writeSizes")
		for i, size := range writes {
			b := bytes.Repeat([]byte{byte(i + 1)}, size)
			chunks = appendChunks(chunks, b)
			model = append(model, b...)
		}
		if got := bytes.Join(chunks, nil); !bytes.Equal(got, model) {
			t.Fatalf("chunks hold %d bytes, model %d (or they differ)", len(got), len(model))
		}
		for i, chunk := range chunks {
			if i < len(chunks)-1 && len(chunk) != cap(chunk) {
				t.Fatalf("chunk %d of %d is not full: %d of %d", i, len(chunks), len(chunk), cap(chunk))
			}
			if i > 0 && cap(chunk) < cap(chunks[i-1]) {
				t.Fatalf("chunk %d has class %d after class %d", i, cap(chunk), cap(chunks[i-1]))
			}
		}
		if chunks = releaseChunks(chunks); len(chunks) != 0 {
			t.Fatalf("releaseChunks left %d chunks", len(chunks))
		}
	})
}

// TestChunkForClasses proves the class choice: the smallest that fits the first
// write, never below the previous chunk's.
func TestChunkForClasses(t *testing.T) {
	for _, test := range []struct{ wanted, previous, want int }{
		{1, 0, chunkSmallBytes},
		{chunkSmallBytes, 0, chunkSmallBytes},
		{chunkSmallBytes + 1, 0, chunkMediumBytes},
		{1, chunkSmallBytes, chunkMediumBytes},
		{1, chunkMediumBytes, chunkLargeBytes},
		{chunkMediumBytes + 1, 0, chunkLargeBytes},
		{10 * chunkLargeBytes, 0, chunkLargeBytes},
		{1, chunkLargeBytes, chunkLargeBytes},
	} {
		chunk := chunkFor(test.wanted, test.previous)
		if len(chunk) != 0 || cap(chunk) != test.want {
			t.Errorf("chunkFor(%d, %d) has len %d cap %d, want 0 and %d",
				test.wanted, test.previous, len(chunk), cap(chunk), test.want)
		}
		releaseChunk(chunk)
	}
}

// BenchmarkAppendChunks16B measures the copy a 16-byte Write does under the lock.
func BenchmarkAppendChunks16B(b *testing.B) {
	message := []byte("MSG ab 1 2\r\nhi\r\n")
	var chunks [][]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		chunks = appendChunks(chunks, message)
		if i%1024 == 1023 {
			chunks = releaseChunks(chunks)
		}
	}
}
