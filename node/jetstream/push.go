package jetstream

import (
	"strconv"
	"strings"
	"time"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
)

// flowControlPrefix is the start of the consumer's flow control reply subjects,
// "$JS.FC.<stream>.<consumer>.", followed by a per-request token.
func (c *Consumer) flowControlPrefix() string {
	return jsapi.FlowControlPrefix + c.world.streamName + "." + c.name + "."
}

// refreshInterestLocked re-reads whether the deliver subject has subscribers and
// reacts to a change: interest starts deliveries and cancels the inactive timer, its
// loss stops deliveries and starts the timer.
func (c *Consumer) refreshInterestLocked() {
	if !c.config.IsPush() {
		return
	}
	active := c.deliveryInterestLocked()
	if active == c.active {
		// A pending check keeps its time: re-arming on every message would push it
		// forward forever and the inactive threshold would never pass.
		if c.deleteTimer == nil {
			c.armInactiveLocked()
		}
		return
	}
	c.active = active
	if !active {
		c.lastActivity = c.world.clock.Now()
		c.interestPollDelay = interestPollMin
	}
	c.armInactiveLocked()
	if active {
		c.armHeartbeatLocked()
	}
}

// deliveryInterestLocked reports whether the deliver subject has the subscribers
// that make a push consumer active: with a host that reports them, subscriptions on
// exactly the deliver subject in the deliver group (plain ones without a group), as
// in the reference; otherwise any matching subscription.
func (c *Consumer) deliveryInterestLocked() bool {
	if c.world.deliveryInterest != nil {
		return c.world.deliveryInterest(c.config.DeliverSubject, c.config.DeliverGroup)
	}
	return c.world.hasInterest(c.config.DeliverSubject)
}

// watchInterestLocked (re)registers the watch on the deliver subject and group of a
// push consumer, when the host can report changes. The callback runs from a task.
func (c *Consumer) watchInterestLocked() {
	c.unwatchInterestLocked()
	if !c.config.IsPush() || c.world.watchInterest == nil || c.closed {
		return
	}
	c.interestCancel = c.world.watchInterest(c.config.DeliverSubject, c.config.DeliverGroup, c.InterestChanged)
}

// unwatchInterestLocked cancels the watch, if any.
func (c *Consumer) unwatchInterestLocked() {
	if c.interestCancel != nil {
		c.interestCancel()
		c.interestCancel = nil
	}
}

// interestWatchedLocked reports whether the host reports interest changes, which
// makes every interest poll unnecessary.
func (c *Consumer) interestWatchedLocked() bool {
	return c.interestCancel != nil
}

// InterestChanged tells a push consumer that subscriptions on its deliver subject
// came or went. A host that implements InterestWatcher calls it on every change;
// with another host the consumer also polls.
func (c *Consumer) InterestChanged() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.refreshInterestLocked()
	c.deliverLocked()
	c.unlockAndFlush()
}

// afterPushDeliveryLocked accounts a push delivery for flow control and restarts the
// idle heartbeat.
func (c *Consumer) afterPushDeliveryLocked(size int) {
	if c.pendingBytesMax > 0 {
		c.pendingBytes += size
		if c.needFlowControlLocked(size) {
			c.sendFlowControlLocked()
		}
	}
	c.armHeartbeatLocked()
}

// needFlowControlLocked decides whether to ask the client for a flow control reply:
// when half the window is used and none is outstanding.
func (c *Consumer) needFlowControlLocked(size int) bool {
	if c.flowControlID == "" && c.pendingBytes > c.pendingBytesMax/2 {
		return true
	}
	if c.flowControlID == "" && c.config.AckPolicy == jsapi.AckFlowControl && c.config.MaxAckPending > 0 && len(c.pending) >= c.config.MaxAckPending {
		return true
	}
	if c.flowControlID != "" && c.pendingBytes-c.flowControlSize >= c.pendingBytesMax {
		c.flowControlSize += size
	}
	return false
}

// sendFlowControlLocked sends "100 FlowControl Request" with a fresh reply subject.
func (c *Consumer) sendFlowControlLocked() {
	if !c.config.IsPush() {
		return
	}
	c.flowControlCounter++
	reply := c.flowControlPrefix() + strconv.FormatUint(c.flowControlCounter, 36)
	c.flowControlID, c.flowControlSize = reply, c.pendingBytes
	c.queueLocked(c.config.DeliverSubject, reply, header.Build(jsapi.StatusControl, jsapi.DescriptionFlowControlRequest), nil)
}

// handleFlowControl receives a client's flow control reply: the window grows (slow
// start) and the bytes it covered are released.
func (c *Consumer) handleFlowControl(subjectName, _ string, headerBlock, _ []byte) {
	c.mu.Lock()
	if c.closed || subjectName != c.flowControlID {
		c.mu.Unlock()
		return
	}
	if c.pendingBytesMax < c.pendingBytesLimit {
		c.pendingBytesMax = min(c.pendingBytesMax*2, c.pendingBytesLimit)
	}
	c.pendingBytes -= c.flowControlSize
	if c.pendingBytes < 0 {
		c.pendingBytes = 0
	}
	c.flowControlID, c.flowControlSize = "", 0
	if c.config.AckPolicy == jsapi.AckFlowControl && len(headerBlock) > 0 {
		lastStream := parseHeaderUint(headerBlock, headerLastStream)
		lastConsumer := parseHeaderUint(headerBlock, headerLastConsumer)
		if lastStream > 0 {
			c.ackLocked(lastStream, lastConsumer, 1)
		}
	}
	c.deliverLocked()
	c.unlockAndFlush()
}

func parseHeaderUint(headerBlock []byte, key string) uint64 {
	value, ok := header.Get(headerBlock, key)
	if !ok {
		return 0
	}
	number, err := strconv.ParseUint(strings.TrimSpace(string(value)), 10, 64)
	if err != nil {
		return 0
	}
	return number
}

