package osenv

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
)

// testCertificate returns a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// tlsResult is what a StartTLS callback received.
type tlsResult struct {
	state *tls.ConnectionState
	err   error
}

// startTLS calls StartTLS and returns a channel with its one result.
func startTLS(conn env.Conn, config *tls.Config, options env.TLSOptions) chan tlsResult {
	results := make(chan tlsResult, 2)
	conn.(env.TLSStarter).StartTLS(config, options, func(state *tls.ConnectionState, err error) {
		results <- tlsResult{state, err}
	})
	return results
}

func waitTLS(t *testing.T, results chan tlsResult) tlsResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for the handshake")
		return tlsResult{}
	}
}

// rawPair returns an accepted osenv connection (not started) and the raw socket of
// its peer.
func rawPair(t *testing.T) (env.Conn, net.Conn) {
	t.Helper()
	l, accepted := listen(t, NewNetwork(NetworkOptions{}))
	raw, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(testTimeout))
	return acceptOne(t, accepted), raw
}

// TestStartTLSBothSides proves two osenv connections upgrade against each other,
// bytes written during the handshake go out encrypted after it, and large transfers
// both ways arrive intact.
func TestStartTLSBothSides(t *testing.T) {
	certificate, pool := testCertificate(t)
	network := NewNetwork(NetworkOptions{})
	l, accepted := listen(t, network)
	client, err := dial(t, network, l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	server := acceptOne(t, accepted)
	serverDone := startTLS(server, &tls.Config{Certificates: []tls.Certificate{certificate}}, env.TLSOptions{Server: true, Timeout: testTimeout})
	clientDone := startTLS(client, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, env.TLSOptions{Timeout: testTimeout})
	if _, err := client.Write([]byte("early")); err != nil {
		t.Fatal(err)
	}
	client.Flush()
	for _, done := range []chan tlsResult{serverDone, clientDone} {
		if r := waitTLS(t, done); r.err != nil || r.state == nil || !r.state.HandshakeComplete {
			t.Fatalf("handshake: %+v", r)
		}
	}
	clientRecorder, serverRecorder := newRecorder(t), newRecorder(t)
	client.Start(clientRecorder)
	server.Start(serverRecorder)
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	_, _ = client.Write(big)
	client.Flush()
	_, _ = server.Write(big)
	server.Flush()
	if got := serverRecorder.waitBytes(len("early") + len(big)); !bytes.Equal(got, append([]byte("early"), big...)) {
		t.Fatalf("server got %d bytes, not what was sent", len(got))
	}
	if got := clientRecorder.waitBytes(len(big)); !bytes.Equal(got, big) {
		t.Fatalf("client got %d bytes, not what was sent", len(got))
	}
	_ = client.Close()
	if err := serverRecorder.waitClose(); err == nil {
		t.Log("server saw a clean close")
	}
	clientRecorder.waitClose()
}

// TestStartTLSAfterPlainText proves what was written before StartTLS goes out in
// plain text first, then a standard TLS client upgrades and talks through TLS.
func TestStartTLSAfterPlainText(t *testing.T) {
	certificate, pool := testCertificate(t)
	server, raw := rawPair(t)
	_, _ = server.Write([]byte("INFO {}\r\n"))
	server.Flush()
	done := startTLS(server, &tls.Config{Certificates: []tls.Certificate{certificate}}, env.TLSOptions{Server: true, Timeout: testTimeout})
	reader := bufio.NewReader(raw)
	if line, err := reader.ReadString('\n'); err != nil || line != "INFO {}\r\n" {
		t.Fatalf("plain text %q %v", line, err)
	}
	secure := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := secure.Handshake(); err != nil {
		t.Fatal(err)
	}
	if r := waitTLS(t, done); r.err != nil || r.state.Version != tls.VersionTLS13 {
		t.Fatalf("server handshake %+v", r)
	}
	recorder := newRecorder(t)
	server.Start(recorder)
	_, _ = secure.Write([]byte("PING\r\n"))
	if got := recorder.waitBytes(6); string(got) != "PING\r\n" {
		t.Fatalf("server read %q", got)
	}
	_, _ = server.Write([]byte("PONG\r\n"))
	server.Flush()
	line, err := bufio.NewReader(secure).ReadString('\n')
	if err != nil || line != "PONG\r\n" {
		t.Fatalf("client read %q %v", line, err)
	}
}

// TestStartTLSPlainTextPeer proves a peer that answers in plain text fails the
// handshake with a record header error while the connection stays usable for a
// plain-text reply.
func TestStartTLSPlainTextPeer(t *testing.T) {
	certificate, _ := testCertificate(t)
	server, raw := rawPair(t)
	done := startTLS(server, &tls.Config{Certificates: []tls.Certificate{certificate}}, env.TLSOptions{Server: true, Timeout: testTimeout})
	_, _ = raw.Write([]byte("CONNECT {}\r\n"))
	r := waitTLS(t, done)
	var recordError tls.RecordHeaderError
	if r.state != nil || !errors.As(r.err, &recordError) {
		t.Fatalf("result %+v", r)
	}
	_, _ = server.Write([]byte("-ERR 'nope'\r\n"))
	_ = server.Close()
	line, err := bufio.NewReader(raw).ReadString('\n')
	if err != nil || line != "-ERR 'nope'\r\n" {
		t.Fatalf("read %q %v", line, err)
	}
}

// TestStartTLSTimeout proves a peer that never starts the handshake fails it after
// the timeout with a timeout error, and the plain-text reply still goes out.
func TestStartTLSTimeout(t *testing.T) {
	certificate, _ := testCertificate(t)
	server, raw := rawPair(t)
	started := time.Now()
	done := startTLS(server, &tls.Config{Certificates: []tls.Certificate{certificate}}, env.TLSOptions{Server: true, Timeout: 100 * time.Millisecond})
	r := waitTLS(t, done)
	var timeout interface{ Timeout() bool }
	if r.err == nil || !errors.As(r.err, &timeout) || !timeout.Timeout() {
		t.Fatalf("result %+v", r)
	}
	if waited := time.Since(started); waited < 90*time.Millisecond {
		t.Fatalf("gave up after %v", waited)
	}
	_, _ = server.Write([]byte("late\r\n"))
	server.Flush()
	if line, err := bufio.NewReader(raw).ReadString('\n'); err != nil || line != "late\r\n" {
		t.Fatalf("read %q %v", line, err)
	}
}

// TestStartTLSOptional proves the optional mode keeps plain text for a peer whose
// first byte is not a handshake record (delivering that byte first), and for one
// that sends nothing within DecideWait, and upgrades a TLS peer.
func TestStartTLSOptional(t *testing.T) {
	certificate, pool := testCertificate(t)
	config := &tls.Config{Certificates: []tls.Certificate{certificate}}
	optional := env.TLSOptions{Server: true, Optional: true, Timeout: testTimeout}

	server, raw := rawPair(t)
	done := startTLS(server, config, optional)
	_, _ = raw.Write([]byte("PING\r\n"))
	if r := waitTLS(t, done); r.err != nil || r.state != nil {
		t.Fatalf("plain peer: %+v", r)
	}
	recorder := newRecorder(t)
	server.Start(recorder)
	if got := recorder.waitBytes(6); string(got) != "PING\r\n" {
		t.Fatalf("plain peer: server read %q", got)
	}

	server, raw = rawPair(t)
	started := time.Now()
	done = startTLS(server, config, env.TLSOptions{Server: true, Optional: true, Timeout: testTimeout, DecideWait: 50 * time.Millisecond})
	if r := waitTLS(t, done); r.err != nil || r.state != nil || time.Since(started) < 40*time.Millisecond {
		t.Fatalf("silent peer: %+v after %v", r, time.Since(started))
	}
	recorder = newRecorder(t)
	server.Start(recorder)
	_, _ = raw.Write([]byte("late"))
	if got := recorder.waitBytes(4); string(got) != "late" {
		t.Fatalf("silent peer: server read %q", got)
	}

	server, raw = rawPair(t)
	done = startTLS(server, config, optional)
	secure := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := secure.Handshake(); err != nil {
		t.Fatal(err)
	}
	if r := waitTLS(t, done); r.err != nil || r.state == nil {
		t.Fatalf("TLS peer: %+v", r)
	}
}

// TestStartTLSMisuse proves StartTLS after Start, twice, or after Close reports an
// error through done instead of touching the connection.
func TestStartTLSMisuse(t *testing.T) {
	certificate, _ := testCertificate(t)
	config := &tls.Config{Certificates: []tls.Certificate{certificate}}
	started, _ := rawPair(t)
	started.Start(newRecorder(t))
	if r := waitTLS(t, startTLS(started, config, env.TLSOptions{Server: true})); r.err == nil {
		t.Fatal("StartTLS after Start succeeded")
	}
	twice, _ := rawPair(t)
	first := startTLS(twice, config, env.TLSOptions{Server: true, Timeout: time.Second})
	if r := waitTLS(t, startTLS(twice, config, env.TLSOptions{Server: true})); r.err == nil {
		t.Fatal("a second StartTLS succeeded")
	}
	_ = twice.Close()
	if r := waitTLS(t, first); r.err == nil {
		t.Fatal("a handshake cut by Close succeeded")
	}
	closed, _ := rawPair(t)
	_ = closed.Close()
	if r := waitTLS(t, startTLS(closed, config, env.TLSOptions{Server: true})); r.err == nil {
		t.Fatal("StartTLS after Close succeeded")
	}
}
