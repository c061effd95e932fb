package jetstream

import (
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
)

// How a mirror or source follows its origin. The values are the reference's where it
// has them: a one second heartbeat on the origin's consumer, and a consumer that the
// origin removes by itself once nobody listens.
const (
	// sourceHeartbeat is the idle heartbeat the origin's consumer sends.
	sourceHeartbeat = time.Second
	// sourceHealthCheckInterval is how often a link checks that its consumer lives.
	sourceHealthCheckInterval = time.Second
	// sourceStallThreshold is the silence (no message, no heartbeat) after which the
	// consumer is presumed gone (origin restarted or deleted) and is recreated.
	sourceStallThreshold = 3 * sourceHeartbeat
	// sourceCreateTimeout is how long a consumer create request may go unanswered
	// before it is sent again.
	sourceCreateTimeout = 5 * time.Second
	// sourceInactiveThreshold lets the origin delete a consumer this side abandoned
	// without being able to say so (server stopped, link cut).
	sourceInactiveThreshold = 10 * time.Second
	// sourceAckWait is the reference's ack wait for these consumers; with ack policy
	// none it only shows in the consumer's info.
	sourceAckWait = 22 * time.Hour
	// sourceRetryMin and sourceRetryMax bound the backoff between failed attempts.
	sourceRetryMin = 500 * time.Millisecond
	sourceRetryMax = 10 * time.Second
	// sourceRetryShiftMax bounds the doubling of the backoff (and keeps the shift
	// from overflowing).
	sourceRetryShiftMax = 5
)

// errSourceNoConsumerInfo: the origin answered a consumer create without a consumer.
var errSourceNoConsumerInfo = errors.New("consumer create response has no consumer info")

// errSourceNoResponders: nothing subscribes the origin's JetStream API.
var errSourceNoResponders = errors.New("no responders available for request")

// sourceStorer stores one message an origin link received; mirrors and sources store
// differently. A failure makes the link start over from the last stored origin
// sequence after a backoff, and shows in the stream's info.
type sourceStorer func(link *sourceLink, delivered *Msg, reply jsapi.AckReply) *jsapi.Error

// sourceLink follows one origin stream for a mirror or one of a stream's sources, the
// way the reference does: it asks the origin (through the JetStream API, so the
// origin may be in another account or domain) for a push consumer with flow control
// and heartbeats that starts after the last origin sequence stored here, checks that
// deliveries come without gaps, and recreates the consumer on a gap, a stall or a
// failure.
//
// A source or mirror configured with `consumer: {name, deliver_subject}` (durable
// sourcing, nats-server 2.14+) uses that durable consumer on the origin instead: the
// origin's user creates it (push, ack policy flow_control), and the link never
// creates or deletes it. Each attempt asks the origin to reset it to its ack floor
// (CONSUMER.RESET with no body), checks that its ack policy is flow_control, and
// listens on its deliver subject; messages already stored here are skipped. The
// link acknowledges what it stored through its flow control replies (the
// Nats-Last-Consumer and Nats-Last-Stream headers), sent only once those messages
// are durable here, so a restart of either side resumes from the consumer's ack
// floor without losing or repeating a message.
type sourceLink struct {
	stream *Stream
	// source is the configuration this link follows (a copy).
	source jsapi.StreamSource
	// indexName identifies the source among the stream's sources (jsapi.IndexName).
	indexName string
	mirror    bool
	store     sourceStorer
	// sourcingName is the consumer name the link asks the origin for.
	sourcingName string

	mu sync.Mutex
	// lastOriginSeq is the highest origin sequence stored (or, for a mirror, the
	// stream's last sequence, which is the origin's).
	lastOriginSeq uint64
	// generation numbers the consumer attempts; deliveries and responses of an older
	// attempt are ignored.
	generation     uint64
	deliverSubject string
	consumerName   string
	// acksOnFlowControl says the origin's consumer takes the flow control replies as
	// acknowledgements (ack policy flow_control: a durable consumer, or the durable
	// an interest or work queue origin makes of a sourcing request); it is then
	// never deleted on a mere restart of the link.
	acksOnFlowControl bool
	// consumerSeq is the last consumer sequence received from the current consumer.
	consumerSeq uint64
	created     bool
	requestedAt time.Time
	deliverSub  Subscription
	replySub    Subscription
	lag         uint64
	// lastActive is when the origin was last heard from; zero means never.
	lastActive time.Time
	failure    *jsapi.Error
	failures   int
	retry      env.Timer
	health     env.Timer
	stopped    bool
}

