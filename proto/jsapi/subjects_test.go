package jsapi

import (
	"strings"
	"testing"
)

// TestParseSubjectTable proves every request subject form parses to its operation and
// tokens, and that malformed subjects are refused.
func TestParseSubjectTable(t *testing.T) {
	cases := []struct {
		subject string
		op      Op
		args    Args
	}{
		{"$JS.API.INFO", OpAccountInfo, Args{}},
		{"$JS.API.STREAM.CREATE.ORDERS", OpStreamCreate, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.UPDATE.ORDERS", OpStreamUpdate, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.DELETE.ORDERS", OpStreamDelete, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.INFO.ORDERS", OpStreamInfo, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.NAMES", OpStreamNames, Args{}},
		{"$JS.API.STREAM.LIST", OpStreamList, Args{}},
		{"$JS.API.STREAM.PURGE.ORDERS", OpStreamPurge, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.MSG.GET.ORDERS", OpStreamMsgGet, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.MSG.DELETE.ORDERS", OpStreamMsgDelete, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.SNAPSHOT.ORDERS", OpStreamSnapshot, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.RESTORE.ORDERS", OpStreamRestore, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.PEER.REMOVE.ORDERS", OpStreamRemovePeer, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.PEER.EVACUATE.ORDERS", OpStreamEvacuatePeer, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.CANCEL_MOVE.ORDERS", OpStreamCancelMove, Args{Stream: "ORDERS"}},
		{"$JS.API.STREAM.LEADER.STEPDOWN.ORDERS", OpStreamLeaderStepDown, Args{Stream: "ORDERS"}},
		{"$JS.API.DIRECT.GET.ORDERS", OpDirectGet, Args{Stream: "ORDERS"}},
		{"$JS.API.DIRECT.GET.KV_b.$KV.b.key", OpDirectGetLastBySubject, Args{Stream: "KV_b", Filter: "$KV.b.key"}},
		{"$JS.API.CONSUMER.CREATE.ORDERS", OpConsumerCreate, Args{Stream: "ORDERS"}},
		{"$JS.API.CONSUMER.CREATE.ORDERS.C1", OpConsumerCreate, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.CREATE.ORDERS.C1.orders.*.eu", OpConsumerCreate, Args{Stream: "ORDERS", Consumer: "C1", Filter: "orders.*.eu"}},
		{"$JS.API.CONSUMER.CREATE.ORDERS.C1.>", OpConsumerCreate, Args{Stream: "ORDERS", Consumer: "C1", Filter: ">"}},
		{"$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.D1", OpConsumerDurableCreate, Args{Stream: "ORDERS", Consumer: "D1"}},
		{"$JS.API.CONSUMER.NAMES.ORDERS", OpConsumerNames, Args{Stream: "ORDERS"}},
		{"$JS.API.CONSUMER.LIST.ORDERS", OpConsumerList, Args{Stream: "ORDERS"}},
		{"$JS.API.CONSUMER.INFO.ORDERS.C1", OpConsumerInfo, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.DELETE.ORDERS.C1", OpConsumerDelete, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.PAUSE.ORDERS.C1", OpConsumerPause, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.UNPIN.ORDERS.C1", OpConsumerUnpin, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.MSG.NEXT.ORDERS.C1", OpConsumerNext, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.RESET.ORDERS.C1", OpConsumerReset, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.LEADER.STEPDOWN.ORDERS.C1", OpConsumerLeaderStepDown, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.PEER.REMOVE.ORDERS.C1", OpConsumerRemovePeer, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.CONSUMER.PEER.EVACUATE.ORDERS.C1", OpConsumerEvacuatePeer, Args{Stream: "ORDERS", Consumer: "C1"}},
		{"$JS.API.META.LEADER.STEPDOWN", OpMetaLeaderStepDown, Args{}},
		{"$JS.API.META.RESCUE", OpMetaRescue, Args{}},
		{"$JS.API.SERVER.REMOVE", OpServerRemove, Args{}},
		{"$JS.API.SERVER.EVACUATE", OpServerEvacuate, Args{}},
		{"$JS.API.ACCOUNT.PURGE.ACME", OpAccountPurge, Args{Account: "ACME"}},
		{"$JS.API.ACCOUNT.STREAM.MOVE.ACME.ORDERS", OpAccountStreamMove, Args{Account: "ACME", Stream: "ORDERS"}},
		{"$JS.API.ACCOUNT.STREAM.CANCEL_MOVE.ACME.ORDERS", OpAccountStreamCancelMove, Args{Account: "ACME", Stream: "ORDERS"}},
		// A stream may be named like an operation token.
		{"$JS.API.STREAM.INFO.INFO", OpStreamInfo, Args{Stream: "INFO"}},
		{"$JS.API.STREAM.INFO.MSG", OpStreamInfo, Args{Stream: "MSG"}},
	}
	seen := map[Op]bool{}
	for _, c := range cases {
		op, args, ok := ParseSubject(c.subject)
		if !ok || op != c.op || args != c.args {
			t.Errorf("%s: got %v %+v %v, want %v %+v", c.subject, op, args, ok, c.op, c.args)
		}
		if built := op.Subject(args); built != c.subject {
			t.Errorf("%s: builds back as %s", c.subject, built)
		}
		seen[op] = true
	}
	for op := OpAccountInfo; op < opCount; op++ {
		if !seen[op] {
			t.Errorf("operation %v has no case", op)
		}
	}
	for _, bad := range []string{
		"", "$JS.API", "$JS.API.", "$JS.API.FOO", "$JS.APIX.INFO", "$JS.API.INFO.X", "$JS.API.INFOX",
		"$JS.API.STREAM.CREATE", "$JS.API.STREAM.CREATE.", "$JS.API.STREAM.CREATE.A.B",
		"$JS.API.STREAM.NAMES.X", "$JS.API.CONSUMER.INFO.S", "$JS.API.CONSUMER.INFO.S.C.X",
		"$JS.API.CONSUMER.INFO.S.", "$JS.API.CONSUMER.INFO..C", "$JS.API.DIRECT.GET", "$JS.API.DIRECT.GET.S.",
		"$JS.API.DIRECT.GET.S.a..b", "$JS.API.CONSUMER.CREATE.S.", "$JS.API.CONSUMER.CREATE.S.C.",
		"$JS.API.CONSUMER.CREATE.S..f", "$JS.API.ACCOUNT.PURGE", "$JS.API.ACCOUNT.STREAM.MOVE.A",
		"$JS.ACK.S.C.1.1.1.1.1", "$JS.hub.API.INFO",
	} {
		if op, args, ok := ParseSubject(bad); ok {
			t.Errorf("%q parsed as %v %+v", bad, op, args)
		}
	}
}

// TestSubjectBuilders pins the helper builders and the response types.
func TestSubjectBuilders(t *testing.T) {
	checks := map[string]string{
		StreamSubject(OpStreamCreate, "S"):                 "$JS.API.STREAM.CREATE.S",
		ConsumerSubject(OpConsumerInfo, "S", "C"):          "$JS.API.CONSUMER.INFO.S.C",
		ConsumerCreateSubject("S", "C", "a.b"):             "$JS.API.CONSUMER.CREATE.S.C.a.b",
		ConsumerCreateSubject("S", "", ""):                 "$JS.API.CONSUMER.CREATE.S",
		NextSubject("S", "C"):                              "$JS.API.CONSUMER.MSG.NEXT.S.C",
		DirectGetSubject("S", ""):                          "$JS.API.DIRECT.GET.S",
		DirectGetSubject("S", "a.b"):                       "$JS.API.DIRECT.GET.S.a.b",
		DomainAPIPrefix("hub"):                             "$JS.hub.API",
		DomainAPIPrefix(""):                                "$JS.API",
		SnapshotAckSubject("S", "x"):                       "$JS.SNAPSHOT.ACK.S.x",
		RestoreDeliverSubject("S", "x"):                    "$JS.SNAPSHOT.RESTORE.S.x",
		AdvisorySubject(AdvisoryConsumerCreated, "S", "C"): "$JS.EVENT.ADVISORY.CONSUMER.CREATED.S.C",
		AdvisorySubject(AdvisoryStreamCreated, "S"):        "$JS.EVENT.ADVISORY.STREAM.CREATED.S",
		OpStreamCreate.ResponseType():                      "io.nats.jetstream.api.v1.stream_create_response",
		OpConsumerDurableCreate.ResponseType():             "io.nats.jetstream.api.v1.consumer_create_response",
		OpStreamMsgGet.ResponseType():                      "io.nats.jetstream.api.v1.stream_msg_get_response",
		OpStreamCreate.String():                            "STREAM.CREATE",
	}
	for got, want := range checks {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if stripped, ok := StripDomain("$JS.hub.API.STREAM.INFO.S", "hub"); !ok || stripped != "$JS.API.STREAM.INFO.S" {
		t.Errorf("StripDomain: %q %v", stripped, ok)
	}
	if _, ok := StripDomain("$JS.other.API.INFO", "hub"); ok {
		t.Error("StripDomain accepted another domain")
	}
	if OpNone.Subject(Args{}) != "" || OpNone.ResponseType() != "" || Op(200).String() != "NONE" {
		t.Error("invalid op")
	}
}

// FuzzParseSubject proves parsing never panics, that a parsed subject rebuilds exactly,
// and that the tokens never contain the separators they were split on.
func FuzzParseSubject(f *testing.F) {
	for _, seed := range []string{"$JS.API.INFO", "$JS.API.CONSUMER.CREATE.S.C.a.>", "$JS.API.DIRECT.GET.S.a.b",
		"$JS.API.ACCOUNT.STREAM.MOVE.A.S", "$JS.API..", "$JS.API.STREAM.INFO."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		op, args, ok := ParseSubject(subject)
		if !ok {
			return
		}
		if built := op.Subject(args); built != subject {
			t.Fatalf("%q rebuilt as %q", subject, built)
		}
		for _, token := range []string{args.Stream, args.Consumer, args.Account} {
			if strings.Contains(token, ".") {
				t.Fatalf("%q: token %q has a dot", subject, token)
			}
		}
	})
}
