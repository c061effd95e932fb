package jetstream_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestIntegrationPushQueueGroupAndLateSubscriber proves with nats.go that a push
// consumer with a deliver group delivers to the queue subscribers of that group
// (each message to exactly one of them), that a legacy ordered push consumer works,
// and that a push consumer whose subscriber arrives after its creation delivers.
func TestIntegrationPushQueueGroupAndLateSubscriber(t *testing.T) {
	_, nc, js, _ := setup(t, 30)
	ctx := testContext(t)
	legacy, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	counts := map[int]int{}
	var subscriptions []*nats.Subscription
	for member := range 2 {
		subscription, err := legacy.QueueSubscribe("s.>", "workers", func(msg *nats.Msg) {
			mu.Lock()
			seen[string(msg.Data)]++
			counts[member]++
			mu.Unlock()
			_ = msg.Ack()
		}, nats.Durable("QUEUE"), nats.DeliverAll())
		if err != nil {
			t.Fatal(err)
		}
		subscriptions = append(subscriptions, subscription)
	}
	waitFor(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 30 {
			return fmt.Errorf("%d of 30 messages delivered", len(seen))
		}
		return nil
	})
	mu.Lock()
	for data, times := range seen {
		if times != 1 {
			t.Fatalf("%s delivered %d times", data, times)
		}
	}
	mu.Unlock()
	consumer, err := js.PushConsumer(ctx, "S", "QUEUE")
	if err != nil {
		t.Fatal(err)
	}
	if consumerInfo, err := consumer.Info(ctx); err != nil || consumerInfo.Config.DeliverGroup != "workers" || !consumerInfo.PushBound {
		t.Fatalf("queue consumer %+v %v", consumerInfo, err)
	}
	mu.Lock()
	if counts[0]+counts[1] != 30 {
		t.Fatalf("members received %v", counts)
	}
	mu.Unlock()
	for _, subscription := range subscriptions {
		_ = subscription.Unsubscribe()
	}

	ordered := make(chan string, 40)
	orderedSubscription, err := legacy.Subscribe("s.2", func(msg *nats.Msg) { ordered <- string(msg.Data) }, nats.OrderedConsumer())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = orderedSubscription.Unsubscribe() }()
	for _, want := range []string{"2", "5", "8"} {
		select {
		case got := <-ordered:
			if got != want {
				t.Fatalf("ordered got %s, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("ordered consumer delivered nothing")
		}
	}

	if _, err := js.CreateOrUpdatePushConsumer(ctx, "S", jetstream.ConsumerConfig{Durable: "LATE", DeliverSubject: "late.deliver", AckPolicy: jetstream.AckNonePolicy}); err != nil {
		t.Fatal(err)
	}
	// A subscriber arriving well after the consumer was created gets the messages
	// (TestSimulatedPushConsumerFollowsInterest checks in virtual time that it gets
	// them at once).
	time.Sleep(500 * time.Millisecond)
	late := make(chan string, 40)
	lateSubscription, err := nc.Subscribe("late.deliver", func(msg *nats.Msg) { late <- string(msg.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lateSubscription.Unsubscribe() }()
	select {
	case first := <-late:
		if first != "0" {
			t.Fatalf("late subscriber got %q first", first)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("late subscriber got nothing")
	}
}
