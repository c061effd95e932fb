package jetstream

import (
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
)

// A mirror or source asks its origin for a consumer with "direct" and "sourcing" set
// and a stable name (JS_MIRROR_<hash> or JS_SRC_<hash>). As the reference (one
// server) does with such a request:
//
//   - on a limits stream the consumer stays direct and ephemeral; a random suffix
//     makes its name unique (an earlier one may still be timing out);
//   - on an interest or work queue stream it becomes a durable of that name with the
//     flow_control ack policy, so that the origin keeps each message until the
//     follower acknowledged it (through its flow control replies, once stored) and
//     the consumer survives restarts of either side. A follower asking again (after
//     a restart or a gap) finds it, moved to its new deliver subject and reset to
//     its ack floor.

// prepareSourcingConsumer rewrites config, a consumer create request of a mirror or
// source on stream, as described above. When the request names an existing
// sourcing durable it resets that consumer and returns it: the request is then
// answered with its info instead of creating anything.
func prepareSourcingConsumer(stream *Stream, config *jsapi.ConsumerConfig, random env.Rand) *Consumer {
	if !config.Direct || !config.Sourcing || config.Name == "" {
		return nil
	}
	if stream.Config().Retention == jsapi.LimitsPolicy {
		config.Name += "-" + jsapi.Hash(newIdentifier(random))
		return nil
	}
	config.Direct = false
	config.Durable = config.Name
	config.AckPolicy = jsapi.AckFlowControl
	config.AckWait, config.MaxDeliver, config.InactiveThreshold = 0, 0, 0
	existing, _ := stream.Consumer(config.Name).(*Consumer)
	if existing == nil {
		return nil
	}
	current := existing.Config()
	if !current.Sourcing {
		return nil
	}
	// The follower listens on a new deliver subject each time it asks. The change is
	// not written to the consumer's stored configuration: after a restart the
	// follower asks again and moves it again.
	if current.DeliverSubject != config.DeliverSubject {
		current.DeliverSubject = config.DeliverSubject
		existing.UpdateConfig(current)
	}
	if _, err := existing.Reset(0); err != nil {
		return nil
	}
	return existing
}
