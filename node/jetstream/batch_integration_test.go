package jetstream_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/jsapi"
)

// These tests drive atomic batch publishing (allow_atomic) with raw nats.go requests
// against the in-process server on loopback, as orbit.go's batch publisher does.

// startServerWithLimits is startServer with jetstream.limits batch settings.
func startServerWithLimits(t *testing.T, dir string, configure func(*opts.JetStreamLimitsOpts)) *node.Server {
	t.Helper()
	o := opts.Default()
	o.Host = "127.0.0.1"
	o.Port = opts.RandomPort
	o.JetStream = true
	o.StoreDir = dir
	configure(&o.JetStreamLimits)
	s, err := node.New(osenv.New(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func createAtomicStream(t *testing.T, js jetstream.JetStream, config jetstream.StreamConfig) {
	t.Helper()
	config.AllowAtomicPublish = true
	config.AllowDirect = true
	if _, err := js.CreateStream(testContext(t), config); err != nil {
		t.Fatal(err)
	}
}

// batchMessage publishes one message of batch id with the given batch sequence and
// extra headers.
func batchMessage(t *testing.T, nc *nats.Conn, subject, id string, sequence int, data string, keyValues ...string) rawAck {
	t.Helper()
	headers := append([]string{"Nats-Batch-Id", id, "Nats-Batch-Sequence", fmt.Sprint(sequence)}, keyValues...)
	return publishRaw(t, nc, subject, data, headers...)
}

// stage publishes messages 1..n-1 of a batch and checks each is staged.
func stage(t *testing.T, nc *nats.Conn, subject, id string, count int) {
	t.Helper()
	for i := 1; i <= count; i++ {
		if ack := batchMessage(t, nc, subject, id, i, fmt.Sprint(id, i)); !ack.empty {
			t.Fatalf("batch %s message %d: %+v, want an empty answer", id, i, ack)
		}
	}
}

func streamState(t *testing.T, js jetstream.JetStream, name string) jetstream.StreamState {
	t.Helper()
	stream, err := js.Stream(testContext(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return stream.CachedInfo().State
}

// TestIntegrationBatchCommit proves a batch is stored only at its commit, in order,
// with its batch headers (the last one with Nats-Batch-Commit: 1), that the commit's
// PubAck carries the batch ID and count, and that "eob" commits without its own
// message.
func TestIntegrationBatchCommit(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}})
	stage(t, nc, "b.x", "one", 2)
	if state := streamState(t, js, "B"); state.Msgs != 0 {
		t.Fatalf("staged messages visible: %+v", state)
	}
	ack := batchMessage(t, nc, "b.y", "one", 3, "one3", "Nats-Batch-Commit", "1")
	if ack.Error != nil || ack.Stream != "B" || ack.Sequence != 3 || ack.BatchID != "one" || ack.BatchSize != 3 {
		t.Fatalf("commit ack %+v", ack)
	}
	stream, err := js.Stream(testContext(t), "B")
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 3; seq++ {
		message, err := stream.GetMsg(testContext(t), seq)
		if err != nil {
			t.Fatal(err)
		}
		if string(message.Data) != fmt.Sprint("one", seq) || message.Header.Get("Nats-Batch-Id") != "one" ||
			message.Header.Get("Nats-Batch-Sequence") != fmt.Sprint(seq) {
			t.Fatalf("message %d: %q %v", seq, message.Data, message.Header)
		}
		if commit := message.Header.Get("Nats-Batch-Commit"); (seq == 3) != (commit == "1") {
			t.Fatalf("message %d commit header %q", seq, commit)
		}
	}

	stage(t, nc, "b.z", "two", 2)
	ack = batchMessage(t, nc, "b.z", "two", 3, "not stored", "Nats-Batch-Commit", "eob")
	if ack.Error != nil || ack.Sequence != 5 || ack.BatchID != "two" || ack.BatchSize != 2 {
		t.Fatalf("eob commit ack %+v", ack)
	}
	last, err := stream.GetMsg(testContext(t), 5)
	if err != nil {
		t.Fatal(err)
	}
	if string(last.Data) != "two2" || last.Header.Get("Nats-Batch-Commit") != "1" {
		t.Fatalf("eob batch's last message %q %v", last.Data, last.Header)
	}
	if state := streamState(t, js, "B"); state.Msgs != 5 || state.LastSeq != 5 {
		t.Fatalf("state %+v", state)
	}
	// A batch of one; a met Nats-Required-Api-Level is not stored.
	ack = batchMessage(t, nc, "b.x", "single", 1, "s", "Nats-Batch-Commit", "1", "Nats-Required-Api-Level", "1")
	if ack.Sequence != 6 || ack.BatchSize != 1 {
		t.Fatalf("single %+v", ack)
	}
	single, err := stream.GetMsg(testContext(t), 6)
	if err != nil {
		t.Fatal(err)
	}
	if single.Header.Get("Nats-Required-Api-Level") != "" {
		t.Fatalf("stored headers %v", single.Header)
	}
}

// TestIntegrationBatchErrors proves the reference's refusals while staging, each
// with its err_code, and that a refused batch stores nothing.
func TestIntegrationBatchErrors(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}})
	if _, err := js.CreateStream(testContext(t), jetstream.StreamConfig{Name: "N", Subjects: []string{"n.>"}}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 65)
	cases := []struct {
		subject string
		headers []string
		code    jsapi.ErrorCode
	}{
		{"n.a", []string{"Nats-Batch-Id", "x", "Nats-Batch-Sequence", "1"}, jsapi.ErrCodeAtomicPublishDisabled},
		{"b.a", []string{"Nats-Batch-Id", "x"}, jsapi.ErrCodeAtomicPublishMissingSeq},
		{"b.a", []string{"Nats-Batch-Id", "x", "Nats-Batch-Sequence", "zz"}, jsapi.ErrCodeAtomicPublishMissingSeq},
		{"b.a", []string{"Nats-Batch-Id", long, "Nats-Batch-Sequence", "1"}, jsapi.ErrCodeAtomicPublishInvalidBatchID},
		{"b.a", []string{"Nats-Batch-Id", "x", "Nats-Batch-Sequence", "2"}, jsapi.ErrCodeAtomicPublishIncompleteBatch},
		{"b.a", []string{"Nats-Batch-Id", "x", "Nats-Batch-Sequence", "1001"}, jsapi.ErrCodeAtomicPublishTooLargeBatch},
		{"b.a", []string{"Nats-Batch-Id", "x", "Nats-Batch-Sequence", "1001", "Nats-Batch-Commit", "eob"}, jsapi.ErrCodeAtomicPublishIncompleteBatch},
		{"b.a", []string{"Nats-Batch-Id", "x", "Nats-Batch-Sequence", "1002", "Nats-Batch-Commit", "eob"}, jsapi.ErrCodeAtomicPublishTooLargeBatch},
		{"b.a", []string{"Nats-Batch-Id", "e", "Nats-Batch-Sequence", "1", "Nats-Batch-Commit", "eob"}, jsapi.ErrCodeAtomicPublishIncompleteBatch},
		{"b.a", []string{"Nats-Batch-Id", "g", "Nats-Batch-Sequence", "1", "Nats-Batch-Commit", "yes"}, jsapi.ErrCodeAtomicPublishInvalidBatchCommit},
		// The invalid commit ended batch g.
		{"b.a", []string{"Nats-Batch-Id", "g", "Nats-Batch-Sequence", "2"}, jsapi.ErrCodeAtomicPublishIncompleteBatch},
		{"b.a", []string{"Nats-Batch-Id", "api", "Nats-Batch-Sequence", "1", "Nats-Required-Api-Level", "99"}, jsapi.ErrCodeRequiredApiLevel},
		{"b.a", []string{"Nats-Batch-Id", "api", "Nats-Batch-Sequence", "1", "Nats-Required-Api-Level", "x"}, jsapi.ErrCodeRequiredApiLevel},
	}
	for _, test := range cases {
		if ack := publishRaw(t, nc, test.subject, "data", test.headers...); ack.code() != test.code {
			t.Fatalf("%s %v: %+v, want err_code %d", test.subject, test.headers, ack, test.code)
		}
	}
	// A gap abandons the batch: the next messages find no batch.
	stage(t, nc, "b.a", "gap", 1)
	if ack := batchMessage(t, nc, "b.a", "gap", 3, "x"); ack.code() != jsapi.ErrCodeAtomicPublishIncompleteBatch {
		t.Fatalf("gap: %+v", ack)
	}
	if ack := batchMessage(t, nc, "b.a", "gap", 2, "x", "Nats-Batch-Commit", "1"); ack.code() != jsapi.ErrCodeAtomicPublishIncompleteBatch {
		t.Fatalf("after the gap: %+v", ack)
	}
	if state := streamState(t, js, "B"); state.Msgs != 0 {
		t.Fatalf("refused batches stored messages: %+v", state)
	}
}

