package jetstream

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/memstore"
)

// fakeClock is a manual clock: time moves only in Advance, which runs due timers in
// deadline order (ties in creation order).
type fakeClock struct {
	now    time.Time
	timers []*fakeTimer
	serial int
}

type fakeTimer struct {
	clock    *fakeClock
	deadline time.Time
	serial   int
	callback func()
	pending  bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) env.Timer {
	c.serial++
	timer := &fakeTimer{clock: c, deadline: c.now.Add(max(d, 0)), serial: c.serial, callback: f, pending: true}
	c.timers = append(c.timers, timer)
	return timer
}

func (t *fakeTimer) Stop() bool {
	was := t.pending
	t.pending = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	was := t.pending
	t.clock.serial++
	t.deadline, t.serial, t.pending = t.clock.now.Add(max(d, 0)), t.clock.serial, true
	if !was {
		t.clock.timers = append(t.clock.timers, t)
	}
	return was
}

// Advance moves time forward by d, running every timer that comes due on the way.
func (c *fakeClock) Advance(d time.Duration) {
	end := c.now.Add(d)
	for {
		next := c.nextDue(end)
		if next == nil {
			break
		}
		if next.deadline.After(c.now) {
			c.now = next.deadline
		}
		next.pending = false
		next.callback()
	}
	c.now = end
}

func (c *fakeClock) nextDue(end time.Time) *fakeTimer {
	live := c.timers[:0]
	for _, timer := range c.timers {
		if timer.pending {
			live = append(live, timer)
		}
	}
	c.timers = live
	sort.SliceStable(c.timers, func(i, j int) bool {
		if !c.timers[i].deadline.Equal(c.timers[j].deadline) {
			return c.timers[i].deadline.Before(c.timers[j].deadline)
		}
		return c.timers[i].serial < c.timers[j].serial
	})
	if len(c.timers) == 0 || c.timers[0].deadline.After(end) {
		return nil
	}
	return c.timers[0]
}

// sentMessage is a message the consumer published.
type sentMessage struct {
	// subject is where the message went; messageSubject what receivers see (the
	// stream subject for deliveries).
	subject, reply string
	messageSubject string
	header, body   []byte
}

func (m sentMessage) status() (int, string) {
	code, description := header.Status(m.header)
	return code, string(description)
}

func (m sentMessage) headerValue(key string) string {
	value, _ := header.Get(m.header, key)
	return string(value)
}

// harness is a consumer's world for unit tests: a memory stream, a fake clock, a
// recording bus, controllable interest.
type harness struct {
	t            *testing.T
	clock        *fakeClock
	store        *memstore.Store
	streamConfig jsapi.StreamConfig
	sent         []sentMessage
	noInterest   map[string]bool
	handlers     map[string]func(subject, reply string, header, body []byte)
	acknowledged []uint64
	removed      []string
	consumer     *Consumer
}

func newHarness(t *testing.T, streamConfig jsapi.StreamConfig) *harness {
	t.Helper()
	if streamConfig.Name == "" {
		streamConfig.Name = "S"
	}
	if len(streamConfig.Subjects) == 0 {
		streamConfig.Subjects = []string{"s.>"}
	}
	memoryStore, err := memstore.New(store.StreamConfig{Name: streamConfig.Name, Subjects: streamConfig.Subjects, Storage: store.MemoryStorage, MaxMsgsPer: streamConfig.MaxMsgsPerSubject})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		t: t, clock: newFakeClock(), store: memoryStore, streamConfig: streamConfig,
		noInterest: make(map[string]bool),
		handlers:   make(map[string]func(string, string, []byte, []byte)),
	}
}

