package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/node/opts"
)

// startJetStreamServer runs a JetStream server storing under dir.
func startJetStreamServer(t *testing.T, dir string) *Server {
	t.Helper()
	return startTestServer(t, func(o *opts.Options) {
		o.JetStream = true
		o.StoreDir = dir
	})
}

func jetStreamContext(t *testing.T, s *Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc := connect(t, s)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestJetStreamStreamCRUD proves streams are created, described, listed, updated
// and deleted with the reference's answers, and overlapping subjects are refused.
func TestJetStreamStreamCRUD(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil || info.Config.Name != "ORDERS" || info.Config.Storage != jetstream.FileStorage {
		t.Fatalf("%+v %v", info, err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"orders.new"}}); err == nil {
		t.Fatal("overlapping subjects accepted")
	} else if !isAPIError(err, 10065) {
		t.Fatalf("overlap: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatalf("idempotent create: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"x"}}); !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		t.Fatalf("different config: %v", err)
	}
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>", "more"}, MaxMsgs: 10}); err != nil {
		t.Fatal(err)
	}
	names := js.StreamNames(ctx)
	var all []string
	for name := range names.Name() {
		all = append(all, name)
	}
	if names.Err() != nil || len(all) != 1 || all[0] != "ORDERS" {
		t.Fatalf("%v %v", all, names.Err())
	}
	if err := js.DeleteStream(ctx, "ORDERS"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(ctx, "ORDERS"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	account, err := js.AccountInfo(ctx)
	if err != nil || account.Streams != 0 {
		t.Fatalf("%+v %v", account, err)
	}
}

// isAPIError reports whether err carries the API error code; nats.go wraps some
// API errors by text only, so the text is checked too.
func isAPIError(err error, code jetstream.ErrorCode) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == code
	}
	return err != nil && strings.Contains(err.Error(), fmt.Sprintf("err_code=%d ", code))
}

// TestJetStreamPublishExpectations proves every expectation header is checked and
// duplicates inside the window are acknowledged without storing.
func TestJetStreamPublishExpectations(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "s.a", []byte("1"), jetstream.WithMsgID("m1"))
	if err != nil || ack.Sequence != 1 || ack.Stream != "S" || ack.Duplicate {
		t.Fatalf("%+v %v", ack, err)
	}
	ack, err = js.Publish(ctx, "s.a", []byte("1"), jetstream.WithMsgID("m1"))
	if err != nil || ack.Sequence != 1 || !ack.Duplicate {
		t.Fatalf("duplicate: %+v %v", ack, err)
	}
	if _, err := js.Publish(ctx, "s.b", []byte("2"), jetstream.WithExpectStream("T")); !isAPIError(err, 10060) {
		t.Fatalf("expected stream: %v", err)
	}
	if _, err := js.Publish(ctx, "s.b", []byte("2"), jetstream.WithExpectLastSequence(5)); !isAPIError(err, 10071) {
		t.Fatalf("expected last sequence: %v", err)
	}
	if _, err := js.Publish(ctx, "s.b", []byte("2"), jetstream.WithExpectLastSequence(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.a", []byte("3"), jetstream.WithExpectLastSequencePerSubject(2)); !isAPIError(err, 10071) {
		t.Fatalf("expected last subject sequence: %v", err)
	}
	if _, err := js.Publish(ctx, "s.a", []byte("3"), jetstream.WithExpectLastSequencePerSubject(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.c", []byte("4"), jetstream.WithExpectLastMsgID("nope")); !isAPIError(err, 10070) {
		t.Fatalf("expected last msg id: %v", err)
	}
	// The last message has no ID, so m1 no longer matches (nats-server v2.15.2 compares
	// with the last message's ID, empty when it had none).
	if _, err := js.Publish(ctx, "s.c", []byte("4"), jetstream.WithExpectLastMsgID("m1")); !isAPIError(err, 10070) {
		t.Fatalf("expected last msg id after a message without one: %v", err)
	}
	if _, err := js.Publish(ctx, "s.c", []byte("4"), jetstream.WithMsgID("m2")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.c", []byte("5"), jetstream.WithExpectLastMsgID("m2"), jetstream.WithMsgID("m3")); err != nil {
		t.Fatal(err)
	}
	stream, _ := js.Stream(ctx, "S")
	info, _ := stream.Info(ctx)
	if info.State.Msgs != 5 || info.State.LastSeq != 5 {
		t.Fatalf("%+v", info.State)
	}
}

// TestJetStreamPurgeGetDelete proves purge by filter, sequence and keep, message
// get and delete, and direct get.
func TestJetStreamPurgeGetDelete(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.*"}, AllowDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := js.Publish(ctx, fmt.Sprintf("p.%d", i%2), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	message, err := stream.GetMsg(ctx, 3)
	if err != nil || string(message.Data) != "2" || message.Subject != "p.0" {
		t.Fatalf("%+v %v", message, err)
	}
	last, err := stream.GetLastMsgForSubject(ctx, "p.1")
	if err != nil || last.Sequence != 10 {
		t.Fatalf("%+v %v", last, err)
	}
	if err := stream.DeleteMsg(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.GetMsg(ctx, 3); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if err := stream.SecureDeleteMsg(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSubject("p.0")); err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(ctx)
	if info.State.Msgs != 4 {
		t.Fatalf("after subject purge: %+v", info.State)
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeKeep(1)); err != nil {
		t.Fatal(err)
	}
	info, _ = stream.Info(ctx)
	if info.State.Msgs != 1 || info.State.FirstSeq != 10 {
		t.Fatalf("after keep purge: %+v", info.State)
	}
	if err := stream.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	info, _ = stream.Info(ctx)
	if info.State.Msgs != 0 {
		t.Fatalf("after purge: %+v", info.State)
	}
}

// TestJetStreamAccountNotEnabled proves an account the options leave out of
// JetStream gets the reference's "not enabled for account" error at once, while an
// enabled account works.
func TestJetStreamAccountNotEnabled(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.JetStream = true
		o.StoreDir = t.TempDir()
		userA := &opts.User{Username: "a", Password: "a", Account: "A"}
		userB := &opts.User{Username: "b", Password: "b", Account: "B"}
		o.Users = []*opts.User{userA, userB}
		o.Accounts = []*opts.Account{
			{Name: "A", Users: []*opts.User{userA}, JetStream: &opts.JetStreamAccountLimits{MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1}},
			{Name: "B", Users: []*opts.User{userB}},
		}
	})
	enabled := connect(t, s, nats.UserInfo("a", "a"))
	disabled := connect(t, s, nats.UserInfo("b", "b"))
	msg, err := disabled.Request("$JS.API.INFO", nil, 2*time.Second)
	if err != nil || !strings.Contains(string(msg.Data), `"err_code":10039`) {
		t.Fatalf("%v %v", msg, err)
	}
	msg, err = enabled.Request("$JS.API.INFO", nil, 2*time.Second)
	if err != nil || strings.Contains(string(msg.Data), `"error"`) {
		t.Fatalf("%v %v", msg, err)
	}
}
