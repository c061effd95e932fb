package jetstream

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/natsim/natsim/proto/jsapi"
)

// pullAll asks for up to n messages and returns what was delivered.
func (h *harness) pullAll(n int) []sentMessage {
	h.pull("r", fmt.Sprintf(`{"batch":%d,"no_wait":true}`, n))
	return deliveries(h.take())
}

// TestAckExplicitMovesFloor proves that explicit acks remove messages from pending
// and move the ack floor only over a contiguous acknowledged prefix.
func TestAckExplicitMovesFloor(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	for range 3 {
		h.publish("s.a", "x")
	}
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	sent := h.pullAll(3)
	h.ack(sent[1], "+ACK")
	info := h.consumer.Info()
	if info.NumAckPending != 2 || info.AckFloor.Stream != 0 {
		t.Fatalf("after middle ack: %+v", info.AckFloor)
	}
	h.ack(sent[0], "")
	info = h.consumer.Info()
	if info.AckFloor.Stream != 2 || info.AckFloor.Consumer != 2 {
		t.Fatalf("after first ack: %+v", info.AckFloor)
	}
	h.ack(sent[2], "+ACK")
	info = h.consumer.Info()
	if info.NumAckPending != 0 || info.AckFloor.Stream != 3 {
		t.Fatalf("after all: %+v pending %d", info.AckFloor, info.NumAckPending)
	}
}

// TestAckAllAcknowledgesBelow proves that with ack_policy all one ack covers every
// earlier delivery.
func TestAckAllAcknowledgesBelow(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	for range 4 {
		h.publish("s.a", "x")
	}
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckAll})
	sent := h.pullAll(4)
	h.ack(sent[2], "+ACK")
	info := h.consumer.Info()
	if info.NumAckPending != 1 || info.AckFloor.Stream != 3 {
		t.Fatalf("info %+v pending %d", info.AckFloor, info.NumAckPending)
	}
}

// TestAckNoneNeedsNoAck proves that with ack_policy none nothing stays pending and the
// floor follows deliveries.
func TestAckNoneNeedsNoAck(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "x")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckNone})
	if len(deliveries(h.take())) != 1 {
		t.Fatal("not delivered")
	}
	info := h.consumer.Info()
	if info.NumAckPending != 0 || info.AckFloor.Stream != 1 {
		t.Fatalf("info %+v", info)
	}
}

// TestRedeliveryAfterAckWait proves that an unacknowledged message is redelivered
// after ack_wait with its delivery count raised, and counts as redelivered.
func TestRedeliveryAfterAckWait(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "x")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit, AckWait: time.Second})
	first := deliveries(h.take())
	if len(first) != 1 {
		t.Fatal("not delivered")
	}
	h.clock.Advance(900 * time.Millisecond)
	if len(deliveries(h.take())) != 0 {
		t.Fatal("redelivered early")
	}
	h.clock.Advance(200 * time.Millisecond)
	again := deliveries(h.take())
	if len(again) != 1 {
		t.Fatal("not redelivered")
	}
	reply, _ := jsapi.ParseAckReply(again[0].reply)
	if reply.Delivered != 2 || reply.StreamSeq != 1 || reply.ConsumerSeq != 2 {
		t.Fatalf("redelivery reply %+v", reply)
	}
	if h.consumer.Info().NumRedelivered != 1 {
		t.Fatal("not counted as redelivered")
	}
	h.ack(again[0], "+ACK")
	h.clock.Advance(5 * time.Second)
	if len(deliveries(h.take())) != 0 {
		t.Fatal("redelivered after ack")
	}
	if info := h.consumer.Info(); info.AckFloor.Stream != 1 || info.NumAckPending != 0 {
		t.Fatalf("info %+v", info)
	}
}

// TestBackoffAndMaxDeliver proves that redeliveries follow the backoff steps and stop
// at max_deliver with the max deliveries advisory.
func TestBackoffAndMaxDeliver(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "x")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit,
		BackOff: []time.Duration{time.Second, 3 * time.Second}, MaxDeliver: 3})
	if len(deliveries(h.take())) != 1 {
		t.Fatal("not delivered")
	}
	var times []time.Duration
	start := h.clock.Now()
	var advisories []sentMessage
	for range 200 {
		h.clock.Advance(100 * time.Millisecond)
		for _, message := range h.take() {
			if message.subject == "d" {
				times = append(times, h.clock.Now().Sub(start).Round(100*time.Millisecond))
			} else {
				advisories = append(advisories, message)
			}
		}
	}
	// The pending check runs a millisecond past each deadline; the loop looks every
	// 100ms.
	if want := []time.Duration{1100 * time.Millisecond, 4100 * time.Millisecond}; !slices.Equal(times, want) {
		t.Fatalf("redeliveries at %v, want %v", times, want)
	}
	if len(advisories) != 1 || advisories[0].subject != jsapi.AdvisoryConsumerMaxDeliveries+".S.D" {
		t.Fatalf("advisories %+v", advisories)
	}
	if h.consumer.Info().NumAckPending != 0 {
		t.Fatal("message still pending after max_deliver")
	}
}

