package osenv

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/natsim/natsim/env"
)

// filePerm is the permission of files the store creates, as the reference uses: readable
// and writable by the server's user, readable by its group.
const filePerm = 0o640

// FS is env.FS over the os package. Names are used as given (relative to the process's
// working directory unless absolute). Errors keep their os form (so fs.ErrNotExist and
// fs.ErrExist match) and also wrap env.ErrNoSpace, env.ErrIO or env.ErrClosed when the
// underlying cause is ENOSPC/EDQUOT, EIO or a closed file.
type FS struct{}

// Create creates or truncates the named file for reading and writing.
func (FS) Create(name string) (env.File, error) {
	return openFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC)
}

// Open opens an existing file read-only.
func (FS) Open(name string) (env.File, error) {
	return openFile(name, os.O_RDONLY)
}

// OpenReadWrite opens the named file for reading and writing, creating it if needed.
func (FS) OpenReadWrite(name string) (env.File, error) {
	return openFile(name, os.O_RDWR|os.O_CREATE)
}

func openFile(name string, flag int) (env.File, error) {
	f, err := os.OpenFile(name, flag, filePerm)
	if err != nil {
		return nil, wrapError(err)
	}
	return &File{file: f, name: name}, nil
}

// Remove removes a file or an empty directory.
func (FS) Remove(name string) error { return wrapError(os.Remove(name)) }

// RemoveAll removes a path and everything below it; a missing path is not an error.
func (FS) RemoveAll(name string) error { return wrapError(os.RemoveAll(name)) }

// Rename atomically replaces newname with oldname.
func (FS) Rename(oldname, newname string) error {
	return wrapError(os.Rename(oldname, newname))
}

// MkdirAll creates a directory and any missing parents.
func (FS) MkdirAll(name string, perm fs.FileMode) error {
	return wrapError(os.MkdirAll(name, perm))
}

// ReadDir lists the names in a directory, sorted (os.ReadDir sorts by file name).
func (FS) ReadDir(name string) ([]string, error) {
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, wrapError(err)
	}
	names := make([]string, len(entries))
	for i, entry := range entries {
		names[i] = entry.Name()
	}
	return names, nil
}

// Stat describes a file or directory.
func (FS) Stat(name string) (env.FileInfo, error) {
	info, err := os.Stat(name)
	if err != nil {
		return env.FileInfo{}, wrapError(err)
	}
	return env.FileInfo{Name: info.Name(), Size: info.Size(), IsDir: info.IsDir()}, nil
}

// SyncDir opens the directory and fsyncs it, which makes its entries (creations,
// renames, removals) durable on POSIX file systems.
func (FS) SyncDir(name string) error {
	dir, err := os.Open(name)
	if err != nil {
		return wrapError(err)
	}
	syncErr := dir.Sync()
	closeErr := dir.Close()
	if syncErr != nil {
		return wrapError(syncErr)
	}
	return wrapError(closeErr)
}

// File is env.File over an *os.File.
type File struct {
	file *os.File
	name string
}

// ReadAt reads len(p) bytes at off, returning io.EOF (unwrapped) when fewer exist.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.file.ReadAt(p, off)
	return n, wrapError(err)
}

// WriteAt writes p at off, extending the file as needed.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.file.WriteAt(p, off)
	return n, wrapError(err)
}

// Size returns the file's current length.
func (f *File) Size() (int64, error) {
	info, err := f.file.Stat()
	if err != nil {
		return 0, wrapError(err)
	}
	return info.Size(), nil
}

// Truncate changes the file's length.
func (f *File) Truncate(size int64) error { return wrapError(f.file.Truncate(size)) }

// Sync makes the file's contents durable: its bytes and length, not its times
// (fdatasync on Linux, see dataSync). A new or renamed file's name needs SyncDir.
func (f *File) Sync() error { return wrapError(dataSync(f.file)) }

// Close releases the file without syncing it.
func (f *File) Close() error { return wrapError(f.file.Close()) }

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// worldError is an os error that also matches one of env's sentinels, so callers can
// branch with errors.Is(err, env.ErrNoSpace) and still see the path and the errno.
type worldError struct {
	err      error
	sentinel error
}

func (e *worldError) Error() string   { return e.err.Error() }
func (e *worldError) Unwrap() []error { return []error{e.sentinel, e.err} }

// wrapError returns err unchanged unless its cause is one of the conditions env names:
// no space, an I/O error, or a closed handle. io.EOF and nil pass through untouched.
func wrapError(err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		sentinel = env.ErrNoSpace
	case errors.Is(err, syscall.EIO):
		sentinel = env.ErrIO
	case errors.Is(err, os.ErrClosed):
		sentinel = env.ErrClosed
	default:
		return err
	}
	return &worldError{err: err, sentinel: sentinel}
}
