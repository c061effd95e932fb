package jsapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// goldenTime is the time used by the golden requests, with nanoseconds.
var goldenTime = time.Date(2026, 3, 4, 5, 6, 7, 89, time.UTC)

// TestRequestGoldens proves request bodies written the way nats.go sends them decode
// strictly into our types with every field in place, and encode back to the same JSON.
func TestRequestGoldens(t *testing.T) {
	cases := []struct {
		body string
		into any
		want any
	}{
		{`{"expires":30000000000,"batch":10,"max_bytes":1024,"no_wait":true,"idle_heartbeat":5000000000,` +
			`"group":"jobs","min_pending":5,"min_ack_pending":6,"id":"pin-1","priority":3}`,
			&NextRequest{}, &NextRequest{Expires: 30 * time.Second, Batch: 10, MaxBytes: 1024, NoWait: true,
				Heartbeat: 5 * time.Second, PriorityGroup: PriorityGroup{Group: "jobs", MinPending: 5, MinAckPending: 6, ID: "pin-1", Priority: 3}}},
		{`{"offset":10,"deleted_details":true,"subjects_filter":"orders.>"}`,
			&StreamInfoRequest{}, &StreamInfoRequest{PagedRequest{10}, true, "orders.>"}},
		{`{"seq":10,"filter":"orders.eu","keep":5}`, &StreamPurgeRequest{}, &StreamPurgeRequest{10, "orders.eu", 5}},
		{`{"seq":3,"next_by_subj":"orders.*"}`, &MsgGetRequest{}, &MsgGetRequest{Seq: 3, NextFor: "orders.*"}},
		{`{"last_by_subj":"$KV.b.k"}`, &MsgGetRequest{}, &MsgGetRequest{LastFor: "$KV.b.k"}},
		{`{"seq":1,"batch":10,"max_bytes":4096,"start_time":"2026-03-04T05:06:07.000000089Z"}`,
			&MsgGetRequest{}, &MsgGetRequest{Seq: 1, Batch: 10, MaxBytes: 4096, StartTime: &goldenTime}},
		{`{"batch":2,"multi_last":["a.>","b"],"up_to_seq":100,"up_to_time":"2026-03-04T05:06:07.000000089Z","no_hdr":true}`,
			&MsgGetRequest{}, &MsgGetRequest{Batch: 2, MultiLastFor: []string{"a.>", "b"}, UpToSeq: 100, UpToTime: &goldenTime, NoHeaders: true}},
		{`{"seq":5,"no_erase":true}`, &MsgDeleteRequest{}, &MsgDeleteRequest{5, true}},
		{`{"seq":5}`, &MsgDeleteRequest{}, &MsgDeleteRequest{Seq: 5}},
		{`{"offset":256,"subject":"orders.*"}`, &StreamNamesRequest{}, &StreamNamesRequest{PagedRequest{256}, "orders.*"}},
		{`{"offset":0}`, &ConsumersRequest{}, &ConsumersRequest{}},
		{`{"pause_until":"2026-03-04T05:06:07.000000089Z"}`, &ConsumerPauseRequest{}, &ConsumerPauseRequest{goldenTime}},
		{`{"group":"jobs"}`, &ConsumerUnpinRequest{}, &ConsumerUnpinRequest{"jobs"}},
		{`{"seq":10}`, &ConsumerResetRequest{}, &ConsumerResetRequest{10}},
		{`{"deliver_subject":"_INBOX.x","no_consumers":true,"chunk_size":131072,"window_size":8388608,"jsck":true}`,
			&StreamSnapshotRequest{}, &StreamSnapshotRequest{"_INBOX.x", true, 131072, 8388608, true}},
		{`{"peer":"n2"}`, &PeerRequest{}, &PeerRequest{"n2"}},
		{`{"placement":{"cluster":"east","tags":["ssd"],"preferred":"n1"}}`, &LeaderStepDownRequest{},
			&LeaderStepDownRequest{&Placement{"east", []string{"ssd"}, "n1"}}},
		{`{"peer":"n3","peer_id":"abc"}`, &ServerRemoveRequest{}, &ServerRemoveRequest{"n3", "abc"}},
		{`{"stream_name":"ORDERS","config":{"durable_name":"D","deliver_policy":"by_start_time",` +
			`"opt_start_time":"2026-03-04T05:06:07.000000089Z","ack_policy":"explicit","ack_wait":30000000000,` +
			`"max_deliver":5,"backoff":[1000000000,2000000000],"filter_subjects":["a","b"],"replay_policy":"original",` +
			`"max_ack_pending":100,"inactive_threshold":5000000000,"num_replicas":1,"metadata":{"k":"v"},` +
			`"pause_until":"2026-03-04T05:06:07.000000089Z","priority_groups":["jobs"],"priority_policy":"pinned_client",` +
			`"priority_timeout":60000000000},"action":"create"}`,
			&CreateConsumerRequest{}, &CreateConsumerRequest{Stream: "ORDERS", Action: ActionCreate, Config: ConsumerConfig{
				Durable: "D", DeliverPolicy: DeliverByStartTime, OptStartTime: &goldenTime, AckPolicy: AckExplicit,
				AckWait: 30 * time.Second, MaxDeliver: 5, BackOff: []time.Duration{time.Second, 2 * time.Second},
				FilterSubjects: []string{"a", "b"}, ReplayPolicy: ReplayOriginal, MaxAckPending: 100,
				InactiveThreshold: 5 * time.Second, Replicas: 1, Metadata: map[string]string{"k": "v"},
				PauseUntil: &goldenTime, PriorityGroups: []string{"jobs"}, PriorityPolicy: PriorityPinnedClient,
				PinnedTTL: time.Minute}}},
	}
	for _, c := range cases {
		if err := DecodeRequest([]byte(c.body), c.into, true); err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if !reflect.DeepEqual(c.into, c.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", c.body, c.into, c.want)
		}
		encoded, err := json.Marshal(c.into)
		if err != nil || !jsonEqual(t, string(encoded), c.body) {
			t.Errorf("%s re-encodes as %s (%v)", c.body, encoded, err)
		}
	}
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var left, right any
	if json.Unmarshal([]byte(a), &left) != nil || json.Unmarshal([]byte(b), &right) != nil {
		return false
	}
	return reflect.DeepEqual(left, right)
}