// TestNakWithDelayAndProgress proves -NAK redelivers at once, -NAK with a delay after
// it, and +WPI restarts the ack wait.
func TestNakWithDelayAndProgress(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "x")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit, AckWait: 10 * time.Second})
	first := deliveries(h.take())
	h.ack(first[0], "-NAK")
	second := deliveries(h.take())
	if len(second) != 1 {
		t.Fatal("-NAK did not redeliver")
	}
	h.ack(second[0], "-NAK 2s")
	h.clock.Advance(1900 * time.Millisecond)
	if len(deliveries(h.take())) != 0 {
		t.Fatal("delayed -NAK redelivered early")
	}
	h.clock.Advance(200 * time.Millisecond)
	third := deliveries(h.take())
	if len(third) != 1 {
		t.Fatal("delayed -NAK not redelivered")
	}
	h.clock.Advance(9 * time.Second)
	h.ack(third[0], "+WPI")
	h.clock.Advance(9 * time.Second)
	if len(deliveries(h.take())) != 0 {
		t.Fatal("+WPI did not extend the ack wait")
	}
	h.clock.Advance(2 * time.Second)
	if len(deliveries(h.take())) != 1 {
		t.Fatal("not redelivered after the extended wait")
	}
}

// TestTermStopsRedelivery proves +TERM acknowledges without redelivery and sends the
// terminated advisory with the reason.
func TestTermStopsRedelivery(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "x")
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit, AckWait: time.Second})
	first := deliveries(h.take())
	h.ack(first[0], "+TERM bad input")
	sent := h.take()
	if len(sent) != 1 || sent[0].subject != jsapi.AdvisoryConsumerMsgTerminated+".S.D" {
		t.Fatalf("sent %+v", sent)
	}
	if string(sent[0].body) == "" || !contains(string(sent[0].body), `"reason":"bad input"`) {
		t.Fatalf("advisory %s", sent[0].body)
	}
	h.clock.Advance(5 * time.Second)
	if len(deliveries(h.take())) != 0 {
		t.Fatal("terminated message redelivered")
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestMaxAckPendingStalls proves deliveries stop at max_ack_pending and resume after
// an ack.
func TestMaxAckPendingStalls(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	for range 5 {
		h.publish("s.a", "x")
	}
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit, MaxAckPending: 2})
	sent := deliveries(h.take())
	if len(sent) != 2 {
		t.Fatalf("delivered %d, want 2", len(sent))
	}
	h.ack(sent[0], "+ACK")
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("after ack delivered %v", got)
	}
}

// TestAckNextServesPull proves +NXT acknowledges and asks for the next message.
func TestAckNextServesPull(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "1")
	h.publish("s.a", "2")
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	first := h.pullAll(1)
	h.consumer.handleAck(first[0].reply, "r2", nil, []byte("+NXT"))
	sent := deliveries(h.take())
	if len(sent) != 1 || sent[0].subject != "r2" || streamSequence(t, sent[0]) != 2 {
		t.Fatalf("sent %+v", sent)
	}
	if h.consumer.Info().AckFloor.Stream != 1 {
		t.Fatal("+NXT did not ack")
	}
}

// TestAckReplyConfirmation proves an ack sent with a reply (AckSync) is confirmed.
func TestAckReplyConfirmation(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "1")
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	first := h.pullAll(1)
	h.consumer.handleAck(first[0].reply, "confirm", nil, []byte("+ACK"))
	sent := h.take()
	if len(sent) != 1 || sent[0].subject != "confirm" {
		t.Fatalf("sent %+v", sent)
	}
}

// TestInterestRetentionReports proves that acks are reported to an interest stream.
func TestInterestRetentionReports(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{Retention: jsapi.InterestPolicy})
	h.publish("s.a", "1")
	h.publish("s.a", "2")
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	sent := h.pullAll(2)
	if !h.consumer.NeedsAck(1, "s.a") {
		t.Fatal("NeedsAck before ack")
	}
	h.ack(sent[1], "+ACK")
	if !slices.Equal(h.acknowledged, []uint64{2}) || h.consumer.NeedsAck(2, "s.a") {
		t.Fatalf("acknowledged %v", h.acknowledged)
	}
	if !h.consumer.NeedsAck(3, "s.a") {
		t.Fatal("future message not needed")
	}
}

// TestAckSampling proves sample_freq 100% sends the ack metric with the wait.
func TestAckSampling(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "1")
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit, SampleFrequency: "100%"})
	sent := h.pullAll(1)
	h.clock.Advance(time.Second)
	h.ack(sent[0], "+ACK")
	metrics := h.take()
	if len(metrics) != 1 || metrics[0].subject != jsapi.MetricConsumerAckPrefix+".S.D" || !contains(string(metrics[0].body), `"ack_time":1000000000`) {
		t.Fatalf("metrics %+v", metrics)
	}
}
