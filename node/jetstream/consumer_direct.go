package jetstream

// Direct consumers are the push consumers that mirrors and sources ask their origins
// for ("direct": true). As in the reference they are the stream's own business
// rather than the account's: they do not count against the stream's or the
// account's max_consumers (nor in consumer_count), CONSUMER.LIST and CONSUMER.NAMES
// leave them out, the work queue rules skip them, and nothing of them is written to
// disk: a restarted origin forgets them and the mirror or source asks again.

// directConsumer is what a StreamConsumer implements to say it is direct.
type directConsumer interface {
	IsDirect() bool
}

// IsDirect reports whether the consumer was created with "direct": true.
func (c *Consumer) IsDirect() bool { return c.direct }

// isDirectConsumer reports whether consumer is a direct one.
func isDirectConsumer(consumer StreamConsumer) bool {
	direct, ok := consumer.(directConsumer)
	return ok && direct.IsDirect()
}

// publicConsumerCountLocked counts the stream's consumers that are not direct.
func (s *Stream) publicConsumerCountLocked() int {
	count := 0
	for _, consumer := range s.consumers {
		if !isDirectConsumer(consumer) {
			count++
		}
	}
	return count
}
