package jetstream

import (
	"encoding/json"
	"time"

	"github.com/natsim/natsim/proto/jsapi"
)

// nuidDigits are the characters of generated identifiers (the reference's nuid
// alphabet), and their length.
const (
	nuidDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	nuidBytes  = 22
)

// newIdentifier returns a random identifier in the reference's nuid shape, from the
// world's randomness so that the simulator replays it.
func newIdentifier(random interface{ Uint64() uint64 }) string {
	var out [nuidBytes]byte
	for i := range out {
		out[i] = nuidDigits[random.Uint64()%uint64(len(nuidDigits))]
	}
	return string(out[:])
}

// typedEventLocked is an advisory's header: type, a fresh id and the time.
func (c *Consumer) typedEventLocked(eventType string) jsapi.TypedEvent {
	return jsapi.TypedEvent{Type: eventType, ID: newIdentifier(c.world.rand), Time: c.world.clock.Now().UTC()}
}

// queueAdvisoryLocked queues an advisory when anyone listens on its subject (the
// reference skips encoding otherwise).
func (c *Consumer) queueAdvisoryLocked(subjectName string, event any) {
	if c.world.hasInterest != nil && !c.world.hasInterest(subjectName) {
		return
	}
	body, err := json.Marshal(event)
	if err != nil {
		return
	}
	c.queueLocked(subjectName, "", nil, body)
}

// actionAdvisoryLocked is the created or deleted advisory.
func (c *Consumer) actionAdvisoryLocked(action jsapi.AdvisoryAction) *jsapi.ConsumerActionAdvisory {
	return &jsapi.ConsumerActionAdvisory{
		TypedEvent: c.typedEventLocked(jsapi.ConsumerActionAdvisoryType),
		Stream:     c.world.streamName,
		Consumer:   c.name,
		Action:     action,
		Domain:     c.world.domain,
	}
}

// pauseAdvisoryLocked is the pause (or resume) advisory.
func (c *Consumer) pauseAdvisoryLocked() *jsapi.ConsumerPauseAdvisory {
	advisory := &jsapi.ConsumerPauseAdvisory{
		TypedEvent: c.typedEventLocked(jsapi.ConsumerPauseAdvisoryType),
		Stream:     c.world.streamName,
		Consumer:   c.name,
		Domain:     c.world.domain,
	}
	if c.config.PauseUntil != nil {
		advisory.PauseUntil = *c.config.PauseUntil
		advisory.Paused = c.world.clock.Now().Before(advisory.PauseUntil)
	}
	return advisory
}

// sendCreatedAdvisory sends the consumer created advisory.
func (c *Consumer) sendCreatedAdvisory() {
	c.mu.Lock()
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerCreated, c.world.streamName, c.name), c.actionAdvisoryLocked(jsapi.ActionCreated))
	c.unlockAndFlush()
}

// sendDeletedAdvisory sends the consumer deleted advisory.
func (c *Consumer) sendDeletedAdvisory() {
	c.mu.Lock()
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerDeleted, c.world.streamName, c.name), c.actionAdvisoryLocked(jsapi.ActionDeleted))
	c.unlockAndFlush()
}

// assignPinLocked pins the priority group to request: its later requests carry the
// pin id, and the request itself keeps it for the rest of its batch.
func (c *Consumer) assignPinLocked(request *waitingRequest, now time.Time) {
	c.pinID = newIdentifier(c.world.rand)
	c.pinTime = now
	if request.group != nil {
		request.group.ID = c.pinID
	}
	c.armPinTimerLocked()
}

// announcePinLocked sends the pinned advisory once a pinned request is served.
func (c *Consumer) announcePinLocked(request *waitingRequest) {
	group := ""
	if request.group != nil {
		group = request.group.Group
	}
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerPinned, c.world.streamName, c.name), &jsapi.ConsumerGroupPinnedAdvisory{
		TypedEvent:     c.typedEventLocked(jsapi.ConsumerGroupPinnedAdvisoryType),
		Account:        c.world.accountName,
		Stream:         c.world.streamName,
		Consumer:       c.name,
		Domain:         c.world.domain,
		Group:          group,
		PinnedClientID: c.pinID,
	})
}

// unassignPinLocked forgets the pin without an advisory (a pin just assigned to a
// request that could not take the message).
func (c *Consumer) unassignPinLocked() {
	c.pinID = ""
	c.pinTime = time.Time{}
	stopTimer(&c.pinTimer)
}

// unpinLocked releases the pin with the unpinned advisory (reason "admin" for the
// UNPIN request, "timeout" when the pinned client stopped pulling).
func (c *Consumer) unpinLocked(reason string) {
	if c.pinID == "" {
		return
	}
	c.unassignPinLocked()
	group := ""
	if len(c.config.PriorityGroups) > 0 {
		group = c.config.PriorityGroups[0]
	}
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerUnpinned, c.world.streamName, c.name), &jsapi.ConsumerGroupUnpinnedAdvisory{
		TypedEvent: c.typedEventLocked(jsapi.ConsumerGroupUnpinnedAdvisoryType),
		Account:    c.world.accountName,
		Stream:     c.world.streamName,
		Consumer:   c.name,
		Domain:     c.world.domain,
		Group:      group,
		Reason:     reason,
	})
	c.deliverLocked()
}

// armPinTimerLocked restarts the pinned client's time to live (priority_timeout).
func (c *Consumer) armPinTimerLocked() {
	if c.config.PinnedTTL <= 0 {
		return
	}
	stopTimer(&c.pinTimer)
	c.pinTimer = c.world.clock.AfterFunc(c.config.PinnedTTL, func() {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.pinTimer = nil
		c.unpinLocked("timeout")
		c.unlockAndFlush()
	})
}

// Unpin releases the pin of group (CONSUMER.UNPIN); it reports false for a group the
// consumer does not have.
func (c *Consumer) Unpin(group string) bool {
	c.mu.Lock()
	found := false
	for _, configured := range c.config.PriorityGroups {
		if configured == group {
			found = true
		}
	}
	if found && !c.closed {
		c.unpinLocked("admin")
	}
	c.unlockAndFlush()
	return found
}
