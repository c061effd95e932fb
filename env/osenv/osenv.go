// Package osenv is the production world: it implements every interface of package env
// over the real machine (time, goroutines, the operating system's entropy, the os file
// system and TCP sockets from net).
//
// It is one of the two places (with cmd/) allowed to read the clock, start goroutines,
// touch os and net, and use crypto/rand; the lint test enforces that everything else
// goes through env. It imports the standard library and env only.
package osenv

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/natsim/natsim/env"
)

// New returns the production Env with default options: real time, goroutines, a
// ChaCha8 generator seeded from the operating system, the os file system and a TCP
// network whose writes stall at most DefaultWriteDeadline. Faults is nil, so no Buggify
// site ever fires.
func New() env.Env {
	return env.Env{
		Clock: Clock{},
		Tasks: Tasks{},
		Rand:  NewRand(),
		FS:    FS{},
		Net:   NewNetwork(NetworkOptions{}),
	}
}

// Clock is env.Clock over the real time package. AfterFunc callbacks run on their own
// goroutines, as time.AfterFunc does.
type Clock struct{}

// Now returns the wall clock time (with its monotonic reading).
func (Clock) Now() time.Time { return time.Now() }

// AfterFunc calls f on its own goroutine once d has elapsed. The *time.Timer it returns
// already has the env.Timer semantics: Stop reports whether it stopped a pending call,
// and Reset reschedules f whether or not it has run.
func (Clock) AfterFunc(d time.Duration, f func()) env.Timer { return time.AfterFunc(d, f) }

// Tasks is env.Tasks over goroutines.
type Tasks struct{}

// Go runs f on a new goroutine.
func (Tasks) Go(f func()) { go f() }

// Rand is env.Rand over a ChaCha8 generator seeded from crypto/rand and protected by a
// mutex. ChaCha8 is a cryptographically strong generator, so its output is good enough
// for nonces, and one locked draw costs tens of nanoseconds, cheap enough for a queue
// group pick per message.
type Rand struct {
	mu        sync.Mutex
	generator *rand.ChaCha8
	rand      *rand.Rand
}

// NewRand returns a Rand seeded with 32 bytes from the operating system's entropy.
func NewRand() *Rand {
	var seed [32]byte
	// crypto/rand.Read never fails on supported platforms: it crashes the program
	// irrecoverably instead (Go 1.24 and later).
	_, _ = crand.Read(seed[:])
	generator := rand.NewChaCha8(seed)
	return &Rand{generator: generator, rand: rand.New(generator)}
}

// Uint64 returns a uniformly distributed 64-bit value.
func (r *Rand) Uint64() uint64 {
	r.mu.Lock()
	v := r.generator.Uint64()
	r.mu.Unlock()
	return v
}

// Intn returns a uniform value in [0, n). It panics if n <= 0.
func (r *Rand) Intn(n int) int {
	if n <= 0 {
		panic("osenv: Rand.Intn called with n <= 0")
	}
	r.mu.Lock()
	v := r.rand.IntN(n)
	r.mu.Unlock()
	return v
}

// Int63n returns a uniform value in [0, n). It panics if n <= 0.
func (r *Rand) Int63n(n int64) int64 {
	if n <= 0 {
		panic("osenv: Rand.Int63n called with n <= 0")
	}
	r.mu.Lock()
	v := r.rand.Int64N(n)
	r.mu.Unlock()
	return v
}

// Float64 returns a uniform value in [0.0, 1.0).
func (r *Rand) Float64() float64 {
	r.mu.Lock()
	v := r.rand.Float64()
	r.mu.Unlock()
	return v
}

// Read fills p with random bytes. It never fails.
func (r *Rand) Read(p []byte) (int, error) {
	r.mu.Lock()
	n, err := r.generator.Read(p)
	r.mu.Unlock()
	return n, err
}

var (
	_ env.Clock   = Clock{}
	_ env.Tasks   = Tasks{}
	_ env.Rand    = (*Rand)(nil)
	_ env.FS      = FS{}
	_ env.Network = (*Network)(nil)
)
