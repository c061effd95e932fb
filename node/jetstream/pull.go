package jetstream

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
)

// waitingRequest is one pull request waiting for messages.
type waitingRequest struct {
	reply string
	// remaining is how many messages the request still takes; delivered how many it got.
	remaining int
	delivered int
	// bytesRemaining is what is left of max_bytes (0: no limit).
	bytesRemaining int
	noWait         bool
	expires        time.Time
	heartbeat      time.Duration
	nextHeartbeat  time.Time
	received       time.Time
	group          *jsapi.PriorityGroup
}

// credit gives a request back one message of size bytes it did not get.
func (r *waitingRequest) credit(size int) {
	r.remaining++
	r.delivered--
	if r.bytesRemaining > 0 || size > 0 {
		r.bytesRemaining += size
	}
}

// waitQueue is the bounded queue of pull requests (max_waiting). Requests are served
// from the front; a request that still wants more after a delivery goes to the back
// (round robin), except under the prioritized policy, where the queue stays sorted by
// priority and a request keeps its place.
type waitQueue struct {
	requests    []*waitingRequest
	max         int
	prioritized bool
}

func newWaitQueue(max int, prioritized bool) *waitQueue {
	if max <= 0 {
		max = jsapi.DefaultMaxWaiting
	}
	return &waitQueue{max: max, prioritized: prioritized}
}

func (q *waitQueue) isEmpty() bool { return q == nil || len(q.requests) == 0 }
func (q *waitQueue) isFull() bool  { return len(q.requests) >= q.max }
func (q *waitQueue) len() int {
	if q == nil {
		return 0
	}
	return len(q.requests)
}
func (q *waitQueue) all() []*waitingRequest { return slices.Clone(q.requests) }
func (q *waitQueue) clear()                 { q.requests = nil }

// add appends a request; it reports false when the queue is full.
func (q *waitQueue) add(request *waitingRequest) bool {
	if q.isFull() {
		return false
	}
	if !q.prioritized {
		q.requests = append(q.requests, request)
		return true
	}
	priority := requestPriority(request)
	index := len(q.requests)
	for i, other := range q.requests {
		if requestPriority(other) > priority {
			index = i
			break
		}
	}
	q.requests = slices.Insert(q.requests, index, request)
	return true
}

func requestPriority(request *waitingRequest) int {
	if request.group == nil {
		return 0
	}
	return request.group.Priority
}

// remove drops the request at index.
func (q *waitQueue) remove(index int) {
	q.requests = slices.Delete(q.requests, index, index+1)
}

// cycle moves the front request to the back.
func (q *waitQueue) cycle() {
	if len(q.requests) > 1 {
		front := q.requests[0]
		q.requests = append(q.requests[1:], front)
	}
}

