package filestore

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

// TestPlainMsgRecordMatchesComposed proves that the message record built in place
// is byte for byte the record the general path frames (payload, body, record), that
// payloadBytes is the plain payload's length, and that the record decodes back.
func TestPlainMsgRecordMatchesComposed(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prefix := rapid.SliceOfN(rapid.Byte(), 0, 20).Draw(t, "prefix")
		seq := rapid.Uint64().Draw(t, "seq")
		ts := rapid.Int64().Draw(t, "ts")
		ttl := rapid.Int64().Draw(t, "ttl")
		subject := rapid.StringN(0, 300, -1).Draw(t, "subject")
		hdr := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "hdr")
		msg := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "msg")
		plain := appendPayload(nil, subject, hdr, msg)
		if payloadBytes(subject, hdr, msg) != len(plain) {
			t.Fatalf("payloadBytes = %d, want %d", payloadBytes(subject, hdr, msg), len(plain))
		}
		want := appendRecord(append([]byte(nil), prefix...), appendMsgBody(nil, 0, seq, ts, ttl, plain))
		got := appendPlainMsgRecord(append([]byte(nil), prefix...), seq, ts, ttl, subject, hdr, msg)
		if !bytes.Equal(got, want) {
			t.Fatalf("in-place record\n%x\nwant\n%x", got, want)
		}
		body, n, _, err := parseRecord(got[len(prefix):])
		if err != nil || n != len(got)-len(prefix) {
			t.Fatalf("parseRecord: %v, %d of %d bytes", err, n, len(got)-len(prefix))
		}
		rec, err := decodeMsgBody(body)
		if err != nil || rec.seq != seq || rec.ts != ts || rec.ttl != ttl || rec.flags != 0 {
			t.Fatalf("decodeMsgBody = %+v, %v", rec, err)
		}
		s, h, m, err := decodePayload(rec.payload)
		if err != nil || string(s) != subject || !bytes.Equal(h, hdr) || !bytes.Equal(m, msg) {
			t.Fatalf("decodePayload = %q %q %q, %v", s, h, m, err)
		}
	})
}
