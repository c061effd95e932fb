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

// These tests drive fast batch publishing (allow_batched) with raw nats.go messages
// whose reply subjects carry the batch state, reading every answer on that subject.

// fastAnswer is one answer on a fast batch reply subject: a flow control message
// (Type set) or a PubAck or error.
type fastAnswer struct {
	Type      string       `json:"type"`
	Sequence  uint64       `json:"seq"`
	Messages  uint16       `json:"msgs"`
	LastSeq   uint64       `json:"last_seq"`
	Stream    string       `json:"stream"`
	BatchID   string       `json:"batch"`
	BatchSize uint64       `json:"count"`
	Duplicate bool         `json:"duplicate"`
	Error     *jsapi.Error `json:"error"`
}

func (a fastAnswer) String() string {
	switch {
	case a.Type == "ack":
		return fmt.Sprintf("ack %d/%d", a.Sequence, a.Messages)
	case a.Type == "gap":
		return fmt.Sprintf("gap %d->%d", a.LastSeq, a.Sequence)
	case a.Type == "err":
		return fmt.Sprintf("err %d %d", a.Sequence, a.Error.ErrCode)
	case a.Error != nil:
		return fmt.Sprintf("error %d", a.Error.ErrCode)
	case a.Duplicate:
		return fmt.Sprintf("duplicate %d %s/%d", a.Sequence, a.BatchID, a.BatchSize)
	default:
		return fmt.Sprintf("puback %d %s/%d", a.Sequence, a.BatchID, a.BatchSize)
	}
}

// fastPublisher publishes one fast batch and reads its answers.
type fastPublisher struct {
	t           *testing.T
	nc          *nats.Conn
	subject, id string
	flow        int
	gap         string
	answers     *nats.Subscription
}

func newFastPublisher(t *testing.T, nc *nats.Conn, subject, id string, flow int, gap string) *fastPublisher {
	t.Helper()
	answers, err := nc.SubscribeSync("FB." + id + ".>")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = answers.Unsubscribe() })
	return &fastPublisher{t: t, nc: nc, subject: subject, id: id, flow: flow, gap: gap, answers: answers}
}

// send publishes message sequence with the operation (0 start, 1 append, 2 commit,
// 3 commit end of batch, 4 ping) and headers as key, value pairs.
func (p *fastPublisher) send(sequence, operation int, data string, keyValues ...string) {
	p.t.Helper()
	msg := nats.NewMsg(p.subject)
	msg.Reply = fmt.Sprintf("FB.%s.%d.%s.%d.%d.$FI", p.id, p.flow, p.gap, sequence, operation)
	msg.Data = []byte(data)
	for i := 0; i+1 < len(keyValues); i += 2 {
		msg.Header.Set(keyValues[i], keyValues[i+1])
	}
	if err := p.nc.PublishMsg(msg); err != nil {
		p.t.Fatal(err)
	}
}

// expect reads answers until want ones came (checking each), then checks nothing
// else comes for a moment.
func (p *fastPublisher) expect(want ...string) {
	p.t.Helper()
	if err := p.nc.Flush(); err != nil {
		p.t.Fatal(err)
	}
	for i, expected := range want {
		msg, err := p.answers.NextMsg(5 * time.Second)
		if err != nil {
			p.t.Fatalf("answer %d of %v: %v", i, want, err)
		}
		var answer fastAnswer
		if err := json.Unmarshal(msg.Data, &answer); err != nil {
			p.t.Fatalf("answer %q: %v", msg.Data, err)
		}
		if answer.String() != expected {
			p.t.Fatalf("answer %d: %s (%s), want %s", i, answer, msg.Data, expected)
		}
	}
	if msg, err := p.answers.NextMsg(50 * time.Millisecond); err == nil {
		p.t.Fatalf("unexpected answer %s after %v", msg.Data, want)
	}
}