// processNextRequest handles a pull request (CONSUMER.MSG.NEXT or +NXT) with the
// reference's checks and status replies.
func (c *Consumer) processNextRequestLocked(reply string, body []byte) {
	if reply == "" {
		return
	}
	if c.config.IsPush() || c.waiting == nil {
		c.queueLocked(reply, "", header.Build(jsapi.StatusConflict, jsapi.DescriptionConsumerIsPushBased), nil)
		return
	}
	request, err := jsapi.ParseNextRequest(body)
	if err != nil {
		c.queueLocked(reply, "", header.Build(jsapi.StatusBadRequest, jsapi.DescriptionBadRequestPrefix+err.Error()), nil)
		return
	}
	if request.Batch <= 0 {
		request.Batch = 1
	}
	now := c.world.clock.Now()
	sendError := func(code int, description string) {
		c.queueLocked(reply, "", header.Build(code, description), nil)
	}
	config := &c.config
	switch {
	case config.MaxRequestBatch > 0 && request.Batch > config.MaxRequestBatch:
		sendError(jsapi.StatusConflict, fmt.Sprintf(jsapi.DescriptionExceededMaxRequestBatchFormat, config.MaxRequestBatch))
		return
	case request.Expires > 0 && config.MaxRequestExpires > 0 && request.Expires > config.MaxRequestExpires:
		sendError(jsapi.StatusConflict, fmt.Sprintf(jsapi.DescriptionExceededMaxRequestExpiresFormat, config.MaxRequestExpires))
		return
	case request.MaxBytes > 0 && config.MaxRequestMaxBytes > 0 && request.MaxBytes > config.MaxRequestMaxBytes:
		sendError(jsapi.StatusConflict, fmt.Sprintf(jsapi.DescriptionExceededMaxRequestMaxBytesFormat, config.MaxRequestMaxBytes))
		return
	}
	group, ok := c.checkPriorityGroupLocked(&request, sendError)
	if !ok {
		return
	}
	if c.waiting.isFull() {
		c.processWaitingLocked(false)
	}
	if request.NoWait {
		pending := c.numPending + uint64(len(c.redeliverQueue))
		if pending == 0 && request.Expires == 0 {
			c.lastActivity = now
			sendError(jsapi.StatusNotFound, jsapi.DescriptionNoMessages)
			return
		}
		if pending > 0 {
			if batchPending := c.waitingBatchLocked(); pending < uint64(batchPending) {
				c.lastActivity = now
				sendError(jsapi.StatusRequestTimeout, jsapi.DescriptionRequestsPending)
				return
			}
		}
	}
	waiting := &waitingRequest{
		reply:          reply,
		remaining:      request.Batch,
		bytesRemaining: request.MaxBytes,
		noWait:         request.NoWait,
		heartbeat:      request.Heartbeat,
		received:       now,
		group:          group,
	}
	if request.Expires > 0 {
		waiting.expires = now.Add(request.Expires)
	}
	if request.Heartbeat > 0 {
		waiting.nextHeartbeat = now.Add(request.Heartbeat)
	}
	if !c.waiting.add(waiting) {
		// A client with heartbeats waits for them to stop rather than re-requesting
		// in a hot loop, so it gets no 409.
		if request.Heartbeat == 0 {
			sendError(jsapi.StatusConflict, jsapi.DescriptionExceededMaxWaiting)
		}
		return
	}
	c.lastActivity = now
	c.deliverLocked()
	c.armWaitTimerLocked()
}

// checkPriorityGroupLocked applies the priority group rules to a request; it reports
// false after answering a bad one.
func (c *Consumer) checkPriorityGroupLocked(request *jsapi.NextRequest, sendError func(int, string)) (*jsapi.PriorityGroup, bool) {
	group := request.PriorityGroup
	if group == (jsapi.PriorityGroup{}) {
		if c.config.PriorityPolicy != jsapi.PriorityNone {
			sendError(jsapi.StatusBadRequest, jsapi.DescriptionBadRequestPrefix+"Priority Group missing")
			return nil, false
		}
		return nil, true
	}
	policy := c.config.PriorityPolicy
	switch {
	case (group.MinPending != 0 || group.MinAckPending != 0) && policy != jsapi.PriorityOverflow:
		sendError(jsapi.StatusBadRequest, jsapi.DescriptionBadRequestPrefix+"Not a Overflow Priority consumer")
		return nil, false
	case group.ID != "" && policy != jsapi.PriorityPinnedClient:
		sendError(jsapi.StatusBadRequest, jsapi.DescriptionBadRequestPrefix+"Not a Pinned Client Priority consumer")
		return nil, false
	case group.Priority < 0 || group.Priority > 9:
		sendError(jsapi.StatusBadRequest, jsapi.DescriptionBadRequestPrefix+"Priority must be between 0 and 9")
		return nil, false
	}
	if policy == jsapi.PriorityNone {
		return &group, true
	}
	if group.Group == "" {
		sendError(jsapi.StatusBadRequest, jsapi.DescriptionBadRequestPrefix+"Priority Group missing")
		return nil, false
	}
	if !slices.Contains(c.config.PriorityGroups, group.Group) {
		sendError(jsapi.StatusBadRequest, jsapi.DescriptionBadRequestPrefix+"Invalid Priority Group")
		return nil, false
	}
	if c.pinID != "" {
		if group.ID == c.pinID {
			c.armPinTimerLocked()
		} else if group.ID != "" {
			sendError(jsapi.StatusPinIDMismatch, "Nats-Pin-Id mismatch")
			return nil, false
		}
	}
	return &group, true
}

