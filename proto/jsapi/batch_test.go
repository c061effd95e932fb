package jsapi

import (
	"strings"
	"testing"
)

// TestParseFastBatch proves the reply subject grammar of fast batch publishing: the
// last five tokens before $FI, the checks the reference makes on each, and the flow
// defaults.
func TestParseFastBatch(t *testing.T) {
	cases := []struct {
		reply   string
		matched bool
		want    *FastBatch
	}{
		{"_INBOX.x", false, nil},
		{"$FI", false, nil},
		{".$FI", false, nil},
		{"P.id.10.fail.1.0.$FI", true, &FastBatch{ID: "id", Sequence: 1, Flow: 10}},
		{"a.b.c.id.3.ok.7.1.$FI", true, &FastBatch{ID: "id", Sequence: 7, Flow: 3, GapOK: true}},
		{"P.id.0.fail.4.2.$FI", true, &FastBatch{ID: "id", Sequence: 4, Flow: 10, Commit: true}},
		{"P.id.x.fail.4.3.$FI", true, &FastBatch{ID: "id", Sequence: 4, Flow: 10, Commit: true, EndOfBatch: true}},
		{"P.id.99999999.fail.4.4.$FI", true, &FastBatch{ID: "id", Sequence: 4, Flow: 65535, Ping: true}},
		{"P.id.1.fail.1.2.$FI", true, &FastBatch{ID: "id", Sequence: 1, Flow: 1, Commit: true}},
		// Too few tokens: the batch ID needs a prefix before it.
		{"id.10.fail.1.0.$FI", true, nil},
		{"P.id.10.fail.1.5.$FI", true, nil},
		{"P.id.10.fail.1.x.$FI", true, nil},
		{"P.id.10.fail.0.1.$FI", true, nil},
		{"P.id.10.fail.18446744073709551615.1.$FI", true, nil},
		{"P.id.10.fail.x.1.$FI", true, nil},
		{"P.id.10.fail.1.3.$FI", true, nil},
		{"P.id.10.fail.2.0.$FI", true, nil},
		{"P.id.10.fail.1.1.$FI", true, nil},
		{"P.id.10.maybe.1.0.$FI", true, nil},
	}
	for _, test := range cases {
		batch, matched := ParseFastBatch(test.reply)
		if matched != test.matched {
			t.Fatalf("%s: matched %v", test.reply, matched)
		}
		switch {
		case test.want == nil && batch != nil:
			t.Fatalf("%s: %+v, want none", test.reply, batch)
		case test.want != nil && (batch == nil || *batch != *test.want):
			t.Fatalf("%s: %+v, want %+v", test.reply, batch, test.want)
		}
	}
}

// TestBatchFlowJSON proves the flow control messages carry the reference's type tag
// and field names.
func TestBatchFlowJSON(t *testing.T) {
	cases := []struct {
		value interface{ MarshalJSON() ([]byte, error) }
		want  string
	}{
		{BatchFlowAck{Sequence: 6, Messages: 3}, `{"type":"ack","seq":6,"msgs":3}`},
		{BatchFlowGap{ExpectedLastSequence: 2, CurrentSequence: 4}, `{"type":"gap","last_seq":2,"seq":4}`},
		{BatchFlowErr{Sequence: 2, Error: NewStreamWrongLastSequenceError(18)},
			`{"type":"err","seq":2,"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 18"}}`},
	}
	for _, test := range cases {
		got, err := test.value.MarshalJSON()
		if err != nil || string(got) != test.want {
			t.Fatalf("%T: %s (%v), want %s", test.value, got, err, test.want)
		}
	}
}

// FuzzParseFastBatch checks ParseFastBatch never panics and that what it accepts
// keeps the grammar's invariants.
func FuzzParseFastBatch(f *testing.F) {
	for _, seed := range []string{"P.id.10.fail.1.0.$FI", "a.b.3.ok.7.4.$FI", "..$FI", ".....$FI", "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		batch, matched := ParseFastBatch(reply)
		if matched != strings.HasSuffix(reply, FastBatchSuffix) && len(reply) > len(FastBatchSuffix) {
			t.Fatalf("%q: matched %v", reply, matched)
		}
		if batch == nil {
			return
		}
		if batch.Sequence == 0 || batch.Flow == 0 || strings.Contains(batch.ID, ".") ||
			(batch.EndOfBatch && (!batch.Commit || batch.Sequence == 1)) {
			t.Fatalf("%q: %+v", reply, batch)
		}
	})
}
