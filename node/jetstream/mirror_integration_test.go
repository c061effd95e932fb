package jetstream_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// These tests drive mirrors with nats.go's jetstream package against the in-process
// server on loopback, as applications do.

// waitFor polls check until it returns nil or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForMessages waits until stream holds count messages.
func waitForMessages(t *testing.T, js jetstream.JetStream, name string, count uint64) *jetstream.StreamInfo {
	t.Helper()
	var info *jetstream.StreamInfo
	waitFor(t, 10*time.Second, func() error {
		stream, err := js.Stream(testContext(t), name)
		if err != nil {
			return err
		}
		info, err = stream.Info(testContext(t))
		if err != nil {
			return err
		}
		if info.State.Msgs != count {
			return fmt.Errorf("stream %s has %d messages, want %d", name, info.State.Msgs, count)
		}
		return nil
	})
	return info
}

// TestIntegrationMirrorKeepsSequences proves that a mirror holds the origin's
// messages under the origin's sequences, with the same subject, headers, data and
// timestamp, skipping sequences the origin deleted, and that MirrorInfo reports it.
func TestIntegrationMirrorKeepsSequences(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	origin, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		msg := nats.NewMsg(fmt.Sprintf("o.%d", i%3))
		msg.Data = []byte(fmt.Sprint(i))
		msg.Header.Set("Index", fmt.Sprint(i))
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := origin.DeleteMsg(ctx, 4); err != nil {
		t.Fatal(err)
	}
	mirror, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O"}})
	if err != nil {
		t.Fatal(err)
	}
	if mirror.CachedInfo().Mirror == nil || mirror.CachedInfo().Mirror.Name != "O" {
		t.Fatalf("create response mirror info = %+v", mirror.CachedInfo().Mirror)
	}
	info := waitForMessages(t, js, "M", 9)
	if info.State.FirstSeq != 1 || info.State.LastSeq != 10 {
		t.Fatalf("mirror state %+v, want sequences 1..10", info.State)
	}
	for seq := uint64(1); seq <= 10; seq++ {
		want, wantErr := origin.GetMsg(ctx, seq)
		got, gotErr := mirror.GetMsg(ctx, seq)
		if seq == 4 {
			if wantErr == nil || gotErr == nil {
				t.Fatalf("sequence 4 should be missing from both: %v %v", wantErr, gotErr)
			}
			continue
		}
		if wantErr != nil || gotErr != nil {
			t.Fatalf("seq %d: %v %v", seq, wantErr, gotErr)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("seq %d: mirror %+v, origin %+v", seq, got, want)
		}
	}
	// New messages follow.
	if _, err := js.Publish(ctx, "o.new", []byte("new")); err != nil {
		t.Fatal(err)
	}
	info = waitForMessages(t, js, "M", 10)
	if info.State.LastSeq != 11 {
		t.Fatalf("mirror last sequence %d, want 11", info.State.LastSeq)
	}
	if info.Mirror == nil || info.Mirror.Name != "O" || info.Mirror.Lag != 0 || info.Mirror.Error != nil || info.Mirror.Active < 0 {
		t.Fatalf("mirror info %+v", info.Mirror)
	}
	if len(info.Config.Subjects) != 0 {
		t.Fatalf("mirror has subjects %v", info.Config.Subjects)
	}
}

// TestIntegrationMirrorFilteredAndTransformed proves a mirror with filter_subject
// keeps only matching messages (at their origin sequences), and one with subject
// transforms renames the subjects it stores.
func TestIntegrationMirrorFilteredAndTransformed(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 9 {
		if _, err := js.Publish(ctx, fmt.Sprintf("o.%d", i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	filtered, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "F",
		Mirror: &jetstream.StreamSource{Name: "O", FilterSubject: "o.1"}})
	if err != nil {
		t.Fatal(err)
	}
	info := waitForMessages(t, js, "F", 3)
	if info.State.FirstSeq != 2 || info.State.LastSeq != 8 {
		t.Fatalf("filtered mirror state %+v, want sequences 2..8", info.State)
	}
	for _, seq := range []uint64{2, 5, 8} {
		message, err := filtered.GetMsg(ctx, seq)
		if err != nil || message.Subject != "o.1" {
			t.Fatalf("seq %d: %+v %v", seq, message, err)
		}
	}
	if info.Mirror == nil || info.Mirror.FilterSubject != "o.1" {
		t.Fatalf("mirror info %+v", info.Mirror)
	}
	transformed, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T",
		Mirror: &jetstream.StreamSource{Name: "O", SubjectTransforms: []jetstream.SubjectTransformConfig{
			{Source: "o.2", Destination: "two"}, {Source: "o.0", Destination: "zero"}}}})
	if err != nil {
		t.Fatal(err)
	}
	info = waitForMessages(t, js, "T", 6)
	if info.State.FirstSeq != 1 || info.State.LastSeq != 9 {
		t.Fatalf("transformed mirror state %+v", info.State)
	}
	for seq, want := range map[uint64]string{1: "zero", 3: "two", 9: "two"} {
		message, err := transformed.GetMsg(ctx, seq)
		if err != nil || message.Subject != want {
			t.Fatalf("seq %d: %+v %v, want subject %s", seq, message, err, want)
		}
	}
	if len(info.Mirror.SubjectTransforms) != 2 {
		t.Fatalf("mirror info %+v", info.Mirror)
	}
}

