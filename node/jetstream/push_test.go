package jetstream

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store/memstore"
)

// TestPushDeliversWhileInterested proves a push consumer delivers only while its
// deliver subject has interest, and catches up when interest returns.
func TestPushDeliversWhileInterested(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.noInterest["d"] = true
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit})
	h.publish("s.a", "1")
	if len(deliveries(h.take())) != 0 {
		t.Fatal("delivered without interest")
	}
	if h.consumer.Info().PushBound {
		t.Fatal("push bound without interest")
	}
	delete(h.noInterest, "d")
	h.consumer.InterestChanged()
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("delivered %v", got)
	}
	if !h.consumer.Info().PushBound {
		t.Fatal("not push bound")
	}
}

// TestPushInterestIsPolled proves a push consumer notices new interest by itself
// when the host does not report it.
func TestPushInterestIsPolled(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.noInterest["d"] = true
	h.publish("s.a", "1")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit})
	delete(h.noInterest, "d")
	h.clock.Advance(time.Second)
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("delivered %v", got)
	}
}

// TestPushIdleHeartbeat proves an idle push consumer sends "100 Idle Heartbeat" with
// the last sequences, and that deliveries postpone it.
func TestPushIdleHeartbeat(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "1")
	h.create(jsapi.ConsumerConfig{DeliverSubject: "d", AckPolicy: jsapi.AckNone, Heartbeat: time.Second, FlowControl: true})
	h.take()
	h.clock.Advance(1500 * time.Millisecond)
	sent := h.take()
	if got := statuses(sent); !slices.Equal(got, []string{"100 Idle Heartbeat"}) {
		t.Fatalf("statuses %v", got)
	}
	if sent[0].headerValue(headerLastConsumer) != "1" || sent[0].headerValue(headerLastStream) != "1" {
		t.Fatalf("heartbeat header %q", sent[0].header)
	}
}

// TestPushFlowControl proves a flow controlled push consumer asks for a flow control
// reply once half its window is used, stalls past the window, and resumes on the
// reply; an idle heartbeat meanwhile names the stalled reply subject.
func TestPushFlowControl(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{DeliverSubject: "d", AckPolicy: jsapi.AckNone, Heartbeat: time.Second, FlowControl: true})
	h.take()
	window := h.consumer.pendingBytesMax
	body := string(make([]byte, window/4))
	for range 8 {
		h.publish("s.a", body)
	}
	sent := h.take()
	var flowControl sentMessage
	delivered := 0
	for _, message := range sent {
		if code, description := message.status(); code == 100 && description == jsapi.DescriptionFlowControlRequest {
			flowControl = message
		} else if code == 0 {
			delivered++
		}
	}
	if flowControl.reply == "" {
		t.Fatal("no flow control request")
	}
	if delivered >= 8 {
		t.Fatal("did not stall")
	}
	h.clock.Advance(1100 * time.Millisecond)
	heartbeat := h.take()
	if len(heartbeat) != 1 || heartbeat[0].headerValue(jsapi.HeaderConsumerStalled) != flowControl.reply {
		t.Fatalf("heartbeat %+v", heartbeat)
	}
	h.handlers[h.consumer.flowControlPrefix()+"*"](flowControl.reply, "", nil, nil)
	if got := len(deliveries(h.take())); got == 0 {
		t.Fatal("did not resume after the flow control reply")
	}
}

// TestInactiveThresholdDeletesEphemeral proves an ephemeral push consumer without
// interest is deleted after its inactive threshold, and a pull consumer without
// requests too.
func TestInactiveThresholdDeletesEphemeral(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.noInterest["d"] = true
	h.create(jsapi.ConsumerConfig{Name: "E", DeliverSubject: "d", AckPolicy: jsapi.AckNone, InactiveThreshold: 2 * time.Second})
	h.clock.Advance(1500 * time.Millisecond)
	if len(h.removed) != 0 {
		t.Fatal("deleted early")
	}
	h.clock.Advance(time.Second)
	if !slices.Equal(h.removed, []string{"E"}) || !h.consumer.isClosed() {
		t.Fatalf("removed %v", h.removed)
	}

	h = newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Name: "P", AckPolicy: jsapi.AckExplicit, InactiveThreshold: time.Second})
	h.pull("r", `{"batch":1,"expires":3000000000}`)
	h.clock.Advance(2 * time.Second)
	if len(h.removed) != 0 {
		t.Fatal("deleted while a request waits")
	}
	h.clock.Advance(3 * time.Second)
	if !slices.Equal(h.removed, []string{"P"}) {
		t.Fatalf("removed %v", h.removed)
	}
}

