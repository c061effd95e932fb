package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node/opts"
)

// operatorFixture is an operator with accounts and a way to sign users for them.
type operatorFixture struct {
	t        *testing.T
	operator nkeys.KeyPair
	opPub    string
	accounts map[string]nkeys.KeyPair
	claims   map[string]*jwt.AccountClaims
}

func newOperatorFixture(t *testing.T) *operatorFixture {
	op, _ := nkeys.CreateOperator()
	pub, _ := op.PublicKey()
	return &operatorFixture{t: t, operator: op, opPub: pub, accounts: map[string]nkeys.KeyPair{}, claims: map[string]*jwt.AccountClaims{}}
}

// account creates an account key and claims (unlimited connections, no JetStream);
// edit the claims before preloads encodes them.
func (f *operatorFixture) account(name string) (string, *jwt.AccountClaims) {
	kp, _ := nkeys.CreateAccount()
	pub, _ := kp.PublicKey()
	claims := jwt.NewAccountClaims(pub)
	claims.Name = name
	f.accounts[name], f.claims[name] = kp, claims
	return pub, claims
}

// preloads signs every account with the operator key (or signer, when given).
func (f *operatorFixture) preloads(signer nkeys.KeyPair) map[string]string {
	if signer == nil {
		signer = f.operator
	}
	out := make(map[string]string)
	for _, claims := range f.claims {
		token, err := claims.Encode(signer)
		if err != nil {
			f.t.Fatal(err)
		}
		out[claims.Subject] = token
	}
	return out
}

// user signs a user JWT for an account (with the account key, or signer) and returns
// it with the user's key pair.
func (f *operatorFixture) user(account string, edit func(*jwt.UserClaims), signer nkeys.KeyPair) (string, nkeys.KeyPair) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	claims := jwt.NewUserClaims(pub)
	if signer == nil {
		signer = f.accounts[account]
	} else {
		claims.IssuerAccount = f.claims[account].Subject
	}
	if edit != nil {
		edit(claims)
	}
	token, err := claims.Encode(signer)
	if err != nil {
		f.t.Fatal(err)
	}
	return token, kp
}

// credentials is the nats.go option that logs in with a user JWT and key.
func credentials(token string, kp nkeys.KeyPair) nats.Option {
	return nats.UserJWT(func() (string, error) { return token, nil }, func(nonce []byte) ([]byte, error) { return kp.Sign(nonce) })
}

func (f *operatorFixture) start(configure func(*opts.Options)) *Server {
	preloads := f.preloads(nil)
	return startTestServer(f.t, func(o *opts.Options) {
		o.TrustedKeys = []string{f.opPub}
		o.AccountResolver = &opts.ResolverOpts{Type: "MEMORY"}
		o.ResolverPreloads = preloads
		if configure != nil {
			configure(o)
		}
	})
}

func wantAuthViolation(t *testing.T, s *Server, what string, options ...nats.Option) {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), append(options, nats.NoReconnect())...)
	if err == nil {
		nc.Close()
		t.Fatalf("%s: connected", what)
	}
	if !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("%s: %v, want Authorization Violation", what, err)
	}
}

