package node

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
)

// testPKI is a certificate authority with a server and a client certificate, written
// as PEM files into a test's temporary directory.
type testPKI struct {
	dir                                         string
	caFile, serverCert, serverKey               string
	clientCert, clientKey                       string
	otherClientCert, otherClientKey, otherCAPEM string
	caPool                                      *x509.CertPool
}

// newTestPKI generates a CA, a server certificate for 127.0.0.1 and localhost, a
// client certificate (CN=alice, email alice@example.com) signed by the CA, and a
// client certificate signed by an unrelated CA.
func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{dir: dir, caPool: x509.NewCertPool()}
	caKey, caCert, caDER := makeCA(t, "Test CA")
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	p.caPool.AddCert(caCert)
	serverTemplate := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost", Organization: []string{"natsim"}},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	p.serverCert, p.serverKey = makeLeaf(t, dir, "server", serverTemplate, caCert, caKey)
	clientTemplate := &x509.Certificate{
		Subject:        pkix.Name{CommonName: "alice", Organization: []string{"natsim"}},
		EmailAddresses: []string{"alice@example.com"},
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	p.clientCert, p.clientKey = makeLeaf(t, dir, "client", clientTemplate, caCert, caKey)
	otherKey, otherCert, _ := makeCA(t, "Other CA")
	otherTemplate := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "mallory"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	p.otherClientCert, p.otherClientKey = makeLeaf(t, dir, "other", otherTemplate, otherCert, otherKey)
	return p
}

var serialNumber int64

func nextSerial() *big.Int {
	serialNumber++
	return big.NewInt(serialNumber)
}

func makeCA(t testing.TB, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certificate, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, certificate, der
}

func makeLeaf(t testing.TB, dir, name string, template, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template.SerialNumber = nextSerial()
	template.NotBefore = time.Now().Add(-time.Hour)
	template.NotAfter = time.Now().Add(24 * time.Hour)
	template.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+"-cert.pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", keyDER)
}

func writePEM(t testing.TB, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsOptions sets a tls block with the PKI's server certificate.
func (p *testPKI) tlsOptions(configure func(*opts.TLSConfigOpts)) func(*opts.Options) {
	return func(o *opts.Options) {
		tc := &opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, CaFile: p.caFile}
		if configure != nil {
			configure(tc)
		}
		o.TLSConfig, o.TLS = tc, true
		o.TLSVerify, o.TLSMap, o.TLSHandshakeFirst, o.TLSTimeout = tc.Verify, tc.Map, tc.HandshakeFirst, tc.Timeout
	}
}

// readInfo reads the first line a raw client gets and decodes it as INFO.
func readInfo(t *testing.T, reader *bufio.Reader) client.Info {
	t.Helper()
	line, err := reader.ReadString('\n')
	if err != nil {
		t.Fatalf("reading INFO: %v", err)
	}
	if !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("first line %q is not INFO", line)
	}
	var info client.Info
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "INFO ")), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// closedReason waits for the server to record the connection as closed and returns
// the reason /connz shows.
func closedReason(t *testing.T, s *Server) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		var reason string
		if len(s.closedClients) > 0 {
			reason = s.closedClients[len(s.closedClients)-1].Reason
		}
		s.mu.Unlock()
		if reason != "" {
			return reason
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no closed connection recorded")
	return ""
}

