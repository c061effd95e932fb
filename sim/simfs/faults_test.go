package simfs

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/natsim/natsim/env"
)

// pattern returns size bytes that differ from sector to sector, so misplaced or stale
// sectors show.
func pattern(size int, salt byte) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i/sectorBytesDefault) + salt + byte(i%7)
	}
	return b
}

// durableFile creates name holding contents, synced under a synced root.
func durableFile(t *testing.T, disk *Disk, name string, contents []byte) env.File {
	t.Helper()
	fsys := disk.FS()
	writeFile(t, fsys, name, contents, true)
	mustSyncDir(t, fsys, ".")
	f, err := fsys.OpenReadWrite(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReadBitFlip proves that a read bit flip changes exactly one bit of what is read
// and nothing of what is stored.
func TestReadBitFlip(t *testing.T) {
	disk := newTestDisk(2, Faults{})
	want := pattern(4096, 1)
	f := durableFile(t, disk, "a", want)
	disk.SetFaults(Faults{ReadBitFlipProbability: 1})
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if differingBits(got, want) != 1 {
		t.Fatalf("%d bits differ, want 1", differingBits(got, want))
	}
	if stored, _ := disk.Contents("a"); !bytes.Equal(stored, want) {
		t.Fatal("a read bit flip changed the stored bytes")
	}
	if disk.Counters().ReadBitFlips != 1 {
		t.Fatalf("counters %+v", disk.Counters())
	}
}

func differingBits(a, b []byte) int {
	count := 0
	for i := range a {
		for x := a[i] ^ b[i]; x != 0; x &= x - 1 {
			count++
		}
	}
	return count
}

// TestAtRestBitFlip proves that a crash may flip one stored bit, durably.
func TestAtRestBitFlip(t *testing.T) {
	disk := newTestDisk(3, Faults{AtRestBitFlipProbability: 1})
	want := pattern(2048, 2)
	durableFile(t, disk, "a", want)
	disk.Crash(true)
	got, err := readFile(disk.FS(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if differingBits(got, want) != 1 || disk.Counters().AtRestBitFlips != 1 {
		t.Fatalf("%d bits differ, counters %+v", differingBits(got, want), disk.Counters())
	}
	disk.SetFaults(Faults{})
	disk.Crash(true)
	again, _ := readFile(disk.FS(), "a")
	if !bytes.Equal(again, got) {
		t.Fatal("the flipped bit did not survive a power loss")
	}
}

// TestLatentSectorError proves that a sector made unreadable fails reads covering it
// with env.ErrIO, spares reads beside it, and heals when rewritten.
func TestLatentSectorError(t *testing.T) {
	disk := newTestDisk(4, Faults{})
	f := durableFile(t, disk, "a", nil)
	disk.SetFaults(Faults{LatentSectorErrorProbability: 1})
	if _, err := f.WriteAt(pattern(sectorBytesDefault, 3), sectorBytesDefault); err != nil {
		t.Fatal(err)
	}
	disk.SetFaults(Faults{})
	if _, err := f.ReadAt(make([]byte, 10), 0); err != nil {
		t.Fatalf("read of the healthy sector: %v", err)
	}
	if _, err := f.ReadAt(make([]byte, 10), sectorBytesDefault+5); !errors.Is(err, env.ErrIO) {
		t.Fatalf("read of the bad sector: got %v, want env.ErrIO", err)
	}
	if _, err := f.WriteAt([]byte("x"), sectorBytesDefault); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 10), sectorBytesDefault+5); err != nil {
		t.Fatalf("read after the rewrite: %v", err)
	}
	if c := disk.Counters(); c.LatentSectorsMade != 1 || c.LatentSectorReads != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// TestMisdirectedWrite proves that a misdirected write reports success, leaves the
// intended place unchanged and lands somewhere else.
func TestMisdirectedWrite(t *testing.T) {
	disk := newTestDisk(5, Faults{})
	before := pattern(8*sectorBytesDefault, 4)
	f := durableFile(t, disk, "a", before)
	disk.SetFaults(Faults{MisdirectedWriteProbability: 1})
	payload := bytes.Repeat([]byte{0xEE}, 100)
	if n, err := f.WriteAt(payload, 2*sectorBytesDefault); err != nil || n != len(payload) {
		t.Fatalf("write: %d, %v", n, err)
	}
	after, _ := disk.Contents("a")
	if !bytes.Equal(after[2*sectorBytesDefault:2*sectorBytesDefault+100], before[2*sectorBytesDefault:2*sectorBytesDefault+100]) {
		t.Fatal("the intended place changed")
	}
	if !bytes.Contains(after, payload) {
		t.Fatal("the payload landed nowhere")
	}
	if disk.Counters().MisdirectedWrites != 1 {
		t.Fatalf("counters %+v", disk.Counters())
	}
}

// TestStaleRead proves that a stale read returns a sector's previous version while
// the stored bytes are the new ones.
func TestStaleRead(t *testing.T) {
	disk := newTestDisk(6, Faults{StaleReadProbability: 1})
	old := pattern(sectorBytesDefault, 5)
	f := durableFile(t, disk, "a", old)
	fresh := pattern(sectorBytesDefault, 9)
	if _, err := f.WriteAt(fresh, 0); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, sectorBytesDefault)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, old) {
		t.Fatal("the read did not return the previous version")
	}
	if stored, _ := disk.Contents("a"); !bytes.Equal(stored, fresh) {
		t.Fatal("the stored bytes are not the new ones")
	}
	if disk.Counters().StaleReads != 1 {
		t.Fatalf("counters %+v", disk.Counters())
	}
}

// TestCrashTruncate proves that a crash may cut a synced file's tail.
func TestCrashTruncate(t *testing.T) {
	disk := newTestDisk(7, Faults{CrashTruncateProbability: 1})
	want := pattern(1000, 6)
	durableFile(t, disk, "a", want)
	disk.Crash(false)
	got, err := readFile(disk.FS(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) >= len(want) || !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("got %d bytes, want a strict prefix of %d", len(got), len(want))
	}
	if disk.Counters().Truncations != 1 || disk.UsedBytes() != int64(len(got)) {
		t.Fatalf("counters %+v, used %d", disk.Counters(), disk.UsedBytes())
	}
}

// TestTornWrite proves that a power loss may keep a strict prefix of the unsynced
// sectors, in the order they were written, and nothing else.
func TestTornWrite(t *testing.T) {
	torn := 0
	for seed := uint64(0); seed < 20; seed++ {
		disk := newTestDisk(seed, Faults{TornWriteProbability: 1})
		f := durableFile(t, disk, "a", nil)
		sectors := 8
		for i := 0; i < sectors; i++ {
			if _, err := f.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, sectorBytesDefault), int64(i*sectorBytesDefault)); err != nil {
				t.Fatal(err)
			}
		}
		disk.Crash(true)
		got, err := readFile(disk.FS(), "a")
		if err != nil {
			t.Fatal(err)
		}
		if len(got)%sectorBytesDefault != 0 || len(got) >= sectors*sectorBytesDefault {
			t.Fatalf("seed %d: %d bytes survive, want a strict prefix of whole sectors", seed, len(got))
		}
		for i := 0; i < len(got)/sectorBytesDefault; i++ {
			if got[i*sectorBytesDefault] != byte(i+1) {
				t.Fatalf("seed %d: sector %d holds %d", seed, i, got[i*sectorBytesDefault])
			}
		}
		if len(got) > 0 {
			torn++
		}
		if disk.Counters().TornWrites != 1 {
			t.Fatalf("counters %+v", disk.Counters())
		}
	}
	if torn == 0 {
		t.Fatal("no seed kept any unsynced sector")
	}
}

