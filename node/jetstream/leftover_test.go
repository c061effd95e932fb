package jetstream

import (
	"errors"
	"math/rand/v2"
	"path"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/sim/simfs"
)

// TestCreateNeverOverwritesUnrecoveredStream proves that a stream whose recovery failed
// at start keeps its data: creating a stream of the same name is refused (10049) and
// leaves every file in place, so a later restart can still recover the acknowledged
// messages. The jsqueue simulation found the old behaviour: a transient disk error at
// recovery, then a create over the directory that deleted acked messages.
func TestCreateNeverOverwritesUnrecoveredStream(t *testing.T) {
	random := durableRand{rand.New(rand.NewPCG(3, 5))}
	disk := simfs.New(random, simfs.Config{Name: "leftover"})
	world := openDurableWorld(t, disk, random, true)
	world.host.publishTo("s", "reply.1", []byte("acked"))
	world.tasks.runAll()
	if acked := world.host.acked(); acked["reply.1"] != 1 {
		t.Fatalf("publish not acknowledged at sequence 1: %v", acked)
	}
	disk.Crash(false)

	// The stream's configuration becomes unreadable, so recovery skips the stream.
	streamDir := path.Join(world.manager.accountDir("A"), "S")
	fsys := disk.FS()
	meta, err := fsys.Create(path.Join(streamDir, streamMetaFileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := meta.WriteAt([]byte("{not json"), 0); err != nil {
		t.Fatal(err)
	}
	_ = meta.Close()
	before, err := fsys.ReadDir(streamDir)
	if err != nil {
		t.Fatal(err)
	}

	tasks, host := &durableTasks{}, &durableHost{}
	e := env.Env{Clock: &durableClock{now: time.Unix(1_700_000_100, 0)}, Tasks: tasks, Rand: random, FS: fsys}
	manager, err := New(Config{Env: e, StoreDir: "/data"}, host)
	if err != nil {
		t.Fatal(err)
	}
	account, err := manager.EnableAccount("A", AccountLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if account.Stream("S") != nil {
		t.Fatal("a stream with a corrupt configuration was recovered")
	}
	_, _, apiErr := account.AddStream(jsapi.StreamConfig{Name: "S", Subjects: []string{"s"}}, false)
	if apiErr == nil || !errors.Is(apiErr, jsapi.Err(jsapi.ErrCodeStreamCreate, "")) {
		t.Fatalf("create over an unrecovered stream: got %v, want a stream create error (10049)", apiErr)
	}
	after, err := fsys.ReadDir(streamDir)
	if err != nil {
		t.Fatalf("the unrecovered stream's directory is gone: %v", err)
	}
	if len(after) != len(before) {
		t.Fatalf("files changed under the unrecovered stream: before %v, after %v", before, after)
	}
}

// TestCreateRemovesAbandonedCreate proves that a stream directory without a
// configuration file (a create cut short by a crash before its configuration was
// durable, so before any message could be stored) does not block the name: the next
// create removes it and succeeds.
func TestCreateRemovesAbandonedCreate(t *testing.T) {
	random := durableRand{rand.New(rand.NewPCG(7, 11))}
	disk := simfs.New(random, simfs.Config{Name: "abandoned"})
	tasks, host := &durableTasks{}, &durableHost{}
	e := env.Env{Clock: &durableClock{now: time.Unix(1_700_000_000, 0)}, Tasks: tasks, Rand: random, FS: disk.FS()}
	manager, err := New(Config{Env: e, StoreDir: "/data"}, host)
	if err != nil {
		t.Fatal(err)
	}
	account, err := manager.EnableAccount("A", AccountLimits{})
	if err != nil {
		t.Fatal(err)
	}
	streamDir := path.Join(manager.accountDir("A"), "S")
	if err := disk.FS().MkdirAll(path.Join(streamDir, "msgs"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := account.recoverLeftover("S"); err != nil {
		t.Fatalf("an abandoned create blocks the name: %v", err)
	}
	stream, created, apiErr := account.AddStream(jsapi.StreamConfig{Name: "S", Subjects: []string{"s"}}, false)
	if apiErr != nil || !created || stream == nil {
		t.Fatalf("create after an abandoned create: created=%v err=%v", created, apiErr)
	}
}