// durable reports whether the link uses a durable consumer named in its
// configuration (durable sourcing) rather than ephemeral ones it creates.
func (l *sourceLink) durable() bool {
	return l.source.Consumer != nil && l.source.Consumer.Name != ""
}

// newSourceLink builds a link; start sets it going.
func newSourceLink(s *Stream, source jsapi.StreamSource, mirror bool, storer sourceStorer) *sourceLink {
	return &sourceLink{stream: s, source: source, indexName: source.IndexName(), mirror: mirror, store: storer,
		sourcingName: sourcingConsumerName(s.account.name, s.Name(), source.IndexName(), mirror)}
}

// apiPrefix is where the origin's JetStream API answers.
func (l *sourceLink) apiPrefix() string {
	if l.source.External != nil && l.source.External.APIPrefix != "" {
		return l.source.External.APIPrefix
	}
	return jsapi.APIPrefix
}

// start creates the first consumer (from lastOriginSeq+1) and arms the health check.
func (l *sourceLink) start(lastOriginSeq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.lastOriginSeq = lastOriginSeq
	l.restartLocked()
	l.armHealthLocked()
}

// stop cancels the consumer (asking the origin to delete it when remove is set)
// and the timers. A stopped link ignores everything that still arrives.
func (l *sourceLink) stop(remove bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.stopped = true
	l.cancelConsumerLocked(remove)
	if l.retry != nil {
		l.retry.Stop()
		l.retry = nil
	}
	if l.health != nil {
		l.health.Stop()
		l.health = nil
	}
}

// cancelConsumerLocked drops the current consumer: its subscriptions go, and when
// remove is set the origin is asked to delete it (it would otherwise go once inactive).
func (l *sourceLink) cancelConsumerLocked(remove bool) {
	if l.deliverSub != nil {
		l.deliverSub.Unsubscribe()
		l.deliverSub = nil
	}
	if l.replySub != nil {
		l.replySub.Unsubscribe()
		l.replySub = nil
	}
	// A consumer that acknowledges through flow control holds the origin's
	// messages for this link: only the link's end (stopped) lets it go.
	if remove && l.consumerName != "" && !l.durable() && (!l.acksOnFlowControl || l.stopped) {
		subj := l.apiPrefix() + ".CONSUMER.DELETE." + l.source.Name + "." + l.consumerName
		l.publishLater(subj, "", nil, nil)
	}
	l.consumerName = ""
	l.created = false
	l.acksOnFlowControl = false
}

// publishLater publishes from a task: the link may hold locks of its stream, and the
// host may run the receivers inline (the origin's API handler, its consumer).
func (l *sourceLink) publishLater(subj, reply string, hdr, data []byte) {
	m := l.stream.manager
	account := l.stream.account.name
	publish := func() { m.host.Publish(account, subj, reply, hdr, data) }
	if tasks := m.config.Env.Tasks; tasks != nil {
		tasks.Go(publish)
		return
	}
	publish()
}

// restartLocked replaces the consumer by a new one starting after lastOriginSeq, or,
// with a durable consumer, asks the origin to reset it to its ack floor.
func (l *sourceLink) restartLocked() {
	l.cancelConsumerLocked(true)
	l.generation++
	generation := l.generation
	m := l.stream.manager
	account := l.stream.account.name
	token := m.newID()
	kind := "$JS.S."
	if l.mirror {
		kind = "$JS.M."
	}
	l.deliverSubject = kind + token
	if l.source.External != nil && l.source.External.DeliverPrefix != "" {
		l.deliverSubject = l.source.External.DeliverPrefix + "." + token
	}
	if l.durable() {
		l.deliverSubject = l.source.Consumer.DeliverSubject
	}
	l.consumerSeq = 0
	l.requestedAt = m.config.Env.Clock.Now()
	if !l.durable() {
		// A new consumer delivers as soon as it exists, maybe before its create
		// response arrives: the deliveries are listened for first. A durable one
		// is listened to only once its reset response proved it fit.
		if err := l.subscribeDeliveriesLocked(generation); err != nil {
			l.failLocked(l.setupFailed(err))
			return
		}
	}
	reply := kind + token + ".R"
	replySub, err := m.host.Subscribe(account, reply, func(msg *Msg) { l.handleCreateResponse(generation, msg) })
	if err != nil {
		l.failLocked(l.setupFailed(err))
		return
	}
	l.replySub = replySub
	if l.durable() {
		// The consumer is the origin's user's: it is only reset, never created.
		l.requestLater(generation, l.apiPrefix()+".CONSUMER.RESET."+l.source.Name+"."+l.source.Consumer.Name, reply, nil)
		return
	}
	request := jsapi.CreateConsumerRequest{Stream: l.source.Name, Config: l.consumerConfigLocked()}
	data, err := json.Marshal(&request)
	if err != nil {
		l.failLocked(l.setupFailed(err))
		return
	}
	l.requestLater(generation, l.apiPrefix()+".CONSUMER.CREATE."+l.source.Name, reply, data)
}

