package jetstream

import (
	"errors"
	"strconv"
	"time"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// Where a looked-up message came from, so that an undelivered one can be put back.
const (
	sourceStream = iota
	sourceRedelivery
	sourceSkipList
)

// nextMessage is a message the consumer is about to deliver.
type nextMessage struct {
	message store.StoreMsg
	// deliveries is this delivery's count (1 for the first).
	deliveries uint64
	source     int
	// previousStreamNext and skipResume restore the position when the message is put back.
	previousStreamNext uint64
	skipResume         uint64
}

// MessageStored implements StreamConsumer: a new message may be deliverable.
func (c *Consumer) MessageStored(seq uint64, subjectName string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if seq > c.numPendingThrough {
		if seq >= c.streamNext && c.matchesFilterLocked(subjectName) {
			c.numPending++
		}
		c.numPendingThrough = seq
	}
	c.deliverLocked()
	c.unlockAndFlush()
}

// StreamPurged implements StreamConsumer: messages below first are gone, so pending
// entries for them are dropped and the positions move up.
func (c *Consumer) StreamPurged(first uint64) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if first > c.streamNext {
		c.streamNext = first
		if c.lastPerSubject != nil && c.lastPerSubject.resume < first {
			c.lastPerSubject = nil
		}
	}
	changed := false
	for _, seq := range sortedSequences(c.pending) {
		if seq < first {
			delete(c.pending, seq)
			delete(c.redelivered, seq)
			c.removeFromRedeliverQueueLocked(seq)
			changed = true
		}
	}
	if c.ackFloorStream+1 < first {
		c.ackFloorStream = first - 1
		if len(c.pending) == 0 {
			c.ackFloorConsumer = c.consumerNext - 1
		}
		changed = true
	}
	if changed && c.store != nil {
		_ = c.store.Update(c.stateLocked())
	}
	c.recomputeNumPendingLocked()
	c.deliverLocked()
	c.unlockAndFlush()
}

// stateLocked is the consumer's state in the store's form.
func (c *Consumer) stateLocked() *store.ConsumerState {
	state := &store.ConsumerState{
		Delivered: store.SequencePair{Consumer: c.consumerNext - 1, Stream: c.streamNext - 1},
		AckFloor:  store.SequencePair{Consumer: c.ackFloorConsumer, Stream: c.ackFloorStream},
	}
	if len(c.pending) > 0 {
		state.Pending = make(map[uint64]*store.Pending, len(c.pending))
		for seq, p := range c.pending {
			copied := *p
			state.Pending[seq] = &copied
		}
	}
	if len(c.redelivered) > 0 {
		state.Redelivered = make(map[uint64]uint64, len(c.redelivered))
		for seq, count := range c.redelivered {
			state.Redelivered[seq] = count
		}
	}
	return state
}

// signal runs a delivery pass now. The engine calls it once the consumer is
// registered on its stream and the create request is answered; it starts deliveries.
func (c *Consumer) signal() {
	c.mu.Lock()
	if !c.closed {
		c.started = true
		c.recomputeNumPendingLocked()
		c.deliverLocked()
	}
	c.unlockAndFlush()
}

// signalSoon starts the consumer with its first delivery pass on a fresh callback,
// so the create answer leaves on its own before the first messages (the reference
// starts its delivery loop on a new goroutine after answering).
func (c *Consumer) signalSoon() {
	c.mu.Lock()
	if !c.closed {
		c.started = true
		c.recomputeNumPendingLocked()
		c.kickLocked()
	}
	c.unlockAndFlush()
}

// kickLocked schedules a delivery pass on a fresh callback; the delivery loop uses it
// to yield after deliverBatchMax messages.
func (c *Consumer) kickLocked() {
	if c.kickScheduled || c.closed {
		return
	}
	c.kickScheduled = true
	c.world.clock.AfterFunc(0, func() {
		c.mu.Lock()
		c.kickScheduled = false
		if !c.closed {
			c.deliverLocked()
		}
		c.unlockAndFlush()
	})
}

