package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/node/opts"
)

// TestJetStreamMonitoring proves /jsz counts streams and messages with account and
// stream details, and /healthz?js-enabled-only=true is healthy with JetStream
// running and on a server not configured for it.
func TestJetStreamMonitoring(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "J", Subjects: []string{"j"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "j", []byte("x")); err != nil {
		t.Fatal(err)
	}
	status, _, body := s.handleMonitor("GET", "/jsz?accounts=true&streams=true&config=true")
	var report struct {
		Streams  int    `json:"streams"`
		Messages uint64 `json:"messages"`
		Accounts []struct {
			Name    string `json:"name"`
			Streams []struct {
				Name   string          `json:"name"`
				Config json.RawMessage `json:"config"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if err := json.Unmarshal(body, &report); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, body, err)
	}
	if report.Streams != 1 || report.Messages != 1 || len(report.Accounts) != 1 ||
		len(report.Accounts[0].Streams) != 1 || report.Accounts[0].Streams[0].Name != "J" || len(report.Accounts[0].Streams[0].Config) == 0 {
		t.Fatalf("%s", body)
	}
	if status, _, body := s.handleMonitor("GET", "/healthz?js-enabled-only=true"); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	plain := startTestServer(t, nil)
	if status, _, body := plain.handleMonitor("GET", "/healthz?js-enabled-only=true"); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, body := plain.handleMonitor("GET", "/jsz"); status != 200 || !json.Valid(body) {
		t.Fatalf("%d %s", status, body)
	}
}

// jsonKeyPaths lists every key path of a JSON document with its JSON type; list
// elements share the path "[]", so the union of the elements' keys is listed.
func jsonKeyPaths(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	paths := map[string]string{}
	var walk func(prefix string, value any)
	walk = func(prefix string, value any) {
		switch v := value.(type) {
		case map[string]any:
			paths[prefix] = "object"
			for key, item := range v {
				walk(prefix+"."+key, item)
			}
		case []any:
			paths[prefix] = "list"
			for _, item := range v {
				walk(prefix+"[]", item)
			}
		case string:
			paths[prefix] = "string"
		case float64:
			paths[prefix] = "number"
		case bool:
			paths[prefix] = "bool"
		default:
			paths[prefix] = "null"
		}
	}
	walk("", value)
	return paths
}

// requirePaths fails unless paths under prefix are exactly want (path: type).
func requirePaths(t *testing.T, where string, paths map[string]string, prefix string, want map[string]string) {
	t.Helper()
	for path, kind := range want {
		if paths[prefix+path] != kind {
			t.Errorf("%s: %s%s is %q, want %q", where, prefix, path, paths[prefix+path], kind)
		}
	}
	for path := range paths {
		if rest, ok := strings.CutPrefix(path, prefix); ok && rest != "" && !strings.HasPrefix(rest, "[]") {
			if _, expected := want[rest]; !expected {
				t.Errorf("%s: unexpected %s", where, path)
			}
		}
	}
}

// The key sets below are nats-server v2.15.2's for the same configuration and
// streams, except limits.default_max_consumers (no server default is enforced); this
// server adds sync_always because it fsyncs before every acknowledgement by default.
var (
	referenceJetStreamConfigPaths = map[string]string{"": "object", ".max_memory": "number", ".max_storage": "number",
		".store_dir": "string", ".sync_interval": "number", ".sync_always": "bool", ".domain": "string", ".compress_ok": "bool", ".strict": "bool"}
	referenceJetStreamStatsPaths = map[string]string{"": "object", ".memory": "number", ".storage": "number",
		".reserved_memory": "number", ".reserved_storage": "number", ".accounts": "number", ".ha_assets": "number",
		".api": "object", ".api.level": "number", ".api.total": "number", ".api.errors": "number"}
	referenceJetStreamLimitsPaths = map[string]string{"": "object", ".max_request_batch": "number",
		".max_ack_pending": "number", ".max_duplicate_window": "number"}
	referenceStreamDetailPaths = map[string]string{".name": "string", ".created": "string", ".cluster": "object",
		".cluster.leader": "string", ".state": "object", ".state.messages": "number", ".state.bytes": "number",
		".state.first_seq": "number", ".state.first_ts": "string", ".state.last_seq": "number", ".state.last_ts": "string",
		".state.num_subjects": "number", ".state.consumer_count": "number"}
	referenceConsumerDetailPaths = map[string]string{".stream_name": "string", ".name": "string", ".created": "string",
		".delivered": "object", ".delivered.consumer_seq": "number", ".delivered.stream_seq": "number",
		".ack_floor": "object", ".ack_floor.consumer_seq": "number", ".ack_floor.stream_seq": "number",
		".num_ack_pending": "number", ".num_redelivered": "number", ".num_waiting": "number", ".num_pending": "number",
		".ts": "string"}
)

// jszServer starts a JetStream server configured as the reference comparison was
// (limits, domain, storage bounds) with a file stream ORDERS of five messages and a
// durable pull consumer DUR, and a memory stream MEM of five messages.
func jszServer(t *testing.T) *Server {
	t.Helper()
	s := startTestServer(t, func(o *opts.Options) {
		o.JetStream = true
		o.StoreDir = t.TempDir()
		o.JetStreamMaxMemory = 1 << 30
		o.JetStreamMaxStore = 10 << 30
		o.JetStreamDomain = "hub"
		o.JetStreamLimits.MaxAckPending = 100
		o.JetStreamLimits.MaxRequestBatch = 50
		o.JetStreamLimits.Duplicates = time.Minute
	})
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	for _, config := range []jetstream.StreamConfig{
		{Name: "ORDERS", Subjects: []string{"orders.>"}},
		{Name: "MEM", Subjects: []string{"mem.>"}, Storage: jetstream.MemoryStorage},
	} {
		if _, err := js.CreateStream(ctx, config); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		for _, subject := range []string{"orders.a", "mem.a"} {
			if _, err := js.Publish(ctx, subject, []byte(fmt.Sprint("message ", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "ORDERS", jetstream.ConsumerConfig{Durable: "DUR", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJetStreamVarzAndJszFields proves /varz's "jetstream" and /jsz, with each of its
// query options, carry the reference's keys and JSON types (compared with
// nats-server v2.15.2 for the same configuration and streams), and that the options
// select as the reference's do: consumers imply streams imply accounts, acc picks
// one account without accounts=true, offset pages past the only account while total
// still counts it, raft adds the leader counts, consumer configurations only with
// config=true, and malformed booleans get the reference's 400 text.
func TestJetStreamVarzAndJszFields(t *testing.T) {
	s := jszServer(t)
	_, _, varzBody := s.handleMonitor("GET", "/varz")
	varz := jsonKeyPaths(t, varzBody)
	requirePaths(t, "varz", varz, ".jetstream.config", referenceJetStreamConfigPaths)
	requirePaths(t, "varz", varz, ".jetstream.stats", referenceJetStreamStatsPaths)
	requirePaths(t, "varz", varz, ".jetstream.limits", referenceJetStreamLimitsPaths)
	if _, ok := varz[".jetstream.meta"]; ok {
		t.Error("varz: meta outside a cluster")
	}

	get := func(target string) (map[string]string, map[string]any) {
		t.Helper()
		status, _, body := s.handleMonitor("GET", target)
		if status != 200 {
			t.Fatalf("%s: %d %s", target, status, body)
		}
		var value map[string]any
		decoder := json.NewDecoder(bytes.NewReader(body))
		decoder.UseNumber()
		if err := decoder.Decode(&value); err != nil {
			t.Fatal(err)
		}
		return jsonKeyPaths(t, body), value
	}
	top := map[string]string{"": "object", ".server_id": "string", ".now": "string", ".streams": "number",
		".consumers": "number", ".messages": "number", ".bytes": "number", ".total": "number"}
	for path, kind := range referenceJetStreamStatsPaths {
		top[path] = kind
	}
	for path, kind := range referenceJetStreamConfigPaths {
		top[".config"+path] = kind
	}
	for path, kind := range referenceJetStreamLimitsPaths {
		top[".limits"+path] = kind
	}
	plain, report := get("/jsz")
	requirePaths(t, "jsz", plain, "", top)
	if report["streams"] != json.Number("2") || report["consumers"] != json.Number("1") || report["messages"] != json.Number("10") ||
		report["total"] != json.Number("1") {
		t.Errorf("jsz counts %v", report)
	}
	if config := report["config"].(map[string]any); !strings.HasSuffix(config["store_dir"].(string), "/jetstream") ||
		config["domain"] != "hub" || config["compress_ok"] != true || config["max_memory"] != json.Number("1073741824") {
		t.Errorf("jsz config %v", config)
	}

	account := map[string]string{"[]": "object", "[].name": "string", "[].id": "string"}
	for path, kind := range referenceJetStreamStatsPaths {
		account["[]"+path] = kind
	}
	delete(account, "[]")
	account[""] = "list"
	account["[]"] = "object"
	paths, report := get("/jsz?accounts=true")
	requirePaths(t, "jsz accounts", paths, ".account_details", account)
	detail := report["account_details"].([]any)[0].(map[string]any)
	if detail["reserved_memory"] != json.Number("18446744073709551615") || detail["api"].(map[string]any)["level"] != json.Number("0") {
		t.Errorf("account detail %v: the reference reports the unlimited reservation as the largest uint64 and no API level", detail)
	}

	streams := map[string]string{"": "list", "[]": "object"}
	for path, kind := range referenceStreamDetailPaths {
		streams["[]"+path] = kind
	}
	paths, report = get("/jsz?streams=true")
	requirePaths(t, "jsz streams", paths, ".account_details[].stream_detail", streams)
	names := []string{}
	for _, stream := range report["account_details"].([]any)[0].(map[string]any)["stream_detail"].([]any) {
		names = append(names, stream.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "MEM,ORDERS" {
		t.Errorf("streams %v, want sorted by name", names)
	}

	consumers := map[string]string{"": "list", "[]": "object"}
	for path, kind := range referenceConsumerDetailPaths {
		consumers["[]"+path] = kind
	}
	paths, _ = get("/jsz?consumers=true")
	requirePaths(t, "jsz consumers", paths, ".account_details[].stream_detail[].consumer_detail", consumers)
	paths, _ = get("/jsz?consumers=true&config=true")
	for _, path := range []string{".account_details[].stream_detail[].config.name", ".account_details[].stream_detail[].consumer_detail[].config.durable_name"} {
		if paths[path] != "string" {
			t.Errorf("config=true: no %s", path)
		}
	}

	if _, report = get("/jsz?acc=$G"); len(report["account_details"].([]any)) != 1 {
		t.Errorf("acc=$G: %v", report)
	}
	if paths, report = get("/jsz?acc=NOPE"); paths[".account_details"] != "" || report["total"] != json.Number("1") {
		t.Errorf("acc=NOPE: %v", report)
	}
	if paths, report = get("/jsz?accounts=true&offset=1"); paths[".account_details"] != "" || report["total"] != json.Number("1") {
		t.Errorf("offset past the accounts: %v", report)
	}
	if _, report = get("/jsz?raft=true&leader-only=true&stream-leader-only=1"); report["streams_leader"] != json.Number("2") || report["consumers_leader"] != json.Number("1") {
		t.Errorf("raft: %v", report)
	}
	for target, want := range map[string]string{
		"/jsz?accounts=x": `Error decoding boolean for 'accounts': strconv.ParseBool: parsing "x": invalid syntax`,
		"/jsz?limit=ten":  `Error decoding int for 'limit': strconv.Atoi: parsing "ten": invalid syntax`,
	} {
		if status, _, body := s.handleMonitor("GET", target); status != 400 || string(body) != want {
			t.Errorf("%s: %d %s", target, status, body)
		}
	}
}

// TestJetStreamHealthz proves /healthz's JetStream checks answer as nats-server
// v2.15.2 does for the same streams (bodies and status codes recorded from it): the
// request's consistency, the account, stream and consumer lookups (a memory stream
// has nothing on disk and is "not found", as in the reference), details as a list,
// and a stream directory whose stream is not running.
func TestJetStreamHealthz(t *testing.T) {
	s := jszServer(t)
	cases := []struct {
		query  string
		status int
		body   string
	}{
		{"", 200, `{"status":"ok"}`},
		{"?js-enabled-only=true", 200, `{"status":"ok"}`},
		{"?js-enabled=true", 200, `{"status":"ok"}`},
		{"?js-server-only=true", 200, `{"status":"ok"}`},
		{"?details=true", 200, `{"status":"ok"}`},
		{"?account=$G", 200, `{"status":"ok"}`},
		{"?account=$G&stream=ORDERS", 200, `{"status":"ok"}`},
		{"?account=$G&stream=ORDERS&consumer=DUR", 200, `{"status":"ok"}`},
		{"?account=$G&stream=MEM", 404, `{"status":"unavailable","error":"JetStream stream \"MEM\" not found on account \"$G\""}`},
		{"?account=$G&stream=ORDERS&consumer=NOPE", 404, `{"status":"unavailable","error":"JetStream consumer \"NOPE\" not found for stream \"ORDERS\" on account \"$G\""}`},
		{"?account=$G&stream=NOPE&details=true", 404, `{"status":"error","errors":[{"type":"STREAM","account":"$G","stream":"NOPE","error":"JetStream stream \"NOPE\" not found on account \"$G\""}]}`},
		{"?account=NOPE", 404, `{"status":"unavailable","error":"JetStream account \"NOPE\" not found"}`},
		{"?account=NOPE&details=true", 404, `{"status":"error","errors":[{"type":"ACCOUNT","account":"NOPE","error":"JetStream account \"NOPE\" not found"}]}`},
		{"?stream=ORDERS", 400, `{"status":"error","error":"\"account\" must not be empty when checking stream health"}`},
		{"?stream=ORDERS&details=true", 400, `{"status":"error","errors":[{"type":"BAD_REQUEST","error":"\"account\" must not be empty when checking stream health"}]}`},
		{"?consumer=X", 400, `{"status":"error","error":"\"stream\" must not be empty when checking consumer health"}`},
		{"?details=maybe", 400, `Error decoding boolean for 'details': strconv.ParseBool: parsing "maybe": invalid syntax`},
		{"?account=$G&stream=ORDERS&consumer=NOPE&details=1", 404, `{"status":"error","errors":[{"type":"CONSUMER","account":"$G","stream":"ORDERS","consumer":"NOPE","error":"JetStream consumer \"NOPE\" not found for stream \"ORDERS\" on account \"$G\""}]}`},
	}
	for _, c := range cases {
		if status, _, body := s.handleMonitor("GET", "/healthz"+c.query); status != c.status || string(body) != c.body {
			t.Errorf("/healthz%s: %d %s\nwant %d %s", c.query, status, body, c.status, c.body)
		}
	}

	// A stream directory without a running stream (here: one made behind the
	// server's back) is a stream that "could not be recovered".
	s.mu.Lock()
	dir := s.options.StoreDir
	s.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(dir, "jetstream", "$G", "streams", "GHOST"), 0o755); err != nil {
		t.Fatal(err)
	}
	// json.Marshal escapes '>' as the reference's does.
	want := `{"status":"unavailable","error":"JetStream stream '$G \u003e GHOST' could not be recovered"}`
	if status, _, body := s.handleMonitor("GET", "/healthz"); status != 503 || string(body) != want {
		t.Errorf("ghost stream: %d %s", status, body)
	}
	want = `{"status":"error","errors":[{"type":"STREAM","account":"$G","stream":"GHOST","error":"JetStream stream '$G \u003e GHOST' could not be recovered"}]}`
	if status, _, body := s.handleMonitor("GET", "/healthz?details=true"); status != 503 || string(body) != want {
		t.Errorf("ghost stream with details: %d %s", status, body)
	}
	if status, _, body := s.handleMonitor("GET", "/healthz?js-enabled-only=true"); status != 200 {
		t.Errorf("js-enabled-only skips the stream checks: %d %s", status, body)
	}

	// The HEALTHZ system request takes the same options.
	answer, err := healthzRequest(s, []byte(`{"account":"NOPE"}`))
	if err != nil {
		t.Fatal(err)
	}
	health := answer.(*ServerAPIResponse).Data.(*HealthStatus)
	if health.StatusCode != 404 || health.Error != `JetStream account "NOPE" not found` {
		t.Errorf("system HEALTHZ %+v", health)
	}
}

// TestJszDirectConsumersAndMirror proves /jsz lists a mirror's internal (direct)
// consumer on its origin only with direct-consumers=true, apart from the stream's
// consumers, and reports the mirror's source info, as the reference does.
func TestJszDirectConsumersAndMirror(t *testing.T) {
	s := startJetStreamServer(t, t.TempDir())
	_, js := jetStreamContext(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORIG", Subjects: []string{"orig.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "orig.a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "MIR", Mirror: &jetstream.StreamSource{Name: "ORIG"}}); err != nil {
		t.Fatal(err)
	}
	type detail struct {
		Name      string            `json:"name"`
		Consumers []json.RawMessage `json:"consumer_detail"`
		Direct    []json.RawMessage `json:"direct_consumer_detail"`
		Mirror    *struct {
			Name string `json:"name"`
		} `json:"mirror"`
	}
	streams := func(target string) map[string]detail {
		t.Helper()
		_, _, body := s.handleMonitor("GET", target)
		var report struct {
			Accounts []struct {
				Streams []detail `json:"stream_detail"`
			} `json:"account_details"`
		}
		if err := json.Unmarshal(body, &report); err != nil || len(report.Accounts) != 1 {
			t.Fatalf("%s: %s %v", target, body, err)
		}
		byName := map[string]detail{}
		for _, stream := range report.Accounts[0].Streams {
			byName[stream.Name] = stream
		}
		return byName
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(streams("/jsz?consumers=true&direct-consumers=true")["ORIG"].Direct) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the mirror's direct consumer never showed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	without := streams("/jsz?consumers=true")
	if len(without["ORIG"].Direct) != 0 || len(without["ORIG"].Consumers) != 0 {
		t.Errorf("direct consumer listed without direct-consumers: %+v", without["ORIG"])
	}
	if mirror := without["MIR"].Mirror; mirror == nil || mirror.Name != "ORIG" {
		t.Errorf("mirror info %+v", without["MIR"])
	}
}