// subscribeDeliveriesLocked listens on the deliver subject for attempt generation.
func (l *sourceLink) subscribeDeliveriesLocked(generation uint64) error {
	m := l.stream.manager
	deliverSub, err := m.host.Subscribe(l.stream.account.name, l.deliverSubject, func(msg *Msg) { l.handleDelivery(generation, msg) })
	if err != nil {
		return err
	}
	l.deliverSub = deliverSub
	return nil
}

// requestLater sends a consumer create request from a task. When the origin's API is
// this server's own (no external prefix) and nothing answers it yet, as while the
// server recovers its streams before it subscribes the API, the attempt fails at
// once and is retried after the backoff rather than waiting for sourceCreateTimeout.
func (l *sourceLink) requestLater(generation uint64, subj, reply string, data []byte) {
	m := l.stream.manager
	account := l.stream.account.name
	local := l.source.External == nil || l.source.External.APIPrefix == ""
	request := func() {
		if !l.isCurrent(generation) {
			// Stopped or replaced before the task ran: the origin need not hear of it.
			return
		}
		if local && !m.host.HasInterest(account, subj) {
			l.noResponders(generation)
			return
		}
		m.host.Publish(account, subj, reply, nil, data)
	}
	if tasks := m.config.Env.Tasks; tasks != nil {
		tasks.Go(request)
		return
	}
	request()
}

// isCurrent reports whether generation is the running attempt of a running link.
func (l *sourceLink) isCurrent(generation uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.stopped && generation == l.generation
}

// noResponders fails the attempt generation: nobody answers the API yet.
func (l *sourceLink) noResponders(generation uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || generation != l.generation {
		return
	}
	l.failLocked(l.setupFailed(errSourceNoResponders))
}

// consumerConfigLocked is the origin consumer this link asks for: ack none, one
// delivery, flow control and heartbeats, starting after lastOriginSeq (or where the
// configuration says when nothing was stored yet), filtered as configured.
func (l *sourceLink) consumerConfigLocked() jsapi.ConsumerConfig {
	config := jsapi.ConsumerConfig{
		Name:           l.sourcingName,
		DeliverSubject: l.deliverSubject, AckPolicy: jsapi.AckNone, AckWait: sourceAckWait,
		MaxDeliver: 1, Heartbeat: sourceHeartbeat, FlowControl: true, Direct: true, Sourcing: true,
		InactiveThreshold: sourceInactiveThreshold, DeliverPolicy: jsapi.DeliverAll,
		ReplayPolicy: jsapi.ReplayInstant,
	}
	switch {
	case l.lastOriginSeq > 0:
		config.DeliverPolicy = jsapi.DeliverByStartSequence
		config.OptStartSeq = l.lastOriginSeq + 1
	case l.source.OptStartSeq > 0:
		config.DeliverPolicy = jsapi.DeliverByStartSequence
		config.OptStartSeq = l.source.OptStartSeq
	case l.source.OptStartTime != nil:
		config.DeliverPolicy = jsapi.DeliverByStartTime
		start := *l.source.OptStartTime
		config.OptStartTime = &start
	}
	if len(l.source.SubjectTransforms) > 0 {
		for _, transform := range l.source.SubjectTransforms {
			config.FilterSubjects = append(config.FilterSubjects, orAll(transform.Source))
		}
		if len(config.FilterSubjects) == 1 {
			if config.FilterSubjects[0] != ">" {
				config.FilterSubject = config.FilterSubjects[0]
			}
			config.FilterSubjects = nil
		}
	} else if l.source.FilterSubject != "" && l.source.FilterSubject != ">" {
		config.FilterSubject = l.source.FilterSubject
	}
	return config
}

// sourcingConsumerName is the stable name a link asks its origin for, as the
// reference's JS_MIRROR_<hash> and JS_SRC_<hash>: the same stream and source always
// ask for the same name, so that an interest or work queue origin hands back the
// durable consumer it made for them (see consumer_sourcing.go).
func sourcingConsumerName(account, stream, indexName string, mirror bool) string {
	id := jsapi.Hash(account + " " + stream + " " + indexName)
	if mirror {
		return "JS_MIRROR_" + id
	}
	return "JS_SRC_" + id
}

func orAll(filter string) string {
	if filter == "" {
		return ">"
	}
	return filter
}