// TestOperatorModeAuthentication proves operator mode (trusted_keys, MEMORY resolver,
// resolver_preload): a user JWT signed by its account, with the nonce signed by the
// user, logs in to that account; everything the reference refuses is refused with
// "Authorization Violation": no credentials, a JWT without a signature, a signature
// by another key, an expired or not yet valid JWT, an unknown account, a signing key
// the account does not list, a revoked user, a bearer token where the account
// disallows them, configured users, and restrictions this server cannot check.
func TestOperatorModeAuthentication(t *testing.T) {
	f := newOperatorFixture(t)
	accountA, claimsA := f.account("A")
	signing, _ := nkeys.CreateAccount()
	signingPub, _ := signing.PublicKey()
	claimsA.SigningKeys.Add(signingPub)
	f.account("B")
	revokedToken, revokedKey := f.user("A", nil, nil)
	revokedClaims, _ := jwt.DecodeUserClaims(revokedToken)
	claimsA.RevokeAt(revokedClaims.Subject, time.Now().Add(time.Minute))
	_, claimsNoBearer := f.account("NoBearer")
	claimsNoBearer.Limits.DisallowBearer = true
	s := f.start(func(o *opts.Options) {
		o.Users = []*opts.User{{Username: "alice", Password: "pw"}}
	})

	token, key := f.user("A", nil, nil)
	nc := connect(t, s, credentials(token, key))
	sub, err := nc.SubscribeSync("greet")
	if err != nil {
		t.Fatal(err)
	}
	tokenB, keyB := f.user("B", nil, nil)
	ncB := connect(t, s, credentials(tokenB, keyB))
	if err := ncB.Publish("greet", []byte("from B")); err != nil {
		t.Fatal(err)
	}
	ncB.Flush()
	if err := nc.Publish("greet", []byte("from A")); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(2 * time.Second); err != nil || string(msg.Data) != "from A" {
		t.Fatalf("in account A: %v %v (accounts must be isolated)", msg, err)
	}
	s.mu.Lock()
	var bound string
	for _, c := range s.clients {
		if c.user != nil && c.user.nkey == mustUserPub(key) {
			bound = c.account.Name
		}
	}
	s.mu.Unlock()
	if bound != accountA {
		t.Fatalf("user bound to account %q, want %q", bound, accountA)
	}

	// /connz with auth shows the JWT login: the JWT, its issuer, the account JWT's
	// name and the user's tags; without auth, none of it.
	for _, auth := range []bool{true, false} {
		connz, err := s.Connz(ConnzOptions{Auth: auth})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, info := range connz.Conns {
			if auth && info.AuthorizedUser == mustUserPub(key) {
				found = info.JWT == token && info.IssuerKey == accountA && info.NameTag == "A" && info.Account == accountA
			}
			if !auth && (info.JWT != "" || info.IssuerKey != "" || info.NameTag != "" || info.AuthorizedUser != "") {
				t.Fatalf("/connz without auth shows %+v", info)
			}
		}
		if auth && !found {
			t.Fatalf("/connz?auth=1 does not show the JWT login: %+v", connz.Conns)
		}
	}

	// Signed by the account's signing key, with issuer_account.
	signed, signedKey := f.user("A", nil, signing)
	connect(t, s, credentials(signed, signedKey)).Close()
	// A bearer token needs no signature.
	bearer, _ := f.user("A", func(c *jwt.UserClaims) { c.BearerToken = true }, nil)
	connect(t, s, nats.UserJWT(func() (string, error) { return bearer, nil }, func([]byte) ([]byte, error) { return nil, nil })).Close()

	wantAuthViolation(t, s, "no credentials")
	wantAuthViolation(t, s, "configured user", nats.UserInfo("alice", "pw"))
	wantAuthViolation(t, s, "JWT without a signature", nats.UserJWT(func() (string, error) { return token, nil }, func([]byte) ([]byte, error) { return nil, nil }))
	other, _ := nkeys.CreateUser()
	wantAuthViolation(t, s, "signature by another key", credentials(token, other))
	expired, expiredKey := f.user("A", func(c *jwt.UserClaims) { c.Expires = time.Now().Add(-time.Minute).Unix() }, nil)
	wantAuthViolation(t, s, "expired JWT", credentials(expired, expiredKey))
	early, earlyKey := f.user("A", func(c *jwt.UserClaims) { c.NotBefore = time.Now().Add(time.Hour).Unix() }, nil)
	wantAuthViolation(t, s, "JWT not yet valid", credentials(early, earlyKey))
	unlisted, _ := nkeys.CreateAccount()
	notListed, notListedKey := f.user("A", nil, unlisted)
	wantAuthViolation(t, s, "unlisted signing key", credentials(notListed, notListedKey))
	stranger, _ := nkeys.CreateAccount()
	strangerUser, _ := nkeys.CreateUser()
	strangerPub, _ := strangerUser.PublicKey()
	strangerToken, _ := jwt.NewUserClaims(strangerPub).Encode(stranger)
	wantAuthViolation(t, s, "unknown account", credentials(strangerToken, strangerUser))
	wantAuthViolation(t, s, "revoked user", credentials(revokedToken, revokedKey))
	noBearer, _ := f.user("NoBearer", func(c *jwt.UserClaims) { c.BearerToken = true }, nil)
	wantAuthViolation(t, s, "bearer token where disallowed", nats.UserJWT(func() (string, error) { return noBearer, nil }, func([]byte) ([]byte, error) { return nil, nil }))
	sourced, sourcedKey := f.user("A", func(c *jwt.UserClaims) { c.Src.Add("10.0.0.0/8") }, nil)
	wantAuthViolation(t, s, "source network restriction", credentials(sourced, sourcedKey))
}

func mustUserPub(kp nkeys.KeyPair) string {
	pub, _ := kp.PublicKey()
	return pub
}

// TestOperatorModePermissions proves a user JWT's permissions apply (a publish
// outside them gets the reference's -ERR and the connection stays), that users
// without permissions take the account's default permissions, and that a scoped
// signing key's template replaces the user's own.
func TestOperatorModePermissions(t *testing.T) {
	f := newOperatorFixture(t)
	_, claims := f.account("A")
	claims.DefaultPermissions.Sub.Deny.Add("secret.>")
	scopedKey, _ := nkeys.CreateAccount()
	scopedPub, _ := scopedKey.PublicKey()
	scope := jwt.NewUserScope()
	scope.Key = scopedPub
	scope.Template.Pub.Allow.Add("scoped.>")
	claims.SigningKeys.AddScopedSigner(scope)
	s := f.start(nil)

	errs := make(chan error, 10)
	onError := nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })
	token, key := f.user("A", func(c *jwt.UserClaims) { c.Pub.Allow.Add("foo") }, nil)
	nc := connect(t, s, credentials(token, key), onError)
	if err := nc.Publish("bar", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), `Permissions Violation for Publish to "bar"`) {
			t.Fatalf("error %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no permissions violation")
	}
	if err := nc.Publish("foo", nil); err != nil || nc.Flush() != nil || !nc.IsConnected() {
		t.Fatal("connection lost after a permissions violation")
	}

	plain, plainKey := f.user("A", nil, nil)
	nc2 := connect(t, s, credentials(plain, plainKey), onError)
	if _, err := nc2.SubscribeSync("secret.x"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), `Permissions Violation for Subscription to "secret.x"`) {
			t.Fatalf("error %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the account's default permissions did not apply")
	}

	scoped, scopedUser := f.user("A", func(c *jwt.UserClaims) { c.Pub.Allow.Add(">") }, scopedKey)
	nc3 := connect(t, s, credentials(scoped, scopedUser), onError)
	if err := nc3.Publish("elsewhere", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), `Permissions Violation for Publish to "elsewhere"`) {
			t.Fatalf("error %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the scope's template did not replace the user's permissions")
	}
}

