package filestore

import (
	"fmt"
	"strings"
	"testing"

	"github.com/natsim/natsim/store"
)

// TestBlocksRemovedWhenEmpty proves blocks whose messages are all gone are removed,
// oldest first, so a stream under limits keeps a bounded number of files, and that the
// state survives a restart after the removals.
func TestBlocksRemovedWhenEmpty(t *testing.T) {
	disk := newDisk(11)
	cfg := variants()["plain"](disk.FS())
	s := mustOpen(t, cfg, store.StreamConfig{Name: "G", MaxMsgs: 10})
	for i := range 2000 {
		if _, _, err := s.StoreMsg(fmt.Sprintf("g.%d", i%5), nil, []byte(fmt.Sprintf("message %d", i)), int64(i), 0); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			durable(t, s)
		}
	}
	durable(t, s)
	blocks := 0
	for _, e := range disk.List() {
		if strings.HasSuffix(e.Path, ".blk") {
			blocks++
		}
	}
	if blocks > 8 {
		t.Fatalf("%d block files for 10 live messages: empty blocks are not removed", blocks)
	}
	want := s.State()
	_ = s.Stop()
	s = mustOpen(t, cfg, store.StreamConfig{Name: "G", MaxMsgs: 10})
	defer s.Stop()
	if got := s.State(); got.Msgs != 10 || got.FirstSeq != want.FirstSeq || got.LastSeq != 2000 {
		t.Fatalf("after restart %+v, want %+v", got, want)
	}
}

// TestPurgeAllThenRestart proves an emptied stream keeps its last sequence across a
// restart even after its old blocks are gone.
func TestPurgeAllThenRestart(t *testing.T) {
	disk := newDisk(12)
	cfg := variants()["aes"](disk.FS())
	s := mustOpen(t, cfg, store.StreamConfig{Name: "P"})
	for i := range 300 {
		if _, _, err := s.StoreMsg("p", nil, []byte(fmt.Sprint(i)), int64(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Purge(); err != nil {
		t.Fatal(err)
	}
	durable(t, s)
	disk.Crash(true)
	s = mustOpen(t, variants()["aes"](disk.FS()), store.StreamConfig{Name: "P"})
	defer s.Stop()
	if st := s.State(); st.Msgs != 0 || st.FirstSeq != 301 || st.LastSeq != 300 {
		t.Fatalf("after purge and power loss %+v", st)
	}
	if seq, _, err := s.StoreMsg("p", nil, nil, 1, 0); err != nil || seq != 301 {
		t.Fatalf("next sequence %d, %v", seq, err)
	}
}
