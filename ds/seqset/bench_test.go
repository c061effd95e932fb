package seqset

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkInsertSequential measures appending the next sequence, the store's common
// case.
func BenchmarkInsertSequential(b *testing.B) {
	b.ReportAllocs()
	var s SequenceSet
	for i := range uint64(b.N) {
		s.Insert(i)
	}
}

// BenchmarkInsertRandom measures inserts spread over 16M sequences.
func BenchmarkInsertRandom(b *testing.B) {
	b.ReportAllocs()
	random := rand.New(rand.NewPCG(1, 1))
	seqs := make([]uint64, 1<<16)
	for i := range seqs {
		seqs[i] = random.Uint64N(1 << 24)
	}
	var s SequenceSet
	b.ResetTimer()
	for i := range b.N {
		s.Insert(seqs[i&(len(seqs)-1)])
	}
}

// BenchmarkExists measures lookups in a sparse set of 1M sequences.
func BenchmarkExists(b *testing.B) {
	b.ReportAllocs()
	var s SequenceSet
	for i := range uint64(1_000_000) {
		s.Insert(i * 3)
	}
	b.ResetTimer()
	for i := range uint64(b.N) {
		s.Exists(i % 3_000_000)
	}
}

// BenchmarkRange measures visiting each sequence of a sparse 1M set, per sequence.
func BenchmarkRange(b *testing.B) {
	b.ReportAllocs()
	var s SequenceSet
	for i := range uint64(1_000_000) {
		s.Insert(i * 3)
	}
	b.ResetTimer()
	visited := 0
	for visited < b.N {
		s.Range(func(uint64) bool {
			visited++
			return visited < b.N
		})
	}
}

// BenchmarkDelete measures deleting sequences in order from a sequential set.
func BenchmarkDelete(b *testing.B) {
	b.ReportAllocs()
	var s SequenceSet
	for i := range uint64(b.N) {
		s.Insert(i)
	}
	b.ResetTimer()
	for i := range uint64(b.N) {
		s.Delete(i)
	}
}