// TestOperatorModeExpiry proves a connection whose user JWT expires is closed at the
// expiry with "User Authentication Expired" (nats.go's ErrAuthExpired), and that the
// client then reconnects with a fresh JWT.
func TestOperatorModeExpiry(t *testing.T) {
	f := newOperatorFixture(t)
	f.account("A")
	s := f.start(nil)
	key, _ := nkeys.CreateUser()
	pub, _ := key.PublicKey()
	fresh := func() (string, error) {
		claims := jwt.NewUserClaims(pub)
		claims.Expires = time.Now().Add(1500 * time.Millisecond).Unix()
		return claims.Encode(f.accounts["A"])
	}
	errs := make(chan error, 10)
	reconnected := make(chan struct{}, 10)
	nc := connect(t, s, nats.UserJWT(fresh, func(nonce []byte) ([]byte, error) { return key.Sign(nonce) }),
		nats.ReconnectWait(50*time.Millisecond),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrAuthExpired) {
			t.Fatalf("error %v, want %v", err, nats.ErrAuthExpired)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection outlived its JWT")
	}
	select {
	case <-reconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnect with a fresh JWT")
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestOperatorModeStartup proves how the trust configuration is read: preloaded
// accounts not signed by a trusted key or filed under another key are left out (the
// server starts; their users are refused), trusted keys without a resolver trust no
// account, an operator JWT given inline trusts its signing keys and names the system
// account, and the resolvers this server does not serve are refused at start.
func TestOperatorModeStartup(t *testing.T) {
	f := newOperatorFixture(t)
	f.account("A")
	_, claimsB := f.account("B")
	preloads := f.preloads(nil)
	rogue, _ := nkeys.CreateOperator()
	rogueToken, _ := claimsB.Encode(rogue)
	preloads[claimsB.Subject] = rogueToken
	// A's JWT filed under B's key too.
	swapped := map[string]string{}
	for k, v := range preloads {
		swapped[k] = v
	}
	s := startTestServer(t, func(o *opts.Options) {
		o.TrustedKeys = []string{f.opPub}
		o.AccountResolver = &opts.ResolverOpts{Type: "MEMORY"}
		o.ResolverPreloads = preloads
	})
	tokenA, keyA := f.user("A", nil, nil)
	connect(t, s, credentials(tokenA, keyA)).Close()
	tokenB, keyB := f.user("B", nil, nil)
	wantAuthViolation(t, s, "account signed by an untrusted operator", credentials(tokenB, keyB))

	swapped[claimsB.Subject] = preloads[f.claims["A"].Subject]
	s2 := startTestServer(t, func(o *opts.Options) {
		o.TrustedKeys = []string{f.opPub}
		o.AccountResolver = &opts.ResolverOpts{Type: "MEMORY"}
		o.ResolverPreloads = swapped
	})
	wantAuthViolation(t, s2, "account JWT filed under another key", credentials(tokenB, keyB))
	connect(t, s2, credentials(tokenA, keyA)).Close()

	s3 := startTestServer(t, func(o *opts.Options) { o.TrustedKeys = []string{f.opPub} })
	wantAuthViolation(t, s3, "no resolver", credentials(tokenA, keyA))

	// An operator JWT with a signing key that signs the accounts, and a system account.
	opSigning, _ := nkeys.CreateOperator()
	opSigningPub, _ := opSigning.PublicKey()
	sysPub, _ := f.account("SYS")
	operatorClaims := jwt.NewOperatorClaims(f.opPub)
	operatorClaims.SigningKeys.Add(opSigningPub)
	operatorClaims.SystemAccount = sysPub
	operatorToken, err := operatorClaims.Encode(f.operator)
	if err != nil {
		t.Fatal(err)
	}
	bySigningKey := f.preloads(opSigning)
	s4 := startTestServer(t, func(o *opts.Options) {
		o.TrustedOperators = []string{operatorToken}
		o.AccountResolver = &opts.ResolverOpts{Type: "MEMORY"}
		o.ResolverPreloads = bySigningKey
	})
	connect(t, s4, credentials(tokenA, keyA)).Close()
	if s4.systemAccount == nil || s4.systemAccount.Name != sysPub {
		t.Fatalf("system account %v, want the operator JWT's %s", s4.systemAccount, sysPub)
	}

	for _, resolver := range []*opts.ResolverOpts{{Type: "URL", URL: "http://127.0.0.1:1/jwt/v1/accounts/"}} {
		o := opts.Default()
		o.TrustedKeys = []string{f.opPub}
		o.AccountResolver = resolver
		if _, err := New(osenv.New(), o, nil); err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Fatalf("resolver %s: %v, want a refusal", resolver.Type, err)
		}
	}
	o := opts.Default()
	o.TrustedOperators = []string{operatorToken}
	if _, err := New(osenv.New(), o, nil); err == nil {
		t.Fatal("an operator JWT without a resolver started")
	}
}

// TestOperatorModeAccountJWTs proves what account JWTs carry: a service export and
// its import connect two accounts, a token-required stream export reaches only the
// account whose import carries a valid activation, connection limits hold, and
// JetStream is on exactly for the accounts whose limits enable it.
func TestOperatorModeAccountJWTs(t *testing.T) {
	f := newOperatorFixture(t)
	pubA, claimsA := f.account("A")
	pubB, claimsB := f.account("B")
	pubC, claimsC := f.account("C")
	claimsA.Exports.Add(&jwt.Export{Subject: "svc.>", Type: jwt.Service})
	claimsA.Exports.Add(&jwt.Export{Subject: "feed", Type: jwt.Stream, TokenReq: true})
	claimsB.Imports.Add(&jwt.Import{Account: pubA, Subject: "svc.>", Type: jwt.Service})
	activation := jwt.NewActivationClaims(pubB)
	activation.ImportSubject = "feed"
	activation.ImportType = jwt.Stream
	activationToken, err := activation.Encode(f.accounts["A"])
	if err != nil {
		t.Fatal(err)
	}
	claimsB.Imports.Add(&jwt.Import{Account: pubA, Subject: "feed", Type: jwt.Stream, Token: activationToken})
	claimsC.Imports.Add(&jwt.Import{Account: pubA, Subject: "feed", Type: jwt.Stream})
	claimsC.Limits.Conn = 1
	claimsB.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: 1 << 20, DiskStorage: 1 << 20, Streams: -1, Consumer: -1}
	s := f.start(func(o *opts.Options) {
		o.JetStream = true
		o.StoreDir = t.TempDir()
	})
	userA, keyA := f.user("A", nil, nil)
	userB, keyB := f.user("B", nil, nil)
	userC, keyC := f.user("C", nil, nil)
	ncA := connect(t, s, credentials(userA, keyA))
	ncB := connect(t, s, credentials(userB, keyB))
	ncC := connect(t, s, credentials(userC, keyC))

	if _, err := ncA.Subscribe("svc.echo", func(m *nats.Msg) { _ = m.Respond(append([]byte("echo "), m.Data...)) }); err != nil {
		t.Fatal(err)
	}
	ncA.Flush()
	if reply, err := ncB.Request("svc.echo", []byte("hi"), 2*time.Second); err != nil || string(reply.Data) != "echo hi" {
		t.Fatalf("service import: %v %v", reply, err)
	}

	feedB, _ := ncB.SubscribeSync("feed")
	feedC, _ := ncC.SubscribeSync("feed")
	ncB.Flush()
	ncC.Flush()
	if err := ncA.Publish("feed", []byte("news")); err != nil {
		t.Fatal(err)
	}
	if msg, err := feedB.NextMsg(2 * time.Second); err != nil || string(msg.Data) != "news" {
		t.Fatalf("activated import: %v %v", msg, err)
	}
	if msg, err := feedC.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("import without an activation got %q", msg.Data)
	}

	if nc, err := nats.Connect(s.ClientURL(), credentials(userC, keyC), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("a second connection to an account limited to one")
	} else if !strings.Contains(err.Error(), "maximum account active connections exceeded") {
		t.Fatalf("over the connection limit: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	jsB, _ := jetstream.New(ncB)
	if _, err := jsB.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatalf("JetStream in an account whose JWT enables it: %v", err)
	}
	jsA, _ := jetstream.New(ncA)
	if _, err := jsA.AccountInfo(ctx); !errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		t.Fatalf("JetStream in an account without JetStream limits: %v", err)
	}
	_ = pubC
}

