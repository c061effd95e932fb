package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// childEnvironment makes the test binary behave as nats-server (see TestMain), so the
// signal tests run the real main loop in a process of its own.
const childEnvironment = "NATSIM_TEST_RUN_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnvironment) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu     sync.Mutex
	buffer bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.String()
}

// serverProcess is the test binary running as nats-server -c config.
type serverProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan error
	url    string
}

func startServerProcess(t *testing.T, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnvironment+"=1")
	output := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{t: t, cmd: cmd, output: output, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	p.waitFor("Server is ready")
	return p
}

// waitFor waits until the output holds text count times.
func (p *serverProcess) waitForCount(text string, count int) {
	p.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(p.output.String(), text) < count {
		if time.Now().After(deadline) {
			p.t.Fatalf("no %q in output:\n%s", text, p.output.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *serverProcess) waitFor(text string) { p.t.Helper(); p.waitForCount(text, 1) }

// portsURL reads the client URL from the ports file the process wrote into dir,
// waiting for it: the file is written just after "Server is ready" is logged, and not
// atomically.
func portsURL(t *testing.T, dir string) string {
	t.Helper()
	var files []string
	var data []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		files, _ = filepath.Glob(filepath.Join(dir, "*.ports"))
		if len(files) != 1 {
			continue
		}
		data, _ = os.ReadFile(files[0])
		var got ports
		if json.Unmarshal(data, &got) == nil && len(got.Nats) > 0 {
			return got.Nats[0]
		}
	}
	t.Fatalf("ports files %v: %s", files, data)
	return ""
}

// exitStatus waits for the process to exit and returns its status.
func (p *serverProcess) exitStatus() int {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(5 * time.Second):
		p.t.Fatalf("process did not exit:\n%s", p.output.String())
		return -1
	}
}

const signalConfig = `host: 127.0.0.1
port: -1
ports_file_dir: %DIR%
max_payload: %PAYLOAD%
trace: %TRACE%
authorization {
  users: [
    {user: alice, password: alice}
    {user: bob, password: %BOB%}
  ]
}
`

func writeSignalConfig(t *testing.T, path, dir, bobPassword, payload string) {
	t.Helper()
	// The reloaded configuration (the one with the smaller payload) also turns on
	// tracing, to prove logging options reload.
	trace := "false"
	if payload != "1MB" {
		trace = "true"
	}
	text := strings.NewReplacer("%DIR%", dir, "%BOB%", bobPassword, "%PAYLOAD%", payload, "%TRACE%", trace).Replace(signalConfig)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSighupReloadsAuthAndLimits runs the server binary, changes a password and
// max_payload in its config file and sends SIGHUP: the server logs "Reloaded server
// configuration", a client whose credentials still hold keeps its connection and
// sees the new limit, tracing turns on, the client whose password changed is closed with
// "Authorization Violation" (as the reference re-checks every client on reload),
// and new connections need the new password. SIGTERM then exits with status 0 and
// removes the ports file.
func TestSighupReloadsAuthAndLimits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.conf")
	writeSignalConfig(t, path, dir, "old", "1MB")
	p := startServerProcess(t, "-c", path)
	p.waitFor("Listening for client connections on")
	url := portsURL(t, dir)

	alice, err := nats.Connect(url, nats.UserInfo("alice", "alice"), nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bobClosed := make(chan struct{})
	bob, err := nats.Connect(url, nats.UserInfo("bob", "old"), nats.MaxReconnects(0),
		nats.ClosedHandler(func(*nats.Conn) { close(bobClosed) }))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	sub, _ := alice.SubscribeSync("greet")
	alice.Flush()

	writeSignalConfig(t, path, dir, "new", "100")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor("Reloaded server configuration")

	select {
	case <-bobClosed:
	case <-time.After(3 * time.Second):
		t.Fatal("client with the changed password was not closed")
	}
	if !alice.IsConnected() {
		t.Fatal("client with unchanged credentials was dropped")
	}
	if err := alice.Publish("greet", []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(2 * time.Second); err != nil || string(msg.Data) != "still here" {
		t.Fatalf("after reload: %v %v", msg, err)
	}
	if _, err := nats.Connect(url, nats.UserInfo("bob", "old"), nats.MaxReconnects(0)); err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("old password accepted: %v", err)
	}
	fresh, err := nats.Connect(url, nats.UserInfo("bob", "new"), nats.MaxReconnects(0))
	if err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	defer fresh.Close()
	if got := fresh.MaxPayload(); got != 100 {
		t.Fatalf("new connection max_payload %d, want 100", got)
	}
	if strings.Contains(p.output.String()[:strings.Index(p.output.String(), "Reloaded server configuration")], "[TRC]") {
		t.Fatal("traced before the reload turned tracing on")
	}
	p.waitFor("[TRC]")

	p.cmd.Process.Signal(syscall.SIGTERM)
	if status := p.exitStatus(); status != 0 {
		t.Fatalf("exit status %d:\n%s", status, p.output.String())
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.ports")); len(files) != 0 {
		t.Fatalf("ports file left behind: %v", files)
	}
}

// TestSighupWithBrokenConfigKeepsRunning proves a reload of a malformed file is
// logged as a failure and the server keeps serving with the old configuration.
func TestSighupWithBrokenConfigKeepsRunning(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.conf")
	writeSignalConfig(t, path, dir, "old", "1MB")
	p := startServerProcess(t, "-c", path)
	url := portsURL(t, dir)
	os.WriteFile(path, []byte("port: -1\nnot_a_key: 1\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitFor("Failed to reload server configuration")
	nc, err := nats.Connect(url, nats.UserInfo("bob", "old"), nats.MaxReconnects(0))
	if err != nil {
		t.Fatalf("old configuration lost: %v", err)
	}
	nc.Close()
}

// TestSigintShutsDownGracefully proves SIGINT closes clients and exits with status 0.
func TestSigintShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	p := startServerProcess(t, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir)
	closed := make(chan struct{})
	nc, err := nats.Connect(portsURL(t, dir), nats.MaxReconnects(0), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p.cmd.Process.Signal(syscall.SIGINT)
	if status := p.exitStatus(); status != 0 {
		t.Fatalf("exit status %d:\n%s", status, p.output.String())
	}
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("client not closed")
	}
	p.waitFor("Server Exiting")
}
