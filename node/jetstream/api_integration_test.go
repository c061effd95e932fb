package jetstream_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
)

// These tests pin behaviour nats.go's own ./test suite checks against the reference
// (TestJetStreamRePublish, TestJetStreamDirectGetMsg, TestAccountInfo,
// TestJetStreamImportDirectOnly), with the exact answers taken from nats-server
// v2.15.2 on the same requests.

// startConfiguredServer starts a server from configuration text, on a random
// loopback port with JetStream in dir.
func startConfiguredServer(t *testing.T, text, dir string) *node.Server {
	t.Helper()
	o, err := opts.ProcessConfig([]byte(text), "test.conf", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Host = "127.0.0.1"
	o.Port = opts.RandomPort
	o.JetStream = true
	o.StoreDir = dir
	s, err := node.New(osenv.New(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// connectAs connects to s with a user of the configuration.
func connectAs(t *testing.T, s *node.Server, user, password string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(user, password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// apiFields sends a raw API request and returns the answer's JSON fields.
func apiFields(t *testing.T, nc *nats.Conn, subject, body string) map[string]any {
	t.Helper()
	msg, err := nc.Request(subject, []byte(body), 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var fields map[string]any
	if err := json.Unmarshal(msg.Data, &fields); err != nil {
		t.Fatalf("%s: %v in %q", subject, err, msg.Data)
	}
	return fields
}

// apiErrorCode returns the err_code of an API answer, 0 without an error.
func apiErrorCode(fields map[string]any) (int, string) {
	apiErr, ok := fields["error"].(map[string]any)
	if !ok {
		return 0, ""
	}
	code, _ := apiErr["err_code"].(float64)
	description, _ := apiErr["description"].(string)
	return int(code), description
}

// accountAPIStats returns api.total and api.errors of an INFO answer.
func accountAPIStats(t *testing.T, nc *nats.Conn) (total, errs int) {
	t.Helper()
	api, ok := apiFields(t, nc, "$JS.API.INFO", "")["api"].(map[string]any)
	if !ok {
		t.Fatal("INFO answer without api")
	}
	return int(api["total"].(float64)), int(api["errors"].(float64))
}

// TestIntegrationRePublishHeaders proves that a republished message carries the
// reference's headers: Nats-Stream, Nats-Subject, Nats-Sequence, Nats-Time-Stamp and
// Nats-Last-Sequence, the last being the previous sequence of the same subject (0 for
// its first message), not the stream's previous message; the message's own headers
// are kept, and with headers_only the payload is dropped and Nats-Msg-Size given.
func TestIntegrationRePublishHeaders(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RP", Subjects: []string{"foo", "bar"},
		Storage: jetstream.MemoryStorage, RePublish: &jetstream.RePublish{Source: ">", Destination: "RP.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RH", Subjects: []string{"h.>"},
		RePublish: &jetstream.RePublish{Source: "h.>", Destination: "RH.>", HeadersOnly: true}}); err != nil {
		t.Fatal(err)
	}
	full, err := nc.SubscribeSync("RP.>")
	if err != nil {
		t.Fatal(err)
	}
	headersOnly, err := nc.SubscribeSync("RH.>")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Minute)
	for _, subject := range []string{"foo", "bar", "foo", "foo", "bar"} {
		if _, err := js.Publish(ctx, subject, []byte("payload-"+subject)); err != nil {
			t.Fatal(err)
		}
	}
	withHeader := nats.NewMsg("bar")
	withHeader.Header.Set("MyHeader", "MyValue")
	withHeader.Data = []byte("six")
	if _, err := js.PublishMsg(ctx, withHeader); err != nil {
		t.Fatal(err)
	}
	wantLast := []string{"0", "0", "1", "3", "2", "5"}
	wantSubject := []string{"foo", "bar", "foo", "foo", "bar", "bar"}
	for i := range wantLast {
		msg, err := full.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		h := msg.Header
		if msg.Subject != "RP."+wantSubject[i] || h.Get("Nats-Stream") != "RP" || h.Get("Nats-Subject") != wantSubject[i] ||
			h.Get("Nats-Sequence") != strconv.Itoa(i+1) || h.Get("Nats-Last-Sequence") != wantLast[i] {
			t.Fatalf("message %d: subject %q headers %v, want Nats-Last-Sequence %s", i+1, msg.Subject, h, wantLast[i])
		}
		stamp, err := time.Parse(time.RFC3339Nano, h.Get("Nats-Time-Stamp"))
		if err != nil || stamp.Before(before) {
			t.Fatalf("message %d: Nats-Time-Stamp %q: %v", i+1, h.Get("Nats-Time-Stamp"), err)
		}
		if h.Get("Nats-Msg-Size") != "" || string(msg.Data) == "" {
			t.Fatalf("message %d: full republish lost its payload or has a size: %v %q", i+1, h, msg.Data)
		}
		if i == 5 && h.Get("MyHeader") != "MyValue" {
			t.Fatalf("message %d lost its own header: %v", i+1, h)
		}
	}
	if extra, err := full.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("unexpected extra republished message %v", extra)
	}
	for _, body := range []string{"hello", "hello world", ""} {
		if _, err := js.Publish(ctx, "h.a", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range [][2]string{{"0", "5"}, {"1", "11"}, {"2", "0"}} {
		msg, err := headersOnly.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Data) != 0 || msg.Header.Get("Nats-Last-Sequence") != want[0] || msg.Header.Get("Nats-Msg-Size") != want[1] ||
			msg.Header.Get("Nats-Stream") != "RH" || msg.Header.Get("Nats-Subject") != "h.a" {
			t.Fatalf("headers-only message %d: %v %q, want last %s size %s", i+1, msg.Header, msg.Data, want[0], want[1])
		}
	}
}

// directGet sends a raw direct get and returns the answer, or the request error.
func directGet(nc *nats.Conn, subject, body string) (*nats.Msg, error) {
	return nc.Request(subject, []byte(body), 2*time.Second)
}

// TestIntegrationDirectGetNeedsAllowDirect proves that a stream without allow_direct
// has nobody on its direct get subjects (the requester gets "no responders" at once,
// not a timeout), that updating allow_direct on and off adds and removes the
// responder, and the reference's 408 answers to empty and malformed bodies.
func TestIntegrationDirectGetNeedsAllowDirect(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	ctx := testContext(t)
	config := jetstream.StreamConfig{Name: "DGM", Subjects: []string{"foo", "bar"}, Storage: jetstream.MemoryStorage}
	if _, err := js.CreateStream(ctx, config); err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"foo", "foo", "bar"} {
		if _, err := js.Publish(ctx, subject, []byte(subject)); err != nil {
			t.Fatal(err)
		}
	}
	noResponders := func(when string) {
		t.Helper()
		for _, request := range [][2]string{{"$JS.API.DIRECT.GET.DGM", `{"seq":1}`}, {"$JS.API.DIRECT.GET.DGM.foo", ""},
			{"$JS.API.DIRECT.GET.NOPE", `{"seq":1}`}} {
			started := time.Now()
			if _, err := directGet(nc, request[0], request[1]); !errors.Is(err, nats.ErrNoResponders) {
				t.Fatalf("%s: %s: got %v, want no responders", when, request[0], err)
			}
			if elapsed := time.Since(started); elapsed > time.Second {
				t.Fatalf("%s: %s: no responders took %v", when, request[0], elapsed)
			}
		}
	}
	noResponders("without allow_direct")
	config.AllowDirect = true
	if _, err := js.UpdateStream(ctx, config); err != nil {
		t.Fatal(err)
	}
	msg, err := directGet(nc, "$JS.API.DIRECT.GET.DGM", `{"seq":3}`)
	if err != nil || string(msg.Data) != "bar" || msg.Header.Get("Nats-Stream") != "DGM" || msg.Header.Get("Nats-Sequence") != "3" {
		t.Fatalf("direct get by sequence: %v %v", msg, err)
	}
	msg, err = directGet(nc, "$JS.API.DIRECT.GET.DGM.foo", "")
	if err != nil || msg.Header.Get("Nats-Sequence") != "2" {
		t.Fatalf("direct get last by subject: %v %v", msg, err)
	}
	for _, c := range []struct{ body, status, description string }{
		{"", "408", "Empty Request"},
		{"{}", "408", "Empty Request"},
		{`{"batch":2}`, "408", "Empty Request"},
		{"garbage", "408", "Malformed Request"},
		{`{"seq":1,"last_by_subj":"foo"}`, "408", "Bad Request"},
		{`{"seq":100}`, "404", "Message Not Found"},
	} {
		msg, err := directGet(nc, "$JS.API.DIRECT.GET.DGM", c.body)
		if err != nil || msg.Header.Get("Status") != c.status || msg.Header.Get("Description") != c.description {
			t.Fatalf("body %q: %v %v, want %s %s", c.body, msg, err, c.status, c.description)
		}
	}
	// nats.go's own direct get API works too.
	raw, err := js.Stream(ctx, "DGM")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := raw.GetMsg(ctx, 1, jetstream.WithGetMsgSubject("bar")); err != nil || got.Sequence != 3 {
		t.Fatalf("GetMsg next for bar: %+v %v", got, err)
	}
	config.AllowDirect = false
	if _, err := js.UpdateStream(ctx, config); err != nil {
		t.Fatal(err)
	}
	noResponders("after allow_direct was turned off")
}

// TestIntegrationMirrorDirect proves that a mirror with mirror_direct answers direct
// gets addressed to its origin (under its own name in Nats-Stream), also once the
// origin stops serving them, never on its own name without allow_direct, and stops
// when it is deleted.
func TestIntegrationMirrorDirect(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	ctx := testContext(t)
	origin := jetstream.StreamConfig{Name: "D", Subjects: []string{"d.>"}, AllowDirect: true}
	if _, err := js.CreateStream(ctx, origin); err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"d.a", "d.b"} {
		if _, err := js.Publish(ctx, subject, []byte(subject)); err != nil {
			t.Fatal(err)
		}
	}
	mirror, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "D"}})
	if err != nil {
		t.Fatal(err)
	}
	if !mirror.CachedInfo().Config.MirrorDirect {
		t.Fatalf("a mirror of a stream with allow_direct gets mirror_direct: %+v", mirror.CachedInfo().Config)
	}
	waitForMessages(t, js, "M", 2)
	if _, err := directGet(nc, "$JS.API.DIRECT.GET.M", `{"seq":1}`); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("direct get on the mirror's own name: %v, want no responders", err)
	}
	origin.AllowDirect = false
	if _, err := js.UpdateStream(ctx, origin); err != nil {
		t.Fatal(err)
	}
	msg, err := directGet(nc, "$JS.API.DIRECT.GET.D", `{"seq":2}`)
	if err != nil || string(msg.Data) != "d.b" || msg.Header.Get("Nats-Stream") != "M" {
		t.Fatalf("direct get answered by the mirror: %v %v", msg, err)
	}
	if err := js.DeleteStream(ctx, "M"); err != nil {
		t.Fatal(err)
	}
	if _, err := directGet(nc, "$JS.API.DIRECT.GET.D", `{"seq":2}`); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("after the mirror's deletion: %v, want no responders", err)
	}
}

