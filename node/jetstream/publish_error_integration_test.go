package jetstream_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestIntegrationPublishErrorNamesStream proves a refused publish is answered as the
// reference answers it: the error together with the stream's name and sequence 0
// ({"error":{...},"stream":"S","seq":0}), and that nothing is stored.
func TestIntegrationPublishErrorNamesStream(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, MaxMsgSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	refusals := []*nats.Msg{
		{Subject: "s.a", Data: make([]byte, 100)},
		{Subject: "s.a", Header: nats.Header{"Nats-Expected-Stream": []string{"X"}}},
		{Subject: "s.a", Header: nats.Header{"Nats-Expected-Last-Sequence": []string{"7"}}},
	}
	for _, msg := range refusals {
		answer, err := nc.RequestMsg(msg, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(answer.Data, &fields); err != nil {
			t.Fatalf("answer %q: %v", answer.Data, err)
		}
		if len(fields) != 3 || string(fields["stream"]) != `"S"` || string(fields["seq"]) != "0" || fields["error"] == nil {
			t.Fatalf("refusal of %v answered %s, want error, stream S and seq 0", msg.Header, answer.Data)
		}
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("%d messages stored after refusals", info.State.Msgs)
	}
}
