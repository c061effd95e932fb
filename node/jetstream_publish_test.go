package node

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestJetStreamDirectGet proves direct gets by sequence, last by subject (both the
// body and the subject-suffix forms), next by subject, batches and multi_last.
func TestJetStreamDirectGet(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "D", Subjects: []string{"d.>"}, AllowDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := js.Publish(ctx, fmt.Sprintf("d.%d", i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	message, err := stream.GetMsg(ctx, 2, jetstream.WithGetMsgSubject("d.0"))
	if err != nil || message.Sequence != 4 {
		t.Fatalf("next by subject: %+v %v", message, err)
	}
	message, err = stream.GetLastMsgForSubject(ctx, "d.2")
	if err != nil || message.Sequence != 6 || string(message.Data) != "5" {
		t.Fatalf("last by subject: %+v %v", message, err)
	}
	reply, err := nc.Request("$JS.API.DIRECT.GET.D.d.1", nil, 2*time.Second)
	if err != nil || reply.Header.Get("Nats-Sequence") != "5" || reply.Header.Get("Nats-Subject") != "d.1" || string(reply.Data) != "4" {
		t.Fatalf("subject form: %+v %v", reply, err)
	}
	reply, err = nc.Request("$JS.API.DIRECT.GET.D", []byte(`{"seq":99}`), 2*time.Second)
	if err != nil || reply.Header.Get("Status") != "404" {
		t.Fatalf("missing: %+v %v", reply, err)
	}
	collect := func(body string) []*nats.Msg {
		inbox := nats.NewInbox()
		sub, _ := nc.SubscribeSync(inbox)
		defer sub.Unsubscribe()
		if err := nc.PublishRequest("$JS.API.DIRECT.GET.D", inbox, []byte(body)); err != nil {
			t.Fatal(err)
		}
		var got []*nats.Msg
		for {
			msg, err := sub.NextMsg(2 * time.Second)
			if err != nil {
				t.Fatalf("%s: %v after %d", body, err, len(got))
			}
			if msg.Header.Get("Status") == "204" {
				return got
			}
			got = append(got, msg)
		}
	}
	batch := collect(`{"seq":2,"batch":3}`)
	if len(batch) != 3 || batch[0].Header.Get("Nats-Sequence") != "2" || batch[2].Header.Get("Nats-Num-Pending") != "2" {
		t.Fatalf("batch: %d %v", len(batch), batch)
	}
	last := collect(`{"multi_last":["d.0","d.1"]}`)
	if len(last) != 2 || last[0].Header.Get("Nats-Sequence") != "4" || last[1].Header.Get("Nats-Sequence") != "5" {
		t.Fatalf("multi_last: %v", last)
	}
}

// TestJetStreamRollupTTLRepublishTransform proves Nats-Rollup sub and all, per-message
// TTL expiry, republishing with the reference's headers, and subject transforms on
// the way in.
func TestJetStreamRollupTTLRepublishTransform(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	nc, js := jetStreamContext(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "U", Subjects: []string{"u.>"}, AllowRollup: true,
		AllowMsgTTL: true, RePublish: &jetstream.RePublish{Source: "u.>", Destination: "copy.>"},
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: "u.raw.*", Destination: "u.cooked.{{wildcard(1)}}"}})
	if err != nil {
		t.Fatal(err)
	}
	copies, _ := nc.SubscribeSync("copy.>")
	for i := range 3 {
		if _, err := js.Publish(ctx, "u.a", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Publish(ctx, "u.b", []byte("b")); err != nil {
		t.Fatal(err)
	}
	rollup := nats.NewMsg("u.a")
	rollup.Header.Set("Nats-Rollup", "sub")
	rollup.Data = []byte("sum")
	if _, err := js.PublishMsg(ctx, rollup); err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(ctx, jetstream.WithSubjectFilter(">"))
	if info.State.Msgs != 2 || info.State.Subjects["u.a"] != 1 {
		t.Fatalf("rollup sub: %+v", info.State)
	}
	republished, err := copies.NextMsg(2 * time.Second)
	if err != nil || republished.Subject != "copy.a" || republished.Header.Get("Nats-Stream") != "U" || republished.Header.Get("Nats-Sequence") != "1" {
		t.Fatalf("republish: %+v %v", republished, err)
	}
	ack, err := js.Publish(ctx, "u.raw.7", []byte("t"))
	if err != nil {
		t.Fatal(err)
	}
	message, err := stream.GetMsg(ctx, ack.Sequence)
	if err != nil || message.Subject != "u.cooked.7" {
		t.Fatalf("transform: %+v %v", message, err)
	}
	expiring := nats.NewMsg("u.ttl")
	expiring.Header.Set("Nats-TTL", "1s")
	ack, err = js.PublishMsg(ctx, expiring)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := stream.GetMsg(ctx, ack.Sequence); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("TTL message never expired")
		}
		time.Sleep(100 * time.Millisecond)
	}
	all := nats.NewMsg("u.c")
	all.Header.Set("Nats-Rollup", "all")
	if _, err := js.PublishMsg(ctx, all); err != nil {
		t.Fatal(err)
	}
	info, _ = stream.Info(ctx)
	if info.State.Msgs != 1 {
		t.Fatalf("rollup all: %+v", info.State)
	}
}

// TestJetStreamWorkQueueAndInterest proves a work queue stream removes a message
// once acknowledged, and an interest stream without consumers keeps nothing.
func TestJetStreamWorkQueueAndInterest(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	work, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "W", Subjects: []string{"w"}, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := work.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := js.Publish(ctx, "w", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := consumer.Fetch(3, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	received := 0
	for message := range batch.Messages() {
		if err := message.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		received++
	}
	info, _ := work.Info(ctx)
	if received != 3 || info.State.Msgs != 0 {
		t.Fatalf("received %d, state %+v", received, info.State)
	}
	interest, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "I", Subjects: []string{"i"}, Retention: jetstream.InterestPolicy})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "i", []byte("nobody"))
	if err != nil || ack.Sequence != 1 {
		t.Fatalf("%+v %v", ack, err)
	}
	info, _ = interest.Info(ctx)
	if info.State.Msgs != 0 || info.State.LastSeq != 1 {
		t.Fatalf("interest without consumers: %+v", info.State)
	}
}

