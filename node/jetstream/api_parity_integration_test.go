package jetstream_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The tests in this file pin answers that a side-by-side run against nats-server
// v2.15.2 (the same JetStream API script sent to both, JSON compared after removing
// times and identities) found different; each asserts what the reference answered.

// rawAnswer sends a raw API request and returns the decoded JSON answer.
func rawAnswer(t *testing.T, nc *nats.Conn, subject, body string) map[string]any {
	t.Helper()
	var out map[string]any
	apiRequest(t, nc, subject, body, &out)
	return out
}

// lookup walks a dotted path of object keys ("config.metadata._nats.ver") in a JSON
// answer; keys may themselves hold dots, so the longest key present wins.
func lookup(answer map[string]any, path string) (any, bool) {
	return lookupParts(answer, strings.Split(path, "."))
}

func lookupParts(current any, parts []string) (any, bool) {
	if len(parts) == 0 {
		return current, true
	}
	object, ok := current.(map[string]any)
	if !ok {
		return nil, false
	}
	for end := len(parts); end > 0; end-- {
		if next, ok := object[strings.Join(parts[:end], ".")]; ok {
			if found, ok := lookupParts(next, parts[end:]); ok {
				return found, true
			}
		}
	}
	return nil, false
}

func wantField(t *testing.T, answer map[string]any, path string, want any) {
	t.Helper()
	got, ok := lookup(answer, path)
	if !ok {
		t.Fatalf("%s missing from %v", path, answer)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("%s = %s, want %s (answer %v)", path, gotJSON, wantJSON, answer)
	}
}

func wantNoField(t *testing.T, answer map[string]any, path string) {
	t.Helper()
	if got, ok := lookup(answer, path); ok {
		t.Fatalf("%s = %v, want it absent", path, got)
	}
}

func wantErrCode(t *testing.T, answer map[string]any, code int, description string) {
	t.Helper()
	wantField(t, answer, "error.err_code", code)
	if description != "" {
		wantField(t, answer, "error.description", description)
	}
}

