package jsapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRequiredLevels proves the API level stored for each feature is the
// reference's: TTLs and markers 1, counters, atomic batches, schedules and async
// persistence 2, fast batches 4; pausing and priority groups 1, flow control acks 4.
func TestRequiredLevels(t *testing.T) {
	streams := []struct {
		config StreamConfig
		want   int
	}{
		{StreamConfig{}, 0},
		{StreamConfig{AllowMsgTTL: true}, 1},
		{StreamConfig{SubjectDeleteMarkerTTL: time.Second}, 1},
		{StreamConfig{AllowMsgCounter: true, AllowMsgTTL: true}, 2},
		{StreamConfig{AllowAtomicPublish: true}, 2},
		{StreamConfig{AllowMsgSchedules: true}, 2},
		{StreamConfig{PersistMode: AsyncPersistMode}, 2},
		{StreamConfig{AllowBatchPublish: true, AllowMsgCounter: true}, 4},
	}
	for _, c := range streams {
		if got := StreamRequiredLevel(&c.config); got != c.want {
			t.Errorf("StreamRequiredLevel(%+v) = %d, want %d", c.config, got, c.want)
		}
	}
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	var zero time.Time
	consumers := []struct {
		config ConsumerConfig
		want   int
	}{
		{ConsumerConfig{}, 0},
		{ConsumerConfig{PauseUntil: &zero}, 0},
		{ConsumerConfig{PauseUntil: &future}, 1},
		{ConsumerConfig{PriorityPolicy: PriorityOverflow}, 1},
		{ConsumerConfig{PriorityGroups: []string{"G"}}, 1},
		{ConsumerConfig{PinnedTTL: time.Second}, 1},
		{ConsumerConfig{AckPolicy: AckFlowControl, PauseUntil: &future}, 4},
	}
	for _, c := range consumers {
		if got := ConsumerRequiredLevel(&c.config); got != c.want {
			t.Errorf("ConsumerRequiredLevel(%+v) = %d, want %d", c.config, got, c.want)
		}
	}
}

// TestMetadataStaticAndDynamic proves the stored metadata keeps the client's keys,
// drops the output-only ones a client sent back, and records the level, while the
// reported copy adds version and level without changing the stored map.
func TestMetadataStaticAndDynamic(t *testing.T) {
	sent := map[string]string{"own": "x", MetadataServerVersion: "0.0.1", MetadataServerLevel: "9"}
	config := StreamConfig{AllowMsgTTL: true, Metadata: sent}
	SetStaticStreamMetadata(&config)
	if len(config.Metadata) != 2 || config.Metadata["own"] != "x" || config.Metadata[MetadataRequiredLevel] != "1" {
		t.Fatalf("stored metadata %v", config.Metadata)
	}
	if len(sent) != 3 {
		t.Fatalf("the caller's map changed: %v", sent)
	}
	reported := WithDynamicStreamMetadata(config)
	if reported.Metadata[MetadataServerVersion] != ServerVersion || reported.Metadata[MetadataServerLevel] != "5" ||
		reported.Metadata["own"] != "x" || len(config.Metadata) != 2 {
		t.Fatalf("reported %v, stored %v", reported.Metadata, config.Metadata)
	}
	consumer := ConsumerConfig{}
	SetStaticConsumerMetadata(&consumer)
	if consumer.Metadata[MetadataRequiredLevel] != "0" {
		t.Fatalf("consumer metadata %v", consumer.Metadata)
	}
	if dynamic := WithDynamicConsumerMetadata(consumer); len(dynamic.Metadata) != 3 || len(consumer.Metadata) != 1 {
		t.Fatalf("consumer reported %v stored %v", dynamic.Metadata, consumer.Metadata)
	}
}

// TestErrorResponseShapes proves error answers carry the fields the reference's
// response types never omit, and only those.
func TestErrorResponseShapes(t *testing.T) {
	cases := []struct {
		op   Op
		want string
	}{
		{OpStreamInfo, `"total":0,"offset":0,"limit":0`},
		{OpStreamNames, `"streams":null`},
		{OpStreamList, `"streams":[]`},
		{OpStreamPurge, `"purged":0`},
		{OpConsumerNames, `"consumers":[]`},
		{OpConsumerList, `"consumers":[]`},
		{OpConsumerPause, `"paused":false,"pause_until":"0001-01-01T00:00:00Z"`},
		{OpStreamRestore, `"deliver_subject":""`},
	}
	for _, c := range cases {
		data, err := json.Marshal(ErrorResponse(c.op, NewBadRequestError()))
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(data) || !strings.Contains(string(data), c.want) || !strings.Contains(string(data), `"err_code":10003`) {
			t.Errorf("%v error answer %s, want %s beside the error", c.op, data, c.want)
		}
	}
	data, _ := json.Marshal(ErrorResponse(OpStreamDelete, NewBadRequestError()))
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || len(fields) != 2 {
		t.Errorf("plain error answer %s, want type and error only", data)
	}
}

// TestIsEmptyRequest proves what counts as an empty body: nothing, {} and any empty
// object, but not other JSON or garbage.
func TestIsEmptyRequest(t *testing.T) {
	for body, want := range map[string]bool{"": true, "{}": true, " { } ": true, `{"seq":1}`: false, "[]": false, "{": false, "null": false} {
		if got := IsEmptyRequest([]byte(body)); got != want {
			t.Errorf("IsEmptyRequest(%q) = %v, want %v", body, got, want)
		}
	}
}