// canDeliverLocked reports whether the consumer may send now: not paused or waiting
// on a delay, and for push consumers active and within the flow control window, for
// pull consumers with a request waiting.
func (c *Consumer) canDeliverLocked(now time.Time) bool {
	if c.closed || c.delayScheduled || c.isPausedLocked(now) {
		return false
	}
	if c.config.IsPush() {
		if !c.active {
			return false
		}
		return c.pendingBytesMax == 0 || c.pendingBytes <= c.pendingBytesMax
	}
	return !c.waiting.isEmpty()
}

// deliverLocked is the delivery loop: it sends what it can now, up to deliverBatchMax
// messages, and arms the timers that wake it again (request expiry, replay and rate
// delays).
func (c *Consumer) deliverLocked() {
	if !c.started {
		return
	}
	now := c.world.clock.Now()
	if c.config.IsPush() && !c.interestWatchedLocked() {
		// Without a host that reports interest changes, interest is checked on
		// every pass: a message sent to nobody would wait out its ack wait.
		c.refreshInterestLocked()
	}
	var stallErr error
	c.noTaker = false
	for sent := 0; ; sent++ {
		if sent >= deliverBatchMax || len(c.outbox) >= outboxMax {
			c.kickLocked()
			break
		}
		if !c.canDeliverLocked(now) {
			break
		}
		next, err := c.nextMessageLocked()
		if err != nil || next == nil {
			stallErr = err
			break
		}
		if !c.sendMessageLocked(next, now) {
			break
		}
	}
	if c.replaying && c.streamNext > c.replayLastSequence {
		c.replaying = false
	}
	if c.waiting != nil {
		c.processWaitingLocked(!errors.Is(stallErr, errMaxAckPending))
	}
}

// nextMessageLocked returns the next message to deliver: a due redelivery first,
// then (below max_ack_pending) the last-per-subject skip list, then the next matching
// stream message. It returns nil when nothing is deliverable.
func (c *Consumer) nextMessageLocked() (*nextMessage, error) {
	for len(c.redeliverQueue) > 0 {
		seq := c.popRedeliverLocked()
		deliveries := c.incrementDeliveriesLocked(seq)
		if c.config.MaxDeliver > 0 && deliveries > uint64(c.config.MaxDeliver) {
			c.maxDeliveriesReachedLocked(seq, deliveries-1)
			continue
		}
		next := &nextMessage{deliveries: deliveries, source: sourceRedelivery}
		if _, err := c.world.store.LoadMsg(seq, &next.message); err != nil {
			c.decrementDeliveriesLocked(seq)
			if p := c.pending[seq]; p != nil {
				// The message left the stream while waiting for redelivery.
				c.terminateLocked(seq, p.Sequence, deliveries-1, "", false)
			}
			continue
		}
		return next, nil
	}
	if c.config.MaxAckPending > 0 && c.config.AckPolicy != jsapi.AckNone && len(c.pending) >= c.config.MaxAckPending {
		return nil, errMaxAckPending
	}
	if skip := c.lastPerSubject; skip != nil && len(skip.sequences) > 0 {
		seq := skip.sequences[0]
		next := &nextMessage{deliveries: 1, source: sourceSkipList, previousStreamNext: c.streamNext, skipResume: skip.resume}
		if len(skip.sequences) == 1 {
			c.streamNext = skip.resume
			c.lastPerSubject = nil
		} else {
			skip.sequences = skip.sequences[1:]
			c.streamNext = seq
		}
		c.streamNext++
		if _, err := c.world.store.LoadMsg(seq, &next.message); err != nil {
			return nil, nil
		}
		return next, nil
	}
	state := &c.fastState
	c.world.store.FastState(state)
	next := &nextMessage{deliveries: 1, source: sourceStream, previousStreamNext: c.streamNext}
	var (
		loaded *store.StoreMsg
		seq    uint64
		err    error
	)
	switch len(c.filters) {
	case 0:
		loaded, seq, err = c.world.store.LoadNextMsg("", false, c.streamNext, &next.message)
	case 1:
		filter := c.filters[0]
		loaded, seq, err = c.world.store.LoadNextMsg(filter, hasWildcard(filter), c.streamNext, &next.message)
	default:
		loaded, seq, err = c.world.store.LoadNextMsgMulti(c.filters, c.streamNext, &next.message)
	}
	if err != nil || loaded == nil {
		// Everything up to the last sequence seen before the lookup was scanned, so
		// the next pass can start after it.
		if errors.Is(err, store.ErrStoreEOF) {
			if state.LastSeq >= c.streamNext {
				c.streamNext = state.LastSeq + 1
			}
			// Nothing matches past the position: messages the stream removed since
			// they were counted no longer inflate the pending count.
			c.numPending = 0
			c.numPendingThrough = max(c.numPendingThrough, state.LastSeq)
		}
		return nil, nil
	}
	if seq >= c.streamNext {
		c.streamNext = seq + 1
	}
	return next, nil
}