func publishAck(t *testing.T, nc *nats.Conn, msg *nats.Msg) map[string]any {
	t.Helper()
	reply, err := nc.RequestMsg(msg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(reply.Data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIntegrationWorkQueueKeepsMessages proves a work queue stream stores messages
// while it has no consumer and keeps them when its consumer goes, while an interest
// stream drops both, as the reference does.
func TestIntegrationWorkQueueKeepsMessages(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.WQ", `{"name":"WQ","subjects":["wq.*"],"retention":"workqueue"}`)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.IN", `{"name":"IN","subjects":["in.*"],"retention":"interest"}`)
	for _, subject := range []string{"wq.a", "wq.b", "in.a"} {
		publishAck(t, nc, &nats.Msg{Subject: subject, Data: []byte("x")})
	}
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.WQ", ""), "state.messages", 2)
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.IN", ""), "state.messages", 0)

	rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.WQ.W", `{"stream_name":"WQ","config":{"durable_name":"W","ack_policy":"explicit"}}`)
	rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.IN.I", `{"stream_name":"IN","config":{"durable_name":"I","ack_policy":"explicit"}}`)
	publishAck(t, nc, &nats.Msg{Subject: "in.b", Data: []byte("x")})
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.IN", ""), "state.messages", 1)
	rawAnswer(t, nc, "$JS.API.CONSUMER.DELETE.WQ.W", "")
	rawAnswer(t, nc, "$JS.API.CONSUMER.DELETE.IN.I", "")
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.WQ", ""), "state.messages", 2)
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.IN", ""), "state.messages", 0)
}

// TestIntegrationStreamInfoShape proves STREAM.INFO answers as the reference's single
// server: first_seq 0 until a stream held a message (first_seq configured otherwise),
// the server named as the cluster's leader, the asset version metadata added to the
// configuration, while create answers carry no cluster and lists only the stored
// required level.
func TestIntegrationStreamInfoShape(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	created := rawAnswer(t, nc, "$JS.API.STREAM.CREATE.E", `{"name":"E","subjects":["e"]}`)
	wantField(t, created, "state.first_seq", 0)
	wantField(t, created, "did_create", true)
	wantNoField(t, created, "cluster")
	wantField(t, created, "config.metadata", map[string]string{"_nats.level": "5", "_nats.req.level": "0", "_nats.ver": "2.15.2"})
	again := rawAnswer(t, nc, "$JS.API.STREAM.CREATE.E", `{"name":"E","subjects":["e"]}`)
	wantField(t, again, "did_create", true)

	info := rawAnswer(t, nc, "$JS.API.STREAM.INFO.E", "")
	wantField(t, info, "state.first_seq", 0)
	wantField(t, info, "cluster.leader", s.Name())
	wantField(t, info, "config.metadata._nats.ver", "2.15.2")

	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.F", `{"name":"F","subjects":["f"],"first_seq":100}`)
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.F", ""), "state.first_seq", 100)
	publishAck(t, nc, &nats.Msg{Subject: "e", Data: []byte("x")})
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.E", ""), "state.first_seq", 1)

	list := rawAnswer(t, nc, "$JS.API.STREAM.LIST", "")
	streams := list["streams"].([]any)
	first := streams[0].(map[string]any)
	wantField(t, first, "config.metadata", map[string]string{"_nats.req.level": "0"})
	wantNoField(t, first, "cluster")

	ttl := rawAnswer(t, nc, "$JS.API.STREAM.CREATE.T", `{"name":"T","subjects":["t"],"allow_msg_ttl":true,"metadata":{"_nats.ver":"0.0.1","own":"x"}}`)
	wantField(t, ttl, "config.metadata", map[string]string{"_nats.level": "5", "_nats.req.level": "1", "_nats.ver": "2.15.2", "own": "x"})
	counter := rawAnswer(t, nc, "$JS.API.STREAM.CREATE.C", `{"name":"C","subjects":["c"],"allow_msg_counter":true}`)
	wantField(t, counter, "config.metadata._nats.req.level", "2")
	updated := rawAnswer(t, nc, "$JS.API.STREAM.UPDATE.T", `{"name":"T","subjects":["t"],"allow_msg_ttl":true,"description":"d"}`)
	wantField(t, updated, "config.metadata", map[string]string{"_nats.level": "5", "_nats.req.level": "1", "_nats.ver": "2.15.2"})

	none := rawAnswer(t, nc, "$JS.API.STREAM.NAMES", `{"subject":"nothing.here"}`)
	wantField(t, none, "streams", nil)
}

// TestIntegrationConsumerMetadataAndDefaults proves consumer answers carry the asset
// version metadata (create and info, not lists), that pausing records the level it
// needs, that a consumer without a durable name reports the 5s inactive threshold,
// and that priority group state is reported for any priority policy.
func TestIntegrationConsumerMetadataAndDefaults(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	created := rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.S.D", `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit","metadata":{"k":"v"}}}`)
	wantField(t, created, "config.metadata", map[string]string{"_nats.level": "5", "_nats.req.level": "0", "_nats.ver": "2.15.2", "k": "v"})
	wantNoField(t, created, "config.inactive_threshold")
	named := rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.S.N", `{"stream_name":"S","config":{"name":"N","ack_policy":"explicit","priority_policy":"overflow","priority_groups":["G"]}}`)
	wantField(t, named, "config.inactive_threshold", 5*time.Second)
	wantField(t, named, "config.metadata._nats.req.level", "1")
	groups, _ := lookup(named, "priority_groups")
	if list, ok := groups.([]any); !ok || len(list) != 1 || list[0].(map[string]any)["group"] != "G" {
		t.Fatalf("overflow consumer priority_groups = %v, want the group G", groups)
	}

	ephemeral := rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.S", `{"stream_name":"S","config":{"ack_policy":"explicit"}}`)
	wantNoField(t, ephemeral, "config.name")
	if name, _ := ephemeral["name"].(string); len(name) == 0 {
		t.Fatalf("ephemeral consumer answered without a name: %v", ephemeral)
	}
	wantField(t, ephemeral, "config.inactive_threshold", 5*time.Second)

	rawAnswer(t, nc, "$JS.API.CONSUMER.PAUSE.S.D", `{"pause_until":"2099-01-01T00:00:00Z"}`)
	wantField(t, rawAnswer(t, nc, "$JS.API.CONSUMER.INFO.S.D", ""), "config.metadata._nats.req.level", "1")
	rawAnswer(t, nc, "$JS.API.CONSUMER.PAUSE.S.D", `{}`)
	wantField(t, rawAnswer(t, nc, "$JS.API.CONSUMER.INFO.S.D", ""), "config.metadata._nats.req.level", "0")

	list := rawAnswer(t, nc, "$JS.API.CONSUMER.LIST.S", "")
	for _, entry := range list["consumers"].([]any) {
		wantNoField(t, entry.(map[string]any), "config.metadata._nats.ver")
	}
}

// TestIntegrationStrictRequests proves requests decode as the reference's strict
// default: unknown fields and truncated JSON are invalid JSON (10025) with its
// wording, an empty create body names no stream (10056), and creates that are sealed
// or ask for replicas on a server without a cluster are refused.
func TestIntegrationStrictRequests(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.CREATE.P", `{"name":"P","bogus":1}`), 10025, `invalid JSON: json: unknown field "bogus"`)
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.CREATE.P", `{"name":"P","pedantic":true,"bogus":1}`), 10025, `invalid JSON: json: unknown field "bogus"`)
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.CREATE.P", `{"name":`), 10025, "invalid JSON: unexpected EOF")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.CREATE.P", ``), 10056, "stream name in subject does not match request")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.CREATE.P", `{"name":"P","sealed":true}`), 10052, "stream configuration for create can not be sealed")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.CREATE.P", `{"name":"P","num_replicas":3}`), 10074, "replicas > 1 not supported in non-clustered mode")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.P", `{"bogus":true}`), 10025, `invalid JSON: json: unknown field "bogus"`)
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.CREATE.P", `{"name":"P","mirror_direct":true}`), 10052, "stream has no mirror but does have mirror direct")
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.Q", `{"name":"Q","subjects":["q"]}`)
	rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.Q.D", `{"stream_name":"Q","config":{"durable_name":"D"}}`)
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.CONSUMER.PAUSE.Q.D", `{"pause_until":"2099-01-01T00:00:00Z","bogus":1}`), 10025, `invalid JSON: json: unknown field "bogus"`)
	long := strings.Repeat("N", 300)
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.CREATE."+long, `{"name":"`+long+`"}`), 10052, "stream name is too long, maximum allowed is 255")
}

// TestIntegrationErrorAnswerShapes proves error answers keep the fields the
// reference's response types never omit.
func TestIntegrationErrorAnswerShapes(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s.>"],"deny_purge":true}`)
	info := rawAnswer(t, nc, "$JS.API.STREAM.INFO.NOPE", "")
	wantErrCode(t, info, 10059, "")
	wantField(t, info, "total", 0)
	wantField(t, info, "offset", 0)
	wantField(t, info, "limit", 0)
	purge := rawAnswer(t, nc, "$JS.API.STREAM.PURGE.S", "")
	if _, refused := lookup(purge, "error"); !refused {
		t.Fatalf("purge of a deny_purge stream answered %v", purge)
	}
	wantField(t, purge, "purged", 0)
	names := rawAnswer(t, nc, "$JS.API.CONSUMER.NAMES.S", `{"subject":"x"}`)
	wantErrCode(t, names, 10025, "")
	wantField(t, names, "consumers", []string{})
	wantField(t, names, "total", 0)
	pause := rawAnswer(t, nc, "$JS.API.CONSUMER.PAUSE.S.NOPE", `{}`)
	wantErrCode(t, pause, 10014, "")
	wantField(t, pause, "paused", false)
	wantField(t, pause, "pause_until", "0001-01-01T00:00:00Z")
}

