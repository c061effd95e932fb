package env

import "io/fs"

// FS is a file system. Names are slash-separated paths; the implementation decides
// what they are relative to (osenv: the real paths as given; sim: the process's disk).
//
// Durability follows strict POSIX rules: written bytes survive power loss only after
// File.Sync, and a created, renamed or removed directory entry only after SyncDir of
// its parent directory. The simulated disk models exactly that.
type FS interface {
	// Create creates or truncates the named file for reading and writing.
	Create(name string) (File, error)
	// Open opens an existing file read-only.
	Open(name string) (File, error)
	// OpenReadWrite opens the named file for reading and writing, creating it empty if
	// it does not exist. It never truncates.
	OpenReadWrite(name string) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a path and everything below it; a missing path is not an error.
	RemoveAll(name string) error
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and any missing parents.
	MkdirAll(name string, perm fs.FileMode) error
	// ReadDir lists the names in a directory, sorted.
	ReadDir(name string) ([]string, error)
	// Stat describes a file or directory.
	Stat(name string) (FileInfo, error)
	// SyncDir makes the directory's entries (creations, renames, removals) durable.
	SyncDir(name string) error
}

// FileInfo describes a file or directory.
type FileInfo struct {
	Name  string
	Size  int64
	IsDir bool
}

// File is an open file. Reads and writes are positional; a File is safe for concurrent
// ReadAt calls but callers serialize writes.
type File interface {
	// ReadAt reads len(p) bytes at off; like io.ReaderAt it returns io.EOF when fewer
	// bytes exist.
	ReadAt(p []byte, off int64) (n int, err error)
	// WriteAt writes p at off, extending the file as needed.
	WriteAt(p []byte, off int64) (n int, err error)
	// Size returns the file's current length.
	Size() (int64, error)
	// Truncate changes the file's length.
	Truncate(size int64) error
	// Sync makes the file's contents durable.
	Sync() error
	// Close releases the file. It does not sync.
	Close() error
	// Name returns the name the file was opened with.
	Name() string
}
