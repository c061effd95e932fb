package jetstream

import (
	"errors"
	"time"

	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// Info implements StreamConsumer: the consumer's configuration and positions as
// CONSUMER.INFO reports them.
func (c *Consumer) Info() *jsapi.ConsumerInfo {
	c.mu.Lock()
	if !c.closed {
		c.recomputeNumPendingLocked()
		// push_bound must be current: clients check it before binding.
		c.refreshInterestLocked()
	}
	if c.waiting != nil && !c.closed {
		// As the reference does, report only requests that are still live: expired
		// ones are answered and ones whose client left are dropped first.
		c.processWaitingLocked(false)
	}
	info := c.infoLocked()
	c.unlockAndFlush()
	return info
}

func (c *Consumer) infoLocked() *jsapi.ConsumerInfo {
	now := c.world.clock.Now().UTC()
	config := cloneConsumerConfig(c.config)
	info := &jsapi.ConsumerInfo{
		Stream:  c.world.streamName,
		Name:    c.name,
		Created: c.created.UTC(),
		Config:  &config,
		Delivered: jsapi.SequenceInfo{
			Consumer: c.consumerNext - 1,
			Stream:   c.streamNext - 1,
		},
		AckFloor: jsapi.SequenceInfo{
			Consumer: c.ackFloorConsumer,
			Stream:   c.ackFloorStream,
		},
		NumAckPending:  len(c.pending),
		NumRedelivered: len(c.redelivered),
		NumWaiting:     c.waiting.len(),
		NumPending:     c.numPending,
		TimeStamp:      now,
	}
	if !c.lastDelivered.IsZero() {
		last := c.lastDelivered.UTC()
		info.Delivered.Last = &last
	}
	if !c.lastAcked.IsZero() {
		last := c.lastAcked.UTC()
		info.AckFloor.Last = &last
	}
	if c.config.IsPush() {
		info.PushBound = c.active
	}
	if c.isPausedLocked(now) {
		info.Paused = true
		info.PauseRemaining = c.config.PauseUntil.Sub(now)
	}
	if len(c.config.PriorityGroups) > 0 {
		// The reference reports the first group's state whatever the policy (one
		// group is all a consumer serves today).
		state := jsapi.PriorityGroupState{Group: c.config.PriorityGroups[0]}
		if c.pinID != "" {
			state.PinnedClientID = c.pinID
			state.PinnedTS = c.pinTime.UTC()
		}
		info.PriorityGroups = append(info.PriorityGroups, state)
	}
	return info
}

// Pause sets or clears pause_until (CONSUMER.PAUSE): a time in the future pauses
// deliveries until then, a zero or past time resumes at once. It returns the new
// pause time and whether the consumer is paused now.
func (c *Consumer) Pause(until time.Time) (time.Time, bool) {
	c.mu.Lock()
	if until.IsZero() {
		c.config.PauseUntil = nil
	} else {
		pause := until.UTC()
		c.config.PauseUntil = &pause
	}
	// Pausing changes the API level the configuration needs, as the reference records.
	jsapi.SetStaticConsumerMetadata(&c.config)
	c.armPauseLocked()
	now := c.world.clock.Now()
	paused := c.isPausedLocked(now)
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerPause, c.world.streamName, c.name), c.pauseAdvisoryLocked())
	if !paused {
		c.deliverLocked()
	}
	c.unlockAndFlush()
	return until, paused
}

// Reset moves the consumer back (or forward) to stream sequence seq (CONSUMER.RESET):
// zero means just above the ack floor. Pending acks and redelivery counts are dropped.
// It returns the sequence delivery restarts at.
func (c *Consumer) Reset(seq uint64) (uint64, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, errConsumerClosed
	}
	if seq == 0 {
		seq = c.ackFloorStream + 1
	} else {
		switch c.config.DeliverPolicy {
		case jsapi.DeliverAll:
		case jsapi.DeliverByStartSequence:
			if seq < c.config.OptStartSeq {
				c.mu.Unlock()
				return 0, errors.New("below start seq")
			}
		case jsapi.DeliverByStartTime:
			var state store.StreamState
			c.world.store.FastState(&state)
			if c.config.OptStartTime != nil && seq < sequenceFromTime(c.world.store, &state, c.config.OptStartTime.UnixNano()) {
				c.mu.Unlock()
				return 0, errors.New("below start time")
			}
		default:
			c.mu.Unlock()
			return 0, errors.New("not allowed")
		}
	}
	if seq == 0 {
		seq = 1
	}
	c.pending, c.redelivered = nil, nil
	c.redeliverQueue, c.redeliverSet = nil, nil
	c.lastPerSubject = nil
	c.streamNext, c.consumerNext = seq, 1
	c.ackFloorConsumer, c.ackFloorStream = 0, seq-1
	c.lastDelivered, c.lastAcked = time.Time{}, time.Time{}
	stopTimer(&c.ackTimer)
	if c.store != nil {
		_ = c.store.Update(&store.ConsumerState{
			Delivered: store.SequencePair{Stream: seq - 1},
			AckFloor:  store.SequencePair{Stream: seq - 1},
		})
	}
	c.recomputeNumPendingLocked()
	c.deliverLocked()
	c.unlockAndFlush()
	return seq, nil
}

// UpdateConfig applies an allowed configuration change (CheckConsumerUpdate passed).
func (c *Consumer) UpdateConfig(config jsapi.ConsumerConfig) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	previous := c.config
	c.config = cloneConsumerConfig(config)
	c.filters = normalizeFilters(config.FilterSubjectList())
	if c.store != nil {
		_ = c.store.UpdateConfig(storeConsumerConfig(&c.config))
	}
	if previous.DeliverSubject != config.DeliverSubject || previous.DeliverGroup != config.DeliverGroup {
		c.watchInterestLocked()
		c.active = false
		c.refreshInterestLocked()
	}
	if c.waiting != nil && config.MaxWaiting > 0 {
		c.waiting.max = config.MaxWaiting
	}
	c.armPauseLocked()
	c.armInactiveLocked()
	c.recomputeNumPendingLocked()
	c.deliverLocked()
	c.unlockAndFlush()
}