// TestIntegrationMessageDeleteAndLastMsgID proves STREAM.MSG.DELETE errors as the
// reference's (its store's words, 10057, not counted as API errors; an empty request
// is a bad request), and that Nats-Expected-Last-Msg-Id compares with the last
// message's ID, empty when that message had none.
func TestIntegrationMessageDeleteAndLastMsgID(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	publishAck(t, nc, &nats.Msg{Subject: "s.a", Header: nats.Header{"Nats-Msg-Id": []string{"id1"}}})
	publishAck(t, nc, &nats.Msg{Subject: "s.a"})
	rawAnswer(t, nc, "$JS.API.STREAM.MSG.DELETE.S", `{"seq":1}`)
	errorsBefore, _ := lookup(rawAnswer(t, nc, "$JS.API.INFO", ""), "api.errors")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.DELETE.S", `{"seq":1}`), 10057, "no message found")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.DELETE.S", `{"seq":1000}`), 10057, "stream store EOF")
	wantField(t, rawAnswer(t, nc, "$JS.API.INFO", ""), "api.errors", errorsBefore)
	rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.S.D", `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit"}}`)
	delivered, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT.S.D", []byte(`{"batch":1}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Request(delivered.Reply, []byte("+BOGUS"), 5*time.Second); err != nil {
		t.Fatalf("an unknown ack with a reply gets an empty answer as from the reference: %v", err)
	}
	wantField(t, rawAnswer(t, nc, "$JS.API.CONSUMER.INFO.S.D", ""), "num_ack_pending", 1)
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.DELETE.S", `{}`), 10003, "bad request")

	refused := publishAck(t, nc, &nats.Msg{Subject: "s.b", Header: nats.Header{"Nats-Expected-Last-Msg-Id": []string{"id1"}}})
	wantErrCode(t, refused, 10070, "wrong last msg ID: ")
	publishAck(t, nc, &nats.Msg{Subject: "s.b", Header: nats.Header{"Nats-Msg-Id": []string{"id2"}}})
	accepted := publishAck(t, nc, &nats.Msg{Subject: "s.b", Header: nats.Header{"Nats-Expected-Last-Msg-Id": []string{"id2"}}})
	wantField(t, accepted, "seq", 4)
}

