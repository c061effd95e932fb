package jetstream

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/sim/simfs"
)

// linkHost is a Host for the source link tests: the test plays the origin server. It
// records what the link publishes (consumer create and delete requests, flow control
// replies) and delivers to the link's subscriptions by exact subject.
type linkHost struct {
	mu        sync.Mutex
	handlers  map[string]Handler
	published []Msg
}

type linkSubscription struct {
	host    *linkHost
	subject string
}

func (s linkSubscription) Unsubscribe() {
	s.host.mu.Lock()
	delete(s.host.handlers, s.subject)
	s.host.mu.Unlock()
}

func (h *linkHost) Publish(_, subject, reply string, hdr, data []byte) {
	h.mu.Lock()
	h.published = append(h.published, Msg{Subject: subject, Reply: reply, Header: hdr, Data: append([]byte(nil), data...)})
	h.mu.Unlock()
}

func (h *linkHost) Deliver(_, _, subject, reply string, hdr, data []byte) {
	h.Publish("", subject, reply, hdr, data)
}

func (h *linkHost) Subscribe(_, subject string, handler Handler) (Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handlers == nil {
		h.handlers = make(map[string]Handler)
	}
	h.handlers[subject] = handler
	return linkSubscription{host: h, subject: subject}, nil
}

// HasInterest: the origin's API always answers.
func (h *linkHost) HasInterest(_, subject string) bool {
	return strings.HasPrefix(subject, jsapi.APIPrefix)
}

// send delivers to the subscription on subject, if the link still has one.
func (h *linkHost) send(subject string, msg *Msg) bool {
	h.mu.Lock()
	handler := h.handlers[subject]
	h.mu.Unlock()
	if handler == nil {
		return false
	}
	handler(msg)
	return true
}

// takePublished returns and forgets what was published so far.
func (h *linkHost) takePublished() []Msg {
	h.mu.Lock()
	defer h.mu.Unlock()
	published := h.published
	h.published = nil
	return published
}

// originMessage is one message of the simulated origin stream.
type originMessage struct {
	seq     uint64
	subject string
	data    string
}

// fakeOrigin plays the origin stream and the one consumer the link asked for last.
type fakeOrigin struct {
	messages []originMessage
	// The current consumer: its deliver subject, next message index and consumer
	// sequence; name is empty when there is none.
	name           string
	deliverSubject string
	next           int
	consumerSeq    uint64
	created        int
	lastSent       *Msg
}

// linkWorld is a mirror stream "M" following the fake origin "O".
type linkWorld struct {
	t      *testing.T
	clock  *fakeClock
	tasks  *durableTasks
	host   *linkHost
	origin *fakeOrigin
	stream *Stream
}

func newLinkWorld(t *testing.T, seed uint64, origin []originMessage) *linkWorld {
	t.Helper()
	return newLinkWorldWith(t, seed, origin, jsapi.StreamSource{Name: "O"})
}

// newLinkWorldWith is newLinkWorld with the mirror configured as mirror.
func newLinkWorldWith(t *testing.T, seed uint64, origin []originMessage, mirror jsapi.StreamSource) *linkWorld {
	t.Helper()
	random := durableRand{rand.New(rand.NewPCG(seed, 1))}
	world := &linkWorld{t: t, clock: newFakeClock(), tasks: &durableTasks{}, host: &linkHost{},
		origin: &fakeOrigin{messages: origin}}
	disk := simfs.New(random, simfs.Config{Name: "links"})
	e := env.Env{Clock: world.clock, Tasks: world.tasks, Rand: random, FS: disk.FS()}
	manager, err := New(Config{Env: e, StoreDir: "/data"}, world.host)
	if err != nil {
		t.Fatal(err)
	}
	account, err := manager.EnableAccount("A", AccountLimits{})
	if err != nil {
		t.Fatal(err)
	}
	stream, _, apiErr := account.AddStream(jsapi.StreamConfig{Name: "M", Storage: jsapi.MemoryStorage,
		Mirror: &mirror}, false)
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	world.stream = stream
	return world
}