// TestTLSClient proves a nats.go client that trusts the CA connects over TLS 1.3,
// messages flow, and /connz reports the version and cipher suite.
func TestTLSClient(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(nil))
	nc := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}))
	if !nc.TLSRequired() {
		t.Fatal("INFO did not say tls_required")
	}
	state, err := nc.TLSConnectionState()
	if err != nil || state.Version != tls.VersionTLS13 {
		t.Fatalf("client TLS state %v %v", state.Version, err)
	}
	sub, _ := nc.SubscribeSync("secure")
	if err := nc.Publish("secure", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(2 * time.Second); err != nil || string(msg.Data) != "hello" {
		t.Fatalf("message %v %v", msg, err)
	}
	connz, err := s.Connz(ConnzOptions{})
	if err != nil || len(connz.Conns) != 1 {
		t.Fatalf("connz %+v %v", connz, err)
	}
	if varz := s.Varz(); !varz.TLSRequired || varz.TLSVerify || varz.TLSTimeout != 2 {
		t.Fatalf("varz TLS fields %v %v %v", varz.TLSRequired, varz.TLSVerify, varz.TLSTimeout)
	}
	info := connz.Conns[0]
	if info.TLSVersion != "1.3" || info.TLSCipher != "TLS_AES_128_GCM_SHA256" || info.TLSFirst {
		t.Fatalf("connz TLS fields %q %q %v", info.TLSVersion, info.TLSCipher, info.TLSFirst)
	}
}

// TestTLSLargeMessages proves payloads larger than a TLS record and bursts of many
// small messages arrive intact and in order through the upgraded connection.
func TestTLSLargeMessages(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(nil))
	nc := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}))
	sub, _ := nc.SubscribeSync("big")
	nc.Flush()
	payload := make([]byte, 200_000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	const messages = 50
	for i := range messages {
		payload[0] = byte(i)
		if err := nc.Publish("big", payload); err != nil {
			t.Fatal(err)
		}
	}
	for i := range messages {
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil || len(msg.Data) != len(payload) || msg.Data[0] != byte(i) || msg.Data[len(payload)-1] != payload[len(payload)-1] {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// TestTLSPlaintextClientRefused proves a client that ignores tls_required and speaks
// plain text gets the reference's -ERR and is closed as a handshake failure.
func TestTLSPlaintextClientRefused(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(nil))
	socket, err := net.Dial("tcp", s.ClientAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer socket.Close()
	_ = socket.SetDeadline(time.Now().Add(5 * time.Second))
	reader := bufio.NewReader(socket)
	info := readInfo(t, reader)
	if !info.TLSRequired || info.TLSAvailable || info.TLSVerify {
		t.Fatalf("INFO TLS fields %+v", info)
	}
	if _, err := socket.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := reader.ReadString('\n')
	if err != nil || line != "-ERR 'Secure Connection - TLS Required'\r\n" {
		t.Fatalf("got %q %v", line, err)
	}
	if reason := closedReason(t, s); reason != reasonTLSHandshakeError {
		t.Fatalf("reason %q", reason)
	}
	// The nats.go client refuses on its own, from INFO.
	if _, err := nats.Connect(s.ClientURL()); err == nil {
		t.Fatal("plain nats.go client connected to a TLS-only server")
	}
}

// TestTLSHandshakeTimeout proves a client that never starts the handshake is told
// TLS is required and closed once the tls timeout passes.
func TestTLSHandshakeTimeout(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.Timeout = 0.2 }))
	socket, err := net.Dial("tcp", s.ClientAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer socket.Close()
	_ = socket.SetDeadline(time.Now().Add(5 * time.Second))
	reader := bufio.NewReader(socket)
	readInfo(t, reader)
	started := time.Now()
	line, err := reader.ReadString('\n')
	if err != nil || line != "-ERR 'Secure Connection - TLS Required'\r\n" {
		t.Fatalf("got %q %v", line, err)
	}
	if waited := time.Since(started); waited < 150*time.Millisecond || waited > 2*time.Second {
		t.Fatalf("closed after %v, want about 200ms", waited)
	}
	if _, err := reader.ReadByte(); err == nil {
		t.Fatal("connection still open after the -ERR")
	}
	if reason := closedReason(t, s); reason != reasonTLSHandshakeError {
		t.Fatalf("reason %q", reason)
	}
}

// TestTLSHandshakeFirst proves that with handshake_first the server sends nothing
// before the handshake, a TLS-first client connects, and /connz marks it tls_first.
func TestTLSHandshakeFirst(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.HandshakeFirst, tc.Timeout = true, 0.5 }))
	socket, err := net.Dial("tcp", s.ClientAddr())
	if err != nil {
		t.Fatal(err)
	}
	_ = socket.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := socket.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("server sent %d bytes before the handshake", n)
	}
	socket.Close()
	waitNoClients(t, s)

	nc := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.TLSHandshakeFirst())
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	connz, _ := s.Connz(ConnzOptions{})
	if len(connz.Conns) != 1 || !connz.Conns[0].TLSFirst || connz.Conns[0].TLSVersion != "1.3" {
		t.Fatalf("connz %+v", connz.Conns)
	}
	// A client that waits for INFO first never gets one.
	if _, err := nats.Connect(s.ClientURL(), nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.Timeout(300*time.Millisecond)); err == nil {
		t.Fatal("a client waiting for INFO connected to a handshake_first server")
	}
}