// TestIntegrationAccountInfoAPIStats proves api.total counts the requests before the
// INFO that reports it (the first INFO says 0), that errors are counted, and that
// neither unknown API subjects nor direct gets count, as in the reference.
func TestIntegrationAccountInfoAPIStats(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, js := connectJetStream(t, s)
	if total, errs := accountAPIStats(t, nc); total != 0 || errs != 0 {
		t.Fatalf("first INFO: total %d errors %d, want 0 0", total, errs)
	}
	if total, _ := accountAPIStats(t, nc); total != 1 {
		t.Fatalf("second INFO: total %d, want 1", total)
	}
	if code, _ := apiErrorCode(apiFields(t, nc, "$JS.API.STREAM.INFO.NOPE", "")); code != 10059 {
		t.Fatalf("stream info of a missing stream: %d", code)
	}
	if _, err := nc.Request("$JS.API.FOO", nil, 200*time.Millisecond); err == nil {
		t.Fatal("an unknown API subject was answered")
	}
	if _, err := js.CreateStream(testContext(t), jetstream.StreamConfig{Name: "S", AllowDirect: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := directGet(nc, "$JS.API.DIRECT.GET.S", `{"seq":1}`); err != nil {
		t.Fatal(err)
	}
	// INFO, INFO, STREAM.INFO and STREAM.CREATE came before; FOO and DIRECT.GET do not count.
	if total, errs := accountAPIStats(t, nc); total != 4 || errs != 1 {
		t.Fatalf("INFO: total %d errors %d, want 4 1", total, errs)
	}
}

// accountLimitsConfig is TestAccountInfo's "server with limits set" configuration.
const accountLimitsConfig = `
accounts: {
  A {
    users: [{ user: "foo" }]
    jetstream: {
      max_mem: 64MB,
      max_file: 32MB,
      max_streams: 10,
      max_consumers: 20,
      max_ack_pending: 100,
      memory_max_stream_bytes: 2048,
      store_max_stream_bytes: 4096,
      max_stream_bytes: true
    }
  }
  C {
    users: [{ user: "cee" }]
    jetstream: { store_max_stream_bytes: 4096 }
  }
}
no_auth_user: foo
`

// TestIntegrationAccountLimitsReported proves the account's jetstream limits from
// the configuration (max_ack_pending, memory/store_max_stream_bytes and
// max_stream_bytes, the reference's alias of max_bytes_required) are reported by
// INFO as the reference does.
func TestIntegrationAccountLimitsReported(t *testing.T) {
	s := startConfiguredServer(t, accountLimitsConfig, t.TempDir())
	nc := connectAs(t, s, "foo", "")
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.AccountInfo()
	if err != nil {
		t.Fatal(err)
	}
	want := nats.AccountLimits{MaxMemory: 64 << 20, MaxStore: 32 << 20, MaxStreams: 10, MaxConsumers: 20,
		MaxAckPending: 100, MemoryMaxStreamBytes: 2048, StoreMaxStreamBytes: 4096, MaxBytesRequired: true}
	if info.Limits != want || info.API.Total != 0 {
		t.Fatalf("limits %+v total %d, want %+v and 0", info.Limits, info.API.Total, want)
	}
	unlimited, err := connectAs(t, s, "cee", "").JetStream()
	if err != nil {
		t.Fatal(err)
	}
	info, err = unlimited.AccountInfo()
	if err != nil {
		t.Fatal(err)
	}
	want = nats.AccountLimits{MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1, MaxAckPending: -1,
		MemoryMaxStreamBytes: -1, StoreMaxStreamBytes: 4096}
	if info.Limits != want {
		t.Fatalf("limits %+v, want %+v", info.Limits, want)
	}
}

// TestIntegrationAccountLimitsEnforced proves the reference's errors for those
// limits: a stream without max_bytes where it is required (10113), max_bytes over
// the storage type's max_stream_bytes on create and update (10122), and a consumer's
// max_ack_pending over the account's (10121, which also becomes the default).
func TestIntegrationAccountLimitsEnforced(t *testing.T) {
	s := startConfiguredServer(t, accountLimitsConfig, t.TempDir())
	nc := connectAs(t, s, "foo", "")
	for _, c := range []struct {
		body        string
		code        int
		description string
	}{
		{`{"name":"S1","subjects":["s1"],"storage":"memory"}`, 10113, "account requires a stream config to have max bytes set"},
		{`{"name":"S1","subjects":["s1"],"storage":"file","max_bytes":-1}`, 10113, "account requires a stream config to have max bytes set"},
		{`{"name":"S1","subjects":["s1"],"storage":"memory","max_bytes":4096}`, 10122, "stream max bytes exceeds account limit max stream bytes"},
		{`{"name":"S1","subjects":["s1"],"storage":"file","max_bytes":8192}`, 10122, "stream max bytes exceeds account limit max stream bytes"},
		{`{"name":"S1","subjects":["s1"],"storage":"memory","max_bytes":2048}`, 0, ""},
		{`{"name":"S2","subjects":["s2"],"storage":"file","max_bytes":4096}`, 0, ""},
	} {
		var name struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal([]byte(c.body), &name)
		code, description := apiErrorCode(apiFields(t, nc, "$JS.API.STREAM.CREATE."+name.Name, c.body))
		if code != c.code || description != c.description {
			t.Fatalf("create %s: %d %q, want %d %q", c.body, code, description, c.code, c.description)
		}
	}
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"name":"S1","subjects":["s1"],"storage":"memory","max_bytes":4096}`, 10122},
		{`{"name":"S1","subjects":["s1"],"storage":"memory"}`, 10113},
		{`{"name":"S1","subjects":["s1"],"storage":"memory","max_bytes":1024}`, 0},
	} {
		if code, _ := apiErrorCode(apiFields(t, nc, "$JS.API.STREAM.UPDATE.S1", c.body)); code != c.code {
			t.Fatalf("update %s: %d, want %d", c.body, code, c.code)
		}
	}
	answer := apiFields(t, nc, "$JS.API.CONSUMER.CREATE.S2", `{"stream_name":"S2","config":{"ack_policy":"explicit","max_ack_pending":200}}`)
	if code, description := apiErrorCode(answer); code != 10121 || description != "consumer max ack pending exceeds system limit of 100" {
		t.Fatalf("consumer over max_ack_pending: %d %q", code, description)
	}
	for _, c := range []struct {
		config string
		want   float64
	}{
		{`{"ack_policy":"explicit"}`, 100},
		{`{"ack_policy":"explicit","max_ack_pending":100}`, 100},
		{`{"ack_policy":"explicit","max_ack_pending":-1}`, -1},
	} {
		answer := apiFields(t, nc, "$JS.API.CONSUMER.CREATE.S2", `{"stream_name":"S2","config":`+c.config+`}`)
		config, _ := answer["config"].(map[string]any)
		if code, _ := apiErrorCode(answer); code != 0 || config["max_ack_pending"] != c.want {
			t.Fatalf("consumer %s: %v, want max_ack_pending %v", c.config, answer, c.want)
		}
	}
	// Without max_bytes_required a stream may leave max_bytes unset under a cap.
	other := connectAs(t, s, "cee", "")
	if code, _ := apiErrorCode(apiFields(t, other, "$JS.API.STREAM.CREATE.S3", `{"name":"S3","storage":"file"}`)); code != 0 {
		t.Fatalf("stream without max_bytes under store_max_stream_bytes: %d", code)
	}
}

// importConfig is TestJetStreamImportDirectOnly's configuration, with an account W
// that imports no JetStream API.
const importConfig = `
accounts: {
  JS: {
    jetstream: enabled
    users: [ {user: dlc, password: foo} ]
    exports [
      { service: "$JS.API.INFO" }
      { service: "ORDERS" }
      { service: "$JS.API.CONSUMER.INFO.ORDERS.d1", response: stream }
      { service: "$JS.API.CONSUMER.MSG.NEXT.ORDERS.d1", response: stream }
      { service: "$JS.ACK.ORDERS.*.>" }
      { service: "$JS.ACK.*.*.ORDERS.*.>" }
    ]
  },
  U: {
    users: [ { user: rip, password: bar } ]
    imports [
      { service: { subject: "$JS.API.INFO", account: JS } }
      { service: { subject: "ORDERS", account: JS } , to: "orders" }
      { service: { subject: "$JS.API.CONSUMER.MSG.NEXT.ORDERS.d1", account: JS } }
      { service: { subject: "$JS.ACK.ORDERS.*.>", account: JS } }
      { service: { subject: "$JS.ACK.*.*.ORDERS.*.>", account: JS } }
    ]
  },
  W: {
    users: [ { user: w, password: w } ]
    imports [
      { service: { subject: "ORDERS", account: JS } , to: "orders" }
    ]
  },
}
no_auth_user: rip
`

// TestIntegrationImportedAPIWithoutJetStream proves what an account without
// JetStream sees, as in the reference: when it imports $JS.API.INFO it uses the
// exporter's JetStream through its imports (a bound pull consumer fetches and acks
// through the imported MSG.NEXT, whose messages come back through the service
// import) and what it does not import has no responders; an account that imports
// no API gets "JetStream not enabled for account" in each operation's response type.
func TestIntegrationImportedAPIWithoutJetStream(t *testing.T) {
	s := startConfiguredServer(t, importConfig, t.TempDir())
	owner := connectAs(t, s, "dlc", "foo")
	jsOwner, err := owner.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jsOwner.AddStream(&nats.StreamConfig{Name: "ORDERS"}); err != nil {
		t.Fatal(err)
	}
	if _, err := jsOwner.AddConsumer("ORDERS", &nats.ConsumerConfig{Durable: "d1", AckPolicy: nats.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	importer := connectAs(t, s, "rip", "bar")
	js, err := importer.JetStream(nats.MaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := js.Publish("orders", []byte(fmt.Sprintf("ORDER-%d", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := importer.Request("$JS.API.CONSUMER.INFO.ORDERS.d1", nil, 2*time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("a JetStream API subject the account does not import: %v, want no responders", err)
	}
	sub, err := js.PullSubscribe("ORDERS", "d1", nats.Bind("ORDERS", "d1"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Fetch(10, nats.MaxWait(5*time.Second))
	if err != nil || len(msgs) != 10 {
		t.Fatalf("fetch through the imported MSG.NEXT: %d messages, %v", len(msgs), err)
	}
	for _, msg := range msgs {
		if err := msg.AckSync(); err != nil {
			t.Fatal(err)
		}
	}
	info, err := jsOwner.ConsumerInfo("ORDERS", "d1")
	if err != nil || info.AckFloor.Consumer != 10 {
		t.Fatalf("acks through the import: %+v %v", info, err)
	}
	plain := connectAs(t, s, "w", "w")
	for subject, responseType := range map[string]string{
		"$JS.API.INFO":                    "io.nats.jetstream.api.v1.account_info_response",
		"$JS.API.STREAM.INFO.ORDERS":      "io.nats.jetstream.api.v1.stream_info_response",
		"$JS.API.CONSUMER.INFO.ORDERS.d1": "io.nats.jetstream.api.v1.consumer_info_response",
	} {
		answer := apiFields(t, plain, subject, "")
		if code, description := apiErrorCode(answer); code != 10039 || description != "JetStream not enabled for account" ||
			answer["type"] != responseType {
			t.Fatalf("%s: %v", subject, answer)
		}
	}
	plainJS, err := plain.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plainJS.AccountInfo(); !errors.Is(err, nats.ErrJetStreamNotEnabledForAccount) {
		t.Fatalf("AccountInfo without JetStream: %v", err)
	}
}
