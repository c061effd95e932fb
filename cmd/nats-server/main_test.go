package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
)

// TestVersionAndHelp proves -v prints the reference-style version line and -h the
// usage, both with exit status 0.
func TestVersionAndHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-v"}, &stdout, &stderr); code != 0 || stdout.String() != "nats-server: v2.15.2\n" {
		t.Fatalf("-v: %d %q %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "Usage: nats-server") {
		t.Fatalf("-h: %d %q", code, stdout.String())
	}
}

// TestBadConfigExitsOne proves a malformed config file gives a line-numbered error
// and exit status 1.
func TestBadConfigExitsOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(path, []byte("port: 4222\nbogus_key: 1\n"), 0o600)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-c", path}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), ":2:") {
		t.Fatalf("%d %q", code, stderr.String())
	}
}

// TestPortsFile proves the ports file has the reference's name and JSON shape.
func TestPortsFile(t *testing.T) {
	o := opts.Default()
	o.Host, o.Port, o.HTTPHost, o.HTTPPort = "127.0.0.1", opts.RandomPort, "127.0.0.1", opts.RandomPort
	log, _ := newLogger("", false, false, false, false)
	log.out = &bytes.Buffer{}
	server, err := node.New(osenv.New(), o, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Shutdown()
	dir := t.TempDir()
	path := writePortsFile(server, dir, log)
	if filepath.Base(path) != filepath.Base(os.Args[0])+"_"+itoa(os.Getpid())+".ports" {
		t.Fatalf("name %q", path)
	}
	data, _ := os.ReadFile(path)
	var got ports
	if err := json.Unmarshal(data, &got); err != nil || len(got.Nats) != 1 || len(got.Monitoring) != 1 ||
		!strings.HasPrefix(got.Nats[0], "nats://127.0.0.1:") || !strings.HasPrefix(got.Monitoring[0], "http://127.0.0.1:") {
		t.Fatalf("ports %s %v", data, err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestStallingConnWaits proves WaitPending returns once the backlog drains, and
// gives up after its timeout when it does not.
func TestStallingConnWaits(t *testing.T) {
	drained := &fakePendingConn{pending: 100}
	go func() { time.Sleep(2 * time.Millisecond); drained.set(0) }()
	start := time.Now()
	(&stallingConn{Conn: drained}).WaitPending(10, time.Second)
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Fatalf("waited %v after the backlog drained", elapsed)
	}
	stuck := &fakePendingConn{pending: 100}
	start = time.Now()
	(&stallingConn{Conn: stuck}).WaitPending(10, 20*time.Millisecond)
	if elapsed := time.Since(start); elapsed < 20*time.Millisecond || elapsed > time.Second {
		t.Fatalf("stuck backlog waited %v", elapsed)
	}
}

type fakePendingConn struct {
	env.Conn
	mu      sync.Mutex
	pending int
}

func (f *fakePendingConn) set(n int) { f.mu.Lock(); f.pending = n; f.mu.Unlock() }
func (f *fakePendingConn) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending
}