// serveRequests runs the queued tasks and answers the consumer create requests they
// sent: the newest replaces the origin's consumer; failCreate answers with an error.
func (w *linkWorld) serveRequests(failCreate bool) {
	w.tasks.runAll()
	for _, msg := range w.host.takePublished() {
		if !strings.HasPrefix(msg.Subject, jsapi.APIPrefix+".CONSUMER.CREATE.O") {
			continue
		}
		var request jsapi.CreateConsumerRequest
		if err := json.Unmarshal(msg.Data, &request); err != nil {
			w.t.Fatal(err)
		}
		if failCreate {
			response := jsapi.ConsumerCreateResponse{Response: jsapi.Response{Type: jsapi.ConsumerCreateResponseType,
				Error: jsapi.NewStreamNotFoundError()}}
			w.host.send(msg.Reply, &Msg{Subject: msg.Reply, Data: jsapi.MarshalResponse(&response)})
			continue
		}
		origin := w.origin
		origin.created++
		origin.name = "c" + strconv.Itoa(origin.created)
		origin.deliverSubject = request.Config.DeliverSubject
		origin.consumerSeq = 0
		origin.lastSent = nil
		start := uint64(1)
		if request.Config.DeliverPolicy == jsapi.DeliverByStartSequence {
			start = request.Config.OptStartSeq
		}
		origin.next = len(origin.messages)
		for i, message := range origin.messages {
			if message.seq >= start {
				origin.next = i
				break
			}
		}
		response := jsapi.ConsumerCreateResponse{Response: jsapi.Response{Type: jsapi.ConsumerCreateResponseType},
			ConsumerInfo: &jsapi.ConsumerInfo{Stream: "O", Name: origin.name, Config: &request.Config}}
		w.host.send(msg.Reply, &Msg{Subject: msg.Reply, Data: jsapi.MarshalResponse(&response)})
	}
	w.tasks.runAll()
}

// deliver sends (or, with drop, loses) the consumer's next message.
func (w *linkWorld) deliver(drop bool) {
	origin := w.origin
	if origin.name == "" || origin.next >= len(origin.messages) {
		return
	}
	message := origin.messages[origin.next]
	origin.next++
	origin.consumerSeq++
	reply := jsapi.AckReply{Stream: "O", Consumer: origin.name, Delivered: 1, StreamSeq: message.seq,
		ConsumerSeq: origin.consumerSeq, Timestamp: int64(message.seq) * 1000,
		Pending: uint64(len(origin.messages) - origin.next)}.String()
	msg := &Msg{Subject: message.subject, Reply: reply, Header: header.Build(0, "", "Origin", "yes"), Data: []byte(message.data)}
	if drop {
		return
	}
	origin.lastSent = msg
	w.host.send(origin.deliverSubject, msg)
}

// heartbeat sends an idle heartbeat naming the consumer's last sequences.
func (w *linkWorld) heartbeat() {
	origin := w.origin
	if origin.name == "" {
		return
	}
	hdr := header.Build(jsapi.StatusControl, jsapi.DescriptionIdleHeartbeat,
		jsapi.HeaderLastConsumer, strconv.FormatUint(origin.consumerSeq, 10), jsapi.HeaderLastStream, "0")
	w.host.send(origin.deliverSubject, &Msg{Subject: origin.deliverSubject, Header: hdr})
}

// TestSourceLinkMirrorsThroughFaults is a property: whatever deliveries the origin
// loses or repeats, whatever create requests fail and however long the origin stays
// silent, once the faults stop the mirror holds exactly the origin's messages at the
// origin's sequences (and nothing at the sequences the origin lacks).
func TestSourceLinkMirrorsThroughFaults(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var messages []originMessage
		seq := uint64(0)
		for i := range rapid.IntRange(0, 40).Draw(rt, "messages") {
			seq += uint64(rapid.IntRange(1, 3).Draw(rt, "step"))
			messages = append(messages, originMessage{seq: seq, subject: fmt.Sprintf("o.%d", i%4), data: fmt.Sprint("m", i)})
		}
		world := newLinkWorld(t, rapid.Uint64().Draw(rt, "seed"), messages)
		for range rapid.IntRange(0, 150).Draw(rt, "steps") {
			switch rapid.IntRange(0, 9).Draw(rt, "action") {
			case 0:
				world.serveRequests(rapid.Bool().Draw(rt, "fail"))
			case 1:
				world.deliver(true)
			case 2:
				if last := world.origin.lastSent; last != nil {
					world.host.send(world.origin.deliverSubject, last)
				}
			case 3:
				world.heartbeat()
			case 4:
				world.clock.Advance(time.Duration(rapid.IntRange(100, 5000).Draw(rt, "silence")) * time.Millisecond)
			default:
				world.serveRequests(false)
				world.deliver(false)
			}
		}
		// Faults stop: serve, deliver and let time pass until the mirror caught up.
		for round := 0; round < 200 && !world.caughtUp(seq); round++ {
			world.serveRequests(false)
			for world.origin.name != "" && world.origin.next < len(world.origin.messages) {
				world.deliver(false)
			}
			world.heartbeat()
			world.clock.Advance(sourceRetryMax)
		}
		world.check(rt, messages, seq)
	})
}

