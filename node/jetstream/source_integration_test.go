package jetstream_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// These tests drive streams with sources with nats.go's jetstream package against the
// in-process server on loopback.

// sourcedMessages reads every message of a stream: subject, data and the
// Nats-Stream-Source header, in sequence order.
func sourcedMessages(t *testing.T, js jetstream.JetStream, name string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := testContext(t)
	stream, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var messages []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		message, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		messages = append(messages, message)
	}
	return messages
}

// TestIntegrationSourcesFiltersAndTransforms proves a stream sourcing several
// streams (one filtered, one transformed) appends each origin's matching messages
// under new sequences, with the Nats-Stream-Source header in the reference's format,
// keeps its own subjects, and reports every source in its info from the create
// response on.
func TestIntegrationSourcesFiltersAndTransforms(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	for _, name := range []string{"A", "B"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		if _, err := js.Publish(ctx, fmt.Sprintf("a.%d", i%2), []byte(fmt.Sprint("a", i))); err != nil {
			t.Fatal(err)
		}
		msg := nats.NewMsg(fmt.Sprintf("b.%d", i))
		msg.Data = []byte(fmt.Sprint("b", i))
		msg.Header.Set(jetstream.ExpectedStreamHeader, "B")
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	aggregate, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AGG", Subjects: []string{"agg"},
		Sources: []*jetstream.StreamSource{
			{Name: "A", FilterSubject: "a.1"},
			{Name: "B", SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "b.*", Destination: "from.b.$1"}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if created := aggregate.CachedInfo(); len(created.Sources) != 2 {
		t.Fatalf("create response sources %+v", created.Sources)
	}
	if _, err := js.Publish(ctx, "agg", []byte("own")); err != nil {
		t.Fatal(err)
	}
	info := waitForMessages(t, js, "AGG", 3+6+1)
	messages := sourcedMessages(t, js, "AGG")
	fromA, fromB, own := 0, 0, 0
	for _, message := range messages {
		source := message.Header.Get("Nats-Stream-Source")
		switch {
		case message.Subject == "agg":
			own++
			if source != "" {
				t.Fatalf("own message has source %q", source)
			}
		case message.Subject == "a.1":
			fromA++
			fields := strings.Split(source, " ")
			if len(fields) != 5 || fields[0] != "A" || fields[2] != "a.1" || fields[3] != ">" || fields[4] != "a.1" {
				t.Fatalf("source header %q", source)
			}
		case strings.HasPrefix(message.Subject, "from.b."):
			fromB++
			fields := strings.Split(source, " ")
			if len(fields) != 5 || fields[0] != "B" || fields[2] != "b.*" || fields[3] != "from.b.$1" || fields[4] != "b."+strings.TrimPrefix(string(message.Data), "b") {
				t.Fatalf("source header %q", source)
			}
			if "from.b."+strings.TrimPrefix(string(message.Data), "b") != message.Subject {
				t.Fatalf("message %q on %s", message.Data, message.Subject)
			}
			if message.Header.Get(jetstream.ExpectedStreamHeader) != "" {
				t.Fatalf("expectation header kept: %v", message.Header)
			}
		default:
			t.Fatalf("unexpected message on %s", message.Subject)
		}
	}
	if fromA != 3 || fromB != 6 || own != 1 {
		t.Fatalf("from A %d, from B %d, own %d", fromA, fromB, own)
	}
	names := []string{}
	for _, source := range info.Sources {
		names = append(names, source.Name)
		if source.Lag != 0 || source.Error != nil || source.Active < 0 {
			t.Fatalf("source info %+v", source)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "A,B" || info.Sources[0].FilterSubject != "a.1" || len(info.Sources[1].SubjectTransforms) != 1 {
		t.Fatalf("sources info %+v %+v", info.Sources[0], info.Sources[1])
	}
}

// TestIntegrationSourcesRestartResume proves that after a server restart each source
// resumes right after the last origin message it stored: no duplicates, no gaps.
func TestIntegrationSourcesRestartResume(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	for _, name := range []string{"A", "B"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AGG",
		Sources: []*jetstream.StreamSource{{Name: "A"}, {Name: "B"}}}); err != nil {
		t.Fatal(err)
	}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			for _, subj := range []string{"a", "b"} {
				if _, err := js.Publish(ctx, subj, []byte(fmt.Sprint(subj, i))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	publish(0, 5)
	waitForMessages(t, js, "AGG", 10)
	s.Shutdown()
	s = startServer(t, dir)
	_, js = connectJetStream(t, s)
	publish(5, 10)
	waitForMessages(t, js, "AGG", 20)
	// Nothing more arrives later (a duplicate would).
	time.Sleep(300 * time.Millisecond)
	waitForMessages(t, js, "AGG", 20)
	seen := map[string]bool{}
	for _, message := range sourcedMessages(t, js, "AGG") {
		if seen[string(message.Data)] {
			t.Fatalf("duplicate %q", message.Data)
		}
		seen[string(message.Data)] = true
	}
	for i := range 10 {
		for _, subj := range []string{"a", "b"} {
			if !seen[fmt.Sprint(subj, i)] {
				t.Fatalf("missing %s%d", subj, i)
			}
		}
	}
}

// TestIntegrationSourcesUpdate proves that a stream update adding a source starts it
// (from the origin's beginning) and one removing a source stops it.
func TestIntegrationSourcesUpdate(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	for _, name := range []string{"A", "B"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, strings.ToLower(name), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AGG",
		Sources: []*jetstream.StreamSource{{Name: "A"}}}); err != nil {
		t.Fatal(err)
	}
	waitForMessages(t, js, "AGG", 1)
	updated, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "AGG",
		Sources: []*jetstream.StreamSource{{Name: "A"}, {Name: "B"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(updated.CachedInfo().Sources) != 2 {
		t.Fatalf("update response sources %+v", updated.CachedInfo().Sources)
	}
	waitForMessages(t, js, "AGG", 2)
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "AGG",
		Sources: []*jetstream.StreamSource{{Name: "B"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	info := waitForMessages(t, js, "AGG", 3)
	time.Sleep(300 * time.Millisecond)
	info = waitForMessages(t, js, "AGG", 3)
	if len(info.Sources) != 1 || info.Sources[0].Name != "B" {
		t.Fatalf("sources %+v", info.Sources)
	}
}

// TestIntegrationSourcesMissingAndExternal proves the info of a source whose origin
// does not exist carries an error, and an external source its API prefix.
func TestIntegrationSourcesMissingAndExternal(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AGG", Sources: []*jetstream.StreamSource{
		{Name: "missing"}, {Name: "ext", External: &jetstream.ExternalStream{APIPrefix: "$JS.ext.API"}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		info, err := stream.Info(ctx)
		if err != nil {
			return err
		}
		if len(info.Sources) != 2 {
			return fmt.Errorf("sources %+v", info.Sources)
		}
		for _, source := range info.Sources {
			switch source.Name {
			case "missing":
				if source.External != nil || source.Error == nil {
					return fmt.Errorf("missing source info %+v", source)
				}
			case "ext":
				if source.External == nil || source.External.APIPrefix != "$JS.ext.API" {
					return fmt.Errorf("external source info %+v", source)
				}
			}
		}
		return nil
	})
}

// TestIntegrationKeyValueSources proves a KV bucket sourcing two buckets (nats.go
// adds the subject transforms) serves their keys.
func TestIntegrationKeyValueSources(t *testing.T) {
	s := startServer(t, t.TempDir())
	_, js := connectJetStream(t, s)
	ctx := testContext(t)
	one, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "ONE"})
	if err != nil {
		t.Fatal(err)
	}
	two, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "TWO"})
	if err != nil {
		t.Fatal(err)
	}
	both, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "BOTH",
		Sources: []*jetstream.StreamSource{{Name: "ONE"}, {Name: "KV_TWO"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one.Put(ctx, "k1", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Put(ctx, "k2", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		for key, want := range map[string]string{"k1": "v1", "k2": "v2"} {
			entry, err := both.Get(ctx, key)
			if err != nil {
				return err
			}
			if string(entry.Value()) != want {
				return fmt.Errorf("%s = %q", key, entry.Value())
			}
		}
		return nil
	})
}
