package jetstream

import (
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
)

// TestSourceHeaderFormat proves Nats-Stream-Source has the reference's shape, the
// source's index name split around the origin sequence, for plain, filtered,
// transformed and external sources.
func TestSourceHeaderFormat(t *testing.T) {
	for _, test := range []struct {
		source jsapi.StreamSource
		want   string
	}{
		{jsapi.StreamSource{Name: "A"}, "A 7 > >"},
		{jsapi.StreamSource{Name: "A", FilterSubject: "a.1"}, "A 7 a.1 >"},
		{jsapi.StreamSource{Name: "B", SubjectTransforms: []jsapi.SubjectTransformConfig{{Source: "b.*", Destination: "c.$1"}}},
			"B 7 b.* c.$1"},
		{jsapi.StreamSource{Name: "B", SubjectTransforms: []jsapi.SubjectTransformConfig{{Source: "x", Destination: "y"}, {Source: "z"}}},
			"B 7 x\fz y\f>"},
		{jsapi.StreamSource{Name: "E", External: &jsapi.ExternalStream{APIPrefix: "$JS.x.API"}},
			"E:" + jsapi.Hash("$JS.x.API") + " 7 > >"},
	} {
		got := sourceHeaderValue(test.source.IndexName(), 7, "")
		if got != test.want {
			t.Errorf("%+v: header %q, want %q", test.source, got, test.want)
		}
		name, seq, ok := parseSourceHeader(got)
		if !ok || name != test.source.IndexName() || seq != 7 {
			t.Errorf("%q parses to %q %d %v", got, name, seq, ok)
		}
	}
}

