package jsapi

import (
	"encoding/json"
	"testing"
)

func decodeInto[T any, P interface {
	*T
	json.Unmarshaler
	json.Marshaler
}](data []byte) (json.Marshaler, error) {
	var value T
	err := json.Unmarshal(data, P(&value))
	return P(&value), err
}

// TestEnumerationRoundTrips proves each value of each enumeration encodes to its
// reference name and decodes back, and that an unknown name fails with the
// reference's message.
func TestEnumerationRoundTrips(t *testing.T) {
	cases := []struct {
		name    string
		wire    map[string]json.Marshaler
		decode  func([]byte) (json.Marshaler, error)
		unknown string
	}{
		{"retention", map[string]json.Marshaler{`"limits"`: LimitsPolicy, `"interest"`: InterestPolicy, `"workqueue"`: WorkQueuePolicy},
			decodeInto[RetentionPolicy], `can not unmarshal "\"queue\""`},
		{"discard", map[string]json.Marshaler{`"old"`: DiscardOld, `"new"`: DiscardNew},
			decodeInto[DiscardPolicy], `can not unmarshal "\"queue\""`},
		{"storage", map[string]json.Marshaler{`"file"`: FileStorage, `"memory"`: MemoryStorage},
			decodeInto[StorageType], `can not unmarshal "\"queue\""`},
		{"compression", map[string]json.Marshaler{`"none"`: NoCompression, `"s2"`: S2Compression},
			decodeInto[Compression], "unknown compression algorithm"},
		{"persist", map[string]json.Marshaler{`"default"`: DefaultPersistMode, `"async"`: AsyncPersistMode},
			decodeInto[PersistMode], `can not unmarshal "\"queue\""`},
		{"deliver", map[string]json.Marshaler{`"all"`: DeliverAll, `"last"`: DeliverLast, `"new"`: DeliverNew,
			`"by_start_sequence"`: DeliverByStartSequence, `"by_start_time"`: DeliverByStartTime,
			`"last_per_subject"`: DeliverLastPerSubject}, decodeInto[DeliverPolicy], `can not unmarshal "\"queue\""`},
		{"ack", map[string]json.Marshaler{`"none"`: AckNone, `"all"`: AckAll, `"explicit"`: AckExplicit, `"flow_control"`: AckFlowControl},
			decodeInto[AckPolicy], `can not unmarshal "\"queue\""`},
		{"replay", map[string]json.Marshaler{`"instant"`: ReplayInstant, `"original"`: ReplayOriginal},
			decodeInto[ReplayPolicy], `can not unmarshal "\"queue\""`},
		{"priority", map[string]json.Marshaler{`"none"`: PriorityNone, `"overflow"`: PriorityOverflow,
			`"pinned_client"`: PriorityPinnedClient, `"prioritized"`: PriorityPrioritized},
			decodeInto[PriorityPolicy], `unknown priority policy: "queue"`},
		{"action", map[string]json.Marshaler{`""`: ActionCreateOrUpdate, `"create"`: ActionCreate, `"update"`: ActionUpdate},
			decodeInto[ConsumerAction], `unknown consumer action: "queue"`},
	}
	for _, c := range cases {
		for wire, value := range c.wire {
			encoded, err := value.MarshalJSON()
			if err != nil || string(encoded) != wire {
				t.Errorf("%s: %v encodes to %s (%v), want %s", c.name, value, encoded, err, wire)
			}
			decoded, err := c.decode([]byte(wire))
			if err != nil {
				t.Errorf("%s: decode %s: %v", c.name, wire, err)
				continue
			}
			again, _ := decoded.MarshalJSON()
			if string(again) != wire {
				t.Errorf("%s: %s decodes to a value encoding as %s", c.name, wire, again)
			}
		}
		if _, err := c.decode([]byte(`"queue"`)); err == nil || err.Error() != c.unknown {
			t.Errorf("%s: unknown value error %v, want %q", c.name, err, c.unknown)
		}
	}
}

// TestEnumerationQuirks pins the reference's exceptions: discard accepts any case,
// "undefined" is deliver all, "" is the default persist mode, values outside an
// enumeration fail to encode (which the config checks rely on), except deliver which
// writes "undefined", and compression accepts JSON escapes.
func TestEnumerationQuirks(t *testing.T) {
	var discard DiscardPolicy
	if err := json.Unmarshal([]byte(`"NEW"`), &discard); err != nil || discard != DiscardNew {
		t.Fatal("discard is case-insensitive")
	}
	deliver := DeliverNew
	if err := json.Unmarshal([]byte(`"undefined"`), &deliver); err != nil || deliver != DeliverAll {
		t.Fatal("undefined deliver policy")
	}
	if data, err := DeliverPolicy(42).MarshalJSON(); err != nil || string(data) != `"undefined"` {
		t.Fatal("deliver out of range encodes as undefined")
	}
	persist := AsyncPersistMode
	if err := json.Unmarshal([]byte(`""`), &persist); err != nil || persist != DefaultPersistMode {
		t.Fatal("empty persist mode")
	}
	var compression Compression
	if err := json.Unmarshal([]byte(`"\u0073\u0032"`), &compression); err != nil || compression != S2Compression {
		t.Fatal("compression decodes a JSON string")
	}
	for _, value := range []json.Marshaler{RetentionPolicy(7), DiscardPolicy(7), StorageType(0), Compression(7),
		PersistMode(7), AckPolicy(7), ReplayPolicy(7), PriorityPolicy(7), ConsumerAction(7)} {
		if _, err := value.MarshalJSON(); err == nil {
			t.Errorf("%T(%v) encoded", value, value)
		}
	}
	if _, err := StorageType(0).MarshalJSON(); err == nil || err.Error() != "can not marshal Unknown Storage Type" {
		t.Errorf("storage zero: %v", err)
	}
	if LimitsPolicy.String() != "Limits" || MemoryStorage.String() != "Memory" || ReplayOriginal.String() != `"original"` {
		t.Error("display names")
	}
}
