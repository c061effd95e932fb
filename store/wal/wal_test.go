package wal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/raft"
	pb "github.com/natsim/natsim/raft/raftpb"
	"github.com/natsim/natsim/sim/simfs"
)

// testRand is a seeded env.Rand for tests.
type testRand struct{ *rand.Rand }

func newTestRand(seed uint64) *testRand {
	return &testRand{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (r *testRand) Intn(n int) int       { return r.IntN(n) }
func (r *testRand) Int63n(n int64) int64 { return r.Int64N(n) }
func (r *testRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.Uint64())
	}
	return len(p), nil
}

var _ env.Rand = (*testRand)(nil)

const testDir = "raft/g1"

func mustOpen(t *testing.T, fsys env.FS, o Options) (*WAL, Recovery) {
	t.Helper()
	w, rec, err := Open(fsys, testDir, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return w, rec
}

// model is the log a MemoryStorage keeps for the same writes: the reference.
type model struct{ *raft.MemoryStorage }

// batch is one Ready's worth of writes.
type batch struct {
	entries   []pb.Entry
	hardState pb.HardState
}

// randomBatches draws n batches: appends that sometimes replace a suffix in a new term,
// and hard states that follow the log.
func randomBatches(rnd *rand.Rand, n int) []batch {
	var out []batch
	last, term := uint64(0), uint64(1)
	for range n {
		from := last + 1
		if last > 0 && rnd.IntN(4) == 0 {
			from = last - uint64(rnd.IntN(int(min(last, 3))))
			if from == 0 {
				from = 1
			}
			term++
		}
		count := 1 + rnd.IntN(4)
		var ents []pb.Entry
		for i := range count {
			data := make([]byte, rnd.IntN(300))
			for j := range data {
				data[j] = byte(rnd.Uint32())
			}
			ents = append(ents, pb.Entry{Index: from + uint64(i), Term: term, Data: data})
		}
		last = from + uint64(count) - 1
		out = append(out, batch{entries: ents, hardState: pb.HardState{Term: term, Vote: uint64(1 + term%3), Commit: last / 2}})
	}
	return out
}

func checkPrefix(t *testing.T, w *WAL, want *raft.MemoryStorage, through uint64) {
	t.Helper()
	last, _ := w.LastIndex()
	if last < through {
		t.Fatalf("last index %d, durable through %d", last, through)
	}
	if through == 0 {
		return
	}
	got, err := w.Entries(1, through+1, 1<<62)
	if err != nil {
		t.Fatalf("entries: %v", err)
	}
	expected, _ := want.Entries(1, through+1, 1<<62)
	if len(got) != len(expected) {
		t.Fatalf("got %d entries, want %d", len(got), len(expected))
	}
	for i := range got {
		if got[i].Index != expected[i].Index || got[i].Term != expected[i].Term || string(got[i].Data) != string(expected[i].Data) {
			t.Fatalf("entry %d: got %d/%d, want %d/%d", i, got[i].Term, got[i].Index, expected[i].Term, expected[i].Index)
		}
	}
}

// TestRoundTrip: what is saved is what a reopened WAL serves, across segment rotation
// and a small cache (so old entries are read back from disk).
func TestRoundTrip(t *testing.T) {
	disk := simfs.New(newTestRand(1), simfs.Config{Name: "d"})
	o := Options{SegmentBytesMax: 700, CacheBytesMax: 500}
	w, _ := mustOpen(t, disk.FS(), o)
	ms := raft.NewMemoryStorage()
	for _, b := range randomBatches(rand.New(rand.NewPCG(1, 2)), 60) {
		if err := w.Save(pb.Snapshot{}, b.entries, b.hardState); err != nil {
			t.Fatal(err)
		}
		ms.Append(b.entries)
		ms.SetHardState(b.hardState)
	}
	last, _ := ms.LastIndex()
	checkPrefix(t, w, ms, last)
	if len(w.segments) < 3 {
		t.Fatalf("expected rotation, have %d segments", len(w.segments))
	}
	w.Close()
	w, rec := mustOpen(t, disk.FS(), o)
	if rec.Corrupt || rec.RepairIndex != 0 || rec.LostDurable {
		t.Fatalf("clean reopen reported %+v", rec)
	}
	checkPrefix(t, w, ms, last)
	if got, wantLast := w.lastIndex(), last; got != wantLast {
		t.Fatalf("last %d want %d", got, wantLast)
	}
	if w.HardState() != ms.HardState() {
		t.Fatalf("hard state %+v want %+v", w.HardState(), ms.HardState())
	}
}

// TestCrashAfterEachWrite: a power loss (with torn writes) after the k-th batch, for
// every k, recovers a log that holds everything synced, a hard state at least as new
// as the durable one, and needs no repair.
func TestCrashAfterEachWrite(t *testing.T) {
	batches := randomBatches(rand.New(rand.NewPCG(3, 4)), 40)
	for k := 1; k <= len(batches); k++ {
		for _, synced := range []bool{true, false} {
			disk := simfs.New(newTestRand(uint64(k)), simfs.Config{Name: "d", Faults: simfs.Faults{TornWriteProbability: 1}})
			w, _ := mustOpen(t, disk.FS(), Options{SegmentBytesMax: 1500})
			ms := raft.NewMemoryStorage()
			var durable raft.Durable
			for i, b := range batches[:k] {
				ms.Append(b.entries)
				if i == k-1 && !synced {
					// The last batch is written but not synced.
					w.Append(b.entries)
					w.SetHardState(b.hardState)
					w.flush()
					durable = w.Durable()
					break
				}
				if err := w.Save(pb.Snapshot{}, b.entries, b.hardState); err != nil {
					t.Fatal(err)
				}
				durable = w.Durable()
			}
			disk.Crash(true)
			w2, rec := mustOpen(t, disk.FS(), Options{SegmentBytesMax: 1500})
			if rec.RepairIndex != 0 || rec.Corrupt {
				t.Fatalf("k=%d: a healthy disk asked for repair: %+v", k, rec)
			}
			if h := w2.HardState(); h.Term < durable.HardState.Term || (h.Term == durable.HardState.Term && h.Vote != durable.HardState.Vote) {
				t.Fatalf("k=%d: hard state %+v older than durable %+v", k, h, durable.HardState)
			}
			term, err := w2.Term(durable.LastIndex)
			if err != nil || term != durable.LastTerm {
				t.Fatalf("k=%d: durable %d/%d became %d (%v)", k, durable.LastTerm, durable.LastIndex, term, err)
			}
			if !synced {
				continue
			}
			checkPrefix(t, w2, ms, durable.LastIndex)
		}
	}
}

// faultFS fails the failAt-th mutating operation (and every one after it) with ErrIO.
type faultFS struct {
	env.FS
	ops    *int
	failAt int
}

func (f faultFS) tick() error {
	*f.ops++
	if f.failAt > 0 && *f.ops >= f.failAt {
		return fmt.Errorf("op %d: %w", *f.ops, env.ErrIO)
	}
	return nil
}
func (f faultFS) Create(name string) (env.File, error) {
	if err := f.tick(); err != nil {
		return nil, err
	}
	file, err := f.FS.Create(name)
	return faultFile{file, f}, err
}
func (f faultFS) OpenReadWrite(name string) (env.File, error) {
	if err := f.tick(); err != nil {
		return nil, err
	}
	file, err := f.FS.OpenReadWrite(name)
	return faultFile{file, f}, err
}
func (f faultFS) Remove(name string) error {
	if err := f.tick(); err != nil {
		return err
	}
	return f.FS.Remove(name)
}
func (f faultFS) Rename(a, b string) error {
	if err := f.tick(); err != nil {
		return err
	}
	return f.FS.Rename(a, b)
}
func (f faultFS) SyncDir(name string) error {
	if err := f.tick(); err != nil {
		return err
	}
	return f.FS.SyncDir(name)
}

type faultFile struct {
	env.File
	fs faultFS
}

func (f faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.tick(); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}
func (f faultFile) Sync() error {
	if err := f.fs.tick(); err != nil {
		return err
	}
	return f.File.Sync()
}

// TestFaultSweep fails the i-th file system operation for every i, then loses power:
// the reopened log keeps everything a successful Save made durable, snapshots and
// compaction included.
func TestFaultSweep(t *testing.T) {
	batches := randomBatches(rand.New(rand.NewPCG(5, 6)), 25)
	run := func(failAt int) (int, bool) {
		disk := simfs.New(newTestRand(uint64(failAt)), simfs.Config{Name: "d", Faults: simfs.Faults{TornWriteProbability: 0.5}})
		ops := 0
		fsys := faultFS{FS: disk.FS(), ops: &ops, failAt: failAt}
		o := Options{SegmentBytesMax: 1000}
		w, _, err := Open(fsys, testDir, o)
		failed := err != nil
		ms := raft.NewMemoryStorage()
		var durable raft.Durable
		var snapshot uint64
		for i, b := range batches {
			if failed {
				break
			}
			if err := w.Save(pb.Snapshot{}, b.entries, b.hardState); err != nil {
				// A Save that replaces durable entries lowers the durable index
				// before it writes.
				durable.LastIndex, durable.LastTerm = min(durable.LastIndex, w.Durable().LastIndex), w.Durable().LastTerm
				failed = true
				break
			}
			ms.Append(b.entries)
			durable = w.Durable()
			if i%7 == 6 {
				commit := b.hardState.Commit
				if commit > snapshot {
					if _, err := w.CreateSnapshot(commit, pb.ConfState{Voters: []uint64{1, 2, 3}}, []byte("state")); err != nil {
						failed = true
						break
					}
					snapshot = commit
					if err := w.Compact(commit); err != nil {
						failed = true
						break
					}
				}
			}
		}
		disk.Crash(true)
		w2, rec, err := Open(disk.FS(), testDir, o)
		if err != nil {
			t.Fatalf("failAt %d: reopen: %v", failAt, err)
		}
		if rec.RepairIndex != 0 {
			t.Fatalf("failAt %d: repair %+v", failAt, rec)
		}
		if durable.LastIndex > 0 {
			term, err := w2.Term(durable.LastIndex)
			if err != nil && !errors.Is(err, raft.ErrCompacted) || err == nil && term != durable.LastTerm {
				t.Fatalf("failAt %d: durable %d/%d lost: %d %v", failAt, durable.LastTerm, durable.LastIndex, term, err)
			}
		}
		return ops, failed
	}
	total, _ := run(0)
	for i := 1; i <= total; i++ {
		if _, failed := run(i); !failed {
			t.Fatalf("failAt %d: no failure observed", i)
		}
	}
}

// TestBitFlipMarksRepair: a flipped bit in a synced entry is detected on open, the
// entries from there on are dropped, and the repair marker is set and persisted until
// cleared.
func TestBitFlipMarksRepair(t *testing.T) {
	for _, offsetFraction := range []float64{0.1, 0.5, 0.9, 0.999} {
		disk := simfs.New(newTestRand(9), simfs.Config{Name: "d"})
		w, _ := mustOpen(t, disk.FS(), Options{})
		for _, b := range randomBatches(rand.New(rand.NewPCG(7, 8)), 20) {
			if err := w.Save(pb.Snapshot{}, b.entries, b.hardState); err != nil {
				t.Fatal(err)
			}
		}
		durable := w.Durable()
		name := testDir + "/" + segmentName(w.current().sequence)
		size := w.current().size
		disk.Crash(false)
		if err := disk.FlipBit(name, int64(float64(size)*offsetFraction), 3); err != nil {
			t.Fatal(err)
		}
		w2, rec := mustOpen(t, disk.FS(), Options{})
		if !rec.Corrupt || rec.RepairIndex < durable.LastIndex {
			t.Fatalf("flip at %.3f: recovery %+v, durable last %d", offsetFraction, rec, durable.LastIndex)
		}
		disk.Crash(true)
		w3, rec := mustOpen(t, disk.FS(), Options{})
		if rec.RepairIndex == 0 || w3.RepairIndex() != w2.RepairIndex() {
			t.Fatalf("repair marker not persisted: %+v", rec)
		}
		if err := w3.ClearRepair(); err != nil {
			t.Fatal(err)
		}
		disk.Crash(true)
		if _, rec := mustOpen(t, disk.FS(), Options{}); rec.RepairIndex != 0 {
			t.Fatalf("cleared marker came back: %+v", rec)
		}
	}
}

// TestApplySnapshotReplacesLog: a leader's snapshot replaces the log, also after a
// power loss.
func TestApplySnapshotReplacesLog(t *testing.T) {
	disk := simfs.New(newTestRand(11), simfs.Config{Name: "d"})
	w, _ := mustOpen(t, disk.FS(), Options{})
	for _, b := range randomBatches(rand.New(rand.NewPCG(9, 10)), 10) {
		if err := w.Save(pb.Snapshot{}, b.entries, b.hardState); err != nil {
			t.Fatal(err)
		}
	}
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 100, Term: 9, ConfState: pb.ConfState{Voters: []uint64{1, 2}}}, Data: []byte("kv")}
	if err := w.Save(snap, []pb.Entry{{Index: 101, Term: 9, Data: []byte("x")}}, pb.HardState{Term: 9, Commit: 100}); err != nil {
		t.Fatal(err)
	}
	disk.Crash(true)
	w2, rec := mustOpen(t, disk.FS(), Options{})
	if rec.Corrupt || rec.RepairIndex != 0 {
		t.Fatalf("recovery %+v", rec)
	}
	first, _ := w2.FirstIndex()
	last, _ := w2.LastIndex()
	got, _ := w2.Snapshot()
	if first != 101 || last != 101 || string(got.Data) != "kv" || got.Metadata.Index != 100 {
		t.Fatalf("first %d last %d snapshot %+v", first, last, got.Metadata)
	}
	_, cs, _ := w2.InitialState()
	if !cs.Equal(pb.ConfState{Voters: []uint64{1, 2}}) {
		t.Fatalf("conf state %v", cs)
	}
}