// TestTLSHandshakeFirstFallback proves that with a fallback delay both kinds of
// clients connect: TLS-first ones at once, the others after the delay, upgrading
// after INFO as usual.
func TestTLSHandshakeFirstFallback(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) {
		tc.HandshakeFirst, tc.FallbackDelay = true, 50*time.Millisecond
	}))
	first := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.TLSHandshakeFirst())
	later := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}))
	for _, nc := range []*nats.Conn{first, later} {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		if state, err := nc.TLSConnectionState(); err != nil || !state.HandshakeComplete {
			t.Fatalf("not secured: %v", err)
		}
	}
	connz, _ := s.Connz(ConnzOptions{})
	if len(connz.Conns) != 2 || !connz.Conns[0].TLSFirst || connz.Conns[1].TLSFirst {
		t.Fatalf("connz %+v", connz.Conns)
	}
}

// TestTLSMutual proves verify requires a client certificate signed by ca_file.
func TestTLSMutual(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.Verify = true }))
	nc := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.ClientCert(p.clientCert, p.clientKey))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	connz, _ := s.Connz(ConnzOptions{})
	if len(connz.Conns) != 1 || len(connz.Conns[0].TLSPeerCerts) != 1 ||
		!strings.Contains(connz.Conns[0].TLSPeerCerts[0].Subject, "CN=alice") || len(connz.Conns[0].TLSPeerCerts[0].CertSha256) != 64 {
		t.Fatalf("connz peer certs %+v", connz.Conns)
	}
	nc.Close()

	if _, err := nats.Connect(s.ClientURL(), nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.Timeout(time.Second)); err == nil {
		t.Fatal("client without a certificate connected")
	}
	if _, err := nats.Connect(s.ClientURL(), nats.Secure(&tls.Config{RootCAs: p.caPool}),
		nats.ClientCert(p.otherClientCert, p.otherClientKey), nats.Timeout(time.Second)); err == nil {
		t.Fatal("client with a certificate of another CA connected")
	}
}

// TestTLSInfoVerifyAndAvailable proves INFO's tls_verify under verify and
// tls_available (not tls_required) under allow_non_tls, where plain and TLS clients
// both connect.
func TestTLSInfoVerifyAndAvailable(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, func(o *opts.Options) {
		p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.Verify = true })(o)
		o.AllowNonTLS = true
	})
	socket, err := net.Dial("tcp", s.ClientAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer socket.Close()
	_ = socket.SetDeadline(time.Now().Add(5 * time.Second))
	reader := bufio.NewReader(socket)
	info := readInfo(t, reader)
	if info.TLSRequired || !info.TLSAvailable || !info.TLSVerify {
		t.Fatalf("INFO TLS fields %+v", info)
	}
	if _, err := socket.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := reader.ReadString('\n'); err != nil || line != "PONG\r\n" {
		t.Fatalf("plain client under allow_non_tls got %q %v", line, err)
	}
	plain := connect(t, s)
	secure := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.ClientCert(p.clientCert, p.clientKey))
	for _, nc := range []*nats.Conn{plain, secure} {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := secure.TLSConnectionState(); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.TLSConnectionState(); err == nil {
		t.Fatal("plain client reports TLS")
	}
}