// TestResponseGoldens pins response encodings byte for byte, in the reference's field
// order: an error response, a created stream with the reference's defaults, names and
// a pause response.
func TestResponseGoldens(t *testing.T) {
	config, apiError := CheckStreamConfig(&StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}, StreamCheckOptions{})
	if apiError != nil {
		t.Fatal(apiError)
	}
	cases := []struct {
		value any
		want  string
	}{
		{StreamCreateResponse{Response: Response{Type: StreamCreateResponseType, Error: NewStreamNameExistError()}},
			`{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10058,` +
				`"description":"stream name already in use with a different configuration"}}`},
		{config, `{"name":"ORDERS","subjects":["orders.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,` +
			`"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file",` +
			`"num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,` +
			`"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false}`},
		{StreamNamesResponse{Response{Type: StreamNamesResponseType}, Paged{1, 0, NamesLimit}, []string{"ORDERS"}},
			`{"type":"io.nats.jetstream.api.v1.stream_names_response","total":1,"offset":0,"limit":1024,"streams":["ORDERS"]}`},
		{ConsumerPauseResponse{Response{Type: ConsumerPauseResponseType}, true, goldenTime, time.Second},
			`{"type":"io.nats.jetstream.api.v1.consumer_pause_response","paused":true,` +
				`"pause_until":"2026-03-04T05:06:07.000000089Z","pause_remaining":1000000000}`},
		{StreamPurgeResponse{Response{Type: StreamPurgeResponseType}, true, 0},
			`{"type":"io.nats.jetstream.api.v1.stream_purge_response","success":true,"purged":0}`},
		{PubAck{Stream: "ORDERS", Sequence: 7, Duplicate: true}, `{"stream":"ORDERS","seq":7,"duplicate":true}`},
		{PubAckResponse{Error: NewStreamNotMatchError()},
			`{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"}}`},
		{ConsumerInfoResponse{Response{Type: ConsumerInfoResponseType}, &ConsumerInfo{Stream: "S", Name: "C",
			Created: goldenTime, TimeStamp: goldenTime, Delivered: SequenceInfo{1, 2, &goldenTime}}},
			`{"type":"io.nats.jetstream.api.v1.consumer_info_response","stream_name":"S","name":"C",` +
				`"created":"2026-03-04T05:06:07.000000089Z","delivered":{"consumer_seq":1,"stream_seq":2,` +
				`"last_active":"2026-03-04T05:06:07.000000089Z"},"ack_floor":{"consumer_seq":0,"stream_seq":0},` +
				`"num_ack_pending":0,"num_redelivered":0,"num_waiting":0,"num_pending":0,"ts":"2026-03-04T05:06:07.000000089Z"}`},
	}
	for _, c := range cases {
		if got := string(MarshalResponse(c.value)); got != c.want {
			t.Errorf("%T:\ngot  %s\nwant %s", c.value, got, c.want)
		}
	}
	broken := MarshalResponse(StreamConfig{Retention: RetentionPolicy(9), Storage: FileStorage})
	if !strings.Contains(string(broken), `"type":"io.nats.jetstream.api.v1.system_response"`) {
		t.Errorf("unencodable response: %s", broken)
	}
}