// TestNoSpace proves that writes and truncations beyond the capacity fail with
// env.ErrNoSpace and change nothing, and that freeing space lets them succeed.
func TestNoSpace(t *testing.T) {
	disk := newTestDisk(8, Faults{CapacityBytes: 100})
	fsys := disk.FS()
	writeFile(t, fsys, "a", make([]byte, 80), false)
	f, err := fsys.Create("b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 30), 0); !errors.Is(err, env.ErrNoSpace) {
		t.Fatalf("write: got %v, want env.ErrNoSpace", err)
	}
	if err := f.Truncate(30); !errors.Is(err, env.ErrNoSpace) {
		t.Fatalf("truncate: got %v, want env.ErrNoSpace", err)
	}
	if size, _ := f.Size(); size != 0 {
		t.Fatalf("a failed write changed the size to %d", size)
	}
	if err := fsys.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 30), 0); err != nil {
		t.Fatalf("write after freeing space: %v", err)
	}
	if disk.Counters().NoSpaceErrors != 2 {
		t.Fatalf("counters %+v", disk.Counters())
	}
}

// TestSyncErrorLosesUnsyncedData proves fsyncgate: after Sync fails with env.ErrIO the
// process still reads its writes, a retried Sync succeeds, and yet a power loss shows
// that some of those writes never became durable.
func TestSyncErrorLosesUnsyncedData(t *testing.T) {
	lostSomewhere := false
	for seed := uint64(0); seed < 20; seed++ {
		disk := newTestDisk(seed, Faults{})
		f := durableFile(t, disk, "a", nil)
		want := pattern(8*sectorBytesDefault, 7)
		if _, err := f.WriteAt(want, 0); err != nil {
			t.Fatal(err)
		}
		disk.SetFaults(Faults{SyncErrorProbability: 1})
		if err := f.Sync(); !errors.Is(err, env.ErrIO) {
			t.Fatalf("sync: got %v, want env.ErrIO", err)
		}
		disk.SetFaults(Faults{})
		if err := f.Sync(); err != nil {
			t.Fatalf("retried sync: %v", err)
		}
		expectContents(t, disk.FS(), "a", want)
		disk.Crash(true)
		got, _ := readFile(disk.FS(), "a")
		if !bytes.Equal(got, want) {
			lostSomewhere = true
		}
		if disk.Counters().SyncErrors != 1 {
			t.Fatalf("counters %+v", disk.Counters())
		}
	}
	if !lostSomewhere {
		t.Fatal("a failed sync never lost data")
	}
}

