package filestore

import (
	"fmt"
	"testing"

	"github.com/natsim/natsim/store"
)

// TestSealJobs proves that with Config.Tasks a rollover leaves the sealed block's
// index file and the block index to a task (see sealjobs.go): nothing is written until
// the task runs, the task writes them in rollover order, Stop writes what is still
// queued before it returns (a runner started later writes nothing), and the files
// written this way are the ones a clean reopen replays every block from, for every
// configuration.
func TestSealJobs(t *testing.T) {
	for name, variant := range variants() {
		t.Run(name, func(t *testing.T) {
			disk := newDisk(31)
			tasks := &taskQueue{}
			cfg := variant(disk.FS())
			cfg.Tasks = tasks
			s := mustOpen(t, cfg, store.StreamConfig{Name: "J"})
			store3 := func(from int) {
				for i := from; i < from+40; i++ {
					if _, _, err := s.StoreMsg(fmt.Sprintf("j.%d", i%5), nil, []byte(fmt.Sprintf("message %d of the seal job test", i)), int64(i+1), 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			store3(0)
			sealed := len(s.blocks) - 1
			if sealed < 2 || len(s.sealJobs) != sealed {
				t.Fatalf("%d blocks sealed, %d seal jobs queued", sealed, len(s.sealJobs))
			}
			if got := indexFiles(t, disk, cfg); len(got) != 0 {
				t.Fatalf("index files written before the task ran: %v", got)
			}
			if _, err := disk.FS().Stat(s.blockIndexPath()); err == nil {
				t.Fatal("block index written before the task ran")
			}
			tasks.runAll()
			if got := indexFiles(t, disk, cfg); len(got) != sealed || len(s.sealJobs) != 0 || s.sealRunning {
				t.Fatalf("after the task: %d index files for %d sealed blocks, %d jobs left, running %v", len(got), sealed, len(s.sealJobs), s.sealRunning)
			}
			data, err := readFile(disk.FS(), s.blockIndexPath())
			if err != nil {
				t.Fatal(err)
			}
			lengths, err := decodeBlockIndex(data)
			if err != nil || len(lengths) != sealed {
				t.Fatalf("block index after the task: %v, %v", lengths, err)
			}
			for _, b := range s.blocks[:sealed] {
				if lengths[b.id] != b.size || b.indexWritten != b.size {
					t.Fatalf("block %d: %d bytes, block index says %d, index file %d", b.id, b.size, lengths[b.id], b.indexWritten)
				}
			}
			// More rollovers, and Stop before their task runs.
			store3(40)
			if len(s.sealJobs) == 0 {
				t.Fatal("no seal job queued by the second batch")
			}
			want := fingerprint(t, s)
			blocks := len(s.blocks)
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			if got := indexFiles(t, disk, cfg); len(got) != blocks {
				t.Fatalf("after Stop: %d index files for %d blocks", len(got), blocks)
			}
			before, _ := disk.FS().ReadDir(s.msgsDir())
			tasks.runAll()
			if after, _ := disk.FS().ReadDir(s.msgsDir()); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("a seal runner wrote after Stop: %v, then %v", before, after)
			}
			cfg.Tasks = nil
			got, stats := reopen(t, cfg)
			if got != want || stats.BlocksFromIndex != blocks || stats.BlocksReplayed != 0 {
				t.Fatalf("reopen %+v for %d blocks\n got %s\nwant %s", stats, blocks, got, want)
			}
		})
	}
}