// TestDecodeRequestModes proves strict decoding refuses unknown fields and names a
// syntax error's offset, lenient decoding falls back, and the error wraps as 10025.
func TestDecodeRequestModes(t *testing.T) {
	var request StreamPurgeRequest
	err := DecodeRequest([]byte(`{"seq":1,"bogus":true}`), &request, true)
	if err == nil || err.Error() != `json: unknown field "bogus"` {
		t.Fatalf("strict: %v", err)
	}
	request = StreamPurgeRequest{}
	if err := DecodeRequest([]byte(`{"seq":1,"bogus":true}`), &request, false); err != nil || request.Sequence != 1 {
		t.Fatalf("lenient: %v %+v", err, request)
	}
	err = DecodeRequest([]byte(`{"seq":`), &request, true)
	if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("truncated: %v", err)
	}
	err = DecodeRequest([]byte(`{"seq":1}}`), &request, true)
	if err == nil || !strings.Contains(err.Error(), "at offset") {
		t.Fatalf("syntax: %v", err)
	}
	if err := DecodeRequest(nil, &request, true); err != nil {
		t.Fatalf("empty body: %v", err)
	}
	apiError := DecodeRequestError([]byte(`{"retention":"forever"}`), &StreamConfigRequest{}, true)
	if apiError == nil || apiError.ErrCode != ErrCodeInvalidJSON ||
		apiError.Description != `invalid JSON: can not unmarshal "\"forever\""` {
		t.Fatalf("enum: %+v", apiError)
	}
	var config StreamConfigRequest
	if err := DecodeRequest([]byte(`{"name":"S","pedantic":true,"max_age":1000000000}`), &config, true); err != nil ||
		!config.Pedantic || config.Name != "S" || config.MaxAge != time.Second {
		t.Fatalf("config request: %v %+v", err, config)
	}
}

// TestParseNextRequest pins the pull request body forms.
func TestParseNextRequest(t *testing.T) {
	cases := []struct {
		body string
		want NextRequest
		err  string
	}{
		{"", NextRequest{Batch: 1}, ""},
		{"  ", NextRequest{Batch: 1}, ""},
		{"25", NextRequest{Batch: 25}, ""},
		{"junk", NextRequest{Batch: 1}, ""},
		{`{"batch":5,"expires":1000000000}`, NextRequest{Batch: 5, Expires: time.Second}, ""},
		{`{"batch":5,"expires":1000000000,"idle_heartbeat":600000000}`, NextRequest{Batch: 1}, "heartbeat value too large"},
		{`{"batch":5,"idle_heartbeat":1}`, NextRequest{Batch: 1}, "heartbeat value too large"},
		{`{"batch":`, NextRequest{Batch: -1}, "unexpected end of JSON input"},
	}
	for _, c := range cases {
		got, err := ParseNextRequest([]byte(c.body))
		if (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) || got != c.want {
			t.Errorf("%q: got %+v %v, want %+v %q", c.body, got, err, c.want, c.err)
		}
	}
}

// TestAdvisoryGolden pins an advisory's encoding, header fields first.
func TestAdvisoryGolden(t *testing.T) {
	advisory := ConsumerActionAdvisory{TypedEvent{ConsumerActionAdvisoryType, "id1", goldenTime}, "S", "C", ActionCreated, ""}
	want := `{"type":"io.nats.jetstream.advisory.v1.consumer_action","id":"id1","timestamp":"2026-03-04T05:06:07.000000089Z",` +
		`"stream":"S","consumer":"C","action":"create"}`
	if got := string(MarshalResponse(advisory)); got != want {
		t.Fatalf("got %s", got)
	}
}