// TestIntegrationBatchCommitChecks proves the checks made at the commit over the
// whole batch: any failure refuses every message of the batch.
func TestIntegrationBatchCommitChecks(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}, Duplicates: time.Minute})
	// Two messages on b.a and b.b, seqs 1 and 2; b.a's last is 1, b.b's is 2.
	if ack := batchMessage(t, nc, "b.a", "setup", 1, "a"); !ack.empty {
		t.Fatal(ack)
	}
	if ack := batchMessage(t, nc, "b.b", "setup", 2, "b", "Nats-Msg-Id", "m1", "Nats-Batch-Commit", "1"); ack.Sequence != 2 {
		t.Fatalf("setup %+v", ack)
	}
	type message struct {
		subject string
		headers []string
	}
	cases := []struct {
		name     string
		messages []message
		code     jsapi.ErrorCode
	}{
		{"duplicate in batch", []message{{"b.a", []string{"Nats-Msg-Id", "d"}}, {"b.a", []string{"Nats-Msg-Id", "d"}}}, jsapi.ErrCodeAtomicPublishContainsDuplicateMessage},
		{"duplicate of stored", []message{{"b.a", []string{"Nats-Msg-Id", "m1"}}}, jsapi.ErrCodeAtomicPublishContainsDuplicateMessage},
		{"expected last msg id", []message{{"b.a", []string{"Nats-Expected-Last-Msg-Id", "m1"}}}, jsapi.ErrCodeAtomicPublishUnsupportedHeaderBatch},
		{"expected last seq mismatch", []message{{"b.a", []string{"Nats-Expected-Last-Sequence", "9"}}}, jsapi.ErrCodeStreamWrongLastSequence},
		{"expected last seq on second", []message{{"b.a", []string{"Nats-Expected-Last-Sequence", "2"}}, {"b.a", []string{"Nats-Expected-Last-Sequence", "3"}}}, jsapi.ErrCodeStreamWrongLastSequenceConstant},
		{"expected subject seq mismatch", []message{{"b.a", []string{"Nats-Expected-Last-Subject-Sequence", "2"}}}, jsapi.ErrCodeStreamWrongLastSequence},
		{"expected subject seq after write", []message{{"b.b", nil}, {"b.b", []string{"Nats-Expected-Last-Subject-Sequence", "2"}}}, jsapi.ErrCodeStreamWrongLastSequenceConstant},
		{"expected subject without seq", []message{{"b.a", []string{"Nats-Expected-Last-Subject-Sequence-Subject", "b.a"}}}, jsapi.ErrCodeStreamExpectedLastSeqPerSubjectInvalid},
		{"expected stream", []message{{"b.a", []string{"Nats-Expected-Stream", "X"}}}, jsapi.ErrCodeStreamNotMatch},
		{"rollup not allowed", []message{{"b.a", []string{"Nats-Rollup", "sub"}}}, jsapi.ErrCodeStreamRollupFailed},
		{"ttl disabled", []message{{"b.a", []string{"Nats-TTL", "5s"}}}, jsapi.ErrCodeMessageTTLDisabled},
		{"counter disabled", []message{{"b.a", []string{"Nats-Incr", "1"}}}, jsapi.ErrCodeMessageIncrDisabled},
		{"source header", []message{{"b.a", []string{"Nats-Stream-Source", "X 1"}}}, jsapi.ErrCodeMessageSourceHdrNotAllowed},
	}
	for i, test := range cases {
		id := fmt.Sprint("c", i)
		for j, m := range test.messages {
			headers := m.headers
			if j == len(test.messages)-1 {
				headers = append(append([]string(nil), headers...), "Nats-Batch-Commit", "1")
			}
			ack := batchMessage(t, nc, m.subject, id, j+1, "x", headers...)
			if j < len(test.messages)-1 {
				if !ack.empty {
					t.Fatalf("%s: staging %+v", test.name, ack)
				}
				continue
			}
			if ack.code() != test.code {
				t.Fatalf("%s: %+v, want err_code %d", test.name, ack, test.code)
			}
		}
	}
	if state := streamState(t, js, "B"); state.Msgs != 2 || state.LastSeq != 2 {
		t.Fatalf("refused batches stored messages: %+v", state)
	}
	// The expectations that hold pass: the first message may expect the stream's
	// last sequence, and each subject its own.
	if ack := batchMessage(t, nc, "b.a", "ok", 1, "x", "Nats-Expected-Last-Sequence", "2", "Nats-Expected-Last-Subject-Sequence", "1"); !ack.empty {
		t.Fatal(ack)
	}
	if ack := batchMessage(t, nc, "b.b", "ok", 2, "x", "Nats-Expected-Last-Subject-Sequence", "2", "Nats-Batch-Commit", "1"); ack.Error != nil || ack.Sequence != 4 {
		t.Fatalf("expectations that hold: %+v", ack)
	}
}