// TestIntegrationAPICounters proves api.total leaves out what the reference does not
// answer as API responses (pull requests, messages found by STREAM.MSG.GET) and that
// the account's consumer count includes the consumers mirrors ask for.
func TestIntegrationAPICounters(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.S.D", `{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit"}}`)
	publishAck(t, nc, &nats.Msg{Subject: "s.a", Data: []byte("x")})
	before, _ := lookup(rawAnswer(t, nc, "$JS.API.INFO", ""), "api.total")
	rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.S", `{"seq":1}`)
	if _, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT.S.D", []byte(`{"batch":1}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// INFO itself counts once answered: one more than before.
	wantField(t, rawAnswer(t, nc, "$JS.API.INFO", ""), "api.total", before.(float64)+1)
	rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.S", `{"seq":99}`)
	wantField(t, rawAnswer(t, nc, "$JS.API.INFO", ""), "api.total", before.(float64)+3)

	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.M", `{"name":"M","mirror":{"name":"S"}}`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		consumers, _ := lookup(rawAnswer(t, nc, "$JS.API.INFO", ""), "consumers")
		if consumers == float64(2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("account consumers = %v, want the durable and the mirror's", consumers)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.S", ""), "state.consumer_count", 1)
}

// TestIntegrationMirrorDropsExpectations proves a mirror stores its origin's
// messages without their Nats-Expected- headers (and without headers when none
// other is left), as the reference's mirror does.
func TestIntegrationMirrorDropsExpectations(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.M", `{"name":"M","mirror":{"name":"S"}}`)
	publishAck(t, nc, &nats.Msg{Subject: "s.a", Data: []byte("x"), Header: nats.Header{"Nats-Expected-Stream": []string{"S"}}})
	publishAck(t, nc, &nats.Msg{Subject: "s.a", Data: []byte("x"), Header: nats.Header{"Nats-Expected-Stream": []string{"S"}, "Keep": []string{"1"}}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if messages, _ := lookup(rawAnswer(t, nc, "$JS.API.STREAM.INFO.M", ""), "state.messages"); messages == float64(2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("mirror did not catch up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantNoField(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.M", `{"seq":1}`), "message.hdrs")
	second := rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.M", `{"seq":2}`)
	wantField(t, second, "message.hdrs", []byte("NATS/1.0\r\nKeep: 1\r\n\r\n"))
}

// TestIntegrationIdlePullConsumerWaitsForAcks proves a pull consumer without a
// durable name is not deleted for inactivity while a delivered message may still be
// acknowledged: as the reference, the threshold counts from the last ack deadline.
func TestIntegrationIdlePullConsumerWaitsForAcks(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	publishAck(t, nc, &nats.Msg{Subject: "s.a", Data: []byte("x")})
	rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.S.E", `{"stream_name":"S","config":{"name":"E","ack_policy":"explicit","ack_wait":2000000000,"inactive_threshold":500000000}}`)
	if _, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT.S.E", []byte(`{"batch":1}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	wantField(t, rawAnswer(t, nc, "$JS.API.CONSUMER.INFO.S.E", ""), "name", "E")
	deadline := time.Now().Add(6 * time.Second)
	for {
		if _, failed := lookup(rawAnswer(t, nc, "$JS.API.CONSUMER.INFO.S.E", ""), "error"); failed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("idle consumer kept long after its ack deadline")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIntegrationPullStatusAnswers proves two pull answers are the reference's: a
// no_wait request no message can go to (an overflow group's min_pending not reached)
// ends with 404 No Messages, and a request waiting when its consumer is deleted gets
// 409 Consumer Deleted without pending counts.
func TestIntegrationPullStatusAnswers(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`)
	publishAck(t, nc, &nats.Msg{Subject: "s.a", Data: []byte("x")})
	rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.S.O", `{"stream_name":"S","config":{"durable_name":"O","ack_policy":"explicit","priority_policy":"overflow","priority_groups":["G"]}}`)
	answer, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT.S.O", []byte(`{"batch":1,"no_wait":true,"group":"G","min_pending":100}`), 2*time.Second)
	if err != nil {
		t.Fatalf("no_wait request with unmet min_pending: %v", err)
	}
	if answer.Header.Get("Status") != "404" || answer.Header.Get("Description") != "No Messages" {
		t.Fatalf("no_wait request with unmet min_pending answered %v", answer.Header)
	}

	rawAnswer(t, nc, "$JS.API.CONSUMER.CREATE.S.W", `{"stream_name":"S","config":{"durable_name":"W","ack_policy":"explicit","deliver_policy":"new"}}`)
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.S.W", inbox, []byte(`{"batch":5,"expires":5000000000}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if waiting, _ := lookup(rawAnswer(t, nc, "$JS.API.CONSUMER.INFO.S.W", ""), "num_waiting"); waiting == float64(1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pull request never waited")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rawAnswer(t, nc, "$JS.API.CONSUMER.DELETE.S.W", "")
	deleted, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if deleted.Header.Get("Status") != "409" || deleted.Header.Get("Description") != "Consumer Deleted" ||
		deleted.Header.Get("Nats-Pending-Messages") != "" || deleted.Header.Get("Nats-Pending-Bytes") != "" {
		t.Fatalf("waiting request of a deleted consumer answered %v", deleted.Header)
	}
}

// TestIntegrationStreamBytesByStorage proves stream infos count bytes as the
// reference's stores: a file record is the parts plus 30 (34 with headers), a memory
// one the parts plus 16.
func TestIntegrationStreamBytesByStorage(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.F", `{"name":"F","subjects":["fs.*"]}`)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.M", `{"name":"M","subjects":["ms.*"],"storage":"memory"}`)
	publishAck(t, nc, &nats.Msg{Subject: "fs.a", Data: []byte("x")})
	publishAck(t, nc, &nats.Msg{Subject: "ms.a", Data: []byte("x")})
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.F", ""), "state.bytes", 35)
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.M", ""), "state.bytes", 21)
	msg := &nats.Msg{Subject: "fs.b", Data: []byte("x"), Header: nats.Header{"A": []string{"b"}}}
	publishAck(t, nc, msg)
	headerBytes := len("NATS/1.0\r\nA: b\r\n\r\n")
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.F", ""), "state.bytes", 35+4+1+30+4+headerBytes)
}

// TestIntegrationRollupsAndSchedules proves a subject rollup that is the stream's
// first message keeps itself (a purge into a new KV bucket leaves its marker), and
// that a schedule is stored as a subject rollup with Nats-Rollup: sub added, as the
// reference stores it, replacing the subject's earlier schedule.
func TestIntegrationRollupsAndSchedules(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.R", `{"name":"R","subjects":["r.>"],"allow_rollup_hdrs":true}`)
	publishAck(t, nc, &nats.Msg{Subject: "r.a", Data: []byte("x"), Header: nats.Header{"Nats-Rollup": []string{"sub"}}})
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.INFO.R", ""), "state.messages", 1)
	publishAck(t, nc, &nats.Msg{Subject: "r.a", Data: []byte("y"), Header: nats.Header{"Nats-Rollup": []string{"sub"}}})
	info := rawAnswer(t, nc, "$JS.API.STREAM.INFO.R", "")
	wantField(t, info, "state.messages", 1)
	wantField(t, info, "state.first_seq", 2)

	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.SC", `{"name":"SC","subjects":["sc.>"],"allow_msg_schedules":true}`)
	schedule := func(pattern string, extra ...string) map[string]any {
		msg := &nats.Msg{Subject: "sc.a", Data: []byte("x"), Header: nats.Header{"Nats-Schedule": []string{pattern}, "Nats-Schedule-Target": []string{"sc.t"}}}
		for i := 0; i+1 < len(extra); i += 2 {
			msg.Header.Set(extra[i], extra[i+1])
		}
		return publishAck(t, nc, msg)
	}
	wantField(t, schedule("@at 2099-01-01T00:00:00Z"), "seq", 1)
	wantField(t, schedule("@every 1h"), "seq", 2)
	wantErrCode(t, schedule("@every 1h", "Nats-Rollup", "all"), 10192, "")
	info = rawAnswer(t, nc, "$JS.API.STREAM.INFO.SC", "")
	wantField(t, info, "state.messages", 1)
	wantField(t, info, "state.first_seq", 2)
	var stored struct {
		Message struct {
			Header []byte `json:"hdrs"`
		} `json:"message"`
	}
	apiRequest(t, nc, "$JS.API.STREAM.MSG.GET.SC", `{"seq":2}`, &stored)
	if !strings.Contains(string(stored.Message.Header), "\r\nNats-Rollup: sub\r\n") {
		t.Fatalf("stored schedule headers %q, want Nats-Rollup: sub added", stored.Message.Header)
	}
}

// TestIntegrationMessageGetVariants proves STREAM.MSG.GET and DIRECT.GET take the
// reference's request forms: a start time alone or before a next subject, not with a
// sequence or a last subject; a start time past the last message finds nothing; and
// no_hdr leaves out the stored headers (a direct get then sends no headers at all).
func TestIntegrationMessageGetVariants(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, _ := connectJetStream(t, s)
	rawAnswer(t, nc, "$JS.API.STREAM.CREATE.G", `{"name":"G","subjects":["g.*"],"allow_direct":true}`)
	publishAck(t, nc, &nats.Msg{Subject: "g.a", Data: []byte("1"), Header: nats.Header{"H": []string{"v"}}})
	publishAck(t, nc, &nats.Msg{Subject: "g.b", Data: []byte("2")})
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.G", `{"start_time":"2000-01-01T00:00:00Z"}`), "message.seq", 1)
	wantField(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.G", `{"start_time":"2000-01-01T00:00:00Z","next_by_subj":"g.b"}`), "message.seq", 2)
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.G", `{"start_time":"2099-01-01T00:00:00Z"}`), 10037, "no message found")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.G", `{"start_time":"2000-01-01T00:00:00Z","seq":1}`), 10003, "bad request")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.G", `{"start_time":"2000-01-01T00:00:00Z","last_by_subj":"g.a"}`), 10003, "bad request")
	wantErrCode(t, rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.G", `{"seq":1,"max_bytes":10}`), 10003, "bad request")
	plain := rawAnswer(t, nc, "$JS.API.STREAM.MSG.GET.G", `{"seq":1,"no_hdr":true}`)
	wantField(t, plain, "message.seq", 1)
	wantNoField(t, plain, "message.hdrs")

	direct, err := nc.Request("$JS.API.DIRECT.GET.G", []byte(`{"seq":1,"no_hdr":true}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(direct.Header) != 0 || string(direct.Data) != "1" {
		t.Fatalf("direct get with no_hdr answered headers %v data %q, want the data alone", direct.Header, direct.Data)
	}
	multi, err := nc.Request("$JS.API.DIRECT.GET.G", []byte(`{"multi_last":["g.a","g.b"],"batch":1,"no_hdr":true}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if multi.Header.Get("Nats-Num-Pending") != "1" || multi.Header.Get("Nats-Sequence") != "1" {
		t.Fatalf("multi-last batch of 1 answered %v, want headers with the one match left pending", multi.Header)
	}
}
