package filestore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/natsim/natsim/store"
)

// TestFilteredPurgeIsOneRecord proves a PurgeEx with a subject filter journals one
// record of delta-encoded sequences rather than a record per message, and that a
// reopen, from the block index and from the blocks alone, restores the same state.
func TestFilteredPurgeIsOneRecord(t *testing.T) {
	disk := newDisk(51)
	cfg := variants()["plain"](disk.FS())
	cfg.BlockBytesMax = 1 << 20
	s := mustOpen(t, cfg, store.StreamConfig{Name: "P"})
	for i := range 3000 {
		if _, _, err := s.StoreMsg(fmt.Sprintf("p.%d", i%3), nil, []byte("x"), int64(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	before := s.writeBlock().size
	n, err := s.PurgeEx("p.1", 2500, 100)
	if err != nil {
		t.Fatal(err)
	}
	if grown := s.writeBlock().size - before; n == 0 || grown > int64(n)*2+32 {
		t.Fatalf("purged %d messages with %d journal bytes", n, grown)
	}
	want := fingerprint(t, s)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"index", "blocks"} {
		if label == "blocks" {
			for _, name := range indexFiles(t, disk, cfg) {
				if err := disk.FS().Remove(name); err != nil {
					t.Fatal(err)
				}
			}
		}
		s = mustOpen(t, cfg, store.StreamConfig{Name: "P"})
		if got := fingerprint(t, s); got != want {
			t.Fatalf("%s: reopened state differs", label)
		}
		_ = s.Stop()
	}
}

// TestDecodeRemoveSeqs is a table of bodies the filtered purge decoder must refuse.
func TestDecodeRemoveSeqs(t *testing.T) {
	cases := map[string][]byte{
		"empty":           {kindRemoveSeqs},
		"zero count":      {kindRemoveSeqs, 0, 1},
		"zero gap":        {kindRemoveSeqs, 2, 5, 0},
		"zero sequence":   {kindRemoveSeqs, 1, 0},
		"short":           {kindRemoveSeqs, 3, 5, 1},
		"trailing":        {kindRemoveSeqs, 1, 5, 1},
		"count too large": {kindRemoveSeqs, 100, 5, 1},
	}
	for name, body := range cases {
		if _, ok := decodeRemoveSeqs(body); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if seqs, ok := decodeRemoveSeqs([]byte{kindRemoveSeqs, 3, 5, 1, 7}); !ok || fmt.Sprint(seqs) != "[5 6 13]" {
		t.Fatalf("decode = %v, %v", seqs, ok)
	}
}

// TestDamagedRemovalRecord proves a removal record that fails its checksum, but still
// names the message it removed, is reported with that sequence: the message is lost
// (never served, since it may have been removed), and the others are untouched.
func TestDamagedRemovalRecord(t *testing.T) {
	disk := newDisk(52)
	cfg := variants()["plain"](disk.FS())
	cfg.BlockBytesMax = 1 << 20
	s := mustOpen(t, cfg, store.StreamConfig{Name: "R"})
	for i := range 20 {
		if _, _, err := s.StoreMsg("r", nil, []byte(fmt.Sprint(i)), int64(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RemoveMsg(5); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, _, err := s.StoreMsg("r", nil, []byte(fmt.Sprint(i)), int64(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	contents, _ := disk.Contents(blockPath(1))
	offset := 0
	for {
		body, n, _, err := parseRecord(contents[offset:])
		if err != nil {
			t.Fatal("no removal record found")
		}
		if body[0] == kindRemove {
			break
		}
		offset += n
	}
	// Flip a bit of the checksum: the body still reads as the removal of message 5.
	if err := disk.FlipBit(blockPath(1), int64(offset+5), 2); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, cfg, store.StreamConfig{Name: "R"})
	defer s.Stop()
	state := s.State()
	if len(state.Lost) != 1 || state.Lost[0] != (store.SequenceRange{First: 5, Last: 5}) {
		t.Fatalf("lost = %v, corruption %v", state.Lost, s.Corruption())
	}
	if _, err := s.LoadMsg(5, nil); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("LoadMsg(5) = %v", err)
	}
	if sm, err := s.LoadMsg(6, nil); err != nil || string(sm.Msg) != "5" {
		t.Fatalf("LoadMsg(6) = %v, %v", sm, err)
	}
	if state.LastSeq != 25 || state.Msgs != 25 {
		t.Fatalf("state %+v", state)
	}
}
