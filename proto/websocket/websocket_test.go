package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

// TestParseHeaderTable proves headers decode as RFC 6455 lays them out, and that
// malformed ones get the matching error.
func TestParseHeaderTable(t *testing.T) {
	for _, test := range []struct {
		name   string
		input  []byte
		header Header
		length int
		err    error
	}{
		{"short", []byte{0x82}, Header{}, 0, ErrIncomplete},
		{"small masked", []byte{0x82, 0x85, 1, 2, 3, 4}, Header{Final: true, Opcode: OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, PayloadBytes: 5}, 6, nil},
		{"mask pending", []byte{0x82, 0x85, 1, 2}, Header{}, 0, ErrIncomplete},
		{"16-bit", []byte{0x02, 0xfe, 0x01, 0x00, 9, 9, 9, 9}, Header{Opcode: OpBinary, Masked: true, Mask: [4]byte{9, 9, 9, 9}, PayloadBytes: 256}, 8, nil},
		{"64-bit", []byte{0xc2, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, Header{Final: true, Compressed: true, Opcode: OpBinary, PayloadBytes: 65536}, 10, nil},
		{"64-bit top bit", []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, Header{}, 0, ErrLengthTooLarge},
		{"rsv2", []byte{0xa2, 0x00}, Header{}, 0, ErrReservedBits},
		{"opcode 3", []byte{0x83, 0x00}, Header{}, 0, ErrUnknownOpcode},
		{"long ping", []byte{0x89, 126, 0, 126}, Header{}, 0, ErrControlTooLong},
		{"fragmented close", []byte{0x08, 0x00}, Header{}, 0, ErrControlFragmented},
	} {
		t.Run(test.name, func(t *testing.T) {
			header, length, err := ParseHeader(test.input)
			if !errors.Is(err, test.err) {
				t.Fatalf("error %v, want %v", err, test.err)
			}
			if err == nil && (header != test.header || length != test.length) {
				t.Fatalf("got %+v %d, want %+v %d", header, length, test.header, test.length)
			}
		})
	}
}

// TestAppendHeaderRoundTrip proves every length encoding reads back as written.
func TestAppendHeaderRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		length := rapid.IntRange(0, 1<<20).Draw(t, "length")
		final := rapid.Bool().Draw(t, "final")
		compressed := rapid.Bool().Draw(t, "compressed")
		opcode := rapid.SampledFrom([]byte{OpContinuation, OpText, OpBinary}).Draw(t, "opcode")
		mask := [4]byte{rapid.Byte().Draw(t, "m0"), rapid.Byte().Draw(t, "m1"), 7, 9}
		masked := rapid.Bool().Draw(t, "masked")
		var encoded []byte
		if masked {
			encoded = AppendMaskedHeader(nil, final, compressed, opcode, length, mask)
		} else {
			encoded = AppendHeader(nil, final, compressed, opcode, length)
		}
		header, n, err := ParseHeader(encoded)
		if err != nil || n != len(encoded) {
			t.Fatalf("parse %v %d/%d", err, n, len(encoded))
		}
		want := Header{Final: final, Compressed: compressed, Opcode: opcode, Masked: masked, PayloadBytes: uint64(length)}
		if masked {
			want.Mask = mask
		}
		if header != want {
			t.Fatalf("got %+v want %+v", header, want)
		}
	})
}

// TestCloseBodies proves close payloads round trip, an empty one reads as 1005, and
// a too-long reason is cut to fit a control frame.
func TestCloseBodies(t *testing.T) {
	frame := AppendClose(nil, CloseProtocolError, "mask bit missing")
	header, n, err := ParseHeader(frame)
	if err != nil || header.Opcode != OpClose {
		t.Fatal(header, err)
	}
	status, reason, err := ParseClose(frame[n:])
	if status != CloseProtocolError || reason != "mask bit missing" || err != nil {
		t.Fatal(status, reason, err)
	}
	if status, _, _ := ParseClose(nil); status != CloseNoStatusReceived {
		t.Fatal(status)
	}
	if _, _, err := ParseClose([]byte{3}); !errors.Is(err, ErrCloseBody) {
		t.Fatal(err)
	}
	long := AppendClose(nil, CloseNormal, string(bytes.Repeat([]byte("é"), 100)))
	header, n, err = ParseHeader(long)
	if err != nil || header.PayloadBytes > ControlPayloadBytesMax {
		t.Fatal(header, err)
	}
	if _, _, err := ParseClose(long[n:]); err != nil {
		t.Fatal(err)
	}
}

