package sim

import (
	"math/rand/v2"
)

// Stream is one named, seeded random stream: the run's seed and the stream's name decide
// its whole sequence, so adding a component (a new stream) never shifts another
// component's draws. Stream implements env.Rand.
//
// The simulator runs on one goroutine, so Stream does no locking; env.Rand's "safe for
// concurrent use" holds because nothing in a simulation is concurrent.
type Stream struct {
	source rand.PCG
	rand   *rand.Rand
}

// NewStream returns the stream named name of the run seeded with runSeed.
func NewStream(runSeed uint64, name string) *Stream {
	s := &Stream{}
	first := splitMix64(runSeed ^ hashString(name))
	second := splitMix64(first ^ 0x9e3779b97f4a7c15)
	s.source.Seed(first, second)
	s.rand = rand.New(&s.source)
	return s
}

// Uint64 returns a uniformly distributed 64-bit value.
func (s *Stream) Uint64() uint64 { return s.source.Uint64() }

// Intn returns a uniform value in [0, n); it panics if n <= 0, like env.Rand requires.
func (s *Stream) Intn(n int) int { return s.rand.IntN(n) }

// Int63n returns a uniform value in [0, n); it panics if n <= 0.
func (s *Stream) Int63n(n int64) int64 { return s.rand.Int64N(n) }

// Float64 returns a uniform value in [0.0, 1.0).
func (s *Stream) Float64() float64 { return s.rand.Float64() }

// Read fills p with random bytes and never fails.
func (s *Stream) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		v := s.source.Uint64()
		for j := i; j < i+8 && j < len(p); j++ {
			p[j] = byte(v)
			v >>= 8
		}
	}
	return len(p), nil
}

// Chance reports true with probability p.
func (s *Stream) Chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return s.rand.Float64() < p
}

// Between returns a uniform value in [low, high]; high below low counts as low.
func (s *Stream) Between(low, high int64) int64 {
	if high <= low {
		return low
	}
	return low + s.rand.Int64N(high-low+1)
}

// splitMix64 scrambles x; it turns related seeds into unrelated ones.
func splitMix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// hashString is FNV-1a over the string's bytes.
func hashString(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// hashBytes is FNV-1a over b, continuing from h.
func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// unitFromHash maps a hash to [0, 1).
func unitFromHash(h uint64) float64 {
	return float64(splitMix64(h)>>11) / (1 << 53)
}
