package jetstream

import (
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// Limits on a consumer's own work queues and loops.
const (
	// deliverBatchMax bounds the messages one pass of the delivery loop sends before it
	// yields (it reschedules itself at once), so one busy consumer cannot hold its lock
	// or starve the simulator's other events.
	deliverBatchMax = 256
	// redeliverQueueMax bounds the redelivery queue; it can never exceed the pending
	// messages, which max_ack_pending bounds, but a consumer without that limit could
	// queue every pending message.
	redeliverQueueMax = 1 << 20
	// outboxMax bounds the messages queued for sending between two flushes. The
	// delivery loop yields when the outbox is full.
	outboxMax = 4 * deliverBatchMax
	// flowControlPendingBytesMax is the most bytes a flow controlled push consumer lets
	// go unanswered (the reference's JsFlowControlMaxPending); it starts at a 16th.
	flowControlPendingBytesMax = 32 * 1024 * 1024
	// stateFlushInterval is how long changed consumer state may wait before it is
	// written to its store (the reference also flushes consumer state in the
	// background, apart from acks).
	stateFlushInterval = 250 * time.Millisecond
	// ackWaitSlack delays the pending check a little past the deadline so that a burst
	// of deliveries is checked in one pass, as the reference does.
	ackWaitSlack = time.Millisecond
	// A push consumer without interest on a host that cannot report subscription
	// changes (no InterestWatcher) checks for it again: first after interestPollMin,
	// then at doubling intervals up to interestPollMax. Clients usually subscribe
	// right after creating the consumer (or right before), so the first checks come
	// soon. The server's host reports changes, so there nothing polls.
	interestPollMin = 2 * time.Millisecond
	interestPollMax = 250 * time.Millisecond
)

// Header names a consumer writes on its control messages.
const (
	headerLastConsumer = "Nats-Last-Consumer"
	headerLastStream   = "Nats-Last-Stream"
)

// errConsumerClosed is returned by operations on a stopped or deleted consumer.
var errConsumerClosed = errors.New("consumer is closed")

// errMaxAckPending stalls the delivery loop at max_ack_pending.
var errMaxAckPending = errors.New("max ack pending reached")

// outMessage is a message the consumer has decided to send; it is sent after the
// consumer's lock is released, in order.
type outMessage struct {
	subject, reply string
	// deliverSubject, when set, routes the message while receivers see subject.
	deliverSubject string
	header, body   []byte
	// acknowledged, when not zero, is a stream sequence to report to the stream instead
	// of a message (interest and work queue retention).
	acknowledged uint64
}

// Consumer is one JetStream consumer on one server: a deterministic state machine fed
// by stream appends, pull requests, acks, flow control replies and timers. Every input
// takes the consumer's lock, updates the state and queues the messages to send; the
// messages leave after the lock is released (see unlockAndFlush), in the order they
// were queued. Time comes from the world's clock, and timers are the clock's AfterFunc,
// so in the simulator a consumer is driven entirely by virtual time.
type Consumer struct {
	mu     sync.Mutex
	world  consumerWorld
	name   string
	config jsapi.ConsumerConfig
	// direct and sourcing are config.Direct and config.Sourcing, which no update
	// changes, readable without the lock.
	direct   bool
	sourcing bool
	// created is the creation time reported in the info.
	created time.Time
	store   store.ConsumerStore
	closed  bool
	// started is set by signal: until then nothing is delivered (see startLocked).
	started bool

	// streamNext is the next stream sequence to look at; consumerNext the consumer
	// sequence the next new delivery gets.
	streamNext   uint64
	consumerNext uint64
	// ackFloorConsumer and ackFloorStream: everything up to them is acknowledged.
	ackFloorConsumer uint64
	ackFloorStream   uint64
	// pending maps a delivered, unacknowledged stream sequence to its first delivery's
	// consumer sequence and the time of its last delivery.
	pending map[uint64]*store.Pending
	// redelivered counts the redeliveries of a stream sequence (deliveries minus one).
	redelivered map[uint64]uint64
	// redeliverQueue holds stream sequences due for redelivery, in order.
	redeliverQueue []uint64
	redeliverSet   map[uint64]struct{}
	// lastPerSubject is the skip list of a last_per_subject consumer's first pass.
	lastPerSubject *skipList
	// filters are the consumer's filter subjects (nil: the whole stream).
	filters []string
	// numPending caches the count of matching messages at or after streamNext;
	// numPendingThrough is the last stream sequence it covers.
	numPending        uint64
	numPendingThrough uint64

	// Pull state.
	waiting *waitQueue
	// lastActivity is the last pull request, delivery or expiry, for the inactive
	// threshold of pull consumers.
	lastActivity time.Time

	// Push state.
	active            bool
	interestPollDelay time.Duration
	// interestCancel cancels the host's watch on the deliver subject; nil when the
	// host cannot report interest changes (then the consumer polls).
	interestCancel     func()
	pendingBytes       int
	pendingBytesMax    int
	pendingBytesLimit  int
	flowControlID      string
	flowControlSize    int
	flowControlCounter uint64

	// Timers. Each is created lazily; the deadline fields say when they fire.
	ackTimer          env.Timer
	ackTimerDeadline  time.Time
	waitTimer         env.Timer
	waitTimerDeadline time.Time
	heartbeatTimer    env.Timer
	deleteTimer       env.Timer
	pauseTimer        env.Timer
	pinTimer          env.Timer
	delayTimer        env.Timer
	flushTimer        env.Timer
	kickScheduled     bool
	delayScheduled    bool

	// noTaker says the last delivery pass found a message no waiting pull request
	// could take (priority group conditions, a pin): as the reference's, a no_wait
	// request then ends with 404 instead of waiting.
	noTaker bool

	// Replay and rate limiting.
	replaying          bool
	replayLastSequence uint64
	replayLastStamp    int64
	rateNextSend       time.Time

	// Priority groups.
	pinID   string
	pinTime time.Time

	// lastDelivered and lastAcked are reported as last_active in the info.
	lastDelivered time.Time
	lastAcked     time.Time

	// subscriptions are the internal subscriptions to cancel on stop.
	subscriptions []func()

	// outbox holds messages to send once the lock is released; flushing says a
	// flush loop is running (a re-entrant call only appends).
	outbox   []outMessage
	flushing bool
	// spareOutbox is the outbox the last flush sent, kept so that the next messages
	// are queued into it instead of a newly grown slice.
	spareOutbox []outMessage

	// fastState is nextMessageLocked's scratch state (under mu), which would
	// otherwise be allocated per message because it passes through the store
	// interface.
	fastState store.StreamState
}

// skipList is the list of last-per-subject sequences delivered first, then delivery
// resumes after resume.
type skipList struct {
	sequences []uint64
	resume    uint64
}

// Name returns the consumer's name.
func (c *Consumer) Name() string { return c.name }

// Config returns a copy of the consumer's configuration.
func (c *Consumer) Config() jsapi.ConsumerConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cloneConsumerConfig(c.config)
}