// TestIntegrationBatchCounters proves counter increments in a batch add up in batch
// order, stored at the commit.
func TestIntegrationBatchCounters(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "C", Subjects: []string{"c.>"}, AllowMsgCounter: true})
	increment(t, nc, "c.a", "10")
	for i, by := range []string{"1", "2", "-20"} {
		if ack := batchMessage(t, nc, "c.a", "k", i+1, "", "Nats-Incr", by); !ack.empty {
			t.Fatal(ack)
		}
	}
	if ack := batchMessage(t, nc, "c.a", "k", 4, "", "Nats-Incr", "100", "Nats-Batch-Commit", "1"); ack.Error != nil || ack.BatchSize != 4 {
		t.Fatalf("commit %+v", ack)
	}
	if total, _ := counterMessage(t, js, "C", "c.a"); total != "93" {
		t.Fatalf("total %s, want 93", total)
	}
	// A batch with a message missing its increment stores nothing.
	if ack := batchMessage(t, nc, "c.a", "bad", 1, "", "Nats-Incr", "1"); !ack.empty {
		t.Fatal(ack)
	}
	if ack := batchMessage(t, nc, "c.a", "bad", 2, "", "Nats-Batch-Commit", "1"); ack.code() != jsapi.ErrCodeMessageIncrMissing {
		t.Fatalf("missing increment %+v", ack)
	}
	if total, _ := counterMessage(t, js, "C", "c.a"); total != "93" {
		t.Fatalf("total after a refused batch %s", total)
	}
}