// TestDeliverPolicies proves each deliver policy's starting point.
func TestDeliverPolicies(t *testing.T) {
	cases := []struct {
		name   string
		config jsapi.ConsumerConfig
		want   []uint64
	}{
		{"all", jsapi.ConsumerConfig{DeliverPolicy: jsapi.DeliverAll}, []uint64{1, 2, 3, 4, 5}},
		{"last", jsapi.ConsumerConfig{DeliverPolicy: jsapi.DeliverLast}, []uint64{5}},
		{"last filtered", jsapi.ConsumerConfig{DeliverPolicy: jsapi.DeliverLast, FilterSubject: "s.c"}, []uint64{3}},
		{"new", jsapi.ConsumerConfig{DeliverPolicy: jsapi.DeliverNew}, nil},
		{"by start sequence", jsapi.ConsumerConfig{DeliverPolicy: jsapi.DeliverByStartSequence, OptStartSeq: 3}, []uint64{3, 4, 5}},
		{"last per subject", jsapi.ConsumerConfig{DeliverPolicy: jsapi.DeliverLastPerSubject, FilterSubject: "s.>"}, []uint64{3, 4, 5}},
		{"filters", jsapi.ConsumerConfig{FilterSubjects: []string{"s.b", "s.c"}}, []uint64{2, 3, 5}},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			h := newHarness(t, jsapi.StreamConfig{})
			for _, subject := range []string{"s.a", "s.b", "s.c", "s.a", "s.b"} {
				h.publish(subject, "x")
			}
			config := test.config
			config.Durable, config.DeliverSubject, config.AckPolicy = "D", "d", jsapi.AckExplicit
			h.create(config)
			if got := streamSequences(t, h.take()); !slices.Equal(got, test.want) {
				t.Fatalf("delivered %v, want %v", got, test.want)
			}
			h.publish("s.c", "new")
			if got := streamSequences(t, h.take()); len(got) != 1 || got[0] != 6 {
				t.Fatalf("new message: %v", got)
			}
		})
	}
}

// TestDeliverByStartTime proves by_start_time starts at the first message stored at
// or after the time.
func TestDeliverByStartTime(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "1")
	h.clock.Advance(time.Minute)
	start := h.clock.Now()
	h.publish("s.a", "2")
	h.publish("s.a", "3")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit, DeliverPolicy: jsapi.DeliverByStartTime, OptStartTime: &start})
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{2, 3}) {
		t.Fatalf("delivered %v", got)
	}
}

// TestHeadersOnly proves headers_only replaces the payload with Nats-Msg-Size.
func TestHeadersOnly(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "hello")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckNone, HeadersOnly: true})
	sent := deliveries(h.take())
	if len(sent) != 1 || len(sent[0].body) != 0 || sent[0].headerValue(jsapi.HeaderMsgSize) != "5" {
		t.Fatalf("sent %+v", sent)
	}
}

// TestReplayOriginal proves replay_policy original spaces deliveries as the messages
// were stored.
func TestReplayOriginal(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "1")
	h.clock.Advance(2 * time.Second)
	h.publish("s.a", "2")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckNone, ReplayPolicy: jsapi.ReplayOriginal})
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("at once %v", got)
	}
	h.clock.Advance(1900 * time.Millisecond)
	if len(h.take()) != 0 {
		t.Fatal("replayed early")
	}
	h.clock.Advance(200 * time.Millisecond)
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("later %v", got)
	}
}

// TestRateLimit proves rate_limit_bps spaces deliveries by their size.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	for range 3 {
		h.publish("s.a", string(make([]byte, 1000)))
	}
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckNone, RateLimit: 8 * 1000})
	first := len(deliveries(h.take()))
	if first != 1 {
		t.Fatalf("delivered %d at once", first)
	}
	h.clock.Advance(3 * time.Second)
	if got := len(deliveries(h.take())); got != 2 {
		t.Fatalf("delivered %d later", got)
	}
}

// TestPauseAndResume proves a paused consumer delivers nothing until pause_until.
func TestPauseAndResume(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit})
	until := h.clock.Now().Add(time.Minute)
	if _, paused := h.consumer.Pause(until); !paused {
		t.Fatal("not paused")
	}
	h.publish("s.a", "1")
	if len(deliveries(h.take())) != 0 || !h.consumer.Info().Paused {
		t.Fatal("delivered while paused")
	}
	h.clock.Advance(time.Minute)
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("after resume %v", got)
	}
}