// caughtUp reports whether the mirror reached the origin's last sequence with a
// working consumer.
func (w *linkWorld) caughtUp(last uint64) bool {
	info := w.stream.Info(false, "")
	return info.State.LastSeq >= last && info.Mirror != nil && info.Mirror.Error == nil && info.Mirror.Active >= 0
}

// check compares the mirror with the origin, sequence by sequence.
func (w *linkWorld) check(rt *rapid.T, messages []originMessage, last uint64) {
	info := w.stream.Info(false, "")
	if info.State.LastSeq != last || info.State.Msgs != uint64(len(messages)) {
		rt.Fatalf("mirror state %+v, origin last %d with %d messages", info.State, last, len(messages))
	}
	bySeq := make(map[uint64]originMessage, len(messages))
	for _, message := range messages {
		bySeq[message.seq] = message
	}
	for seq := uint64(1); seq <= last; seq++ {
		stored, err := w.stream.store.LoadMsg(seq, nil)
		want, ok := bySeq[seq]
		if !ok {
			if err == nil {
				rt.Fatalf("mirror has seq %d the origin lacks", seq)
			}
			continue
		}
		if err != nil || stored.Subject != want.subject || string(stored.Msg) != want.data || stored.TS != int64(seq)*1000 {
			rt.Fatalf("seq %d: %+v %v, want %+v", seq, stored, err, want)
		}
		if value, _ := header.Get(stored.Hdr, "Origin"); string(value) != "yes" {
			rt.Fatalf("seq %d lost its header: %q", seq, stored.Hdr)
		}
	}
	if info.Mirror == nil || info.Mirror.Error != nil || info.Mirror.Lag != 0 {
		rt.Fatalf("mirror info %+v", info.Mirror)
	}
}

// TestSourceLinkFlowControlAndBackoff proves flow control requests get a reply
// without a body, a failed create is retried with a doubling backoff (bounded), and the error
// shows in the mirror's info until a create succeeds.
func TestSourceLinkFlowControlAndBackoff(t *testing.T) {
	world := newLinkWorld(t, 1, []originMessage{{seq: 1, subject: "o", data: "x"}})
	world.serveRequests(true)
	if info := world.stream.Info(false, ""); info.Mirror == nil || info.Mirror.Error == nil || info.Mirror.Active != -1 {
		t.Fatalf("mirror info after a failed create: %+v", info.Mirror)
	}
	// Failures in a row wait sourceRetryMin, then twice that, and so on up to the max.
	for attempt, wait := range []time.Duration{sourceRetryMin, 2 * sourceRetryMin, 4 * sourceRetryMin} {
		world.clock.Advance(wait - time.Millisecond)
		world.tasks.runAll()
		if requests := countCreates(world.host.published); requests != 0 {
			t.Fatalf("attempt %d: retried before %v", attempt, wait)
		}
		world.clock.Advance(time.Millisecond)
		world.serveRequests(true)
	}
	world.clock.Advance(sourceRetryMax)
	world.serveRequests(false)
	world.deliver(false)
	info := world.stream.Info(false, "")
	if info.State.Msgs != 1 || info.Mirror.Error != nil || info.Mirror.Active < 0 {
		t.Fatalf("after recovery: %+v %+v", info.State, info.Mirror)
	}
	fc := "$JS.FC.O.c1.token"
	world.host.send(world.origin.deliverSubject, &Msg{Subject: world.origin.deliverSubject, Reply: fc,
		Header: header.Build(jsapi.StatusControl, jsapi.DescriptionFlowControlRequest)})
	world.tasks.runAll()
	replied := false
	for _, msg := range world.host.takePublished() {
		if msg.Subject == fc && len(msg.Data) == 0 {
			replied = true
		}
	}
	if !replied {
		t.Fatal("flow control request not answered")
	}
}

func countCreates(published []Msg) int {
	count := 0
	for _, msg := range published {
		if strings.HasPrefix(msg.Subject, jsapi.APIPrefix+".CONSUMER.CREATE.") {
			count++
		}
	}
	return count
}