func cloneConsumerConfig(config jsapi.ConsumerConfig) jsapi.ConsumerConfig {
	config.BackOff = slices.Clone(config.BackOff)
	config.FilterSubjects = slices.Clone(config.FilterSubjects)
	config.PriorityGroups = slices.Clone(config.PriorityGroups)
	if config.Metadata != nil {
		metadata := make(map[string]string, len(config.Metadata))
		for key, value := range config.Metadata {
			metadata[key] = value
		}
		config.Metadata = metadata
	}
	if config.PauseUntil != nil {
		pause := *config.PauseUntil
		config.PauseUntil = &pause
	}
	if config.OptStartTime != nil {
		start := *config.OptStartTime
		config.OptStartTime = &start
	}
	return config
}

// storeAckPolicy maps the API's ack policy to the store's.
func storeAckPolicy(policy jsapi.AckPolicy) store.AckPolicy {
	switch policy {
	case jsapi.AckNone:
		return store.AckNone
	case jsapi.AckAll, jsapi.AckFlowControl:
		return store.AckAll
	}
	return store.AckExplicit
}

// storeConsumerConfig is the part of config the consumer store keeps.
func storeConsumerConfig(config *jsapi.ConsumerConfig) store.ConsumerConfig {
	maxDeliver := config.MaxDeliver
	if maxDeliver < 0 {
		maxDeliver = 0
	}
	return store.ConsumerConfig{AckPolicy: storeAckPolicy(config.AckPolicy), MaxDeliver: maxDeliver}
}