// TestRestoreFromStoredState proves a consumer rebuilt over its stored state resumes
// where it was: delivered position, ack floor, and pending messages redelivered.
func TestRestoreFromStoredState(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	for range 4 {
		h.publish("s.a", "x")
	}
	config := jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit, AckWait: time.Second}
	first := h.create(config)
	sent := h.pullAll(3)
	h.ack(sent[0], "+ACK")
	state, err := first.store.State()
	if err != nil {
		t.Fatal(err)
	}
	first.Stop()

	prepared, _ := jsapi.PrepareConsumerConfig(&config, &h.streamConfig, jsapi.ConsumerCheckOptions{})
	restoredStore := newStoreWithState(t, &prepared, state)
	restored, err := newConsumer(h.world(), "D", prepared, restoredStore, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	restored.signal()
	h.consumer = restored
	info := restored.Info()
	if info.Delivered.Stream != 3 || info.AckFloor.Stream != 1 || info.NumAckPending != 2 || info.NumPending != 1 {
		t.Fatalf("restored info %+v pending %d", info, info.NumPending)
	}
	if got := streamSequences(t, h.pullAll(1)); !slices.Equal(got, []uint64{4}) {
		t.Fatalf("next %v", got)
	}
	h.clock.Advance(2 * time.Second)
	if got := streamSequences(t, h.pullAll(5)); !slices.Equal(got, []uint64{2, 3, 4}) {
		t.Fatalf("redelivered %v", got)
	}
}

// TestInactiveThresholdPassesDespiteMessages proves that messages arriving for a push
// consumer without interest do not postpone its inactive threshold, and that interest
// arriving soon after creation is noticed within milliseconds.
func TestInactiveThresholdPassesDespiteMessages(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.noInterest["d"] = true
	h.create(jsapi.ConsumerConfig{Name: "E", DeliverSubject: "d", AckPolicy: jsapi.AckNone, InactiveThreshold: time.Second})
	for range 30 {
		h.clock.Advance(100 * time.Millisecond)
		h.publish("s.a", "x")
	}
	if !slices.Equal(h.removed, []string{"E"}) {
		t.Fatalf("removed %v", h.removed)
	}

	h = newHarness(t, jsapi.StreamConfig{})
	h.noInterest["d"] = true
	h.publish("s.a", "x")
	h.create(jsapi.ConsumerConfig{Name: "F", DeliverSubject: "d", AckPolicy: jsapi.AckNone})
	h.clock.Advance(5 * time.Millisecond)
	delete(h.noInterest, "d")
	h.clock.Advance(10 * time.Millisecond)
	if len(deliveries(h.take())) != 1 {
		t.Fatal("new interest not noticed within 10ms")
	}
}

// TestLostInterestIsNoticed proves a push consumer notices its subscriber leaving
// without any message or heartbeat, reports it in push_bound, and an ephemeral one is
// deleted after its threshold.
func TestLostInterestIsNoticed(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Name: "E", DeliverSubject: "d", AckPolicy: jsapi.AckNone, InactiveThreshold: 50 * time.Millisecond})
	if !h.consumer.Info().PushBound {
		t.Fatal("not bound")
	}
	h.noInterest["d"] = true
	if h.consumer.Info().PushBound {
		t.Fatal("still bound after the subscriber left")
	}
	h.clock.Advance(150 * time.Millisecond)
	if !slices.Equal(h.removed, []string{"E"}) {
		t.Fatalf("removed %v", h.removed)
	}
	h = newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Name: "F", DeliverSubject: "d", AckPolicy: jsapi.AckNone, InactiveThreshold: 50 * time.Millisecond})
	h.noInterest["d"] = true
	h.clock.Advance(150 * time.Millisecond)
	if !slices.Equal(h.removed, []string{"F"}) {
		t.Fatalf("removed %v without an info call", h.removed)
	}
}

// TestNoDeliveryIntoTheVoid proves a message stored after the subscriber left is not
// sent to nobody but kept for the next subscriber.
func TestNoDeliveryIntoTheVoid(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit})
	h.noInterest["d"] = true
	h.publish("s.a", "x")
	if len(deliveries(h.take())) != 0 {
		t.Fatal("delivered without interest")
	}
	delete(h.noInterest, "d")
	h.clock.Advance(time.Second)
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("delivered %v", got)
	}
}

