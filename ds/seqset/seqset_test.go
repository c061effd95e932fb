package seqset

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// mustCheck fails the test when the set's invariants are broken.
func mustCheck(t *testing.T, s *SequenceSet) {
	t.Helper()
	if err := s.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestBasics proves that inserted sequences exist, others do not, and that duplicate
// inserts do not change the size.
func TestBasics(t *testing.T) {
	var s SequenceSet
	seqs := []uint64{22, 222, 2000, 2, 2, 4}
	for _, seq := range seqs {
		s.Insert(seq)
		if !s.Exists(seq) {
			t.Fatalf("%d missing after Insert", seq)
		}
	}
	if s.Size() != 5 {
		t.Fatalf("Size = %d, want 5", s.Size())
	}
	for _, seq := range []uint64{0, 1, 3, 23, 2001, 1 << 50} {
		if s.Exists(seq) {
			t.Fatalf("%d exists but was never inserted", seq)
		}
	}
	if s.Nodes() != 1 {
		t.Fatalf("Nodes = %d, want 1 (all in the first chunk)", s.Nodes())
	}
	mustCheck(t, &s)
}

// TestNilAndZeroValue proves that the read methods accept a nil set and that the zero
// value is an empty, usable set.
func TestNilAndZeroValue(t *testing.T) {
	var nilSet *SequenceSet
	if !nilSet.IsEmpty() || nilSet.Size() != 0 || nilSet.Nodes() != 0 || nilSet.Exists(1) || nilSet.Delete(1) {
		t.Fatal("nil set is not empty")
	}
	nilSet.Range(func(uint64) bool { t.Fatal("Range on a nil set called f"); return false })
	if nilSet.Clone() != nil {
		t.Fatal("Clone of nil is not nil")
	}
	if min, max, num := nilSet.State(); min|max|num != 0 {
		t.Fatalf("State of nil = %d %d %d", min, max, num)
	}
	if l, r := nilSet.Heights(); l|r != 0 {
		t.Fatalf("Heights of nil = %d %d", l, r)
	}
	var zero SequenceSet
	if !zero.IsEmpty() || zero.Delete(0) {
		t.Fatal("zero value is not empty")
	}
	zero.Insert(0)
	if !zero.Exists(0) || zero.Size() != 1 {
		t.Fatal("zero value does not hold sequence 0 after inserting it")
	}
}

// TestLeftAndRightLeaning proves that strictly descending and strictly ascending
// inserts, which degrade an unbalanced tree to a list, keep the tree balanced.
func TestLeftAndRightLeaning(t *testing.T) {
	const chunks = 1000
	for _, test := range []struct {
		name string
		seq  func(i uint64) uint64
	}{
		{"left", func(i uint64) uint64 { return (chunks - i) * chunkSize }},
		{"right", func(i uint64) uint64 { return i * chunkSize }},
	} {
		t.Run(test.name, func(t *testing.T) {
			var s SequenceSet
			for i := range uint64(chunks) {
				s.Insert(test.seq(i))
			}
			mustCheck(t, &s)
			if s.Nodes() != chunks {
				t.Fatalf("Nodes = %d, want %d", s.Nodes(), chunks)
			}
			left, right := s.Heights()
			if left-right > 1 || right-left > 1 || max(left, right) > 12 {
				t.Fatalf("Heights = %d, %d for %d nodes", left, right, chunks)
			}
		})
	}
}

// TestRandomInsertDelete proves agreement with a map under a seeded random mix of
// inserts and deletes over a dense range, checking invariants as it goes.
func TestRandomInsertDelete(t *testing.T) {
	random := rand.New(rand.NewPCG(1, 2))
	var s SequenceSet
	model := map[uint64]bool{}
	const span = 100 * chunkSize
	for i := range 200_000 {
		seq := random.Uint64N(span)
		if random.IntN(3) == 0 {
			if got := s.Delete(seq); got != model[seq] {
				t.Fatalf("Delete(%d) = %v, want %v", seq, got, model[seq])
			}
			delete(model, seq)
		} else {
			s.Insert(seq)
			model[seq] = true
		}
		if i%10_000 == 0 {
			mustCheck(t, &s)
		}
	}
	mustCheck(t, &s)
	for seq := range uint64(span) {
		if s.Exists(seq) != model[seq] {
			t.Fatalf("Exists(%d) = %v, want %v", seq, !model[seq], model[seq])
		}
	}
	// Deleting everything removes every node.
	for seq := range model {
		s.Delete(seq)
	}
	mustCheck(t, &s)
	if !s.IsEmpty() || s.Nodes() != 0 {
		t.Fatalf("after deleting all: Size %d Nodes %d", s.Size(), s.Nodes())
	}
}

// TestRangeOrder proves that Range visits sequences in ascending order whatever the
// insert order, and stops when f returns false.
func TestRangeOrder(t *testing.T) {
	random := rand.New(rand.NewPCG(3, 4))
	var s SequenceSet
	want := map[uint64]bool{}
	for range 50_000 {
		seq := random.Uint64N(1 << 24)
		s.Insert(seq)
		want[seq] = true
	}
	got := collect(&s)
	if len(got) != len(want) || !slices.IsSorted(got) {
		t.Fatalf("Range returned %d sequences (sorted: %v), want %d sorted", len(got), slices.IsSorted(got), len(want))
	}
	calls := 0
	s.Range(func(uint64) bool { calls++; return calls < 10 })
	if calls != 10 {
		t.Fatalf("Range made %d calls after f returned false at the 10th", calls)
	}
}

// TestDeleteFromFullChunk proves that deleting from a chunk stored without a bitmap
// restores the bitmap with every other sequence present.
func TestDeleteFromFullChunk(t *testing.T) {
	var s SequenceSet
	for seq := range uint64(3 * chunkSize) {
		s.Insert(seq)
	}
	mustCheck(t, &s)
	if s.root.bits != nil {
		t.Fatal("a full chunk kept its bitmap")
	}
	if !s.Delete(chunkSize+7) || s.Delete(chunkSize+7) {
		t.Fatal("Delete did not report presence correctly")
	}
	mustCheck(t, &s)
	for seq := range uint64(3 * chunkSize) {
		if s.Exists(seq) != (seq != chunkSize+7) {
			t.Fatalf("Exists(%d) wrong after one delete", seq)
		}
	}
	s.Insert(chunkSize + 7)
	mustCheck(t, &s)
	if s.find(chunkSize).bits != nil {
		t.Fatal("a refilled chunk kept its bitmap")
	}
}

// TestBoundaries proves that sequence 0, math.MaxUint64 and the short chunks at both
// ends of an offset alignment behave like any other sequence.
func TestBoundaries(t *testing.T) {
	for _, initialMin := range []uint64{0, 1, 100, chunkSize - 1, chunkSize, 1<<64 - 1} {
		var s SequenceSet
		if err := s.SetInitialMin(initialMin); err != nil {
			t.Fatal(err)
		}
		seqs := []uint64{0, 1, initialMin, initialMin - 1, initialMin + 1, 1<<64 - 1, 1<<64 - 2, 1<<64 - chunkSize}
		for _, seq := range seqs {
			s.Insert(seq)
		}
		// Fill the short chunks completely, then empty them.
		for seq := range initialMin % chunkSize {
			s.Insert(seq)
		}
		for seq := uint64(1<<64 - 1); seq > 1<<64-2*chunkSize; seq-- {
			s.Insert(seq)
		}
		mustCheck(t, &s)
		min, max := s.MinMax()
		if min != 0 || max != 1<<64-1 {
			t.Fatalf("initial min %d: MinMax = %d, %d", initialMin, min, max)
		}
		for seq := uint64(1<<64 - 1); seq > 1<<64-2*chunkSize; seq-- {
			if !s.Delete(seq) {
				t.Fatalf("initial min %d: Delete(%d) found nothing", initialMin, seq)
			}
		}
		mustCheck(t, &s)
	}
}

// TestSetInitialMin proves that SetInitialMin aligns a run starting at min into full
// chunks, and refuses a non-empty set.
func TestSetInitialMin(t *testing.T) {
	var s SequenceSet
	const min = 1_000_000_007
	if err := s.SetInitialMin(min); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(min); seq < min+4*chunkSize; seq++ {
		s.Insert(seq)
	}
	mustCheck(t, &s)
	if s.Nodes() != 4 {
		t.Fatalf("Nodes = %d, want 4 full chunks", s.Nodes())
	}
	s.eachNode(s.root, func(n *node) {
		if n.bits != nil {
			t.Fatalf("chunk %d not full", n.base)
		}
	})
	if err := s.SetInitialMin(5); !errors.Is(err, ErrSetNotEmpty) {
		t.Fatalf("SetInitialMin on a non-empty set: %v", err)
	}
	s.Empty()
	if !s.IsEmpty() || s.offset != 0 {
		t.Fatal("Empty left sequences or the alignment behind")
	}
}

// TestStateAndMinMax proves State and MinMax on small sets.
func TestStateAndMinMax(t *testing.T) {
	var s SequenceSet
	for _, seq := range []uint64{50_000, 7, 123_456_789, 3000} {
		s.Insert(seq)
	}
	if min, max, num := s.State(); min != 7 || max != 123_456_789 || num != 4 {
		t.Fatalf("State = %d %d %d", min, max, num)
	}
	s.Delete(7)
	s.Delete(123_456_789)
	if min, max := s.MinMax(); min != 3000 || max != 50_000 {
		t.Fatalf("MinMax = %d %d", min, max)
	}
}

// TestCloneIndependence proves that a clone and its original can be changed without
// affecting each other, including bitmaps of shared chunks.
func TestCloneIndependence(t *testing.T) {
	var s SequenceSet
	for seq := range uint64(10_000) {
		if seq%3 != 0 {
			s.Insert(seq)
		}
	}
	c := s.Clone()
	mustCheck(t, c)
	c.Insert(3)
	c.Delete(1)
	s.Insert(6)
	s.Delete(2)
	if s.Exists(3) || !s.Exists(1) || c.Exists(6) || !c.Exists(2) {
		t.Fatal("changes leaked between a clone and its original")
	}
	mustCheck(t, &s)
	mustCheck(t, c)
}

// TestUnion proves the Union method and function over overlapping sets with different
// alignments, and that the inputs are not changed.
func TestUnion(t *testing.T) {
	a, b, c := &SequenceSet{}, &SequenceSet{}, &SequenceSet{}
	if err := b.SetInitialMin(1001); err != nil {
		t.Fatal(err)
	}
	want := map[uint64]bool{}
	for seq := range uint64(20_000) {
		if seq%2 == 0 {
			a.Insert(seq)
			want[seq] = true
		}
		if seq%3 == 0 || seq > 15_000 {
			b.Insert(seq)
			want[seq] = true
		}
	}
	c.Insert(1 << 60)
	want[1<<60] = true
	aSize := a.Size()
	union := Union(a, nil, b, c)
	mustCheck(t, union)
	if union.Size() != len(want) {
		t.Fatalf("Union Size = %d, want %d", union.Size(), len(want))
	}
	for seq := range want {
		if !union.Exists(seq) {
			t.Fatalf("Union misses %d", seq)
		}
	}
	if a.Size() != aSize {
		t.Fatal("Union changed an input")
	}
	a.Union(b, c)
	mustCheck(t, a)
	if !slices.Equal(collect(a), collect(union)) {
		t.Fatal("Union method and function disagree")
	}
	if Union() != nil || Union(nil, nil) != nil {
		t.Fatal("Union of no sets is not nil")
	}
}

// TestDistinctUnion proves that the union of disjoint sets holds exactly the sum of
// their sizes and every sequence of each.
func TestDistinctUnion(t *testing.T) {
	sets := make([]*SequenceSet, 4)
	total := 0
	for i := range sets {
		sets[i] = &SequenceSet{}
		for seq := uint64(i); seq < 40_000; seq += uint64(len(sets)) {
			sets[i].Insert(seq)
			total++
		}
	}
	union := Union(sets...)
	mustCheck(t, union)
	if union.Size() != total || union.Size() != 40_000 {
		t.Fatalf("Size = %d, want %d", union.Size(), total)
	}
	// Four interleaved sets fill every chunk, so the union needs no bitmaps.
	union.eachNode(union.root, func(n *node) {
		if n.bits != nil && n.base+chunkSize <= 40_000 {
			t.Fatalf("chunk %d has a bitmap though full", n.base)
		}
	})
}

// TestEncodeDecode proves round trips for empty, sequential, sparse and aligned sets,
// reuse of the caller's buffer, and that Decode reports the bytes it read.
func TestEncodeDecode(t *testing.T) {
	aligned := &SequenceSet{}
	if err := aligned.SetInitialMin(777); err != nil {
		t.Fatal(err)
	}
	sequential, sparse := &SequenceSet{}, &SequenceSet{}
	for seq := range uint64(100_000) {
		sequential.Insert(seq + 1)
		sparse.Insert(seq * 3)
		aligned.Insert(seq + 777)
	}
	aligned.Insert(1<<64 - 1)
	for _, test := range []struct {
		name string
		set  *SequenceSet
	}{{"empty", &SequenceSet{}}, {"sequential", sequential}, {"sparse", sparse}, {"aligned", aligned}} {
		t.Run(test.name, func(t *testing.T) {
			buf := make([]byte, 0, 1<<20)
			encoded, err := test.set.Encode(buf)
			if err != nil {
				t.Fatal(err)
			}
			if &encoded[0] != &buf[:1][0] {
				t.Fatal("Encode did not reuse a large enough buffer")
			}
			decoded, read, err := Decode(append(encoded, "trailing"...))
			if err != nil || read != len(encoded) {
				t.Fatalf("Decode read %d of %d: %v", read, len(encoded), err)
			}
			mustCheck(t, decoded)
			if !slices.Equal(collect(decoded), collect(test.set)) || decoded.offset != test.set.offset {
				t.Fatal("decoded set differs")
			}
		})
	}
	if n := sequential.EncodeLength(); n > 2000 {
		t.Fatalf("100k sequential sequences encode to %d bytes", n)
	}
}

// TestDecodeVersion1Vector proves that the previous encoding still decodes, from bytes
// committed in testdata (written by encodeV1 when version 2 was introduced).
func TestDecodeVersion1Vector(t *testing.T) {
	text, err := os.ReadFile("testdata/version1.hex")
	if err != nil {
		t.Fatal(err)
	}
	vector, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		t.Fatal(err)
	}
	if encoded := encodeV1(version1VectorSeqs); !slices.Equal(encoded, vector) {
		t.Fatal("encodeV1 no longer writes the committed vector")
	}
	s, read, err := Decode(vector)
	if err != nil || read != len(vector) {
		t.Fatalf("Decode read %d of %d: %v", read, len(vector), err)
	}
	mustCheck(t, s)
	if got := collect(s); !slices.Equal(got, version1VectorSeqs) {
		t.Fatalf("decoded %v, want %v", got, version1VectorSeqs)
	}
	// Re-encoding writes the current version.
	encoded, _ := s.Encode(nil)
	if encoded[1] != encodingVersion {
		t.Fatalf("re-encoded version %d", encoded[1])
	}
}

