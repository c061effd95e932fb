package jetstream

import (
	"github.com/natsim/natsim/proto/jsapi"
)

// consumerEngine is the consumer side of JetStream as the Manager sees it. The
// consumer files implement it and install it with registerConsumerEngine.
type consumerEngine interface {
	// HandleAPI answers one consumer API request: every op whose subject starts with
	// $JS.API.CONSUMER. (create in all forms, durable create, info, list, names,
	// delete, pause, unpin, reset, msg next, leader stepdown). account is never nil
	// and has JetStream enabled; args are ParseSubject's. It must answer through
	// request.Respond (unless the request has no reply) and must not block.
	HandleAPI(account *Account, op jsapi.Op, args jsapi.Args, request *Request)
	// RecoverConsumers reopens the consumers of stream, recovered from its store
	// directory at start, before the stream takes new messages.
	RecoverConsumers(stream *Stream) error
}

// StreamConsumer is one consumer as its stream sees it.
type StreamConsumer interface {
	// Name is the consumer's name (durable or generated).
	Name() string
	// MessageStored says a message was stored at seq with subject. Calls come in
	// sequence order, after the store holds the message, without the stream's lock.
	MessageStored(seq uint64, subject string)
	// StreamPurged says that messages were removed in bulk (purge, compact) and the
	// stream's first sequence is now first.
	StreamPurged(first uint64)
	// NeedsAck reports, for interest and work queue retention, whether the consumer
	// still needs the message at seq with subject: its filters match and it has not
	// acknowledged it.
	NeedsAck(seq uint64, subject string) bool
	// Info describes the consumer for CONSUMER.INFO and the stream's counts.
	Info() *jsapi.ConsumerInfo
	// Stop stops deliveries and timers, keeping the state (server shutdown).
	Stop()
	// Delete stops the consumer and removes its state (stream or consumer deleted).
	Delete()
}

// noConsumers is the engine until the consumer files install theirs: every consumer
// request gets the reference's "consumer not found"-style refusal.
type noConsumers struct{}

func (noConsumers) HandleAPI(_ *Account, op jsapi.Op, _ jsapi.Args, request *Request) {
	request.RespondError(op, jsapi.NewConsumerCreateError(errConsumersUnavailable))
}

func (noConsumers) RecoverConsumers(*Stream) error { return nil }

// consumerEngineFactory builds the consumer engine of a new Manager.
var consumerEngineFactory = func(*Manager) consumerEngine { return noConsumers{} }

// registerConsumerEngine installs the consumer side; the consumer files call it from
// an init function. Only one registration is expected.
func registerConsumerEngine(factory func(*Manager) consumerEngine) {
	consumerEngineFactory = factory
}
