package node

import (
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestJetStreamMonitoring proves /jsz counts streams and messages with account and
// stream details, and /healthz?js-enabled-only=true is healthy with JetStream
// running and on a server not configured for it.
func TestJetStreamMonitoring(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "J", Subjects: []string{"j"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "j", []byte("x")); err != nil {
		t.Fatal(err)
	}
	status, _, body := s.handleMonitor("GET", "/jsz?accounts=true&streams=true&config=true")
	var report struct {
		Streams  int    `json:"streams"`
		Messages uint64 `json:"messages"`
		Accounts []struct {
			Name    string `json:"name"`
			Streams []struct {
				Name   string          `json:"name"`
				Config json.RawMessage `json:"config"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if err := json.Unmarshal(body, &report); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, body, err)
	}
	if report.Streams != 1 || report.Messages != 1 || len(report.Accounts) != 1 ||
		len(report.Accounts[0].Streams) != 1 || report.Accounts[0].Streams[0].Name != "J" || len(report.Accounts[0].Streams[0].Config) == 0 {
		t.Fatalf("%s", body)
	}
	if status, _, body := s.handleMonitor("GET", "/healthz?js-enabled-only=true"); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	plain := startTestServer(t, nil)
	if status, _, body := plain.handleMonitor("GET", "/healthz?js-enabled-only=true"); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, body := plain.handleMonitor("GET", "/jsz"); status != 200 || !json.Valid(body) {
		t.Fatalf("%d %s", status, body)
	}
}
