package thw

import (
	"cmp"
	"errors"
	"maps"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// epoch is an arbitrary Unix time in nanoseconds that the generated times surround.
const epoch = int64(1_767_225_600) * tickNanoseconds

// timeGenerator draws times around epoch that collide in slots across revolutions:
// within a few seconds of epoch and of epoch plus or minus one and two revolutions.
func timeGenerator() *rapid.Generator[int64] {
	return rapid.Custom(func(t *rapid.T) int64 {
		revolution := rapid.IntRange(-2, 2).Draw(t, "revolution")
		second := rapid.Int64Range(-3, 3).Draw(t, "second")
		nanosecond := rapid.SampledFrom([]int64{0, 1, tickNanoseconds / 2, tickNanoseconds - 1}).Draw(t, "nanosecond")
		return epoch + (int64(revolution)*wheelSize+second)*tickNanoseconds + nanosecond
	})
}

// modelEntries returns the model's entries expiring at or before now, in the order
// ExpireTasks must offer them.
func modelEntries(model map[uint64]int64, now int64) []entry {
	var due []entry
	for seq, expires := range model {
		if expires <= now {
			due = append(due, entry{seq, expires})
		}
	}
	slices.SortFunc(due, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.expires, b.expires), cmp.Compare(a.seq, b.seq))
	})
	return due
}

// TestHashWheelModel proves that the wheel agrees with a map from sequence to
// expiration under any sequence of operations, including expirations more than one
// revolution apart that share slots, and that its invariants hold after every step.
func TestHashWheelModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w, model := NewHashWheel(), map[uint64]int64{}
		seqs := rapid.Uint64Range(0, 60)
		t.Repeat(map[string]func(*rapid.T){
			"Add": func(t *rapid.T) {
				seq := seqs.Draw(t, "seq")
				if _, scheduled := model[seq]; scheduled {
					t.Skip("a sequence is added once; Update moves it")
				}
				expires := timeGenerator().Draw(t, "expires")
				w.Add(seq, expires)
				model[seq] = expires
			},
			"AddAgain": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				seq := rapid.SampledFrom(slices.Sorted(maps.Keys(model))).Draw(t, "seq")
				w.Add(seq, model[seq])
			},
			"Remove": func(t *rapid.T) {
				seq := seqs.Draw(t, "seq")
				expires, scheduled := model[seq]
				if !scheduled || rapid.Bool().Draw(t, "wrong expiration") {
					other := timeGenerator().Draw(t, "expires")
					if scheduled && other == expires {
						return
					}
					if err := w.Remove(seq, other); !errors.Is(err, ErrTaskNotFound) {
						t.Fatalf("Remove(%d, %d) of an unscheduled task: %v", seq, other, err)
					}
					return
				}
				if err := w.Remove(seq, expires); err != nil {
					t.Fatalf("Remove(%d, %d): %v", seq, expires, err)
				}
				delete(model, seq)
			},
			"Update": func(t *rapid.T) {
				seq := seqs.Draw(t, "seq")
				newExpires := timeGenerator().Draw(t, "new expires")
				expires, scheduled := model[seq]
				if !scheduled {
					if err := w.Update(seq, newExpires, newExpires); !errors.Is(err, ErrTaskNotFound) {
						t.Fatalf("Update of unscheduled %d: %v", seq, err)
					}
					return
				}
				if err := w.Update(seq, expires, newExpires); err != nil {
					t.Fatalf("Update(%d, %d, %d): %v", seq, expires, newExpires, err)
				}
				model[seq] = newExpires
			},
			"ExpireTasks": func(t *rapid.T) {
				now := timeGenerator().Draw(t, "now")
				keepModulus := rapid.Uint64Range(1, 4).Draw(t, "keep modulus")
				want := modelEntries(model, now)
				var got []entry
				w.ExpireTasks(now, func(seq uint64, expires int64) bool {
					got = append(got, entry{seq, expires})
					// Keep every keepModulus-th sequence (none when the modulus is 1).
					remove := keepModulus == 1 || seq%keepModulus != 0
					if remove {
						delete(model, seq)
					}
					return remove
				})
				if !slices.Equal(got, want) {
					t.Fatalf("ExpireTasks(%d) offered %v, want %v", now, got, want)
				}
			},
			"GetNextExpiration": func(t *rapid.T) {
				before := timeGenerator().Draw(t, "before")
				want := int64(math.MaxInt64)
				for _, expires := range model {
					if expires < before {
						want = min(want, expires)
					}
				}
				if got := w.GetNextExpiration(before); got != want {
					t.Fatalf("GetNextExpiration(%d) = %d, want %d", before, got, want)
				}
			},
			"EncodeDecode": func(t *rapid.T) {
				highSeq := rapid.Uint64().Draw(t, "high seq")
				encoded := w.Encode(highSeq)
				if again := w.Encode(highSeq); !slices.Equal(again, encoded) {
					t.Fatal("Encode is not deterministic")
				}
				decoded := NewHashWheel()
				decoded.Add(999, epoch) // Decode must replace, not merge.
				got, err := decoded.Decode(encoded)
				if err != nil || got != highSeq {
					t.Fatalf("Decode = %d, %v; want %d", got, err, highSeq)
				}
				w = decoded
			},
			"": func(t *rapid.T) {
				if err := w.checkInvariants(); err != nil {
					t.Fatal(err)
				}
				if w.Count() != uint64(len(model)) {
					t.Fatalf("Count = %d, model holds %d", w.Count(), len(model))
				}
			},
		})
	})
}
