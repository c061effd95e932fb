package filestore

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
)

// indexWorkload writes messages with TTLs over many small blocks, with every kind of
// journal record (removals, an erase, skips, a compact, a truncate), then stops.
func indexWorkload(t *testing.T, s *Store) {
	t.Helper()
	for i := range 200 {
		ttl := int64(0)
		if i%3 == 0 {
			ttl = int64(1000 + i)
		}
		hdr := []byte(nil)
		if i%5 == 0 {
			hdr = []byte("NATS/1.0\r\nK: v\r\n\r\n")
		}
		if _, _, err := s.StoreMsg(fmt.Sprintf("idx.%d", i%7), hdr, []byte(fmt.Sprintf("payload %d %s", i, strings.Repeat("z", i%40))), int64(1_000_000+i), ttl); err != nil {
			t.Fatal(err)
		}
		switch {
		case i%11 == 10:
			if _, err := s.RemoveMsg(uint64(i - 3)); err != nil {
				t.Fatal(err)
			}
		case i == 150:
			if _, err := s.EraseMsg(140); err != nil {
				t.Fatal(err)
			}
		case i == 60:
			if err := s.SkipMsgs(s.stream.Last()+1, 5); err != nil {
				t.Fatal(err)
			}
		case i == 90:
			if _, err := s.Compact(12); err != nil {
				t.Fatal(err)
			}
		case i == 170:
			if err := s.Truncate(s.stream.Last() - 4); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// fingerprint renders everything a reopen must restore: the state with its deleted
// list and losses, every message with its TTL, per-subject state and the next TTL
// expiration.
func fingerprint(t *testing.T, s *Store) string {
	t.Helper()
	var out strings.Builder
	state := s.State()
	fmt.Fprintf(&out, "state %+v\n", state)
	var sm store.StoreMsg
	for seq := state.FirstSeq; seq <= state.LastSeq; seq++ {
		got, err := s.LoadMsg(seq, &sm)
		if err != nil {
			fmt.Fprintf(&out, "%d: %v\n", seq, err)
			continue
		}
		fmt.Fprintf(&out, "%d: %s %q %q ts %d ttl %d\n", seq, got.Subject, got.Hdr, got.Msg, got.TS, got.TTL)
	}
	subjects := s.SubjectsState(">")
	names := make([]string, 0, len(subjects))
	for name := range subjects {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&out, "subject %s %+v\n", name, subjects[name])
	}
	fmt.Fprintf(&out, "next expiration %d\n", s.NextExpiration())
	return out.String()
}

// indexFiles lists the stream's per-block index files.
func indexFiles(t *testing.T, disk *simfs.Disk, cfg Config) []string {
	t.Helper()
	names, err := disk.FS().ReadDir(path.Join(cfg.Dir, msgsDirName))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range names {
		if strings.HasSuffix(name, ".idx") {
			out = append(out, path.Join(cfg.Dir, msgsDirName, name))
		}
	}
	return out
}

// reopen opens the store, fingerprints it and stops it cleanly.
func reopen(t *testing.T, cfg Config) (string, RecoveryStats) {
	t.Helper()
	s := mustOpen(t, cfg, store.StreamConfig{Name: "I", AllowMsgTTL: true})
	defer func() {
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
	}()
	if c := s.Corruption(); len(c) != 0 {
		t.Fatalf("corruption reported: %v", c)
	}
	return fingerprint(t, s), s.Recovery()
}

// TestBlockIndexReplay proves a clean reopen replays every block from its index file,
// and that the result is the state a record-by-record replay (every index deleted)
// rebuilds, for every configuration.
func TestBlockIndexReplay(t *testing.T) {
	for name, variant := range variants() {
		t.Run(name, func(t *testing.T) {
			disk := newDisk(21)
			cfg := variant(disk.FS())
			s := mustOpen(t, cfg, store.StreamConfig{Name: "I", AllowMsgTTL: true})
			indexWorkload(t, s)
			want := fingerprint(t, s)
			blocks := len(s.blocks)
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			if got := len(indexFiles(t, disk, cfg)); got != blocks {
				t.Fatalf("%d index files for %d blocks", got, blocks)
			}
			got, stats := reopen(t, cfg)
			if got != want {
				t.Fatalf("state from the index differs:\n got %s\nwant %s", got, want)
			}
			// The erased record changed a sealed block after its index was written: that
			// one block is replayed and its index rebuilt.
			if stats.BlocksFromIndex < blocks-1 || stats.BlocksFromIndex+stats.BlocksReplayed != blocks || !stats.TTLsLoaded {
				t.Fatalf("recovery %+v for %d blocks", stats, blocks)
			}
			if _, stats := reopen(t, cfg); stats.BlocksFromIndex != blocks || stats.BlocksReplayed != 0 {
				t.Fatalf("second reopen %+v for %d blocks", stats, blocks)
			}
			for _, name := range indexFiles(t, disk, cfg) {
				if err := disk.FS().Remove(name); err != nil {
					t.Fatal(err)
				}
			}
			got, stats = reopen(t, cfg)
			if got != want || stats.BlocksReplayed != blocks || stats.IndexesMissing != blocks || stats.IndexesRebuilt != blocks-1 {
				t.Fatalf("rebuild without indexes: %+v\n got %s\nwant %s", stats, got, want)
			}
			if cfg.Cipher != NoCipher {
				for _, name := range indexFiles(t, disk, cfg) {
					if contents, _ := disk.Contents(name); containsBytes(contents, []byte("idx.")) {
						t.Fatalf("plaintext subject in %s", name)
					}
				}
			}
		})
	}
}

// TestBlockIndexDamage proves a missing, damaged, stale or misplaced index file is
// detected, never trusted: the block is replayed, the state is the same, nothing is
// reported as lost, and the index is rebuilt so the next open uses it again.
func TestBlockIndexDamage(t *testing.T) {
	cases := map[string]func(t *testing.T, disk *simfs.Disk, victim, other string, old []byte){
		"missing": func(t *testing.T, disk *simfs.Disk, victim, _ string, _ []byte) {
			if err := disk.FS().Remove(victim); err != nil {
				t.Fatal(err)
			}
		},
		"bit flip": func(t *testing.T, disk *simfs.Disk, victim, _ string, _ []byte) {
			contents, _ := disk.Contents(victim)
			if err := disk.FlipBit(victim, int64(len(contents)/2), 5); err != nil {
				t.Fatal(err)
			}
		},
		"truncated": func(t *testing.T, disk *simfs.Disk, victim, _ string, _ []byte) {
			contents, _ := disk.Contents(victim)
			if err := disk.CutTail(victim, int64(len(contents)-3)); err != nil {
				t.Fatal(err)
			}
		},
		"other block's": func(t *testing.T, disk *simfs.Disk, victim, other string, _ []byte) {
			contents, _ := disk.Contents(other)
			writeFile(t, disk, victim, contents)
		},
		"stale": func(t *testing.T, disk *simfs.Disk, victim, _ string, old []byte) {
			writeFile(t, disk, victim, old)
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			disk := newDisk(22)
			cfg := variants()["plain"](disk.FS())
			s := mustOpen(t, cfg, store.StreamConfig{Name: "I", AllowMsgTTL: true})
			indexWorkload(t, s)
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			// The newest block's index from this stop goes stale once more is written.
			files := indexFiles(t, disk, cfg)
			victim := files[len(files)-1]
			old, _ := disk.Contents(victim)
			s = mustOpen(t, cfg, store.StreamConfig{Name: "I", AllowMsgTTL: true})
			if _, _, err := s.StoreMsg("idx.late", nil, []byte("late"), 2_000_000, 0); err != nil {
				t.Fatal(err)
			}
			want := fingerprint(t, s)
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			if got, stats := reopen(t, cfg); got != want || stats.BlocksReplayed != 0 {
				t.Fatalf("clean reopen: %+v\n got %s\nwant %s", stats, got, want)
			}
			damage(t, disk, victim, files[0], old)
			got, stats := reopen(t, cfg)
			if got != want || stats.BlocksReplayed != 1 || stats.IndexesMissing+stats.IndexesDamaged+stats.IndexesStale != 1 {
				t.Fatalf("after damage: %+v\n got %s\nwant %s", stats, got, want)
			}
			if got, stats := reopen(t, cfg); got != want || stats.BlocksReplayed != 0 {
				t.Fatalf("index not rebuilt: %+v", stats)
			}
		})
	}
}

// TestBlockIndexDoesNotHideBlockDamage proves a bit flip in a block whose index is
// intact is still found at open: the index no longer matches the block's checksum.
func TestBlockIndexDoesNotHideBlockDamage(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	contents, _ := disk.Contents(blockPath(2))
	if err := disk.FlipBit(blockPath(2), int64(len(contents)/4), 3); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	defer s.Stop()
	if lost := s.State().Lost; len(lost) != 1 {
		t.Fatalf("lost = %v, corruption %v", lost, s.Corruption())
	}
	if stats := s.Recovery(); stats.IndexesStale != 1 {
		t.Fatalf("recovery %+v", stats)
	}
}

func writeFile(t *testing.T, disk *simfs.Disk, name string, data []byte) {
	t.Helper()
	f, err := disk.FS().Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// FuzzBlockIndexFile proves the index file decoder never panics, and that what it
// accepts encodes back to the same bytes through a builder.
func FuzzBlockIndexFile(f *testing.F) {
	x := newIndexBuilder()
	x.addRaw(0, []byte{kindBlockHeader, 1, 0, 0, 0, 0})
	x.addMsg(20, "a.b", 1, 100, 0, 40)
	x.addMsg(70, "a.c", 2, 101, 5, 41)
	x.addMsg(120, "a.b", 3, 99, -1, 42)
	x.addRaw(170, []byte{kindRemove, 2})
	x.addMsg(180, "a.b", 9, 99, 0, 42)
	contents := make([]byte, 300)
	f.Add(x.encode(1, contents, 1024))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var index blockIndex
		if err := decodeBlockIndexFile(data, &index); err != nil {
			return
		}
		b := newIndexBuilder()
		for _, e := range index.entries {
			if e.raw != nil {
				b.addRaw(e.offset, e.raw)
			} else {
				b.addMsg(e.offset, string(index.subjects[e.subject]), e.seq, e.ts, e.ttl, e.size)
			}
		}
		var again blockIndex
		if err := decodeBlockIndexFile(b.encode(index.id, make([]byte, index.length), index.preallocated), &again); err != nil {
			t.Fatalf("re-encoded index does not decode: %v", err)
		}
		if len(again.entries) != len(index.entries) {
			t.Fatalf("round trip: %d entries, want %d", len(again.entries), len(index.entries))
		}
	})
}