// TestOperatorModeUserLimits proves a user JWT's restrictions and limits: source
// networks admit only addresses inside them, connect times admit only inside a window
// and close the connection when it ends ("User Authentication Expired"), and the
// subscription and payload limits hold with the reference's errors.
func TestOperatorModeUserLimits(t *testing.T) {
	f := newOperatorFixture(t)
	f.account("A")
	s := f.start(nil)

	local, localKey := f.user("A", func(c *jwt.UserClaims) { c.Src.Add("127.0.0.0/8") }, nil)
	connect(t, s, credentials(local, localKey)).Close()
	remote, remoteKey := f.user("A", func(c *jwt.UserClaims) { c.Src.Add("192.0.2.0/24") }, nil)
	wantAuthViolation(t, s, "address outside src", credentials(remote, remoteKey))

	now := time.Now().UTC()
	clock := func(t time.Time) string { return t.Format(time.TimeOnly) }
	closed, closedKey := f.user("A", func(c *jwt.UserClaims) {
		c.Locale = "UTC"
		c.Times = []jwt.TimeRange{{Start: clock(now.Add(-2 * time.Hour)), End: clock(now.Add(-time.Hour))}}
	}, nil)
	wantAuthViolation(t, s, "outside the connect times", credentials(closed, closedKey))
	if now.Add(3*time.Second).Day() == now.Day() && now.Add(-time.Hour).Day() == now.Day() {
		windowed, windowedKey := f.user("A", func(c *jwt.UserClaims) {
			c.Locale = "UTC"
			c.Times = []jwt.TimeRange{{Start: clock(now.Add(-time.Hour)), End: clock(now.Add(2 * time.Second))}}
		}, nil)
		errs := make(chan error, 4)
		connect(t, s, credentials(windowed, windowedKey), nats.NoReconnect(),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrAuthExpired) {
				t.Fatalf("at the end of the connect window: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the connection outlived its connect window")
		}
	}

	errs := make(chan error, 4)
	limited, limitedKey := f.user("A", func(c *jwt.UserClaims) { c.Limits.Subs = 1; c.Limits.Payload = 16 }, nil)
	nc := connect(t, s, credentials(limited, limitedKey), nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if _, err := nc.SubscribeSync("one"); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.SubscribeSync("two"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), "maximum subscriptions exceeded") {
			t.Fatalf("second subscription: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the user's subscription limit did not hold")
	}
	if err := nc.Publish("one", make([]byte, 16)); err != nil || nc.Flush() != nil {
		t.Fatalf("payload at the limit: %v", err)
	}
	_ = nc.Publish("one", make([]byte, 17))
	_ = nc.Flush()
	deadline := time.Now().Add(2 * time.Second)
	for !nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !nc.IsClosed() || nc.LastError() == nil || !strings.Contains(nc.LastError().Error(), "Maximum Payload Violation") {
		t.Fatalf("payload over the user's limit: closed %v, last error %v", nc.IsClosed(), nc.LastError())
	}
}

