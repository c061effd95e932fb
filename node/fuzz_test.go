package node

import (
	"bytes"
	"testing"

	"github.com/natsim/natsim/node/opts"
)

// FuzzClientInput proves no client input panics the server or wedges it: each input
// is fed to a fresh connection in two reads, then the server still answers a PING on
// another connection.
func FuzzClientInput(f *testing.F) {
	f.Add([]byte("CONNECT {\"verbose\":true,\"headers\":true,\"no_responders\":true}\r\nSUB a.* q 1\r\nPUB a.b r 2\r\nhi\r\nHPUB a.c 12 14\r\nNATS/1.0\r\n\r\nhi\r\nUNSUB 1 1\r\n"), 10)
	f.Add([]byte("CONNECT {\"protocol\":1,\"echo\":false}\r\nSUB > 1\r\nPUB x y 0\r\n\r\nPING\r\n"), 3)
	f.Add([]byte("SUB foo 1\r\nSUB foo 1\r\nUNSUB 1\r\nUNSUB 1\r\nPUB _R_.x 0\r\n\r\n"), 7)
	f.Add([]byte("CONNECT {\"user\":\"a\"}\r\nPUB $JS.API.INFO _INBOX.x 0\r\n\r\n"), 0)
	f.Add([]byte("PUB $SYS.REQ.SERVER.PING.CONNZ reply 2\r\n{}\r\n"), 5)
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", opts.RandomPort
	o.JetStream = true
	o.MaxPayload, o.MaxControlLine = 256, 128
	s, err := New(osEnvForTests(), o, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Shutdown)
	f.Fuzz(func(t *testing.T, input []byte, cut int) {
		conn := &memoryConn{}
		s.acceptClient(conn)
		if cut < 0 {
			cut = -cut
		}
		cut %= len(input) + 1
		conn.handler.OnData(input[:cut])
		conn.handler.OnData(input[cut:])
		conn.handler.OnClose(nil)
		probe := &memoryConn{keep: true}
		s.acceptClient(probe)
		probe.handler.OnData([]byte("PING\r\n"))
		if got := string(probe.written); len(got) < 6 || got[len(got)-6:] != "PONG\r\n" {
			t.Fatalf("server stopped answering: %q", got)
		}
		probe.handler.OnClose(nil)
	})
}

// FuzzMonitorRequest proves no request head panics the monitoring server, and each
// gets an HTTP status line back.
func FuzzMonitorRequest(f *testing.F) {
	f.Add([]byte("GET /connz?sort=cid&subs=detail&offset=1&limit=2&state=any&auth=true HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("GET /subsz?subs=1&test=a.b&acc=%24G HTTP/1.1\r\n\r\nGET /varz?callback=x HTTP/1.1\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("GET /%zz HTTP/1.1\r\n\r\n"))
	o := opts.Default()
	o.Host, o.Port = "127.0.0.1", opts.RandomPort
	s, err := New(osEnvForTests(), o, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Shutdown)
	f.Fuzz(func(t *testing.T, request []byte) {
		conn := &memoryConn{keep: true}
		s.acceptMonitor(conn)
		conn.handler.OnData(request)
		conn.handler.OnClose(nil)
		if len(conn.written) > 0 && !bytes.HasPrefix(conn.written, []byte("HTTP/1.1 ")) {
			t.Fatalf("response %q", conn.written)
		}
	})
}