// recordingSink collects what a Decoder delivers.
type recordingSink struct {
	data     []byte
	messages [][]byte
	controls []string
}

func (s *recordingSink) Data(b []byte) error { s.data = append(s.data, b...); return nil }
func (s *recordingSink) CompressedMessage(b []byte) error {
	s.messages = append(s.messages, append([]byte(nil), b...))
	return nil
}
func (s *recordingSink) Control(opcode byte, payload []byte) error {
	s.controls = append(s.controls, string([]byte{'0' + opcode})+":"+string(payload))
	return nil
}

// maskedFrame builds one client frame.
func maskedFrame(final, compressed bool, opcode byte, payload []byte, mask [4]byte) []byte {
	frame := AppendMaskedHeader(nil, final, compressed, opcode, len(payload), mask)
	start := len(frame)
	frame = append(frame, payload...)
	ApplyMask(mask, 0, frame[start:])
	return frame
}

// TestDecoderSplitsAnywhere proves the decoder delivers the same data, control
// frames and compressed messages however the stream is cut into reads: a model of
// the frames sent against what comes out.
func TestDecoderSplitsAnywhere(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var stream, wantData []byte
		var wantControls []string
		var wantMessages [][]byte
		compressor := &Compressor{}
		for i := range rapid.IntRange(1, 8).Draw(t, "messages") {
			mask := [4]byte{byte(i), 0x5a, 0xa5, byte(i * 7)}
			payload := rapid.SliceOfN(rapid.Byte(), 0, 3000).Draw(t, "payload")
			compressed := rapid.Bool().Draw(t, "compressed")
			body := payload
			if compressed {
				body, _ = compressor.Deflate(nil, payload)
				wantMessages = append(wantMessages, body)
			} else {
				wantData = append(wantData, payload...)
			}
			fragments := rapid.IntRange(1, 4).Draw(t, "fragments")
			for f := range fragments {
				part := body[len(body)*f/fragments : len(body)*(f+1)/fragments]
				opcode := OpBinary
				if f > 0 {
					opcode = OpContinuation
				}
				stream = append(stream, maskedFrame(f == fragments-1, compressed && f == 0, opcode, part, mask)...)
				if rapid.Bool().Draw(t, "ping") {
					stream = append(stream, maskedFrame(true, false, OpPing, []byte("p"), mask)...)
					wantControls = append(wantControls, "9:p")
				}
			}
		}
		decoder := &Decoder{CompressionAllowed: true}
		sink := &recordingSink{}
		rest := stream
		for len(rest) > 0 {
			n := rapid.IntRange(1, len(rest)).Draw(t, "read")
			if err := decoder.Feed(rest[:n], sink); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if !bytes.Equal(sink.data, wantData) {
			t.Fatalf("data %d bytes, want %d", len(sink.data), len(wantData))
		}
		if len(sink.controls) != len(wantControls) || len(sink.messages) != len(wantMessages) {
			t.Fatalf("controls %v messages %d", sink.controls, len(sink.messages))
		}
		for i := range wantMessages {
			if !bytes.Equal(sink.messages[i], wantMessages[i]) {
				t.Fatalf("message %d differs", i)
			}
		}
	})
}

// TestDecoderErrors proves the decoder refuses what the reference refuses.
func TestDecoderErrors(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	for _, test := range []struct {
		name    string
		stream  []byte
		decoder Decoder
		err     error
	}{
		{"unmasked", AppendFrame(nil, true, false, OpBinary, []byte("x")), Decoder{}, ErrMaskMissing},
		{"unmasked allowed", AppendFrame(nil, true, false, OpBinary, []byte("x")), Decoder{MaskOptional: true}, nil},
		{"continuation first", maskedFrame(true, false, OpContinuation, []byte("x"), mask), Decoder{}, ErrUnexpectedContinuation},
		{"new message mid message", append(maskedFrame(false, false, OpBinary, []byte("x"), mask), maskedFrame(true, false, OpBinary, []byte("y"), mask)...), Decoder{}, ErrExpectedContinuation},
		{"compressed not negotiated", maskedFrame(true, true, OpBinary, []byte("x"), mask), Decoder{}, ErrCompressionNotNegotiated},
		{"compressed continuation", append(maskedFrame(false, true, OpBinary, []byte("x"), mask), maskedFrame(true, true, OpContinuation, []byte("y"), mask)...), Decoder{CompressionAllowed: true}, ErrReservedBits},
		{"compressed too big", maskedFrame(true, true, OpBinary, make([]byte, 100), mask), Decoder{CompressionAllowed: true, CompressedBytesMax: 50}, ErrMessageTooBig},
		{"compressed ping", maskedFrame(true, true, OpPing, nil, mask), Decoder{CompressionAllowed: true}, ErrReservedBits},
	} {
		t.Run(test.name, func(t *testing.T) {
			err := test.decoder.Feed(test.stream, &recordingSink{})
			if !errors.Is(err, test.err) {
				t.Fatalf("error %v, want %v", err, test.err)
			}
		})
	}
}

