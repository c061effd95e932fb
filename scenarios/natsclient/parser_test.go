package natsclient

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder writes every parsed operation as one line, for comparisons.
type recorder struct{ events []string }

func (r *recorder) Info(infoJSON []byte) { r.events = append(r.events, "INFO "+string(infoJSON)) }
func (r *recorder) Msg(subject, sid, reply, header, payload []byte) {
	if header == nil {
		r.events = append(r.events, fmt.Sprintf("MSG %s %s %q %q", subject, sid, reply, payload))
		return
	}
	r.events = append(r.events, fmt.Sprintf("HMSG %s %s %q %q %q", subject, sid, reply, header, payload))
}
func (r *recorder) Ping()           { r.events = append(r.events, "PING") }
func (r *recorder) Pong()           { r.events = append(r.events, "PONG") }
func (r *recorder) OK()             { r.events = append(r.events, "OK") }
func (r *recorder) Err(text string) { r.events = append(r.events, "ERR "+text) }

// parseWhole parses input in one read.
func parseWhole(input string) ([]string, error) {
	var p Parser
	r := &recorder{}
	err := p.Parse([]byte(input), r)
	return r.events, err
}

// parseSplit parses input in reads of the given sizes (cycled), copying each read
// into a fresh buffer that is scribbled over afterwards, so that a parser keeping a
// reference into a read is caught.
func parseSplit(input string, sizes []int) ([]string, error) {
	var p Parser
	r := &recorder{}
	data := []byte(input)
	for i := 0; len(data) > 0; i++ {
		n := min(max(sizes[i%len(sizes)], 1), len(data))
		chunk := append([]byte(nil), data[:n]...)
		data = data[n:]
		if err := p.Parse(chunk, r); err != nil {
			return r.events, err
		}
		for j := range chunk {
			chunk[j] = 'X'
		}
	}
	return r.events, nil
}