// armHeartbeatLocked restarts the idle heartbeat timer of a push consumer.
func (c *Consumer) armHeartbeatLocked() {
	if !c.config.IsPush() || c.config.Heartbeat <= 0 || c.closed {
		return
	}
	if c.heartbeatTimer != nil {
		c.heartbeatTimer.Reset(c.config.Heartbeat)
		return
	}
	c.heartbeatTimer = c.world.clock.AfterFunc(c.config.Heartbeat, c.onHeartbeat)
}

func (c *Consumer) onHeartbeat() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.refreshInterestLocked()
	if c.active {
		c.queueLocked(c.config.DeliverSubject, "", c.heartbeatHeaderLocked(), nil)
		if c.config.AckPolicy == jsapi.AckFlowControl && len(c.pending) > 0 && c.flowControlID == "" {
			c.sendFlowControlLocked()
		}
	}
	c.heartbeatTimer.Reset(c.config.Heartbeat)
	c.deliverLocked()
	c.unlockAndFlush()
}

// armInactiveLocked (re)arms the inactive threshold: a push consumer without interest
// or a pull consumer without requests is deleted once it passes. A push consumer
// whose host does not report interest changes also polls for interest.
func (c *Consumer) armInactiveLocked() {
	if c.closed {
		return
	}
	threshold := c.inactiveThresholdLocked()
	stopTimer(&c.deleteTimer)
	if c.config.IsPush() && c.interestWatchedLocked() {
		// The host reports every change: an active consumer needs no timer, an
		// inactive one counts its threshold from the moment interest went.
		if !c.active && threshold > 0 {
			remaining := threshold - c.world.clock.Now().Sub(c.lastActivity)
			c.deleteTimer = c.world.clock.AfterFunc(max(remaining, time.Millisecond), c.onInactiveCheck)
		}
		return
	}
	if c.config.IsPush() {
		if c.active {
			// Without reports lost interest is not seen either: a consumer that
			// would be deleted once inactive checks at half its threshold.
			if threshold > 0 {
				delay := min(max(threshold/2, interestPollMin), interestPollMax)
				c.deleteTimer = c.world.clock.AfterFunc(delay, c.onInactiveCheck)
			}
			return
		}
		delay := max(c.interestPollDelay, interestPollMin)
		c.interestPollDelay = min(2*delay, interestPollMax)
		if threshold > 0 {
			delay = min(delay, threshold)
		}
		c.deleteTimer = c.world.clock.AfterFunc(delay, c.onInactiveCheck)
		return
	}
	if threshold > 0 {
		c.deleteTimer = c.world.clock.AfterFunc(threshold, c.onInactiveCheck)
	}
}

// inactiveThresholdLocked is the configured threshold, or the ephemeral default.
func (c *Consumer) inactiveThresholdLocked() time.Duration {
	threshold := c.config.InactiveThreshold
	if threshold == 0 && !c.config.IsDurable() {
		threshold = jsapi.DefaultInactiveThreshold
	}
	return threshold
}

func (c *Consumer) onInactiveCheck() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.deleteTimer = nil
	now := c.world.clock.Now()
	threshold := c.inactiveThresholdLocked()
	if c.config.IsPush() {
		c.refreshInterestLocked()
		if c.active {
			c.deliverLocked()
			c.unlockAndFlush()
			return
		}
		if threshold > 0 && !c.lastActivity.IsZero() && now.Sub(c.lastActivity) >= threshold {
			c.deleteInactiveLocked()
			return
		}
		if c.deleteTimer == nil {
			c.armInactiveLocked()
		}
		c.unlockAndFlush()
		return
	}
	c.processWaitingLocked(false)
	if !c.waiting.isEmpty() {
		c.lastActivity = now
	}
	if idle := now.Sub(c.lastActivity); threshold > 0 && idle >= threshold && len(c.waiting.requests) == 0 {
		if wait := c.pendingAckWaitLocked(now, threshold); wait > 0 {
			// A client may still be working on delivered messages: as the
			// reference, count the threshold from the last ack deadline.
			c.deleteTimer = c.world.clock.AfterFunc(wait, c.onInactiveCheck)
			c.unlockAndFlush()
			return
		}
		c.deleteInactiveLocked()
		return
	} else if threshold > 0 {
		c.deleteTimer = c.world.clock.AfterFunc(max(threshold-idle, time.Millisecond), c.onInactiveCheck)
	}
	c.unlockAndFlush()
}

// pendingAckWaitLocked returns how long until the latest pending message's ack
// deadline (its ack wait or backoff step) plus threshold has passed, or zero when it
// has: an idle pull consumer with messages out is kept that long.
func (c *Consumer) pendingAckWaitLocked(now time.Time, threshold time.Duration) time.Duration {
	var wait time.Duration
	for _, seq := range sortedSequences(c.pending) {
		ackWait := c.config.AckWait
		if count := len(c.config.BackOff); count > 0 {
			ackWait = c.config.BackOff[min(int(c.redelivered[seq]), count-1)]
		}
		deadline := time.Duration(c.pending[seq].Timestamp-now.UnixNano()) + ackWait + threshold
		wait = max(wait, deadline)
	}
	return wait
}

// deleteInactiveLocked deletes a consumer whose inactive threshold passed; it is
// called with the lock held and releases it.
func (c *Consumer) deleteInactiveLocked() {
	c.unlockAndFlush()
	c.Delete()
	c.mu.Lock()
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerDeleted, c.world.streamName, c.name), c.actionAdvisoryLocked(jsapi.ActionDeleted))
	c.unlockAndFlush()
	if c.world.removed != nil {
		c.world.removed(c)
	}
}