// TestTLSVerifyAndMap proves verify_and_map logs a client in as the user its
// certificate names, without a password, and refuses certificates naming nobody.
func TestTLSVerifyAndMap(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, func(o *opts.Options) {
		p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.Verify, tc.Map = true, true })(o)
		o.Users = []*opts.User{{Username: "alice@example.com"}, {Username: "bob", Password: "secret"}}
	})
	nc := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.ClientCert(p.clientCert, p.clientKey))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	connz, _ := s.Connz(ConnzOptions{Auth: true})
	if len(connz.Conns) != 1 || connz.Conns[0].AuthorizedUser != "alice@example.com" {
		t.Fatalf("connz %+v", connz.Conns)
	}
	nc.Close()

	s2 := startTestServer(t, func(o *opts.Options) {
		p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.Verify, tc.Map = true, true })(o)
		o.Users = []*opts.User{{Username: "bob", Password: "secret"}}
	})
	if _, err := nats.Connect(s2.ClientURL(), nats.Secure(&tls.Config{RootCAs: p.caPool}),
		nats.ClientCert(p.clientCert, p.clientKey), nats.UserInfo("bob", "secret"), nats.Timeout(time.Second)); err == nil {
		t.Fatal("a certificate naming no user logged in")
	}
}

// TestTLSConfigErrors proves bad TLS options fail New with the reference's texts.
func TestTLSConfigErrors(t *testing.T) {
	p := newTestPKI(t)
	cases := []struct {
		name  string
		tc    opts.TLSConfigOpts
		error string
	}{
		{"no key", opts.TLSConfigOpts{CertFile: p.serverCert}, "missing 'key_file'"},
		{"no cert", opts.TLSConfigOpts{KeyFile: p.serverKey}, "missing 'cert_file'"},
		{"missing file", opts.TLSConfigOpts{CertFile: p.dir + "/nope.pem", KeyFile: p.serverKey}, "error parsing X509 certificate/key pair"},
		{"mismatched key", opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.clientKey}, "error parsing X509 certificate/key pair"},
		{"bad ca", opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, CaFile: p.serverKey}, "failed to parse root ca certificate"},
		{"bad cipher", opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, Ciphers: []string{"NOPE"}}, "unrecognized cipher"},
		{"bad curve", opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, CurvePreferences: []string{"NOPE"}}, "unrecognized curve"},
		{"old version", opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, MinVersion: "1.1"}, "unsupported minimum TLS version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := opts.Default()
			config := tc.tc
			o.TLSConfig = &config
			_, err := New(osEnvForTests(), o, nil)
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Fatalf("got %v, want %q", err, tc.error)
			}
		})
	}
	o := opts.Default()
	o.TLS, o.TLSCert = true, p.serverCert
	if _, err := New(osEnvForTests(), o, nil); err == nil || !strings.Contains(err.Error(), "private key must be present") {
		t.Fatalf("flags without a key: %v", err)
	}
}

// TestTLSCipherAndCurveOptions proves configured cipher suites and curves are the
// ones offered, and min_version 1.3 refuses TLS 1.2 clients.
func TestTLSCipherAndCurveOptions(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) {
		tc.Ciphers = []string{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}
		tc.CurvePreferences = []string{"CurveP384"}
	}))
	nc := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool, MaxVersion: tls.VersionTLS12}))
	state, err := nc.TLSConnectionState()
	if err != nil || state.Version != tls.VersionTLS12 || state.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305 {
		t.Fatalf("state %x %x %v", state.Version, state.CipherSuite, err)
	}
	connz, _ := s.Connz(ConnzOptions{})
	if connz.Conns[0].TLSVersion != "1.2" || connz.Conns[0].TLSCipher != "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" {
		t.Fatalf("connz %+v", connz.Conns[0])
	}

	s13 := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.MinVersion = "1.3" }))
	if _, err := nats.Connect(s13.ClientURL(), nats.Secure(&tls.Config{RootCAs: p.caPool, MaxVersion: tls.VersionTLS12}), nats.Timeout(time.Second)); err == nil {
		t.Fatal("TLS 1.2 client connected to a min_version 1.3 server")
	}
}

