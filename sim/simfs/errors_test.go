package simfs

import (
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/natsim/natsim/env"
)

// TestErrors proves that each failing call reports the error osenv reports for it, so
// code branches the same way on both: fs.ErrNotExist, fs.ErrExist (ENOTEMPTY),
// ErrIsDirectory, ErrNotDirectory, ErrReadOnly, io.EOF.
func TestErrors(t *testing.T) {
	disk := newTestDisk(1, Faults{})
	fsys := disk.FS()
	if err := fsys.MkdirAll("d/e", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, "f", []byte("abc"), false)
	readOnly, err := fsys.Open("f")
	if err != nil {
		t.Fatal(err)
	}
	_, openMissing := fsys.Open("missing")
	_, createInMissing := fsys.Create("missing/f")
	_, createDir := fsys.Create("d")
	_, underFile := fsys.Create("f/g")
	_, readDirFile := fsys.ReadDir("f")
	_, writeReadOnly := readOnly.WriteAt([]byte("x"), 0)
	_, readPastEnd := readOnly.ReadAt(make([]byte, 4), 1)
	writable, err := fsys.OpenReadWrite("f")
	if err != nil {
		t.Fatal(err)
	}
	_, writeHuge := writable.WriteAt([]byte("x"), 1<<50)
	truncateHuge := writable.Truncate(1 << 50)
	_, writeNegative := writable.WriteAt([]byte("x"), -1)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"open missing", openMissing, fs.ErrNotExist},
		{"create in a missing directory", createInMissing, fs.ErrNotExist},
		{"create over a directory", createDir, ErrIsDirectory},
		{"create below a file", underFile, ErrNotDirectory},
		{"readdir of a file", readDirFile, ErrNotDirectory},
		{"remove missing", fsys.Remove("missing"), fs.ErrNotExist},
		{"remove a non-empty directory", fsys.Remove("d"), fs.ErrExist},
		{"remove a non-empty directory (exact)", fsys.Remove("d"), ErrDirectoryNotEmpty},
		{"rename missing", fsys.Rename("missing", "x"), fs.ErrNotExist},
		{"rename a file over a directory", fsys.Rename("f", "d"), ErrIsDirectory},
		{"rename a directory over a file", fsys.Rename("d", "f"), ErrNotDirectory},
		{"rename a directory below itself", fsys.Rename("d", "d/e/x"), fs.ErrInvalid},
		{"mkdirall through a file", fsys.MkdirAll("f/x", 0o755), ErrNotDirectory},
		{"syncdir missing", fsys.SyncDir("missing"), fs.ErrNotExist},
		{"write read-only", writeReadOnly, ErrReadOnly},
		{"read past the end", readPastEnd, io.EOF},
		{"removeall missing", fsys.RemoveAll("missing/x"), nil},
		{"write at a wild offset", writeHuge, ErrFileTooLarge},
		{"truncate to a wild size", truncateHuge, ErrFileTooLarge},
		{"write at a negative offset", writeNegative, fs.ErrInvalid},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) || (c.want == nil) != (c.err == nil) {
			t.Errorf("%s: got %v, want %v", c.name, c.err, c.want)
		}
	}
	if err := readOnly.Close(); err != nil {
		t.Fatal(err)
	}
	if err := readOnly.Close(); !errors.Is(err, env.ErrClosed) {
		t.Errorf("second close: got %v, want env.ErrClosed", err)
	}
	var pathErr *fs.PathError
	if !errors.As(openMissing, &pathErr) || pathErr.Path != "missing" {
		t.Errorf("open missing: %v is not a *fs.PathError naming the path", openMissing)
	}
}
