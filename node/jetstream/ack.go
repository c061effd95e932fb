package jetstream

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// handleAck receives a message on the consumer's ack subject: the subject names the
// delivery, the body says what to do with it.
func (c *Consumer) handleAck(subjectName, reply string, _, body []byte) {
	ackReply, ok := jsapi.ParseAckReply(subjectName)
	if !ok || ackReply.Stream != c.world.streamName || ackReply.Consumer != c.name {
		return
	}
	ack := jsapi.ParseAck(body)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	streamSeq, consumerSeq, deliveries := ackReply.StreamSeq, ackReply.ConsumerSeq, ackReply.Delivered
	answer := reply != ""
	switch ack.Kind {
	case jsapi.AckKindAck:
		c.ackLocked(streamSeq, consumerSeq, deliveries)
	case jsapi.AckKindNext:
		c.ackLocked(streamSeq, consumerSeq, deliveries)
		c.processNextRequestLocked(reply, ack.Next)
		answer = false
	case jsapi.AckKindNak:
		c.nakLocked(streamSeq, consumerSeq, deliveries, ack.Delay)
	case jsapi.AckKindProgress:
		c.progressLocked(streamSeq)
	case jsapi.AckKindTerm:
		c.terminateLocked(streamSeq, consumerSeq, deliveries, ack.Reason, true)
	default:
		// An unknown acknowledgement changes nothing, but an AckSync still gets its
		// empty reply, as the reference sends one.
	}
	if answer {
		// A client that asked for a confirmation (AckSync) gets an empty reply once the
		// ack is applied.
		c.queueLocked(reply, "", nil, nil)
	}
	c.deliverLocked()
	c.unlockAndFlush()
}

// ackLocked applies a positive ack of the delivery (streamSeq, consumerSeq) under
// the consumer's ack policy, records it and tells an interest or work queue stream.
func (c *Consumer) ackLocked(streamSeq, consumerSeq, deliveries uint64) {
	if streamSeq >= c.streamNext && !c.config.FlowControl {
		// Never delivered (or from a previous incarnation): ignore.
		return
	}
	c.lastAcked = c.world.clock.Now()
	switch c.config.AckPolicy {
	case jsapi.AckExplicit:
		p, ok := c.pending[streamSeq]
		if ok {
			c.sampleAckLocked(streamSeq, consumerSeq, deliveries, p.Timestamp)
			delete(c.pending, streamSeq)
			consumerSeq = p.Sequence
			c.moveAckFloorLocked(consumerSeq, streamSeq)
		}
		delete(c.redelivered, streamSeq)
		c.removeFromRedeliverQueueLocked(streamSeq)
		if !ok {
			return
		}
		c.storeAckLocked(consumerSeq, streamSeq)
		c.queueAcknowledgedLocked(streamSeq)
	case jsapi.AckAll, jsapi.AckFlowControl:
		if consumerSeq <= c.ackFloorConsumer || streamSeq <= c.ackFloorStream {
			return
		}
		c.ackFloorConsumer, c.ackFloorStream = consumerSeq, streamSeq
		for _, seq := range sortedSequences(c.pending) {
			if seq > streamSeq {
				break
			}
			delete(c.pending, seq)
			delete(c.redelivered, seq)
			c.removeFromRedeliverQueueLocked(seq)
			if seq != streamSeq {
				c.queueAcknowledgedLocked(seq)
			}
		}
		c.storeAckLocked(consumerSeq, streamSeq)
		c.queueAcknowledgedLocked(streamSeq)
	}
	if len(c.pending) == 0 {
		stopTimer(&c.ackTimer)
	}
}