// claimsReply is a claims update or delete reply.
type claimsReply struct {
	Data *struct {
		Account string `json:"account"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"data"`
	Error *struct {
		Account     string `json:"account"`
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"error"`
}

func requestClaims(t *testing.T, nc *nats.Conn, subject string, body []byte) claimsReply {
	t.Helper()
	msg, err := nc.Request(subject, body, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var reply claimsReply
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		t.Fatalf("%s: %q: %v", subject, msg.Data, err)
	}
	return reply
}

// TestOperatorModeDirResolver proves the full directory resolver: preloads are stored
// in the directory at start; the system account's claims requests add an account
// (its users log in at once), look it up, list the stored accounts, and update
// accounts in place (a new export and import carry messages, JetStream turns on, a
// revocation closes the revoked user's connection) without a restart; an untrusted
// JWT is refused; a delete removes an account and closes its connections; and a
// restart loads what the directory holds.
func TestOperatorModeDirResolver(t *testing.T) {
	f := newOperatorFixture(t)
	sysPub, _ := f.account("SYS")
	preloads := f.preloads(nil)
	dir := t.TempDir() + "/jwt"
	configure := func(o *opts.Options) {
		o.TrustedKeys = []string{f.opPub}
		o.SystemAccount = sysPub
		o.AccountResolver = &opts.ResolverOpts{Type: "full", Dir: dir, AllowDelete: true}
		o.ResolverPreloads = preloads
		o.JetStream = true
		o.StoreDir = t.TempDir()
	}
	s := startTestServer(t, configure)
	if stored, err := readWholeFile(osenv.FS{}, dir+"/"+sysPub+".jwt"); err != nil || string(stored) != preloads[sysPub] {
		t.Fatalf("preload not stored in the directory: %v", err)
	}
	sysToken, sysKey := f.user("SYS", nil, nil)
	sys := connect(t, s, credentials(sysToken, sysKey))

	pubA, claimsA := f.account("A")
	pubB, claimsB := f.account("B")
	tokenA, _ := claimsA.Encode(f.operator)
	userA, keyA := f.user("A", nil, nil)
	wantAuthViolation(t, s, "account not pushed yet", credentials(userA, keyA))
	if reply := requestClaims(t, sys, "$SYS.REQ.CLAIMS.UPDATE", []byte(tokenA)); reply.Data == nil || reply.Data.Code != 200 || reply.Data.Message != "jwt updated" || reply.Data.Account != pubA {
		t.Fatalf("update A: %+v", reply)
	}
	ncA := connect(t, s, credentials(userA, keyA))
	if msg, err := sys.Request("$SYS.REQ.ACCOUNT."+pubA+".CLAIMS.LOOKUP", nil, 5*time.Second); err != nil || string(msg.Data) != tokenA {
		t.Fatalf("lookup A: %v %v", msg, err)
	}
	list, err := sys.Request("$SYS.REQ.CLAIMS.LIST", nil, 5*time.Second)
	if err != nil || !strings.Contains(string(list.Data), pubA) || !strings.Contains(string(list.Data), sysPub) {
		t.Fatalf("list: %v %v", list, err)
	}

	// A exports a service, B imports it and gets JetStream: both pushed while A's
	// user stays connected.
	claimsA.Exports.Add(&jwt.Export{Subject: "svc", Type: jwt.Service})
	tokenA, _ = claimsA.Encode(f.operator)
	claimsB.Imports.Add(&jwt.Import{Account: pubA, Subject: "svc", Type: jwt.Service})
	claimsB.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: 1 << 20, DiskStorage: 1 << 20, Streams: -1, Consumer: -1}
	tokenB, _ := claimsB.Encode(f.operator)
	for _, push := range []struct{ subject, token string }{{"$SYS.REQ.ACCOUNT." + pubA + ".CLAIMS.UPDATE", tokenA}, {"$SYS.REQ.CLAIMS.UPDATE", tokenB}} {
		if reply := requestClaims(t, sys, push.subject, []byte(push.token)); reply.Data == nil || reply.Data.Code != 200 {
			t.Fatalf("update on %s: %+v", push.subject, reply)
		}
	}
	if _, err := ncA.Subscribe("svc", func(m *nats.Msg) { _ = m.Respond([]byte("served")) }); err != nil {
		t.Fatal(err)
	}
	ncA.Flush()
	userB, keyB := f.user("B", nil, nil)
	ncB := connect(t, s, credentials(userB, keyB))
	if reply, err := ncB.Request("svc", nil, 2*time.Second); err != nil || string(reply.Data) != "served" {
		t.Fatalf("import pushed at run time: %v %v", reply, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	js, _ := jetstream.New(ncB)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatalf("JetStream pushed at run time: %v", err)
	}

	// The subject's account must be the JWT's; an untrusted JWT is refused.
	if reply := requestClaims(t, sys, "$SYS.REQ.ACCOUNT."+pubA+".CLAIMS.UPDATE", []byte(tokenB)); reply.Error == nil || reply.Data != nil {
		t.Fatalf("B's JWT on A's subject: %+v", reply)
	}
	rogue, _ := nkeys.CreateOperator()
	rogueToken, _ := claimsA.Encode(rogue)
	if reply := requestClaims(t, sys, "$SYS.REQ.CLAIMS.UPDATE", []byte(rogueToken)); reply.Error == nil {
		t.Fatalf("untrusted JWT: %+v", reply)
	}

	// An account not stored gets an empty lookup answer.
	unknown, _ := nkeys.CreateAccount()
	unknownPub, _ := unknown.PublicKey()
	if msg, err := sys.Request("$SYS.REQ.ACCOUNT."+unknownPub+".CLAIMS.LOOKUP", nil, 5*time.Second); err != nil || len(msg.Data) != 0 {
		t.Fatalf("lookup of an unknown account: %v %v", msg, err)
	}

	// Revoking A's user closes its connection with "User Authentication Revoked";
	// another user of A stays.
	otherA, otherKeyA := f.user("A", nil, nil)
	stays := connect(t, s, credentials(otherA, otherKeyA))
	revokedConn := rawConnect(t, s, userA, keyA)
	claimsA.Revoke(mustUserPub(keyA))
	tokenA, _ = claimsA.Encode(f.operator)
	if reply := requestClaims(t, sys, "$SYS.REQ.CLAIMS.UPDATE", []byte(tokenA)); reply.Data == nil || reply.Data.Code != 200 {
		t.Fatalf("revocation update: %+v", reply)
	}
	if got := revokedConn.untilClosed(); !strings.Contains(got, "-ERR 'User Authentication Revoked'") {
		t.Fatalf("revoked user got %q", got)
	}
	if err := stays.Flush(); err != nil {
		t.Fatalf("an unrevoked user of the account: %v", err)
	}

	// A restart loads the pushed accounts from the directory.
	s.Shutdown()
	s2 := startTestServer(t, configure)
	connect(t, s2, credentials(userB, keyB)).Close()
	sys2 := connect(t, s2, credentials(sysToken, sysKey))

	// Delete B: its connected user gets "Account Authentication Expired", and it is
	// refused from then on. Deleting the system account is refused.
	connB := rawConnect(t, s2, userB, keyB)
	deletion := jwt.NewGenericClaims(f.opPub)
	deletion.Data["accounts"] = []string{sysPub}
	deleteToken, _ := deletion.Encode(f.operator)
	if reply := requestClaims(t, sys2, "$SYS.REQ.CLAIMS.DELETE", []byte(deleteToken)); reply.Error == nil ||
		reply.Error.Description != "delete accounts request by "+f.opPub+" failed - not allowed to delete system account" {
		t.Fatalf("delete the system account: %+v", reply)
	}
	deletion.Data["accounts"] = []string{"../../outside"}
	deleteToken, _ = deletion.Encode(f.operator)
	if reply := requestClaims(t, sys2, "$SYS.REQ.CLAIMS.DELETE", []byte(deleteToken)); reply.Error == nil {
		t.Fatalf("delete of a path, not an account key: %+v", reply)
	}
	deletion.Data["accounts"] = []string{pubB}
	deleteToken, _ = deletion.Encode(f.operator)
	if reply := requestClaims(t, sys2, "$SYS.REQ.CLAIMS.DELETE", []byte(deleteToken)); reply.Data == nil || reply.Data.Code != 200 || reply.Data.Message != "deleted 1 accounts" {
		t.Fatalf("delete B: %+v", reply)
	}
	if got := connB.untilClosed(); !strings.Contains(got, "-ERR 'Account Authentication Expired'") {
		t.Fatalf("deleted account's user got %q", got)
	}
	wantAuthViolation(t, s2, "deleted account", credentials(userB, keyB))
	if _, err := readWholeFile(osenv.FS{}, dir+"/"+pubB+".jwt"); err == nil {
		t.Fatal("deleted account's JWT still stored")
	}
}

// rawConnect logs a user in over a plain TCP connection (see login).
func rawConnect(t *testing.T, s *Server, token string, key nkeys.KeyPair) *rawConn {
	t.Helper()
	r := dialRaw(t, s)
	r.login(token, key)
	return r
}

// connectLine builds a CONNECT for token, with the nonce of r's INFO signed by key.
func (r *rawConn) connectLine(token string, key nkeys.KeyPair) string {
	r.t.Helper()
	var info struct {
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(r.info, "INFO ")), &info); err != nil {
		r.t.Fatal(err)
	}
	sig, _ := key.Sign([]byte(info.Nonce))
	data, _ := json.Marshal(map[string]any{"jwt": token, "sig": base64.RawURLEncoding.EncodeToString(sig), "verbose": false, "protocol": 1})
	return "CONNECT " + string(data)
}

// login sends CONNECT with token and the nonce's signature, then PING, and returns
// once PONG came; an -ERR fails the test.
func (r *rawConn) login(token string, key nkeys.KeyPair) {
	r.t.Helper()
	r.send(r.connectLine(token, key) + "\r\nPING\r\n")
	for {
		line := r.line()
		if strings.HasPrefix(line, "PONG") {
			return
		}
		if strings.HasPrefix(line, "-ERR") {
			r.t.Fatalf("login: %q", line)
		}
	}
}

// untilClosed returns what the server sends until it closes the connection.
func (r *rawConn) untilClosed() string {
	r.t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	data, err := io.ReadAll(r.reader)
	if err != nil {
		r.t.Fatalf("connection not closed: read %q, %v", data, err)
	}
	return string(data)
}

// TestOperatorModeCacheResolver proves where the cache resolver differs from full, as
// in the reference: it updates only accounts it has loaded ("jwt updated cache",
// else "jwt update cache skipped" and nothing stored), answers no lookups, and
// deletes files outright.
func TestOperatorModeCacheResolver(t *testing.T) {
	f := newOperatorFixture(t)
	sysPub, _ := f.account("SYS")
	pubA, claimsA := f.account("A")
	preloads := f.preloads(nil)
	dir := t.TempDir() + "/jwt"
	s := startTestServer(t, func(o *opts.Options) {
		o.TrustedKeys = []string{f.opPub}
		o.SystemAccount = sysPub
		o.AccountResolver = &opts.ResolverOpts{Type: "cache", Dir: dir, AllowDelete: true}
		o.ResolverPreloads = preloads
	})
	sysToken, sysKey := f.user("SYS", nil, nil)
	sys := connect(t, s, credentials(sysToken, sysKey))

	pubB, claimsB := f.account("B")
	tokenB, _ := claimsB.Encode(f.operator)
	if reply := requestClaims(t, sys, "$SYS.REQ.CLAIMS.UPDATE", []byte(tokenB)); reply.Data == nil || reply.Data.Message != "jwt update cache skipped" {
		t.Fatalf("update of an account not loaded: %+v", reply)
	}
	if _, err := readWholeFile(osenv.FS{}, dir+"/"+pubB+".jwt"); err == nil {
		t.Fatal("a skipped update was stored")
	}
	claimsA.Limits.Conn = 5
	tokenA, _ := claimsA.Encode(f.operator)
	if reply := requestClaims(t, sys, "$SYS.REQ.CLAIMS.UPDATE", []byte(tokenA)); reply.Data == nil || reply.Data.Message != "jwt updated cache" {
		t.Fatalf("update of a loaded account: %+v", reply)
	}
	if _, err := sys.Request("$SYS.REQ.ACCOUNT."+pubA+".CLAIMS.LOOKUP", nil, time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("lookup on a cache resolver: %v, want no responders", err)
	}
	deletion := jwt.NewGenericClaims(f.opPub)
	deletion.Data["accounts"] = []string{pubA}
	deleteToken, _ := deletion.Encode(f.operator)
	if reply := requestClaims(t, sys, "$SYS.REQ.CLAIMS.DELETE", []byte(deleteToken)); reply.Data == nil || reply.Data.Code != 200 {
		t.Fatalf("delete A: %+v", reply)
	}
	names, _ := osenv.FS{}.ReadDir(dir)
	if fmt.Sprint(names) != fmt.Sprint([]string{sysPub + ".jwt"}) {
		t.Fatalf("after the delete the directory holds %v", names)
	}
}

// linesLogger collects log lines with their level.
type linesLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *linesLogger) add(level, format string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+fmt.Sprintf(format, args...))
}
func (l *linesLogger) Noticef(format string, args ...any) { l.add("[INF]", format, args) }
func (l *linesLogger) Warnf(format string, args ...any)   { l.add("[WRN]", format, args) }
func (l *linesLogger) Errorf(format string, args ...any)  { l.add("[ERR]", format, args) }
func (l *linesLogger) Debugf(string, ...any)              {}
func (l *linesLogger) Tracef(string, ...any)              {}

// TestOperatorModeStartupLog proves the reference's startup lines for a trusted
// operator JWT, and its warning when no system account is set.
func TestOperatorModeStartupLog(t *testing.T) {
	f := newOperatorFixture(t)
	operatorClaims := jwt.NewOperatorClaims(f.opPub)
	operatorClaims.Name = "OP"
	token, _ := operatorClaims.Encode(f.operator)
	issued, _ := jwt.DecodeOperatorClaims(token)
	logger := &linesLogger{}
	o := opts.Default()
	o.TrustedOperators = []string{token}
	o.AccountResolver = &opts.ResolverOpts{Type: "MEMORY"}
	if _, err := New(osenv.New(), o, logger); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[INF] Trusted Operators",
		`[INF]   System  : ""`,
		`[INF]   Operator: "OP"`,
		"[INF]   Issued  : " + time.Unix(issued.IssuedAt, 0).String(),
		"[INF]   Expires : Never",
		"[WRN] Trusted Operators should utilize a System Account",
	}
	got := strings.Join(logger.lines, "\n")
	if !strings.Contains(got, strings.Join(want, "\n")) {
		t.Fatalf("log:\n%s\nwant in order:\n%s", got, strings.Join(want, "\n"))
	}
}

// TestOperatorModeSecondConnect proves a second CONNECT may renew a login but not
// change it: another user's valid JWT (another account's, or the same account's) is
// refused with "Authorization Violation" and the connection closed, while the same
// user's fresh JWT is taken.
func TestOperatorModeSecondConnect(t *testing.T) {
	f := newOperatorFixture(t)
	f.account("A")
	f.account("B")
	s := f.start(nil)
	tokenA, keyA := f.user("A", nil, nil)
	tokenB, keyB := f.user("B", nil, nil)
	otherA, otherKeyA := f.user("A", nil, nil)
	for _, other := range []struct {
		name  string
		token string
		key   nkeys.KeyPair
	}{{"another account's user", tokenB, keyB}, {"another user of the account", otherA, otherKeyA}} {
		conn := rawConnect(t, s, tokenA, keyA)
		conn.send(conn.connectLine(other.token, other.key) + "\r\nPING\r\n")
		if got := conn.untilClosed(); !strings.Contains(got, "-ERR 'Authorization Violation'") {
			t.Fatalf("%s: second CONNECT answered %q", other.name, got)
		}
	}
	conn := rawConnect(t, s, tokenA, keyA)
	renewed := jwt.NewUserClaims(mustUserPub(keyA))
	renewedToken, _ := renewed.Encode(f.accounts["A"])
	conn.login(renewedToken, keyA)
}

// TestOperatorModeRefusesConfiguredLogins proves that in operator mode nothing but a
// user JWT logs in: a configured no_auth_user is not bound to a client that skips
// CONNECT, and configured users are refused.
func TestOperatorModeRefusesConfiguredLogins(t *testing.T) {
	f := newOperatorFixture(t)
	f.account("A")
	s := f.start(func(o *opts.Options) {
		o.Users = []*opts.User{{Username: "anon", Password: "x"}}
		o.NoAuthUser = "anon"
	})
	conn := dialRaw(t, s)
	conn.send("SUB foo 1\r\nPING\r\n")
	if got := conn.untilClosed(); !strings.Contains(got, "-ERR 'Authorization Violation'") || strings.Contains(got, "PONG") {
		t.Fatalf("a client without CONNECT got %q", got)
	}
	wantAuthViolation(t, s, "configured user", nats.UserInfo("anon", "x"))
}

// TestOperatorModeReloadWhileConnecting proves connections and account reloads run
// together safely (run with -race): clients log in while reloads add accounts.
func TestOperatorModeReloadWhileConnecting(t *testing.T) {
	f := newOperatorFixture(t)
	f.account("A")
	s := f.start(nil)
	token, key := f.user("A", nil, nil)
	done := make(chan struct{})
	connected := make(chan error, 1)
	go func() {
		defer close(connected)
		for {
			select {
			case <-done:
				return
			default:
			}
			nc, err := nats.Connect(s.ClientURL(), credentials(token, key), nats.NoReconnect())
			if err != nil {
				connected <- err
				return
			}
			nc.Close()
		}
	}()
	for i := range 20 {
		f.account(fmt.Sprint("extra", i))
		o := opts.Default()
		o.Host, o.Port = "127.0.0.1", opts.RandomPort
		o.TrustedKeys = []string{f.opPub}
		o.AccountResolver = &opts.ResolverOpts{Type: "MEMORY"}
		o.ResolverPreloads = f.preloads(nil)
		if err := s.Reload(o); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-connected; err != nil {
		t.Fatalf("login during reloads: %v", err)
	}
}
