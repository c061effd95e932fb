// Package env is the contract between the server and the world it runs in.
//
// Everything that observes or changes the world — time, timers, tasks, randomness,
// disk and network — goes through the interfaces here. Production code (raft/, store/,
// proto/, node/) never touches the clock, the os or net packages, goroutines or global
// randomness directly: env/osenv implements this contract on the real machine, and sim/
// implements it deterministically in virtual time.
//
// This package imports the standard library only, and nothing of this module.
package env

import (
	"errors"
	"time"
)

// Env bundles the parts of the world one process sees. A server, a raft node or a store
// is handed an Env (or the parts of it it needs) when it is built.
type Env struct {
	Clock Clock
	Tasks Tasks
	Rand  Rand
	FS    FS
	Net   Network
	// Faults decides whether named fault-injection sites fire (see Buggify). It is nil
	// in production.
	Faults Faults
}

// Clock tells time and schedules callbacks.
//
// In production, callbacks run on their own goroutines, so handlers that share state
// with other callbacks must lock. In simulation a callback runs when the scheduler
// reaches its virtual time, on the single simulation goroutine.
type Clock interface {
	// Now returns the current time of this process. In simulation it includes the
	// process's clock offset and drift, so two processes may disagree.
	Now() time.Time
	// AfterFunc calls f once, d after now (d <= 0 means as soon as possible).
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc callback.
type Timer interface {
	// Stop prevents the callback from running. It reports whether the call stopped
	// the timer (false when it had already fired or been stopped).
	Stop() bool
	// Reset reschedules the callback to run d after now, whether or not it has fired.
	// It reports whether the timer was still pending.
	Reset(d time.Duration) bool
}

// Tasks starts concurrent work. Code never blocks waiting for another task: it hands
// over a callback instead.
type Tasks interface {
	// Go runs f concurrently. Production: a goroutine. Simulation: a queued event.
	Go(f func())
}

// Rand is the only source of randomness. In production it is seeded from the operating
// system's entropy and is suitable for nonces; in simulation it is seeded from the run's
// seed. Implementations are safe for concurrent use.
type Rand interface {
	// Uint64 returns a uniformly distributed 64-bit value.
	Uint64() uint64
	// Intn returns a uniform value in [0, n). It panics if n <= 0.
	Intn(n int) int
	// Int63n returns a uniform value in [0, n). It panics if n <= 0.
	Int63n(n int64) int64
	// Float64 returns a uniform value in [0.0, 1.0).
	Float64() float64
	// Read fills p with random bytes and never fails; it makes Rand an io.Reader for
	// APIs such as nkeys.CreatePairWithRand.
	Read(p []byte) (n int, err error)
}

// Sentinel errors the world reports. Implementations wrap them (errors.Is works), and
// also wrap io/fs's ErrNotExist, ErrExist for missing or existing files.
var (
	// ErrNoSpace: the device is full (ENOSPC).
	ErrNoSpace = errors.New("env: no space left on device")
	// ErrIO: the device failed to read, write or sync (EIO). After a failed Sync the
	// state of unsynced writes is unknown.
	ErrIO = errors.New("env: input/output error")
	// ErrClosed: the file, connection or listener is closed.
	ErrClosed = errors.New("env: use of closed handle")
)
