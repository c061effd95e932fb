package jetstream_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/proto/jsapi"
)

// These tests drive message counters (allow_msg_counter) with raw nats.go requests
// against the in-process server on loopback: nats.go's PubAck has no "val".

// rawAck is a publish answer as the reference writes it: a PubAck with the counter
// and batch fields, or an error.
type rawAck struct {
	Stream    string       `json:"stream"`
	Sequence  uint64       `json:"seq"`
	Duplicate bool         `json:"duplicate"`
	Value     string       `json:"val"`
	BatchID   string       `json:"batch"`
	BatchSize uint64       `json:"count"`
	Error     *jsapi.Error `json:"error"`
	// empty is set for an empty answer (a staged batch message).
	empty bool
}

// code is the answer's err_code, 0 without an error.
func (a rawAck) code() jsapi.ErrorCode {
	if a.Error == nil {
		return 0
	}
	return a.Error.ErrCode
}

// publishRaw publishes a message with headers given as key, value pairs and returns
// the decoded answer.
func publishRaw(t *testing.T, nc *nats.Conn, subject, data string, keyValues ...string) rawAck {
	t.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = []byte(data)
	for i := 0; i+1 < len(keyValues); i += 2 {
		msg.Header.Set(keyValues[i], keyValues[i+1])
	}
	answer, err := nc.RequestMsg(msg, 5*time.Second)
	if err != nil {
		t.Fatalf("publish %s %v: %v", subject, keyValues, err)
	}
	if len(answer.Data) == 0 {
		return rawAck{empty: true}
	}
	var ack rawAck
	if err := json.Unmarshal(answer.Data, &ack); err != nil {
		t.Fatalf("answer %q: %v", answer.Data, err)
	}
	return ack
}

// increment publishes one Nats-Incr and fails the test on an error.
func increment(t *testing.T, nc *nats.Conn, subject, by string) rawAck {
	t.Helper()
	ack := publishRaw(t, nc, subject, "", "Nats-Incr", by)
	if ack.Error != nil {
		t.Fatalf("increment %s by %s: %v", subject, by, ack.Error)
	}
	return ack
}

// counterMessage reads a subject's last message: its total and headers.
func counterMessage(t *testing.T, js jetstream.JetStream, stream, subject string) (string, nats.Header) {
	t.Helper()
	ctx := testContext(t)
	handle, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	message, err := handle.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatalf("last %s: %v", subject, err)
	}
	var body struct {
		Value string `json:"val"`
	}
	if err := json.Unmarshal(message.Data, &body); err != nil {
		t.Fatalf("body %q: %v", message.Data, err)
	}
	if want := fmt.Sprintf(`{"val":%q}`, body.Value); string(message.Data) != want {
		t.Fatalf("body %q, want %q", message.Data, want)
	}
	return body.Value, message.Header
}

