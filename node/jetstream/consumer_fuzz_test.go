package jetstream

import (
	"testing"
	"time"

	"github.com/natsim/natsim/proto/jsapi"
)

// FuzzConsumerInputs feeds arbitrary pull request bodies, ack bodies and ack subjects
// to a consumer: nothing may panic, and the pending set must stay between the ack
// floor and the delivered position.
func FuzzConsumerInputs(f *testing.F) {
	f.Add([]byte(`{"batch":3,"expires":1000000000}`), []byte("-NAK 1s"), "$JS.ACK.S.D.1.1.1.0.0")
	f.Add([]byte(`7`), []byte("+TERM reason"), "$JS.ACK._.HASH.S.D.1.2.2.0.0.extra")
	f.Add([]byte(`{"batch":1,"no_wait":true,"max_bytes":5}`), []byte(`-NAK {"delay":-5}`), "$JS.ACK.S.D.99.99.99.0.0")
	f.Add([]byte(`{"group":"g","min_pending":-1,"priority":11}`), []byte("+NXT {\"batch\":2}"), "$JS.ACK.S.D.x")
	f.Fuzz(func(t *testing.T, pullBody, ackBody []byte, ackSubject string) {
		h := newHarness(t, jsapi.StreamConfig{})
		for range 3 {
			h.publish("s.a", "x")
		}
		consumer := h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit, AckWait: time.Second, MaxRequestMaxBytes: 1000})
		h.pull("r", string(pullBody))
		for _, delivery := range deliveries(h.take()) {
			consumer.handleAck(delivery.reply, "confirm", nil, ackBody)
		}
		consumer.handleAck(ackSubject, "confirm", nil, ackBody)
		h.clock.Advance(3 * time.Second)
		h.pull("r", string(pullBody))
		consumer.mu.Lock()
		defer consumer.mu.Unlock()
		for seq := range consumer.pending {
			if seq <= consumer.ackFloorStream || seq >= consumer.streamNext {
				t.Fatalf("pending %d outside (%d, %d)", seq, consumer.ackFloorStream, consumer.streamNext)
			}
		}
	})
}