// sampleAckLocked sends the ack metric for a sampled ack (sample_freq "N%"): how long
// the message waited for its ack since its last delivery.
func (c *Consumer) sampleAckLocked(streamSeq, consumerSeq, deliveries uint64, deliveredAt int64) {
	if c.config.SampleFrequency == "" {
		// Most consumers sample nothing; parsing the empty setting would allocate a
		// syntax error for every ack.
		return
	}
	frequency, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(c.config.SampleFrequency), "%"))
	if err != nil || frequency <= 0 {
		return
	}
	if frequency < 100 && c.world.rand.Intn(100) > frequency {
		return
	}
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.MetricConsumerAckPrefix, c.world.streamName, c.name), &jsapi.ConsumerAckMetric{
		TypedEvent:  c.typedEventLocked(jsapi.ConsumerAckMetricType),
		Stream:      c.world.streamName,
		Consumer:    c.name,
		ConsumerSeq: consumerSeq,
		StreamSeq:   streamSeq,
		Delay:       c.world.clock.Now().UnixNano() - deliveredAt,
		Deliveries:  deliveries,
		Domain:      c.world.domain,
	})
}

// storeAckLocked records an ack in the consumer store.
func (c *Consumer) storeAckLocked(consumerSeq, streamSeq uint64) {
	if c.store != nil {
		_ = c.store.UpdateAcks(consumerSeq, streamSeq)
		c.stateChangedLocked()
	}
}

// moveAckFloorLocked raises the ack floor after an explicit ack of (consumerSeq,
// streamSeq): to everything delivered when nothing is pending, or to just below the
// oldest pending message when the ack was the one just above the floor.
func (c *Consumer) moveAckFloorLocked(consumerSeq, streamSeq uint64) {
	if len(c.pending) == 0 {
		c.ackFloorConsumer = c.consumerNext - 1
		c.ackFloorStream = c.streamNext - 1
		return
	}
	if consumerSeq != c.ackFloorConsumer+1 {
		return
	}
	c.ackFloorConsumer, c.ackFloorStream = consumerSeq, streamSeq
	lowest := store.LowestPending(c.pending, streamSeq)
	if p := c.pending[lowest]; p != nil && p.Sequence > 0 && lowest > streamSeq {
		c.ackFloorConsumer, c.ackFloorStream = p.Sequence-1, lowest-1
	}
}

// nakLocked handles -NAK: redeliver now, or after delay when one was given.
func (c *Consumer) nakLocked(streamSeq, consumerSeq, deliveries uint64, delay time.Duration) {
	if consumerSeq <= c.ackFloorConsumer || consumerSeq >= c.consumerNext {
		return
	}
	p, ok := c.pending[streamSeq]
	if !ok {
		return
	}
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerMsgNaked, c.world.streamName, c.name), &jsapi.ConsumerDeliveryNakAdvisory{
		TypedEvent:  c.typedEventLocked(jsapi.ConsumerDeliveryNakAdvisoryType),
		Stream:      c.world.streamName,
		Consumer:    c.name,
		ConsumerSeq: consumerSeq,
		StreamSeq:   streamSeq,
		Deliveries:  deliveries,
		Domain:      c.world.domain,
	})
	if delay > 0 {
		c.removeFromRedeliverQueueLocked(streamSeq)
		// The message counts as delivered at now - ack_wait + delay, so the pending
		// check finds it due after delay.
		now := c.world.clock.Now()
		p.Timestamp = now.Add(-c.config.AckWait).Add(delay).UnixNano()
		if c.store != nil {
			_ = c.store.UpdateDelivered(p.Sequence, streamSeq, deliveries, p.Timestamp)
		}
		c.armAckTimerLocked(min(delay, c.ackWaitFor(0)))
		return
	}
	c.addToRedeliverQueueLocked(streamSeq)
}

// progressLocked handles +WPI: the message's ack wait starts again.
func (c *Consumer) progressLocked(streamSeq uint64) {
	p, ok := c.pending[streamSeq]
	if !ok {
		return
	}
	p.Timestamp = c.world.clock.Now().UnixNano()
	if c.store != nil {
		_ = c.store.UpdateDelivered(p.Sequence, streamSeq, 1, p.Timestamp)
	}
}

