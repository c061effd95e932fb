package client

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// recorder keeps a copy of every operation, rendered as text so that tests compare
// values and not slices into buffers the parser reuses.
type recorder struct {
	ops []string
}

func (r *recorder) HandleOp(op *Op) error {
	r.ops = append(r.ops, renderOp(op))
	return nil
}

func renderOp(op *Op) string {
	switch op.Kind {
	case OpPub:
		return fmt.Sprintf("PUB s=%q r=%q p=%q", op.Subject, op.Reply, op.Payload)
	case OpHPub:
		return fmt.Sprintf("HPUB s=%q r=%q h=%d p=%q", op.Subject, op.Reply, op.HeaderBytes, op.Payload)
	case OpSub:
		return fmt.Sprintf("SUB s=%q q=%q sid=%q", op.Subject, op.Queue, op.SID)
	case OpUnsub:
		return fmt.Sprintf("UNSUB sid=%q max=%d", op.SID, op.Max)
	case OpConnect, OpInfo, OpErr:
		return fmt.Sprintf("%s %q", op.Kind, op.Arguments)
	}
	return op.Kind.String()
}

var testLimits = Limits{ControlLineBytesMax: 4096, PayloadBytesMax: 1024}

func parseAll(t testing.TB, input string, limits Limits) ([]string, error) {
	t.Helper()
	p := NewParser(limits)
	r := &recorder{}
	err := p.Parse([]byte(input), r)
	return r.ops, err
}

// TestParseTable proves that each operation form decodes to the right fields, that
// op names are case-insensitive, and that bad input fails with the error that maps to
// the reference server's -ERR text.
func TestParseTable(t *testing.T) {
	cases := []struct {
		name  string
		input string
		ops   []string
		err   error
	}{
		{"ping", "PING\r\n", []string{"PING"}, nil},
		{"ping lower without CR", "ping\n", []string{"PING"}, nil},
		{"pong mixed", "pOnG\r\n", []string{"PONG"}, nil},
		{"ping trailing text ignored", "PING foo\r\n", []string{"PING"}, nil},
		{"pub", "PUB foo 5\r\nhello\r\n", []string{`PUB s="foo" r="" p="hello"`}, nil},
		{"pub tabs and spaces", "pub\t foo  bar \t 2\r\nhi\r\n", []string{`PUB s="foo" r="bar" p="hi"`}, nil},
		{"pub empty", "PUB foo 0\r\n\r\n", []string{`PUB s="foo" r="" p=""`}, nil},
		{"pub payload with CRLF inside", "PUB a 4\r\n\r\n\r\n\r\n", []string{`PUB s="a" r="" p="\r\n\r\n"`}, nil},
		{"hpub", "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", []string{`HPUB s="foo" r="" h=12 p="NATS/1.0\r\n\r\nhi"`}, nil},
		{"hpub reply", "hpub foo r 12 12\r\nNATS/1.0\r\n\r\n\r\n", []string{`HPUB s="foo" r="r" h=12 p="NATS/1.0\r\n\r\n"`}, nil},
		{"sub", "SUB foo 1\r\n", []string{`SUB s="foo" q="" sid="1"`}, nil},
		{"sub queue", "sub foo.* workers 22\r\n", []string{`SUB s="foo.*" q="workers" sid="22"`}, nil},
		{"unsub", "UNSUB 1\r\n", []string{`UNSUB sid="1" max=-1`}, nil},
		{"unsub max", "UNSUB 1 10\r\n", []string{`UNSUB sid="1" max=10`}, nil},
		{"connect", "CONNECT {\"verbose\":false}\r\n", []string{`CONNECT "{\"verbose\":false}"`}, nil},
		{"connect no space", "connect{}\r\n", []string{`CONNECT "{}"`}, nil},
		{"info ok err", "INFO {}\r\n+OK\r\n-ERR 'x'\r\n", []string{`INFO "{}"`, "+OK", `-ERR "'x'"`}, nil},
		{"several", "SUB a 1\r\nPUB a 1\r\nx\r\nPING\r\n", []string{`SUB s="a" q="" sid="1"`, `PUB s="a" r="" p="x"`, "PING"}, nil},
		{"unknown op", "FOO\r\n", nil, ErrUnknownProtocol},
		{"unknown op early", "XY", nil, ErrUnknownProtocol},
		{"route op from client", "RS+ foo\r\n", nil, ErrUnknownProtocol},
		{"msg from client", "MSG foo 1 1\r\n", nil, ErrUnknownProtocol},
		{"pub without space", "PUBX foo 1\r\n", nil, ErrUnknownProtocol},
		{"pub without args", "PUB\r\n", nil, ErrUnknownProtocol},
		{"pub too many args", "PUB a b c 1\r\nx\r\n", nil, ErrArguments},
		{"pub bad size", "PUB a b\r\n", nil, ErrArguments},
		{"pub negative size", "PUB a -1\r\n", nil, ErrArguments},
		{"pub missing CRLF after payload", "PUB a 1\r\nxy\r\n", nil, ErrUnknownProtocol},
		{"pub over max payload", "PUB a 1025\r\n", nil, ErrPayload},
		{"hpub header larger than total", "HPUB a 5 4\r\n", nil, ErrArguments},
		{"sub one arg", "SUB foo\r\n", nil, ErrArguments},
		{"sub four args", "SUB a b c d\r\n", nil, ErrArguments},
		{"unsub no args", "UNSUB \r\n", nil, ErrArguments},
		{"unsub bad max", "UNSUB 1 x\r\n", nil, ErrArguments},
		{"ops before error are delivered", "PING\r\nBAD\r\n", []string{"PING"}, ErrUnknownProtocol},
		{"control line too long", "SUB " + strings.Repeat("a", 4100) + " 1\r\n", nil, ErrControlLine},
		{"control line too long unfinished", "SUB " + strings.Repeat("a", 5000), nil, ErrControlLine},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ops, err := parseAll(t, c.input, testLimits)
			if !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if !reflect.DeepEqual(ops, c.ops) {
				t.Fatalf("ops\n%q\nwant\n%q", ops, c.ops)
			}
		})
	}
}

