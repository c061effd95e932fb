package node

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestJetStreamMessageSchedules proves @at schedules fire once onto their target
// and are removed, @every schedules with a source repeat the source's last message,
// and a schedule without a target is refused.
func TestJetStreamMessageSchedules(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SCHED", Subjects: []string{"schedule.>", "target.>", "source.>"},
		AllowMsgSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "schedule.bad", nil, jetstream.WithScheduleAt(time.Now().Add(time.Hour))); !isAPIError(err, 10190) {
		t.Fatalf("missing target: %v", err)
	}
	at := time.Now().Add(time.Second).UTC().Truncate(time.Second)
	ack, err := js.Publish(ctx, "schedule.at", []byte("hello"), jetstream.WithScheduleAt(at), jetstream.WithScheduleTarget("target.at"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "schedule.every", nil, jetstream.WithScheduleEvery(time.Second),
		jetstream.WithScheduleTarget("target.every"), jetstream.WithScheduleSource("source.data")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "source.data", []byte("sourced")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fired, errAt := stream.GetLastMsgForSubject(ctx, "target.at")
		repeated, errEvery := stream.GetLastMsgForSubject(ctx, "target.every")
		if errAt == nil && errEvery == nil {
			if string(fired.Data) != "hello" || fired.Header.Get("Nats-Scheduler") != "schedule.at" || fired.Header.Get("Nats-Schedule-Next") != "purge" {
				t.Fatalf("@at message %+v", fired)
			}
			if string(repeated.Data) != "sourced" {
				t.Fatalf("@every message %+v", repeated)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedules did not fire: %v %v", errAt, errEvery)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := stream.GetMsg(ctx, ack.Sequence); err == nil {
		t.Fatal("the @at schedule was not removed after firing")
	}
}

// TestCronNextThroughAPI proves cron schedules are accepted and bad ones refused.
func TestCronNextThroughAPI(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "C", Subjects: []string{"c.>"}, AllowMsgSchedules: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "c.s", nil, jetstream.WithScheduleCron("0 30 * * * *"), jetstream.WithScheduleTarget("c.t")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "c.s", nil, jetstream.WithScheduleCron("bogus"), jetstream.WithScheduleTarget("c.t")); !isAPIError(err, 10189) {
		t.Fatalf("bad cron: %v", err)
	}
}
