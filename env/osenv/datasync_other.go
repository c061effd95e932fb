//go:build !linux

package osenv

import "os"

// dataSync makes a file's contents durable (fsync where there is no fdatasync).
func dataSync(f *os.File) error { return f.Sync() }