// newConsumer builds a consumer over world with a checked configuration (defaults
// applied) and its state store, restores the stored state (or selects the starting
// sequence when there is none), subscribes its ack and flow control subjects and
// starts delivering. created is the creation time to report.
func newConsumer(world consumerWorld, name string, config jsapi.ConsumerConfig, consumerStore store.ConsumerStore, created time.Time) (*Consumer, error) {
	c := &Consumer{
		world:    world,
		name:     name,
		config:   cloneConsumerConfig(config),
		direct:   config.Direct,
		sourcing: config.Sourcing,
		created:  created,
		store:    consumerStore,
	}
	c.filters = normalizeFilters(config.FilterSubjectList())
	if !c.config.IsPush() {
		c.waiting = newWaitQueue(c.config.MaxWaiting, c.config.PriorityPolicy == jsapi.PriorityPrioritized)
	}
	c.mu.Lock()
	if err := c.restoreOrStartLocked(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Unlock()
	if err := c.subscribeInputs(); err != nil {
		c.Stop()
		return nil, err
	}
	c.mu.Lock()
	c.startLocked()
	c.unlockAndFlush()
	return c, nil
}

// normalizeFilters drops filters that match everything, so nil means unfiltered.
func normalizeFilters(filters []string) []string {
	var out []string
	for _, filter := range filters {
		if filter == "" || filter == ">" {
			return nil
		}
		out = append(out, filter)
	}
	return out
}

// restoreOrStartLocked loads the stored state, or picks the starting sequence of a new
// consumer and records it.
func (c *Consumer) restoreOrStartLocked() error {
	if c.store != nil && c.store.HasState() {
		state, err := c.store.State()
		if err != nil {
			return err
		}
		c.applyStateLocked(state)
		c.reconcileWithStreamLocked()
		c.recomputeNumPendingLocked()
		return nil
	}
	if err := c.selectStartingSequenceLocked(); err != nil {
		return err
	}
	if c.store != nil && c.streamNext > 0 {
		if err := c.store.SetStarting(c.streamNext - 1); err != nil {
			return err
		}
	}
	c.recomputeNumPendingLocked()
	return nil
}

// applyStateLocked installs a stored state.
func (c *Consumer) applyStateLocked(state *store.ConsumerState) {
	c.streamNext = state.Delivered.Stream + 1
	c.consumerNext = state.Delivered.Consumer + 1
	c.ackFloorConsumer = state.AckFloor.Consumer
	c.ackFloorStream = state.AckFloor.Stream
	c.pending = nil
	if len(state.Pending) > 0 {
		c.pending = make(map[uint64]*store.Pending, len(state.Pending))
		for seq, p := range state.Pending {
			copied := *p
			c.pending[seq] = &copied
		}
	}
	c.redelivered = nil
	if len(state.Redelivered) > 0 {
		c.redelivered = make(map[uint64]uint64, len(state.Redelivered))
		for seq, count := range state.Redelivered {
			c.redelivered[seq] = count
		}
	}
}

// reconcileWithStreamLocked drops pending messages the stream no longer has and moves
// the positions up to the stream's first sequence.
func (c *Consumer) reconcileWithStreamLocked() {
	var state store.StreamState
	c.world.store.FastState(&state)
	if state.FirstSeq > 0 && c.streamNext < state.FirstSeq {
		c.streamNext = state.FirstSeq
	}
	// A stream can come back shorter than its consumers remember: with an interval
	// sync policy a power loss drops acknowledged-to-the-consumer tail messages, and
	// their sequences are then used again by new messages. A consumer left ahead would
	// treat those new messages as delivered and acknowledged and never deliver them,
	// so it moves back to the stream's end (its own consumer sequence stays monotonic).
	if c.streamNext > state.LastSeq+1 {
		c.streamNext = state.LastSeq + 1
		for _, seq := range sortedSequences(c.pending) {
			if seq > state.LastSeq {
				delete(c.pending, seq)
				delete(c.redelivered, seq)
			}
		}
		if c.ackFloorStream > state.LastSeq {
			c.ackFloorStream = state.LastSeq
		}
	}
	for _, seq := range sortedSequences(c.pending) {
		if seq < state.FirstSeq {
			delete(c.pending, seq)
			delete(c.redelivered, seq)
		}
	}
	if len(c.pending) == 0 && c.config.AckPolicy != jsapi.AckNone {
		c.ackFloorConsumer = c.consumerNext - 1
		c.ackFloorStream = c.streamNext - 1
	}
	if c.ackFloorStream+1 < state.FirstSeq && len(c.pending) == 0 {
		c.ackFloorStream = state.FirstSeq - 1
	}
}

// selectStartingSequenceLocked picks the first stream sequence of a new consumer from
// its deliver policy, the way the reference does.
func (c *Consumer) selectStartingSequenceLocked() error {
	var state store.StreamState
	c.world.store.FastState(&state)
	config := &c.config
	switch {
	case config.OptStartSeq > 0:
		c.streamNext = config.OptStartSeq
	case config.DeliverPolicy == jsapi.DeliverAll:
		c.streamNext = state.FirstSeq
	case config.DeliverPolicy == jsapi.DeliverLast:
		c.streamNext = state.LastSeq
		if c.filters != nil {
			c.streamNext = 0
			for _, filter := range c.filters {
				if last := c.world.store.FilteredState(1, filter).Last; last > c.streamNext {
					c.streamNext = last
				}
			}
		}
	case config.DeliverPolicy == jsapi.DeliverLastPerSubject:
		if c.world.streamConfig().MaxMsgsPerSubject == 1 {
			c.streamNext = state.FirstSeq
			break
		}
		filters := c.filters
		if filters == nil {
			filters = []string{">"}
		}
		sequences, err := c.world.store.MultiLastSeqs(filters, 0, 0)
		if err != nil {
			return err
		}
		if len(sequences) == 0 {
			c.streamNext = state.LastSeq
		} else {
			c.streamNext = sequences[0]
			c.lastPerSubject = &skipList{sequences: sequences, resume: state.LastSeq}
		}
	case config.DeliverPolicy == jsapi.DeliverByStartTime && config.OptStartTime != nil:
		c.streamNext = sequenceFromTime(c.world.store, &state, config.OptStartTime.UnixNano())
	default:
		c.streamNext = state.LastSeq + 1
	}
	switch {
	case state.FirstSeq == 0 && config.OptStartSeq == 0:
		c.streamNext = 1
	case c.streamNext > state.LastSeq && config.OptStartSeq == 0:
		c.streamNext = state.LastSeq + 1
	case c.streamNext < state.FirstSeq:
		c.streamNext = state.FirstSeq
	}
	if c.streamNext == 0 {
		c.streamNext = 1
	}
	c.consumerNext = 1
	c.ackFloorConsumer = 0
	c.ackFloorStream = c.streamNext - 1
	return nil
}

// sequenceFromTime returns the first sequence stored at or after the Unix nanosecond
// time start (LastSeq+1 when none), by binary search over the sequences: store
// timestamps never decrease with the sequence.
func sequenceFromTime(streamStore store.StreamStore, state *store.StreamState, start int64) uint64 {
	if state.Msgs == 0 {
		return state.LastSeq + 1
	}
	low, high := state.FirstSeq, state.LastSeq+1
	var message store.StoreMsg
	for low < high {
		middle := low + (high-low)/2
		loaded, seq, err := streamStore.LoadNextMsg("", false, middle, &message)
		if err != nil || loaded == nil {
			high = middle
			continue
		}
		if loaded.TS >= start {
			high = middle
		} else {
			low = seq + 1
		}
	}
	return low
}

// subscribeInputs subscribes the consumer's ack subjects (both reply forms) and, for
// push consumers, its flow control subject.
func (c *Consumer) subscribeInputs() error {
	subjects := []string{
		jsapi.AckPrefix + c.world.streamName + "." + c.name + ".>",
		jsapi.AckPrefix + "*.*." + c.world.streamName + "." + c.name + ".>",
	}
	for _, ackSubject := range subjects {
		cancel, err := c.world.subscribe(ackSubject, c.handleAck)
		if err != nil {
			return err
		}
		c.subscriptions = append(c.subscriptions, cancel)
	}
	if c.config.IsPush() {
		cancel, err := c.world.subscribe(c.flowControlPrefix()+"*", c.handleFlowControl)
		if err != nil {
			return err
		}
		c.subscriptions = append(c.subscriptions, cancel)
	}
	return nil
}

// startLocked arms what a freshly built consumer needs: the redelivery timer for
// restored pending messages, the pause, the push interest and heartbeat, and the
// inactive threshold.
func (c *Consumer) startLocked() {
	now := c.world.clock.Now()
	c.lastActivity = now
	if c.config.ReplayPolicy == jsapi.ReplayOriginal {
		var state store.StreamState
		c.world.store.FastState(&state)
		c.replaying = true
		c.replayLastSequence = state.LastSeq
	}
	if c.config.FlowControl {
		c.pendingBytesLimit = flowControlPendingBytesMax
		c.pendingBytesMax = c.pendingBytesLimit / 16
	}
	if len(c.pending) > 0 {
		c.armAckTimerLocked(c.ackWaitFor(0))
	}
	c.armPauseLocked()
	if c.config.IsPush() {
		// The watch comes first: a subscriber arriving between it and the check
		// below is reported, so none is missed.
		c.watchInterestLocked()
		c.active = c.deliveryInterestLocked()
		c.armHeartbeatLocked()
	}
	c.armInactiveLocked()
	// The first delivery pass waits for signal: the engine answers the create request
	// first, as the reference does, so a client never sees messages before the
	// response that names the consumer.
}

// isPaused reports whether pause_until is in the future.
func (c *Consumer) isPausedLocked(now time.Time) bool {
	return c.config.PauseUntil != nil && !c.config.PauseUntil.IsZero() && now.Before(*c.config.PauseUntil)
}

// armPauseLocked schedules the resume of a paused consumer.
func (c *Consumer) armPauseLocked() {
	stopTimer(&c.pauseTimer)
	now := c.world.clock.Now()
	if !c.isPausedLocked(now) {
		return
	}
	c.pauseTimer = c.world.clock.AfterFunc(c.config.PauseUntil.Sub(now), c.onPauseExpired)
}

func (c *Consumer) onPauseExpired() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.pauseTimer = nil
	c.queueAdvisoryLocked(jsapi.AdvisorySubject(jsapi.AdvisoryConsumerPause, c.world.streamName, c.name), c.pauseAdvisoryLocked())
	c.deliverLocked()
	c.unlockAndFlush()
}

