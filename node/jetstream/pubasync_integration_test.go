package jetstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestIntegrationAsyncPublishAcks publishes thousands of messages asynchronously from
// two connections (PubAcks then leave in batches, several per durability round) and
// checks every message gets exactly its own PubAck: its stream and a sequence no
// other message got, in each publisher's order, and that the stream holds them all.
func TestIntegrationAsyncPublishAcks(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	_, other := connectJetStream(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "A", Subjects: []string{"a.>"}}); err != nil {
		t.Fatal(err)
	}
	const perPublisher = 3000
	seen := make(map[uint64]string)
	for _, publisher := range []jetstream.JetStream{js, other} {
		futures := make([]jetstream.PubAckFuture, 0, perPublisher)
		for i := range perPublisher {
			future, err := publisher.PublishAsync(fmt.Sprintf("a.%d", i%7), []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			futures = append(futures, future)
		}
		select {
		case <-publisher.PublishAsyncComplete():
		case <-ctx.Done():
			t.Fatal("PubAcks missing")
		}
		var previous uint64
		for i, future := range futures {
			select {
			case ack := <-future.Ok():
				if ack.Stream != "A" || ack.Sequence <= previous {
					t.Fatalf("message %d: PubAck %+v after sequence %d", i, ack, previous)
				}
				if _, taken := seen[ack.Sequence]; taken {
					t.Fatalf("sequence %d acknowledged twice", ack.Sequence)
				}
				seen[ack.Sequence] = future.Msg().Subject
				previous = ack.Sequence
			case err := <-future.Err():
				t.Fatalf("message %d: %v", i, err)
			}
		}
	}
	stream, err := js.Stream(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2*perPublisher || len(seen) != 2*perPublisher {
		t.Fatalf("stream holds %d messages, %d acknowledged, want %d", info.State.Msgs, len(seen), 2*perPublisher)
	}
}