func hasWildcard(filter string) bool {
	for i := 0; i < len(filter); i++ {
		if filter[i] == '*' || filter[i] == '>' {
			return true
		}
	}
	return false
}

// sendMessageLocked delivers one message, or reports false (undoing the lookup) when
// it cannot leave yet: no pull request can take it, or a replay or rate delay applies.
func (c *Consumer) sendMessageLocked(next *nextMessage, now time.Time) bool {
	message := &next.message
	if next.deliveries == 1 && c.numPending > 0 {
		c.numPending--
	}
	consumerSeq := c.consumerNext
	reply := c.ackReplyLocked(message.Seq, consumerSeq, next.deliveries, message.TS)
	headerBlock, body := message.Hdr, message.Msg
	if c.config.HeadersOnly {
		headerBlock, body = headersOnly(headerBlock, len(body)), nil
	}
	size := len(message.Subject) + len(reply) + len(headerBlock) + len(body)

	if delay := c.sendDelayLocked(message, size, now); delay > 0 {
		c.undoLookupLocked(next)
		c.scheduleDelayLocked(delay)
		return false
	}
	var request *waitingRequest
	deliverSubject := c.config.DeliverSubject
	if !c.config.IsPush() {
		request = c.nextWaitingLocked(size, now)
		if request == nil {
			c.undoLookupLocked(next)
			c.noTaker = !c.waiting.isEmpty()
			return false
		}
		deliverSubject = request.reply
		if c.config.PriorityPolicy == jsapi.PriorityPinnedClient && c.pinID != "" {
			headerBlock = withHeader(headerBlock, jsapi.HeaderPinID, c.pinID)
		}
	}
	c.replayLastStamp = message.TS
	c.recordDeliveryLocked(message.Seq, consumerSeq, next.deliveries, now)
	c.outbox = append(c.outbox, outMessage{deliverSubject: deliverSubject, subject: message.Subject, reply: reply, header: headerBlock, body: body})
	if c.config.IsPush() {
		c.afterPushDeliveryLocked(size)
	} else {
		c.afterPullDeliveryLocked(request, now)
	}
	if c.config.AckPolicy == jsapi.AckNone {
		c.queueAcknowledgedLocked(message.Seq)
	}
	return true
}

// undoLookupLocked puts back a message that was looked up but not delivered.
func (c *Consumer) undoLookupLocked(next *nextMessage) {
	seq := next.message.Seq
	switch next.source {
	case sourceRedelivery:
		c.decrementDeliveriesLocked(seq)
		c.redeliverQueue = append([]uint64{seq}, c.redeliverQueue...)
		if c.redeliverSet == nil {
			c.redeliverSet = make(map[uint64]struct{})
		}
		c.redeliverSet[seq] = struct{}{}
	case sourceSkipList:
		if c.lastPerSubject == nil {
			c.lastPerSubject = &skipList{resume: next.skipResume}
		}
		c.lastPerSubject.sequences = append([]uint64{seq}, c.lastPerSubject.sequences...)
		c.streamNext = next.previousStreamNext
		c.numPending++
	default:
		c.streamNext = next.previousStreamNext
		c.numPending++
	}
}