// TestDeflateRoundTrip proves a compressed payload inflates back, and that the bound
// on inflated size holds.
func TestDeflateRoundTrip(t *testing.T) {
	compressor := &Compressor{}
	for _, payload := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte("abc"), 100000)} {
		deflated, err := compressor.Deflate(nil, payload)
		if err != nil {
			t.Fatal(err)
		}
		inflated, err := Inflate(nil, deflated, len(payload))
		if err != nil || !bytes.Equal(inflated, payload) {
			t.Fatalf("round trip of %d bytes: %v", len(payload), err)
		}
	}
	deflated, _ := compressor.Deflate(nil, make([]byte, 10000))
	if _, err := Inflate(nil, deflated, 9999); !errors.Is(err, ErrInflatedTooBig) {
		t.Fatalf("bound: %v", err)
	}
}

// TestUpgradeRequests proves the upgrade checks answer as the reference, in its order.
func TestUpgradeRequests(t *testing.T) {
	valid := "GET /path HTTP/1.1\r\nHost: h:8080\r\nUpgrade: WebSocket\r\nConnection: keep-alive, upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nCookie: a=1; jwt=\"abc\"\r\n\r\nrest"
	request, n, err := ParseRequest([]byte(valid), 4096)
	if err != nil || n != len(valid)-len("rest") {
		t.Fatal(err, n)
	}
	if status, reason := CheckUpgrade(request); status != 0 {
		t.Fatal(status, reason)
	}
	if !OffersCompression(request) {
		t.Fatal("compression offer missed")
	}
	if jwt, ok := request.Cookie("jwt"); !ok || jwt != "abc" {
		t.Fatal(jwt, ok)
	}
	if AcceptKey("dGhlIHNhbXBsZSBub25jZQ==") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatal("accept key differs from RFC 6455's example")
	}
	if _, _, err := ParseRequest([]byte(valid[:40]), 4096); !errors.Is(err, ErrRequestIncomplete) {
		t.Fatal(err)
	}
	if _, _, err := ParseRequest([]byte(valid), 40); !errors.Is(err, ErrRequestTooLarge) {
		t.Fatal(err)
	}
	if _, _, err := ParseRequest([]byte("GET /\r\n\r\n"), 4096); !errors.Is(err, ErrRequestMalformed) {
		t.Fatal(err)
	}
	for _, test := range []struct {
		mutate func(*Request)
		status int
		reason string
	}{
		{func(r *Request) { r.Method = "POST" }, 405, "request method must be GET"},
		{func(r *Request) { r.Fields = drop(r.Fields, "Host") }, 400, "'Host' missing in request"},
		{func(r *Request) { r.Fields = drop(r.Fields, "Upgrade") }, 400, "invalid value for header 'Upgrade'"},
		{func(r *Request) { r.Fields = drop(r.Fields, "Connection") }, 400, "invalid value for header 'Connection'"},
		{func(r *Request) { r.Fields = drop(r.Fields, "Sec-WebSocket-Key") }, 400, "key missing"},
		{func(r *Request) { r.Fields = drop(r.Fields, "Sec-WebSocket-Version") }, 400, "invalid version"},
	} {
		copied := *request
		copied.Fields = append([]HeaderField(nil), request.Fields...)
		test.mutate(&copied)
		if status, reason := CheckUpgrade(&copied); status != test.status || reason != test.reason {
			t.Fatalf("got %d %q, want %d %q", status, reason, test.status, test.reason)
		}
	}
}

