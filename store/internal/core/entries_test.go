package core

import (
	"sort"
	"testing"

	"pgregory.net/rapid"
)

// TestEntryListModel proves that the chunked entry list behaves as a plain slice under
// random pushes, pops, truncations, front drops and resets, across chunk boundaries,
// that slots keep their address while entries are pushed, and that searches agree.
func TestEntryListModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var list entryList
		var model []Entry
		next := uint64(1)
		pushMany := func(n int) {
			for range n {
				e := Entry{Seq: next, TS: int64(next) * 10}
				next += 1 + uint64(rapid.IntRange(0, 3).Draw(t, "gap")/3)
				slot := list.push(e)
				if *slot != e {
					t.Fatalf("push returned slot %+v, want %+v", *slot, e)
				}
				model = append(model, e)
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) {
				pushMany(rapid.IntRange(1, 3*entryChunkLen).Draw(t, "n"))
			},
			"pop": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				list.pop()
				model = model[:len(model)-1]
			},
			"truncate": func(t *rapid.T) {
				n := rapid.IntRange(0, len(model)).Draw(t, "n")
				list.truncate(n)
				model = model[:n]
			},
			"dropFront": func(t *rapid.T) {
				k := rapid.IntRange(0, len(model)).Draw(t, "k")
				list.dropFront(k)
				model = model[k:]
			},
			"reset": func(t *rapid.T) {
				list.reset()
				model = nil
			},
			"stable": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				i := rapid.IntRange(0, len(model)-1).Draw(t, "i")
				before := list.at(i)
				// Only a short single chunk grows by copying (see entryList).
				fixed := cap(list.chunks[(i+list.offset)>>entryChunkBits]) == entryChunkLen
				pushMany(rapid.IntRange(1, 2*entryChunkLen).Draw(t, "n"))
				if fixed && before != list.at(i) {
					t.Fatalf("entry %d moved while the list grew", i)
				}
			},
			"": func(t *rapid.T) {
				if list.len() != len(model) {
					t.Fatalf("len = %d, want %d", list.len(), len(model))
				}
				for i := range model {
					if *list.at(i) != model[i] {
						t.Fatalf("at(%d) = %+v, want %+v", i, *list.at(i), model[i])
					}
				}
				for i := 0; i+1 < len(list.chunks); i++ {
					if len(list.chunks[i]) != entryChunkLen {
						t.Fatalf("chunk %d of %d holds %d entries", i, len(list.chunks), len(list.chunks[i]))
					}
				}
				if len(model) > 0 {
					target := rapid.Uint64Range(0, next+1).Draw(t, "target")
					want := sort.Search(len(model), func(i int) bool { return model[i].Seq >= target })
					from := rapid.IntRange(0, len(model)).Draw(t, "from")
					if from > want {
						want = from
					}
					if got := list.searchSeq(from, target); got != want {
						t.Fatalf("searchSeq(%d, %d) = %d, want %d", from, target, got, want)
					}
				}
			},
		})
	})
}
