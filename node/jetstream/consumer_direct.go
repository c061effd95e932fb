package jetstream

// Direct consumers are the push consumers that mirrors and sources ask their origins
// for ("direct": true). As in the reference they are the stream's own business
// rather than the account's: they do not count against the stream's or the
// account's max_consumers (nor in consumer_count), CONSUMER.LIST and CONSUMER.NAMES
// leave them out, the work queue rules skip them, and nothing of them is written to
// disk: a restarted origin forgets them and the mirror or source asks again. The
// durable sourcing consumers of interest and work queue streams are listed and
// counted, but do not count against max_consumers either.

// directConsumer is what a StreamConsumer implements to say it is direct, or a
// mirror's or source's consumer (direct or the durable an interest or work queue
// stream makes of it, see consumer_sourcing.go).
type directConsumer interface {
	IsDirect() bool
	IsSourcing() bool
}

// IsDirect reports whether the consumer was created with "direct": true.
func (c *Consumer) IsDirect() bool { return c.direct }

// IsSourcing reports whether the consumer was created with "sourcing": true.
func (c *Consumer) IsSourcing() bool { return c.sourcing }

// isDirectConsumer reports whether consumer is a direct one.
func isDirectConsumer(consumer StreamConsumer) bool {
	direct, ok := consumer.(directConsumer)
	return ok && direct.IsDirect()
}

// isLimitExempt reports whether consumer does not count against max_consumers:
// direct and sourcing consumers, as in the reference.
func isLimitExempt(consumer StreamConsumer) bool {
	direct, ok := consumer.(directConsumer)
	return ok && (direct.IsDirect() || direct.IsSourcing())
}

// limitedConsumerCountLocked counts the stream's consumers that count against
// max_consumers.
func (s *Stream) limitedConsumerCountLocked() int {
	count := 0
	for _, consumer := range s.consumers {
		if !isLimitExempt(consumer) {
			count++
		}
	}
	return count
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

// infoConsumerCount is the consumer count of the account's INFO answer: the
// reference counts every consumer there, direct ones (what mirrors and sources ask
// for) included, while stream states and limits leave them out.
func (a *Account) infoConsumerCount() int {
	total := 0
	for _, stream := range a.Streams() {
		stream.mu.Lock()
		total += len(stream.consumers)
		stream.mu.Unlock()
	}
	return total
}