// waitNoClients waits for the server to have no open connection.
func waitNoClients(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.NumClients() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open", s.NumClients())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTLSReload proves a reload that turns verify on applies to new connections while
// the connection made before it stays up.
func TestTLSReload(t *testing.T) {
	p := newTestPKI(t)
	configure := p.tlsOptions(nil)
	s := startTestServer(t, configure)
	before := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}))
	o := s.Options()
	tc := *o.TLSConfig
	tc.Verify = true
	o.TLSConfig, o.TLSVerify = &tc, true
	if err := s.Reload(&o); err != nil {
		t.Fatal(err)
	}
	if err := before.Flush(); err != nil {
		t.Fatalf("connection made before the reload: %v", err)
	}
	if _, err := nats.Connect(s.ClientURL(), nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.Timeout(time.Second)); err == nil {
		t.Fatal("client without a certificate connected after verify was turned on")
	}
	after := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.ClientCert(p.clientCert, p.clientKey))
	if err := after.Flush(); err != nil {
		t.Fatal(err)
	}
	if info := s.Varz(); !info.TLSVerify {
		t.Fatal("varz does not show tls_verify after the reload")
	}
}

// spkiDigest returns the pinned_certs form of a certificate file's public key.
func spkiDigest(t *testing.T, certFile string) string {
	t.Helper()
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	certificate, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(certificate.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(digest[:])
}

// TestTLSPinnedCerts proves pinned_certs admits only client certificates whose public
// key is pinned.
func TestTLSPinnedCerts(t *testing.T) {
	p := newTestPKI(t)
	pinned := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) {
		tc.Verify, tc.PinnedCerts = true, []string{strings.ToUpper(spkiDigest(t, p.clientCert))}
	}))
	nc := connect(t, pinned, nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.ClientCert(p.clientCert, p.clientKey))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	other := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) {
		tc.Verify, tc.PinnedCerts = true, []string{spkiDigest(t, p.serverCert)}
	}))
	if _, err := nats.Connect(other.ClientURL(), nats.Secure(&tls.Config{RootCAs: p.caPool}),
		nats.ClientCert(p.clientCert, p.clientKey), nats.Timeout(time.Second)); err == nil {
		t.Fatal("a certificate that is not pinned connected")
	}
	if reason := closedReason(t, other); reason != reasonTLSHandshakeError {
		t.Fatalf("reason %q", reason)
	}
}

// TestBuildTLSConfigDefaults proves the configuration built from a minimal tls block
// has the reference's defaults and leaves the randomness to the network.
func TestBuildTLSConfigDefaults(t *testing.T) {
	p := newTestPKI(t)
	config, err := buildTLSConfig(osEnvForTests().FS, &opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey})
	if err != nil {
		t.Fatal(err)
	}
	if config.MinVersion != tls.VersionTLS12 || config.ClientAuth != tls.NoClientCert || config.ClientCAs != nil || config.Rand != nil {
		t.Fatalf("defaults %+v", config)
	}
	if len(config.CipherSuites) != len(tls.CipherSuites()) || len(config.CurvePreferences) != 7 ||
		config.CurvePreferences[0] != tls.X25519MLKEM768 || config.CurvePreferences[3] != tls.X25519 {
		t.Fatalf("suites %v curves %v", config.CipherSuites, config.CurvePreferences)
	}
	verified, err := buildTLSConfig(osEnvForTests().FS, &opts.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, CaFile: p.caFile, Verify: true, MinVersion: "1.3"})
	if err != nil {
		t.Fatal(err)
	}
	if verified.ClientAuth != tls.RequireAndVerifyClientCert || verified.ClientCAs == nil || verified.MinVersion != tls.VersionTLS13 {
		t.Fatalf("verify %+v", verified)
	}
}

