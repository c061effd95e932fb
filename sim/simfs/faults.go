package simfs

// Faults are the rates at which a disk misbehaves. The zero value injects nothing: the
// disk is then a strict-POSIX disk whose only losses are the legal ones (unsynced data
// and entries on power loss). Probabilities are in [0, 1]; each is drawn from the disk's
// env.Rand only when it is positive, so turning a fault off does not consume draws.
type Faults struct {
	// ReadBitFlipProbability is the chance, per ReadAt, that one bit of the returned
	// bytes is flipped. The stored bytes stay intact: a retry may read them right.
	ReadBitFlipProbability float64
	// AtRestBitFlipProbability is the chance, per file and per crash, that one bit of
	// the stored bytes is flipped, in both what the process sees and what is durable.
	AtRestBitFlipProbability float64
	// LatentSectorErrorProbability is the chance, per WriteAt, that one sector it
	// wrote becomes unreadable: reads covering it return env.ErrIO until it is
	// written again (a rewrite remaps the sector, as a drive does).
	LatentSectorErrorProbability float64
	// MisdirectedWriteProbability is the chance, per WriteAt, that the bytes land at
	// another sector of the same file while the call reports success. The intended
	// place keeps its old bytes.
	MisdirectedWriteProbability float64
	// StaleReadProbability is the chance, per ReadAt, that one sector in the range is
	// read in its previous version (the bytes it held before its last overwrite).
	// Previous versions are kept only while this probability is positive.
	StaleReadProbability float64
	// CrashTruncateProbability is the chance, per file and per crash, that the file
	// loses a random part of its tail, synced or not.
	CrashTruncateProbability float64
	// TornWriteProbability is the chance, per file with unsynced writes and per power
	// loss, that a random prefix of those unsynced sectors (in the order they were first
	// written since the last Sync) reaches the disk instead of none of them.
	TornWriteProbability float64
	// SyncErrorProbability is the chance that a Sync or SyncDir fails with env.ErrIO.
	// A failed file Sync makes a random prefix of the unsynced sectors durable and
	// forgets the rest, as Linux does after a writeback error: the process still reads
	// its writes from the page cache, a later Sync succeeds, and a power loss reveals
	// the lost sectors. A failed SyncDir makes a random subset of the pending entry
	// changes durable.
	SyncErrorProbability float64
	// CapacityBytes is the disk's size: a write or truncate that would take the sum of
	// file sizes above it fails with env.ErrNoSpace. Zero means unlimited.
	CapacityBytes int64
	// Target, when set, limits the faults that hit one file (bit flips, latent sector
	// errors, misdirected writes, stale reads, truncation, torn writes, sync errors) to
	// the paths for which it returns true, e.g. only a store's index files. Capacity
	// applies to every file. Nil means every file.
	Target func(path string) bool
}

// Corrupting reports whether f can damage data beyond what strict POSIX allows: bit
// flips, latent sector errors, misdirected writes, stale reads and truncation. Torn
// writes, sync errors and ENOSPC are legal behaviours of a correct disk.
func (f Faults) Corrupting() bool {
	return f.ReadBitFlipProbability > 0 || f.AtRestBitFlipProbability > 0 ||
		f.LatentSectorErrorProbability > 0 || f.MisdirectedWriteProbability > 0 ||
		f.StaleReadProbability > 0 || f.CrashTruncateProbability > 0
}

// WithoutCorruption returns f with the corrupting faults (see Corrupting) turned off
// and the legal ones kept: what the fault atlas gives the disks it keeps healthy.
func (f Faults) WithoutCorruption() Faults {
	return Faults{
		TornWriteProbability: f.TornWriteProbability,
		SyncErrorProbability: f.SyncErrorProbability,
		CapacityBytes:        f.CapacityBytes,
		Target:               f.Target,
	}
}

// Counters count the faults a disk injected and the crashes it went through, for
// reports and for tests that need to see a fault class fire.
type Counters struct {
	ReadBitFlips      int64
	AtRestBitFlips    int64
	LatentSectorsMade int64 // sectors made unreadable
	LatentSectorReads int64 // reads that failed on an unreadable sector
	MisdirectedWrites int64
	StaleReads        int64
	Truncations       int64
	TornWrites        int64 // files that kept a strict prefix of their unsynced sectors
	SyncErrors        int64
	NoSpaceErrors     int64
	ProcessKills      int64
	PowerLosses       int64
	UnsyncedBytesLost int64 // bytes of unsynced sectors dropped by power losses and failed syncs
	EntryChangesLost  int64 // unsynced directory entry changes undone by power losses
}
