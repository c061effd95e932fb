package jetstream

import (
	"slices"
	"testing"
	"time"

	"github.com/natsim/natsim/proto/jsapi"
)

// TestRestoreAheadOfShortenedStream proves that a consumer whose stored state is ahead
// of its stream (the stream lost its tail: interval sync and a power loss) moves back
// to the stream's end, so the new messages that reuse the lost sequences are delivered
// instead of being taken as already delivered and acknowledged. The jsqueue simulation
// found consumers stalled forever this way.
func TestRestoreAheadOfShortenedStream(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	for range 5 {
		h.publish("s.a", "x")
	}
	config := jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit, AckWait: time.Second}
	first := h.create(config)
	for _, delivery := range h.pullAll(5) {
		h.ack(delivery, "+ACK")
	}
	state, err := first.store.State()
	if err != nil {
		t.Fatal(err)
	}
	first.Stop()
	if state.AckFloor.Stream != 5 {
		t.Fatalf("ack floor %d before the loss, want 5", state.AckFloor.Stream)
	}

	// The stream comes back with only three messages; two new ones take 4 and 5.
	if err := h.store.Truncate(3); err != nil {
		t.Fatal(err)
	}
	prepared, _ := jsapi.PrepareConsumerConfig(&config, &h.streamConfig, jsapi.ConsumerCheckOptions{})
	restored, err := newConsumer(h.world(), "D", prepared, newStoreWithState(t, &prepared, state), h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	restored.signal()
	h.consumer = restored
	if info := restored.Info(); info.Delivered.Stream != 3 || info.AckFloor.Stream != 3 {
		t.Fatalf("restored ahead of the stream: delivered %d ack floor %d, want 3 and 3",
			info.Delivered.Stream, info.AckFloor.Stream)
	}
	h.publish("s.a", "new")
	h.publish("s.a", "new")
	if got := streamSequences(t, h.pullAll(5)); !slices.Equal(got, []uint64{4, 5}) {
		t.Fatalf("after the stream's tail came back: delivered %v, want [4 5]", got)
	}
}