// TestDecodeErrors proves that truncated and inconsistent encodings return errors.
func TestDecodeErrors(t *testing.T) {
	var s SequenceSet
	for seq := range uint64(5000) {
		if seq%7 != 0 {
			s.Insert(seq)
		}
	}
	good, _ := s.Encode(nil)
	v1 := encodeV1([]uint64{5, 3000})
	corrupt := func(b []byte, at int, value byte) []byte {
		c := slices.Clone(b)
		c[at] = value
		return c
	}
	for _, test := range []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, ErrBadEncoding},
		{"magic", corrupt(good, 0, 21), ErrBadEncoding},
		{"version", corrupt(good, 1, 9), ErrBadVersion},
		{"size", corrupt(good, 4, good[4]+1), ErrBadEncoding},
		{"node count", corrupt(good, 3, 200), ErrBadEncoding},
		{"offset", []byte{encodingMagic, encodingVersion, 0x80, 0x10, 0, 0}, ErrBadEncoding},
		{"kind", []byte{encodingMagic, encodingVersion, 0, 1, 1, 0, 7}, ErrBadEncoding},
		{"full size mismatch", []byte{encodingMagic, encodingVersion, 0, 1, 1, 0, kindFull}, ErrBadEncoding},
		{"unaligned base", []byte{encodingMagic, encodingVersion, 0, 1, 0x80, 0x10, 5, kindFull}, ErrBadEncoding},
		{"repeated base", []byte{encodingMagic, encodingVersion, 0, 2, 0x80, 0x20, 0, kindFull, 0, kindFull}, ErrBadEncoding},
		{"v1 truncated", v1[:len(v1)-1], ErrBadEncoding},
		{"v1 size", corrupt(v1, 6, 3), ErrBadEncoding},
		{"v1 unaligned", corrupt(v1, 10, 1), ErrBadEncoding},
	} {
		if _, _, err := Decode(test.input); !errors.Is(err, test.want) {
			t.Errorf("%s: err = %v, want %v", test.name, err, test.want)
		}
	}
	for cut := range len(good) {
		if _, _, err := Decode(good[:cut]); err == nil {
			t.Fatalf("Decode of %d of %d bytes succeeded", cut, len(good))
		}
	}
}

