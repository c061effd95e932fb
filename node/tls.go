package node

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
)

// reasonTLSHandshakeError is the reference's close reason for a failed or timed out
// handshake (and for a client that never starts one).
const reasonTLSHandshakeError = "TLS Handshake Failure"

// errTLSRequired is the -ERR a client gets when it does not upgrade to TLS in time or
// speaks plain text to a listener that requires TLS.
const errTLSRequired = "Secure Connection - TLS Required"

// tlsFileBytesMax bounds a certificate, key or CA file read from the configuration.
const tlsFileBytesMax = 4 << 20

// defaultCurvePreferences are the reference's key exchange preferences: hybrid
// post-quantum groups first, then X25519 and the NIST curves.
func defaultCurvePreferences() []tls.CurveID {
	return []tls.CurveID{
		tls.X25519MLKEM768, tls.SecP384r1MLKEM1024, tls.SecP256r1MLKEM768,
		tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521,
	}
}

// curvesByName are the curve_preferences names the reference accepts.
var curvesByName = map[string]tls.CurveID{
	"SecP384r1MLKEM1024": tls.SecP384r1MLKEM1024,
	"SecP256r1MLKEM768":  tls.SecP256r1MLKEM768,
	"X25519MLKEM768":     tls.X25519MLKEM768,
	"X25519":             tls.X25519,
	"CurveP256":          tls.CurveP256,
	"CurveP384":          tls.CurveP384,
	"CurveP521":          tls.CurveP521,
}

// defaultCipherSuites are the secure suites of crypto/tls, as the reference's default
// (TLS 1.3 suites are not configurable and always on).
func defaultCipherSuites() []uint16 {
	suites := tls.CipherSuites()
	ids := make([]uint16, 0, len(suites))
	for _, suite := range suites {
		ids = append(ids, suite.ID)
	}
	return ids
}

// cipherSuiteByName finds a cipher_suites name among the secure and insecure suites
// crypto/tls knows, as the reference accepts both.
func cipherSuiteByName(name string) (uint16, bool) {
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, suite := range list {
			if suite.Name == name {
				return suite.ID, true
			}
		}
	}
	return 0, false
}

// buildTLSConfig turns a tls block into a server-side crypto/tls configuration, reading
// the certificate, key and CA files through fs. The configuration leaves Rand unset:
// the network that runs the handshake (env/osenv) supplies the randomness.
func buildTLSConfig(fs env.FS, tc *opts.TLSConfigOpts) (*tls.Config, error) {
	config := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		CipherSuites:       defaultCipherSuites(),
		CurvePreferences:   defaultCurvePreferences(),
		InsecureSkipVerify: tc.Insecure,
	}
	if len(tc.Ciphers) > 0 {
		config.CipherSuites = config.CipherSuites[:0]
		for _, name := range tc.Ciphers {
			id, ok := cipherSuiteByName(name)
			if !ok {
				return nil, fmt.Errorf("unrecognized cipher %s", name)
			}
			config.CipherSuites = append(config.CipherSuites, id)
		}
	}
	if len(tc.CurvePreferences) > 0 {
		config.CurvePreferences = config.CurvePreferences[:0]
		for _, name := range tc.CurvePreferences {
			id, ok := curvesByName[name]
			if !ok {
				return nil, fmt.Errorf("unrecognized curve preference %s", name)
			}
			config.CurvePreferences = append(config.CurvePreferences, id)
		}
	}
	switch {
	case tc.CertFile != "" && tc.KeyFile == "":
		return nil, errors.New("missing 'key_file' in TLS configuration")
	case tc.CertFile == "" && tc.KeyFile != "":
		return nil, errors.New("missing 'cert_file' in TLS configuration")
	case tc.CertFile == "":
		return nil, errors.New("TLS Server certificate must be present and valid")
	}
	certPEM, err := readWholeFile(fs, tc.CertFile)
	if err != nil {
		return nil, fmt.Errorf("error parsing X509 certificate/key pair: %w", err)
	}
	keyPEM, err := readWholeFile(fs, tc.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("error parsing X509 certificate/key pair: %w", err)
	}
	certificate, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("error parsing X509 certificate/key pair: %w", err)
	}
	config.Certificates = []tls.Certificate{certificate}
	if tc.Verify {
		config.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if tc.CaFile != "" {
		caPEM, err := readWholeFile(fs, tc.CaFile)
		if err != nil {
			return nil, fmt.Errorf("error reading ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("failed to parse root ca certificate")
		}
		config.ClientCAs = pool
	}
	switch tc.MinVersion {
	case "", "1.2":
	case "1.3":
		config.MinVersion = tls.VersionTLS13
	case "1.0", "1.1":
		return nil, fmt.Errorf("unsupported minimum TLS version: TLS %s", tc.MinVersion)
	default:
		return nil, fmt.Errorf("unknown version: %s", tc.MinVersion)
	}
	return config, nil
}

// readWholeFile reads a small configuration file through the env's file system.
func readWholeFile(fs env.FS, name string) ([]byte, error) {
	file, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = file.Close() }()
	size, err := file.Size()
	if err != nil {
		return nil, err
	}
	if size > tlsFileBytesMax {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, tlsFileBytesMax)
	}
	data := make([]byte, size)
	n, err := file.ReadAt(data, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, err
	}
	return data[:n], nil
}