// FuzzDecodeRecord: the record decoder never panics, and what it accepts re-encodes
// to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	ent := pb.Entry{Index: 3, Term: 2, Data: []byte("hello")}
	f.Add(appendRecord(nil, kindEntry, pb.EncodeEntry(&ent)))
	f.Add(appendRecord(nil, kindHardState, pb.EncodeHardState(pb.HardState{Term: 1, Vote: 2, Commit: 3})))
	f.Add([]byte{})
	f.Add(make([]byte, 9))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 'E'})
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, payload, size, err := decodeRecord(data)
		if err != nil {
			return
		}
		if again := appendRecord(nil, kind, payload); string(again) != string(data[:size]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzOpen: any bytes in a segment open without a panic.
func FuzzOpen(f *testing.F) {
	ent := pb.Entry{Index: 1, Term: 1, Data: []byte("a")}
	f.Add(appendRecord(nil, kindEntry, pb.EncodeEntry(&ent)))
	f.Fuzz(func(t *testing.T, data []byte) {
		disk := simfs.New(newTestRand(1), simfs.Config{Name: "d"})
		fsys := disk.FS()
		fsys.MkdirAll(testDir, 0o755)
		file, _ := fsys.Create(testDir + "/" + segmentName(1))
		file.WriteAt(data, 0)
		file.Sync()
		w, _, err := Open(fsys, testDir, Options{})
		if err == nil {
			last, _ := w.LastIndex()
			if _, err := w.Entries(1, last+1, 1<<62); err != nil && last > 0 {
				t.Fatalf("entries after open: %v", err)
			}
		}
	})
}

// TestCompactRemovesSegments: after a snapshot and Compact, the segments the snapshot
// covers are gone, entries after it are still served (from disk too), and a reopened
// log starts after the snapshot.
func TestCompactRemovesSegments(t *testing.T) {
	disk := simfs.New(newTestRand(13), simfs.Config{Name: "d"})
	o := Options{SegmentBytesMax: 600, CacheBytesMax: 300}
	w, _ := mustOpen(t, disk.FS(), o)
	index := uint64(0)
	for range 60 {
		index++
		ent := pb.Entry{Index: index, Term: 1, Data: make([]byte, 100)}
		if err := w.Save(pb.Snapshot{}, []pb.Entry{ent}, pb.HardState{Term: 1, Commit: index}); err != nil {
			t.Fatal(err)
		}
	}
	before := len(w.segments)
	if _, err := w.CreateSnapshot(50, pb.ConfState{Voters: []uint64{1}}, []byte("s")); err != nil {
		t.Fatal(err)
	}
	if err := w.Compact(50); err != nil {
		t.Fatal(err)
	}
	names, _ := disk.FS().ReadDir(testDir)
	segments := 0
	for _, name := range names {
		if len(name) > 4 && name[len(name)-4:] == segmentSuffix {
			segments++
		}
	}
	if segments >= before || segments != len(w.segments) {
		t.Fatalf("%d segments before, %d after (%d files)", before, len(w.segments), segments)
	}
	if _, err := w.Entries(50, 52, 1<<20); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("compacted entries: %v", err)
	}
	ents, err := w.Entries(51, 61, 1<<20)
	if err != nil || len(ents) != 10 || ents[0].Index != 51 {
		t.Fatalf("entries after the snapshot: %d %v", len(ents), err)
	}
	disk.Crash(true)
	w2, rec := mustOpen(t, disk.FS(), o)
	first, _ := w2.FirstIndex()
	last, _ := w2.LastIndex()
	if rec.Corrupt || first != 51 || last != 60 {
		t.Fatalf("reopened: first %d last %d %+v", first, last, rec)
	}
}

