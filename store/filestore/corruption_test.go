package filestore

import (
	"errors"
	"fmt"
	"path"
	"testing"

	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
)

// corruptionFixture writes 60 messages over several small blocks and stops cleanly.
func corruptionFixture(t *testing.T) (*simfs.Disk, Config) {
	t.Helper()
	disk := newDisk(3)
	cfg := variants()["plain"](disk.FS())
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	for i := range 60 {
		if _, _, err := s.StoreMsg(fmt.Sprintf("x.%d", i%4), nil, []byte(fmt.Sprintf("message number %03d with some padding", i)), int64(i+1), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	cfg.FS = disk.FS()
	return disk, cfg
}

func blockPath(id uint32) string { return path.Join("data/stream", msgsDirName, blockFileName(id)) }

// blockSeqs returns the message sequences stored in block id of a clean store.
func blockSeqs(t *testing.T, cfg Config, id uint32) (first, last uint64) {
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	s.stream.Range(func(e *coreEntry) bool {
		if b, _ := splitLocation(e.Location); b == id {
			if first == 0 {
				first = e.Seq
			}
			last = e.Seq
		}
		return true
	})
	return first, last
}

// TestCorruptionInOlderBlock proves a bit flip in a block that is not the newest is
// reported with the sequences it covers, never served, never skipped by LoadNextMsg,
// and the stream keeps its other messages and files.
func TestCorruptionInOlderBlock(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	first, last := blockSeqs(t, cfg, 2)
	if first == 0 {
		t.Fatal("fixture has no block 2")
	}
	contents, _ := disk.Contents(blockPath(2))
	if err := disk.FlipBit(blockPath(2), int64(len(contents)/2), 3); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	state := s.State()
	if len(state.Lost) != 1 {
		t.Fatalf("lost = %v, want one range", state.Lost)
	}
	lost := state.Lost[0]
	if lost.First < first || lost.Last > last+1 || lost.First > lost.Last {
		t.Fatalf("lost range %v outside block 2's sequences [%d, %d]", lost, first, last)
	}
	_, err := s.LoadMsg(lost.First, nil)
	var corrupt *store.CorruptError
	if !errors.As(err, &corrupt) || !errors.Is(err, store.ErrCorrupt) || corrupt.Range != lost {
		t.Fatalf("LoadMsg(%d) = %v, want the corruption error", lost.First, err)
	}
	if _, _, err := s.LoadNextMsg("", false, 1, nil); err != nil {
		t.Fatalf("LoadNextMsg before the damage: %v", err)
	}
	if _, _, err := s.LoadNextMsg("", false, lost.First-1, nil); lost.First > first && err != nil {
		t.Fatalf("LoadNextMsg just before the damage: %v", err)
	}
	if _, _, err := s.LoadNextMsg("", false, lost.First, nil); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("LoadNextMsg across the damage = %v, want corruption", err)
	}
	if sm, err := s.LoadMsg(60, nil); err != nil || string(sm.Msg) != "message number 059 with some padding" {
		t.Fatalf("LoadMsg(60) = %v, %v", sm, err)
	}
	if sm, err := s.LoadMsg(1, nil); err != nil || sm.Seq != 1 {
		t.Fatalf("LoadMsg(1) = %v, %v", sm, err)
	}
	if _, ok := disk.Contents(blockPath(2)); !ok {
		t.Fatal("the damaged block was deleted")
	}
	// New writes continue after the last sequence, never reusing lost ones.
	if seq, _, err := s.StoreMsg("x.0", nil, []byte("new"), 100, 0); err != nil || seq != 61 {
		t.Fatalf("StoreMsg after corruption = %d, %v", seq, err)
	}
}

// TestCorruptionInNewestBlock proves a bit flip in the newest block, followed by good
// records, is corruption (reported), not a torn tail (silently cut).
func TestCorruptionInNewestBlock(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	lastBlock := s.writeBlock().id
	firstInLast, _ := uint64(0), 0
	s.stream.Range(func(e *coreEntry) bool {
		if b, _ := splitLocation(e.Location); b == lastBlock && firstInLast == 0 {
			firstInLast = e.Seq
		}
		return true
	})
	_ = s.Stop()
	if firstInLast == 60 || firstInLast == 0 {
		t.Skip("newest block holds fewer than two messages")
	}
	e := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	_, offset := splitLocation(e.stream.Entry(firstInLast).Location)
	_ = e.Stop()
	if err := disk.FlipBit(blockPath(lastBlock), offset+recordHeaderBytes+5, 0); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	state := s.State()
	if len(state.Lost) != 1 || state.Lost[0].First != firstInLast {
		t.Fatalf("lost = %v, want a range starting at %d", state.Lost, firstInLast)
	}
	if state.LastSeq != 60 {
		t.Fatalf("last = %d: records after the damage were dropped", state.LastSeq)
	}
}

// TestCorruptionOnRead proves a bit flip after open is caught by the record checksum
// on load and reported, not served.
func TestCorruptionOnRead(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	id, offset := splitLocation(s.stream.Entry(5).Location)
	if err := disk.FlipBit(blockPath(id), offset+recordHeaderBytes+3, 1); err != nil {
		t.Fatal(err)
	}
	s.cache = nil
	for _, b := range s.blocks {
		if b != s.writeBlock() {
			b.buf = nil
		}
	}
	if _, err := s.LoadMsg(5, nil); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("LoadMsg of a flipped record = %v", err)
	}
	if lost := s.State().Lost; len(lost) != 1 || lost[0] != (store.SequenceRange{First: 5, Last: 5}) {
		t.Fatalf("lost = %v", lost)
	}
	if _, err := s.LoadMsg(6, nil); err != nil {
		t.Fatalf("LoadMsg(6): %v", err)
	}
}