// stopTimer stops and forgets a timer.
func stopTimer(timer *env.Timer) {
	if *timer != nil {
		(*timer).Stop()
		*timer = nil
	}
}

// Stop stops the consumer and keeps its state (server shutdown, stream stop).
func (c *Consumer) Stop() {
	c.stop(false)
}

// Delete stops the consumer and removes its state.
func (c *Consumer) Delete() {
	c.stop(true)
}

// stop releases timers and subscriptions; with remove it tells waiting pull requests
// the consumer is gone and deletes its store.
func (c *Consumer) stop(remove bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.unwatchInterestLocked()
	for _, timer := range []*env.Timer{&c.ackTimer, &c.waitTimer, &c.heartbeatTimer, &c.deleteTimer, &c.pauseTimer, &c.pinTimer, &c.delayTimer, &c.flushTimer} {
		stopTimer(timer)
	}
	if c.waiting != nil {
		description := jsapi.DescriptionServerShutdown
		if remove {
			description = jsapi.DescriptionConsumerDeleted
		}
		for _, request := range c.waiting.all() {
			if remove {
				// The reference's "409 Consumer Deleted" carries no pending counts.
				c.queueLocked(request.reply, "", header.Build(jsapi.StatusConflict, description), nil)
				continue
			}
			c.queueStatusLocked(request.reply, jsapi.StatusConflict, description, request)
		}
		c.waiting.clear()
	}
	cancels := c.subscriptions
	c.subscriptions = nil
	consumerStore := c.store
	c.unlockAndFlush()
	for _, cancel := range cancels {
		cancel()
	}
	if consumerStore == nil {
		return
	}
	if remove {
		_ = consumerStore.Delete()
	} else {
		_ = consumerStore.Stop()
	}
}