// TestSourceLinkDurableConsumer proves a mirror with a durable consumer (durable
// sourcing) only resets that consumer, never creates or deletes one; refuses it
// until its ack policy is flow_control; listens on its deliver subject only once the
// reset answered; acknowledges what it stored through its flow control replies; and
// resets the consumer again on a gap.
func TestSourceLinkDurableConsumer(t *testing.T) {
	world := newLinkWorldWith(t, 1, nil, jsapi.StreamSource{Name: "O",
		Consumer: &jsapi.StreamConsumerSource{Name: "DUR", DeliverSubject: "dur.deliver"}})
	const resetSubject = jsapi.APIPrefix + ".CONSUMER.RESET.O.DUR"
	takeResets := func() []Msg {
		t.Helper()
		world.tasks.runAll()
		var resets []Msg
		for _, msg := range world.host.takePublished() {
			switch {
			case msg.Subject == resetSubject:
				if len(msg.Data) != 0 {
					t.Fatalf("reset with a body %q", msg.Data)
				}
				resets = append(resets, msg)
			case strings.HasPrefix(msg.Subject, jsapi.APIPrefix):
				t.Fatalf("unexpected API request %s", msg.Subject)
			}
		}
		return resets
	}
	answer := func(reset Msg, ackPolicy jsapi.AckPolicy) {
		t.Helper()
		config := jsapi.ConsumerConfig{Durable: "DUR", DeliverSubject: "dur.deliver", AckPolicy: ackPolicy}
		response := jsapi.ConsumerResetResponse{Response: jsapi.Response{Type: jsapi.ConsumerResetResponseType},
			ConsumerInfo: &jsapi.ConsumerInfo{Stream: "O", Name: "DUR", Config: &config}}
		if !world.host.send(reset.Reply, &Msg{Subject: reset.Reply, Data: jsapi.MarshalResponse(&response)}) {
			t.Fatal("nobody listens for the reset response")
		}
	}
	listening := func() bool {
		world.host.mu.Lock()
		defer world.host.mu.Unlock()
		return world.host.handlers["dur.deliver"] != nil
	}
	resets := takeResets()
	if len(resets) != 1 || listening() {
		t.Fatalf("%d resets, listening %v", len(resets), listening())
	}
	answer(resets[0], jsapi.AckExplicit)
	if info := world.stream.Info(false, ""); info.Mirror.Error == nil || info.Mirror.Error.ErrCode != jsapi.ErrCodeMirrorConsumerRequiresAckFC || listening() {
		t.Fatalf("explicit acks accepted: %+v", info.Mirror)
	}
	world.clock.Advance(sourceRetryMin)
	resets = takeResets()
	if len(resets) != 1 {
		t.Fatalf("%d resets after the backoff", len(resets))
	}
	answer(resets[0], jsapi.AckFlowControl)
	if !listening() {
		t.Fatal("not listening on the deliver subject")
	}
	deliver := func(streamSeq, consumerSeq uint64) {
		reply := jsapi.AckReply{Stream: "O", Consumer: "DUR", Delivered: 1, StreamSeq: streamSeq,
			ConsumerSeq: consumerSeq, Timestamp: int64(streamSeq) * 1000}.String()
		world.host.send("dur.deliver", &Msg{Subject: "o", Reply: reply, Data: []byte(fmt.Sprint(streamSeq))})
	}
	deliver(1, 1)
	deliver(2, 2)
	const flowControl = "$JS.FC.O.DUR.1"
	world.host.send("dur.deliver", &Msg{Subject: "dur.deliver", Reply: flowControl,
		Header: header.Build(jsapi.StatusControl, jsapi.DescriptionFlowControlRequest)})
	world.tasks.runAll()
	var replies []Msg
	for _, msg := range world.host.takePublished() {
		if msg.Subject == flowControl {
			replies = append(replies, msg)
		}
	}
	if len(replies) != 1 {
		t.Fatalf("%d flow control replies", len(replies))
	}
	for key, want := range map[string]string{jsapi.HeaderLastConsumer: "2", jsapi.HeaderLastStream: "2"} {
		if value, _ := header.Get(replies[0].Header, key); string(value) != want {
			t.Fatalf("flow control reply %s = %q, want %s", key, value, want)
		}
	}
	deliver(4, 4)
	if resets := takeResets(); len(resets) != 1 {
		t.Fatalf("%d resets after a gap", len(resets))
	}
	if info := world.stream.Info(false, ""); info.State.LastSeq != 2 {
		t.Fatalf("mirror state after the gap %+v", info.State)
	}
	world.stream.stopReplication(true)
	world.tasks.runAll()
	for _, msg := range world.host.takePublished() {
		if strings.HasPrefix(msg.Subject, jsapi.APIPrefix+".CONSUMER.DELETE.") {
			t.Fatalf("the durable consumer was deleted: %s", msg.Subject)
		}
	}
}
