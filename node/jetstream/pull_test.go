package jetstream

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/natsim/natsim/proto/jsapi"
)

// TestPullBatchDeliversInOrderWithAckReplies proves that a pull request for a batch
// gets that many messages in stream order, each with a version 1 ack reply naming the
// stream, the consumer, the sequences and the pending count.
func TestPullBatchDeliversInOrderWithAckReplies(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	for i := range 5 {
		h.publish("s.a", fmt.Sprint(i))
	}
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	h.pull("_INBOX.1", `{"batch":3}`)
	sent := h.take()
	if got := streamSequences(t, sent); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("delivered %v, want [1 2 3]", got)
	}
	reply, _ := jsapi.ParseAckReply(sent[0].reply)
	want := jsapi.AckReply{Stream: "S", Consumer: "D", Delivered: 1, StreamSeq: 1, ConsumerSeq: 1, Timestamp: reply.Timestamp, Pending: 4}
	if reply != want {
		t.Fatalf("reply %+v, want %+v", reply, want)
	}
	if sent[0].subject != "_INBOX.1" || sent[0].messageSubject != "s.a" || string(sent[0].body) != "0" {
		t.Fatalf("first delivery %q %q", sent[0].subject, sent[0].body)
	}
	info := h.consumer.Info()
	if info.NumAckPending != 3 || info.NumPending != 2 || info.Delivered.Stream != 3 || info.NumWaiting != 0 {
		t.Fatalf("info %+v", info)
	}
}

// TestPullWaitsForNewMessages proves that a request without enough messages waits
// and is served when messages arrive.
func TestPullWaitsForNewMessages(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	h.pull("_INBOX.1", `{"batch":2,"expires":1000000000}`)
	if sent := h.take(); len(sent) != 0 {
		t.Fatalf("sent %d before any message", len(sent))
	}
	if h.consumer.Info().NumWaiting != 1 {
		t.Fatal("request not waiting")
	}
	h.publish("s.a", "x")
	h.publish("s.b", "y")
	if got := streamSequences(t, h.take()); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("delivered %v", got)
	}
	if h.consumer.Info().NumWaiting != 0 {
		t.Fatal("satisfied request still waiting")
	}
}

// TestPullStatusMessages proves the reference's status replies: 404 for no_wait on
// an empty consumer, 408 with pending counts at expiry, 409 for the request limits and
// for a full waiting queue.
func TestPullStatusMessages(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit, MaxWaiting: 1, MaxRequestBatch: 10, MaxRequestExpires: 5 * time.Second, MaxRequestMaxBytes: 1000})

	h.pull("r.nowait", `{"batch":1,"no_wait":true}`)
	if got := statuses(h.take()); !slices.Equal(got, []string{"404 No Messages"}) {
		t.Fatalf("no_wait: %v", got)
	}
	h.pull("r.batch", `{"batch":11}`)
	h.pull("r.expires", `{"batch":1,"expires":6000000000}`)
	h.pull("r.bytes", `{"batch":1,"max_bytes":2000}`)
	want := []string{"409 Exceeded MaxRequestBatch of 10", "409 Exceeded MaxRequestExpires of 5s", "409 Exceeded MaxRequestMaxBytes of 1000"}
	if got := statuses(h.take()); !slices.Equal(got, want) {
		t.Fatalf("limits: %v", got)
	}
	h.pull("r.wait", `{"batch":4,"expires":1000000000}`)
	h.pull("r.full", `{"batch":1,"expires":1000000000}`)
	if got := statuses(h.take()); !slices.Equal(got, []string{"409 Exceeded MaxWaiting"}) {
		t.Fatalf("full: %v", got)
	}
	h.clock.Advance(time.Second)
	sent := h.take()
	if got := statuses(sent); !slices.Equal(got, []string{"408 Request Timeout"}) {
		t.Fatalf("expiry: %v", got)
	}
	if sent[0].subject != "r.wait" || sent[0].headerValue(jsapi.HeaderPendingMessages) != "4" || sent[0].headerValue(jsapi.HeaderPendingBytes) != "0" {
		t.Fatalf("timeout message %+v", sent[0])
	}
	h.pull("r.bad", `{"batch":1,"expires":1000000000,"idle_heartbeat":800000000}`)
	if got := statuses(h.take()); !slices.Equal(got, []string{"400 Bad Request - heartbeat value too large"}) {
		t.Fatalf("bad heartbeat: %v", got)
	}
}

// TestPullNoWaitEndsAfterAvailableMessages proves that a no_wait request takes what
// is there and then gets 404 No Messages instead of waiting.
func TestPullNoWaitEndsAfterAvailableMessages(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", "1")
	h.publish("s.a", "2")
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	h.pull("r", `{"batch":5,"no_wait":true}`)
	sent := h.take()
	if got := streamSequences(t, sent); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("delivered %v", got)
	}
	if got := statuses(sent); !slices.Equal(got, []string{"404 No Messages"}) {
		t.Fatalf("statuses %v", got)
	}
	if h.consumer.Info().NumWaiting != 0 {
		t.Fatal("no_wait request left waiting")
	}
}

// TestPullMaxBytes proves that max_bytes limits a request: a message that does not
// fit ends it with 409 Message Size Exceeds MaxBytes.
func TestPullMaxBytes(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.publish("s.a", string(make([]byte, 100)))
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	h.pull("r", `{"batch":5,"max_bytes":50,"expires":1000000000}`)
	sent := h.take()
	if got := statuses(sent); !slices.Equal(got, []string{"409 Message Size Exceeds MaxBytes"}) {
		t.Fatalf("statuses %v", got)
	}
	if len(deliveries(sent)) != 0 {
		t.Fatal("oversized message delivered")
	}
}

