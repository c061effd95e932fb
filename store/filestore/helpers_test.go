package filestore

import (
	"math/rand/v2"
	"testing"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim/simfs"
	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/internal/core"
)

// testRand is a seeded env.Rand for tests.
type testRand struct{ *rand.Rand }

func newTestRand(seed uint64) *testRand {
	return &testRand{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (r *testRand) Intn(n int) int       { return r.IntN(n) }
func (r *testRand) Int63n(n int64) int64 { return r.Int64N(n) }
func (r *testRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.Uint64())
	}
	return len(p), nil
}

var _ env.Rand = (*testRand)(nil)

func newDisk(seed uint64) *simfs.Disk {
	return simfs.New(newTestRand(seed), simfs.Config{Name: "test"})
}

// tb is the part of testing.TB that rapid.T also has.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

var _ tb = (testing.TB)(nil)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// variants are the file store configurations every suite runs under.
func variants() map[string]func(fsys env.FS) Config {
	base := func(fsys env.FS) Config {
		return Config{Dir: "data/stream", FS: fsys, BlockBytesMax: 1024, Rand: newTestRand(7)}
	}
	return map[string]func(env.FS) Config{
		"plain": base,
		"s2": func(fsys env.FS) Config {
			c := base(fsys)
			c.Compression = S2Compression
			return c
		},
		"aes": func(fsys env.FS) Config {
			c := base(fsys)
			c.Cipher, c.Key = AES, testKey
			return c
		},
		"chacha-s2": func(fsys env.FS) Config {
			c := base(fsys)
			c.Cipher, c.Key, c.Compression = ChaCha, testKey, S2Compression
			return c
		},
	}
}

func mustOpen(t tb, cfg Config, scfg store.StreamConfig) *Store {
	t.Helper()
	s, err := Open(cfg, scfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// durable waits for Durable's callback, which runs inline without Tasks.
func durable(t tb, s store.StreamStore) {
	t.Helper()
	var got error
	called := false
	s.Durable(func(err error) { got, called = err, true })
	if !called || got != nil {
		t.Fatalf("Durable: called %v, err %v", called, got)
	}
}

type coreEntry = core.Entry