// TestErrorText proves the parser's errors map to the reference server's -ERR texts.
func TestErrorText(t *testing.T) {
	for err, want := range map[error]string{
		ErrUnknownProtocol: "Unknown Protocol Operation",
		ErrControlLine:     "maximum control line exceeded",
		ErrPayload:         "Maximum Payload Violation",
	} {
		got, ok := ErrorText(fmt.Errorf("wrapped: %w", err))
		if !ok || got != want {
			t.Errorf("ErrorText(%v) = %q, %v; want %q", err, got, ok, want)
		}
	}
	if _, ok := ErrorText(ErrArguments); ok {
		t.Errorf("ErrArguments must close silently")
	}
}

const splitStream = "CONNECT {\"verbose\":false,\"headers\":true}\r\n" +
	"SUB foo.* q 1\r\nSUB >  2\r\n" +
	"PUB foo.bar reply.x 11\r\nhello world\r\n" +
	"HPUB foo.baz 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n" +
	"PUB x 0\r\n\r\n" +
	"PING\r\npong\r\nUNSUB 1 5\r\nunsub 2\n" +
	"PUB big 40\r\n0123456789012345678901234567890123456789\r\n"

// TestParseEverySplit proves that a stream cut into two reads at any byte, or fed one
// byte at a time, yields the same operations as the whole stream in one read.
func TestParseEverySplit(t *testing.T) {
	want, err := parseAll(t, splitStream, testLimits)
	if err != nil || len(want) != 11 {
		t.Fatalf("whole stream: %v, %d ops", err, len(want))
	}
	for cut := 0; cut <= len(splitStream); cut++ {
		p := NewParser(testLimits)
		r := &recorder{}
		buffer := []byte(splitStream)
		if err := p.Parse(buffer[:cut], r); err != nil {
			t.Fatalf("cut %d first half: %v", cut, err)
		}
		// Scribble over the first read's buffer: the parser must not have kept it.
		copy(buffer[:cut], bytes.Repeat([]byte{'#'}, cut))
		if err := p.Parse(buffer[cut:], r); err != nil {
			t.Fatalf("cut %d second half: %v", cut, err)
		}
		if !reflect.DeepEqual(r.ops, want) {
			t.Fatalf("cut %d:\n%q\nwant\n%q", cut, r.ops, want)
		}
	}
	p := NewParser(testLimits)
	r := &recorder{}
	for i := range len(splitStream) {
		one := []byte{splitStream[i]}
		if err := p.Parse(one, r); err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
		one[0] = '#'
	}
	if !reflect.DeepEqual(r.ops, want) {
		t.Fatalf("byte at a time:\n%q\nwant\n%q", r.ops, want)
	}
}