// TestCertificateUser proves verify_and_map's lookup order: email addresses, DNS
// names, URIs, then the subject's distinguished name.
func TestCertificateUser(t *testing.T) {
	users := map[string]*authUser{}
	for _, name := range []string{"a@example.com", "host.example.com", "spiffe://example.com/svc", "CN=carol,O=natsim"} {
		users[name] = &authUser{name: name}
	}
	users["denied@example.com"] = &authUser{name: "denied@example.com", connectionTypes: map[string]struct{}{"WEBSOCKET": {}}}
	auth := &authConfig{users: users}
	spiffe, _ := url.Parse("spiffe://example.com/svc")
	cases := []struct {
		name        string
		certificate *x509.Certificate
		want        string
	}{
		{"email first", &x509.Certificate{EmailAddresses: []string{"a@example.com"}, DNSNames: []string{"host.example.com"}}, "a@example.com"},
		{"dns", &x509.Certificate{EmailAddresses: []string{"nobody@example.com"}, DNSNames: []string{"host.example.com"}}, "host.example.com"},
		{"uri", &x509.Certificate{URIs: []*url.URL{spiffe}}, "spiffe://example.com/svc"},
		{"subject", &x509.Certificate{Subject: pkix.Name{CommonName: "carol", Organization: []string{"natsim"}}}, "CN=carol,O=natsim"},
		{"connection type", &x509.Certificate{EmailAddresses: []string{"denied@example.com"}}, ""},
		{"nobody", &x509.Certificate{Subject: pkix.Name{CommonName: "dave"}}, ""},
	}
	for _, tc := range cases {
		user := auth.certificateUser(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{tc.certificate}})
		got := ""
		if user != nil {
			got = user.name
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if auth.certificateUser(nil) != nil || auth.certificateUser(&tls.ConnectionState{}) != nil {
		t.Error("a connection without a certificate mapped to a user")
	}
}

// TestTLSHandshakeFirstFallbackAllowNonTLS proves that after the fallback delay an
// allow_non_tls server advertises TLS as available and lets a plain client in, while
// a TLS-first client still gets TLS.
func TestTLSHandshakeFirstFallbackAllowNonTLS(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, func(o *opts.Options) {
		p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.HandshakeFirst, tc.FallbackDelay = true, 50*time.Millisecond })(o)
		o.AllowNonTLS = true
	})
	plain := connect(t, s)
	if err := plain.Flush(); err != nil {
		t.Fatal(err)
	}
	if plain.TLSRequired() {
		t.Fatal("plain client was told TLS is required")
	}
	if _, err := plain.TLSConnectionState(); err == nil {
		t.Fatal("plain client reports TLS")
	}
	first := connect(t, s, nats.Secure(&tls.Config{RootCAs: p.caPool}), nats.TLSHandshakeFirst())
	if state, err := first.TLSConnectionState(); err != nil || !state.HandshakeComplete {
		t.Fatalf("TLS-first client not secured: %v", err)
	}
}

// TestTLSConnectionRateLimit proves tls connection_rate_limit lets that many TLS
// connections in per second and refuses the next one after INFO with the reference's
// "Connection throttling is active" error, closing it.
func TestTLSConnectionRateLimit(t *testing.T) {
	p := newTestPKI(t)
	s := startTestServer(t, p.tlsOptions(func(tc *opts.TLSConfigOpts) { tc.RateLimit = 2 }))
	var lines []string
	for range 3 {
		socket, err := net.Dial("tcp", s.ClientAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer socket.Close()
		_ = socket.SetDeadline(time.Now().Add(5 * time.Second))
		reader := bufio.NewReader(socket)
		readInfo(t, reader)
		// The admitted connections wait for a TLS handshake; the refused one gets
		// the error at once.
		_ = socket.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		line, _ := reader.ReadString('\n')
		lines = append(lines, line)
	}
	if lines[0] != "" || lines[1] != "" || lines[2] != "-ERR 'Connection throttling is active. Please try again later.'\r\n" {
		t.Fatalf("got %q", lines)
	}
}