// setupFailed is the reference's error for a consumer that could not be set up.
func (l *sourceLink) setupFailed(err error) *jsapi.Error {
	if l.mirror {
		return jsapi.NewMirrorConsumerSetupFailedError(err)
	}
	return jsapi.NewSourceConsumerSetupFailedError(err)
}

// failLocked records an error and schedules a new attempt after a backoff.
func (l *sourceLink) failLocked(failure *jsapi.Error) {
	l.failure = failure
	l.failures++
	l.cancelConsumerLocked(true)
	l.scheduleRetryLocked()
}

// scheduleRetryLocked arms one retry, doubling the delay with each failure in a row.
func (l *sourceLink) scheduleRetryLocked() {
	if l.stopped || l.retry != nil {
		return
	}
	delay := sourceRetryMin << min(max(l.failures-1, 0), sourceRetryShiftMax)
	delay = min(delay, sourceRetryMax)
	l.retry = l.stream.manager.config.Env.Clock.AfterFunc(delay, l.onRetry)
}

func (l *sourceLink) onRetry() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retry = nil
	if l.stopped {
		return
	}
	l.restartLocked()
}

// armHealthLocked schedules the next health check.
func (l *sourceLink) armHealthLocked() {
	if l.stopped {
		return
	}
	l.health = l.stream.manager.config.Env.Clock.AfterFunc(sourceHealthCheckInterval, l.checkHealth)
}

// checkHealth recreates a consumer that went silent: no heartbeat for
// sourceStallThreshold (the origin restarted, was deleted or lost the consumer), or
// no answer to the create request for sourceCreateTimeout.
func (l *sourceLink) checkHealth() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.health = nil
	if l.stopped {
		return
	}
	now := l.stream.manager.config.Env.Clock.Now()
	switch {
	case l.retry != nil:
		// A retry is already pending.
	case l.created && now.Sub(l.lastHeardLocked()) > sourceStallThreshold:
		l.restartLocked()
	case !l.created && l.replySub != nil && now.Sub(l.lastHeardLocked()) > sourceCreateTimeout:
		l.restartLocked()
	}
	l.armHealthLocked()
}

// lastHeardLocked is the later of the last activity and the current request.
func (l *sourceLink) lastHeardLocked() time.Time {
	if l.lastActive.After(l.requestedAt) {
		return l.lastActive
	}
	return l.requestedAt
}

// handleCreateResponse reads the origin's answer to a consumer create request.
func (l *sourceLink) handleCreateResponse(generation uint64, msg *Msg) {
	var response jsapi.ConsumerCreateResponse
	err := json.Unmarshal(msg.Data, &response)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || generation != l.generation {
		return
	}
	if l.replySub != nil {
		l.replySub.Unsubscribe()
		l.replySub = nil
	}
	switch {
	case err != nil:
		l.failLocked(l.setupFailed(err))
	case response.Error != nil:
		l.failLocked(response.Error)
	case response.ConsumerInfo == nil || response.ConsumerInfo.Config == nil:
		l.failLocked(l.setupFailed(errSourceNoConsumerInfo))
	case l.durable() && response.ConsumerInfo.Config.AckPolicy != jsapi.AckFlowControl:
		// Without flow control acks nothing would ever acknowledge what was stored.
		if l.mirror {
			l.failLocked(jsapi.NewMirrorConsumerRequiresAckFCError())
		} else {
			l.failLocked(jsapi.NewSourceConsumerRequiresAckFCError())
		}
	default:
		if l.deliverSub == nil {
			if err := l.subscribeDeliveriesLocked(generation); err != nil {
				l.failLocked(l.setupFailed(err))
				return
			}
		}
		l.consumerName = response.ConsumerInfo.Name
		l.acksOnFlowControl = response.ConsumerInfo.Config.AckPolicy == jsapi.AckFlowControl
		l.created = true
		l.failure = nil
		l.failures = 0
		l.lastActive = l.stream.manager.config.Env.Clock.Now()
		if response.ConsumerInfo.NumPending > 0 && l.consumerSeq == 0 {
			l.lag = response.ConsumerInfo.NumPending
		}
	}
}