// TestParseStickyError proves a failed parser stays failed: a connection is closed
// after a protocol error, and nothing later may be delivered.
func TestParseStickyError(t *testing.T) {
	p := NewParser(testLimits)
	r := &recorder{}
	if err := p.Parse([]byte("BAD\r\n"), r); !errors.Is(err, ErrUnknownProtocol) {
		t.Fatalf("got %v", err)
	}
	if err := p.Parse([]byte("PING\r\n"), r); !errors.Is(err, ErrUnknownProtocol) || len(r.ops) != 0 {
		t.Fatalf("got %v, %q", err, r.ops)
	}
}

// TestHandlerErrorStops proves a handler's error ends parsing and is returned as is.
func TestHandlerErrorStops(t *testing.T) {
	stop := errors.New("stop")
	p := NewParser(testLimits)
	calls := 0
	h := handlerFunc(func(op *Op) error { calls++; return stop })
	if err := p.Parse([]byte("PING\r\nPING\r\n"), h); err != stop || calls != 1 {
		t.Fatalf("err %v calls %d", err, calls)
	}
}

type handlerFunc func(op *Op) error

func (f handlerFunc) HandleOp(op *Op) error { return f(op) }

// TestSetLimits proves new limits apply to the next operation.
func TestSetLimits(t *testing.T) {
	p := NewParser(Limits{ControlLineBytesMax: 4096})
	r := &recorder{}
	if err := p.Parse([]byte("PUB a 3\r\nabc\r\n"), r); err != nil {
		t.Fatal(err)
	}
	p.SetLimits(Limits{ControlLineBytesMax: 4096, PayloadBytesMax: 2})
	if p.Limits().PayloadBytesMax != 2 {
		t.Fatal("limits not kept")
	}
	if err := p.Parse([]byte("PUB a 3\r\nabc\r\n"), r); !errors.Is(err, ErrPayload) {
		t.Fatalf("got %v", err)
	}
}

// TestEncoders proves the server-to-client encoders produce the wire forms clients
// parse, and that the client-side encoders round-trip through the parser.
func TestEncoders(t *testing.T) {
	checks := []struct{ got, want string }{
		{string(AppendInfo(nil, []byte(`{"a":1}`))), "INFO {\"a\":1}\r\n"},
		{string(AppendErr(nil, "Stale Connection")), "-ERR 'Stale Connection'\r\n"},
		{string(AppendMsg(nil, []byte("foo"), []byte("1"), nil, []byte("hi"))), "MSG foo 1 2\r\nhi\r\n"},
		{string(AppendMsg(nil, []byte("foo"), []byte("1"), []byte("r"), nil)), "MSG foo 1 r 0\r\n\r\n"},
		{string(AppendHMsg(nil, []byte("foo"), []byte("9"), []byte("r"), 12, []byte("NATS/1.0\r\n\r\nhi"))), "HMSG foo 9 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"},
		{string(AppendMsgHeader(nil, []byte("a"), []byte("1"), nil, -1, 5)), "MSG a 1 5\r\n"},
		{string(AppendMsgHeader(nil, []byte("a"), []byte("1"), []byte("b"), 3, 5)), "HMSG a 1 b 3 5\r\n"},
		{string(PingOp) + string(PongOp) + string(OKOp), "PING\r\nPONG\r\n+OK\r\n"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("got %q want %q", c.got, c.want)
		}
	}
	var wire []byte
	wire = AppendConnect(wire, []byte("{}"))
	wire = AppendSub(wire, []byte("a"), []byte("q"), []byte("1"))
	wire = AppendSub(wire, []byte("b"), nil, []byte("2"))
	wire = AppendPub(wire, []byte("a"), []byte("r"), []byte("xyz"))
	wire = AppendPub(wire, []byte("a"), nil, nil)
	wire = AppendUnsub(wire, []byte("1"), 3)
	wire = AppendUnsub(wire, []byte("2"), -1)
	ops, err := parseAll(t, string(wire), testLimits)
	want := []string{`CONNECT "{}"`, `SUB s="a" q="q" sid="1"`, `SUB s="b" q="" sid="2"`,
		`PUB s="a" r="r" p="xyz"`, `PUB s="a" r="" p=""`, `UNSUB sid="1" max=3`, `UNSUB sid="2" max=-1`}
	if err != nil || !reflect.DeepEqual(ops, want) {
		t.Fatalf("round trip: %v\n%q", err, ops)
	}
}

