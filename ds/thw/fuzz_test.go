package thw

import (
	"encoding/hex"
	"math"
	"slices"
	"testing"
)

// FuzzDecode proves that Decode never panics, leaves the wheel unchanged on error, and
// that whatever it accepts is a consistent wheel whose version 2 encoding decodes to
// the same tasks.
func FuzzDecode(f *testing.F) {
	w := NewHashWheel()
	for seq := range uint64(20) {
		w.Add(seq, epoch+int64(seq%4)*wheelSize*second-int64(seq))
	}
	f.Add(w.Encode(123))
	f.Add(NewHashWheel().Encode(0))
	v1, _ := hex.DecodeString(referenceV1Vector)
	f.Add(v1)
	f.Add([]byte{encodingVersion, 2, 0, 2, 5, 0, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		w := NewHashWheel()
		w.Add(1, epoch)
		highSeq, err := w.Decode(data)
		if err != nil {
			if w.Count() != 1 {
				t.Fatal("a failed Decode changed the wheel")
			}
			return
		}
		if err := w.checkInvariants(); err != nil {
			t.Fatalf("decoded wheel: %v", err)
		}
		encoded := w.Encode(highSeq)
		again := NewHashWheel()
		if got, err := again.Decode(encoded); err != nil || got != highSeq {
			t.Fatalf("re-decoding: %d, %v", got, err)
		}
		if !slices.Equal(again.Encode(highSeq), encoded) {
			t.Fatal("round trip changed the tasks")
		}
		if w.GetNextExpiration(math.MaxInt64) != again.GetNextExpiration(math.MaxInt64) {
			t.Fatal("round trip changed the next expiration")
		}
	})
}
