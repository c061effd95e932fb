package filestore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/store"
)

// TestIndexChecksumTakenByFlushes proves that the block contents checksum the
// interval-mode flushes take as they write (indexBuilder.contentsCRC) is the one the
// recovery computes: concurrent writers fill many small blocks, some erasing earlier
// messages (which drops the block's index), and a reopen finds the same messages,
// taking every block from its index file when nothing was erased.
func TestIndexChecksumTakenByFlushes(t *testing.T) {
	for _, erase := range []bool{false, true} {
		t.Run(fmt.Sprintf("erase=%v", erase), func(t *testing.T) {
			cfg := Config{Dir: t.TempDir() + "/stream", FS: osenv.FS{}, Tasks: osenv.Tasks{}, Clock: osenv.Clock{},
				SyncInterval: time.Minute, BlockBytesMax: 16 << 10}
			scfg := store.StreamConfig{Name: "C"}
			s := mustOpen(t, cfg, scfg)
			const writers, perWriter = 8, 400
			var wg sync.WaitGroup
			var checkedMu sync.Mutex
			checkedSeen := false
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					done := make(chan error, 1)
					for i := range perWriter {
						seq, _, err := s.StoreMsg(fmt.Sprintf("c.%d", w), nil, benchPayload, 1, 0)
						if err != nil {
							t.Error(err)
							return
						}
						if erase && i%50 == 49 {
							if _, err := s.EraseMsg(seq - 7); err != nil && err != store.ErrStoreMsgNotFound {
								t.Error(err)
								return
							}
						}
						s.Durable(func(err error) { done <- err })
						if err := <-done; err != nil {
							t.Error(err)
							return
						}
						s.mu.Lock()
						if b := s.writeBlock(); b != nil && b.index != nil && b.index.contentsChecked > 0 {
							checkedMu.Lock()
							checkedSeen = true
							checkedMu.Unlock()
						}
						s.mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if !checkedSeen {
				t.Fatal("no flush checksummed the contents it wrote")
			}
			want := fingerprint(t, s)
			blocks := len(s.blocks)
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			if blocks < 10 {
				t.Fatalf("only %d blocks", blocks)
			}
			reopened := mustOpen(t, cfg, scfg)
			defer func() { _ = reopened.Stop() }()
			if c := reopened.Corruption(); len(c) != 0 {
				t.Fatalf("corruption reported: %v", c)
			}
			if got := fingerprint(t, reopened); got != want {
				t.Fatalf("reopened state differs:\n got %s\nwant %s", got, want)
			}
			stats := reopened.Recovery()
			// An erase in the write block drops its index, so with erases any number of
			// blocks may be replayed.
			if stats.BlocksFromIndex+stats.BlocksReplayed != blocks || !erase && stats.BlocksReplayed != 0 {
				t.Fatalf("recovery %+v for %d blocks", stats, blocks)
			}
		})
	}
}