func (h *harness) world() consumerWorld {
	return consumerWorld{
		clock: h.clock,
		rand:  seededRand{rand.New(rand.NewPCG(1, 2))},
		publish: func(subject, reply string, headerBlock, body []byte) {
			h.sent = append(h.sent, sentMessage{subject: subject, reply: reply, messageSubject: subject, header: headerBlock, body: body})
		},
		deliver: func(deliverSubject, subject, reply string, headerBlock, body []byte) {
			h.sent = append(h.sent, sentMessage{subject: deliverSubject, reply: reply, messageSubject: subject, header: headerBlock, body: body})
		},
		hasInterest: func(subject string) bool { return !h.noInterest[subject] },
		subscribe: func(subject string, handler func(string, string, []byte, []byte)) (func(), error) {
			h.handlers[subject] = handler
			return func() { delete(h.handlers, subject) }, nil
		},
		streamName:   h.streamConfig.Name,
		streamConfig: func() jsapi.StreamConfig { return h.streamConfig },
		retention:    h.streamConfig.Retention,
		store:        h.store,
		acknowledged: func(seq uint64) { h.acknowledged = append(h.acknowledged, seq) },
		removed:      func(c *Consumer) { h.removed = append(h.removed, c.Name()) },
		accountName:  "A",
	}
}

// seededRand adapts math/rand/v2 to env.Rand for tests.
type seededRand struct{ *rand.Rand }

func (r seededRand) Intn(n int) int       { return r.IntN(n) }
func (r seededRand) Int63n(n int64) int64 { return r.Int64N(n) }
func (r seededRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.Uint64())
	}
	return len(p), nil
}

// create builds a consumer from config with the reference's defaults applied.
func (h *harness) create(config jsapi.ConsumerConfig) *Consumer {
	h.t.Helper()
	prepared, apiErr := jsapi.PrepareConsumerConfig(&config, &h.streamConfig, jsapi.ConsumerCheckOptions{})
	if apiErr != nil {
		h.t.Fatalf("config: %v", apiErr)
	}
	name := prepared.Durable
	if name == "" {
		name = prepared.Name
	}
	if name == "" {
		name = "C"
	}
	consumerStore := memstore.NewConsumerStore(storeConsumerConfig(&prepared))
	consumer, err := newConsumer(h.world(), name, prepared, consumerStore, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	consumer.signal()
	h.consumer = consumer
	return consumer
}

// publish stores a message and tells the consumer.
func (h *harness) publish(subject string, body string) uint64 {
	h.t.Helper()
	seq, _, err := h.store.StoreMsg(subject, nil, []byte(body), h.clock.Now().UnixNano(), 0)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.consumer != nil {
		h.consumer.MessageStored(seq, subject)
	}
	return seq
}

// take returns and forgets what was sent.
func (h *harness) take() []sentMessage {
	sent := h.sent
	h.sent = nil
	return sent
}

// deliveries returns the sent messages that are deliveries (they carry an ack reply).
func deliveries(sent []sentMessage) []sentMessage {
	var out []sentMessage
	for _, message := range sent {
		if strings.HasPrefix(message.reply, jsapi.AckPrefix) {
			out = append(out, message)
		}
	}
	return out
}

// statuses returns the "code description" of the sent status messages.
func statuses(sent []sentMessage) []string {
	var out []string
	for _, message := range sent {
		if code, description := message.status(); code != 0 {
			out = append(out, strings.TrimSpace(strconv.Itoa(code)+" "+description))
		}
	}
	return out
}

// ack sends body to a delivery's ack subject.
func (h *harness) ack(delivery sentMessage, body string) {
	h.t.Helper()
	h.consumer.handleAck(delivery.reply, "", nil, []byte(body))
}

// streamSequence returns the stream sequence a delivery's reply names.
func streamSequence(t *testing.T, delivery sentMessage) uint64 {
	t.Helper()
	reply, ok := jsapi.ParseAckReply(delivery.reply)
	if !ok {
		t.Fatalf("not an ack reply: %q", delivery.reply)
	}
	return reply.StreamSeq
}

func streamSequences(t *testing.T, sent []sentMessage) []uint64 {
	t.Helper()
	var out []uint64
	for _, delivery := range deliveries(sent) {
		out = append(out, streamSequence(t, delivery))
	}
	return out
}

// pull sends a pull request with body from reply.
func (h *harness) pull(reply, body string) {
	h.consumer.NextRequest(reply, []byte(body))
}

// newStoreWithState returns a memory consumer store holding state.
func newStoreWithState(t *testing.T, config *jsapi.ConsumerConfig, state *store.ConsumerState) store.ConsumerStore {
	t.Helper()
	consumerStore := memstore.NewConsumerStore(storeConsumerConfig(config))
	if err := consumerStore.Update(state); err != nil {
		t.Fatal(err)
	}
	return consumerStore
}
