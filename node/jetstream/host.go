package jetstream

// Msg is a message JetStream receives from or sends into an account. Header is the
// raw header block ("NATS/1.0\r\n..."), nil without headers. The slices belong to the
// receiver of a Handler call only for the duration of the call; copy what you keep.
type Msg struct {
	Subject string
	Reply   string
	Header  []byte
	Data    []byte
}

// Handler receives the messages of an internal subscription. It runs on the
// publisher's read path (or a task), so it must not block.
type Handler func(msg *Msg)

// Subscription is an internal subscription; Unsubscribe removes it (idempotent).
type Subscription interface {
	Unsubscribe()
}

// Host is what JetStream needs from the server it runs in. The node glue implements
// it; the simulator can implement it too.
type Host interface {
	// Publish sends a message into account as the server, to its subscribers (and
	// the accounts importing it). It must not block; it may run handlers inline.
	Publish(account, subject, reply string, header, data []byte)
	// Deliver sends a message to the subscribers of deliverSubject in account while
	// presenting it under subject, as consumers deliver: the client sees the stream
	// message's own subject (MSG <subject> <sid> <reply>), not the deliver subject or
	// pull request inbox it was routed by.
	Deliver(account, deliverSubject, subject, reply string, header, data []byte)
	// Subscribe registers handler for subject (wildcards allowed) in account.
	Subscribe(account, subject string, handler Handler) (Subscription, error)
	// HasInterest reports whether anyone in account subscribes to subject (push
	// consumers' deliver subjects).
	HasInterest(account, subject string) bool
}

// BatchPublisher is implemented by hosts that can send a run of server messages into
// one account (a stream's PubAcks) and write the connections they reach once per
// several messages instead of once per message.
type BatchPublisher interface {
	// NewPublishBatch starts a batch into account; nil when the account is unknown.
	NewPublishBatch(account string) PublishBatch
}

// PublishBatch publishes messages without headers or replies into one account. The
// messages go out in order; Flush writes whatever is still buffered.
type PublishBatch interface {
	Publish(subject string, data []byte)
	Flush()
}

// Logger is the server's logger.
type Logger interface {
	Noticef(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
	Debugf(format string, args ...any)
}
