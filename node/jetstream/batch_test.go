package jetstream

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// publishAnswer is a publish's answer: the PubAck fields these tests read, or the
// error, or nothing for a staged batch message.
type publishAnswer struct {
	Sequence  uint64       `json:"seq"`
	Value     string       `json:"val"`
	BatchID   string       `json:"batch"`
	BatchSize uint64       `json:"count"`
	Error     *jsapi.Error `json:"error"`
	empty     bool
}

func (a publishAnswer) code() jsapi.ErrorCode {
	if a.Error == nil {
		return 0
	}
	return a.Error.ErrCode
}

// batchWorld is a Manager on a bus host, for tests that need the stream itself.
type batchWorld struct {
	t       testing.TB
	dir     string
	host    *busHost
	manager *Manager
	inbox   int
}

func newBatchWorld(t testing.TB, dir string) *batchWorld {
	t.Helper()
	w := &batchWorld{t: t, dir: dir, host: &busHost{}}
	manager, err := New(Config{Env: osenv.New(), StoreDir: dir}, w.host)
	if err != nil {
		t.Fatal(err)
	}
	w.manager = manager
	if _, err := manager.EnableAccount("A", AccountLimits{}); err != nil {
		t.Fatal(err)
	}
	return w
}

// createStream creates a stream from its JSON configuration.
func (w *batchWorld) createStream(name, config string) *Stream {
	w.t.Helper()
	answer := w.call("$JS.API.STREAM.CREATE."+name, nil, config)
	var response jsapi.Response
	if err := json.Unmarshal(answer.Data, &response); err != nil || response.Error != nil {
		w.t.Fatalf("create %s: %s", name, answer.Data)
	}
	return w.manager.Account("A").Stream(name)
}

// call sends a request and returns its single answer.
func (w *batchWorld) call(subject string, hdr []byte, body string) *Msg {
	w.t.Helper()
	w.inbox++
	inbox := fmt.Sprintf("_INBOX.q3.%d", w.inbox)
	// A file stream answers once its write is durable, from the store's sync task.
	answers := make(chan *Msg, 2)
	subscription, _ := w.host.Subscribe("", inbox, func(msg *Msg) {
		copied := *msg
		answers <- &copied
	})
	defer subscription.Unsubscribe()
	w.host.Publish("", subject, inbox, hdr, []byte(body))
	select {
	case answer := <-answers:
		return answer
	case <-time.After(5 * time.Second):
		w.t.Fatalf("%s: no answer", subject)
		return nil
	}
}

// publish publishes with headers given as key, value pairs.
func (w *batchWorld) publish(subject, body string, keyValues ...string) publishAnswer {
	w.t.Helper()
	var hdr []byte
	if len(keyValues) > 0 {
		hdr = header.Build(0, "", keyValues...)
	}
	answer := w.call(subject, hdr, body)
	if len(answer.Data) == 0 {
		return publishAnswer{empty: true}
	}
	var decoded publishAnswer
	if err := json.Unmarshal(answer.Data, &decoded); err != nil {
		w.t.Fatalf("answer %q: %v", answer.Data, err)
	}
	return decoded
}

