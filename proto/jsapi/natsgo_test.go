package jsapi_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/proto/jsapi"
)

// These tests prove wire compatibility with the real client, nats.go v1.55.0's
// jetstream package: a value with every field set, as the client encodes it, decodes
// strictly into our type (so we know every field the client sends or expects), and our
// encoding decodes back into the client's type unchanged (so every name and type
// agrees).

// fillTime is the time every time field gets; it has nanoseconds so precision is tested.
var fillTime = time.Date(2026, 1, 2, 3, 4, 5, 6007, time.UTC)

// skippedClientFields are client fields the server does not have: the client omits them
// when empty, and so must the test.
var skippedClientFields = map[string]bool{"Template": true}

// filler sets every exported field of a value to a non-zero value. Enumerations (integer
// types with their own JSON encoding) get 1, which is valid and not the default in every
// client enumeration; other integers get distinct values so swapped names show.
type filler struct{ next int64 }

func (f *filler) fill(value reflect.Value, depth int) {
	if depth > 6 {
		return
	}
	marshaler := reflect.TypeFor[json.Marshaler]()
	switch value.Kind() {
	case reflect.Pointer:
		value.Set(reflect.New(value.Type().Elem()))
		f.fill(value.Elem(), depth+1)
	case reflect.Struct:
		if value.Type() == reflect.TypeFor[time.Time]() {
			value.Set(reflect.ValueOf(fillTime))
			return
		}
		for i := range value.NumField() {
			field := value.Type().Field(i)
			if !field.IsExported() || field.Tag.Get("json") == "-" || skippedClientFields[field.Name] {
				continue
			}
			f.fill(value.Field(i), depth+1)
		}
	case reflect.String:
		f.next++
		value.SetString("s" + strings.Repeat("x", int(f.next%3)) + string(rune('a'+f.next%26)))
	case reflect.Bool:
		value.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if value.Type().Implements(marshaler) || reflect.PointerTo(value.Type()).Implements(marshaler) {
			value.SetInt(1)
			return
		}
		f.next++
		value.SetInt(f.next)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if value.Type().Implements(marshaler) || reflect.PointerTo(value.Type()).Implements(marshaler) {
			value.SetUint(1)
			return
		}
		f.next++
		value.SetUint(uint64(f.next))
	case reflect.Slice:
		if value.Type().Elem().Kind() == reflect.Uint8 {
			value.SetBytes([]byte("bytes"))
			return
		}
		slice := reflect.MakeSlice(value.Type(), 2, 2)
		for i := range 2 {
			f.fill(slice.Index(i), depth+1)
		}
		value.Set(slice)
	case reflect.Map:
		m := reflect.MakeMap(value.Type())
		key := reflect.New(value.Type().Key()).Elem()
		f.fill(key, depth+1)
		element := reflect.New(value.Type().Elem()).Elem()
		f.fill(element, depth+1)
		m.SetMapIndex(key, element)
		value.Set(m)
	}
}

// roundTrip fills a client value, decodes its JSON strictly into ours, encodes ours and
// decodes that into a fresh client value, which must equal the first.
func roundTrip[Client any, Ours any](t *testing.T) {
	t.Helper()
	var client Client
	(&filler{}).fill(reflect.ValueOf(&client).Elem(), 0)
	clientJSON, err := json.Marshal(client)
	if err != nil {
		t.Fatal(err)
	}
	var ours Ours
	if err := jsapi.DecodeRequest(clientJSON, &ours, true); err != nil {
		t.Fatalf("strict decode of the client's %T: %v\n%s", client, err, clientJSON)
	}
	oursJSON, err := json.Marshal(ours)
	if err != nil {
		t.Fatal(err)
	}
	var back Client
	if err := json.Unmarshal(oursJSON, &back); err != nil {
		t.Fatalf("client decode of our %T: %v", ours, err)
	}
	if !reflect.DeepEqual(client, back) {
		t.Fatalf("%T changed through ours:\nclient: %s\nours:   %s", client, clientJSON, oursJSON)
	}
}

func TestClientStreamConfig(t *testing.T) { roundTrip[jetstream.StreamConfig, jsapi.StreamConfig](t) }
func TestClientStreamInfo(t *testing.T)   { roundTrip[jetstream.StreamInfo, jsapi.StreamInfo](t) }
func TestClientConsumerConfig(t *testing.T) {
	roundTrip[jetstream.ConsumerConfig, jsapi.ConsumerConfig](t)
}
func TestClientConsumerInfo(t *testing.T) { roundTrip[jetstream.ConsumerInfo, jsapi.ConsumerInfo](t) }
func TestClientAccountInfo(t *testing.T)  { roundTrip[jetstream.AccountInfo, jsapi.AccountInfo](t) }
func TestClientPubAck(t *testing.T)       { roundTrip[jetstream.PubAck, jsapi.PubAck](t) }
func TestClientAPIError(t *testing.T)     { roundTrip[jetstream.APIError, jsapi.Error](t) }

