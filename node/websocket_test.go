package node

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/websocket"
)

// websocketOptions configures a plain-text websocket listener on a random port.
func websocketOptions(compression bool) func(*opts.Options) {
	return func(o *opts.Options) {
		o.Websocket.Host = "127.0.0.1"
		o.Websocket.Port = opts.RandomPort
		o.Websocket.NoTLS = true
		o.Websocket.Compression = compression
	}
}

func websocketURL(t testing.TB, s *Server, scheme string) string {
	t.Helper()
	addr := s.WebsocketAddr()
	if addr == "" {
		t.Fatal("no websocket listener")
	}
	return scheme + "://" + addr
}

func connectWebsocket(t testing.TB, s *Server, options ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(websocketURL(t, s, "ws"), options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestWebsocketPubSubRequest proves websocket and plain clients exchange messages
// and requests both ways, and that /connz lists the websocket client's type.
func TestWebsocketPubSubRequest(t *testing.T) {
	s := startTestServer(t, websocketOptions(false))
	ws := connectWebsocket(t, s)
	plain := connect(t, s)
	sub, _ := ws.SubscribeSync("to.ws")
	_, _ = plain.Subscribe("service", func(m *nats.Msg) { _ = m.Respond(append([]byte("re:"), m.Data...)) })
	if err := ws.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := plain.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := plain.Publish("to.ws", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(2 * time.Second); err != nil || string(msg.Data) != "hello" {
		t.Fatalf("message %v %v", msg, err)
	}
	reply, err := ws.Request("service", []byte("ping"), 2*time.Second)
	if err != nil || string(reply.Data) != "re:ping" {
		t.Fatalf("reply %v %v", reply, err)
	}
	connz, err := s.Connz(ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, conn := range connz.Conns {
		types[conn.Type]++
	}
	if types["websocket"] != 1 || types["nats"] != 1 {
		t.Fatalf("connz types %v", types)
	}
}

// websocketPayloads are messages of sizes around frame and buffer boundaries, some
// compressible and some not.
func websocketPayloads() [][]byte {
	var payloads [][]byte
	seed := uint32(1)
	for _, size := range []int{0, 1, 64, 65, 125, 126, 65535, 65536, 70000, 300000, 1 << 20} {
		compressible := bytes.Repeat([]byte("A"), size)
		random := make([]byte, size)
		for i := range random {
			seed = seed*1664525 + 1013904223
			random[i] = byte(seed >> 24)
		}
		payloads = append(payloads, compressible, random)
	}
	return payloads
}

// TestWebsocketCompression proves every combination of server and client compression
// carries messages of every size intact, in order, both ways.
func TestWebsocketCompression(t *testing.T) {
	for _, test := range []struct {
		name           string
		server, client bool
	}{
		{"server_off_client_off", false, false},
		{"server_off_client_on", false, true},
		{"server_on_client_off", true, false},
		{"server_on_client_on", true, true},
	} {
		t.Run(test.name, func(t *testing.T) {
			s := startTestServer(t, websocketOptions(test.server))
			nc := connectWebsocket(t, s, nats.Compression(test.client))
			other := connectWebsocket(t, s, nats.Compression(test.client))
			sub, _ := nc.SubscribeSync("data")
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			payloads := websocketPayloads()
			for _, payload := range payloads {
				if err := other.Publish("data", payload); err != nil {
					t.Fatal(err)
				}
			}
			for i, payload := range payloads {
				msg, err := sub.NextMsg(5 * time.Second)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if !bytes.Equal(msg.Data, payload) {
					t.Fatalf("message %d: %d bytes, want %d", i, len(msg.Data), len(payload))
				}
			}
		})
	}
}

// TestWebsocketTLS proves a wss client connects with the listener's certificate and
// exchanges messages, compressed or not.
func TestWebsocketTLS(t *testing.T) {
	p := newTestPKI(t)
	for _, compression := range []bool{false, true} {
		t.Run(fmt.Sprint("compression=", compression), func(t *testing.T) {
			s := startTestServer(t, func(o *opts.Options) {
				o.Websocket.Host = "127.0.0.1"
				o.Websocket.Port = opts.RandomPort
				o.Websocket.Compression = compression
				o.Websocket.TLSConfig = &opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey}
			})
			nc, err := nats.Connect(websocketURL(t, s, "wss"), nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.Compression(compression))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			sub, _ := nc.SubscribeSync("secure")
			payload := bytes.Repeat([]byte("secret "), 20000)
			if err := nc.Publish("secure", payload); err != nil {
				t.Fatal(err)
			}
			if msg, err := sub.NextMsg(2 * time.Second); err != nil || !bytes.Equal(msg.Data, payload) {
				t.Fatalf("message %v", err)
			}
			// A plain-text upgrade request on the TLS listener gets nowhere.
			conn, err := net.Dial("tcp", s.WebsocketAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = conn.Write([]byte(upgradeRequest("", "")))
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if line, _ := bufio.NewReader(conn).ReadString('\n'); strings.Contains(line, "101") {
				t.Fatalf("plain upgrade accepted on a TLS listener: %q", line)
			}
		})
	}
}

// TestWebsocketConfigNeedsTLS proves a websocket block with neither tls nor no_tls
// is refused, as the reference refuses it.
func TestWebsocketConfigNeedsTLS(t *testing.T) {
	o := opts.Default()
	o.Websocket.Port = 8080
	if _, err := New(osEnvForTests(), o, nil); !errors.Is(err, errWebsocketTLSRequired) {
		t.Fatalf("error %v", err)
	}
}

// upgradeRequest is a valid upgrade request with extra header lines.
func upgradeRequest(extra, method string) string {
	if method == "" {
		method = "GET"
	}
	return method + " / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// readResponse reads an HTTP response head and, when it says so, its body.
func readResponse(t *testing.T, reader *bufio.Reader) (status string, headers map[string]string, body string) {
	t.Helper()
	headers = map[string]string{}
	line, err := reader.ReadString('\n')
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	status = strings.TrimSpace(line)
	for {
		line, err := reader.ReadString('\n')
		if err != nil {
			t.Fatalf("response head: %v", err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ":")
		headers[strings.ToLower(name)] = strings.TrimSpace(value)
	}
	if length := headers["content-length"]; length != "" {
		var n int
		fmt.Sscan(length, &n)
		buffer := make([]byte, n)
		if _, err := io.ReadFull(reader, buffer); err != nil {
			t.Fatalf("body: %v", err)
		}
		body = string(buffer)
	}
	return status, headers, body
}

// TestWebsocketBadUpgrade proves each bad upgrade request gets the reference's HTTP
// status and text, and a good one the 101 with the RFC's accept key.
func TestWebsocketBadUpgrade(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		websocketOptions(false)(o)
		o.Websocket.AllowedOrigins = []string{"https://good.example"}
	})
	for _, test := range []struct {
		name, request, status, body string
	}{
		{"method", upgradeRequest("", "POST"), "HTTP/1.1 405 Method Not Allowed", "request method must be GET\n"},
		{"host", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 400 Bad Request", "'Host' missing in request\n"},
		{"upgrade", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 400 Bad Request", "invalid value for header 'Upgrade'\n"},
		{"connection", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 400 Bad Request", "invalid value for header 'Connection'\n"},
		{"key", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 400 Bad Request", "key missing\n"},
		{"version", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 12\r\n\r\n", "HTTP/1.1 400 Bad Request", "invalid version\n"},
		{"origin", upgradeRequest("Origin: https://evil.example\r\n", ""), "HTTP/1.1 403 Forbidden", "origin not allowed: not in the allowed list\n"},
		{"garbage", "HELLO\r\n\r\n", "HTTP/1.1 400 Bad Request", ""},
		{"accepted", upgradeRequest("Origin: https://good.example\r\n", ""), "HTTP/1.1 101 Switching Protocols", ""},
	} {
		t.Run(test.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.WebsocketAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write([]byte(test.request)); err != nil {
				t.Fatal(err)
			}
			status, headers, body := readResponse(t, bufio.NewReader(conn))
			if status != test.status || body != test.body {
				t.Fatalf("got %q %q, want %q %q", status, body, test.status, test.body)
			}
			if test.name == "accepted" && headers["sec-websocket-accept"] != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
				t.Fatalf("accept key %q", headers["sec-websocket-accept"])
			}
			if test.name != "accepted" && test.name != "garbage" && headers["sec-websocket-version"] != "13" {
				t.Fatalf("headers %v", headers)
			}
		})
	}
}

// rawWebsocket is a hand-driven websocket client for frame-level tests.
type rawWebsocket struct {
	t      *testing.T
	conn   net.Conn
	reader *bufio.Reader
}

func dialRawWebsocket(t *testing.T, s *Server) *rawWebsocket {
	t.Helper()
	return dialRawWebsocketWith(t, s, "")
}

// dialRawWebsocketWith upgrades with extra request header lines.
func dialRawWebsocketWith(t *testing.T, s *Server, extra string) *rawWebsocket {
	t.Helper()
	conn, err := net.Dial("tcp", s.WebsocketAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(upgradeRequest(extra, ""))); err != nil {
		t.Fatal(err)
	}
	raw := &rawWebsocket{t: t, conn: conn, reader: bufio.NewReader(conn)}
	if status, _, _ := readResponse(t, raw.reader); !strings.Contains(status, "101") {
		t.Fatalf("upgrade: %q", status)
	}
	return raw
}

// send writes one frame, masked unless unmasked is set.
func (r *rawWebsocket) send(final bool, opcode byte, payload []byte, unmasked bool) {
	mask := [4]byte{1, 2, 3, 4}
	var frame []byte
	if unmasked {
		frame = websocket.AppendFrame(nil, final, false, opcode, payload)
	} else {
		frame = websocket.AppendMaskedHeader(nil, final, false, opcode, len(payload), mask)
		masked := append([]byte(nil), payload...)
		websocket.ApplyMask(mask, 0, masked)
		frame = append(frame, masked...)
	}
	if _, err := r.conn.Write(frame); err != nil {
		r.t.Fatal(err)
	}
}

// receive reads one frame from the server.
func (r *rawWebsocket) receive() (websocket.Header, []byte) {
	r.t.Helper()
	head := make([]byte, 2, websocket.HeaderBytesMax)
	if _, err := io.ReadFull(r.reader, head); err != nil {
		r.t.Fatalf("frame: %v", err)
	}
	for {
		header, n, err := websocket.ParseHeader(head)
		if errors.Is(err, websocket.ErrIncomplete) {
			head = append(head, 0)
			if _, err := io.ReadFull(r.reader, head[len(head)-1:]); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err != nil || n != len(head) {
			r.t.Fatalf("header %v %d", err, n)
		}
		payload := make([]byte, header.PayloadBytes)
		if _, err := io.ReadFull(r.reader, payload); err != nil {
			r.t.Fatal(err)
		}
		return header, payload
	}
}

// receiveText reads frames until the protocol text contains want.
func (r *rawWebsocket) receiveText(want string) string {
	r.t.Helper()
	var text string
	for !strings.Contains(text, want) {
		header, payload := r.receive()
		if header.Masked || header.Opcode != websocket.OpBinary {
			r.t.Fatalf("frame %+v %q", header, payload)
		}
		text += string(payload)
	}
	return text
}

// TestWebsocketFrames proves the server's frame handling: INFO in a binary frame,
// a fragmented CONNECT+PING with a ping control frame between the fragments, the
// pong answer, and the close echo with the client's status.
func TestWebsocketFrames(t *testing.T) {
	s := startTestServer(t, websocketOptions(false))
	raw := dialRawWebsocket(t, s)
	if info := raw.receiveText("\r\n"); !strings.HasPrefix(info, "INFO {") {
		t.Fatalf("first frame %q", info)
	}
	raw.send(false, websocket.OpBinary, []byte("CONNECT {\"verbose\":false}\r\nPI"), false)
	raw.send(true, websocket.OpPing, []byte("are you there"), false)
	header, payload := raw.receive()
	if header.Opcode != websocket.OpPong || string(payload) != "are you there" {
		t.Fatalf("pong %+v %q", header, payload)
	}
	raw.send(false, websocket.OpContinuation, []byte("N"), false)
	raw.send(true, websocket.OpContinuation, []byte("G\r\n"), false)
	if text := raw.receiveText("PONG\r\n"); text != "PONG\r\n" {
		t.Fatalf("got %q", text)
	}
	raw.send(true, websocket.OpClose, binary.BigEndian.AppendUint16(nil, 1000), false)
	header, payload = raw.receive()
	if status, _, err := websocket.ParseClose(payload); header.Opcode != websocket.OpClose || status != 1000 || err != nil {
		t.Fatalf("close %+v %d %v", header, status, err)
	}
	waitNoClients(t, s)
}

// TestWebsocketUnmaskedFrame proves an unmasked client frame closes the connection
// with status 1002 (protocol error).
func TestWebsocketUnmaskedFrame(t *testing.T) {
	s := startTestServer(t, websocketOptions(false))
	raw := dialRawWebsocket(t, s)
	raw.receiveText("\r\n")
	raw.send(true, websocket.OpBinary, []byte("PING\r\n"), true)
	header, payload := raw.receive()
	status, reason, _ := websocket.ParseClose(payload)
	if header.Opcode != websocket.OpClose || status != websocket.CloseProtocolError || reason != "mask bit missing" {
		t.Fatalf("close %+v %d %q", header, status, reason)
	}
	waitNoClients(t, s)
}

// TestWebsocketAuthFailure proves a websocket client with bad credentials gets the
// authorization error and the connection closes.
func TestWebsocketAuthFailure(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		websocketOptions(false)(o)
		o.Username, o.Password = "user", "pwd"
	})
	if _, err := nats.Connect(websocketURL(t, s, "ws"), nats.UserInfo("user", "wrong")); err == nil {
		t.Fatal("connected with a wrong password")
	}
	nc := connectWebsocket(t, s, nats.UserInfo("user", "pwd"))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestWebsocketAuthOverride proves the websocket block's own user replaces the
// server's for websocket clients only, and that its cookie names feed CONNECT.
func TestWebsocketAuthOverride(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		websocketOptions(false)(o)
		o.Username, o.Password = "plain", "p1"
		o.Websocket.Username, o.Websocket.Password = "web", "p2"
		o.Websocket.TokenCookie = "session"
	})
	if _, err := nats.Connect(websocketURL(t, s, "ws"), nats.UserInfo("plain", "p1")); err == nil {
		t.Fatal("server user accepted on the websocket listener with an override")
	}
	if _, err := nats.Connect(s.ClientURL(), nats.UserInfo("web", "p2")); err == nil {
		t.Fatal("websocket user accepted on the client listener")
	}
	connectWebsocket(t, s, nats.UserInfo("web", "p2"))
	connect(t, s, nats.UserInfo("plain", "p1"))
}

// TestWebsocketConnectionTypesAndNoAuthUser proves allowed_connection_types tell
// websocket clients from standard ones, and the block's no_auth_user applies to
// websocket clients that send no credentials.
func TestWebsocketConnectionTypesAndNoAuthUser(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		websocketOptions(false)(o)
		o.Users = []*opts.User{
			{Username: "webonly", Password: "w", AllowedConnectionTypes: map[string]struct{}{"WEBSOCKET": {}}},
			{Username: "std", Password: "s", AllowedConnectionTypes: map[string]struct{}{"STANDARD": {}}},
		}
		o.Websocket.NoAuthUser = "webonly"
	})
	connectWebsocket(t, s, nats.UserInfo("webonly", "w"))
	connectWebsocket(t, s)
	if _, err := nats.Connect(websocketURL(t, s, "ws"), nats.UserInfo("std", "s")); err == nil {
		t.Fatal("STANDARD-only user accepted over websocket")
	}
	if _, err := nats.Connect(s.ClientURL(), nats.UserInfo("webonly", "w")); err == nil {
		t.Fatal("WEBSOCKET-only user accepted as a standard client")
	}
	if _, err := nats.Connect(s.ClientURL()); err == nil {
		t.Fatal("websocket no_auth_user applied to a standard client")
	}
}

// TestWebsocketTokenCookie proves token_cookie supplies the token a CONNECT lacks.
func TestWebsocketTokenCookie(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		websocketOptions(false)(o)
		o.Websocket.Token = "secret"
		o.Websocket.TokenCookie = "session"
	})
	raw := dialRawWebsocketWith(t, s, "Cookie: other=1; session=secret\r\n")
	raw.receiveText("\r\n")
	raw.send(true, websocket.OpBinary, []byte("CONNECT {\"verbose\":false}\r\nPING\r\n"), false)
	if text := raw.receiveText("\r\n"); text != "PONG\r\n" {
		t.Fatalf("got %q", text)
	}
	bad := dialRawWebsocketWith(t, s, "Cookie: session=wrong\r\n")
	bad.receiveText("\r\n")
	bad.send(true, websocket.OpBinary, []byte("CONNECT {\"verbose\":false}\r\nPING\r\n"), false)
	if text := bad.receiveText("\r\n"); !strings.Contains(text, "Authorization Violation") {
		t.Fatalf("got %q", text)
	}
}

// TestWebsocketCloseStatus proves a server-side close carries the reference's status
// and the close reason: a parse error is a protocol error (1002), after the -ERR.
func TestWebsocketCloseStatus(t *testing.T) {
	s := startTestServer(t, websocketOptions(false))
	raw := dialRawWebsocket(t, s)
	raw.receiveText("\r\n")
	raw.send(true, websocket.OpBinary, []byte("BOGUS\r\n"), false)
	if text := raw.receiveText("\r\n"); !strings.HasPrefix(text, "-ERR 'Unknown Protocol Operation'") {
		t.Fatalf("got %q", text)
	}
	header, payload := raw.receive()
	status, reason, _ := websocket.ParseClose(payload)
	if header.Opcode != websocket.OpClose || status != websocket.CloseProtocolError || reason != reasonParseError {
		t.Fatalf("close %+v %d %q", header, status, reason)
	}
}

// TestWebsocketHandshakeTimeout proves a connection that sends no upgrade request
// within handshake_timeout is closed.
func TestWebsocketHandshakeTimeout(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		websocketOptions(false)(o)
		o.Websocket.HandshakeTimeout = 100 * time.Millisecond
	})
	conn, err := net.Dial("tcp", s.WebsocketAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("GET / HTTP/1.1\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	started := time.Now()
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read %v", err)
	}
	if elapsed := time.Since(started); elapsed > 3*time.Second {
		t.Fatalf("closed after %v", elapsed)
	}
}
