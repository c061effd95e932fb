package jetstream

import (
	"encoding/json"
	"testing"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/proto/jsapi"
)

// TestAppendPubAckMatchesJSON proves the hand-written PubAck encoding is byte for byte
// what encoding/json writes, and that PubAcks it does not handle are left to it.
func TestAppendPubAckMatchesJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ack := &jsapi.PubAck{
			Stream:    rapid.StringMatching(`[A-Za-z0-9_\-<>&"\\é]{0,12}`).Draw(t, "stream"),
			Sequence:  rapid.Uint64().Draw(t, "seq"),
			Domain:    rapid.StringMatching(`[A-Za-z0-9_\-<>&]{0,6}`).Draw(t, "domain"),
			Duplicate: rapid.Bool().Draw(t, "duplicate"),
		}
		if rapid.IntRange(0, 9).Draw(t, "batch") == 0 {
			ack.BatchID, ack.BatchSize = "b", 3
		}
		want, err := json.Marshal(&jsapi.PubAckResponse{PubAck: ack})
		if err != nil {
			t.Fatal(err)
		}
		got := appendPubAck(nil, ack)
		if got == nil {
			if ack.BatchID == "" && isPlainJSONString(ack.Stream) && isPlainJSONString(ack.Domain) {
				t.Fatalf("plain PubAck %+v not handled", ack)
			}
			return
		}
		if string(got) != string(want) {
			t.Fatalf("appendPubAck = %s, encoding/json = %s", got, want)
		}
	})
}

// TestAppendPubAckExamples pins the common answers.
func TestAppendPubAckExamples(t *testing.T) {
	tests := []struct {
		ack  jsapi.PubAck
		want string
	}{
		{jsapi.PubAck{Stream: "B", Sequence: 1}, `{"stream":"B","seq":1}`},
		{jsapi.PubAck{Stream: "ORDERS", Sequence: 42, Domain: "hub", Duplicate: true}, `{"stream":"ORDERS","seq":42,"domain":"hub","duplicate":true}`},
	}
	for _, test := range tests {
		if got := string(appendPubAck(nil, &test.ack)); got != test.want {
			t.Errorf("appendPubAck(%+v) = %s, want %s", test.ack, got, test.want)
		}
	}
	if appendPubAck(nil, &jsapi.PubAck{Stream: "a<b", Sequence: 1}) != nil {
		t.Error("a stream name JSON escapes was not left to encoding/json")
	}
}
