package simfs

import (
	"errors"
	"io/fs"
)

// Errors for conditions the POSIX calls report with their own errno. They are wrapped in
// *fs.PathError like the osenv errors, so callers branch with errors.Is.
var (
	// ErrNotDirectory: a path component, or the argument of ReadDir or SyncDir, is a
	// file (ENOTDIR).
	ErrNotDirectory = errors.New("not a directory")
	// ErrIsDirectory: the operation needs a file but found a directory (EISDIR).
	ErrIsDirectory = errors.New("is a directory")
	// ErrDirectoryNotEmpty: Remove or Rename met a directory that still has entries
	// (ENOTEMPTY). Like the errno, it also matches fs.ErrExist.
	ErrDirectoryNotEmpty error = directoryNotEmptyError{}
	// ErrReadOnly: a write through a handle opened with Open (EBADF).
	ErrReadOnly = errors.New("bad file descriptor: opened read-only")
	// ErrFileTooLarge: a write or truncate would make a file longer than
	// fileBytesMax (EFBIG).
	ErrFileTooLarge = errors.New("file too large")
)

// directoryNotEmptyError is ENOTEMPTY: the syscall package reports it as fs.ErrExist too,
// and osenv callers may branch on that.
type directoryNotEmptyError struct{}

func (directoryNotEmptyError) Error() string { return "directory not empty" }

// Is makes errors.Is(ErrDirectoryNotEmpty, fs.ErrExist) true, as for syscall.ENOTEMPTY.
func (directoryNotEmptyError) Is(target error) bool { return target == fs.ErrExist }

// pathError wraps err the way the os package does, naming the operation and the path.
func pathError(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}
