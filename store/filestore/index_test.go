package filestore

import (
	"errors"
	"testing"

	"github.com/natsim/natsim/store"
)

// TestTruncatedNewestBlock proves a newest block cut at rest below its recorded
// durable length is reported as corruption, not mistaken for a torn write.
func TestTruncatedNewestBlock(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	newest := s.writeBlock().id
	_ = s.Stop()
	if err := disk.CutTail(blockPath(newest), blockValidSize(t, cfg, newest)-7); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	state := s.State()
	if len(state.Lost) != 1 || state.Lost[0] != (store.SequenceRange{First: 60}) {
		t.Fatalf("lost = %v, want an open-ended range from the cut message 60", state.Lost)
	}
	// The store takes no sequence it may have lost, until a Truncate below the loss.
	if _, _, err := s.StoreMsg("x.0", nil, nil, 1, 0); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("StoreMsg over an open-ended loss = %v", err)
	}
	if err := s.Truncate(59); err != nil {
		t.Fatal(err)
	}
	if seq, _, err := s.StoreMsg("x.0", nil, []byte("repaired"), 1, 0); err != nil || seq != 60 {
		t.Fatalf("StoreMsg after the repair = %d, %v", seq, err)
	}
	_ = s.Stop()
	s = mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	if lost := s.State().Lost; len(lost) != 0 {
		t.Fatalf("after the repair and a restart lost = %v: %v", lost, s.Corruption())
	}
	if sm, err := s.LoadMsg(60, nil); err != nil || string(sm.Msg) != "repaired" {
		t.Fatalf("LoadMsg(60) after the repair = %v, %v", sm, err)
	}
}

// TestMissingBlocks proves a block missing between others, or a newest block the
// index knows, is reported as lost rather than silently dropped.
func TestMissingBlocks(t *testing.T) {
	for _, which := range []string{"middle", "newest"} {
		t.Run(which, func(t *testing.T) {
			disk, cfg := corruptionFixture(t)
			s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
			victim := uint32(2)
			if which == "newest" {
				victim = s.writeBlock().id
			}
			first, last := uint64(0), uint64(0)
			s.stream.Range(func(e *coreEntry) bool {
				if b, _ := splitLocation(e.Location); b == victim {
					if first == 0 {
						first = e.Seq
					}
					last = e.Seq
				}
				return true
			})
			_ = s.Stop()
			if err := disk.FS().Remove(blockPath(victim)); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, cfg, store.StreamConfig{Name: "X"})
			defer s.Stop()
			lost := s.State().Lost
			if len(lost) != 1 || lost[0].First > first || which == "middle" && lost[0].Last < last {
				t.Fatalf("lost = %v, want a range covering [%d, %d]", lost, first, last)
			}
		})
	}
}

// TestBlockIndexMissingOrStale proves the block index is optional: without it, or with
// an older copy, the store opens clean; a damaged one is reported and rewritten.
func TestBlockIndexMissingOrStale(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	stale, _ := disk.Contents("data/stream/" + blockIndexFileName)
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	for i := range 30 {
		if _, _, err := s.StoreMsg("x.new", nil, []byte{byte(i)}, 100, 0); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Stop()
	writeRaw := func(data []byte) {
		f, err := disk.FS().Create("data/stream/" + blockIndexFileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	check := func(label string, wantReports int) {
		t.Helper()
		s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
		defer s.Stop()
		state := s.State()
		if state.Msgs != 90 || len(state.Lost) != 0 || len(s.Corruption()) != wantReports {
			t.Fatalf("%s: msgs %d lost %v corruption %v", label, state.Msgs, state.Lost, s.Corruption())
		}
	}
	writeRaw(stale)
	check("stale index", 0)
	if err := disk.FS().Remove("data/stream/" + blockIndexFileName); err != nil {
		t.Fatal(err)
	}
	check("missing index", 0)
	current, _ := disk.Contents("data/stream/" + blockIndexFileName)
	current[len(current)-1] ^= 0x10
	writeRaw(current)
	check("damaged index", 1)
	check("rewritten index", 0)
}

// FuzzBlockIndex proves the block index decoder never panics and round-trips.
func FuzzBlockIndex(f *testing.F) {
	f.Add(encodeBlockIndex([]*block{{id: 1, synced: 100}, {id: 2, synced: 4096}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		index, err := decodeBlockIndex(data)
		if err != nil {
			return
		}
		blocks := make([]*block, 0, len(index))
		for id, size := range sortedIndex(index) {
			blocks = append(blocks, &block{id: id, synced: size})
		}
		again, err := decodeBlockIndex(encodeBlockIndex(blocks))
		if err != nil || len(again) != len(index) {
			t.Fatalf("round trip: %v, %v", again, err)
		}
	})
}

// TestMessageLargerThanRecordLimit proves a message the block format cannot hold is
// refused up front instead of being written and later read back as corruption.
func TestMessageLargerThanRecordLimit(t *testing.T) {
	s := mustOpen(t, variants()["plain"](newDisk(1).FS()), store.StreamConfig{Name: "L"})
	defer s.Stop()
	if _, _, err := s.StoreMsg("big", nil, make([]byte, recordBodyBytesMax), 1, 0); !errors.Is(err, store.ErrMsgTooLarge) {
		t.Fatalf("StoreMsg of %d bytes = %v", recordBodyBytesMax, err)
	}
	if _, _, err := s.StoreMsg("fits", nil, make([]byte, 4096), 1, 0); err != nil {
		t.Fatalf("a message larger than the block limit must still fit: %v", err)
	}
	_ = s.Stop()
	s = mustOpen(t, variants()["plain"](s.config.FS), store.StreamConfig{Name: "L"})
	if sm, err := s.LoadMsg(1, nil); err != nil || len(sm.Msg) != 4096 {
		t.Fatalf("LoadMsg(1) = %v", err)
	}
}
