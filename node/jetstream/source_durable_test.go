package jetstream_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// createSourcingConsumer creates on stream the durable push consumer a durable source
// or mirror uses: ack policy flow_control, delivering on deliverSubject.
func createSourcingConsumer(t *testing.T, js jetstream.JetStream, stream, name, deliverSubject string, ackPolicy jetstream.AckPolicy) {
	t.Helper()
	config := jetstream.ConsumerConfig{Durable: name, DeliverSubject: deliverSubject, AckPolicy: ackPolicy, MaxAckPending: 100}
	if ackPolicy == jetstream.AckFlowControlPolicy {
		config.FlowControl, config.IdleHeartbeat = true, time.Second
	}
	if _, err := js.CreateOrUpdatePushConsumer(testContext(t), stream, config); err != nil {
		t.Fatal(err)
	}
}

// waitForAckFloor waits until the consumer's ack floor reaches seq.
func waitForAckFloor(t *testing.T, js jetstream.JetStream, stream, name string, seq uint64) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		consumer, err := js.PushConsumer(testContext(t), stream, name)
		if err != nil {
			return err
		}
		info, err := consumer.Info(testContext(t))
		if err != nil {
			return err
		}
		if info.AckFloor.Stream != seq {
			return fmt.Errorf("consumer %s ack floor %d, want %d", name, info.AckFloor.Stream, seq)
		}
		return nil
	})
}

// dataOf returns the data of every message of a stream, in sequence order.
func dataOf(t *testing.T, js jetstream.JetStream, name string) []string {
	t.Helper()
	var data []string
	for _, message := range sourcedMessages(t, js, name) {
		data = append(data, string(message.Data))
	}
	return data
}

// TestIntegrationDurableSourceAndMirror proves durable sourcing (nats-server 2.14+):
// a source and a mirror configured with `consumer: {name, deliver_subject}` use that
// durable consumer on the origin instead of creating one, acknowledge what they
// stored through their flow control replies (the consumer's ack floor follows), pick
// up after a restart of the server from the consumer without losing or repeating a
// message, and leave the durable consumer in place when they are deleted; a new
// stream sourcing through it continues from its ack floor.
func TestIntegrationDurableSourceAndMirror(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.>"}}); err != nil {
		t.Fatal(err)
	}
	publish := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if _, err := js.Publish(ctx, fmt.Sprintf("o.%d", i%2), []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(0, 5)
	createSourcingConsumer(t, js, "O", "SRC", "deliver.src", jetstream.AckFlowControlPolicy)
	createSourcingConsumer(t, js, "O", "MIR", "deliver.mir", jetstream.AckFlowControlPolicy)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"},
		Sources: []*jetstream.StreamSource{{Name: "O", Consumer: &jetstream.StreamConsumerSource{Name: "SRC", DeliverSubject: "deliver.src"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M",
		Mirror: &jetstream.StreamSource{Name: "O", Consumer: &jetstream.StreamConsumerSource{Name: "MIR", DeliverSubject: "deliver.mir"}}}); err != nil {
		t.Fatal(err)
	}
	waitForMessages(t, js, "T", 5)
	waitForMessages(t, js, "M", 5)
	waitForAckFloor(t, js, "O", "SRC", 5)
	waitForAckFloor(t, js, "O", "MIR", 5)
	origin, err := js.Stream(ctx, "O")
	if err != nil {
		t.Fatal(err)
	}
	names := origin.ConsumerNames(ctx)
	var all []string
	for name := range names.Name() {
		all = append(all, name)
	}
	if !slices.Equal(all, []string{"MIR", "SRC"}) {
		t.Fatalf("origin consumers %v", all)
	}

	s.Shutdown()
	<-s.ShutdownDone()
	s = startServer(t, dir)
	_, js = connectJetStream(t, s)
	publish(5, 8)
	waitForMessages(t, js, "T", 8)
	waitForMessages(t, js, "M", 8)
	waitForAckFloor(t, js, "O", "SRC", 8)
	waitForAckFloor(t, js, "O", "MIR", 8)
	// Nothing more arrives later (a repeat would).
	time.Sleep(300 * time.Millisecond)
	want := []string{"0", "1", "2", "3", "4", "5", "6", "7"}
	if got := dataOf(t, js, "T"); !slices.Equal(got, want) {
		t.Fatalf("source holds %v", got)
	}
	if got := dataOf(t, js, "M"); !slices.Equal(got, want) {
		t.Fatalf("mirror holds %v", got)
	}

	if err := js.DeleteStream(ctx, "T"); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, "M"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	for _, name := range []string{"SRC", "MIR"} {
		if _, err := js.PushConsumer(ctx, "O", name); err != nil {
			t.Fatalf("durable %s gone with its follower: %v", name, err)
		}
	}
	// A new stream sourcing through the same durable consumer starts where the
	// consumer's ack floor is, not at the origin's beginning.
	publish(8, 10)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T2",
		Sources: []*jetstream.StreamSource{{Name: "O", Consumer: &jetstream.StreamConsumerSource{Name: "SRC", DeliverSubject: "deliver.src"}}}}); err != nil {
		t.Fatal(err)
	}
	waitForMessages(t, js, "T2", 2)
	waitForAckFloor(t, js, "O", "SRC", 10)
	if got := dataOf(t, js, "T2"); !slices.Equal(got, []string{"8", "9"}) {
		t.Fatalf("second source holds %v", got)
	}
}