// TestBatchRecoveryRemovesCutCommit proves that a commit cut short by a crash (the
// stream's last message belongs to a batch and is not its commit) is removed when
// the stream opens again, and that whole batches and a batch whose commit message a
// client deleted stay.
func TestBatchRecoveryRemovesCutCommit(t *testing.T) {
	dir := t.TempDir()
	w := newBatchWorld(t, dir)
	stream := w.createStream("S", `{"name":"S","subjects":["s.>"],"allow_atomic":true}`)
	w.publish("s.plain", "p")
	w.publish("s.a", "1", "Nats-Batch-Id", "whole", "Nats-Batch-Sequence", "1")
	if ack := w.publish("s.a", "2", "Nats-Batch-Id", "whole", "Nats-Batch-Sequence", "2", "Nats-Batch-Commit", "1"); ack.Sequence != 3 {
		t.Fatalf("commit %+v", ack)
	}
	// What a crash in the middle of the commit's store pass leaves.
	for i := 1; i <= 3; i++ {
		hdr := header.Build(0, "", "Nats-Batch-Id", "cut", "Nats-Batch-Sequence", strconv.Itoa(i))
		if _, _, err := stream.store.StoreMsg("s.b", hdr, []byte("cut"), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	w.manager.Stop()

	w = newBatchWorld(t, dir)
	stream = w.manager.Account("A").Stream("S")
	var state store.StreamState
	stream.store.FastState(&state)
	if state.Msgs != 3 || state.LastSeq != 3 {
		t.Fatalf("after recovery %+v, want the plain message and the whole batch", state)
	}
	if ack := w.publish("s.plain", "after"); ack.Sequence != 4 {
		t.Fatalf("next publish %+v", ack)
	}

	// A client deleting a commit message leaves a batch message last among the
	// messages, but not at the stream's last sequence: nothing is removed.
	w.publish("s.c", "1", "Nats-Batch-Id", "kept", "Nats-Batch-Sequence", "1")
	if ack := w.publish("s.c", "2", "Nats-Batch-Id", "kept", "Nats-Batch-Sequence", "2", "Nats-Batch-Commit", "1"); ack.Sequence != 6 {
		t.Fatalf("commit %+v", ack)
	}
	if apiErr := stream.DeleteMsg(6, false); apiErr != nil {
		t.Fatal(apiErr)
	}
	w.manager.Stop()
	w = newBatchWorld(t, dir)
	defer w.manager.Stop()
	stream = w.manager.Account("A").Stream("S")
	stream.store.FastState(&state)
	if state.Msgs != 5 || state.LastSeq != 6 {
		t.Fatalf("after recovery with a deleted commit %+v", state)
	}
}

// TestBatchStateMachine checks atomic batch publishing against a model: random
// messages of a few batches, with sequences that are mostly right, and commits of
// both kinds. Every answer is the one the model predicts, and the stream holds
// exactly the committed batches, each whole and in order.
func TestBatchStateMachine(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := newBatchWorld(t, t.TempDir())
		defer w.manager.Stop()
		stream := w.createStream("S", `{"name":"S","subjects":["s.>"],"allow_atomic":true,"storage":"memory"}`)
		// open is the model: each open batch's staged count.
		open := map[string]int{}
		var stored []string // the stored messages' bodies, in order
		steps := rapid.IntRange(1, 60).Draw(rt, "steps")
		for step := range steps {
			if rapid.IntRange(0, 9).Draw(rt, "plain") == 0 {
				body := fmt.Sprint("plain", step)
				if ack := w.publish("s.p", body); ack.Error != nil || ack.Sequence != uint64(len(stored)+1) {
					rt.Fatalf("plain publish %+v", ack)
				}
				stored = append(stored, body)
				continue
			}
			id := rapid.SampledFrom([]string{"x", "y", "z"}).Draw(rt, "id")
			sequence := open[id] + 1
			if rapid.IntRange(0, 5).Draw(rt, "wrong") == 0 {
				sequence = rapid.IntRange(1, 6).Draw(rt, "sequence")
			}
			commit := rapid.SampledFrom([]string{"", "", "", "1", "eob"}).Draw(rt, "commit")
			body := fmt.Sprintf("%s.%d.%d", id, sequence, step)
			headers := []string{"Nats-Batch-Id", id, "Nats-Batch-Sequence", strconv.Itoa(sequence)}
			if commit != "" {
				headers = append(headers, "Nats-Batch-Commit", commit)
			}
			ack := w.publish("s."+id, body, headers...)

			staged, isOpen := open[id]
			switch {
			case !isOpen && sequence != 1, isOpen && sequence != staged+1, sequence == 1 && commit == "eob":
				delete(open, id)
				if ack.code() != jsapi.ErrCodeAtomicPublishIncompleteBatch {
					rt.Fatalf("%s seq %d commit %q with %d staged (open %v): %+v, want incomplete", id, sequence, commit, staged, isOpen, ack)
				}
			case commit == "":
				open[id] = sequence
				if !ack.empty {
					rt.Fatalf("%s seq %d: %+v, want staged", id, sequence, ack)
				}
			default:
				delete(open, id)
				count := sequence
				if commit == "eob" {
					count--
				}
				for i := 1; i <= count; i++ {
					if i == sequence {
						stored = append(stored, body)
					} else {
						stored = append(stored, fmt.Sprintf("%s.%d.", id, i))
					}
				}
				if ack.Error != nil || ack.BatchID != id || ack.BatchSize != uint64(count) || ack.Sequence != uint64(len(stored)) {
					rt.Fatalf("%s commit %q at %d: %+v, want count %d seq %d", id, commit, sequence, ack, count, len(stored))
				}
			}
			checkStoredBatches(rt, stream, stored)
		}
	})
}