// FuzzParse proves the parser never panics, and that splitting the input at any
// point gives the same operations and the same error class as one read.
func FuzzParse(f *testing.F) {
	f.Add([]byte(splitStream), 7)
	f.Add([]byte("PUB a 1\r\nx\r\n"), 3)
	f.Add([]byte("HPUB a b 2 3\r\n\r\nx\r\n"), 9)
	f.Add([]byte("SUB a b c d\r\n"), 1)
	f.Add([]byte("UNSUB 1 99999999999999999999\r\n"), 1)
	f.Fuzz(func(t *testing.T, input []byte, cut int) {
		limits := Limits{ControlLineBytesMax: 64, PayloadBytesMax: 128}
		whole := &recorder{}
		errWhole := NewParser(limits).Parse(input, whole)
		if cut < 0 {
			cut = -cut
		}
		if len(input) > 0 {
			cut %= len(input) + 1
		} else {
			cut = 0
		}
		p := NewParser(limits)
		split := &recorder{}
		errSplit := p.Parse(input[:cut], split)
		if errSplit == nil {
			errSplit = p.Parse(input[cut:], split)
		}
		if (errWhole == nil) != (errSplit == nil) {
			// A control line over the limit may be caught before its end when split,
			// and an unknown operation before the line ends; the others must agree.
			if !errors.Is(errSplit, ErrControlLine) && !errors.Is(errSplit, ErrUnknownProtocol) {
				t.Fatalf("whole %v split %v", errWhole, errSplit)
			}
		}
		if errWhole == nil && errSplit == nil && !reflect.DeepEqual(whole.ops, split.ops) {
			t.Fatalf("whole %q split %q", whole.ops, split.ops)
		}
	})
}

// BenchmarkParsePub measures the hot path: a PUB that arrives in one read. It must
// not allocate.
func BenchmarkParsePub(b *testing.B) {
	input := []byte("PUB foo.bar.baz reply.inbox.abc 16\r\n0123456789abcdef\r\n")
	p := NewParser(Limits{ControlLineBytesMax: 4096, PayloadBytesMax: 1 << 20})
	h := handlerFunc(func(op *Op) error { return nil })
	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		if err := p.Parse(input, h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePubBatch measures many small PUBs in one read, as a fast publisher
// delivers them.
func BenchmarkParsePubBatch(b *testing.B) {
	var input []byte
	for range 100 {
		input = AppendPub(input, []byte("foo.bar"), nil, []byte("0123456789abcdef"))
	}
	p := NewParser(Limits{ControlLineBytesMax: 4096, PayloadBytesMax: 1 << 20})
	h := handlerFunc(func(op *Op) error { return nil })
	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		if err := p.Parse(input, h); err != nil {
			b.Fatal(err)
		}
	}
}