// memoryBytes returns the bytes the set's nodes and bitmaps occupy on the heap,
// counting each node at its allocation size class (48 bytes).
func memoryBytes(s *SequenceSet) int {
	nodeBytes := int(unsafe.Sizeof(node{}))
	if nodeBytes > 32 && nodeBytes <= 48 {
		nodeBytes = 48
	}
	total := 0
	s.eachNode(s.root, func(n *node) {
		total += nodeBytes
		if n.bits != nil {
			total += int(unsafe.Sizeof(bitmap{}))
		}
	})
	return total
}

// TestBytesPerSequence measures memory and encoded bytes per sequence for 1M
// sequential and 1M sparse (every third) sequences, and holds sequential under 0.1.
func TestBytesPerSequence(t *testing.T) {
	const count = 1_000_000
	for _, test := range []struct {
		name   string
		stride uint64
		limit  float64
	}{{"sequential", 1, 0.1}, {"sparse every 3rd", 3, 1}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := &SequenceSet{}
		for i := range uint64(count) {
			s.Insert(1 + i*test.stride)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		structural := float64(memoryBytes(s)) / count
		encoded := float64(s.EncodeLength()) / count
		t.Logf("%s: %d nodes, %.4f bytes/seq in memory (heap delta %.4f), %.4f bytes/seq encoded",
			test.name, s.Nodes(), structural, heap/count, encoded)
		if structural >= test.limit {
			t.Errorf("%s: %.4f bytes per sequence, limit %.2f", test.name, structural, test.limit)
		}
		runtime.KeepAlive(s)
	}
}