// waitingBatchLocked sums what the waiting requests still take.
func (c *Consumer) waitingBatchLocked() int {
	total := 0
	for _, request := range c.waiting.requests {
		total += request.remaining
	}
	return total
}

// queueStatusLocked sends a status message carrying a request's remaining counts.
func (c *Consumer) queueStatusLocked(reply string, code int, description string, request *waitingRequest) {
	c.queueLocked(reply, "", pendingStatus(code, description, request), nil)
}

// pendingStatus builds "NATS/1.0 <code> <description>" with the request's
// Nats-Pending-Messages and Nats-Pending-Bytes.
func pendingStatus(code int, description string, request *waitingRequest) []byte {
	block := header.AppendStatus(nil, code, description)
	block = header.AppendIntField(block, jsapi.HeaderPendingMessages, int64(request.remaining))
	block = header.AppendIntField(block, jsapi.HeaderPendingBytes, int64(request.bytesRemaining))
	return header.AppendEnd(block)
}

// nextWaitingLocked picks the request that gets a message of size bytes, answering
// and dropping the ones that expired, lost interest, cannot take the size, or carry a
// stale pin. It returns nil when no request can take the message now.
func (c *Consumer) nextWaitingLocked(size int, now time.Time) *waitingRequest {
	queue := c.waiting
	needPin := c.pinID == "" && c.config.PriorityPolicy == jsapi.PriorityPinnedClient
	cycled := 0
	for !queue.isEmpty() {
		request := queue.requests[0]
		if !request.expires.IsZero() && !now.Before(request.expires) {
			c.queueStatusLocked(request.reply, jsapi.StatusRequestTimeout, jsapi.DescriptionRequestTimeout, request)
			if request.expires.After(c.lastActivity) {
				c.lastActivity = request.expires
			}
			queue.remove(0)
			continue
		}
		assignedPin := false
		if c.config.PriorityPolicy == jsapi.PriorityPinnedClient {
			id := ""
			if request.group != nil {
				id = request.group.ID
			}
			switch {
			case needPin && id == "":
				c.assignPinLocked(request, now)
				assignedPin = true
			case needPin || (id != "" && id != c.pinID):
				c.queueStatusLocked(request.reply, jsapi.StatusPinIDMismatch, jsapi.DescriptionWrongPinID, request)
				queue.remove(0)
				continue
			case id == "":
				queue.cycle()
				cycled++
				if cycled >= queue.len() {
					return nil
				}
				continue
			}
		}
		if c.config.PriorityPolicy == jsapi.PriorityOverflow && request.group != nil &&
			(request.group.MinPending > 0 || request.group.MinAckPending > 0) &&
			!((request.group.MinPending > 0 && uint64(request.group.MinPending) <= c.numPending+1) ||
				(request.group.MinAckPending > 0 && int(request.group.MinAckPending) <= len(c.pending))) {
			queue.cycle()
			cycled++
			if cycled >= queue.len() {
				return nil
			}
			continue
		}
		if request.bytesRemaining > 0 {
			if size > request.bytesRemaining {
				c.queueStatusLocked(request.reply, jsapi.StatusConflict, jsapi.DescriptionMaxBytesExceeded, request)
				if assignedPin {
					c.unassignPinLocked()
				}
				queue.remove(0)
				continue
			}
			request.bytesRemaining -= size
			if request.bytesRemaining == 0 {
				request.remaining = 1
			}
		}
		if !c.world.hasInterest(request.reply) {
			if assignedPin {
				// The pin goes to the next live request instead.
				c.unassignPinLocked()
			}
			queue.remove(0)
			continue
		}
		if assignedPin {
			c.announcePinLocked(request)
		}
		return request
	}
	return nil
}

// afterPullDeliveryLocked counts a delivery against its request: a finished request
// leaves the queue (with a 409 Batch Completed when bytes were asked and are left);
// an unfinished one goes to the back unless requests are prioritized.
func (c *Consumer) afterPullDeliveryLocked(request *waitingRequest, now time.Time) {
	request.remaining--
	request.delivered++
	c.lastActivity = now
	queue := c.waiting
	if request.remaining <= 0 {
		queue.remove(0)
		if request.bytesRemaining > 0 {
			c.queueStatusLocked(request.reply, jsapi.StatusConflict, jsapi.DescriptionBatchCompleted, request)
		}
		return
	}
	if request.heartbeat > 0 {
		request.nextHeartbeat = now.Add(request.heartbeat)
	}
	if !queue.prioritized && c.config.PriorityPolicy != jsapi.PriorityPinnedClient {
		queue.cycle()
	}
}

