package client

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func renderServerOp(op *Op) string {
	switch op.Kind {
	case OpMsg:
		return fmt.Sprintf("MSG s=%q sid=%q r=%q p=%q", op.Subject, op.SID, op.Reply, op.Payload)
	case OpHMsg:
		return fmt.Sprintf("HMSG s=%q sid=%q r=%q h=%d p=%q", op.Subject, op.SID, op.Reply, op.HeaderBytes, op.Payload)
	case OpInfo, OpErr:
		return fmt.Sprintf("%s %q", op.Kind, op.Arguments)
	}
	return op.Kind.String()
}

type serverRecorder struct{ ops []string }

func (r *serverRecorder) HandleOp(op *Op) error {
	r.ops = append(r.ops, renderServerOp(op))
	return nil
}

var serverStream = string(AppendInfo(nil, []byte(`{"server_id":"x","headers":true}`))) +
	"+OK\r\n" +
	string(AppendMsg(nil, []byte("foo.bar"), []byte("1"), nil, []byte("hello"))) +
	string(AppendMsg(nil, []byte("foo"), []byte("22"), []byte("_INBOX.x"), nil)) +
	string(AppendHMsg(nil, []byte("h"), []byte("3"), []byte("r"), 12, []byte("NATS/1.0\r\n\r\nbody"))) +
	"HMSG _INBOX.a 4 32 32\r\nNATS/1.0 503\r\nNats-Subject: \r\n\r\n\r\n" +
	"PING\r\nPONG\r\n" +
	string(AppendErr(nil, "Stale Connection"))

// TestServerStreamParser proves a client's parser decodes everything a server sends,
// including the no-responders status, and refuses client operations.
func TestServerStreamParser(t *testing.T) {
	p := NewServerStreamParser(Limits{ControlLineBytesMax: 4096, PayloadBytesMax: 1024})
	r := &serverRecorder{}
	if err := p.Parse([]byte(serverStream), r); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`INFO "{\"server_id\":\"x\",\"headers\":true}"`,
		"+OK",
		`MSG s="foo.bar" sid="1" r="" p="hello"`,
		`MSG s="foo" sid="22" r="_INBOX.x" p=""`,
		`HMSG s="h" sid="3" r="r" h=12 p="NATS/1.0\r\n\r\nbody"`,
		`HMSG s="_INBOX.a" sid="4" r="" h=32 p="NATS/1.0 503\r\nNats-Subject: \r\n\r\n"`,
		"PING", "PONG",
		`-ERR "'Stale Connection'"`,
	}
	if !reflect.DeepEqual(r.ops, want) {
		t.Fatalf("got\n%q\nwant\n%q", r.ops, want)
	}
	for _, bad := range []string{"PUB a 1\r\nx\r\n", "SUB a 1\r\n", "MSG a 1\r\n", "HMSG a 1 5 4\r\n"} {
		err := NewServerStreamParser(Limits{ControlLineBytesMax: 4096}).Parse([]byte(bad), r)
		if !errors.Is(err, ErrUnknownProtocol) && !errors.Is(err, ErrArguments) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := NewParser(Limits{ControlLineBytesMax: 4096}).Parse([]byte("MSG a 1 0\r\n\r\n"), r); !errors.Is(err, ErrUnknownProtocol) {
		t.Errorf("a server's parser accepted MSG: %v", err)
	}
}

// TestServerStreamEverySplit proves the client side is correct for reads split at
// any byte.
func TestServerStreamEverySplit(t *testing.T) {
	limits := Limits{ControlLineBytesMax: 4096, PayloadBytesMax: 1024}
	whole := &serverRecorder{}
	if err := NewServerStreamParser(limits).Parse([]byte(serverStream), whole); err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut <= len(serverStream); cut++ {
		p := NewServerStreamParser(limits)
		r := &serverRecorder{}
		buffer := []byte(serverStream)
		if err := p.Parse(buffer[:cut], r); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		for i := range cut {
			buffer[i] = '#'
		}
		if err := p.Parse(buffer[cut:], r); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if !reflect.DeepEqual(r.ops, whole.ops) {
			t.Fatalf("cut %d:\n%q\nwant\n%q", cut, r.ops, whole.ops)
		}
	}
}

// FuzzServerStream proves the client-side parser never panics and agrees with
// itself across a split.
func FuzzServerStream(f *testing.F) {
	f.Add([]byte(serverStream), 17)
	f.Add([]byte("HMSG a 1 r 3 3\r\nabc\r\n"), 5)
	f.Fuzz(func(t *testing.T, input []byte, cut int) {
		limits := Limits{ControlLineBytesMax: 64, PayloadBytesMax: 128}
		whole := &serverRecorder{}
		errWhole := NewServerStreamParser(limits).Parse(input, whole)
		if cut < 0 {
			cut = -cut
		}
		cut %= len(input) + 1
		p := NewServerStreamParser(limits)
		split := &serverRecorder{}
		errSplit := p.Parse(input[:cut], split)
		if errSplit == nil {
			errSplit = p.Parse(input[cut:], split)
		}
		if errWhole == nil && errSplit == nil && !reflect.DeepEqual(whole.ops, split.ops) {
			t.Fatalf("whole %q split %q", whole.ops, split.ops)
		}
		if (errWhole == nil) != (errSplit == nil) && !errors.Is(errSplit, ErrControlLine) && !errors.Is(errSplit, ErrUnknownProtocol) {
			t.Fatalf("whole %v split %v", errWhole, errSplit)
		}
	})
}