// TestIntegrationDurableSourceRequiresFlowControlAcks proves a durable source whose
// consumer does not use the flow_control ack policy reports the reference's error
// (10217) instead of sourcing, and that a missing consumer is reported too (10014)
// and picked up once created.
func TestIntegrationDurableSourceRequiresFlowControlAcks(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "o.1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	createSourcingConsumer(t, js, "O", "EXPLICIT", "deliver.explicit", jetstream.AckExplicitPolicy)
	sourceError := func(name string, code jetstream.ErrorCode) func() error {
		return func() error {
			stream, err := js.Stream(ctx, name)
			if err != nil {
				return err
			}
			info, err := stream.Info(ctx)
			if err != nil {
				return err
			}
			if len(info.Sources) != 1 || info.Sources[0].Error == nil || info.Sources[0].Error.ErrorCode != code {
				return fmt.Errorf("sources %+v, want error %d", info.Sources, code)
			}
			return nil
		}
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T",
		Sources: []*jetstream.StreamSource{{Name: "O", Consumer: &jetstream.StreamConsumerSource{Name: "EXPLICIT", DeliverSubject: "deliver.explicit"}}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, sourceError("T", 10217))
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LATER",
		Sources: []*jetstream.StreamSource{{Name: "O", Consumer: &jetstream.StreamConsumerSource{Name: "LATER", DeliverSubject: "deliver.later"}}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, sourceError("LATER", 10014))
	createSourcingConsumer(t, js, "O", "LATER", "deliver.later", jetstream.AckFlowControlPolicy)
	waitForMessages(t, js, "LATER", 1)
	waitForMessages(t, js, "T", 0)

	// A durable source configuration is checked as the reference checks it.
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BAD",
		Sources: []*jetstream.StreamSource{{Name: "O", FilterSubject: "o.1", Consumer: &jetstream.StreamConsumerSource{Name: "X", DeliverSubject: "x"}}}})
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10215 {
		t.Fatalf("filtered durable source: %v", err)
	}
}

// TestIntegrationSourceFromInterestAndWorkQueueOrigins proves the reference's
// handling of sourcing from an interest or work queue stream: the origin makes the
// follower's request a durable consumer with flow control acks (listed, unlike the
// direct ones limits streams get), keeps each message until the follower stored and
// acknowledged it, and after a server restart the follower resumes through the same
// consumer without losing or repeating a message.
func TestIntegrationSourceFromInterestAndWorkQueueOrigins(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	retentions := map[string]jetstream.RetentionPolicy{"I": jetstream.InterestPolicy, "W": jetstream.WorkQueuePolicy}
	for _, name := range []string{"I", "W"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}, Retention: retentions[name]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Sources: []*jetstream.StreamSource{{Name: "I"}, {Name: "W"}}}); err != nil {
		t.Fatal(err)
	}
	originConsumers := func(name string) []string {
		t.Helper()
		stream, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		lister := stream.ConsumerNames(ctx)
		for consumer := range lister.Name() {
			names = append(names, consumer)
		}
		return names
	}
	for _, name := range []string{"I", "W"} {
		waitFor(t, 10*time.Second, func() error {
			if names := originConsumers(name); len(names) != 1 || !strings.HasPrefix(names[0], "JS_SRC_") {
				return fmt.Errorf("origin %s consumers %v", name, names)
			}
			return nil
		})
	}
	publish := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			for _, subject := range []string{"i.x", "w.x"} {
				if _, err := js.Publish(ctx, subject, []byte(fmt.Sprint(subject[:1], i))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	originEmpty := func(name string) func() error {
		return func() error {
			stream, err := js.Stream(ctx, name)
			if err != nil {
				return err
			}
			info, err := stream.Info(ctx)
			if err != nil {
				return err
			}
			if info.State.Msgs != 0 {
				return fmt.Errorf("origin %s still holds %d messages", name, info.State.Msgs)
			}
			return nil
		}
	}
	publish(0, 5)
	waitForMessages(t, js, "T", 10)
	waitFor(t, 10*time.Second, originEmpty("I"))
	waitFor(t, 10*time.Second, originEmpty("W"))

	s.Shutdown()
	<-s.ShutdownDone()
	s = startServer(t, dir)
	_, js = connectJetStream(t, s)
	publish(5, 8)
	waitForMessages(t, js, "T", 16)
	waitFor(t, 10*time.Second, originEmpty("I"))
	waitFor(t, 10*time.Second, originEmpty("W"))
	time.Sleep(300 * time.Millisecond)
	waitForMessages(t, js, "T", 16)
	seen := map[string]bool{}
	for _, data := range dataOf(t, js, "T") {
		if seen[data] {
			t.Fatalf("%s sourced twice", data)
		}
		seen[data] = true
	}
	for _, name := range []string{"I", "W"} {
		if names := originConsumers(name); len(names) != 1 {
			t.Fatalf("origin %s consumers after the restart %v", name, names)
		}
	}
}