// sendDelayLocked returns how long the message must wait for replay_policy original
// or rate_limit_bps; zero sends now.
func (c *Consumer) sendDelayLocked(message *store.StoreMsg, size int, now time.Time) time.Duration {
	if c.replaying && c.replayLastStamp > 0 {
		if delay := time.Duration(message.TS - c.replayLastStamp); delay > time.Millisecond {
			// The delay is paid once: the stamp moves so the retry goes out.
			c.replayLastStamp = message.TS
			return delay
		}
	}
	if c.config.RateLimit > 0 {
		if c.rateNextSend.After(now) {
			return c.rateNextSend.Sub(now)
		}
		cost := time.Duration(float64(size*8) / float64(c.config.RateLimit) * float64(time.Second))
		if c.rateNextSend.IsZero() || c.rateNextSend.Before(now) {
			c.rateNextSend = now
		}
		c.rateNextSend = c.rateNextSend.Add(cost)
	}
	return 0
}

// scheduleDelayLocked pauses the delivery loop for delay.
func (c *Consumer) scheduleDelayLocked(delay time.Duration) {
	if c.delayScheduled {
		return
	}
	c.delayScheduled = true
	c.delayTimer = c.world.clock.AfterFunc(delay, func() {
		c.mu.Lock()
		c.delayScheduled = false
		c.delayTimer = nil
		if !c.closed {
			c.deliverLocked()
		}
		c.unlockAndFlush()
	})
}

// recordDeliveryLocked updates positions, pending and the store for a delivery.
func (c *Consumer) recordDeliveryLocked(streamSeq, consumerSeq, deliveries uint64, now time.Time) {
	c.consumerNext++
	c.lastDelivered = now
	stamp := now.UnixNano()
	if c.store != nil {
		_ = c.store.UpdateDelivered(consumerSeq, streamSeq, deliveries, stamp)
		c.stateChangedLocked()
	}
	if c.config.AckPolicy == jsapi.AckNone {
		c.ackFloorConsumer = consumerSeq
		c.ackFloorStream = streamSeq
		return
	}
	if c.pending == nil {
		c.pending = make(map[uint64]*store.Pending)
	}
	if p := c.pending[streamSeq]; p != nil {
		// A redelivery keeps the first delivery's consumer sequence.
		p.Timestamp = stamp
	} else {
		c.pending[streamSeq] = &store.Pending{Sequence: consumerSeq, Timestamp: stamp}
	}
	wait := c.ackWaitFor(0)
	if count := len(c.config.BackOff); count > 0 {
		index := int(c.redelivered[streamSeq])
		if index >= count {
			index = count - 1
		}
		wait = c.ackWaitFor(c.config.BackOff[index])
	}
	deadline := now.Add(wait)
	if c.ackTimer == nil || c.ackTimerDeadline.After(deadline) {
		c.armAckTimerLocked(wait)
	}
}

// ackReplyLocked builds a delivered message's reply subject in the reference's
// default (version 1) form.
func (c *Consumer) ackReplyLocked(streamSeq, consumerSeq, deliveries uint64, stamp int64) string {
	return jsapi.AckReply{
		Stream:      c.world.streamName,
		Consumer:    c.name,
		Delivered:   deliveries,
		StreamSeq:   streamSeq,
		ConsumerSeq: consumerSeq,
		Timestamp:   stamp,
		Pending:     c.numPending,
	}.String()
}

// headersOnly replaces a message's payload with a Nats-Msg-Size header.
func headersOnly(headerBlock []byte, size int) []byte {
	return withHeader(headerBlock, jsapi.HeaderMsgSize, strconv.Itoa(size))
}

// withHeader returns a copy of headerBlock (or a new block) with key set to value.
func withHeader(headerBlock []byte, key, value string) []byte {
	if len(headerBlock) == 0 {
		return header.Build(0, "", key, value)
	}
	if updated, err := header.Set(headerBlock, key, value); err == nil {
		return updated
	}
	// A block that does not parse is passed on with the field appended before its end.
	out := append([]byte(nil), headerBlock...)
	if len(out) >= 2 && string(out[len(out)-2:]) == "\r\n" {
		out = out[:len(out)-2]
	}
	out = header.AppendField(out, key, value)
	return header.AppendEnd(out)
}