// TestSyncDirError proves that a failed SyncDir reports env.ErrIO.
func TestSyncDirError(t *testing.T) {
	disk := newTestDisk(9, Faults{SyncErrorProbability: 1})
	fsys := disk.FS()
	writeFile(t, fsys, "a", nil, false)
	if err := fsys.SyncDir("."); !errors.Is(err, env.ErrIO) {
		t.Fatalf("syncdir: got %v, want env.ErrIO", err)
	}
}

// TestTargetLimitsFaults proves that Faults.Target keeps faults off other files.
func TestTargetLimitsFaults(t *testing.T) {
	faults := Faults{ReadBitFlipProbability: 1, Target: func(path string) bool { return strings.HasSuffix(path, ".idx") }}
	disk := newTestDisk(10, faults)
	fsys := disk.FS()
	want := pattern(100, 1)
	if err := fsys.MkdirAll("s", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, "s/1.blk", want, false)
	writeFile(t, fsys, "s/1.idx", want, false)
	expectContents(t, fsys, "s/1.blk", want)
	got, _ := readFile(fsys, "s/1.idx")
	if bytes.Equal(got, want) {
		t.Fatal("the targeted file was spared")
	}
}

// TestDeterminism proves that one seed gives the same disk, byte for byte, and the
// same counters, under every fault at once; and that another seed differs.
func TestDeterminism(t *testing.T) {
	run := func(seed uint64) string {
		faults := Faults{
			ReadBitFlipProbability: 0.1, AtRestBitFlipProbability: 0.2, LatentSectorErrorProbability: 0.05,
			MisdirectedWriteProbability: 0.05, StaleReadProbability: 0.1, CrashTruncateProbability: 0.1,
			TornWriteProbability: 0.5, SyncErrorProbability: 0.1, CapacityBytes: 1 << 20,
		}
		rnd := newTestRand(seed)
		disk := New(rnd, Config{Faults: faults})
		var trace strings.Builder
		for round := 0; round < 30; round++ {
			fsys := disk.FS()
			_ = fsys.MkdirAll(fmt.Sprintf("d%d", rnd.Intn(3)), 0o755)
			name := fmt.Sprintf("d%d/f%d", rnd.Intn(3), rnd.Intn(4))
			f, err := fsys.OpenReadWrite(name)
			fmt.Fprintln(&trace, name, err)
			if err == nil {
				_, err = f.WriteAt(pattern(rnd.Intn(3000), byte(round)), int64(rnd.Intn(2000)))
				fmt.Fprintln(&trace, err)
				buf := make([]byte, 700)
				n, err := f.ReadAt(buf, int64(rnd.Intn(2000)))
				fmt.Fprintln(&trace, n, err, buf[:n])
				if rnd.Intn(2) == 0 {
					fmt.Fprintln(&trace, f.Sync())
				}
			}
			if rnd.Intn(3) == 0 {
				fmt.Fprintln(&trace, fsys.SyncDir("."), fsys.SyncDir("d0"))
			}
			if rnd.Intn(5) == 0 {
				disk.Crash(rnd.Intn(2) == 0)
			}
		}
		for _, entry := range disk.List() {
			contents, _ := disk.Contents(entry.Path)
			fmt.Fprintln(&trace, entry, contents)
		}
		fmt.Fprintln(&trace, disk.Counters())
		return trace.String()
	}
	if run(42) != run(42) {
		t.Fatal("the same seed gave two different disks")
	}
	if run(42) == run(43) {
		t.Fatal("two seeds gave the same disk")
	}
}

// TestTargetedCorruption proves the chosen-place injections: a flipped bit at a given
// offset, a cut tail, and an unreadable sector, each surviving a power loss where the
// fault is at rest.
func TestTargetedCorruption(t *testing.T) {
	disk := newTestDisk(11, Faults{})
	want := pattern(3*sectorBytesDefault, 3)
	durableFile(t, disk, "a", want)
	if err := disk.FlipBit("a", 10, 2); err != nil {
		t.Fatal(err)
	}
	if err := disk.CutTail("a", 2*sectorBytesDefault); err != nil {
		t.Fatal(err)
	}
	if err := disk.MakeUnreadable("a", sectorBytesDefault+1); err != nil {
		t.Fatal(err)
	}
	if err := disk.FlipBit("missing", 0, 0); err == nil {
		t.Fatal("no error for a missing file")
	}
	disk.Crash(true)
	f, err := disk.FS().Open("a")
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != 2*sectorBytesDefault {
		t.Fatalf("size %d after the cut", size)
	}
	first := make([]byte, sectorBytesDefault)
	if _, err := f.ReadAt(first, 0); err != nil {
		t.Fatal(err)
	}
	if first[10] != want[10]^4 || differingBits(first, want[:sectorBytesDefault]) != 1 {
		t.Fatal("the bit at offset 10 did not flip alone")
	}
	if _, err := f.ReadAt(first, sectorBytesDefault); !errors.Is(err, env.ErrIO) {
		t.Fatalf("read of the unreadable sector: %v", err)
	}
}