// TestIndexDecoderRejectsBadSubjectNumbers is a table of hand-made bodies the decoder
// must refuse.
func TestIndexDecoderRejectsBadSubjectNumbers(t *testing.T) {
	header := func(count byte) []byte {
		return []byte{blockIndexFileKind, 1, 100, 0, 0, 0, 0, 0, count}
	}
	cases := map[string][]byte{
		"same before any":   append(header(1), indexMsgSame, 0, 0, 0, 0, 1),
		"unknown number":    append(header(1), indexMsgKnown, 0, 3, 0, 0, 0, 1),
		"offset past block": append(header(1), indexRaw, 101, 1, kindRemove),
		"raw message":       append(header(1), indexRaw, 0, 1, kindMsg),
		"unknown tag":       append(header(1), 9, 0),
		"trailing bytes":    append(header(0), 0),
		"count too large":   header(9),
	}
	for name, body := range cases {
		var index blockIndex
		if err := decodeBlockIndexFile(appendRecord(nil, body), &index); !errors.Is(err, errBadRecord) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestBlockIndexInvalidSubject proves an index that matches its block's checksum but
// names an invalid subject (a forged or buggy file) is not trusted: the block is
// replayed instead, with the same result as without the index.
func TestBlockIndexInvalidSubject(t *testing.T) {
	disk, cfg := corruptionFixture(t)
	want, _ := reopen(t, cfg)
	name := path.Join(cfg.Dir, msgsDirName, perBlockIndexFileName(1))
	data, _ := disk.Contents(name)
	var index blockIndex
	if err := decodeBlockIndexFile(data, &index); err != nil {
		t.Fatal(err)
	}
	forged := newIndexBuilder()
	for _, e := range index.entries {
		if e.raw != nil {
			forged.addRaw(e.offset, e.raw)
		} else {
			forged.addMsg(e.offset, "not a valid subject", e.seq, e.ts, e.ttl, e.size)
		}
	}
	contents, _ := disk.Contents(blockPath(1))
	writeFile(t, disk, name, forged.encode(1, contents[:index.length], index.preallocated))
	s := mustOpen(t, cfg, store.StreamConfig{Name: "X"})
	stats := s.Recovery()
	got := fingerprint(t, s)
	_ = s.Stop()
	if stats.IndexesDamaged != 1 || stats.BlocksReplayed != 1 {
		t.Fatalf("recovery %+v", stats)
	}
	if got != want {
		t.Fatalf("state differs:\n got %s\nwant %s", got, want)
	}
}