// TestJetStreamBadRequests proves malformed JSON, pedantic unknown fields and bad
// names get the reference's error codes and change nothing.
func TestJetStreamBadRequests(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	nc, _ := jetStreamContext(t, s)
	request := func(subject, body string) (int, string) {
		reply, err := nc.Request(subject, []byte(body), 2*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		var response struct {
			Error *struct {
				ErrCode int `json:"err_code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(reply.Data, &response)
		if response.Error == nil {
			return 0, string(reply.Data)
		}
		return response.Error.ErrCode, string(reply.Data)
	}
	if code, body := request("$JS.API.STREAM.CREATE.X", `{"name":`); code != 10025 {
		t.Fatalf("malformed: %s", body)
	}
	// Requests decode strictly (the reference's default), so an unknown field is
	// invalid JSON before pedantic mode is looked at, as nats-server v2.15.2 answers.
	if code, body := request("$JS.API.STREAM.CREATE.X", `{"name":"X","subjects":["x"],"bogus":1,"pedantic":true}`); code != 10025 {
		t.Fatalf("pedantic: %s", body)
	}
	if code, body := request("$JS.API.STREAM.CREATE.X", `{"name":"Y","subjects":["x"]}`); code != 10056 {
		t.Fatalf("name mismatch: %s", body)
	}
	if code, body := request("$JS.API.STREAM.INFO.NOPE", ``); code != 10059 {
		t.Fatalf("not found: %s", body)
	}
	if code, body := request("$JS.API.STREAM.NAMES", ``); code != 0 {
		t.Fatalf("names: %s", body)
	}
}

// TestJetStreamSubjectDeleteMarkers proves that when max_age removes a subject's
// last message, a delete marker with Nats-Marker-Reason: MaxAge takes its place.
func TestJetStreamSubjectDeleteMarkers(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "K", Subjects: []string{"k.>"}, MaxAge: time.Second,
		AllowMsgTTL: true, SubjectDeleteMarkerTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "k.a", []byte("v")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		message, err := stream.GetLastMsgForSubject(ctx, "k.a")
		if err == nil && message.Sequence == 2 {
			if message.Header.Get("Nats-Marker-Reason") != "MaxAge" || len(message.Data) != 0 {
				t.Fatalf("marker %+v", message)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no marker: %+v %v", message, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestJetStreamMarkersForTTLNotForDeletes proves a message expiring by its own TTL
// leaves a marker, while an expiring KV purge operation (a marker itself) does not.
func TestJetStreamMarkersForTTLNotForDeletes(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "KVS", LimitMarkerTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "age", []byte("22"), jetstream.KeyTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "name", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(ctx, "name", jetstream.PurgeTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	stream, _ := js.Stream(ctx, "KV_KVS")
	time.Sleep(1500 * time.Millisecond)
	marker, err := stream.GetLastMsgForSubject(ctx, "$KV.KVS.age")
	if err != nil || marker.Header.Get("Nats-Marker-Reason") != "MaxAge" || marker.Header.Get("Nats-TTL") != "1s" {
		t.Fatalf("TTL expiry marker: %+v %v", marker, err)
	}
	if message, err := stream.GetLastMsgForSubject(ctx, "$KV.KVS.name"); err == nil {
		t.Fatalf("expired purge left %+v", message)
	}
}
