package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/proto/jsarchive"
)

// snapshotAsNatsCLI takes a snapshot the way natscli v0.5.0 (jsm.go) does: the
// deliver subject is an inbox under the connection's response subscription, the
// client subscribes to it only after the SNAPSHOT response, answers every chunk's
// ack reply, and stops at the empty message, whose status must be 204. It returns
// the response's configuration and the snapshot bytes.
func snapshotAsNatsCLI(t *testing.T, nc *nats.Conn, stream string, request string) (json.RawMessage, []byte, int) {
	t.Helper()
	// A first request sets up nats.go's _INBOX.<id>.* response subscription, which
	// also matches the deliver subject below.
	if _, err := nc.Request("$JS.API.INFO", nil, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	inbox := nc.NewRespInbox()
	reply, err := nc.Request("$JS.API.STREAM.SNAPSHOT."+stream, []byte(fmt.Sprintf(request, inbox)), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var response struct {
		Config json.RawMessage `json:"config"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &response); err != nil || response.Error != nil {
		t.Fatalf("%s %v", reply.Data, err)
	}
	chunks, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer chunks.Unsubscribe()
	var data []byte
	count := 0
	for {
		chunk, err := chunks.NextMsg(3 * time.Second)
		if err != nil {
			t.Fatalf("after %d chunks: %v", count, err)
		}
		if len(chunk.Data) == 0 {
			if status := chunk.Header.Get("Status"); status != "204" {
				t.Fatalf("end of snapshot with status %q %v", status, chunk.Header)
			}
			return response.Config, data, count
		}
		count++
		if !strings.HasPrefix(chunk.Reply, "$JS.SNAPSHOT.ACK."+stream+".") ||
			!strings.HasSuffix(chunk.Reply, fmt.Sprintf(".%d.%d", len(chunk.Data), count)) {
			t.Fatalf("chunk %d ack reply %q", count, chunk.Reply)
		}
		data = append(data, chunk.Data...)
		if err := chunk.Respond(nil); err != nil {
			t.Fatal(err)
		}
	}
}

// restoreAsNatsCLI restores the way natscli does: RESTORE with the configuration,
// then the data in chunks, each a request acknowledged with an empty reply, then an
// empty request whose answer is a stream_create_response. It returns that answer.
func restoreAsNatsCLI(t *testing.T, nc *nats.Conn, stream string, config json.RawMessage, data []byte, chunkBytes int) map[string]any {
	t.Helper()
	reply, err := nc.Request("$JS.API.STREAM.RESTORE."+stream, []byte(fmt.Sprintf(`{"config":%s,"state":{}}`, config)), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var response struct {
		DeliverSubject string `json:"deliver_subject"`
	}
	if err := json.Unmarshal(reply.Data, &response); err != nil || response.DeliverSubject == "" {
		t.Fatalf("%s %v", reply.Data, err)
	}
	for len(data) > 0 {
		piece := data[:min(chunkBytes, len(data))]
		data = data[len(piece):]
		ack, err := nc.Request(response.DeliverSubject, piece, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(ack.Data) != 0 {
			t.Fatalf("chunk acknowledged with %s", ack.Data)
		}
	}
	final, err := nc.Request(response.DeliverSubject, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	if err := json.Unmarshal(final.Data, &answer); err != nil {
		t.Fatalf("%s %v", final.Data, err)
	}
	if answer["type"] != "io.nats.jetstream.api.v1.stream_create_response" {
		t.Fatalf("final answer %s", final.Data)
	}
	return answer
}

// TestJetStreamSnapshotRestore proves a stream snapshot taken over the API as natscli
// takes it (acknowledged chunks, several of them) restores, after the original is
// deleted, into an equal stream: messages with their sequences, headers and the
// deleted gap, and a durable consumer with its delivered, acknowledged and pending
// state. The snapshot is the reference's archive (s2, NATSARC1 entries).
func TestJetStreamSnapshotRestore(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SNAP", Subjects: []string{"snap.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		msg := nats.NewMsg(fmt.Sprintf("snap.%d", i%5))
		msg.Data = []byte(fmt.Sprintf("message %d %s", i, strings.Repeat("x", i%40)))
		msg.Header.Set("X-Index", fmt.Sprint(i))
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	stream, _ := js.Stream(ctx, "SNAP")
	if err := stream.DeleteMsg(ctx, 7); err != nil {
		t.Fatal(err)
	}
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "DUR", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := consumer.Fetch(5, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	received := 0
	for msg := range batch.Messages() {
		if received < 3 {
			if err := msg.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		received++
	}
	before, _ := stream.Info(ctx)
	consumerBefore, _ := consumer.Info(ctx)
	if consumerBefore.NumAckPending != 2 {
		t.Fatalf("consumer before %+v", consumerBefore)
	}

	advisories, err := nc.SubscribeSync("$JS.EVENT.ADVISORY.STREAM.*.SNAP")
	if err != nil {
		t.Fatal(err)
	}
	config, data, chunks := snapshotAsNatsCLI(t, nc, "SNAP", `{"deliver_subject":"%s","chunk_size":1024}`)
	if chunks < 2 {
		t.Fatalf("expected several chunks, got %d", chunks)
	}
	if first, err := jsarchive.NewReader(s2.NewReader(bytes.NewReader(data))).Next(); err != nil || first.Name != "state.json" {
		t.Fatalf("snapshot starts with %+v %v", first, err)
	}
	if err := js.DeleteStream(ctx, "SNAP"); err != nil {
		t.Fatal(err)
	}

	answer := restoreAsNatsCLI(t, nc, "SNAP", config, data, 100)
	if answer["error"] != nil {
		t.Fatalf("restore: %v", answer)
	}
	stream, err = js.Stream(ctx, "SNAP")
	if err != nil {
		t.Fatal(err)
	}
	after, _ := stream.Info(ctx)
	if after.State.Msgs != before.State.Msgs || after.State.LastSeq != before.State.LastSeq ||
		after.State.NumDeleted != before.State.NumDeleted || after.State.Bytes != before.State.Bytes {
		t.Fatalf("before %+v after %+v", before.State, after.State)
	}
	message, err := stream.GetMsg(ctx, 49)
	if err != nil || !strings.HasPrefix(string(message.Data), "message 48 ") || message.Header.Get("X-Index") != "48" {
		t.Fatalf("%+v %v", message, err)
	}
	restored, err := stream.Consumer(ctx, "DUR")
	if err != nil {
		t.Fatal(err)
	}
	consumerAfter, _ := restored.Info(ctx)
	if consumerAfter.Delivered.Stream != consumerBefore.Delivered.Stream || consumerAfter.AckFloor.Stream != 3 ||
		consumerAfter.NumAckPending != 2 || consumerAfter.NumPending != consumerBefore.NumPending {
		t.Fatalf("consumer before %+v after %+v", consumerBefore, consumerAfter)
	}
	ack, err := js.Publish(ctx, "snap.x", []byte("new"))
	if err != nil || ack.Sequence != before.State.LastSeq+1 {
		t.Fatalf("%+v %v", ack, err)
	}
	// The snapshot and the restore are advised as the reference advises them.
	want := map[string]string{
		"$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE.SNAP":   "io.nats.jetstream.advisory.v1.snapshot_create",
		"$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.SNAP": "io.nats.jetstream.advisory.v1.snapshot_complete",
		"$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE.SNAP":    "io.nats.jetstream.advisory.v1.restore_create",
		"$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE.SNAP":  "io.nats.jetstream.advisory.v1.restore_complete",
	}
	for len(want) > 0 {
		msg, err := advisories.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("advisories missing: %v (%v)", want, err)
		}
		var advisory struct {
			Type   string `json:"type"`
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := json.Unmarshal(msg.Data, &advisory); err != nil {
			t.Fatal(err)
		}
		if kind, ok := want[msg.Subject]; ok {
			if advisory.Type != kind || advisory.Stream != "SNAP" || advisory.Error != "" {
				t.Fatalf("%s: %s", msg.Subject, msg.Data)
			}
			delete(want, msg.Subject)
		}
	}
}

// TestJetStreamRestoreReferenceBackup proves a backup that natscli v0.5.0 took from
// nats-server v2.15.2 (testdata/reference_backup: stream FIX, ten messages with an
// X-Index header, sequence 4 deleted; consumer C1 delivered 4 with 2 acknowledged,
// consumer C2 filtered on fix.1 and untouched) restores into this server with its
// messages and consumer states.
func TestJetStreamRestoreReferenceBackup(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	metadata, err := os.ReadFile(filepath.Join("testdata", "reference_backup", "backup.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "reference_backup", "stream.arc.s2"))
	if err != nil {
		t.Fatal(err)
	}
	var backup struct {
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(metadata, &backup); err != nil {
		t.Fatal(err)
	}
	if answer := restoreAsNatsCLI(t, nc, "FIX", backup.Config, data, 64<<10); answer["error"] != nil {
		t.Fatalf("restore: %v", answer)
	}
	stream, err := js.Stream(ctx, "FIX")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(ctx)
	if info.State.Msgs != 9 || info.State.FirstSeq != 1 || info.State.LastSeq != 10 || info.State.NumDeleted != 1 || info.State.Consumers != 2 {
		t.Fatalf("state %+v", info.State)
	}
	message, err := stream.GetMsg(ctx, 10)
	if err != nil || string(message.Data) != "body 10" || message.Subject != "fix.1" || message.Header.Get("X-Index") != "10" {
		t.Fatalf("%+v %v", message, err)
	}
	first, _ := stream.Consumer(ctx, "C1")
	c1, _ := first.Info(ctx)
	if c1.Delivered.Consumer != 4 || c1.Delivered.Stream != 5 || c1.AckFloor.Consumer != 2 || c1.AckFloor.Stream != 2 ||
		c1.NumAckPending != 2 || c1.NumPending != 5 {
		t.Fatalf("C1 %+v", c1)
	}
	second, _ := stream.Consumer(ctx, "C2")
	c2, _ := second.Info(ctx)
	if c2.NumPending != 3 || c2.Delivered.Stream != 0 || c2.Config.FilterSubject != "fix.1" {
		t.Fatalf("C2 %+v", c2)
	}
}

// TestJetStreamRestoreRejectsBadSnapshots proves a restore from data that is not a
// good snapshot of this format (not s2 at all, a truncated backup, another format
// inside s2, a consumer entry whose name is a path) fails with the reference's
// 10062 "restore failed" error in a stream_create_response, and leaves neither a
// stream nor a directory nor a staging file behind; a good restore of the same name
// works afterwards.
func TestJetStreamRestoreRejectsBadSnapshots(t *testing.T) {
	dir := t.TempDir()
	s := startJetStreamServer(t, dir)
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BAD", Subjects: []string{"bad.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := js.Publish(ctx, "bad.x", []byte(fmt.Sprint("value ", i))); err != nil {
			t.Fatal(err)
		}
	}
	config, good, _ := snapshotAsNatsCLI(t, nc, "BAD", `{"deliver_subject":"%s"}`)
	if err := js.DeleteStream(ctx, "BAD"); err != nil {
		t.Fatal(err)
	}

	var tar bytes.Buffer
	writer := s2.NewWriter(&tar)
	writer.Write(append([]byte("meta.inf"), make([]byte, 1016)...))
	writer.Close()
	var hostile bytes.Buffer
	writer = s2.NewWriter(&hostile)
	archive := jsarchive.NewWriter(writer)
	state := []byte(`{"messages":0,"first_seq":0,"last_seq":0,"consumer_count":1}`)
	archive.WriteFull(jsarchive.Entry{Name: "state.json", PayloadSize: int64(len(state))}, state)
	consumer := []byte(`{"config":{"durable_name":"x","ack_policy":"explicit"},"state":{"delivered":{},"ack_floor":{}}}`)
	archive.WriteFull(jsarchive.Entry{Name: "consumers/../../../escape", PayloadSize: int64(len(consumer))}, consumer)
	archive.WriteEnd()
	writer.Close()

	cases := map[string]struct {
		data []byte
		want string
	}{
		"not s2":    {[]byte(strings.Repeat("garbage ", 100)), "restore failed: s2: corrupt input"},
		"truncated": {good[:len(good)-8], "restore failed"},
		"tar":       {tar.Bytes(), "restore failed: snapshot is not a NATSARC1 archive"},
		"path":      {hostile.Bytes(), `restore failed: invalid consumer name "../../../escape"`},
	}
	for name, c := range cases {
		answer := restoreAsNatsCLI(t, nc, "BAD", config, c.data, 128)
		apiErr, _ := answer["error"].(map[string]any)
		if apiErr == nil || apiErr["err_code"] != 10062.0 || apiErr["code"] != 500.0 ||
			!strings.HasPrefix(apiErr["description"].(string), c.want) {
			t.Errorf("%s: %v", name, answer)
		}
		if _, err := js.Stream(ctx, "BAD"); err != jetstream.ErrStreamNotFound {
			t.Errorf("%s: stream left behind: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream", "$G", "streams", "BAD")); !os.IsNotExist(err) {
		t.Errorf("directory left behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream", "escape")); !os.IsNotExist(err) {
		t.Errorf("hostile consumer name escaped: %v", err)
	}
	if answer := restoreAsNatsCLI(t, nc, "BAD", config, good, 1<<10); answer["error"] != nil {
		t.Fatalf("good restore after the bad ones: %v", answer)
	}
	// Restores spool their chunks in the staging directory and remove them after.
	if staged, _ := os.ReadDir(filepath.Join(dir, "jetstream", ".snap-staging")); len(staged) != 0 {
		t.Errorf("staging files left: %v", staged)
	}
	stream, err := js.Stream(ctx, "BAD")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := stream.Info(ctx); info.State.Msgs != 40 {
		t.Fatalf("%+v", info.State)
	}
}

// TestJetStreamSnapshotManyChunksInOrder proves a snapshot sent in many small chunks
// under the default window (acks arriving on the client's connection while the first
// chunks still go out) arrives whole and in order: the archive decodes to its end entry and restores
// every message. Chunks sent out of order showed as a corrupt s2 stream.
func TestJetStreamSnapshotManyChunksInOrder(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "MANY", Subjects: []string{"many.>"}}); err != nil {
		t.Fatal(err)
	}
	random := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		body := make([]byte, 200)
		for j := range body {
			body[j] = byte(random.Uint32())
		}
		if _, err := js.PublishAsync(fmt.Sprintf("many.%d", i%7), body); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Second):
		t.Fatal("publishes not acknowledged")
	}
	config, data, chunks := snapshotAsNatsCLI(t, nc, "MANY", `{"deliver_subject":"%s","chunk_size":1024}`)
	if chunks < 100 {
		t.Fatalf("%d chunks", chunks)
	}
	archive := jsarchive.NewReader(s2.NewReader(bytes.NewReader(data)))
	entries := 0
	for {
		entry, err := archive.Next()
		if err != nil {
			t.Fatalf("after %d entries: %v", entries, err)
		}
		entries++
		if entry.IsEnd() {
			break
		}
	}
	if entries != 3002 {
		t.Fatalf("%d entries, want state, 3000 messages and the end", entries)
	}
	if err := js.DeleteStream(ctx, "MANY"); err != nil {
		t.Fatal(err)
	}
	if answer := restoreAsNatsCLI(t, nc, "MANY", config, data, 4096); answer["error"] != nil {
		t.Fatalf("restore: %v", answer)
	}
	stream, err := js.Stream(ctx, "MANY")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := stream.Info(ctx); info.State.Msgs != 3000 || info.State.LastSeq != 3000 {
		t.Fatalf("%+v", info.State)
	}
}

// TestJetStreamSnapshotMemoryConsumers proves consumers that keep their state in
// memory (those of a memory stream, and mem_storage ones of a file stream) come back
// from a snapshot with their delivered and acknowledged state, as the reference's.
func TestJetStreamSnapshotMemoryConsumers(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	for _, c := range []struct {
		stream  jetstream.StreamConfig
		durable jetstream.ConsumerConfig
	}{
		{jetstream.StreamConfig{Name: "MEMS", Subjects: []string{"mems.>"}, Storage: jetstream.MemoryStorage},
			jetstream.ConsumerConfig{Durable: "D", AckPolicy: jetstream.AckExplicitPolicy}},
		{jetstream.StreamConfig{Name: "FILES", Subjects: []string{"files.>"}},
			jetstream.ConsumerConfig{Durable: "D", AckPolicy: jetstream.AckExplicitPolicy, MemoryStorage: true}},
	} {
		stream, err := js.CreateStream(ctx, c.stream)
		if err != nil {
			t.Fatal(err)
		}
		subject := strings.ToLower(c.stream.Name) + ".x"
		for i := range 5 {
			if _, err := js.Publish(ctx, subject, []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		consumer, err := stream.CreateOrUpdateConsumer(ctx, c.durable)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := consumer.Fetch(3, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		acked := 0
		for msg := range batch.Messages() {
			if acked < 2 {
				if err := msg.DoubleAck(ctx); err != nil {
					t.Fatal(err)
				}
				acked++
			}
		}
		config, data, _ := snapshotAsNatsCLI(t, nc, c.stream.Name, `{"deliver_subject":"%s"}`)
		if err := js.DeleteStream(ctx, c.stream.Name); err != nil {
			t.Fatal(err)
		}
		if answer := restoreAsNatsCLI(t, nc, c.stream.Name, config, data, 1024); answer["error"] != nil {
			t.Fatalf("%s: %v", c.stream.Name, answer)
		}
		restored, err := js.Consumer(ctx, c.stream.Name, "D")
		if err != nil {
			t.Fatalf("%s: %v", c.stream.Name, err)
		}
		info, _ := restored.Info(ctx)
		if info.Delivered.Stream != 3 || info.AckFloor.Stream != 2 || info.NumAckPending != 1 || info.NumPending != 2 ||
			info.Config.MemoryStorage != c.durable.MemoryStorage {
			t.Fatalf("%s: restored consumer %+v", c.stream.Name, info)
		}
	}
}