// TestParserTable proves each server operation decodes to the right fields, and that
// malformed input is a protocol error.
func TestParserTable(t *testing.T) {
	cases := []struct {
		name, input string
		want        []string
		fails       bool
	}{
		{name: "info", input: "INFO {\"server_id\":\"x\"}\r\n", want: []string{`INFO {"server_id":"x"}`}},
		{name: "ping pong ok", input: "PING\r\nPONG\r\n+OK\r\n", want: []string{"PING", "PONG", "OK"}},
		{name: "lower case", input: "ping\r\npong\r\nmsg a 1 0\r\n\r\n", want: []string{"PING", "PONG", `MSG a 1 "" ""`}},
		{name: "bare newline", input: "PING\nPONG\n", want: []string{"PING", "PONG"}},
		{name: "err", input: "-ERR 'Authorization Violation'\r\n", want: []string{"ERR Authorization Violation"}},
		{name: "err unquoted", input: "-ERR oops\r\n", want: []string{"ERR oops"}},
		{name: "msg", input: "MSG foo.bar 7 5\r\nhello\r\n", want: []string{`MSG foo.bar 7 "" "hello"`}},
		{name: "msg reply", input: "MSG foo 1 _INBOX.a 2\r\nhi\r\n", want: []string{`MSG foo 1 "_INBOX.a" "hi"`}},
		{name: "msg tabs", input: "MSG\tfoo\t1\t\t2\r\nhi\r\n", want: []string{`MSG foo 1 "" "hi"`}},
		{name: "msg payload with crlf", input: "MSG a 1 4\r\n\r\n\r\n\r\n", want: []string{`MSG a 1 "" "\r\n\r\n"`}},
		{name: "empty msg", input: "MSG a 1 0\r\n\r\n", want: []string{`MSG a 1 "" ""`}},
		{name: "hmsg", input: "HMSG a 2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
			want: []string{`HMSG a 2 "" "NATS/1.0\r\n\r\n" "hi"`}},
		{name: "hmsg reply", input: "HMSG a 2 r 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
			want: []string{`HMSG a 2 "r" "NATS/1.0 503\r\n\r\n" ""`}},
		{name: "unknown op", input: "HELLO\r\n", fails: true},
		{name: "ping with argument", input: "PING x\r\n", fails: true},
		{name: "info without json", input: "INFO\r\n", fails: true},
		{name: "msg too few", input: "MSG a 1\r\n", fails: true},
		{name: "msg too many", input: "MSG a 1 b c 2\r\n", fails: true},
		{name: "msg bad size", input: "MSG a 1 x\r\n", fails: true},
		{name: "msg negative size", input: "MSG a 1 -1\r\n", fails: true},
		{name: "msg too big", input: "MSG a 1 999999999\r\n", fails: true},
		{name: "msg missing crlf", input: "MSG a 1 2\r\nhiXY", want: nil, fails: true},
		{name: "hmsg header larger than total", input: "HMSG a 1 5 4\r\n", fails: true},
		{name: "hmsg too few", input: "HMSG a 1 4\r\n", fails: true},
		{name: "line too long", input: "INFO " + strings.Repeat("x", LineBytesMax) + "\r\n", fails: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, sizes := range [][]int{{len(tc.input) + 1}, {1}, {2, 3}, {7}} {
				got, err := parseSplit(tc.input, sizes)
				if tc.fails {
					if !errors.Is(err, ErrProtocol) {
						t.Fatalf("reads of %v: got %d events, err %v; want a protocol error", sizes, len(got), err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("reads of %v: %v", sizes, err)
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("reads of %v:\n got %q\nwant %q", sizes, got, tc.want)
				}
			}
		})
	}
}

// TestParserFailsForGood proves the parser refuses everything after an error, so a
// caller cannot resynchronise on garbage.
func TestParserFailsForGood(t *testing.T) {
	var p Parser
	r := &recorder{}
	if err := p.Parse([]byte("BOGUS\r\n"), r); err == nil {
		t.Fatal("no error")
	}
	if err := p.Parse([]byte("PING\r\n"), r); !errors.Is(err, ErrProtocol) || len(r.events) != 0 {
		t.Fatalf("after failure: %v %q", err, r.events)
	}
}

// TestParserLargePayloadSplit proves a payload larger than the kept buffer is
// reassembled across many reads.
func TestParserLargePayloadSplit(t *testing.T) {
	body := strings.Repeat("abcdefgh", 20000)
	input := fmt.Sprintf("MSG big 1 %d\r\n%s\r\nPING\r\n", len(body), body)
	got, err := parseSplit(input, []int{1000, 4097, 3})
	if err != nil || len(got) != 2 || got[0] != fmt.Sprintf("MSG big 1 \"\" %q", body) || got[1] != "PING" {
		t.Fatalf("err %v, %d events", err, len(got))
	}
}

// FuzzParser proves the parser never panics, and that splitting the input at any
// points yields exactly the operations (and the error) of parsing it whole.
func FuzzParser(f *testing.F) {
	seeds := []string{
		"INFO {}\r\nPING\r\n", "MSG a 1 2\r\nhi\r\n", "HMSG a 1 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
		"-ERR 'Stale Connection'\r\n", "+OK\r\nPONG\r\n", "MSG a 1 3\r\nhi\r\n", "MSG a b c d e f\r\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i+1), uint8(3))
	}
	f.Fuzz(func(t *testing.T, input []byte, first, second uint8) {
		whole, wholeErr := parseWhole(string(input))
		split, splitErr := parseSplit(string(input), []int{int(first), int(second)})
		if (wholeErr == nil) != (splitErr == nil) {
			t.Fatalf("whole err %v, split err %v", wholeErr, splitErr)
		}
		if fmt.Sprint(whole) != fmt.Sprint(split) {
			t.Fatalf("whole %q\nsplit %q", whole, split)
		}
	})
}

// TestHeaderHelpers proves header blocks round-trip through AppendHeader,
// HeaderStatus and HeaderValue.
func TestHeaderHelpers(t *testing.T) {
	h := AppendHeader(nil, "A", "1", "B", "two words")
	if string(h) != "NATS/1.0\r\nA: 1\r\nB: two words\r\n\r\n" {
		t.Fatalf("%q", h)
	}
	if v, ok := HeaderValue(h, "B"); !ok || v != "two words" {
		t.Fatalf("B = %q %v", v, ok)
	}
	if _, ok := HeaderValue(h, "C"); ok {
		t.Fatal("C found")
	}
	if HeaderStatus(h) != "" || HeaderStatus([]byte("NATS/1.0 503\r\n\r\n")) != "503" || HeaderStatus([]byte("junk")) != "" {
		t.Fatal("status")
	}
}
