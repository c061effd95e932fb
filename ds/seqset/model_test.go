package seqset

import (
	"errors"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// seqGenerator draws sequences that stress chunk boundaries: a dense low range, a
// range far from zero, and the top of the uint64 space where the last chunk is short.
func seqGenerator() *rapid.Generator[uint64] {
	return rapid.OneOf(
		rapid.Uint64Range(0, 3*chunkSize+100),
		rapid.Uint64Range(1<<40, 1<<40+3*chunkSize),
		rapid.Uint64Range(math.MaxUint64-3*chunkSize, math.MaxUint64),
	)
}

// setModel is the trivially correct model: a Go map of present sequences.
type setModel map[uint64]struct{}

func (m setModel) sorted() []uint64 {
	keys := make([]uint64, 0, len(m))
	for seq := range m {
		keys = append(keys, seq)
	}
	slices.Sort(keys)
	return keys
}

// collect returns the set's sequences through Range.
func collect(s *SequenceSet) []uint64 {
	var seqs []uint64
	s.Range(func(seq uint64) bool {
		seqs = append(seqs, seq)
		return true
	})
	return seqs
}

// drawSet builds a set and its model from a random mix of single inserts and runs,
// with a random alignment.
func drawSet(t *rapid.T, label string) (*SequenceSet, setModel) {
	s, m := &SequenceSet{}, setModel{}
	if rapid.Bool().Draw(t, label+" aligned") {
		if err := s.SetInitialMin(seqGenerator().Draw(t, label+" min")); err != nil {
			t.Fatalf("SetInitialMin on an empty set: %v", err)
		}
	}
	for range rapid.IntRange(0, 4).Draw(t, label+" runs") {
		start := seqGenerator().Draw(t, label+" start")
		length := rapid.Uint64Range(1, chunkSize+200).Draw(t, label+" length")
		for seq := start; seq-start < length; seq++ {
			s.Insert(seq)
			m[seq] = struct{}{}
			if seq == math.MaxUint64 {
				break
			}
		}
	}
	return s, m
}

// TestSequenceSetModel proves that every operation agrees with a map model after any
// sequence of operations, and that the AVL and node invariants hold after every step.
func TestSequenceSetModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, m := &SequenceSet{}, setModel{}
		t.Repeat(map[string]func(*rapid.T){
			"Insert": func(t *rapid.T) {
				seq := seqGenerator().Draw(t, "seq")
				s.Insert(seq)
				m[seq] = struct{}{}
			},
			"InsertRun": func(t *rapid.T) {
				start := seqGenerator().Draw(t, "start")
				length := rapid.Uint64Range(1, chunkSize+300).Draw(t, "length")
				for seq := start; seq-start < length; seq++ {
					s.Insert(seq)
					m[seq] = struct{}{}
					if seq == math.MaxUint64 {
						break
					}
				}
			},
			"Delete": func(t *rapid.T) {
				seq := seqGenerator().Draw(t, "seq")
				_, want := m[seq]
				if got := s.Delete(seq); got != want {
					t.Fatalf("Delete(%d) = %v, want %v", seq, got, want)
				}
				delete(m, seq)
			},
			"DeleteRun": func(t *rapid.T) {
				start := seqGenerator().Draw(t, "start")
				length := rapid.Uint64Range(1, chunkSize+300).Draw(t, "length")
				for seq := start; seq-start < length; seq++ {
					_, want := m[seq]
					if got := s.Delete(seq); got != want {
						t.Fatalf("Delete(%d) = %v, want %v", seq, got, want)
					}
					delete(m, seq)
					if seq == math.MaxUint64 {
						break
					}
				}
			},
			"Exists": func(t *rapid.T) {
				seq := seqGenerator().Draw(t, "seq")
				if _, want := m[seq]; s.Exists(seq) != want {
					t.Fatalf("Exists(%d) = %v, want %v", seq, !want, want)
				}
			},
			"SetInitialMin": func(t *rapid.T) {
				min := seqGenerator().Draw(t, "min")
				err := s.SetInitialMin(min)
				if len(m) > 0 && !errors.Is(err, ErrSetNotEmpty) || len(m) == 0 && err != nil {
					t.Fatalf("SetInitialMin(%d) with %d sequences: %v", min, len(m), err)
				}
			},
			"Empty": func(t *rapid.T) {
				s.Empty()
				clear(m)
			},
			"UnionMethod": func(t *rapid.T) {
				other, otherModel := drawSet(t, "other")
				s.Union(other, nil)
				for seq := range otherModel {
					m[seq] = struct{}{}
				}
				if err := other.checkInvariants(); err != nil {
					t.Fatalf("union changed its argument: %v", err)
				}
			},
			"UnionFunction": func(t *rapid.T) {
				other, otherModel := drawSet(t, "other")
				before := collect(s)
				union := Union(other, nil, s)
				if err := union.checkInvariants(); err != nil {
					t.Fatalf("union: %v", err)
				}
				want := setModel{}
				for seq := range otherModel {
					want[seq] = struct{}{}
				}
				for seq := range m {
					want[seq] = struct{}{}
				}
				if got := collect(union); !slices.Equal(got, want.sorted()) {
					t.Fatalf("Union holds %d sequences, want %d", len(got), len(want))
				}
				if after := collect(s); !slices.Equal(before, after) {
					t.Fatalf("Union changed an input set")
				}
			},
			"CloneIndependence": func(t *rapid.T) {
				c := s.Clone()
				seq := seqGenerator().Draw(t, "seq")
				c.Insert(seq)
				c.Delete(seqGenerator().Draw(t, "deleted"))
				if err := c.checkInvariants(); err != nil {
					t.Fatalf("clone: %v", err)
				}
				if _, present := m[seq]; !present && s.Exists(seq) {
					t.Fatalf("inserting %d into a clone changed the original", seq)
				}
			},
			"EncodeDecode": func(t *rapid.T) {
				encoded, err := s.Encode(nil)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				if len(encoded) != s.EncodeLength() {
					t.Fatalf("Encode wrote %d bytes, EncodeLength said %d", len(encoded), s.EncodeLength())
				}
				decoded, read, err := Decode(append(encoded, 0xFF))
				if err != nil || read != len(encoded) {
					t.Fatalf("Decode: read %d of %d, %v", read, len(encoded), err)
				}
				if err := decoded.checkInvariants(); err != nil {
					t.Fatalf("decoded: %v", err)
				}
				if decoded.offset != s.offset || !slices.Equal(collect(decoded), collect(s)) {
					t.Fatalf("decoded set differs from the encoded one")
				}
				s = decoded
			},
			"RangeStops": func(t *rapid.T) {
				stop := rapid.IntRange(1, 50).Draw(t, "stop")
				var got []uint64
				s.Range(func(seq uint64) bool {
					got = append(got, seq)
					return len(got) < stop
				})
				want := m.sorted()
				want = want[:min(stop, len(want))]
				if !slices.Equal(got, want) {
					t.Fatalf("Range stopped after %v, want %v", got, want)
				}
			},
			"CompareAll": func(t *rapid.T) {
				want := m.sorted()
				if got := collect(s); !slices.Equal(got, want) {
					t.Fatalf("set holds %d sequences, model %d", len(got), len(want))
				}
				min, max, num := s.State()
				if len(want) == 0 {
					if min != 0 || max != 0 || num != 0 {
						t.Fatalf("State of an empty set = %d %d %d", min, max, num)
					}
					return
				}
				if min != want[0] || max != want[len(want)-1] || num != uint64(len(want)) {
					t.Fatalf("State = %d %d %d, want %d %d %d", min, max, num, want[0], want[len(want)-1], len(want))
				}
			},
			"": func(t *rapid.T) {
				if err := s.checkInvariants(); err != nil {
					t.Fatal(err)
				}
				if s.Size() != len(m) || s.IsEmpty() != (len(m) == 0) {
					t.Fatalf("Size %d IsEmpty %v, model holds %d", s.Size(), s.IsEmpty(), len(m))
				}
			},
		})
	})
}
