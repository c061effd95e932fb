package sim

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/sim/simfs"
)

// TestRestartFromDisk proves each process keeps one simfs disk across incarnations: a
// kill keeps unsynced bytes, a power loss keeps only synced ones, and the dead
// incarnation's file handles stop working.
func TestRestartFromDisk(t *testing.T) {
	w := NewWorld(testConfig(1), Options{NewDisk: simfsDisk})
	type boot struct {
		env  env.Env
		file env.File
	}
	var boots []*boot
	p := w.Spawn("n1", ProcessOptions{Faulty: true}, func(e env.Env) any {
		b := &boot{env: e}
		boots = append(boots, b)
		return b
	})
	read := func(e env.Env) string {
		f, err := e.FS.Open("data")
		if err != nil {
			return "<" + err.Error() + ">"
		}
		defer f.Close()
		buf := make([]byte, 64)
		n, err := f.ReadAt(buf, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return "<" + err.Error() + ">"
		}
		return string(buf[:n])
	}
	first := boots[0]
	f, err := first.env.FS.Create("data")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("synced"), 0)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := first.env.FS.SyncDir("."); err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("-pending"), 6)

	w.Crash(p, false)
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, env.ErrClosed) {
		t.Fatalf("a dead incarnation's file still writes: %v", err)
	}
	w.Restart(p)
	w.RunUntil(time.Second, 100)
	if got := read(boots[1].env); got != "synced-pending" {
		t.Fatalf("after a kill read %q, want the page cache kept", got)
	}

	w.Crash(p, true)
	w.Restart(p)
	if got := read(boots[2].env); got != "synced" {
		t.Fatalf("after a power loss read %q, want only the synced bytes", got)
	}
	if len(w.Disks()) != 1 || p.Disk().(*simfs.Disk).Counters().PowerLosses != 1 {
		t.Fatalf("the disk did not see the power loss")
	}
}