// interestBus is a fake InterestWatcher for the harness: it counts subscriptions by
// subject and queue group, and queues the watch callbacks a change concerns until
// run, as a host runs them from tasks.
type interestBus struct {
	subscriptions map[[2]string]int
	watches       map[[2]string][]*busWatch
	due           []func()
}

// busWatch is one watch of the bus; a cancelled one is never called again.
type busWatch struct {
	changed   func()
	cancelled bool
}

func newInterestBus() *interestBus {
	return &interestBus{subscriptions: make(map[[2]string]int), watches: make(map[[2]string][]*busWatch)}
}

func (b *interestBus) subscribe(subject, group string) {
	key := [2]string{subject, group}
	b.subscriptions[key]++
	b.notify(key)
}

func (b *interestBus) unsubscribe(subject, group string) {
	key := [2]string{subject, group}
	b.subscriptions[key]--
	b.notify(key)
}

func (b *interestBus) notify(key [2]string) {
	for _, watch := range b.watches[key] {
		if !watch.cancelled {
			b.due = append(b.due, watch.changed)
		}
	}
}

// liveWatches counts the watches not cancelled.
func (b *interestBus) liveWatches() int {
	live := 0
	for _, watches := range b.watches {
		for _, watch := range watches {
			if !watch.cancelled {
				live++
			}
		}
	}
	return live
}

// run runs the queued callbacks.
func (b *interestBus) run() {
	due := b.due
	b.due = nil
	for _, changed := range due {
		changed()
	}
}

// watchedCreate is harness.create with a world whose host reports interest through bus.
func watchedCreate(h *harness, bus *interestBus, config jsapi.ConsumerConfig) *Consumer {
	h.t.Helper()
	prepared, apiErr := jsapi.PrepareConsumerConfig(&config, &h.streamConfig, jsapi.ConsumerCheckOptions{})
	if apiErr != nil {
		h.t.Fatalf("config: %v", apiErr)
	}
	name := cmp.Or(prepared.Durable, prepared.Name, "C")
	world := h.world()
	world.hasInterest = func(subject string) bool {
		if subject == prepared.DeliverSubject {
			h.t.Fatal("a watched consumer asked for plain interest in its deliver subject")
		}
		return false
	}
	world.deliveryInterest = func(subject, group string) bool { return bus.subscriptions[[2]string{subject, group}] > 0 }
	world.watchInterest = func(subject, group string, changed func()) func() {
		key := [2]string{subject, group}
		watch := &busWatch{changed: changed}
		bus.watches[key] = append(bus.watches[key], watch)
		return func() { watch.cancelled = true }
	}
	consumer, err := newConsumer(world, name, prepared, memstore.NewConsumerStore(storeConsumerConfig(&prepared)), h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	consumer.signal()
	h.consumer = consumer
	return consumer
}

// pendingTimers counts the armed timers of the harness clock.
func pendingTimers(h *harness) int {
	count := 0
	for _, timer := range h.clock.timers {
		if timer.pending {
			count++
		}
	}
	return count
}

// TestPushWatchedLateSubscriber proves that, on a host that reports interest, a push
// consumer without subscribers arms no timer at all (nothing polls), and delivers as
// soon as the report of a subscriber runs, without any time passing.
func TestPushWatchedLateSubscriber(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	bus := newInterestBus()
	h.publish("s.a", "1")
	watchedCreate(h, bus, jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit})
	h.publish("s.b", "2")
	h.clock.Advance(10 * time.Second)
	if sent := h.take(); len(sent) != 0 {
		t.Fatalf("sent %d messages without interest", len(sent))
	}
	if got := pendingTimers(h); got != 0 {
		t.Fatalf("%d timers armed while waiting for interest", got)
	}
	bus.subscribe("d", "")
	bus.run()
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("delivered %v", got)
	}
	if !h.consumer.Info().PushBound {
		t.Fatal("not push bound")
	}
	bus.unsubscribe("d", "")
	bus.run()
	h.publish("s.c", "3")
	if sent := h.take(); len(sent) != 0 {
		t.Fatalf("sent %d messages after interest went", len(sent))
	}
}

// TestPushWatchedDeliverGroup proves that only subscriptions in the deliver group
// make a grouped push consumer active, and only plain ones an ungrouped one.
func TestPushWatchedDeliverGroup(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	bus := newInterestBus()
	h.publish("s.a", "1")
	watchedCreate(h, bus, jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", DeliverGroup: "g", AckPolicy: jsapi.AckExplicit})
	bus.subscribe("d", "")
	bus.subscribe("d", "other")
	bus.run()
	if sent := h.take(); len(sent) != 0 || h.consumer.Info().PushBound {
		t.Fatalf("active without a member of the group: %d sent", len(sent))
	}
	bus.subscribe("d", "g")
	bus.run()
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("delivered %v", got)
	}
}