// tlsVersionName is the reference's /connz spelling of a TLS version.
func tlsVersionName(version uint16) string {
	switch version {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("Unknown [0x%x]", version)
}

// TLSPeerCert is one certificate the client presented, as /connz shows it.
type TLSPeerCert struct {
	Subject          string `json:"subject,omitempty"`
	SubjectPKISha256 string `json:"spki_sha256,omitempty"`
	CertSha256       string `json:"cert_sha256,omitempty"`
}

// peerCertificates describes the client's certificate chain for /connz.
func peerCertificates(certificates []*x509.Certificate) []*TLSPeerCert {
	if len(certificates) == 0 {
		return nil
	}
	described := make([]*TLSPeerCert, len(certificates))
	for i, certificate := range certificates {
		keyHash := sha256.Sum256(certificate.RawSubjectPublicKeyInfo)
		certHash := sha256.Sum256(certificate.Raw)
		described[i] = &TLSPeerCert{
			Subject:          certificate.Subject.String(),
			SubjectPKISha256: hex.EncodeToString(keyHash[:]),
			CertSha256:       hex.EncodeToString(certHash[:]),
		}
	}
	return described
}

// certificateUser finds the user a verify_and_map client certificate names: an email
// address, a DNS name or a URI of the certificate, else its subject's distinguished
// name ("CN=...,O=..."), looked up among the users in turn.
func (a *authConfig) certificateUser(state *tls.ConnectionState) *authUser {
	if state == nil || len(state.PeerCertificates) == 0 {
		return nil
	}
	certificate := state.PeerCertificates[0]
	candidates := make([]string, 0, len(certificate.EmailAddresses)+len(certificate.DNSNames)+len(certificate.URIs)+1)
	candidates = append(candidates, certificate.EmailAddresses...)
	candidates = append(candidates, certificate.DNSNames...)
	for _, uri := range certificate.URIs {
		candidates = append(candidates, uri.String())
	}
	candidates = append(candidates, certificate.Subject.ToRDNSequence().String())
	for _, name := range candidates {
		if user := a.users[name]; user != nil && user.allowsStandard() {
			return user
		}
	}
	return nil
}

// clientTLS is what the server needs to know to secure a new client connection.
type clientTLS struct {
	config *tls.Config
	// timeout bounds the handshake.
	timeout time.Duration
	// optional: allow_non_tls, the client may stay in plain text.
	optional bool
	// handshakeFirst: the handshake comes before INFO; fallback, when positive, is
	// how long to wait for the client's handshake before sending INFO anyway.
	handshakeFirst bool
	fallback       time.Duration
	// pinned holds the pinned_certs: hex SHA-256 digests of the subject public key
	// info one of which the client's certificate must carry (nil: any).
	pinned map[string]struct{}
}

// clientTLSLocked returns the TLS settings for a new connection, nil without TLS.
func (s *Server) clientTLSLocked() *clientTLS {
	if s.tlsConfig == nil {
		return nil
	}
	o := s.options
	settings := &clientTLS{
		config:         s.tlsConfig,
		timeout:        time.Duration(o.TLSTimeout * float64(time.Second)),
		optional:       o.AllowNonTLS,
		handshakeFirst: o.TLSHandshakeFirst,
	}
	if o.TLSConfig != nil {
		settings.fallback = o.TLSConfig.FallbackDelay
		if len(o.TLSConfig.PinnedCerts) > 0 {
			settings.pinned = make(map[string]struct{}, len(o.TLSConfig.PinnedCerts))
			for _, pin := range o.TLSConfig.PinnedCerts {
				settings.pinned[strings.ToLower(pin)] = struct{}{}
			}
		}
	}
	return settings
}

// matchesPinnedCertificate reports whether the client's certificate is one of the
// pinned ones (always true without pinned_certs).
func matchesPinnedCertificate(state *tls.ConnectionState, pinned map[string]struct{}) bool {
	if pinned == nil {
		return true
	}
	if state == nil || len(state.PeerCertificates) == 0 {
		return false
	}
	digest := sha256.Sum256(state.PeerCertificates[0].RawSubjectPublicKeyInfo)
	_, ok := pinned[hex.EncodeToString(digest[:])]
	return ok
}

// isClientProbe reports whether a handshake error means the client spoke plain text
// or never started the handshake, the cases that get the plain-text -ERR.
func isClientProbe(err error) bool {
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return true
	}
	var recordError tls.RecordHeaderError
	return errors.As(err, &recordError) && recordError.Conn != nil
}

