package store_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/store"
)

// TestLowestPending proves LowestPending finds the smallest sequence above the floor,
// whether it lies within the probed sequences or far past them.
func TestLowestPending(t *testing.T) {
	tests := []struct {
		name    string
		pending []uint64
		floor   uint64
		want    uint64
	}{
		{"empty", nil, 5, 0},
		{"next", []uint64{6, 7, 8}, 5, 6},
		{"gap within probes", []uint64{40, 9, 100}, 5, 9},
		{"gap past probes", []uint64{1000, 5000, 700}, 5, 700},
		{"floor zero", []uint64{1, 2}, 0, 1},
	}
	for _, test := range tests {
		pending := make(map[uint64]*store.Pending)
		for _, seq := range test.pending {
			pending[seq] = &store.Pending{Sequence: seq}
		}
		if got := store.LowestPending(pending, test.floor); got != test.want {
			t.Errorf("%s: LowestPending = %d, want %d", test.name, got, test.want)
		}
	}
}

// TestLowestPendingProperty checks LowestPending against a full scan for random sets
// above a random floor.
func TestLowestPendingProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		floor := rapid.Uint64Range(0, 1000).Draw(t, "floor")
		offsets := rapid.SliceOf(rapid.Uint64Range(1, 200)).Draw(t, "offsets")
		pending := make(map[uint64]struct{})
		want := uint64(0)
		for _, offset := range offsets {
			seq := floor + offset
			pending[seq] = struct{}{}
			if want == 0 || seq < want {
				want = seq
			}
		}
		if got := store.LowestPending(pending, floor); got != want {
			t.Fatalf("LowestPending = %d, want %d", got, want)
		}
	})
}