// TestTruncatedOlderBlock proves a cut older block is corruption with a bounded range.
func TestTruncatedOlderBlock(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	if err := disk.CutTail(blockPath(1), blockValidSize(t, cfg, 1)-10); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	state := s.State()
	if len(state.Lost) != 1 || state.Lost[0].First == 0 || state.Lost[0].Last < state.Lost[0].First {
		t.Fatalf("lost = %v", state.Lost)
	}
	if state.LastSeq != 60 {
		t.Fatalf("last = %d", state.LastSeq)
	}
}

// TestMetaCorruption proves a damaged meta file is reported and rewritten, and the
// messages are intact (meta is rebuilt from the configuration; blocks hold the data).
func TestMetaCorruption(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	if err := disk.FlipBit("data/stream/meta.inf", 12, 2); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	if c := s.Corruption(); len(c) != 1 || c[0].File != "data/stream/meta.inf" {
		t.Fatalf("corruption = %v", c)
	}
	if state := s.State(); state.Msgs != 60 || len(state.Lost) != 0 {
		t.Fatalf("state = %+v", state)
	}
	_ = s.Stop()
	s = mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	if c := s.Corruption(); len(c) != 0 {
		t.Fatalf("meta still corrupt after rewrite: %v", c)
	}
}

// TestWrongKey proves a wrong key, or no key for an encrypted store, fails loudly.
func TestWrongKey(t *testing.T) {
	disk := newDisk(9)
	cfg := variants()["aes"](disk.FS())
	s := mustOpen(t, cfg, store.StreamConfig{Name: "K"})
	if _, _, err := s.StoreMsg("k", nil, []byte("secret"), 1, 0); err != nil {
		t.Fatal(err)
	}
	_ = s.Stop()
	if contents, _ := disk.Contents(blockPath(1)); containsBytes(contents, []byte("secret")) {
		t.Fatal("plaintext payload on disk")
	}
	wrong := cfg
	wrong.Key = []byte("ffffffffffffffffffffffffffffffff")
	if _, err := Open(wrong, store.StreamConfig{Name: "K"}); !errors.Is(err, store.ErrBadKey) {
		t.Fatalf("Open with wrong key = %v", err)
	}
	none := cfg
	none.Cipher, none.Key = NoCipher, nil
	if _, err := Open(none, store.StreamConfig{Name: "K"}); !errors.Is(err, store.ErrBadKey) {
		t.Fatalf("Open without key = %v", err)
	}
	other := cfg
	other.Cipher = ChaCha
	if _, err := Open(other, store.StreamConfig{Name: "K"}); !errors.Is(err, store.ErrBadKey) {
		t.Fatalf("Open with the other cipher = %v", err)
	}
	s = mustOpen(t, cfg, store.StreamConfig{Name: "K"})
	defer s.Stop()
	if sm, err := s.LoadMsg(1, nil); err != nil || string(sm.Msg) != "secret" {
		t.Fatalf("LoadMsg with the right key = %v, %v", sm, err)
	}
}

// TestConsumerStateCorruption proves a damaged consumer state file is reported, not
// reset, and that consumer state survives a restart.
func TestConsumerStateCorruption(t *testing.T) {
	disk := newDisk(4)
	cfg := variants()["plain"](disk.FS())
	s := mustOpen(t, cfg, store.StreamConfig{Name: "O"})
	c, err := s.ConsumerStore("dur", store.ConsumerConfig{AckPolicy: store.AckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 3; i++ {
		if err := c.UpdateDelivered(i, i, 1, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.UpdateAcks(1, 1); err != nil {
		t.Fatal(err)
	}
	var durableErr error
	c.Durable(func(err error) { durableErr = err })
	if durableErr != nil {
		t.Fatal(durableErr)
	}
	want, _ := c.State()
	disk.Crash(true)
	s = mustOpen(t, Config{Dir: cfg.Dir, FS: disk.FS(), BlockBytesMax: cfg.BlockBytesMax}, store.StreamConfig{Name: "O"})
	c, err = s.ConsumerStore("dur", store.ConsumerConfig{AckPolicy: store.AckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.State(); got.AckFloor != want.AckFloor || len(got.Pending) != 2 {
		t.Fatalf("consumer state after power loss %+v, want %+v", got, want)
	}
	_ = s.Stop()
	if err := disk.FlipBit("data/stream/obs/dur/o.dat", 4, 1); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, Config{Dir: cfg.Dir, FS: disk.FS(), BlockBytesMax: cfg.BlockBytesMax}, store.StreamConfig{Name: "O"})
	defer s.Stop()
	if _, err := s.ConsumerStore("dur", store.ConsumerConfig{AckPolicy: store.AckExplicit}); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("ConsumerStore on a damaged file = %v", err)
	}
	if _, ok := disk.Contents("data/stream/obs/dur/o.dat"); !ok {
		t.Fatal("damaged consumer state was deleted")
	}
}

func containsBytes(haystack, needle []byte) bool {
	for i := 0; i+len(needle) <= len(haystack); i++ {
		if string(haystack[i:i+len(needle)]) == string(needle) {
			return true
		}
	}
	return false
}

// blockValidSize returns the length of a block's records (its file is preallocated).
func blockValidSize(t *testing.T, cfg Config, id uint32) int64 {
	t.Helper()
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	b := s.blockByID(id)
	if b == nil {
		t.Fatalf("no block %d", id)
	}
	return b.size
}
