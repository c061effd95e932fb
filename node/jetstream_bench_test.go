package node

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/node/opts"
)

// benchJetStream starts a JetStream server with a file R1 stream "B" on "bench.js".
func benchJetStream(b *testing.B) (jetstream.JetStream, jetstream.Stream) {
	b.Helper()
	s := startTestServer(b, func(o *opts.Options) {
		o.JetStream = true
		o.StoreDir = b.TempDir()
	})
	nc := connect(b, s)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	b.Cleanup(cancel)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "B", Subjects: []string{"bench.js"}, Storage: jetstream.FileStorage})
	if err != nil {
		b.Fatal(err)
	}
	return js, stream
}

// publishAsync publishes count 128-byte messages with up to 4,000 acks outstanding, as
// nats bench js pub async does.
func publishAsync(b *testing.B, js jetstream.JetStream, count int) {
	b.Helper()
	payload := make([]byte, 128)
	for i := 0; i < count; i++ {
		if _, err := js.PublishAsync("bench.js", payload); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publish acks timed out")
	}
}

// BenchmarkJetStreamPublishAsync measures async publishing of 128B messages through the
// publish path with group commit.
func BenchmarkJetStreamPublishAsync(b *testing.B) {
	js, _ := benchJetStream(b)
	b.ReportAllocs()
	b.ResetTimer()
	publishAsync(b, js, b.N)
}

// BenchmarkJetStreamConsumeExplicitAck measures a durable pull consumer delivering and
// acknowledging stored messages one by one.
func BenchmarkJetStreamConsumeExplicitAck(b *testing.B) {
	js, stream := benchJetStream(b)
	publishAsync(b, js, b.N)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "D", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	received := 0
	b.ReportAllocs()
	b.ResetTimer()
	consumeContext, err := consumer.Consume(func(msg jetstream.Msg) {
		_ = msg.Ack()
		received++
		if received == b.N {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer consumeContext.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("received %d of %d", received, b.N)
	}
}
