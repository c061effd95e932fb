package osenv

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/natsim/natsim/env"
)

// TestFileReadWrite proves positional writes and reads, Size, Truncate, Sync, Name and
// io.EOF past the end.
func TestFileReadWrite(t *testing.T) {
	fsys, dir := FS{}, t.TempDir()
	name := filepath.Join(dir, "a.blk")
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != name {
		t.Fatalf("Name = %q, want %q", f.Name(), name)
	}
	if _, err := f.WriteAt([]byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("world"), 10); err != nil {
		t.Fatal(err)
	}
	if size, err := f.Size(); size != 15 || err != nil {
		t.Fatalf("Size = %d, %v; want 15", size, err)
	}
	got := make([]byte, 15)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello\x00\x00\x00\x00\x00world" {
		t.Fatalf("ReadAt = %q", got)
	}
	if n, err := f.ReadAt(make([]byte, 10), 10); n != 5 || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v; want 5, io.EOF", n, err)
	}
	if err := f.Truncate(3); err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != 3 {
		t.Fatalf("Size after Truncate(3) = %d", size)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("second Close = %v, want env.ErrClosed", err)
	}
	if _, err := f.ReadAt(got, 0); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("ReadAt after Close = %v, want env.ErrClosed", err)
	}
}

// TestOpenModes proves Open is read-only and needs the file, OpenReadWrite creates
// without truncating, and Create truncates.
func TestOpenModes(t *testing.T) {
	fsys, dir := FS{}, t.TempDir()
	name := filepath.Join(dir, "f")
	if _, err := fsys.Open(name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a missing file = %v, want fs.ErrNotExist", err)
	}
	f, err := fsys.OpenReadWrite(name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteAt([]byte("abc"), 0)
	_ = f.Close()
	f, err = fsys.OpenReadWrite(name)
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != 3 {
		t.Fatalf("OpenReadWrite truncated: size %d", size)
	}
	_ = f.Close()
	f, err = fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("WriteAt on a read-only file succeeded")
	}
	_ = f.Close()
	f, err = fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != 0 {
		t.Fatalf("Create did not truncate: size %d", size)
	}
	_ = f.Close()
}

// TestDirectoryOperations proves MkdirAll, ReadDir (sorted), Stat, Rename, Remove,
// RemoveAll and SyncDir, and that missing paths report fs.ErrNotExist.
func TestDirectoryOperations(t *testing.T) {
	fsys, root := FS{}, t.TempDir()
	dir := filepath.Join(root, "a", "b")
	if err := fsys.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"c", "a", "b"} {
		f, err := fsys.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	names, err := fsys.ReadDir(dir)
	if err != nil || !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("ReadDir = %v, %v; want [a b c]", names, err)
	}
	if err := fsys.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	if names, _ := fsys.ReadDir(dir); !slices.Equal(names, []string{"b", "c"}) {
		t.Fatalf("ReadDir after Rename = %v; want [b c]", names)
	}
	if err := fsys.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	info, err := fsys.Stat(dir)
	if err != nil || !info.IsDir || info.Name != "b" {
		t.Fatalf("Stat(dir) = %+v, %v", info, err)
	}
	info, err = fsys.Stat(filepath.Join(dir, "c"))
	if err != nil || info.IsDir || info.Size != 0 || info.Name != "c" {
		t.Fatalf("Stat(file) = %+v, %v", info, err)
	}
	if err := fsys.Remove(dir); err == nil {
		t.Fatal("Remove of a non-empty directory succeeded")
	}
	if err := fsys.Remove(filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.RemoveAll(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.RemoveAll(filepath.Join(root, "missing")); err != nil {
		t.Fatalf("RemoveAll of a missing path = %v", err)
	}
	missing := filepath.Join(root, "a")
	for name, err := range map[string]error{
		"Stat":    second(fsys.Stat(missing)),
		"ReadDir": second(fsys.ReadDir(missing)),
		"SyncDir": fsys.SyncDir(missing),
		"Remove":  fsys.Remove(missing),
		"Rename":  fsys.Rename(missing, filepath.Join(root, "z")),
	} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a missing path = %v, want fs.ErrNotExist", name, err)
		}
	}
}

// TestNoSpaceIsWrapped proves a full device surfaces as env.ErrNoSpace with its os
// error still visible: /dev/full fails every write with ENOSPC.
func TestNoSpaceIsWrapped(t *testing.T) {
	f, err := FS{}.OpenReadWrite("/dev/full")
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer f.Close()
	_, err = f.WriteAt([]byte("x"), 0)
	if !errors.Is(err, env.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write to /dev/full = %v, want env.ErrNoSpace and ENOSPC", err)
	}
}

// TestWrapError proves the errno to sentinel mapping, and that other errors, io.EOF
// and nil pass through unchanged.
func TestWrapError(t *testing.T) {
	pathError := func(errno syscall.Errno) error {
		return &os.PathError{Op: "write", Path: "/x", Err: errno}
	}
	for _, test := range []struct {
		err  error
		want error
	}{
		{pathError(syscall.ENOSPC), env.ErrNoSpace},
		{pathError(syscall.EDQUOT), env.ErrNoSpace},
		{pathError(syscall.EIO), env.ErrIO},
		{os.ErrClosed, env.ErrClosed},
	} {
		got := wrapError(test.err)
		if !errors.Is(got, test.want) || !errors.Is(got, test.err) || got.Error() != test.err.Error() {
			t.Errorf("wrapError(%v) = %v, want it to match %v and itself", test.err, got, test.want)
		}
	}
	other := pathError(syscall.EACCES)
	for _, err := range []error{nil, io.EOF, other} {
		if got := wrapError(err); got != err {
			t.Errorf("wrapError(%v) = %v, want it unchanged", err, got)
		}
	}
}

func second[T any](_ T, err error) error { return err }
