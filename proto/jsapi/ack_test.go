package jsapi

import (
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestAckReplyForms proves both subject forms encode as the reference writes them and
// parse back, that the 12-token form clients also accept parses, and that "_" is no
// domain.
func TestAckReplyForms(t *testing.T) {
	v1 := AckReply{Stream: "ORDERS", Consumer: "C1", Delivered: 2, StreamSeq: 10, ConsumerSeq: 7,
		Timestamp: 1700000000000000000, Pending: 3}
	if got := v1.String(); got != "$JS.ACK.ORDERS.C1.2.10.7.1700000000000000000.3" {
		t.Fatalf("v1: %s", got)
	}
	v2 := v1
	v2.Version2, v2.AccountHash = true, Hash("ACME")
	if got := v2.String(); got != "$JS.ACK._."+Hash("ACME")+".ORDERS.C1.2.10.7.1700000000000000000.3" {
		t.Fatalf("v2: %s", got)
	}
	v2domain := v2
	v2domain.Domain = "hub"
	for _, reply := range []AckReply{v1, v2, v2domain} {
		parsed, ok := ParseAckReply(reply.String())
		if !ok || parsed != reply {
			t.Errorf("%s parsed as %+v %v", reply, parsed, ok)
		}
	}
	twelve, ok := ParseAckReply(v2domain.String() + ".randomtoken")
	if !ok || twelve != v2domain {
		t.Errorf("12 tokens: %+v %v", twelve, ok)
	}
	longer, ok := ParseAckReply(v2domain.String() + ".a.b.c")
	if !ok || longer != v2domain {
		t.Errorf("extension tokens: %+v %v", longer, ok)
	}
	for _, bad := range []string{
		"", "$JS.ACK.", "$JS.ACK.S.C.1.2.3.4", "$JS.ACK.S.C.1.2.3.4.5.6", "$JS.ACK.S.C.x.2.3.4.5",
		"$JS.ACK.S.C.1.2.3.-4.5", "$JS.ACK..C.1.2.3.4.5", "$JS.ACKS.C.1.2.3.4.5.6",
		"$JS.FC.S.C.1.2.3.4.5", "$JS.ACK.S.C.1.2.3.99999999999999999999.5", "$JS.ACK.S.C.1.2.3.9223372036854775808.5",
	} {
		if reply, ok := ParseAckReply(bad); ok {
			t.Errorf("%q parsed as %+v", bad, reply)
		}
	}
}

// TestHash pins the reference's account hash for a known name and its alphabet.
func TestHash(t *testing.T) {
	hash := Hash("$G")
	if len(hash) != 8 || strings.Trim(hash, hashDigits) != "" || Hash("$G") != hash || Hash("$H") == hash {
		t.Fatalf("hash %q", hash)
	}
}

// TestAckReplyProperty proves any reply with non-empty dot-free names round-trips in
// both forms.
func TestAckReplyProperty(t *testing.T) {
	name := rapid.StringMatching(`[A-Za-z0-9_-]{1,12}`)
	rapid.Check(t, func(t *rapid.T) {
		reply := AckReply{
			Stream: name.Draw(t, "stream"), Consumer: name.Draw(t, "consumer"),
			Delivered: rapid.Uint64().Draw(t, "delivered"), StreamSeq: rapid.Uint64().Draw(t, "sseq"),
			ConsumerSeq: rapid.Uint64().Draw(t, "cseq"), Timestamp: rapid.Int64Min(0).Draw(t, "ts"),
			Pending: rapid.Uint64().Draw(t, "pending"), Version2: rapid.Bool().Draw(t, "v2"),
		}
		if reply.Version2 {
			reply.Domain = rapid.SampledFrom([]string{"", "hub", "leaf1"}).Draw(t, "domain")
			reply.AccountHash = Hash(name.Draw(t, "account"))
		}
		parsed, ok := ParseAckReply(reply.String())
		if !ok || parsed != reply {
			t.Fatalf("%s parsed as %+v %v", reply, parsed, ok)
		}
	})
}

// FuzzParseAckReply proves parsing never panics and a parsed reply re-encodes to a
// subject that parses to the same reply.
func FuzzParseAckReply(f *testing.F) {
	f.Add("$JS.ACK.S.C.1.2.3.4.5")
	f.Add("$JS.ACK._.h.S.C.1.2.3.4.5.r")
	f.Fuzz(func(t *testing.T, subject string) {
		reply, ok := ParseAckReply(subject)
		if !ok {
			return
		}
		again, ok := ParseAckReply(reply.String())
		if !ok || again != reply {
			t.Fatalf("%q: %+v re-encodes to %q which parses to %+v", subject, reply, reply.String(), again)
		}
	})
}

// TestParseAck pins the ack bodies as the reference dispatches them.
func TestParseAck(t *testing.T) {
	cases := []struct {
		body string
		want Ack
	}{
		{"", Ack{Kind: AckKindAck}},
		{"+ACK", Ack{Kind: AckKindAck}},
		{"+OK", Ack{Kind: AckKindAck}},
		{"+ACK ", Ack{Kind: AckKindUnknown}},
		{"-NAK", Ack{Kind: AckKindNak}},
		{"-NAK 5s", Ack{Kind: AckKindNak, Delay: 5 * time.Second}},
		{`-NAK {"delay":2000000000}`, Ack{Kind: AckKindNak, Delay: 2 * time.Second}},
		{"-NAK soon", Ack{Kind: AckKindNak}},
		{`-NAK {"delay":"x"}`, Ack{Kind: AckKindNak}},
		{"+WPI", Ack{Kind: AckKindProgress}},
		{"+WPI 1", Ack{Kind: AckKindUnknown}},
		{"+TERM", Ack{Kind: AckKindTerm}},
		{"+TERM  bad payload ", Ack{Kind: AckKindTerm, Reason: "bad payload"}},
		{"-XYZ", Ack{Kind: AckKindUnknown}},
	}
	for _, c := range cases {
		got := ParseAck([]byte(c.body))
		if got.Kind != c.want.Kind || got.Delay != c.want.Delay || got.Reason != c.want.Reason || len(got.Next) != 0 {
			t.Errorf("%q: got %+v, want %+v", c.body, got, c.want)
		}
	}
	next := ParseAck([]byte(`+NXT {"batch":5}`))
	if next.Kind != AckKindNext || string(next.Next) != ` {"batch":5}` {
		t.Errorf("+NXT: %+v", next)
	}
}
