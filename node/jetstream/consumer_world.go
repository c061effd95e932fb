package jetstream

import (
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// consumerWorld is everything a Consumer needs from outside itself: time, randomness,
// the account's message bus and its stream. The state machine reaches the world only
// through it, so unit tests drive a consumer with a fake clock and a recording bus, and
// the glue to a Stream lives in one place (consumer_stream.go).
type consumerWorld struct {
	clock env.Clock
	rand  env.Rand
	// publish sends a message into the consumer's account. It is called without the
	// consumer's lock held, in the order the consumer produced the messages.
	publish func(subject, reply string, header, body []byte)
	// deliver sends a stream message to the subscribers of deliverSubject, which see
	// the message's own subject (the reference's deliveries). Like publish it runs
	// without the consumer's lock, in order.
	deliver func(deliverSubject, subject, reply string, header, body []byte)
	// hasInterest reports whether anyone in the account listens on subject.
	hasInterest func(subject string) bool
	// deliveryInterest, when set, reports whether a push consumer with deliver
	// subject and group has the subscribers that make it active (InterestWatcher).
	deliveryInterest func(subject, group string) bool
	// watchInterest, when set, calls changed (from a task) whenever subscriptions
	// on subject in group come or go; cancel stops it (InterestWatcher). Without it
	// push consumers poll for interest.
	watchInterest func(subject, group string, changed func()) (cancel func())
	// subscribe installs an internal handler on subject; cancel removes it.
	subscribe func(subject string, handler func(subject, reply string, header, body []byte)) (cancel func(), err error)

	streamName string
	// streamConfig returns the stream's current configuration.
	streamConfig func() jsapi.StreamConfig
	// retention is the stream's retention policy, cached: the consumer reads it with
	// its own lock held, and asking the stream then could deadlock against the stream
	// asking the consumer NeedsAck.
	retention jsapi.RetentionPolicy
	store     store.StreamStore
	// acknowledged tells an interest or work queue stream that this consumer no longer
	// needs seq. It is called without the consumer's lock held.
	acknowledged func(seq uint64)
	// removed tells the stream and the engine that the consumer deleted itself (its
	// inactive threshold passed). It is called without the consumer's lock held.
	removed func(c *Consumer)

	domain      string
	accountName string
}