// processWaitingLocked answers requests that expired (408 Request Timeout) and, with
// endOfStream, no-wait requests that found nothing more (404 No Messages when they
// set no expiry or already got messages; the others wait for their expiry), drops
// requests whose client went away, sends due request heartbeats, and re-arms the wait
// timer for the next deadline.
func (c *Consumer) processWaitingLocked(endOfStream bool) {
	queue := c.waiting
	if queue.isEmpty() {
		stopTimer(&c.waitTimer)
		return
	}
	now := c.world.clock.Now()
	kept := queue.requests[:0]
	for _, request := range queue.requests {
		expired := !request.expires.IsZero() && !now.Before(request.expires)
		if expired {
			c.queueStatusLocked(request.reply, jsapi.StatusRequestTimeout, jsapi.DescriptionRequestTimeout, request)
			if request.expires.After(c.lastActivity) {
				c.lastActivity = request.expires
			}
			continue
		}
		if endOfStream && request.noWait && (c.noTaker || c.numPending == 0 && len(c.redeliverQueue) == 0) {
			if request.expires.IsZero() || request.delivered > 0 {
				c.queueLocked(request.reply, "", header.Build(jsapi.StatusNotFound, jsapi.DescriptionNoMessages), nil)
				c.lastActivity = now
				continue
			}
		}
		if !c.world.hasInterest(request.reply) {
			continue
		}
		if request.heartbeat > 0 && !now.Before(request.nextHeartbeat) {
			c.queueLocked(request.reply, "", c.heartbeatHeaderLocked(), nil)
			request.nextHeartbeat = now.Add(request.heartbeat)
		}
		kept = append(kept, request)
	}
	clear(queue.requests[len(kept):])
	queue.requests = kept
	c.armWaitTimerLocked()
}

// armWaitTimerLocked schedules the next request expiry or heartbeat.
func (c *Consumer) armWaitTimerLocked() {
	var next time.Time
	for _, request := range c.waiting.requests {
		if !request.expires.IsZero() && (next.IsZero() || request.expires.Before(next)) {
			next = request.expires
		}
		if request.heartbeat > 0 && (next.IsZero() || request.nextHeartbeat.Before(next)) {
			next = request.nextHeartbeat
		}
	}
	if next.IsZero() {
		stopTimer(&c.waitTimer)
		return
	}
	if c.waitTimer != nil && c.waitTimerDeadline.Equal(next) {
		return
	}
	stopTimer(&c.waitTimer)
	delay := next.Sub(c.world.clock.Now())
	if delay < time.Millisecond {
		delay = time.Millisecond
	}
	c.waitTimerDeadline = next
	c.waitTimer = c.world.clock.AfterFunc(delay, c.onWaitTimer)
}

func (c *Consumer) onWaitTimer() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.waitTimer = nil
	c.deliverLocked()
	c.processWaitingLocked(true)
	c.unlockAndFlush()
}

// heartbeatHeaderLocked is the idle heartbeat status with the last sequences (and the
// pending flow control subject when stalled).
func (c *Consumer) heartbeatHeaderLocked() []byte {
	block := header.AppendStatus(nil, jsapi.StatusControl, jsapi.DescriptionIdleHeartbeat)
	block = header.AppendField(block, headerLastConsumer, strconv.FormatUint(c.consumerNext-1, 10))
	block = header.AppendField(block, headerLastStream, strconv.FormatUint(c.streamNext-1, 10))
	if c.flowControlID != "" {
		block = header.AppendField(block, jsapi.HeaderConsumerStalled, c.flowControlID)
	}
	return header.AppendEnd(block)
}

// NextRequest handles a pull request addressed to CONSUMER.MSG.NEXT.
func (c *Consumer) NextRequest(reply string, body []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.processNextRequestLocked(reply, body)
	c.unlockAndFlush()
}