// terminateLocked handles +TERM (and messages that left the stream while pending):
// acknowledged without processing, with a terminated advisory when advise is set.
func (c *Consumer) terminateLocked(streamSeq, consumerSeq, deliveries uint64, reason string, advise bool) {
	c.ackLocked(streamSeq, consumerSeq, deliveries)
	if !advise {
		return
	}
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerMsgTerminated, c.world.streamName, c.name), &jsapi.ConsumerDeliveryTerminatedAdvisory{
		TypedEvent:  c.typedEventLocked(jsapi.ConsumerDeliveryTerminatedType),
		Stream:      c.world.streamName,
		Consumer:    c.name,
		ConsumerSeq: consumerSeq,
		StreamSeq:   streamSeq,
		Deliveries:  deliveries,
		Reason:      reason,
		Domain:      c.world.domain,
	})
}

// ackWaitFor is the timer delay for a wait (the ack wait when zero), with slack.
func (c *Consumer) ackWaitFor(wait time.Duration) time.Duration {
	if wait > 0 {
		return wait + ackWaitSlack
	}
	return c.config.AckWait + ackWaitSlack
}

// armAckTimerLocked (re)schedules the pending check delay from now.
func (c *Consumer) armAckTimerLocked(delay time.Duration) {
	if c.config.AckPolicy == jsapi.AckNone || c.config.AckWait <= 0 {
		return
	}
	stopTimer(&c.ackTimer)
	c.ackTimerDeadline = c.world.clock.Now().Add(delay)
	c.ackTimer = c.world.clock.AfterFunc(delay, c.onAckTimer)
}

func (c *Consumer) onAckTimer() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.ackTimer = nil
	c.checkPendingLocked()
	c.deliverLocked()
	c.unlockAndFlush()
}

// checkPendingLocked queues for redelivery every pending message whose ack wait (or
// backoff step) has passed, drops the ones at max_deliver, and re-arms the timer for
// the next deadline.
func (c *Consumer) checkPendingLocked() {
	now := c.world.clock.Now().UnixNano()
	next := int64(c.ackWaitFor(0))
	if count := len(c.config.BackOff); count > 0 {
		next = int64(c.config.BackOff[count-1])
	}
	var expired []uint64
	for _, seq := range sortedSequences(c.pending) {
		p := c.pending[seq]
		if seq <= c.ackFloorStream {
			delete(c.pending, seq)
			delete(c.redelivered, seq)
			c.removeFromRedeliverQueueLocked(seq)
			continue
		}
		elapsed, deadline := now-p.Timestamp, int64(c.config.AckWait)
		if count := len(c.config.BackOff); count > 0 {
			index := int(c.redelivered[seq])
			nextIndex := index + 1
			if index+1 >= count {
				index = count - 1
				nextIndex = index
			}
			deadline = int64(c.config.BackOff[index])
			if nextBackoff := int64(c.config.BackOff[nextIndex]); nextBackoff < next {
				next = nextBackoff
			}
		}
		if elapsed >= deadline {
			if !c.onRedeliverQueueLocked(seq) && !c.checkMaxDeliveriesLocked(seq) {
				expired = append(expired, seq)
			}
		} else if deadline-elapsed < next {
			next = deadline - elapsed
		}
	}
	if len(expired) > 0 {
		sort.Slice(expired, func(i, j int) bool { return expired[i] < expired[j] })
		offset := now - c.pending[expired[0]].Timestamp
		for _, seq := range expired {
			c.addToRedeliverQueueLocked(seq)
			// Keep the order of the expired messages for later checks.
			c.pending[seq].Timestamp += offset
		}
	}
	if len(c.pending) > 0 {
		c.armAckTimerLocked(time.Duration(next) + ackWaitSlack)
		return
	}
	stopTimer(&c.ackTimer)
	c.redeliverQueue, c.redeliverSet = nil, nil
	c.ackFloorConsumer, c.ackFloorStream = c.consumerNext-1, c.streamNext-1
}

