package node

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsim/natsim/node/opts"
)

// eventsServer starts a server with accounts A and SYS (the system account) and a
// SYS user subscribed to every $SYS subject; it returns the server and the events.
func eventsServer(t *testing.T) (*Server, *nats.Subscription) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Accounts = []*opts.Account{{Name: "A"}, {Name: "SYS"}}
		o.Users = []*opts.User{{Username: "a", Password: "a", Account: "A"}, {Username: "sys", Password: "sys", Account: "SYS"}}
		o.SystemAccount = "SYS"
	})
	sys := connect(t, s, nats.UserInfo("sys", "sys"))
	events, err := sys.SubscribeSync("$SYS.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Flush(); err != nil {
		t.Fatal(err)
	}
	return s, events
}

// nextEvent returns the next event on subject, skipping others (STATSZ, the SYS
// user's own).
func nextEvent(t *testing.T, events *nats.Subscription, subject string, into any) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		msg, err := events.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		if msg.Subject != subject {
			continue
		}
		if err := json.Unmarshal(msg.Data, into); err != nil {
			t.Fatalf("%s: %q: %v", subject, msg.Data, err)
		}
		return
	}
	t.Fatalf("no event on %s", subject)
}

// TestClientEvents proves the connect and disconnect events, in the reference's
// shape and order (the account's connection count first, on both its subjects): the
// client's account, user, name, language, kind and type; on disconnect its close
// time, what it sent and received, and the close reason; and a failed
// authentication's CLIENT.AUTH.ERR naming the user it gave, in the global account.
func TestClientEvents(t *testing.T) {
	s, events := eventsServer(t)
	nc := connect(t, s, nats.UserInfo("a", "a"), nats.Name("probe"))
	var conns AccountNumConns
	nextEvent(t, events, "$SYS.ACCOUNT.A.SERVER.CONNS", &conns)
	if conns.Type != "io.nats.server.advisory.v1.account_connections" || conns.Account != "A" || conns.Conns != 1 || conns.TotalConns != 1 {
		t.Fatalf("account connections after the connect %+v", conns)
	}
	var connect ConnectEventMsg
	nextEvent(t, events, "$SYS.ACCOUNT.A.CONNECT", &connect)
	c := connect.Client
	if connect.Type != "io.nats.server.advisory.v1.client_connect" || len(connect.ID) != 22 || connect.Server == nil || connect.Server.ID != s.id ||
		c.Account != "A" || c.User != "a" || c.Name != "probe" || c.Lang != "go" || c.Kind != "Client" || c.ClientType != "nats" || c.NameTag != "A" || c.Stop != nil {
		t.Fatalf("connect event %+v client %+v", connect, c)
	}
	for range 3 {
		if err := nc.Publish("x", make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
	}
	nc.Flush()
	nc.Close()
	nextEvent(t, events, "$SYS.SERVER.ACCOUNT.A.CONNS", &conns)
	if conns.Conns != 0 || conns.Received.MsgBytes != (MsgBytes{Msgs: 3, Bytes: 30}) {
		t.Fatalf("account connections after the disconnect %+v", conns)
	}
	var disconnect DisconnectEventMsg
	nextEvent(t, events, "$SYS.ACCOUNT.A.DISCONNECT", &disconnect)
	if disconnect.Type != "io.nats.server.advisory.v1.client_disconnect" || disconnect.Reason != "Client Closed" ||
		disconnect.Sent != (MsgBytes{Msgs: 3, Bytes: 30}) || disconnect.Client.Stop == nil || disconnect.Client.ID != c.ID ||
		disconnect.Server.Seq <= connect.Server.Seq {
		t.Fatalf("disconnect event %+v client %+v", disconnect, disconnect.Client)
	}

	if _, err := nats.Connect(s.ClientURL(), nats.UserInfo("a", "wrong"), nats.Name("bad")); err == nil {
		t.Fatal("wrong password accepted")
	}
	var authErr DisconnectEventMsg
	nextEvent(t, events, "$SYS.SERVER."+s.id+".CLIENT.AUTH.ERR", &authErr)
	if authErr.Reason != "Authentication Failure" || authErr.Client.Account != "$G" || authErr.Client.User != "a" || authErr.Client.Name != "bad" {
		t.Fatalf("auth error event %+v client %+v", authErr, authErr.Client)
	}
}

// TestServerEvents proves STATSZ comes on its own while someone listens, and that
// SHUTDOWN reaches the system account's subscribers before their connections close.
func TestServerEvents(t *testing.T) {
	s, events := eventsServer(t)
	var statsz ServerStatsMsg
	nextEvent(t, events, "$SYS.SERVER."+s.id+".STATSZ", &statsz)
	if statsz.Server.ID != s.id || statsz.Stats.Connections < 1 || statsz.Stats.ActiveServers != 1 || statsz.Server.FeatureFlags == nil {
		t.Fatalf("statsz %+v", statsz)
	}
	go s.Shutdown()
	var shutdown ServerInfo
	nextEvent(t, events, "$SYS.SERVER."+s.id+".SHUTDOWN", &shutdown)
	if shutdown.ID != s.id || !strings.HasPrefix(shutdown.Version, "2.") {
		t.Fatalf("shutdown event %+v", shutdown)
	}
	// Nothing follows SHUTDOWN: not the disconnects of the connections it closes.
	if msg, err := events.NextMsg(500 * time.Millisecond); err == nil {
		t.Fatalf("%s after SHUTDOWN: %s", msg.Subject, msg.Data)
	}
}

// TestAccountRequests proves the account-scoped monitoring requests of the system
// account: CONNZ and SUBSZ limited to the account, STATZ and CONNS with its
// connections and traffic, and PING.STATZ over the accounts with connections.
func TestAccountRequests(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Accounts = []*opts.Account{{Name: "A"}, {Name: "B"}, {Name: "SYS"}}
		o.Users = []*opts.User{{Username: "a", Password: "a", Account: "A"}, {Username: "b", Password: "b", Account: "B"},
			{Username: "sys", Password: "sys", Account: "SYS"}}
		o.SystemAccount = "SYS"
	})
	sys := connect(t, s, nats.UserInfo("sys", "sys"))
	a := connect(t, s, nats.UserInfo("a", "a"), nats.Name("in-a"))
	if _, err := a.SubscribeSync("foo"); err != nil {
		t.Fatal(err)
	}
	a.Publish("foo", []byte("12345"))
	a.Flush()
	connect(t, s, nats.UserInfo("b", "b")).Flush()
	request := func(subject string, into any) {
		t.Helper()
		msg, err := sys.Request(subject, nil, 2*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		if err := json.Unmarshal(msg.Data, into); err != nil {
			t.Fatalf("%s: %q: %v", subject, msg.Data, err)
		}
	}
	var connz struct {
		Data Connz `json:"data"`
	}
	request("$SYS.REQ.ACCOUNT.A.CONNZ", &connz)
	if connz.Data.Total != 1 || len(connz.Data.Conns) != 1 || connz.Data.Conns[0].Name != "in-a" {
		t.Fatalf("A.CONNZ %+v", connz.Data)
	}
	var subsz struct {
		Data Subsz `json:"data"`
	}
	request("$SYS.REQ.ACCOUNT.A.SUBSZ", &subsz)
	if len(subsz.Data.Subs) != 1 || subsz.Data.Subs[0].Subject != "foo" {
		t.Fatalf("A.SUBSZ %+v", subsz.Data)
	}
	var statz struct {
		Data AccountStatz `json:"data"`
	}
	request("$SYS.REQ.ACCOUNT.A.STATZ", &statz)
	if len(statz.Data.Accounts) != 1 || statz.Data.Accounts[0].Conns != 1 || statz.Data.Accounts[0].NumSubs != 1 ||
		statz.Data.Accounts[0].Received.MsgBytes != (MsgBytes{Msgs: 1, Bytes: 5}) || statz.Data.Accounts[0].Sent.Msgs != 1 {
		t.Fatalf("A.STATZ %+v", statz.Data)
	}
	var conns AccountNumConns
	request("$SYS.REQ.ACCOUNT.A.CONNS", &conns)
	if conns.Type != "io.nats.server.advisory.v1.account_connections" || conns.Account != "A" || conns.Conns != 1 {
		t.Fatalf("A.CONNS %+v", conns)
	}
	request("$SYS.REQ.ACCOUNT.PING.STATZ", &statz)
	var names []string
	for _, stat := range statz.Data.Accounts {
		names = append(names, stat.Account)
	}
	if strings.Join(names, ",") != "A,B,SYS" {
		t.Fatalf("PING.STATZ accounts %v", names)
	}
}
