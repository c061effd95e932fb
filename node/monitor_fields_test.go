package node

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsim/natsim/node/opts"
)

// monitorJSON fetches an endpoint through the monitoring handler and decodes it.
func monitorJSON(t *testing.T, s *Server, target string) map[string]any {
	t.Helper()
	status, _, body := s.handleMonitor("GET", target)
	if status != 200 {
		t.Fatalf("%s: status %d %s", target, status, body)
	}
	var value map[string]any
	if err := json.Unmarshal(body, &value); err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	return value
}

// requireKeys fails for each key missing from object.
func requireKeys(t *testing.T, where string, object map[string]any, keys ...string) {
	t.Helper()
	for _, key := range keys {
		if _, ok := object[key]; !ok {
			t.Errorf("%s: no %q", where, key)
		}
	}
}

// TestMonitorFieldNames proves the monitoring endpoints carry the field names the
// reference's Varz, Connz, Subsz, Healthz and Accountz structs have (compared
// side by side with nats-server v2.15.2), including the ones that are easy to
// forget: client counters, stale and slow consumer statistics, per-endpoint request
// counts, the connection RTT, subscription account tags and account imports/exports.
func TestMonitorFieldNames(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		a := &opts.Account{Name: "A", Exports: []*opts.Export{{Subject: "x.>"}, {Subject: "svc", Service: true}}}
		b := &opts.Account{Name: "B", Imports: []*opts.Import{
			{Account: "A", Subject: "x.>"},
			{Account: "A", Subject: "svc", Service: true, To: "asksvc"},
		}}
		o.Accounts = []*opts.Account{a, b}
		o.Users = []*opts.User{{Username: "a", Password: "a", Account: "A"}}
	})
	nc := connect(t, s, nats.UserInfo("a", "a"))
	nc.SubscribeSync("x.y")
	nc.Flush()

	monitorJSON(t, s, "/varz")
	varz := monitorJSON(t, s, "/varz")
	requireKeys(t, "varz", varz, "server_id", "in_client_msgs", "in_client_bytes", "out_client_msgs", "out_client_bytes",
		"stale_connections", "stalled_clients", "slow_consumer_stats", "stale_connection_stats", "disk_io_wait_stats",
		"config_digest", "http_req_stats", "cluster", "gateway", "leaf", "mqtt", "websocket", "jetstream", "feature_flags")
	if counts, _ := varz["http_req_stats"].(map[string]any); counts["/varz"] != 2.0 {
		t.Errorf("http_req_stats %v, want /varz counted twice", varz["http_req_stats"])
	}
	if stats, _ := varz["slow_consumer_stats"].(map[string]any); stats == nil {
		t.Error("slow_consumer_stats not an object")
	} else {
		requireKeys(t, "slow_consumer_stats", stats, "clients", "routes", "gateways", "leafs")
	}

	health := monitorJSON(t, s, "/healthz")
	if _, ok := health["status_code"]; ok || health["status"] != "ok" {
		t.Errorf("healthz %v: a healthy answer is only {\"status\":\"ok\"}", health)
	}

	// The first /connz asks the client for its RTT; a later one reports it.
	monitorJSON(t, s, "/connz")
	var connection map[string]any
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		connz := monitorJSON(t, s, "/connz?subs=detail")
		connection = connz["connections"].([]any)[0].(map[string]any)
		if connection["rtt"] != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rtt, _ := connection["rtt"].(string); rtt == "" {
		t.Errorf("connz without rtt: %v", connection)
	}
	detail := connection["subscriptions_list_detail"].([]any)[0].(map[string]any)
	if _, ok := detail["account"]; ok {
		t.Errorf("connz subscription detail names the account: %v", detail)
	}

	subsz := monitorJSON(t, s, "/subsz?subs=1&acc=A")
	list := subsz["subscriptions_list"].([]any)
	if len(list) != 1 {
		t.Fatalf("subsz list %v", list)
	}
	sub := list[0].(map[string]any)
	if sub["account"] != "A" || sub["account_tag"] != "A" || sub["subject"] != "x.y" {
		t.Errorf("subsz detail %v", sub)
	}

	accountA := monitorJSON(t, s, "/accountz?acc=A")["account_detail"].(map[string]any)
	requireKeys(t, "accountz A", accountA, "account_name", "name_tag", "sublist_stats", "exports")
	detailA, _ := s.Accountz("A")
	exports, _ := json.Marshal(detailA.Account.Exports)
	if string(exports) != `[{"subject":"x.\u003e","type":"stream"},{"subject":"svc","type":"service","response_type":"Singleton"}]` {
		t.Errorf("exports %s", exports)
	}
	accountB := monitorJSON(t, s, "/accountz?acc=B")["account_detail"].(map[string]any)
	detailB, _ := s.Accountz("B")
	imports, _ := json.Marshal(detailB.Account.Imports)
	want := `[{"subject":"x.\u003e","account":"A","local_subject":"x.\u003e","type":"stream","invalid":false,"share":false,"tracking":false},` +
		`{"subject":"svc","account":"A","to":"asksvc","local_subject":"asksvc","type":"service","invalid":false,"share":false,"tracking":false}]`
	if string(imports) != want {
		t.Errorf("imports %s", imports)
	}
	if accountB["name_tag"] != "B" {
		t.Errorf("name_tag %v", accountB["name_tag"])
	}
}

// TestSystemRequestsAsNatsCLI proves the system requests accept what natscli v0.5.0
// sends: a CONNZ whose state is the reference's ConnState number, and server filters
// that make servers not selected stay silent. STATSZ carries memory and the client
// counters.
func TestSystemRequestsAsNatsCLI(t *testing.T) {
	s := startTestServer(t, func(o *opts.Options) {
		o.Accounts = []*opts.Account{{Name: "SYS"}}
		o.SystemAccount = "SYS"
		o.ServerName = "alpha"
		o.Users = []*opts.User{{Username: "sys", Password: "p", Account: "SYS"}}
	})
	system := connect(t, s, nats.UserInfo("sys", "p"))
	for state, want := range map[string]int{"0": 1, "1": 0, "2": 1, `"open"`: 1} {
		msg, err := system.Request("$SYS.REQ.SERVER.PING.CONNZ", []byte(`{"state":`+state+`,"server_name":"alp"}`), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var connz struct {
			Data  Connz     `json:"data"`
			Error *APIError `json:"error"`
		}
		if err := json.Unmarshal(msg.Data, &connz); err != nil || connz.Error != nil || connz.Data.NumConns != want {
			t.Fatalf("state %s: %s %v", state, msg.Data, err)
		}
	}
	for _, filter := range []string{`{"server_name":"beta"}`, `{"server_name":"alp","exact_match":true}`, `{"tags":["x"]}`} {
		if _, err := system.Request("$SYS.REQ.SERVER.PING.VARZ", []byte(filter), 100*time.Millisecond); err == nil {
			t.Fatalf("filter %s answered", filter)
		}
	}
	msg, err := system.Request("$SYS.REQ.SERVER.PING.STATSZ", nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var statsz ServerStatsMsg
	if err := json.Unmarshal(msg.Data, &statsz); err != nil || statsz.Stats.Mem <= 0 || statsz.Stats.ReceivedFromClients.Msgs == 0 {
		t.Fatalf("statsz %s %v", msg.Data, err)
	}
}
