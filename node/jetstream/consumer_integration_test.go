package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
)

// These tests run the real server on loopback with real clocks and drive consumers
// with nats.go's jetstream package, the way applications do.

func startServer(t *testing.T, dir string) *node.Server {
	t.Helper()
	o := opts.Default()
	o.Host = "127.0.0.1"
	o.Port = opts.RandomPort
	o.JetStream = true
	o.StoreDir = dir
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

func connectJetStream(t *testing.T, s *node.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// setup starts a server with a stream "S" on "s.>" holding count messages.
func setup(t *testing.T, count int) (*node.Server, *nats.Conn, jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range count {
		if _, err := js.Publish(ctx, fmt.Sprintf("s.%d", i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	return s, nc, js, stream
}

// TestIntegrationPullFetchAndAck proves Fetch, FetchNoWait, Next and explicit acks,
// and that the consumer info follows.
func TestIntegrationPullFetchAndAck(t *testing.T) {
	_, _, _, stream := setup(t, 10)
	ctx := testContext(t)
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "D", AckPolicy: jsAckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := consumer.Fetch(4, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for msg := range batch.Messages() {
		got = append(got, string(msg.Data()))
		if err := msg.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if batch.Error() != nil || fmt.Sprint(got) != "[0 1 2 3]" {
		t.Fatalf("fetched %v err %v", got, batch.Error())
	}
	msg, err := consumer.Next()
	if err != nil || string(msg.Data()) != "4" {
		t.Fatalf("next %v %v", msg, err)
	}
	if err := msg.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	batch, err = consumer.FetchNoWait(10)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for msg := range batch.Messages() {
		count++
		_ = msg.Ack()
	}
	if count != 5 {
		t.Fatalf("no-wait fetched %d", count)
	}
	batch, _ = consumer.FetchNoWait(10)
	for range batch.Messages() {
		t.Fatal("message after the end")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := consumer.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream == 10 && info.NumAckPending == 0 && info.NumPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("info %+v", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const jsAckExplicit = jetstream.AckExplicitPolicy

// TestIntegrationConsumeRedeliveryAndNak proves Consume delivers everything, a NAK
// with delay redelivers later, TERM stops a message, and ack_wait redelivers what was
// never acknowledged.
func TestIntegrationConsumeRedeliveryAndNak(t *testing.T) {
	_, _, _, stream := setup(t, 3)
	ctx := testContext(t)
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "D", AckPolicy: jsAckExplicit, AckWait: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		data       string
		deliveries uint64
	}
	events := make(chan event, 100)
	consumeContext, err := consumer.Consume(func(msg jetstream.Msg) {
		metadata, _ := msg.Metadata()
		events <- event{string(msg.Data()), metadata.NumDelivered}
		switch {
		case string(msg.Data()) == "0" && metadata.NumDelivered == 1:
			_ = msg.NakWithDelay(300 * time.Millisecond)
		case string(msg.Data()) == "1":
			_ = msg.Term()
		case string(msg.Data()) == "2" && metadata.NumDelivered == 1:
			// Left unacknowledged: ack_wait brings it back.
		default:
			_ = msg.Ack()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer consumeContext.Stop()
	seen := map[string][]uint64{}
	timeout := time.After(10 * time.Second)
	for len(seen["0"]) < 2 || len(seen["2"]) < 2 {
		select {
		case e := <-events:
			seen[e.data] = append(seen[e.data], e.deliveries)
		case <-timeout:
			t.Fatalf("seen %v", seen)
		}
	}
	if fmt.Sprint(seen["0"]) != "[1 2]" || fmt.Sprint(seen["1"]) != "[1]" || fmt.Sprint(seen["2"]) != "[1 2]" {
		t.Fatalf("seen %v", seen)
	}
}

// TestIntegrationMaxDeliverAndMaxAckPending proves max_deliver stops redeliveries
// and max_ack_pending bounds what is outstanding.
func TestIntegrationMaxDeliverAndMaxAckPending(t *testing.T) {
	_, _, _, stream := setup(t, 5)
	ctx := testContext(t)
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "D", AckPolicy: jsAckExplicit, MaxAckPending: 2, MaxDeliver: 2, AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := consumer.Fetch(5, jetstream.FetchMaxWait(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for range batch.Messages() {
		count++
	}
	if count != 2 {
		t.Fatalf("fetched %d with max_ack_pending 2", count)
	}
	// Never acking: each of the five messages is delivered twice, then dropped.
	total := count
	deadline := time.Now().Add(20 * time.Second)
	for total < 10 && time.Now().Before(deadline) {
		batch, err := consumer.Fetch(5, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for range batch.Messages() {
			total++
		}
	}
	if total != 10 {
		t.Fatalf("delivered %d times, want 10", total)
	}
	batch, _ = consumer.Fetch(5, jetstream.FetchMaxWait(1500*time.Millisecond))
	for range batch.Messages() {
		t.Fatal("delivered past max_deliver")
	}
}

// TestIntegrationPushAndOrdered proves a push consumer (through the legacy API) and
// an ordered consumer each deliver every message in order.
func TestIntegrationPushAndOrdered(t *testing.T) {
	_, nc, js, stream := setup(t, 20)
	ctx := testContext(t)
	legacy, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan string, 100)
	subscription, err := legacy.Subscribe("s.>", func(msg *nats.Msg) {
		received <- string(msg.Data)
		_ = msg.Ack()
	}, nats.Durable("PUSH"), nats.IdleHeartbeat(time.Second), nats.EnableFlowControl())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = subscription.Unsubscribe() }()
	for i := range 20 {
		select {
		case got := <-received:
			if got != fmt.Sprint(i) {
				t.Fatalf("push got %s, want %d", got, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("push: only %d messages", i)
		}
	}

	ordered, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"s.1"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 7 {
		msg, err := ordered.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(msg.Data()))
	}
	if fmt.Sprint(got) != "[1 4 7 10 13 16 19]" {
		t.Fatalf("ordered %v", got)
	}
	if _, err := js.Publish(ctx, "s.1", []byte("late")); err != nil {
		t.Fatal(err)
	}
	msg, err := ordered.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data()) != "late" {
		t.Fatalf("ordered new %q", msg.Data())
	}
}

// TestIntegrationConsumerAPI proves names, list, info, pause, and delete, and the
// reference's errors for a missing consumer.
func TestIntegrationConsumerAPI(t *testing.T) {
	_, _, js, stream := setup(t, 3)
	ctx := testContext(t)
	for _, name := range []string{"B", "A"} {
		if _, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: name, AckPolicy: jsAckExplicit, FilterSubject: "s." + name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "A", AckPolicy: jsAckExplicit, FilterSubject: "s.other"}); !errors.Is(err, jetstream.ErrConsumerExists) {
		t.Fatalf("create over existing: %v", err)
	}
	if _, err := stream.UpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "Z", AckPolicy: jsAckExplicit}); !errors.Is(err, jetstream.ErrConsumerDoesNotExist) {
		t.Fatalf("update missing: %v", err)
	}
	names := stream.ConsumerNames(ctx)
	var all []string
	for name := range names.Name() {
		all = append(all, name)
	}
	if fmt.Sprint(all) != "[A B]" {
		t.Fatalf("names %v %v", all, names.Err())
	}
	list := stream.ListConsumers(ctx)
	count := 0
	for range list.Info() {
		count++
	}
	if count != 2 || list.Err() != nil {
		t.Fatalf("list %d %v", count, list.Err())
	}
	pause, err := js.PauseConsumer(ctx, "S", "A", time.Now().Add(time.Hour))
	if err != nil || !pause.Paused {
		t.Fatalf("pause %+v %v", pause, err)
	}
	resume, err := js.ResumeConsumer(ctx, "S", "A")
	if err != nil || resume.Paused {
		t.Fatalf("resume %+v %v", resume, err)
	}
	if err := stream.DeleteConsumer(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Consumer(ctx, "A"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("deleted consumer: %v", err)
	}
}

// TestIntegrationRestartKeepsConsumerState proves a durable consumer survives a
// server restart with its delivered and acknowledged positions.
func TestIntegrationRestartKeepsConsumerState(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	nc, js := connectJetStream(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := js.Publish(ctx, "s.x", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "D", AckPolicy: jsAckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Name: "E", AckPolicy: jsAckExplicit, InactiveThreshold: time.Minute}); err != nil {
		t.Fatal(err)
	}
	batch, err := consumer.Fetch(3, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for msg := range batch.Messages() {
		if err := msg.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	s.Shutdown()
	<-s.ShutdownDone()

	s = startServer(t, dir)
	_, js = connectJetStream(t, s)
	consumer, err = js.Consumer(ctx, "S", "D")
	if err != nil {
		t.Fatal(err)
	}
	info, err := consumer.Info(ctx)
	if err != nil || info.AckFloor.Stream != 3 || info.NumPending != 3 {
		t.Fatalf("after restart %+v %v", info, err)
	}
	msg, err := consumer.Next(jetstream.FetchMaxWait(2 * time.Second))
	if err != nil || string(msg.Data()) != "3" {
		t.Fatalf("next after restart %v %v", msg, err)
	}
	if _, err := js.Consumer(ctx, "S", "E"); err != nil {
		t.Fatalf("ephemeral consumer after restart: %v", err)
	}
}

// TestIntegrationMessageHeadersAndMetadata proves a delivered message keeps its
// subject and headers and its reply carries the metadata nats.go parses.
func TestIntegrationMessageHeadersAndMetadata(t *testing.T) {
	_, _, js, stream := setup(t, 0)
	ctx := testContext(t)
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "cons", AckPolicy: jsAckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s.1", []byte("msg"), jetstream.WithMsgID("123")); err != nil {
		t.Fatal(err)
	}
	batch, err := consumer.Fetch(1)
	if err != nil {
		t.Fatal(err)
	}
	msg := <-batch.Messages()
	if msg == nil {
		t.Fatalf("no message: %v", batch.Error())
	}
	metadata, err := msg.Metadata()
	if err != nil || metadata.Consumer != "cons" || metadata.Stream != "S" || metadata.Sequence.Stream != 1 {
		t.Fatalf("metadata %+v %v", metadata, err)
	}
	if msg.Headers().Get("Nats-Msg-Id") != "123" || msg.Subject() != "s.1" {
		t.Fatalf("headers %v subject %q", msg.Headers(), msg.Subject())
	}
}

// TestIntegrationFetchFromDeletedConsumer proves a pull from a deleted consumer ends
// with "no responders", as with the reference, where the consumer's own subscription
// is gone.
func TestIntegrationFetchFromDeletedConsumer(t *testing.T) {
	_, _, _, stream := setup(t, 1)
	ctx := testContext(t)
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jsAckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.DeleteConsumer(ctx, consumer.CachedInfo().Name); err != nil {
		t.Fatal(err)
	}
	batch, err := consumer.Fetch(5)
	if err != nil {
		t.Fatal(err)
	}
	for range batch.Messages() {
		t.Fatal("message from a deleted consumer")
	}
	if !errors.Is(batch.Error(), nats.ErrNoResponders) {
		t.Fatalf("error %v", batch.Error())
	}
}

// TestIntegrationShutdownEndsPulls proves waiting pull requests hear "409 Server
// Shutdown" when the server stops, as with the reference.
func TestIntegrationShutdownEndsPulls(t *testing.T) {
	s, _, _, stream := setup(t, 0)
	ctx := testContext(t)
	consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "D", AckPolicy: jsAckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := consumer.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := consumer.Info(ctx)
		if err == nil && info.NumWaiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("request not waiting: %+v %v", info, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Shutdown()
	for range batch.Messages() {
		t.Fatal("unexpected message")
	}
	if !errors.Is(batch.Error(), jetstream.ErrServerShutdown) {
		t.Fatalf("error %v", batch.Error())
	}
}
