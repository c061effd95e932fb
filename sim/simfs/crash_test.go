package simfs

import (
	"bytes"
	"errors"
	"testing"

	"github.com/natsim/natsim/env"
)

// TestPowerLossLosesUnsyncedDirectoryEntry proves that a file whose data was synced but
// whose parent directory was not is gone after a power loss.
func TestPowerLossLosesUnsyncedDirectoryEntry(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	writeFile(t, fsys, "a", []byte("hello"), true)
	disk.Crash(true)
	expectMissing(t, disk.FS(), "a")
}

// TestPowerLossKeepsSyncedFileAndEntry proves that synced data under a synced entry
// survives, and that unsynced bytes written after the Sync do not.
func TestPowerLossKeepsSyncedFileAndEntry(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	writeFile(t, fsys, "a", []byte("hello"), true)
	mustSyncDir(t, fsys, ".")
	f, err := fsys.OpenReadWrite("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(" world"), 5); err != nil {
		t.Fatal(err)
	}
	disk.Crash(true)
	expectContents(t, disk.FS(), "a", []byte("hello"))
}

// TestPowerLossLosesUnsyncedData proves that an entry made durable without a file
// Sync comes back empty: the entry survives, the bytes do not.
func TestPowerLossLosesUnsyncedData(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	writeFile(t, fsys, "a", []byte("hello"), false)
	mustSyncDir(t, fsys, "/")
	disk.Crash(true)
	expectContents(t, disk.FS(), "a", nil)
}

// TestPowerLossUndoesUnsyncedRename proves the classic atomic-replace pattern: a rename
// not followed by SyncDir leaves the old state, and with SyncDir the new one.
func TestPowerLossUndoesUnsyncedRename(t *testing.T) {
	for _, syncAfterRename := range []bool{false, true} {
		disk := newTestDisk(1, Faults{})
		fsys := disk.FS()
		writeFile(t, fsys, "meta", []byte("old"), true)
		mustSyncDir(t, fsys, ".")
		writeFile(t, fsys, "meta.tmp", []byte("new"), true)
		if err := fsys.Rename("meta.tmp", "meta"); err != nil {
			t.Fatal(err)
		}
		expectContents(t, fsys, "meta", []byte("new"))
		if syncAfterRename {
			mustSyncDir(t, fsys, ".")
		}
		disk.Crash(true)
		after := disk.FS()
		if syncAfterRename {
			expectContents(t, after, "meta", []byte("new"))
			expectMissing(t, after, "meta.tmp")
		} else {
			expectContents(t, after, "meta", []byte("old"))
			expectMissing(t, after, "meta.tmp")
		}
	}
}

// TestPowerLossUndoesUnsyncedRemove proves that a removal is durable only after
// SyncDir of the parent.
func TestPowerLossUndoesUnsyncedRemove(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	writeFile(t, fsys, "a", []byte("kept"), true)
	mustSyncDir(t, fsys, ".")
	if err := fsys.Remove("a"); err != nil {
		t.Fatal(err)
	}
	expectMissing(t, fsys, "a")
	disk.Crash(true)
	expectContents(t, disk.FS(), "a", []byte("kept"))
}

// TestPowerLossNeedsEveryAncestorSynced proves that a new directory's contents survive
// only when the entries all the way up to the root are durable.
func TestPowerLossNeedsEveryAncestorSynced(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	if err := fsys.MkdirAll("store/stream/blocks", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, "store/stream/blocks/1.blk", []byte("data"), true)
	mustSyncDir(t, fsys, "store/stream/blocks")
	mustSyncDir(t, fsys, "store/stream")
	// The root is not synced: "store" is not durable, so nothing below it is.
	disk.Crash(true)
	expectMissing(t, disk.FS(), "store")

	fsys = disk.FS()
	if err := fsys.MkdirAll("store/stream/blocks", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, "store/stream/blocks/1.blk", []byte("data"), true)
	for _, dir := range []string{"store/stream/blocks", "store/stream", "store", "."} {
		mustSyncDir(t, fsys, dir)
	}
	disk.Crash(true)
	expectContents(t, disk.FS(), "store/stream/blocks/1.blk", []byte("data"))
}

// TestPowerLossUndoesUnsyncedTruncate proves that Create's truncation and Truncate are
// pending until Sync like any write.
func TestPowerLossUndoesUnsyncedTruncate(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	writeFile(t, fsys, "a", []byte("0123456789"), true)
	mustSyncDir(t, fsys, ".")
	f, err := fsys.OpenReadWrite("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3); err != nil {
		t.Fatal(err)
	}
	disk.Crash(true)
	expectContents(t, disk.FS(), "a", []byte("0123456789"))

	fsys = disk.FS()
	f, err = fsys.OpenReadWrite("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("xy"), 6); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	disk.Crash(true)
	expectContents(t, disk.FS(), "a", []byte("012\x00\x00\x00xy"))
}

// TestProcessKillKeepsEverything proves that a process kill keeps unsynced bytes and
// entries (the page cache survives) but closes every handle of the old incarnation.
func TestProcessKillKeepsEverything(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	if err := fsys.MkdirAll("d", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, "d/a", []byte("unsynced"), false)
	f, err := fsys.OpenReadWrite("d/b")
	if err != nil {
		t.Fatal(err)
	}
	disk.Crash(false)
	after := disk.FS()
	expectContents(t, after, "d/a", []byte("unsynced"))
	expectContents(t, after, "d/b", nil)
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("write through an old handle: got %v, want env.ErrClosed", err)
	}
	if _, err := fsys.Stat("d/a"); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("stat through an old file system: got %v, want env.ErrClosed", err)
	}
	// The kill made nothing durable: a power loss now loses it all.
	disk.Crash(true)
	expectMissing(t, disk.FS(), "d")
}

// TestOpenHandleSurvivesRemove proves POSIX unlink semantics: an open handle keeps
// reading and writing its inode after the name is gone.
func TestOpenHandleSurvivesRemove(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	writeFile(t, fsys, "a", []byte("abc"), false)
	f, err := fsys.OpenReadWrite("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := fsys.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("d"), 3); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, []byte("abcd")) {
		t.Fatalf("read %q, %v", buf, err)
	}
	if disk.UsedBytes() != 0 {
		t.Fatalf("used %d bytes after removing the only file", disk.UsedBytes())
	}
}

// TestListReportsDurability proves that List and ListDurable tell pending from durable.
func TestListReportsDurability(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	if err := fsys.MkdirAll("d", 0o755); err != nil {
		t.Fatal(err)
	}
	mustSyncDir(t, fsys, ".")
	writeFile(t, fsys, "d/a", []byte("abc"), true)
	mustSyncDir(t, fsys, "d")
	writeFile(t, fsys, "d/b", []byte("xy"), false)
	want := []Entry{
		{Path: "d", IsDir: true, DurableEntry: true},
		{Path: "d/a", Size: 3, DurableSize: 3, DurableEntry: true},
		{Path: "d/b", Size: 2, Unsynced: true},
	}
	got := disk.List()
	if len(got) != len(want) {
		t.Fatalf("List = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("List[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	durable := disk.ListDurable()
	if len(durable) != 2 || durable[1].Path != "d/a" {
		t.Fatalf("ListDurable = %+v", durable)
	}
}