// TestIntegrationMirrorOriginCreatedLater proves that a mirror of a stream that does
// not exist yet reports the error and catches up once the origin appears.
func TestIntegrationMirrorOriginCreatedLater(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	mirror, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "LATER"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		info, err := mirror.Info(ctx)
		if err != nil {
			return err
		}
		if info.Mirror == nil || info.Mirror.Error == nil {
			return fmt.Errorf("no mirror error yet: %+v", info.Mirror)
		}
		return nil
	})
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LATER", Subjects: []string{"later"}}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := js.Publish(ctx, "later", nil); err != nil {
			t.Fatal(err)
		}
	}
	info := waitForMessages(t, js, "M", 5)
	waitFor(t, 5*time.Second, func() error {
		info, err = mirror.Info(ctx)
		if err != nil {
			return err
		}
		if info.Mirror.Error != nil {
			return fmt.Errorf("mirror error remains: %v", info.Mirror.Error)
		}
		return nil
	})
}

// TestIntegrationMirrorRejectsPublish proves a mirror takes no publishes of its own:
// it has no subjects (the reference's error for adding some), and a publish that
// names it as the expected stream is refused; its mirror can not be changed, only
// removed, after which it stops following the origin and takes its own publishes.
func TestIntegrationMirrorRejectsPublish(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}}); err != nil {
		t.Fatal(err)
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Subjects: []string{"m"},
		Mirror: &jetstream.StreamSource{Name: "O"}})
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10034 {
		t.Fatalf("mirror with subjects: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O"}}); err != nil {
		t.Fatal(err)
	}
	// Only the origin listens on "o": it refuses a publish that expects the mirror
	// with the reference's "expected stream does not match".
	_, err = js.Publish(ctx, "o", nil, jetstream.WithExpectStream("M"))
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10060 {
		t.Fatalf("publish expecting the mirror: %v", err)
	}
	waitForMessages(t, js, "O", 0)
	waitForMessages(t, js, "M", 0)
	// The mirror configuration can not change (10055), only go (promotion).
	_, err = js.UpdateStream(ctx, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O", FilterSubject: "x"}})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10055 {
		t.Fatalf("mirror update: %v", err)
	}
	if _, err := js.Publish(ctx, "o", []byte("before")); err != nil {
		t.Fatal(err)
	}
	waitForMessages(t, js, "M", 1)
	promoted, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "M", Subjects: []string{"m"}})
	if err != nil {
		t.Fatal(err)
	}
	if promoted.CachedInfo().Mirror != nil {
		t.Fatalf("promoted stream still reports a mirror: %+v", promoted.CachedInfo().Mirror)
	}
	if _, err := js.Publish(ctx, "o", []byte("after")); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "m", []byte("own"))
	if err != nil || ack.Stream != "M" || ack.Sequence != 2 {
		t.Fatalf("publish to the promoted stream: %+v %v", ack, err)
	}
	time.Sleep(200 * time.Millisecond)
	waitForMessages(t, js, "M", 2)
}

// TestIntegrationMirrorRestart proves a mirror resumes after a server restart without
// duplicates or gaps, catching up what the origin stored meanwhile.
func TestIntegrationMirrorRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := js.Publish(ctx, "o", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	waitForMessages(t, js, "M", 5)
	s.Shutdown()
	s = startServer(t, dir)
	_, js = connectJetStream(t, s)
	for i := 5; i < 10; i++ {
		if _, err := js.Publish(ctx, "o", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	info := waitForMessages(t, js, "M", 10)
	if info.State.FirstSeq != 1 || info.State.LastSeq != 10 {
		t.Fatalf("mirror state after restart %+v", info.State)
	}
	mirror, err := js.Stream(ctx, "M")
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 10; seq++ {
		message, err := mirror.GetMsg(ctx, seq)
		if err != nil || string(message.Data) != fmt.Sprint(seq-1) {
			t.Fatalf("seq %d: %+v %v", seq, message, err)
		}
	}
}

// TestIntegrationMirrorFollowsRecreatedOrigin proves a mirror whose origin is deleted
// and created again (an origin restart from nothing) notices the silence and follows
// the new origin once its sequences pass the mirror's.
func TestIntegrationMirrorFollowsRecreatedOrigin(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "O"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "o", []byte("0")); err != nil {
		t.Fatal(err)
	}
	waitForMessages(t, js, "M", 1)
	if err := js.DeleteStream(ctx, "O"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := js.Publish(ctx, "o", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// The new origin's sequence 1 is already held; 2 and 3 are new.
	info := waitForMessages(t, js, "M", 3)
	if info.State.LastSeq != 3 {
		t.Fatalf("mirror state %+v", info.State)
	}
}

// TestIntegrationMirrorAndSourceStartSequence proves opt_start_seq: a mirror starts
// at that origin sequence (its first sequence), a source takes the origin's messages
// from it on.
func TestIntegrationMirrorAndSourceStartSequence(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := js.Publish(ctx, "o", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M",
		Mirror: &jetstream.StreamSource{Name: "O", OptStartSeq: 6}}); err != nil {
		t.Fatal(err)
	}
	info := waitForMessages(t, js, "M", 5)
	if info.State.FirstSeq != 6 || info.State.LastSeq != 10 {
		t.Fatalf("mirror state %+v, want 6..10", info.State)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S",
		Sources: []*jetstream.StreamSource{{Name: "O", OptStartSeq: 8}}}); err != nil {
		t.Fatal(err)
	}
	info = waitForMessages(t, js, "S", 3)
	if info.State.FirstSeq != 1 || info.State.LastSeq != 3 {
		t.Fatalf("source state %+v, want 1..3", info.State)
	}
	stream, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.GetMsg(ctx, 1)
	if err != nil || string(first.Data) != "7" {
		t.Fatalf("first sourced message %+v %v", first, err)
	}
}
