package node

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestJetStreamSnapshotRestore proves a stream snapshot taken over the API, in
// acknowledged chunks, restores into an equal stream after the original is deleted.
func TestJetStreamSnapshotRestore(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	config := jetstream.StreamConfig{Name: "SNAP", Subjects: []string{"snap.>"}}
	if _, err := js.CreateStream(ctx, config); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := js.Publish(ctx, fmt.Sprintf("snap.%d", i%5), []byte(fmt.Sprintf("message %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	stream, _ := js.Stream(ctx, "SNAP")
	if err := stream.DeleteMsg(ctx, 7); err != nil {
		t.Fatal(err)
	}
	before, _ := stream.Info(ctx)

	inbox := nats.NewInbox()
	chunks, _ := nc.SubscribeSync(inbox)
	reply, err := nc.Request("$JS.API.STREAM.SNAPSHOT.SNAP", []byte(`{"deliver_subject":"`+inbox+`","chunk_size":256}`), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var snapshotResponse struct {
		Config json.RawMessage `json:"config"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &snapshotResponse); err != nil || snapshotResponse.Error != nil {
		t.Fatalf("%s %v", reply.Data, err)
	}
	var data [][]byte
	for {
		chunk, err := chunks.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("after %d chunks: %v", len(data), err)
		}
		if len(chunk.Data) == 0 {
			break
		}
		data = append(data, chunk.Data)
		if err := chunk.Respond(nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(data) < 2 {
		t.Fatalf("expected several chunks, got %d", len(data))
	}
	if err := js.DeleteStream(ctx, "SNAP"); err != nil {
		t.Fatal(err)
	}

	restore := fmt.Sprintf(`{"config":%s,"state":{}}`, snapshotResponse.Config)
	reply, err = nc.Request("$JS.API.STREAM.RESTORE.SNAP", []byte(restore), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var restoreResponse struct {
		DeliverSubject string `json:"deliver_subject"`
	}
	if err := json.Unmarshal(reply.Data, &restoreResponse); err != nil || restoreResponse.DeliverSubject == "" {
		t.Fatalf("%s %v", reply.Data, err)
	}
	for _, chunk := range data {
		if _, err := nc.Request(restoreResponse.DeliverSubject, chunk, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	reply, err = nc.Request(restoreResponse.DeliverSubject, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stream, err = js.Stream(ctx, "SNAP")
	if err != nil {
		t.Fatalf("%s %v", reply.Data, err)
	}
	after, _ := stream.Info(ctx)
	if after.State.Msgs != before.State.Msgs || after.State.LastSeq != before.State.LastSeq || after.State.NumDeleted != before.State.NumDeleted {
		t.Fatalf("before %+v after %+v", before.State, after.State)
	}
	message, err := stream.GetMsg(ctx, 49)
	if err != nil || string(message.Data) != "message 48" {
		t.Fatalf("%+v %v", message, err)
	}
	if _, err := js.Publish(ctx, "snap.x", []byte("new")); err != nil {
		t.Fatal(err)
	}
}
