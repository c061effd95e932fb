package seqset

import (
	"slices"
	"testing"
)

// FuzzDecode proves that Decode never panics, and that whatever it accepts is a valid
// set that survives an Encode/Decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	seeds := []*SequenceSet{{}, {}, {}, {}}
	for seq := range uint64(3000) {
		seeds[1].Insert(seq)
		seeds[2].Insert(seq * 5)
	}
	if err := seeds[3].SetInitialMin(1<<64 - 10); err != nil {
		f.Fatal(err)
	}
	seeds[3].Insert(1<<64 - 1)
	seeds[3].Insert(3)
	for _, s := range seeds {
		encoded, _ := s.Encode(nil)
		f.Add(encoded)
	}
	f.Add(encodeV1(version1VectorSeqs))
	f.Add(encodeV1(nil))
	f.Add([]byte{encodingMagic, encodingVersion, 0, 1, 1, 0, kindFull})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, read, err := Decode(data)
		if err != nil {
			return
		}
		if read < headerBytes || read > len(data) {
			t.Fatalf("read %d of %d bytes", read, len(data))
		}
		if err := s.checkInvariants(); err != nil {
			t.Fatalf("decoded set breaks invariants: %v", err)
		}
		encoded, err := s.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := Decode(encoded)
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if again.offset != s.offset || !slices.Equal(collect(again), collect(s)) {
			t.Fatal("round trip changed the set")
		}
	})
}
