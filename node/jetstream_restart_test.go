package node

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/node/opts"
)

// restartJetStreamServer stops s and starts a new server on the same store dir.
func restartJetStreamServer(t *testing.T, s *Server, dir string) *Server {
	t.Helper()
	s.Shutdown()
	return startJetStreamServer(t, dir)
}

// TestJetStreamRestartKeepsState proves file streams, their messages, deletions and
// dedup IDs survive a restart on the same store directory, and memory streams do
// not (as in the reference).
func TestJetStreamRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	s := startJetStreamServer(t, dir)
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R", Subjects: []string{"r.>"}, MaxMsgsPerSubject: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Subjects: []string{"m.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := js.Publish(ctx, fmt.Sprintf("r.%d", i%4), []byte(fmt.Sprint(i)), jetstream.WithMsgID(fmt.Sprint("id", i))); err != nil {
			t.Fatal(err)
		}
	}
	stream, _ := js.Stream(ctx, "R")
	if err := stream.DeleteMsg(ctx, 20); err != nil {
		t.Fatal(err)
	}
	before, _ := stream.Info(ctx)
	nc.Close()

	s = restartJetStreamServer(t, s, dir)
	_, js = jetStreamContext(t, s)
	stream, err := js.Stream(ctx, "R")
	if err != nil {
		t.Fatal(err)
	}
	after, _ := stream.Info(ctx)
	if after.State.Msgs != before.State.Msgs || after.State.LastSeq != 20 || after.State.FirstSeq != before.State.FirstSeq {
		t.Fatalf("before %+v after %+v", before.State, after.State)
	}
	if after.Config.MaxMsgsPerSubject != 3 {
		t.Fatalf("config lost: %+v", after.Config)
	}
	ack, err := js.Publish(ctx, "r.2", []byte("again"), jetstream.WithMsgID("id18"))
	if err != nil || !ack.Duplicate || ack.Sequence != 19 {
		t.Fatalf("dedup after restart: %+v %v", ack, err)
	}
	ack, err = js.Publish(ctx, "r.1", []byte("new"))
	if err != nil || ack.Sequence != 21 {
		t.Fatalf("%+v %v", ack, err)
	}
	// The reference v2.15.2 comes back without its memory streams (nothing of
	// them is on disk); so does this server, instead of an empty stream.
	if _, err := js.Stream(ctx, "M"); err != jetstream.ErrStreamNotFound {
		t.Fatalf("memory stream after a restart: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Subjects: []string{"m.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatalf("memory stream created again: %v", err)
	}
}

// TestJetStreamLimits proves max_msgs with discard old and new, max_msgs_per_subject,
// max_msg_size and sealed streams behave as the reference.
func TestJetStreamLimits(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	old, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OLD", Subjects: []string{"old"}, MaxMsgs: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := js.Publish(ctx, "old", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := old.Info(ctx)
	if info.State.Msgs != 3 || info.State.FirstSeq != 3 {
		t.Fatalf("%+v", info.State)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "NEW", Subjects: []string{"new"}, MaxMsgs: 2, Discard: jetstream.DiscardNew}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := js.Publish(ctx, "new", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Publish(ctx, "new", []byte("x")); !isAPIError(err, 10077) {
		t.Fatalf("discard new: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PER", Subjects: []string{"per.*"}, MaxMsgsPerSubject: 1,
		Discard: jetstream.DiscardNew, DiscardNewPerSubject: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "per.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "per.b", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "per.a", []byte("2")); !isAPIError(err, 10077) {
		t.Fatalf("discard new per subject: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SIZE", Subjects: []string{"size"}, MaxMsgSize: 8}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "size", bytes.Repeat([]byte("x"), 9)); !isAPIError(err, 10054) {
		t.Fatalf("max msg size: %v", err)
	}
	sealed, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "OLD", Subjects: []string{"old"}, MaxMsgs: 3, Sealed: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sealed.Purge(ctx); !isAPIError(err, 10109) {
		t.Fatalf("purge sealed: %v", err)
	}
	if _, err := js.Publish(ctx, "old", []byte("x")); !isAPIError(err, 10109) {
		t.Fatalf("publish to sealed: %v", err)
	}
	guarded, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "GUARD", Subjects: []string{"guard"}, DenyDelete: true, DenyPurge: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "guard", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := guarded.DeleteMsg(ctx, 1); !isAPIError(err, 10057) {
		t.Fatalf("deny delete: %v", err)
	}
	if err := guarded.Purge(ctx); !isAPIError(err, 10110) {
		t.Fatalf("deny purge: %v", err)
	}
}

// TestJetStreamObjectStore drives nats.go's object store: put, get, list, links,
// then a restart that must keep the objects.
func TestJetStreamObjectStore(t *testing.T) {
	dir := t.TempDir()
	s := startJetStreamServer(t, dir)
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	objects, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "FILES"})
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("0123456789"), 50_000)
	if _, err := objects.PutBytes(ctx, "big", payload); err != nil {
		t.Fatal(err)
	}
	if _, err := objects.PutString(ctx, "small", "hello"); err != nil {
		t.Fatal(err)
	}
	info, err := objects.GetInfo(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := objects.AddLink(ctx, "alias", info); err != nil {
		t.Fatal(err)
	}
	list, err := objects.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, object := range list {
		names = append(names, object.Name)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[alias big small]" {
		t.Fatalf("%v", names)
	}
	nc.Close()

	s = restartJetStreamServer(t, s, dir)
	_, js = jetStreamContext(t, s)
	objects, err = js.ObjectStore(ctx, "FILES")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"big", "alias"} {
		result, err := objects.Get(ctx, name)
		if err != nil {
			t.Fatal(name, err)
		}
		data, err := io.ReadAll(result)
		if err != nil || !bytes.Equal(data, payload) {
			t.Fatalf("%s: %d bytes, %v", name, len(data), err)
		}
	}
}

// TestJetStreamAccountLimits proves an account's stream count and storage
// reservation limits refuse what exceeds them with the reference's codes.
func TestJetStreamAccountLimits(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.JetStream = true
		o.StoreDir = t.TempDir()
		user := &opts.User{Username: "a", Password: "a", Account: "A"}
		o.Users = []*opts.User{user}
		o.Accounts = []*opts.Account{{Name: "A", Users: []*opts.User{user},
			JetStream: &opts.JetStreamAccountLimits{MaxMemory: -1, MaxStore: 1 << 20, MaxStreams: 2, MaxConsumers: -1}}}
	})
	nc := connect(t, s, nats.UserInfo("a", "a"))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BIG", Subjects: []string{"big"}, MaxBytes: 2 << 20}); !isAPIError(err, 10047) {
		t.Fatalf("reservation over the limit: %v", err)
	}
	for _, name := range []string{"ONE", "TWO"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "THREE", Subjects: []string{"THREE"}}); !isAPIError(err, 10027) {
		t.Fatalf("third stream: %v", err)
	}
	if _, err := js.Publish(ctx, "ONE", bytes.Repeat([]byte("x"), 900_000)); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "TWO", bytes.Repeat([]byte("x"), 200_000)); !isAPIError(err, 10002) {
		t.Fatalf("over the account's storage: %v", err)
	}
}
