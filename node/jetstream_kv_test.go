package node

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestJetStreamKeyValue drives nats.go's KV: put, get, update, delete, purge,
// history, keys and watch, then a restart that must keep it all.
func TestJetStreamKeyValue(t *testing.T) {
	dir := t.TempDir()
	s := startJetStreamServer(t, dir)
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "CFG", History: 5})
	if err != nil {
		t.Fatal(err)
	}
	revision, err := kv.Put(ctx, "a", []byte("1"))
	if err != nil || revision != 1 {
		t.Fatalf("%d %v", revision, err)
	}
	if _, err := kv.Update(ctx, "a", []byte("2"), 7); err == nil {
		t.Fatal("update with a wrong revision accepted")
	}
	if revision, err = kv.Update(ctx, "a", []byte("2"), 1); err != nil || revision != 2 {
		t.Fatalf("%d %v", revision, err)
	}
	if _, err := kv.Create(ctx, "a", []byte("x")); err == nil {
		t.Fatal("create over an existing key accepted")
	}
	if _, err := kv.Put(ctx, "b", []byte("3")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "c", []byte("4")); err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(ctx, "a")
	if err != nil || string(entry.Value()) != "2" || entry.Revision() != 2 {
		t.Fatalf("%v %v", entry, err)
	}
	history, err := kv.History(ctx, "a")
	if err != nil || len(history) != 2 {
		t.Fatalf("%v %v", history, err)
	}
	if err := kv.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "b"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := kv.Purge(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0] != "a" {
		t.Fatalf("%v %v", keys, err)
	}
	watcher, err := kv.Watch(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = watcher.Stop() }()
	initial := <-watcher.Updates()
	if initial == nil || string(initial.Value()) != "2" {
		t.Fatalf("initial %v", initial)
	}
	if marker := <-watcher.Updates(); marker != nil {
		t.Fatalf("expected the end-of-initial marker, got %v", marker)
	}
	if _, err := kv.Put(ctx, "a", []byte("5")); err != nil {
		t.Fatal(err)
	}
	select {
	case update := <-watcher.Updates():
		if update == nil || string(update.Value()) != "5" {
			t.Fatalf("update %v", update)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no watch update")
	}
	_ = watcher.Stop()
	nc.Close()

	s = restartJetStreamServer(t, s, dir)
	_, js = jetStreamContext(t, s)
	kv, err = js.KeyValue(ctx, "CFG")
	if err != nil {
		t.Fatal(err)
	}
	entry, err = kv.Get(ctx, "a")
	if err != nil || string(entry.Value()) != "5" {
		t.Fatalf("after restart: %v %v", entry, err)
	}
	if _, err := kv.Get(ctx, "b"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("deleted key after restart: %v", err)
	}
}
