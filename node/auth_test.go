package node

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"

	"github.com/natsim/natsim/node/opts"
)

// TestAuthToken proves token auth accepts the token, plain or bcrypt-hashed, and
// rejects others.
func TestAuthToken(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	for _, configured := range []string{"secret", string(hash)} {
		s := startTestServer(t, func(o *opts.Options) { o.Authorization = configured })
		if _, err := nats.Connect(s.ClientURL(), nats.Token("wrong")); err == nil {
			t.Fatal("wrong token accepted")
		}
		nc := connect(t, s, nats.Token("secret"))
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuthBcryptPassword proves users with bcrypt passwords log in with the clear
// password.
func TestAuthBcryptPassword(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	s := startTestServer(t, func(o *opts.Options) {
		o.Users = []*opts.User{{Username: "alice", Password: string(hash)}}
	})
	if _, err := nats.Connect(s.ClientURL(), nats.UserInfo("alice", string(hash))); err == nil {
		t.Fatal("the hash itself was accepted as a password")
	}
	nc := connect(t, s, nats.UserInfo("alice", "pw"))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestAuthNkey proves nkey users authenticate by signing the server's nonce, and that
// a signature by another key is refused.
func TestAuthNkey(t *testing.T) {
	user, _ := nkeys.CreateUser()
	public, _ := user.PublicKey()
	other, _ := nkeys.CreateUser()
	s := startTestServer(t, func(o *opts.Options) {
		o.Nkeys = []*opts.NkeyUser{{Nkey: public}}
	})
	nc := connect(t, s, nats.Nkey(public, func(nonce []byte) ([]byte, error) { return user.Sign(nonce) }))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := nats.Connect(s.ClientURL(), nats.Nkey(public, func(nonce []byte) ([]byte, error) {
		return other.Sign(nonce)
	})); err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("forged signature: %v", err)
	}
}

// TestNoAuthUser proves a client without credentials is bound to no_auth_user's
// account, even when it skips CONNECT.
func TestNoAuthUser(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Accounts = []*opts.Account{{Name: "A"}}
		o.Users = []*opts.User{{Username: "anon", Password: "x", Account: "A"}, {Username: "g", Password: "g"}}
		o.NoAuthUser = "anon"
	})
	anonymous := connect(t, s)
	named := connect(t, s, nats.UserInfo("anon", "x"))
	global := connect(t, s, nats.UserInfo("g", "g"))
	sub, _ := named.SubscribeSync("x")
	globalSub, _ := global.SubscribeSync("x")
	named.Flush()
	global.Flush()
	anonymous.Publish("x", []byte("1"))
	anonymous.Flush()
	if _, err := sub.NextMsg(time.Second); err != nil {
		t.Fatal("no_auth_user not bound to account A")
	}
	if _, err := globalSub.NextMsg(50 * time.Millisecond); err == nil {
		t.Fatal("message leaked to the global account")
	}
	r := dialRaw(t, s)
	r.send("PING\r\n")
	if got := r.line(); got != "PONG" {
		t.Fatalf("telnet-style client got %q", got)
	}
}

// TestQueuePermissions proves allow entries with a queue group permit only that
// group, as the reference reads them.
func TestQueuePermissions(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Users = []*opts.User{{Username: "u", Password: "p", Permissions: &opts.Permissions{
			Subscribe: &opts.SubjectPermission{Allow: []string{"foo v1", "bar"}},
		}}}
	})
	r := dialRaw(t, s)
	r.send("CONNECT {\"user\":\"u\",\"pass\":\"p\",\"verbose\":false}\r\n" +
		"SUB foo v1 1\r\nSUB foo v2 2\r\nSUB foo 3\r\nSUB bar any 4\r\nPING\r\n")
	for _, want := range []string{
		`-ERR 'Permissions Violation for Subscription to "foo" using queue "v2"'`,
		`-ERR 'Permissions Violation for Subscription to "foo"'`,
		"PONG",
	} {
		if got := r.line(); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

// TestAllowResponses proves a user that may only publish responses can reply to a
// request it received, once, and nothing else.
func TestAllowResponses(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Users = []*opts.User{
			{Username: "svc", Password: "p", Permissions: &opts.Permissions{
				Response: &opts.ResponsePermission{MaxMsgs: 1, Expires: time.Minute},
			}},
			{Username: "cli", Password: "p"},
		}
	})
	service := connect(t, s, nats.UserInfo("svc", "p"))
	errors := make(chan error, 4)
	service.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errors <- err })
	service.Subscribe("help", func(m *nats.Msg) {
		m.Respond([]byte("first"))
		m.Respond([]byte("second"))
	})
	service.Flush()
	requester := connect(t, s, nats.UserInfo("cli", "p"))
	inbox := nats.NewInbox()
	replies, _ := requester.SubscribeSync(inbox)
	requester.PublishRequest("help", inbox, nil)
	if msg, err := replies.NextMsg(time.Second); err != nil || string(msg.Data) != "first" {
		t.Fatalf("%v %v", msg, err)
	}
	if msg, err := replies.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("second response allowed: %q", msg.Data)
	}
	select {
	case err := <-errors:
		if !strings.Contains(err.Error(), "Permissions Violation for Publish to") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("no permissions violation for the second response")
	}
}

// TestAllowedConnectionTypes proves a user limited to other connection types (here
// websocket) cannot log in as a plain client.
func TestAllowedConnectionTypes(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Users = []*opts.User{
			{Username: "web", Password: "p", AllowedConnectionTypes: map[string]struct{}{"WEBSOCKET": {}}},
			{Username: "std", Password: "p", AllowedConnectionTypes: map[string]struct{}{"STANDARD": {}}},
		}
	})
	if _, err := nats.Connect(s.ClientURL(), nats.UserInfo("web", "p")); err == nil {
		t.Fatal("websocket-only user connected as a plain client")
	}
	nc := connect(t, s, nats.UserInfo("std", "p"))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}
