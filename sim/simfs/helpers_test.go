package simfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"testing"

	"github.com/natsim/natsim/env"
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

func newTestDisk(seed uint64, faults Faults) *Disk {
	return New(newTestRand(seed), Config{Name: "test", Faults: faults})
}

// writeFile creates name with contents, optionally syncing it.
func writeFile(t *testing.T, fsys env.FS, name string, contents []byte, sync bool) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := f.WriteAt(contents, 0); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatalf("sync %s: %v", name, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close %s: %v", name, err)
	}
}

// readFile returns the whole file, or the error of opening or reading it.
func readFile(fsys env.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
		return buf[:n], err
	}
	return buf, nil
}

func mustSyncDir(t *testing.T, fsys env.FS, name string) {
	t.Helper()
	if err := fsys.SyncDir(name); err != nil {
		t.Fatalf("syncdir %s: %v", name, err)
	}
}

func expectContents(t *testing.T, fsys env.FS, name string, want []byte) {
	t.Helper()
	got, err := readFile(fsys, name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", name, got, want)
	}
}

func expectMissing(t *testing.T, fsys env.FS, name string) {
	t.Helper()
	if _, err := fsys.Stat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat %s: got %v, want fs.ErrNotExist", name, err)
	}
}
