package jetstream

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// TestConsumerStateMachineProperties drives a pull consumer with explicit acks through
// random publishes, pulls, acks, naks, terms and clock steps, and checks after every
// step what must always hold:
//   - a message is delivered for the first time in stream order, each exactly once;
//   - a redelivery is of a message still pending, with a higher delivery count;
//   - nothing acknowledged is ever delivered again;
//   - the ack floor never passes a pending message, and pending stays below the
//     delivered position;
//   - the consumer store holds exactly the consumer's own state;
//
// and at the end, after the clock passes every ack wait, that pulling and acking
// drains the consumer: every message was delivered and the floor reaches the end.
func TestConsumerStateMachineProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		h := newHarness(t, jsapi.StreamConfig{})
		maxAckPending := rapid.IntRange(0, 5).Draw(rt, "maxAckPending")
		consumer := h.create(jsapi.ConsumerConfig{Durable: "D", AckPolicy: jsapi.AckExplicit, AckWait: time.Second, MaxAckPending: maxAckPending})
		var (
			published     uint64
			lastFirst     uint64
			delivered     = map[uint64]bool{}
			acknowledged  = map[uint64]bool{}
			outstanding   []sentMessage
			lastDelivered = map[uint64]uint64{}
		)
		observe := func() {
			for _, message := range deliveries(h.take()) {
				reply, ok := jsapi.ParseAckReply(message.reply)
				if !ok {
					rt.Fatalf("bad reply %q", message.reply)
				}
				seq := reply.StreamSeq
				if acknowledged[seq] {
					rt.Fatalf("acknowledged message %d delivered again", seq)
				}
				if reply.Delivered == 1 {
					if delivered[seq] || seq <= lastFirst {
						rt.Fatalf("first delivery of %d out of order (last %d)", seq, lastFirst)
					}
					lastFirst = seq
				} else if !delivered[seq] || reply.Delivered <= lastDelivered[seq] {
					rt.Fatalf("redelivery of %d with count %d after %d", seq, reply.Delivered, lastDelivered[seq])
				}
				delivered[seq] = true
				lastDelivered[seq] = reply.Delivered
				outstanding = append(outstanding, message)
			}
		}
		check := func() {
			consumer.mu.Lock()
			defer consumer.mu.Unlock()
			for seq := range consumer.pending {
				if seq <= consumer.ackFloorStream || seq >= consumer.streamNext {
					rt.Fatalf("pending %d outside (%d, %d)", seq, consumer.ackFloorStream, consumer.streamNext)
				}
				if acknowledged[seq] {
					rt.Fatalf("acknowledged %d still pending", seq)
				}
			}
			if maxAckPending > 0 && len(consumer.pending) > maxAckPending {
				rt.Fatalf("%d pending over max %d", len(consumer.pending), maxAckPending)
			}
			stored, err := consumer.store.State()
			if err != nil {
				rt.Fatal(err)
			}
			own := consumer.stateLocked()
			if stored.AckFloor != own.AckFloor || len(stored.Pending) != len(own.Pending) {
				rt.Fatalf("store %+v %d pending, consumer %+v %d pending", stored.AckFloor, len(stored.Pending), own.AckFloor, len(own.Pending))
			}
			for seq, p := range own.Pending {
				if q := stored.Pending[seq]; q == nil || q.Sequence != p.Sequence {
					rt.Fatalf("pending %d: store %+v consumer %+v", seq, q, p)
				}
			}
		}
		take := func(index int) sentMessage {
			message := outstanding[index]
			outstanding = append(outstanding[:index], outstanding[index+1:]...)
			return message
		}
		rt.Repeat(map[string]func(*rapid.T){
			"publish": func(rt *rapid.T) {
				h.publish(fmt.Sprintf("s.%d", rapid.IntRange(0, 2).Draw(rt, "subject")), "x")
				published++
				observe()
			},
			"pull": func(rt *rapid.T) {
				batch := rapid.IntRange(1, 4).Draw(rt, "batch")
				h.pull("r", fmt.Sprintf(`{"batch":%d,"no_wait":true}`, batch))
				observe()
			},
			"ack": func(rt *rapid.T) {
				if len(outstanding) == 0 {
					rt.Skip("nothing outstanding")
				}
				message := take(rapid.IntRange(0, len(outstanding)-1).Draw(rt, "index"))
				body := rapid.SampledFrom([]string{"+ACK", "-NAK", "+TERM", "+WPI"}).Draw(rt, "body")
				seq := streamSequence(t, message)
				reply, _ := jsapi.ParseAckReply(message.reply)
				consumer.mu.Lock()
				p := consumer.pending[seq]
				current := p != nil
				consumer.mu.Unlock()
				h.ack(message, body)
				if (body == "+ACK" || body == "+TERM") && current && reply.Delivered == lastDelivered[seq] {
					acknowledged[seq] = true
				}
				observe()
			},
			"advance": func(rt *rapid.T) {
				h.clock.Advance(time.Duration(rapid.IntRange(1, 1500).Draw(rt, "milliseconds")) * time.Millisecond)
				observe()
			},
			"": func(rt *rapid.T) { check() },
		})
		// Drain: pull and ack everything until nothing is left.
		for range 1000 {
			h.clock.Advance(2 * time.Second)
			h.pull("r", `{"batch":10,"no_wait":true}`)
			observe()
			for len(outstanding) > 0 {
				message := take(0)
				seq := streamSequence(t, message)
				h.ack(message, "+ACK")
				acknowledged[seq] = true
			}
			observe()
			if info := consumer.Info(); info.NumAckPending == 0 && info.Delivered.Stream == published {
				break
			}
		}
		info := consumer.Info()
		if info.NumAckPending != 0 || info.AckFloor.Stream != published || info.NumPending != 0 {
			rt.Fatalf("not drained: %+v", info)
		}
		for seq := uint64(1); seq <= published; seq++ {
			if !delivered[seq] {
				rt.Fatalf("message %d never delivered", seq)
			}
		}
		check()
		_ = store.AckExplicit
	})
}
