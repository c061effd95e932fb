package main

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/natsim/natsim/node/opts"
)

// jetStreamStoreDefault is the reference's max_file_store when the store directory's
// file system cannot be asked (1 TB), and jetStreamMemoryDefault its max_memory_store
// when the machine's memory cannot be read (256 MiB).
const (
	jetStreamStoreDefault  = 1 << 40
	jetStreamMemoryDefault = 256 << 20
)

// machineLimits are the JetStream limits worked out from the machine at startup; a
// reload reuses them so that free disk space changing meanwhile is not a change of
// configuration.
type machineLimits struct {
	memory, store int64
}

// applyJetStreamLimits fills in the limits the configuration leaves open the way the
// reference does: three quarters of the machine's memory (or of GOMEMLIMIT, when
// lower) and three quarters of the space available where the store lives. Limits
// set in the configuration (above zero) are kept. known is nil at startup.
func applyJetStreamLimits(options *opts.Options, known *machineLimits) machineLimits {
	if known == nil {
		known = &machineLimits{memory: memoryLimit(), store: storeLimit(options.StoreDir)}
	}
	if options.JetStreamMaxMemory <= 0 {
		options.JetStreamMaxMemory = known.memory
	}
	if options.JetStreamMaxStore <= 0 {
		options.JetStreamMaxStore = known.store
	}
	return *known
}

// memoryLimit is three quarters of the machine's memory, or of the Go memory limit
// when one is set lower.
func memoryLimit() int64 {
	memory := systemMemory()
	if memory <= 0 {
		return jetStreamMemoryDefault
	}
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 && limit < memory {
		memory = limit
	}
	return memory / 4 * 3
}

// systemMemory reads MemTotal from /proc/meminfo (bytes), 0 when it cannot.
func systemMemory() int64 {
	file, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		fields := bytes.Fields(scanner.Bytes())
		if len(fields) >= 2 && string(fields[0]) == "MemTotal:" {
			kibibytes, err := strconv.ParseInt(string(fields[1]), 10, 64)
			if err != nil {
				return 0
			}
			return kibibytes * 1024
		}
	}
	return 0
}

// storeLimit is three quarters of the space available to unprivileged users on the
// file system of dir (or of its closest existing parent: the server creates dir
// later).
func storeLimit(dir string) int64 {
	if dir == "" {
		return jetStreamStoreDefault
	}
	for {
		var stats syscall.Statfs_t
		if err := syscall.Statfs(dir, &stats); err == nil {
			return int64(uint64(stats.Bavail) * uint64(stats.Bsize) / 4 * 3)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return jetStreamStoreDefault
		}
		dir = parent
	}
}