func drop(fields []HeaderField, name string) []HeaderField {
	var kept []HeaderField
	for _, field := range fields {
		if field.Name != name {
			kept = append(kept, field)
		}
	}
	return kept
}

// TestOriginPolicy proves same_origin and allowed_origins as the reference: default
// ports by scheme, case-insensitive hosts, no Origin always allowed.
func TestOriginPolicy(t *testing.T) {
	request := func(host, origin string) *Request {
		r := &Request{Method: "GET", Fields: []HeaderField{{"Host", host}}}
		if origin != "" {
			r.Fields = append(r.Fields, HeaderField{"Origin", origin})
		}
		return r
	}
	for _, test := range []struct {
		name   string
		policy OriginPolicy
		r      *Request
		err    error
	}{
		{"no policy", OriginPolicy{}, request("a", "http://b"), nil},
		{"no origin", OriginPolicy{SameOrigin: true}, request("a", ""), nil},
		{"same default port", OriginPolicy{SameOrigin: true}, request("Example.com", "http://example.com:80"), nil},
		{"same tls port", OriginPolicy{SameOrigin: true, TLS: true}, request("example.com", "https://example.com"), nil},
		{"different port", OriginPolicy{SameOrigin: true}, request("example.com:8080", "http://example.com"), ErrNotSameOrigin},
		{"allowed", OriginPolicy{Allowed: []string{"http://x.com", "https://y.com"}}, request("a", "https://y.com:443"), nil},
		{"scheme differs", OriginPolicy{Allowed: []string{"http://y.com"}}, request("a", "https://y.com"), ErrNotAllowedOrigin},
	} {
		t.Run(test.name, func(t *testing.T) {
			if err := test.policy.CheckOrigin(test.r); !errors.Is(err, test.err) {
				t.Fatalf("error %v, want %v", err, test.err)
			}
		})
	}
}

// TestErrorResponse proves the refusal's shape: status line, version header, body
// with a newline and its length.
func TestErrorResponse(t *testing.T) {
	response := string(AppendErrorResponse(nil, 400, "key missing"))
	for _, want := range []string{"HTTP/1.1 400 Bad Request\r\n", "Sec-Websocket-Version: 13\r\n", "Content-Length: 12\r\n", "\r\n\r\nkey missing\n"} {
		if !bytes.Contains([]byte(response), []byte(want)) {
			t.Fatalf("%q lacks %q", response, want)
		}
	}
}

// FuzzDecoder feeds arbitrary bytes to the decoder in two reads: it must never panic,
// and never deliver more data than it was given.
func FuzzDecoder(f *testing.F) {
	mask := [4]byte{1, 2, 3, 4}
	f.Add(maskedFrame(true, false, OpBinary, []byte("PING\r\n"), mask), 3)
	f.Add(append(maskedFrame(false, true, OpBinary, []byte("ab"), mask), maskedFrame(true, false, OpContinuation, []byte("c"), mask)...), 5)
	f.Add(maskedFrame(true, false, OpClose, binary.BigEndian.AppendUint16(nil, 1000), mask), 1)
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 4)
	f.Fuzz(func(t *testing.T, stream []byte, cut int) {
		decoder := &Decoder{CompressionAllowed: true, CompressedBytesMax: 1 << 16}
		sink := &recordingSink{}
		if cut < 0 || cut > len(stream) {
			cut = len(stream) / 2
		}
		if err := decoder.Feed(stream[:cut], sink); err == nil {
			_ = decoder.Feed(stream[cut:], sink)
		}
		if len(sink.data) > len(stream) {
			t.Fatalf("delivered %d bytes from %d", len(sink.data), len(stream))
		}
		for _, message := range sink.messages {
			_, _ = Inflate(nil, message, 1<<16)
		}
	})
}

// FuzzParseRequest feeds arbitrary request heads to the parser and the checks: no
// panic, and an accepted request never claims more bytes than it was given.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\nOrigin: http://h\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\n: x\r\n\r\n"))
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		request, n, err := ParseRequest(input, 1024)
		if err != nil {
			return
		}
		if n > len(input) {
			t.Fatalf("consumed %d of %d", n, len(input))
		}
		CheckUpgrade(request)
		OffersCompression(request)
		_ = OriginPolicy{SameOrigin: true, Allowed: []string{"http://h"}}.CheckOrigin(request)
		_, _ = request.Cookie("jwt")
	})
}
