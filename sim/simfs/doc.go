// Package simfs is the simulator's disk: an in-memory env.FS that keeps, per file and
// per directory entry, what a process sees apart from what would survive a power loss,
// and that injects the disk faults of DESIGN.md from a seeded env.Rand.
//
// One Disk belongs to one simulated process and outlives its crashes. FS returns the
// file system of the current incarnation; Crash ends that incarnation (every handle
// then returns env.ErrClosed) and, on power loss, rolls the disk back to its durable
// state following strict POSIX rules: file data survives only up to its last Sync, and
// a created, renamed or removed directory entry only after SyncDir of its parent, all
// the way up to the root.
//
// The disk is synchronous: every call completes at once, in virtual time zero. It never
// reads the clock and draws every random decision from the env.Rand it was given, so a
// seed replays the same disk byte for byte.
//
// This package imports env and the standard library only; it must not import the
// simulator core (sim/), node/ or anything above them.
package simfs