// handleDelivery receives what the origin's consumer sends: messages, idle
// heartbeats and flow control requests.
func (l *sourceLink) handleDelivery(generation uint64, msg *Msg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || generation != l.generation {
		return
	}
	l.lastActive = l.stream.manager.config.Env.Clock.Now()
	if code, _ := header.Status(msg.Header); code == jsapi.StatusControl {
		l.handleControlLocked(msg)
		return
	}
	reply, ok := jsapi.ParseAckReply(msg.Reply)
	if !ok {
		return
	}
	// The consumer may deliver before its create response arrives.
	l.created = true
	switch {
	case reply.ConsumerSeq <= l.consumerSeq:
		// Delivered again (should not happen with max_deliver 1): already handled.
		return
	case reply.ConsumerSeq != l.consumerSeq+1:
		// A delivery went missing: start over after the last origin sequence stored.
		l.restartLocked()
		return
	}
	l.consumerSeq = reply.ConsumerSeq
	l.lag = reply.Pending
	if reply.StreamSeq <= l.lastOriginSeq {
		return
	}
	if failure := l.store(l, msg, reply); failure != nil {
		l.failLocked(failure)
		return
	}
	l.lastOriginSeq = reply.StreamSeq
}

// handleControlLocked answers flow control requests and checks heartbeats for gaps.
func (l *sourceLink) handleControlLocked(msg *Msg) {
	if msg.Reply != "" {
		l.replyFlowControlLocked(msg.Reply)
		return
	}
	if stalled, ok := header.Get(msg.Header, jsapi.HeaderConsumerStalled); ok && len(stalled) > 0 {
		l.replyFlowControlLocked(string(stalled))
	}
	if last, ok := header.Get(msg.Header, jsapi.HeaderLastConsumer); ok {
		if seq, err := strconv.ParseUint(string(last), 10, 64); err == nil && seq > l.consumerSeq {
			// The consumer sent something that never arrived.
			l.restartLocked()
		}
	}
}

// replyFlowControlLocked answers a flow control request, as the reference does, with
// the last consumer and origin sequences received: the reply lets the consumer go
// on and, for a consumer with ack policy flow_control, acknowledges everything up to
// them. Such a reply waits until the messages it acknowledges are durable here, so
// that a power loss cannot drop messages the origin already counts as delivered
// (and, on an interest or work queue origin, removed).
func (l *sourceLink) replyFlowControlLocked(reply string) {
	hdr := header.Build(0, "", jsapi.HeaderLastConsumer, strconv.FormatUint(l.consumerSeq, 10),
		jsapi.HeaderLastStream, strconv.FormatUint(l.lastOriginSeq, 10))
	if !l.durable() && !l.acksOnFlowControl {
		l.publishLater(reply, "", hdr, nil)
		return
	}
	streamStore := l.stream.store
	// Durable covers every write made before the call, so every message stored up
	// to lastOriginSeq. It is asked from a task, as the stream's locks may be held
	// here. A reply that arrives after the link moved on still acknowledges only
	// durable messages, and the consumer ignores a reply it no longer waits for.
	l.runLater(func() {
		streamStore.Durable(func(err error) {
			if err != nil {
				// Not acknowledged: the next flow control request or reset asks again.
				return
			}
			l.publishLater(reply, "", hdr, nil)
		})
	})
}

// runLater runs f from a task (inline without a task runner, as in unit tests).
func (l *sourceLink) runLater(f func()) {
	if tasks := l.stream.manager.config.Env.Tasks; tasks != nil {
		tasks.Go(f)
		return
	}
	f()
}

// transformSubject maps an origin subject through the link's subject transforms: the
// first whose source matches applies; without transforms the subject is kept.
func (l *sourceLink) transformSubject(subj string) string {
	for _, transform := range l.source.SubjectTransforms {
		source := orAll(transform.Source)
		if !subject.MatchesFilter(subj, source) {
			continue
		}
		if transform.Destination == "" {
			return subj
		}
		if mapped, err := transformSubject(source, transform.Destination, subj); err == nil {
			return mapped
		}
		return subj
	}
	return subj
}

// info describes the link for STREAM.INFO.
func (l *sourceLink) info() *jsapi.StreamSourceInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := sourceInfoFromConfig(&l.source)
	info.Lag = l.lag
	info.Error = l.failure
	if !l.lastActive.IsZero() {
		info.Active = l.stream.manager.config.Env.Clock.Now().Sub(l.lastActive)
	}
	return info
}

// sourceInfoFromConfig is the part of a source's info its configuration gives;
// Active is -1 (never heard from).
func sourceInfoFromConfig(source *jsapi.StreamSource) *jsapi.StreamSourceInfo {
	info := &jsapi.StreamSourceInfo{Name: source.Name, FilterSubject: source.FilterSubject, Active: -1}
	if source.External != nil {
		external := *source.External
		info.External = &external
	}
	if len(source.SubjectTransforms) > 0 {
		info.SubjectTransforms = append([]jsapi.SubjectTransformConfig(nil), source.SubjectTransforms...)
	}
	return info
}