// TestIntegrationBatchLimits proves the in-flight limits per stream and per server,
// the batch size limit and the inactivity timeout from jetstream.limits, and the
// abandoned advisory.
func TestIntegrationBatchLimits(t *testing.T) {
	s := startServerWithLimits(t, t.TempDir(), func(limits *opts.JetStreamLimitsOpts) {
		limits.MaxBatchInflightPerStream = 2
		limits.MaxBatchInflightTotal = 3
		limits.MaxBatchSize = 3
		limits.MaxBatchTimeout = 300 * time.Millisecond
	})
	nc, js := connectJetStream(t, s)
	advisories, err := nc.SubscribeSync("$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.>")
	if err != nil {
		t.Fatal(err)
	}
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}})
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "B2", Subjects: []string{"c.>"}})
	stage(t, nc, "b.a", "a", 1)
	stage(t, nc, "b.a", "b", 1)
	if ack := batchMessage(t, nc, "b.a", "c", 1, "x"); ack.code() != jsapi.ErrCodeAtomicPublishTooManyInflight {
		t.Fatalf("third batch on a stream: %+v", ack)
	}
	stage(t, nc, "c.a", "d", 1)
	if ack := batchMessage(t, nc, "c.a", "e", 1, "x"); ack.code() != jsapi.ErrCodeAtomicPublishTooManyInflight {
		t.Fatalf("fourth batch on the server: %+v", ack)
	}
	for i := 2; i <= 3; i++ {
		if ack := batchMessage(t, nc, "b.a", "a", i, "x"); !ack.empty {
			t.Fatal(ack)
		}
	}
	if ack := batchMessage(t, nc, "b.a", "a", 4, "x", "Nats-Batch-Commit", "eob"); ack.Error != nil || ack.BatchSize != 3 {
		t.Fatalf("batch at the size limit: %+v", ack)
	}
	for i := 2; i <= 3; i++ {
		if ack := batchMessage(t, nc, "b.a", "b", i, "x"); !ack.empty {
			t.Fatal(ack)
		}
	}
	if ack := batchMessage(t, nc, "b.a", "b", 4, "x"); ack.code() != jsapi.ErrCodeAtomicPublishTooLargeBatch {
		t.Fatalf("batch past the size limit: %+v", ack)
	}
	checkAdvisory(t, advisories, "B", "b", jsapi.BatchLarge)

	// Batch d hears nothing for longer than the timeout: it is abandoned.
	checkAdvisory(t, advisories, "B2", "d", jsapi.BatchTimeout)
	if ack := batchMessage(t, nc, "c.a", "d", 2, "x", "Nats-Batch-Commit", "1"); ack.code() != jsapi.ErrCodeAtomicPublishIncompleteBatch {
		t.Fatalf("commit after the timeout: %+v", ack)
	}
	// Activity keeps a batch alive past the timeout.
	stage(t, nc, "c.a", "live", 1)
	for i := 2; i <= 3; i++ {
		time.Sleep(200 * time.Millisecond)
		if ack := batchMessage(t, nc, "c.a", "live", i, "x"); !ack.empty {
			t.Fatalf("message %d of a live batch: %+v", i, ack)
		}
	}
	if ack := batchMessage(t, nc, "c.a", "live", 4, "x", "Nats-Batch-Commit", "eob"); ack.Error != nil || ack.BatchSize != 3 {
		t.Fatalf("live batch commit: %+v", ack)
	}
	if state := streamState(t, js, "B2"); state.Msgs != 3 {
		t.Fatalf("B2 %+v", state)
	}
}