// TestPushWatchedInactiveThreshold proves that an ephemeral push consumer with a
// subscriber lives on past its inactive threshold, and is deleted exactly one
// threshold after its last subscriber left; a subscriber returning in time keeps it.
func TestPushWatchedInactiveThreshold(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	bus := newInterestBus()
	bus.subscribe("d", "")
	watchedCreate(h, bus, jsapi.ConsumerConfig{Name: "E", DeliverSubject: "d", AckPolicy: jsapi.AckNone, InactiveThreshold: 2 * time.Second})
	h.clock.Advance(10 * time.Second)
	if len(h.removed) != 0 {
		t.Fatal("deleted while interested")
	}
	bus.unsubscribe("d", "")
	bus.run()
	h.clock.Advance(1500 * time.Millisecond)
	bus.subscribe("d", "")
	bus.run()
	h.clock.Advance(5 * time.Second)
	if len(h.removed) != 0 {
		t.Fatal("deleted although the subscriber came back")
	}
	bus.unsubscribe("d", "")
	bus.run()
	h.clock.Advance(1999 * time.Millisecond)
	if len(h.removed) != 0 {
		t.Fatal("deleted early")
	}
	h.clock.Advance(2 * time.Millisecond)
	if !slices.Equal(h.removed, []string{"E"}) || !h.consumer.isClosed() {
		t.Fatalf("removed %v", h.removed)
	}
}

// TestPushWatchedHeartbeatAndFlowControl proves idle heartbeats and flow control
// work the same on a host that reports interest.
func TestPushWatchedHeartbeatAndFlowControl(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	bus := newInterestBus()
	bus.subscribe("d", "")
	watchedCreate(h, bus, jsapi.ConsumerConfig{DeliverSubject: "d", AckPolicy: jsapi.AckNone, Heartbeat: time.Second, FlowControl: true})
	h.take()
	h.clock.Advance(1500 * time.Millisecond)
	if got := statuses(h.take()); !slices.Equal(got, []string{"100 Idle Heartbeat"}) {
		t.Fatalf("statuses %v", got)
	}
	body := string(make([]byte, h.consumer.pendingBytesMax/4))
	for range 8 {
		h.publish("s.a", body)
	}
	var flowControl sentMessage
	for _, message := range h.take() {
		if code, description := message.status(); code == 100 && description == jsapi.DescriptionFlowControlRequest {
			flowControl = message
		}
	}
	if flowControl.reply == "" {
		t.Fatal("no flow control request")
	}
	h.handlers[h.consumer.flowControlPrefix()+"*"](flowControl.reply, "", nil, nil)
	if got := len(deliveries(h.take())); got == 0 {
		t.Fatal("did not resume after the flow control reply")
	}
}

// TestPushWatchedDeliverSubjectUpdate proves a consumer whose deliver subject is
// updated follows the interest on the new subject, and a deleted consumer cancels
// its watch.
func TestPushWatchedDeliverSubjectUpdate(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	bus := newInterestBus()
	h.publish("s.a", "1")
	consumer := watchedCreate(h, bus, jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckNone})
	bus.subscribe("d", "")
	bus.run()
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("delivered %v", got)
	}
	config := consumer.Config()
	config.DeliverSubject = "e"
	consumer.UpdateConfig(config)
	if live := bus.liveWatches(); live != 1 {
		t.Fatalf("%d live watches after the update", live)
	}
	h.publish("s.b", "2")
	if sent := h.take(); len(sent) != 0 {
		t.Fatalf("sent %d messages to the old deliver subject's interest", len(sent))
	}
	bus.subscribe("e", "")
	bus.run()
	sent := h.take()
	if got := streamSequences(t, sent); !slices.Equal(got, []uint64{2}) || sent[0].subject != "e" {
		t.Fatalf("delivered %v to %q", got, sent[0].subject)
	}
	consumer.Delete()
	if live := bus.liveWatches(); live != 0 {
		t.Fatalf("%d live watches after the delete", live)
	}
	bus.unsubscribe("e", "")
	bus.run()
	if sent := h.take(); len(sent) != 0 {
		t.Fatalf("a deleted consumer sent %d messages", len(sent))
	}
}