// isClosed reports whether the consumer was stopped or deleted.
func (c *Consumer) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// unlockAndFlush releases the lock and sends the queued messages in order. Only one
// flush loop runs at a time: a call made while another is flushing (including a
// re-entrant one from a synchronous delivery) leaves its messages to that loop, which
// keeps deliveries in order across callers.
func (c *Consumer) unlockAndFlush() {
	if c.flushing {
		c.mu.Unlock()
		return
	}
	c.flushing = true
	for len(c.outbox) > 0 {
		batch := c.outbox
		c.outbox = c.spareOutbox[:0]
		c.spareOutbox = nil
		c.mu.Unlock()
		for i := range batch {
			message := &batch[i]
			if message.acknowledged > 0 {
				if c.world.acknowledged != nil {
					c.world.acknowledged(message.acknowledged)
				}
				continue
			}
			if message.deliverSubject != "" {
				c.world.deliver(message.deliverSubject, message.subject, message.reply, message.header, message.body)
				continue
			}
			c.world.publish(message.subject, message.reply, message.header, message.body)
		}
		c.mu.Lock()
		if cap(batch) <= outboxMax {
			// Cleared, so that the spare keeps no message data alive.
			clear(batch)
			c.spareOutbox = batch[:0]
		}
	}
	c.flushing = false
	c.mu.Unlock()
}

