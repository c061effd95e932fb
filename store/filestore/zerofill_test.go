package filestore

import (
	"fmt"
	"testing"

	"github.com/natsim/natsim/store"
)

// TestZeroFillAhead proves that a group commit writes zeros ahead of a new write
// block's data (bounded by zeroFillBytes and the preallocated length), that the
// zeros are what the block held there already, and that a power loss with torn
// writes after acknowledged writes recovers every one of them.
func TestZeroFillAhead(t *testing.T) {
	for seed := range uint64(8) {
		disk := newDisk(seed)
		cfg := Config{Dir: "data/stream", FS: disk.FS(), BlockBytesMax: zeroFillBytes + zeroFillBytes/4}
		s := mustOpen(t, cfg, store.StreamConfig{Name: "Z"})
		acked := map[uint64]string{}
		for batch := range 120 {
			var seqs []uint64
			for i := range 50 {
				payload := fmt.Sprintf("zero fill %d %d %0200d", batch, i, i)
				seq, _, err := s.StoreMsg("z.fill", nil, []byte(payload), int64(batch*100+i+1), 0)
				if err != nil {
					t.Fatal(err)
				}
				acked[seq] = payload
				seqs = append(seqs, seq)
			}
			durable(t, s)
			w := s.writeBlock()
			if !w.zeroFill || w.zeroed > w.preallocated || w.zeroed < min(w.size+zeroFillAheadBytesMin, w.preallocated) {
				t.Fatalf("batch %d: block %d of %d bytes zero-filled to %d (preallocated %d)", batch, w.id, w.size, w.zeroed, w.preallocated)
			}
			contents, _ := disk.Contents(w.name)
			if int64(len(contents)) != w.preallocated || !allZero(contents[w.size:]) {
				t.Fatalf("batch %d: block holds %d bytes, nonzero bytes after its data", batch, len(contents))
			}
		}
		if len(s.blocks) < 2 {
			t.Fatalf("%d blocks: the workload should roll over", len(s.blocks))
		}
		// Writes after the last acknowledgement may be torn; the acknowledged survive.
		for i := range 30 {
			if _, _, err := s.StoreMsg("z.fill", nil, []byte(fmt.Sprintf("unacknowledged %d", i)), int64(9000+i), 0); err != nil {
				t.Fatal(err)
			}
		}
		s.mu.Lock()
		if _, err := s.planSyncLocked(); err != nil {
			t.Fatal(err)
		}
		s.mu.Unlock()
		disk.Crash(true)
		cfg.FS = disk.FS()
		s = mustOpen(t, cfg, store.StreamConfig{Name: "Z"})
		if lost := s.State().Lost; lost != nil {
			t.Fatalf("seed %d: lost %v after power loss: %v", seed, lost, s.Corruption())
		}
		for seq, payload := range acked {
			sm, err := s.LoadMsg(seq, nil)
			if err != nil || string(sm.Msg) != payload {
				t.Fatalf("seed %d: acknowledged %d = %v, %v", seed, seq, sm, err)
			}
		}
		_ = s.Stop()
	}
}

// TestZeroFillSkipsRecoveredBlock proves that a block the store did not create in
// this incarnation is never zero-filled: the bytes after its data may be damage that
// must stay on the disk until a repair (an open-ended loss in the newest block), so
// a group commit leaves them as they are.
func TestZeroFillSkipsRecoveredBlock(t *testing.T) {
	disk := newDisk(1)
	cfg := Config{Dir: "data/stream", FS: disk.FS(), BlockBytesMax: 1 << 20}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "Z"})
	for i := range 20 {
		if _, _, err := s.StoreMsg("z.kept", nil, []byte(fmt.Sprintf("kept %d", i)), int64(i+1), 0); err != nil {
			t.Fatal(err)
		}
	}
	durable(t, s)
	name := s.writeBlock().name
	_, lastOffset := splitLocation(s.stream.Entry(20).Location)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// A bit flip in the last record of the newest block: damage, not a torn write.
	damaged := lastOffset + recordHeaderBytes + 3
	if err := disk.FlipBit(name, damaged, 2); err != nil {
		t.Fatal(err)
	}
	before, _ := disk.Contents(name)
	cfg.FS = disk.FS()
	s = mustOpen(t, cfg, store.StreamConfig{Name: "Z"})
	defer s.Stop()
	if lost := s.State().Lost; len(lost) != 1 || lost[0].First != 20 {
		t.Fatalf("lost = %v, want the last message", lost)
	}
	s.Durable(func(error) {})
	if w := s.writeBlock(); w.zeroFill || w.zeroed != 0 {
		t.Fatalf("recovered block zero-filled: zeroFill %v, zeroed %d", w.zeroFill, w.zeroed)
	}
	after, _ := disk.Contents(name)
	if string(after[lastOffset:]) != string(before[lastOffset:]) {
		t.Fatal("the damaged bytes after a recovered block's data were overwritten")
	}
}