// The legacy JetStream API of the root nats package has its own copies of the types.
func TestLegacyClientStreamConfig(t *testing.T) { roundTrip[nats.StreamConfig, jsapi.StreamConfig](t) }
func TestLegacyClientStreamInfo(t *testing.T)   { roundTrip[nats.StreamInfo, jsapi.StreamInfo](t) }
func TestLegacyClientConsumerConfig(t *testing.T) {
	roundTrip[nats.ConsumerConfig, jsapi.ConsumerConfig](t)
}
func TestLegacyClientConsumerInfo(t *testing.T) { roundTrip[nats.ConsumerInfo, jsapi.ConsumerInfo](t) }
func TestLegacyClientAccountInfo(t *testing.T)  { roundTrip[nats.AccountInfo, jsapi.AccountInfo](t) }
func TestLegacyClientPubAck(t *testing.T)       { roundTrip[nats.PubAck, jsapi.PubAck](t) }

func TestClientRawStreamMsg(t *testing.T) {
	// The client's RawStreamMsg is decoded from StoredMsg; its header is parsed, so
	// compare the wire shape through a mirror of the client's private stored message.
	type clientStoredMsg struct {
		Subject  string    `json:"subject"`
		Sequence uint64    `json:"seq"`
		Header   []byte    `json:"hdrs,omitempty"`
		Data     []byte    `json:"data,omitempty"`
		Time     time.Time `json:"time"`
	}
	roundTrip[clientStoredMsg, jsapi.StoredMsg](t)
}

// TestClientEnumerations proves every client enumeration value encodes to a string
// our type decodes to the same meaning, by name.
func TestClientEnumerations(t *testing.T) {
	check := func(client any, ours any, want string) {
		t.Helper()
		data, err := json.Marshal(client)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, ours); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		again, err := json.Marshal(ours)
		if err != nil || string(again) != `"`+want+`"` || string(data) != string(again) {
			t.Fatalf("client %s, ours %s, want %q", data, again, want)
		}
	}
	var deliver jsapi.DeliverPolicy
	check(jetstream.DeliverAllPolicy, &deliver, "all")
	check(jetstream.DeliverLastPolicy, &deliver, "last")
	check(jetstream.DeliverNewPolicy, &deliver, "new")
	check(jetstream.DeliverByStartSequencePolicy, &deliver, "by_start_sequence")
	check(jetstream.DeliverByStartTimePolicy, &deliver, "by_start_time")
	check(jetstream.DeliverLastPerSubjectPolicy, &deliver, "last_per_subject")
	var ack jsapi.AckPolicy
	check(jetstream.AckNonePolicy, &ack, "none")
	check(jetstream.AckAllPolicy, &ack, "all")
	check(jetstream.AckExplicitPolicy, &ack, "explicit")
	var replay jsapi.ReplayPolicy
	check(jetstream.ReplayInstantPolicy, &replay, "instant")
	check(jetstream.ReplayOriginalPolicy, &replay, "original")
	var retention jsapi.RetentionPolicy
	check(jetstream.LimitsPolicy, &retention, "limits")
	check(jetstream.InterestPolicy, &retention, "interest")
	check(jetstream.WorkQueuePolicy, &retention, "workqueue")
	var discard jsapi.DiscardPolicy
	check(jetstream.DiscardOld, &discard, "old")
	check(jetstream.DiscardNew, &discard, "new")
	var storage jsapi.StorageType
	check(jetstream.FileStorage, &storage, "file")
	check(jetstream.MemoryStorage, &storage, "memory")
	var compression jsapi.Compression
	check(jetstream.NoCompression, &compression, "none")
	check(jetstream.S2Compression, &compression, "s2")
	var priority jsapi.PriorityPolicy
	// The client writes PriorityPolicyNone as "" but only ever omits it (omitempty on
	// a zero value), and the reference rejects "", so only the named values are sent.
	if err := json.Unmarshal([]byte(`""`), &priority); err == nil {
		t.Fatal(`"" must be rejected as the reference does`)
	}
	check(jetstream.PriorityPolicyOverflow, &priority, "overflow")
	check(jetstream.PriorityPolicyPinned, &priority, "pinned_client")
	check(jetstream.PriorityPolicyPrioritized, &priority, "prioritized")
	var persist jsapi.PersistMode
	check(jetstream.DefaultPersistMode, &persist, "default")
	check(jetstream.AsyncPersistMode, &persist, "async")
}