func createCounterStream(t *testing.T, js jetstream.JetStream, name string, subjects ...string) {
	t.Helper()
	if _, err := js.CreateStream(testContext(t), jetstream.StreamConfig{Name: name, Subjects: subjects,
		AllowMsgCounter: true, AllowDirect: true}); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationCounterIncrements proves increments add up per subject as big
// integers (signed, past 64 bits), the PubAck carries the new total in "val", and the
// stored body is {"val":"<total>"} with the Nats-Incr header kept.
func TestIntegrationCounterIncrements(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createCounterStream(t, js, "C", "c.>")
	steps := []struct{ subject, by, total string }{
		{"c.a", "1", "1"},
		{"c.a", "+5", "6"},
		{"c.b", "-3", "-3"},
		{"c.a", "-10", "-4"},
		{"c.a", "123456789012345678901234567890", "123456789012345678901234567886"},
		{"c.b", "0", "-3"},
	}
	for i, step := range steps {
		ack := increment(t, nc, step.subject, step.by)
		if ack.Stream != "C" || ack.Sequence != uint64(i+1) || ack.Value != step.total {
			t.Fatalf("step %d: ack %+v, want seq %d val %s", i, ack, i+1, step.total)
		}
	}
	total, hdr := counterMessage(t, js, "C", "c.a")
	if total != "123456789012345678901234567886" || hdr.Get("Nats-Incr") != "123456789012345678901234567890" {
		t.Fatalf("c.a total %s, headers %v", total, hdr)
	}
	if total, _ := counterMessage(t, js, "C", "c.b"); total != "-3" {
		t.Fatalf("c.b total %s", total)
	}
}

// TestIntegrationCounterErrors proves every refusal the reference gives around
// counters, with its err_code, and that a refused publish stores nothing.
func TestIntegrationCounterErrors(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createCounterStream(t, js, "C", "c.>")
	if _, err := js.CreateStream(testContext(t), jetstream.StreamConfig{Name: "N", Subjects: []string{"n.>"}}); err != nil {
		t.Fatal(err)
	}
	increment(t, nc, "c.a", "1")
	cases := []struct {
		subject, data string
		headers       []string
		code          jsapi.ErrorCode
	}{
		{"c.b", "", []string{"Nats-Incr", "abc"}, jsapi.ErrCodeMessageIncrInvalid},
		{"c.b", "", []string{"Nats-Incr", "1.5"}, jsapi.ErrCodeMessageIncrInvalid},
		{"c.b", "payload", []string{"Nats-Incr", "1"}, jsapi.ErrCodeMessageIncrPayload},
		{"c.b", "", nil, jsapi.ErrCodeMessageIncrMissing},
		{"c.b", "payload", nil, jsapi.ErrCodeMessageIncrMissing},
		{"c.b", "", []string{"Nats-Msg-Id", "x"}, jsapi.ErrCodeMessageIncrMissing},
		{"c.b", "", []string{"Nats-Incr", "1", "Nats-Expected-Stream", "C"}, jsapi.ErrCodeMessageIncrInvalid},
		{"c.b", "", []string{"Nats-Incr", "1", "Nats-Expected-Last-Sequence", "1"}, jsapi.ErrCodeMessageIncrInvalid},
		{"c.b", "", []string{"Nats-Incr", "1", "Nats-Expected-Last-Subject-Sequence", "0"}, jsapi.ErrCodeMessageIncrInvalid},
		{"c.b", "", []string{"Nats-Incr", "1", "Nats-Expected-Last-Subject-Sequence-Subject", "c.a"}, jsapi.ErrCodeMessageIncrInvalid},
		{"c.b", "", []string{"Nats-Incr", "1", "Nats-Expected-Last-Msg-Id", "x"}, jsapi.ErrCodeMessageIncrInvalid},
		{"c.b", "", []string{"Nats-Incr", "1", "Nats-Rollup", "sub"}, jsapi.ErrCodeMessageIncrInvalid},
		{"c.b", "", []string{"Nats-Incr", "1", "Nats-Stream-Source", "X 1"}, jsapi.ErrCodeMessageSourceHdrNotAllowed},
		{"c.b", "", []string{"Nats-Expected-Stream", "Z"}, jsapi.ErrCodeStreamNotMatch},
		{"n.a", "", []string{"Nats-Incr", "1"}, jsapi.ErrCodeMessageIncrDisabled},
		{"n.a", "", []string{"Nats-Incr", "zz"}, jsapi.ErrCodeMessageIncrInvalid},
	}
	for _, test := range cases {
		ack := publishRaw(t, nc, test.subject, test.data, test.headers...)
		if ack.code() != test.code {
			t.Fatalf("%s %q %v: answer %+v, want err_code %d", test.subject, test.data, test.headers, ack, test.code)
		}
	}
	info, err := js.Stream(testContext(t), "C")
	if err != nil {
		t.Fatal(err)
	}
	if state := info.CachedInfo().State; state.Msgs != 1 || state.LastSeq != 1 {
		t.Fatalf("refused publishes were stored: %+v", state)
	}
	// A duplicate increment is answered as a duplicate and not counted twice.
	first := publishRaw(t, nc, "c.a", "", "Nats-Incr", "5", "Nats-Msg-Id", "m1")
	again := publishRaw(t, nc, "c.a", "", "Nats-Incr", "5", "Nats-Msg-Id", "m1")
	if first.Value != "6" || !again.Duplicate || again.Sequence != first.Sequence {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	if total, _ := counterMessage(t, js, "C", "c.a"); total != "6" {
		t.Fatalf("total after a duplicate %s", total)
	}
}

// TestIntegrationCounterConfigRefused proves a counter stream cannot be combined
// with the options the reference refuses.
func TestIntegrationCounterConfigRefused(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	for _, config := range []jetstream.StreamConfig{
		{Name: "D", Subjects: []string{"d"}, AllowMsgCounter: true, Discard: jetstream.DiscardNew},
		{Name: "I", Subjects: []string{"i"}, AllowMsgCounter: true, Retention: jetstream.InterestPolicy},
		{Name: "T", Subjects: []string{"t"}, AllowMsgCounter: true, AllowMsgTTL: true},
	} {
		if _, err := js.CreateStream(ctx, config); err == nil {
			t.Fatalf("%s created", config.Name)
		}
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Subjects: []string{"m"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "M", Subjects: []string{"m"}, AllowMsgCounter: true}); err == nil {
		t.Fatal("an update turned counters on")
	}
}

// TestIntegrationCounterPurgeAndDelete proves the total follows the stream: purging
// a subject starts it again from zero, deleting its last message brings back the
// previous total.
func TestIntegrationCounterPurgeAndDelete(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createCounterStream(t, js, "C", "c.>")
	ctx := testContext(t)
	increment(t, nc, "c.a", "10")
	increment(t, nc, "c.b", "7")
	increment(t, nc, "c.a", "5")
	handle, err := js.Stream(ctx, "C")
	if err != nil {
		t.Fatal(err)
	}
	if err := handle.DeleteMsg(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if ack := increment(t, nc, "c.a", "1"); ack.Value != "11" {
		t.Fatalf("after deleting the last message: %+v", ack)
	}
	if err := handle.Purge(ctx, jetstream.WithPurgeSubject("c.a")); err != nil {
		t.Fatal(err)
	}
	if ack := increment(t, nc, "c.a", "2"); ack.Value != "2" {
		t.Fatalf("after a purge: %+v", ack)
	}
	if ack := increment(t, nc, "c.b", "1"); ack.Value != "8" {
		t.Fatalf("other subject after the purge: %+v", ack)
	}
}

// TestIntegrationCounterSurvivesRestart proves a counter's total is read back from
// the stream after a restart.
func TestIntegrationCounterSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	nc, js := connectJetStream(t, s)
	createCounterStream(t, js, "C", "c.>")
	for range 5 {
		increment(t, nc, "c.a", "3")
	}
	increment(t, nc, "c.b", "-1")
	nc.Close()
	s.Shutdown()

	s = startServer(t, dir)
	nc, js = connectJetStream(t, s)
	if ack := increment(t, nc, "c.a", "1"); ack.Value != "16" || ack.Sequence != 7 {
		t.Fatalf("after restart: %+v", ack)
	}
	if total, _ := counterMessage(t, js, "C", "c.b"); total != "-1" {
		t.Fatalf("c.b after restart %s", total)
	}
}

// TestIntegrationCounterSources proves a counter stream sourcing counter streams
// adds each origin's changes: its total is the sum of the origins' totals, and
// Nats-Counter-Sources records the last total seen per origin stream and subject.
func TestIntegrationCounterSources(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createCounterStream(t, js, "A", "a.>")
	createCounterStream(t, js, "B", "b.>")
	increment(t, nc, "a.x", "5")
	increment(t, nc, "b.x", "7")
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AGG", Subjects: []string{"agg.>"},
		AllowMsgCounter: true, AllowDirect: true,
		Sources: []*jetstream.StreamSource{
			{Name: "A", SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "a.>", Destination: "agg.>"}}},
			{Name: "B", SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "b.>", Destination: "agg.>"}}},
		}}); err != nil {
		t.Fatal(err)
	}
	increment(t, nc, "a.x", "10")
	increment(t, nc, "b.x", "-2")
	waitForMessages(t, js, "AGG", 4)
	total, hdr := counterMessage(t, js, "AGG", "agg.x")
	if total != "20" {
		t.Fatalf("aggregate total %s, want 20 (15 + 5)", total)
	}
	var sources map[string]map[string]string
	if err := json.Unmarshal([]byte(hdr.Get("Nats-Counter-Sources")), &sources); err != nil {
		t.Fatalf("Nats-Counter-Sources %q: %v", hdr.Get("Nats-Counter-Sources"), err)
	}
	// The totals are keyed by origin stream and origin subject (the fifth field of
	// Nats-Stream-Source), as the reference's.
	if len(sources) != 2 || len(sources["A"]) != 1 || sources["A"]["a.x"] != "15" || len(sources["B"]) != 1 || sources["B"]["b.x"] != "5" {
		t.Fatalf("Nats-Counter-Sources %v", sources)
	}
	// The aggregate still counts its own increments on top.
	if ack := increment(t, nc, "agg.x", "100"); ack.Value != "120" {
		t.Fatalf("own increment on the aggregate: %+v", ack)
	}
}