// TestPullHeartbeat proves that a waiting request with idle_heartbeat gets
// "100 Idle Heartbeat" while it waits.
func TestPullHeartbeat(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	h.pull("r", `{"batch":1,"expires":5000000000,"idle_heartbeat":1000000000}`)
	h.clock.Advance(2500 * time.Millisecond)
	got := statuses(h.take())
	if len(got) != 2 || got[0] != "100 Idle Heartbeat" {
		t.Fatalf("heartbeats %v", got)
	}
	h.clock.Advance(3 * time.Second)
	got = statuses(h.take())
	if got[len(got)-1] != "408 Request Timeout" {
		t.Fatalf("end %v", got)
	}
}

// TestPullRequestWithoutInterestIsDropped proves that a request whose reply subject
// lost its subscriber is dropped rather than served.
func TestPullRequestWithoutInterestIsDropped(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	h.pull("gone", `{"batch":1,"expires":5000000000}`)
	h.pull("here", `{"batch":1,"expires":5000000000}`)
	h.noInterest["gone"] = true
	h.publish("s.a", "x")
	sent := deliveries(h.take())
	if len(sent) != 1 || sent[0].subject != "here" {
		t.Fatalf("sent %+v", sent)
	}
}

// TestPushConsumerIsRefusedPullRequests proves the 409 for a pull on a push consumer.
func TestPushConsumerIsRefusedPullRequests(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", DeliverSubject: "d", AckPolicy: jsapi.AckExplicit})
	h.take()
	h.pull("r", `{"batch":1}`)
	if got := statuses(h.take()); !slices.Equal(got, []string{"409 Consumer is push based"}) {
		t.Fatalf("statuses %v", got)
	}
}

// TestPullPinnedClient proves the pinned_client priority policy: the first request
// gets the pin (Nats-Pin-Id on its messages), unpinned requests wait, a wrong pin is
// refused with 423, and after the pinned TTL the pin moves.
func TestPullPinnedClient(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit, PriorityPolicy: jsapi.PriorityPinnedClient, PriorityGroups: []string{"g"}, PinnedTTL: time.Second})
	h.pull("r1", `{"batch":1,"expires":10000000000,"group":"g"}`)
	h.publish("s.a", "x")
	sent := deliveries(h.take())
	if len(sent) != 1 || sent[0].subject != "r1" {
		t.Fatalf("sent %+v", sent)
	}
	pin := sent[0].headerValue(jsapi.HeaderPinID)
	if pin == "" {
		t.Fatal("no pin id")
	}
	h.pull("r2", `{"batch":1,"expires":10000000000,"group":"g"}`)
	h.publish("s.a", "y")
	if got := deliveries(h.take()); len(got) != 0 {
		t.Fatalf("unpinned request served: %+v", got)
	}
	h.pull("r3", `{"batch":1,"expires":10000000000,"group":"g","id":"wrong"}`)
	if got := statuses(h.take()); !slices.Equal(got, []string{"423 Nats-Pin-Id mismatch"}) {
		t.Fatalf("wrong pin: %v", got)
	}
	h.pull("r4", fmt.Sprintf(`{"batch":1,"expires":10000000000,"group":"g","id":%q}`, pin))
	if got := deliveries(h.take()); len(got) != 1 || got[0].subject != "r4" {
		t.Fatalf("pinned request: %+v", got)
	}
	h.clock.Advance(1100 * time.Millisecond)
	h.publish("s.a", "z")
	got := deliveries(h.take())
	if len(got) != 1 || got[0].subject != "r2" || got[0].headerValue(jsapi.HeaderPinID) == pin {
		t.Fatalf("after ttl: %+v", got)
	}
}

// TestPullOverflow proves the overflow policy: a request with min_pending is served
// only once that many messages are pending.
func TestPullOverflow(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit, PriorityPolicy: jsapi.PriorityOverflow, PriorityGroups: []string{"g"}})
	h.pull("r", `{"batch":1,"expires":10000000000,"group":"g","min_pending":3}`)
	h.publish("s.a", "1")
	h.publish("s.a", "2")
	if got := deliveries(h.take()); len(got) != 0 {
		t.Fatalf("served below min_pending: %d", len(got))
	}
	h.publish("s.a", "3")
	if got := deliveries(h.take()); len(got) != 1 {
		t.Fatalf("not served at min_pending: %d", len(got))
	}
	h.pull("r", `{"batch":1,"expires":10000000000,"min_pending":3}`)
	if got := statuses(h.take()); !slices.Equal(got, []string{"400 Bad Request - Priority Group missing"}) {
		t.Fatalf("missing group: %v", got)
	}
}

// TestNumPendingFollowsRemovals proves the pending count drops when the stream
// removes messages the consumer has not delivered yet.
func TestNumPendingFollowsRemovals(t *testing.T) {
	h := newHarness(t, jsapi.StreamConfig{})
	h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit})
	for range 3 {
		h.publish("s.a", "x")
	}
	if _, err := h.store.RemoveMsg(2); err != nil {
		t.Fatal(err)
	}
	if got := h.consumer.Info().NumPending; got != 2 {
		t.Fatalf("num pending %d, want 2", got)
	}
	sent := h.pullAll(5)
	if got := streamSequences(t, sent); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("delivered %v", got)
	}
	if got := h.consumer.Info().NumPending; got != 0 {
		t.Fatalf("num pending %d after draining", got)
	}
}