// checkAdvisory waits for one batch abandoned advisory and checks it.
func checkAdvisory(t *testing.T, advisories *nats.Subscription, stream, id string, reason jsapi.BatchAbandonReason) {
	t.Helper()
	msg, err := advisories.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("advisory for batch %s: %v", id, err)
	}
	var advisory jsapi.StreamBatchAbandonedAdvisory
	if err := json.Unmarshal(msg.Data, &advisory); err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED."+stream || advisory.Type != jsapi.StreamBatchAbandonedAdvisoryType ||
		advisory.Stream != stream || advisory.BatchID != id || advisory.Reason != reason {
		t.Fatalf("advisory on %s: %s", msg.Subject, msg.Data)
	}
}

// TestIntegrationBatchRestartMidBatch proves a batch staged before a restart is
// gone after it: its commit is refused and nothing of it is stored, while batches
// committed before the restart stay whole.
func TestIntegrationBatchRestartMidBatch(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	nc, js := connectJetStream(t, s)
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}})
	stage(t, nc, "b.a", "done", 2)
	if ack := batchMessage(t, nc, "b.a", "done", 3, "x", "Nats-Batch-Commit", "1"); ack.Sequence != 3 {
		t.Fatalf("commit %+v", ack)
	}
	stage(t, nc, "b.a", "cut", 5)
	nc.Close()
	s.Shutdown()

	s = startServer(t, dir)
	nc, js = connectJetStream(t, s)
	if ack := batchMessage(t, nc, "b.a", "cut", 6, "x", "Nats-Batch-Commit", "1"); ack.code() != jsapi.ErrCodeAtomicPublishIncompleteBatch {
		t.Fatalf("commit after restart: %+v", ack)
	}
	if state := streamState(t, js, "B"); state.Msgs != 3 || state.LastSeq != 3 {
		t.Fatalf("after restart %+v", state)
	}
	// The same ID starts a new batch.
	stage(t, nc, "b.a", "cut", 1)
	if ack := batchMessage(t, nc, "b.a", "cut", 2, "x", "Nats-Batch-Commit", "1"); ack.Sequence != 5 || ack.BatchSize != 2 {
		t.Fatalf("new batch with the same ID %+v", ack)
	}
}