// TestParseSourceHeaderForms proves the older two-field form parses to the origin
// part alone, the reference's six-field form to its index name, and malformed values
// are refused.
func TestParseSourceHeaderForms(t *testing.T) {
	if name, seq, ok := parseSourceHeader("ORDERS 12"); !ok || name != "ORDERS" || seq != 12 {
		t.Fatalf("legacy form: %q %d %v", name, seq, ok)
	}
	// nats-server 2.15 writes the origin subject and the origin's identity last.
	if name, seq, ok := parseSourceHeader("O:C=Q7aLp2ab 1 > > o.0 larG2muL"); !ok || name != "O:C=Q7aLp2ab > >" || seq != 1 {
		t.Fatalf("reference form: %q %d %v", name, seq, ok)
	}
	for _, bad := range []string{"", "ORDERS", "ORDERS x > >", "ORDERS -1"} {
		if _, _, ok := parseSourceHeader(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestSourceHeaderRoundTrip is a property: any index name and sequence survive
// formatting and parsing.
func TestSourceHeaderRoundTrip(t *testing.T) {
	token := rapid.StringMatching(`[A-Za-z0-9_.*>$-]{1,12}`)
	rapid.Check(t, func(t *rapid.T) {
		source := jsapi.StreamSource{Name: rapid.StringMatching(`[A-Za-z0-9_-]{1,12}`).Draw(t, "name")}
		for range rapid.IntRange(0, 3).Draw(t, "transforms") {
			source.SubjectTransforms = append(source.SubjectTransforms,
				jsapi.SubjectTransformConfig{Source: token.Draw(t, "src"), Destination: token.Draw(t, "dest")})
		}
		if len(source.SubjectTransforms) == 0 && rapid.Bool().Draw(t, "filtered") {
			source.FilterSubject = token.Draw(t, "filter")
		}
		seq := rapid.Uint64().Draw(t, "seq")
		subject := ""
		if rapid.Bool().Draw(t, "with subject") {
			subject = token.Draw(t, "subject")
		}
		name, parsed, ok := parseSourceHeader(sourceHeaderValue(source.IndexName(), seq, subject))
		if !ok || name != source.IndexName() || parsed != seq {
			t.Fatalf("round trip of %q %d gave %q %d %v", source.IndexName(), seq, name, parsed, ok)
		}
	})
}

// FuzzParseSourceHeader proves parsing never panics and that what parses formats
// back to an equivalent value.
func FuzzParseSourceHeader(f *testing.F) {
	for _, seed := range []string{"A 1 > >", "A 2", "E:abc 9 x\fy z\f>", "", "  ", "A  1", "O:C=Q7aLp2ab 1 > > o.0 larG2muL"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		name, seq, ok := parseSourceHeader(value)
		if !ok || !strings.Contains(name, " ") {
			return
		}
		again, seqAgain, okAgain := parseSourceHeader(sourceHeaderValue(name, seq, "s"))
		if !okAgain || again != name || seqAgain != seq {
			t.Fatalf("%q: %q %d, again %q %d %v", value, name, seq, again, seqAgain, okAgain)
		}
	})
}

// TestSourcedHeader proves a sourced message keeps the origin's fields except the
// expectation headers, and gets Nats-Stream-Source (replacing an older one).
func TestSourcedHeader(t *testing.T) {
	origin := header.Build(0, "", "Nats-Msg-Id", "m1", jsapi.HeaderExpectedStream, "O",
		jsapi.HeaderExpectedLastSeq, "3", jsapi.HeaderStreamSource, "X 1 > >", "Other", "v")
	got, err := sourcedHeader(origin, "O > >", 4, "o.1")
	if err != nil {
		t.Fatal(err)
	}
	if value, _ := header.Get(got, jsapi.HeaderStreamSource); string(value) != "O 4 > > o.1" {
		t.Fatalf("source header %q", value)
	}
	for key, want := range map[string]string{"Nats-Msg-Id": "m1", "Other": "v"} {
		if value, _ := header.Get(got, key); string(value) != want {
			t.Fatalf("%s = %q", key, value)
		}
	}
	for _, key := range []string{jsapi.HeaderExpectedStream, jsapi.HeaderExpectedLastSeq} {
		if _, ok := header.Get(got, key); ok {
			t.Fatalf("%s kept", key)
		}
	}
	plain, err := sourcedHeader(nil, "O > >", 1, "o.2")
	if err != nil {
		t.Fatal(err)
	}
	if value, _ := header.Get(plain, jsapi.HeaderStreamSource); string(value) != "O 1 > > o.2" {
		t.Fatalf("source header of a message without headers %q", value)
	}
	if _, err := sourcedHeader([]byte("garbage"), "O > >", 1, "o"); err == nil {
		t.Fatal("a malformed origin header was accepted")
	}
}

// TestSourceConsumerConfig proves the origin consumer a link asks for: ack none,
// flow control and heartbeats, starting after the last stored origin sequence, or
// where the source says when nothing was stored, with the source's filters.
func TestSourceConsumerConfig(t *testing.T) {
	start := time.Unix(1000, 0).UTC()
	for _, test := range []struct {
		name    string
		source  jsapi.StreamSource
		last    uint64
		policy  jsapi.DeliverPolicy
		seq     uint64
		filter  string
		filters []string
	}{
		{"all", jsapi.StreamSource{Name: "O"}, 0, jsapi.DeliverAll, 0, "", nil},
		{"resume", jsapi.StreamSource{Name: "O", OptStartSeq: 3}, 9, jsapi.DeliverByStartSequence, 10, "", nil},
		{"start seq", jsapi.StreamSource{Name: "O", OptStartSeq: 3}, 0, jsapi.DeliverByStartSequence, 3, "", nil},
		{"start time", jsapi.StreamSource{Name: "O", OptStartTime: &start}, 0, jsapi.DeliverByStartTime, 0, "", nil},
		{"filter", jsapi.StreamSource{Name: "O", FilterSubject: "a.>"}, 0, jsapi.DeliverAll, 0, "a.>", nil},
		{"one transform", jsapi.StreamSource{Name: "O", SubjectTransforms: []jsapi.SubjectTransformConfig{{Source: "a.*", Destination: "b.$1"}}},
			0, jsapi.DeliverAll, 0, "a.*", nil},
		{"transforms", jsapi.StreamSource{Name: "O", SubjectTransforms: []jsapi.SubjectTransformConfig{{Source: "a"}, {Source: "b"}}},
			0, jsapi.DeliverAll, 0, "", []string{"a", "b"}},
	} {
		link := &sourceLink{source: test.source, lastOriginSeq: test.last, deliverSubject: "$JS.S.x"}
		config := link.consumerConfigLocked()
		if config.DeliverPolicy != test.policy || config.OptStartSeq != test.seq || config.FilterSubject != test.filter ||
			strings.Join(config.FilterSubjects, ",") != strings.Join(test.filters, ",") {
			t.Errorf("%s: %+v", test.name, config)
		}
		if config.AckPolicy != jsapi.AckNone || !config.FlowControl || config.Heartbeat != sourceHeartbeat || !config.Direct || !config.Sourcing ||
			config.DeliverSubject != "$JS.S.x" || config.MaxDeliver != 1 || config.InactiveThreshold <= 0 {
			t.Errorf("%s: %+v", test.name, config)
		}
		if test.policy == jsapi.DeliverByStartTime && (config.OptStartTime == nil || !config.OptStartTime.Equal(start)) {
			t.Errorf("%s: start time %v", test.name, config.OptStartTime)
		}
	}
}

// TestSourceLinkTransformSubject proves the first matching transform renames a
// subject and one without a destination, or no match, keeps it.
func TestSourceLinkTransformSubject(t *testing.T) {
	link := &sourceLink{source: jsapi.StreamSource{SubjectTransforms: []jsapi.SubjectTransformConfig{
		{Source: "$KV.A.>", Destination: "$KV.B.>"}, {Source: "x.*", Destination: "y.{{wildcard(1)}}"}, {Source: "keep.>"}}}}
	for subj, want := range map[string]string{"$KV.A.k": "$KV.B.k", "x.1": "y.1", "keep.it": "keep.it", "other": "other"} {
		if got := link.transformSubject(subj); got != want {
			t.Errorf("%s -> %s, want %s", subj, got, want)
		}
	}
}
