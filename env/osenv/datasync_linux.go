//go:build linux

package osenv

import (
	"os"
	"syscall"
)

// dataSync makes a file's contents durable with fdatasync: the bytes and the metadata
// needed to read them back (the length, the allocation), not the times. An fsync of a
// file whose bytes changed also commits the file system's journal for its new
// modification time, which on ext4 made a message store's group commit wait for every
// other process's journal activity (fdatasync of bytes written over allocated blocks
// commits no journal at all).
func dataSync(f *os.File) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var syncErr error
	if err := conn.Control(func(fd uintptr) {
		for {
			syncErr = syscall.Fdatasync(int(fd))
			if syncErr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if syncErr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: syncErr}
	}
	return nil
}