// startTLS runs the TLS handshake of a new connection; INFO (unless the handshake
// comes first) is already queued and flushed. When it is over the connection either
// proceeds (its timers armed and reading started) or is closed.
func (c *clientConn) startTLS(settings *clientTLS, info client.Info, fallbackDone bool) {
	starter, ok := c.conn.(env.TLSStarter)
	if !ok {
		c.server.logger.Errorf("%s:%d - cid:%d - TLS handshake error: this network does not support TLS", c.host, c.port, c.id)
		c.closeConnection(reasonTLSHandshakeError, errTLSRequired)
		return
	}
	options := env.TLSOptions{Server: true, Timeout: settings.timeout, Optional: settings.optional}
	handshakeFirst := settings.handshakeFirst && !fallbackDone
	waitingForFallback := handshakeFirst && settings.fallback > 0
	switch {
	case waitingForFallback:
		options.Optional, options.DecideWait = true, settings.fallback
	case handshakeFirst:
		// The client was told nothing yet, so it must be a TLS-first client.
		options.Optional = false
	}
	c.server.logger.Debugf("%s:%d - cid:%d - Starting TLS client connection handshake", c.host, c.port, c.id)
	starter.StartTLS(settings.config, options, func(state *tls.ConnectionState, err error) {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		switch {
		case closed:
			return
		case err != nil:
			errText := ""
			if isClientProbe(err) {
				errText = errTLSRequired
				c.server.logger.Debugf("%s:%d - cid:%d - TLS handshake error: %v", c.host, c.port, c.id, err)
			} else {
				c.server.logger.Errorf("%s:%d - cid:%d - TLS handshake error: %v", c.host, c.port, c.id, err)
			}
			c.closeConnection(reasonTLSHandshakeError, errText)
		case state == nil && waitingForFallback:
			// The client did not start the handshake within the fallback delay:
			// send INFO in plain text and go on as without handshake_first.
			c.queueInfo(info)
			c.startTLS(settings, info, true)
		case state == nil:
			// allow_non_tls and the client chose plain text.
			c.proceed()
		case !matchesPinnedCertificate(state, settings.pinned):
			c.server.logger.Errorf("%s:%d - cid:%d - TLS handshake error: certificate not pinned", c.host, c.port, c.id)
			c.closeConnection(reasonTLSHandshakeError, "")
		default:
			c.mu.Lock()
			c.tlsState = state
			c.tlsFirst = handshakeFirst
			c.mu.Unlock()
			if handshakeFirst {
				// A TLS-first client is told TLS is required even under allow_non_tls.
				info.TLSRequired = true
				c.queueInfo(info)
			}
			c.proceed()
		}
	})
}

// queueInfo sends the connection's first INFO.
func (c *clientConn) queueInfo(info client.Info) {
	infoJSON, _ := json.Marshal(info)
	c.mu.Lock()
	c.out = client.AppendInfo(c.out, infoJSON)
	c.mu.Unlock()
	c.flushOut()
}

// serverTLSConfig builds the client listener's TLS configuration from the options
// (nil without TLS). The --tls flags without a tls block are folded into one here for
// options built in code; node/opts does the same for the command line.
func serverTLSConfig(fs env.FS, o *opts.Options) (*tls.Config, error) {
	if o.TLSConfig == nil && (o.TLS || o.TLSVerify || o.TLSCert != "" || o.TLSKey != "") {
		if o.TLSCert == "" {
			return nil, errors.New("TLS Server certificate must be present and valid")
		}
		if o.TLSKey == "" {
			return nil, errors.New("TLS Server private key must be present and valid")
		}
		o.TLSConfig = &opts.TLSConfigOpts{CertFile: o.TLSCert, KeyFile: o.TLSKey, CaFile: o.TLSCaCert, Verify: o.TLSVerify}
	}
	if o.TLSConfig == nil {
		return nil, nil
	}
	if fs == nil {
		return nil, errors.New("tls: the environment has no file system to read certificates from")
	}
	config, err := buildTLSConfig(fs, o.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return config, nil
}

// authenticate checks a CONNECT's credentials or, under verify_and_map, the client
// certificate, which then names the user in place of a password.
func (c *clientConn) authenticate(auth *authConfig, options *client.ConnectOptions, nonce string, tlsMap bool) *authUser {
	if tlsMap && options.Nkey == "" && len(auth.users) > 0 {
		c.mu.Lock()
		state := c.tlsState
		c.mu.Unlock()
		return auth.certificateUser(state)
	}
	return auth.authenticate(options, nonce, c.host)
}

// logTLSMode logs the reference's startup lines about client TLS.
func (s *Server) logTLSMode(o *opts.Options) {
	if o.TLSConfig == nil {
		return
	}
	// handshake_first without a fallback requires the handshake whatever
	// allow_non_tls says.
	handshakeFirstOnly := o.TLSHandshakeFirst && o.TLSConfig.FallbackDelay <= 0
	if o.AllowNonTLS && !handshakeFirstOnly {
		s.logger.Noticef("TLS available for client connections")
	} else {
		s.logger.Noticef("TLS required for client connections")
	}
	if handshakeFirstOnly {
		s.logger.Warnf("Clients that are not using \"TLS Handshake First\" option will fail to connect")
	}
}