func createFastStream(t *testing.T, js jetstream.JetStream, name, subject string) {
	t.Helper()
	config := jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Duplicates: time.Minute}
	if _, err := js.CreateStream(testContext(t), config); err != nil {
		t.Fatal(err)
	}
	// nats.go v1.55 has no field for allow_batched: set it through the raw API.
	update := fmt.Sprintf(`{"name":%q,"subjects":[%q],"duplicate_window":60000000000,"allow_batched":true}`, name, subject)
	nc := js.Conn()
	answer, err := nc.Request("$JS.API.STREAM.UPDATE."+name, []byte(update), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var response jsapi.Response
	if err := json.Unmarshal(answer.Data, &response); err != nil || response.Error != nil {
		t.Fatalf("allow_batched: %s", answer.Data)
	}
}

// TestIntegrationFastBatchFlow proves the normal flow: the first message answers
// with the starting flow, a flow ack every flow messages, a ping repeats the last
// one, and the commit answers a PubAck with the batch ID and count; eob commits
// without its message.
func TestIntegrationFastBatchFlow(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createFastStream(t, js, "F", "f.>")
	p := newFastPublisher(t, nc, "f.a", "a", 3, "fail")
	p.send(1, 0, "m1")
	p.expect("ack 0/3")
	for i := 2; i <= 7; i++ {
		p.send(i, 1, fmt.Sprint("m", i))
	}
	p.expect("ack 3/3", "ack 6/3")
	p.send(7, 4, "")
	p.expect("ack 6/3")
	p.send(8, 2, "m8")
	p.expect("puback 8 a/8")
	if state := streamState(t, js, "F"); state.Msgs != 8 {
		t.Fatalf("state %+v", state)
	}
	// The batch is over.
	p.send(9, 1, "late")
	p.expect("error 10208")

	eob := newFastPublisher(t, nc, "f.a", "eob", 2, "fail")
	eob.send(1, 0, "e1")
	eob.send(2, 1, "e2")
	eob.send(3, 3, "not stored")
	eob.expect("ack 0/2", "ack 2/2", "puback 10 eob/2")
	if state := streamState(t, js, "F"); state.Msgs != 10 {
		t.Fatalf("state after eob %+v", state)
	}
}

// TestIntegrationFastBatchGaps proves gap handling: in "fail" mode a lost message
// ends the batch with a PubAck for what was stored (a ping finds the loss too), in
// "ok" mode the batch goes on, and a repeated message ends it either way.
func TestIntegrationFastBatchGaps(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createFastStream(t, js, "F", "f.>")
	fail := newFastPublisher(t, nc, "f.a", "fail", 5, "fail")
	fail.send(1, 0, "m1")
	fail.send(3, 1, "m3")
	fail.expect("ack 0/5", "gap 2->3", "puback 1 fail/1")

	ping := newFastPublisher(t, nc, "f.a", "ping", 5, "fail")
	ping.send(1, 0, "m1")
	ping.send(3, 4, "")
	ping.expect("ack 0/5", "gap 2->4", "puback 2 ping/1")

	ok := newFastPublisher(t, nc, "f.a", "ok", 2, "ok")
	ok.send(1, 0, "m1")
	ok.send(4, 1, "m4")
	ok.send(5, 2, "m5")
	ok.expect("ack 0/2", "gap 2->4", "ack 4/2", "puback 5 ok/5")

	back := newFastPublisher(t, nc, "f.a", "back", 2, "ok")
	back.send(1, 0, "m1")
	back.send(3, 1, "m3")
	back.send(2, 1, "m2 late")
	back.expect("ack 0/2", "gap 2->3", "ack 2/2", "gap 4->2", "puback 7 back/3")
	if state := streamState(t, js, "F"); state.Msgs != 7 {
		t.Fatalf("state %+v", state)
	}
}