// stateChangedLocked schedules a write of the consumer's state to its store.
func (c *Consumer) stateChangedLocked() {
	if c.flushTimer != nil || c.store == nil || c.closed {
		return
	}
	c.flushTimer = c.world.clock.AfterFunc(stateFlushInterval, func() {
		c.mu.Lock()
		c.flushTimer = nil
		consumerStore, closed := c.store, c.closed
		c.mu.Unlock()
		if !closed {
			// The write happens without the consumer's lock: it may sync a file.
			consumerStore.Durable(func(error) {})
		}
	})
}

// queueLocked queues a message to send after the lock is released.
func (c *Consumer) queueLocked(subject, reply string, header, body []byte) {
	c.outbox = append(c.outbox, outMessage{subject: subject, reply: reply, header: header, body: body})
}

// queueAcknowledgedLocked queues a report to the stream that seq is no longer needed.
func (c *Consumer) queueAcknowledgedLocked(seq uint64) {
	if c.world.retention == jsapi.LimitsPolicy {
		return
	}
	c.outbox = append(c.outbox, outMessage{acknowledged: seq})
}

// matchesFilter reports whether a stream subject is one the consumer delivers.
func (c *Consumer) matchesFilterLocked(subjectName string) bool {
	if c.filters == nil {
		return true
	}
	for _, filter := range c.filters {
		if subject.MatchesFilter(subjectName, filter) {
			return true
		}
	}
	return false
}

// recomputeNumPendingLocked counts the matching messages at or after streamNext.
func (c *Consumer) recomputeNumPendingLocked() {
	var state store.StreamState
	c.world.store.FastState(&state)
	c.numPendingThrough = state.LastSeq
	lastPerSubject := c.config.DeliverPolicy == jsapi.DeliverLastPerSubject && c.lastPerSubject != nil
	start := c.streamNext
	if lastPerSubject {
		c.numPending = uint64(len(c.lastPerSubject.sequences))
		return
	}
	if start > state.LastSeq {
		c.numPending = 0
		return
	}
	if c.filters == nil {
		total, _, err := c.world.store.NumPending(start, ">", false)
		if err == nil {
			c.numPending = total
		}
		return
	}
	var total uint64
	for _, filter := range c.filters {
		count, _, err := c.world.store.NumPending(start, filter, false)
		if err == nil {
			total += count
		}
	}
	c.numPending = total
}

// sortedSequences returns the keys of a sequence map in ascending order, so that
// nothing observable depends on map iteration order.
func sortedSequences[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