// TestLostReplacementLowersCommit: when the records that replaced a suffix are damaged,
// the superseded entries come back on recovery; the commit index must then not vouch
// for them.
func TestLostReplacementLowersCommit(t *testing.T) {
	disk := simfs.New(newTestRand(17), simfs.Config{Name: "d"})
	w, _ := mustOpen(t, disk.FS(), Options{})
	var ents []pb.Entry
	for i := uint64(1); i <= 5; i++ {
		ents = append(ents, pb.Entry{Index: i, Term: 1, Data: []byte("old")})
	}
	if err := w.Save(pb.Snapshot{}, ents, pb.HardState{Term: 1, Commit: 2}); err != nil {
		t.Fatal(err)
	}
	sizeBefore := w.current().size
	replacement := []pb.Entry{{Index: 3, Term: 2, Data: []byte("new")}, {Index: 4, Term: 2, Data: []byte("new")}}
	if err := w.Save(pb.Snapshot{}, replacement, pb.HardState{Term: 2, Commit: 4}); err != nil {
		t.Fatal(err)
	}
	name := testDir + "/" + segmentName(w.current().sequence)
	disk.Crash(false)
	if err := disk.FlipBit(name, sizeBefore+12, 1); err != nil {
		t.Fatal(err)
	}
	w2, rec := mustOpen(t, disk.FS(), Options{})
	if rec.RepairIndex < 4 {
		t.Fatalf("no repair: %+v", rec)
	}
	if term, _ := w2.Term(3); term == 1 && w2.HardState().Commit >= 3 {
		t.Fatalf("commit %d vouches for the superseded entry 1/3", w2.HardState().Commit)
	}
}