// checkMaxDeliveriesLocked drops a pending message that has been delivered
// max_deliver times, with the reference's advisory; it reports whether it did.
func (c *Consumer) checkMaxDeliveriesLocked(seq uint64) bool {
	if c.config.MaxDeliver <= 0 {
		return false
	}
	deliveries := c.redelivered[seq] + 1
	if deliveries < uint64(c.config.MaxDeliver) {
		return false
	}
	c.maxDeliveriesReachedLocked(seq, deliveries)
	return true
}

// maxDeliveriesReachedLocked sends the max deliveries advisory and drops seq from
// pending; the stream keeps it (an interest stream sees no ack).
func (c *Consumer) maxDeliveriesReachedLocked(seq, deliveries uint64) {
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerMaxDeliveries, c.world.streamName, c.name), &jsapi.ConsumerDeliveryExceededAdvisory{
		TypedEvent: c.typedEventLocked(jsapi.ConsumerDeliveryExceededType),
		Stream:     c.world.streamName,
		Consumer:   c.name,
		StreamSeq:  seq,
		Deliveries: deliveries,
		Domain:     c.world.domain,
	})
	if p, ok := c.pending[seq]; ok {
		delete(c.pending, seq)
		if c.store != nil {
			_ = c.store.UpdateDelivered(p.Sequence, seq, deliveries+1, p.Timestamp)
		}
		c.moveAckFloorLocked(p.Sequence, seq)
	}
	if c.redelivered == nil {
		c.redelivered = make(map[uint64]uint64)
	}
	if c.redelivered[seq] < deliveries-1 {
		c.redelivered[seq] = deliveries - 1
	}
}

// incrementDeliveriesLocked counts a redelivery of seq and returns its delivery count.
func (c *Consumer) incrementDeliveriesLocked(seq uint64) uint64 {
	if c.redelivered == nil {
		c.redelivered = make(map[uint64]uint64)
	}
	c.redelivered[seq]++
	return c.redelivered[seq] + 1
}

// decrementDeliveriesLocked undoes incrementDeliveriesLocked for a redelivery that
// did not happen.
func (c *Consumer) decrementDeliveriesLocked(seq uint64) {
	count, ok := c.redelivered[seq]
	if !ok {
		return
	}
	if count > 1 {
		c.redelivered[seq] = count - 1
	} else {
		delete(c.redelivered, seq)
	}
}

func (c *Consumer) addToRedeliverQueueLocked(seq uint64) {
	if c.onRedeliverQueueLocked(seq) || len(c.redeliverQueue) >= redeliverQueueMax {
		return
	}
	if c.redeliverSet == nil {
		c.redeliverSet = make(map[uint64]struct{})
	}
	c.redeliverQueue = append(c.redeliverQueue, seq)
	c.redeliverSet[seq] = struct{}{}
}

func (c *Consumer) onRedeliverQueueLocked(seq uint64) bool {
	_, ok := c.redeliverSet[seq]
	return ok
}

func (c *Consumer) popRedeliverLocked() uint64 {
	seq := c.redeliverQueue[0]
	c.redeliverQueue = c.redeliverQueue[1:]
	delete(c.redeliverSet, seq)
	return seq
}

func (c *Consumer) removeFromRedeliverQueueLocked(seq uint64) {
	if !c.onRedeliverQueueLocked(seq) {
		return
	}
	delete(c.redeliverSet, seq)
	for i, queued := range c.redeliverQueue {
		if queued == seq {
			c.redeliverQueue = append(c.redeliverQueue[:i], c.redeliverQueue[i+1:]...)
			return
		}
	}
}

// NeedsAck implements StreamConsumer for interest and work queue retention: the
// consumer still needs seq while its filters match and it has not acknowledged it.
func (c *Consumer) NeedsAck(seq uint64, subjectName string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !c.matchesFilterLocked(subjectName) {
		return false
	}
	switch c.config.AckPolicy {
	case jsapi.AckNone:
		return seq >= c.streamNext
	case jsapi.AckAll, jsapi.AckFlowControl:
		return seq > c.ackFloorStream
	}
	if seq <= c.ackFloorStream {
		return false
	}
	if _, ok := c.pending[seq]; ok {
		return true
	}
	return seq >= c.streamNext
}
