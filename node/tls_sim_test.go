package node_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/sim"
	"github.com/natsim/natsim/sim/simfs"
)

// selfSignedPEM returns a self-signed certificate and its key, PEM encoded.
func selfSignedPEM(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func writeSimFile(t *testing.T, fs env.FS, name string, data []byte) {
	t.Helper()
	file, err := fs.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	_ = file.Close()
}

// TestSimulatedTLSRefused proves that a TLS server on the simulated network, whose
// connections cannot upgrade, starts (certificates come from the simulated disk),
// and refuses each client with the TLS -ERR instead of failing otherwise.
func TestSimulatedTLSRefused(t *testing.T) {
	certPEM, keyPEM := selfSignedPEM(t)
	world := sim.NewWorld(sim.Config{
		Seed:      7,
		Latency:   sim.LatencyModel{Kind: sim.LatencyUniform, Min: time.Millisecond, Max: 5 * time.Millisecond},
		EventsMax: 1_000_000,
	}, sim.Options{NewDisk: func(process string, rnd env.Rand) sim.Disk {
		return simfs.New(rnd, simfs.Config{Name: process})
	}})
	world.Spawn("server", sim.ProcessOptions{}, func(e env.Env) any {
		writeSimFile(t, e.FS, "server-cert.pem", certPEM)
		writeSimFile(t, e.FS, "server-key.pem", keyPEM)
		o := opts.Default()
		o.Host, o.Port = "", 4222
		o.TLS = true
		o.TLSConfig = &opts.TLSConfigOpts{CertFile: "server-cert.pem", KeyFile: "server-key.pem"}
		s, err := node.New(e, o, nil)
		if err != nil {
			t.Errorf("new: %v", err)
			return nil
		}
		if err := s.Start(); err != nil {
			t.Errorf("start: %v", err)
		}
		return s
	})
	recorded := &simClient{}
	world.Spawn("client", sim.ProcessOptions{}, func(e env.Env) any {
		e.Clock.AfterFunc(10*time.Millisecond, func() {
			e.Net.Dial("server:4222", func(conn env.Conn, err error) {
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				recorded.conn = conn
				conn.Start(recorded)
			})
		})
		return nil
	})
	if world.RunUntil(time.Second, 1_000_000) {
		t.Fatal("event budget exhausted")
	}
	got := recorded.data.String()
	if !strings.Contains(got, `"tls_required":true`) || !strings.HasSuffix(got, "-ERR 'Secure Connection - TLS Required'\r\n") || !recorded.closed {
		t.Fatalf("client got %q (closed %v)", got, recorded.closed)
	}
}