// checkStoredBatches compares the stream with the model's bodies (a staged body is
// known up to its step, which the model leaves out) and checks each stored batch is
// whole: sequences 1..n of one ID, the last with the commit header.
func checkStoredBatches(rt *rapid.T, stream *Stream, stored []string) {
	var state store.StreamState
	stream.store.FastState(&state)
	if state.Msgs != uint64(len(stored)) {
		rt.Fatalf("stream has %d messages, model %d", state.Msgs, len(stored))
	}
	expectedSequence := uint64(1)
	for i, want := range stored {
		message, err := stream.store.LoadMsg(uint64(i+1), nil)
		if err != nil {
			rt.Fatalf("load %d: %v", i+1, err)
		}
		body := string(message.Msg)
		if len(body) < len(want) || body[:len(want)] != want {
			rt.Fatalf("message %d is %q, model %q", i+1, body, want)
		}
		id, sequence, ok := batchHeaders(message.Hdr)
		if !ok {
			expectedSequence = 1
			continue
		}
		if sequence != expectedSequence || body[:len(id)] != id {
			rt.Fatalf("message %d: batch %s sequence %d, want %d", i+1, id, sequence, expectedSequence)
		}
		_, committed := header.Get(message.Hdr, jsapi.HeaderBatchCommit)
		last := i+1 == len(stored)
		if !last {
			next, _ := stream.store.LoadMsg(uint64(i+2), nil)
			_, nextSequence, nextIsBatch := batchHeaders(next.Hdr)
			last = !nextIsBatch || nextSequence == 1
		}
		if committed != last {
			rt.Fatalf("message %d: commit header %v, last of its batch %v", i+1, committed, last)
		}
		expectedSequence++
		if committed {
			expectedSequence = 1
		}
	}
}

// TestBatchInflightCountsFollowStreams proves the server-wide in-flight counts go
// down when a batch commits and when its stream is deleted with batches open.
func TestBatchInflightCountsFollowStreams(t *testing.T) {
	w := newBatchWorld(t, t.TempDir())
	defer w.manager.Stop()
	w.createStream("S", `{"name":"S","subjects":["s.>"],"allow_atomic":true,"allow_batched":true,"storage":"memory"}`)
	for _, id := range []string{"a", "b"} {
		if ack := w.publish("s.x", "1", "Nats-Batch-Id", id, "Nats-Batch-Sequence", "1"); !ack.empty {
			t.Fatalf("staging %s: %+v", id, ack)
		}
	}
	w.host.Publish("", "s.x", "FB.f.5.fail.1.0.$FI", nil, []byte("fast"))
	if atomic, fast := w.manager.atomicBatches.Load(), w.manager.fastBatches.Load(); atomic != 2 || fast != 1 {
		t.Fatalf("in flight: %d atomic, %d fast", atomic, fast)
	}
	if ack := w.publish("s.x", "2", "Nats-Batch-Id", "a", "Nats-Batch-Sequence", "2", "Nats-Batch-Commit", "1"); ack.BatchSize != 2 {
		t.Fatalf("commit %+v", ack)
	}
	if atomic := w.manager.atomicBatches.Load(); atomic != 1 {
		t.Fatalf("after a commit: %d atomic in flight", atomic)
	}
	w.call("$JS.API.STREAM.DELETE.S", nil, "")
	if atomic, fast := w.manager.atomicBatches.Load(), w.manager.fastBatches.Load(); atomic != 0 || fast != 0 {
		t.Fatalf("after deleting the stream: %d atomic, %d fast", atomic, fast)
	}
}