// TestIntegrationBatchHeadersNotCopied proves mirrors and sources of a stream that
// received batches keep the messages without their Nats-Batch-* headers, as the
// reference: a copy is no batch of its own.
func TestIntegrationBatchHeadersNotCopied(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}})
	stage(t, nc, "b.a", "x", 1)
	if ack := batchMessage(t, nc, "b.a", "x", 2, "x2", "Nats-Batch-Commit", "1", "Other", "kept"); ack.BatchSize != 2 {
		t.Fatalf("commit %+v", ack)
	}
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "B"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"own"},
		Sources: []*jetstream.StreamSource{{Name: "B"}}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"M", "S"} {
		waitForMessages(t, js, name, 2)
		for _, message := range sourcedMessages(t, js, name) {
			for key := range message.Header {
				if strings.HasPrefix(key, "Nats-Batch-") {
					t.Fatalf("%s kept %s: %v", name, key, message.Header)
				}
			}
			if string(message.Data) == "x2" && message.Header.Get("Other") != "kept" {
				t.Fatalf("%s lost the other headers: %v", name, message.Header)
			}
		}
	}
}

// TestIntegrationBatchDiscardNewAndRollups proves a discard-new stream refuses, at
// the commit, a batch it could store only in part, and that rollups in a batch are
// allowed only where they cannot undo the batch's own messages.
func TestIntegrationBatchDiscardNewAndRollups(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "D", Subjects: []string{"d.>"}, Discard: jetstream.DiscardNew, MaxMsgs: 3})
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}, Discard: jetstream.DiscardNew,
		DiscardNewPerSubject: true, MaxMsgsPerSubject: 2})
	createAtomicStream(t, js, jetstream.StreamConfig{Name: "R", Subjects: []string{"r.>"}, AllowRollup: true})
	stage(t, nc, "d.a", "d", 3)
	if ack := batchMessage(t, nc, "d.a", "d", 4, "x", "Nats-Batch-Commit", "1"); ack.code() != jsapi.ErrCodeStreamStoreFailed ||
		ack.Error.Description != "maximum messages exceeded" {
		t.Fatalf("past max_msgs: %+v", ack)
	}
	stage(t, nc, "d.a", "d3", 2)
	if ack := batchMessage(t, nc, "d.a", "d3", 3, "x", "Nats-Batch-Commit", "1"); ack.Error != nil {
		t.Fatalf("at max_msgs: %+v", ack)
	}
	for i, subject := range []string{"p.a", "p.b", "p.a"} {
		if ack := batchMessage(t, nc, subject, "p", i+1, "x"); !ack.empty {
			t.Fatal(ack)
		}
	}
	if ack := batchMessage(t, nc, "p.a", "p", 4, "x", "Nats-Batch-Commit", "1"); ack.code() != jsapi.ErrCodeStreamStoreFailed ||
		ack.Error.Description != "maximum messages per subject exceeded" {
		t.Fatalf("past max_msgs_per_subject: %+v", ack)
	}
	if state := streamState(t, js, "P"); state.Msgs != 0 {
		t.Fatalf("P %+v", state)
	}

	rollups := []struct {
		first, second []string
		secondSubject string
		code          jsapi.ErrorCode
		description   string
	}{
		{nil, []string{"Nats-Rollup", "sub"}, "r.a", jsapi.ErrCodeStreamRollupFailed, "batch rollup sub invalid"},
		{nil, []string{"Nats-Rollup", "all"}, "r.a", jsapi.ErrCodeStreamRollupFailed, "batch rollup all invalid"},
		{[]string{"Nats-Rollup", "bad"}, nil, "r.a", jsapi.ErrCodeStreamRollupFailed, `rollup value invalid: "bad"`},
		{[]string{"Nats-Rollup", "all"}, []string{"Nats-Rollup", "sub"}, "r.b", 0, ""},
	}
	for i, test := range rollups {
		id := fmt.Sprint("r", i)
		if ack := batchMessage(t, nc, "r.a", id, 1, "1", test.first...); !ack.empty {
			t.Fatalf("rollup case %d staging: %+v", i, ack)
		}
		ack := batchMessage(t, nc, test.secondSubject, id, 2, "2", append(test.second, "Nats-Batch-Commit", "1")...)
		if ack.code() != test.code || (test.code != 0 && ack.Error.Description != test.description) {
			t.Fatalf("rollup case %d: %+v", i, ack)
		}
	}
	if state := streamState(t, js, "R"); state.Msgs != 2 || state.LastSeq != 2 {
		t.Fatalf("R %+v", state)
	}
}