// TestIntegrationFastBatchRefusals proves the errors: a refused message ends a
// "fail" batch (an error report, then the PubAck), is skipped in an "ok" batch, and
// fails a batch's first message as a plain publish would; a duplicate is skipped.
func TestIntegrationFastBatchRefusals(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createFastStream(t, js, "F", "f.>")
	if _, err := js.CreateStream(testContext(t), jetstream.StreamConfig{Name: "N", Subjects: []string{"n.>"}}); err != nil {
		t.Fatal(err)
	}
	fail := newFastPublisher(t, nc, "f.a", "fail", 5, "fail")
	fail.send(1, 0, "m1")
	fail.send(2, 1, "m2", "Nats-Expected-Last-Sequence", "99")
	fail.expect("ack 0/5", "err 2 10071", "puback 1 fail/1")

	ok := newFastPublisher(t, nc, "f.a", "ok", 5, "ok")
	ok.send(1, 0, "m1")
	ok.send(2, 1, "m2", "Nats-Expected-Last-Sequence", "99")
	ok.send(3, 2, "m3")
	ok.expect("ack 0/5", "err 2 10071", "puback 3 ok/3")

	first := newFastPublisher(t, nc, "f.a", "first", 5, "fail")
	first.send(1, 0, "m1", "Nats-Expected-Last-Sequence", "99")
	first.expect("ack 0/5", "error 10071")

	duplicate := newFastPublisher(t, nc, "f.a", "dup", 5, "fail")
	duplicate.send(1, 0, "m1", "Nats-Msg-Id", "d")
	duplicate.send(2, 1, "m2", "Nats-Msg-Id", "d")
	duplicate.send(3, 2, "m3")
	duplicate.expect("ack 0/5", "puback 5 dup/3")
	again := newFastPublisher(t, nc, "f.a", "again", 5, "fail")
	again.send(1, 2, "m1", "Nats-Msg-Id", "d")
	again.expect("duplicate 4 again/1")

	long := fmt.Sprintf("%065d", 0)
	for _, test := range []struct {
		subject, reply string
		code           jsapi.ErrorCode
	}{
		{"n.a", "FB.x.5.fail.1.0.$FI", jsapi.ErrCodeBatchPublishDisabled},
		{"f.a", "FB.x.5.fail.2.0.$FI", jsapi.ErrCodeBatchPublishInvalidPattern},
		{"f.a", "FB.x.5.maybe.1.0.$FI", jsapi.ErrCodeBatchPublishInvalidPattern},
		{"f.a", "FB." + long + ".5.fail.1.0.$FI", jsapi.ErrCodeBatchPublishInvalidBatchID},
		{"f.a", "FB.x.5.fail.2.1.$FI", jsapi.ErrCodeBatchPublishUnknownBatchID},
		{"f.a", "FB.x.5.fail.1.4.$FI", jsapi.ErrCodeBatchPublishUnknownBatchID},
	} {
		sub, err := nc.SubscribeSync(test.reply)
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.PublishRequest(test.subject, test.reply, []byte("x")); err != nil {
			t.Fatal(err)
		}
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("%s %s: %v", test.subject, test.reply, err)
		}
		var decoded fastAnswer
		if err := json.Unmarshal(msg.Data, &decoded); err != nil || decoded.Error == nil || decoded.Error.ErrCode != test.code {
			t.Fatalf("%s %s: %s, want err_code %d", test.subject, test.reply, msg.Data, test.code)
		}
		_ = sub.Unsubscribe()
	}
}

// TestIntegrationFastBatchSharedFlow proves a second batch on a stream starts with
// an ack every message and ramps up toward its share.
func TestIntegrationFastBatchSharedFlow(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	createFastStream(t, js, "F", "f.>")
	one := newFastPublisher(t, nc, "f.a", "one", 8, "fail")
	one.send(1, 0, "m1")
	one.expect("ack 0/8")
	two := newFastPublisher(t, nc, "f.b", "two", 8, "fail")
	two.send(1, 0, "m1")
	for i := 2; i <= 7; i++ {
		two.send(i, 1, "m")
	}
	two.expect("ack 0/1", "ack 1/2", "ack 3/4", "ack 7/8")
}
