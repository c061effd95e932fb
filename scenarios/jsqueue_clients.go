package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/scenarios/natsclient"
	"github.com/natsim/natsim/sim"
	"github.com/natsim/natsim/sim/check"
)

// The JetStream API subjects the clients use.
const (
	jsqueueStreamCreateSubject   = "$JS.API.STREAM.CREATE." + jsqueueStream
	jsqueueStreamInfoSubject     = "$JS.API.STREAM.INFO." + jsqueueStream
	jsqueueMessageGetSubject     = "$JS.API.STREAM.MSG.GET." + jsqueueStream
	jsqueueConsumerCreateSubject = "$JS.API.CONSUMER.CREATE." + jsqueueStream + "." + jsqueueConsumerName
	jsqueueNextSubject           = "$JS.API.CONSUMER.MSG.NEXT." + jsqueueStream + "." + jsqueueConsumerName
)

// The API error codes the clients act on.
const (
	jsqueueErrorStreamNotFound  = 10059
	jsqueueErrorMessageNotFound = 10037
	jsqueueErrorStoreFailed     = 10077
	jsqueueErrorStoreCorrupt    = 10051
)

// jsqueueRetryDelay is how long a client waits before retrying a failed API request.
const jsqueueRetryDelay = 100 * time.Millisecond

// jsqueueStreamConfig is the stream: file storage, one replica, limits retention with
// no limits, so that nothing but a failure ever removes a message.
const jsqueueStreamConfig = `{"name":"` + jsqueueStream + `","subjects":["` + jsqueueSubjectPrefix + `>"],"retention":"limits","storage":"file","num_replicas":1,"discard":"old","max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_consumers":-1}`

// jsqueueAPIError is the error part of every JetStream API reply.
type jsqueueAPIError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *jsqueueAPIError) String() string {
	return fmt.Sprintf("%d/%d %s", e.Code, e.ErrCode, e.Description)
}

// jsqueueReply is the union of the replies the clients parse.
type jsqueueReply struct {
	Error *jsqueueAPIError `json:"error"`
	// A PubAck.
	Stream   string `json:"stream"`
	Sequence uint64 `json:"seq"`
	// STREAM.INFO's state.
	State *struct {
		Messages uint64 `json:"messages"`
		LastSeq  uint64 `json:"last_seq"`
	} `json:"state"`
	// STREAM.MSG.GET's message.
	Message *struct {
		Subject  string `json:"subject"`
		Sequence uint64 `json:"seq"`
		Data     []byte `json:"data"`
	} `json:"message"`
}

// jsqueuePingInterval is how often a client checks that its connection still answers.
const jsqueuePingInterval = 250 * time.Millisecond

// jsqueueLink is one process's connection to the server, replaced by a fresh client
// when a PING goes unanswered for too long, as nats.go's ping interval does: after a
// power loss the server's host is silent, and the simulated TCP would notice only
// after its retransmission timeout, seconds later.
type jsqueueLink struct {
	env  env.Env
	name string
	// stale is how long a PING may go unanswered.
	stale time.Duration
	// connected is called on each handshake of each client, with the client.
	connected func(client *natsclient.Client, connection uint64)
	// setup subscribes a new client before it connects.
	setup func(client *natsclient.Client)

	client      *natsclient.Client
	pingSent    time.Time
	pingPending bool
	// replaced counts the clients given up on.
	replaced int
}

// start builds a client, connects it and starts the watchdog.
func (l *jsqueueLink) start() {
	l.open()
	l.env.Clock.AfterFunc(jsqueuePingInterval, l.watchdog)
}

func (l *jsqueueLink) open() {
	var c *natsclient.Client
	c = natsclient.New(l.env, natsclient.Options{
		Address:          joinHostPort("server", jsqueuePort),
		Name:             l.name,
		Headers:          true,
		NoResponders:     true,
		ReconnectWaitMin: 10 * time.Millisecond,
		ReconnectWaitMax: 200 * time.Millisecond,
	}, natsclient.Handlers{
		Connected: func(connection uint64) {
			if l.client == c && l.connected != nil {
				l.connected(c, connection)
			}
		},
	})
	l.client, l.pingPending = c, false
	if l.setup != nil {
		l.setup(c)
	}
	c.Connect()
}

// watchdog pings the server and replaces the client when the last PING is overdue.
func (l *jsqueueLink) watchdog() {
	l.env.Clock.AfterFunc(jsqueuePingInterval, l.watchdog)
	c := l.client
	if !c.Connected() {
		l.pingPending = false
		return
	}
	if l.pingPending {
		if l.env.Clock.Now().Sub(l.pingSent) > l.stale {
			// Closing fails the old client's pending requests (their outcome is
			// unknown) before the new one exists.
			l.replaced++
			c.Close()
			l.open()
		}
		return
	}
	l.pingPending, l.pingSent = true, l.env.Clock.Now()
	_ = c.Flush(func(error) {
		if l.client == c {
			l.pingPending = false
		}
	})
}

// encodeJSQueuePayload writes "<value> <padding>".
func encodeJSQueuePayload(value int64, padding int) []byte {
	b := strconv.AppendInt(make([]byte, 0, 24+padding), value, 10)
	b = append(b, ' ')
	for i := 0; i < padding; i++ {
		b = append(b, 'a'+byte((value+int64(i))%26))
	}
	return b
}

// decodeJSQueuePayload reads what encodeJSQueuePayload wrote, checking the padding.
func decodeJSQueuePayload(b []byte) (int64, error) {
	number, padding, found := bytes.Cut(b, []byte{' '})
	if !found {
		return 0, errors.New("no separator")
	}
	value, err := strconv.ParseInt(string(number), 10, 64)
	if err != nil {
		return 0, err
	}
	for i, c := range padding {
		if c != 'a'+byte((value+int64(i))%26) {
			return 0, fmt.Errorf("padding byte %d is %q", i, c)
		}
	}
	return value, nil
}

// jsqueueAttempt is a publish awaiting its outcome.
type jsqueueAttempt struct {
	value     int64
	sequence  int
	operation check.OperationID
}

// jsqueuePublisher publishes unique values one at a time, each awaiting its PubAck.
// Its identity and sequence survive crashes: it never has two publishes in flight, so
// its order is one sequence across incarnations and connections.
type jsqueuePublisher struct {
	workload *jsqueueWorkload
	process  *sim.Process
	id       int
	name     string

	env  env.Env
	link *jsqueueLink
	// streamReady: the stream was created (or found) on the current connection.
	streamReady bool
	sequence    int
	inFlight    *jsqueueAttempt

	livenessAcks int
}

// boot starts an incarnation; a publish the previous one left in flight has an
// unknown outcome.
func (p *jsqueuePublisher) boot(e env.Env) {
	if p.inFlight != nil {
		p.settle(p.inFlight, check.PublishUnknown, 0)
	}
	p.env = e
	p.streamReady = false
	p.link = &jsqueueLink{env: e, name: p.name, stale: p.workload.timeouts.api, connected: func(c *natsclient.Client, connection uint64) {
		p.streamReady = false
		p.createStream(c, connection)
	}}
	p.link.start()
	e.Clock.AfterFunc(p.interval(), p.tick)
}

func (p *jsqueuePublisher) interval() time.Duration {
	i := p.workload.publishInterval
	return i/2 + time.Duration(p.env.Rand.Int63n(int64(i)))
}

// createStream makes sure the stream exists (creating an existing stream with the
// same configuration succeeds); publishing waits for it on each connection.
func (p *jsqueuePublisher) createStream(c *natsclient.Client, connection uint64) {
	if p.link.client != c || c.Connection() != connection || !c.Connected() {
		return
	}
	retry := func() { p.env.Clock.AfterFunc(jsqueueRetryDelay, func() { p.createStream(c, connection) }) }
	err := c.Request(jsqueueStreamCreateSubject, []byte(jsqueueStreamConfig), p.workload.timeouts.api, func(msg *natsclient.Msg, err error) {
		if p.link.client != c || c.Connection() != connection {
			return
		}
		if err == nil {
			var reply jsqueueReply
			if json.Unmarshal(msg.Data, &reply) == nil && reply.Error == nil {
				p.streamReady = true
				return
			}
		}
		retry()
	})
	if err != nil {
		retry()
	}
}

// tick publishes the next value when nothing is in flight.
func (p *jsqueuePublisher) tick() {
	if p.workload.stopPublishing {
		return
	}
	p.env.Clock.AfterFunc(p.interval(), p.tick)
	if p.inFlight == nil && p.streamReady && p.link.client.Connected() {
		p.publish()
	}
}

// publish sends one unique value as a request whose reply is the PubAck.
func (p *jsqueuePublisher) publish() {
	qw := p.workload
	p.sequence++
	value := int64(p.id)*jsqueueValueStride + int64(p.sequence)
	attempt := &jsqueueAttempt{value: value, sequence: p.sequence}
	attempt.operation = qw.log.Invoke(p.id, check.LogInput{Operation: check.LogAppend, Value: strconv.FormatInt(value, 10)}, int64(qw.world.Now()))
	qw.logAppends[value] = attempt.operation
	p.inFlight = attempt
	subject := jsqueueSubjectPrefix + itoa(p.id)
	payload := encodeJSQueuePayload(value, p.env.Rand.Intn(jsqueuePaddingBytesMax+1))
	err := p.link.client.Request(subject, payload, qw.timeouts.publish, func(msg *natsclient.Msg, err error) {
		p.replied(attempt, msg, err)
	})
	if err != nil {
		// Nothing was written: the publish cannot have been stored.
		p.settle(attempt, check.PublishFailed, 0)
	}
}

// replied classifies a publish by its reply: a PubAck acknowledges it, an API error
// or no responders refuses it, a timeout leaves it unknown.
func (p *jsqueuePublisher) replied(attempt *jsqueueAttempt, msg *natsclient.Msg, err error) {
	if p.inFlight != attempt {
		return
	}
	switch {
	case errors.Is(err, natsclient.ErrNoResponders):
		// No stream listened on the subject: JetStream was not up yet, or the
		// stream is gone. Nothing stored it.
		p.streamReady = false
		p.createStream(p.link.client, p.link.client.Connection())
		p.settle(attempt, check.PublishFailed, 0)
		return
	case err != nil:
		p.settle(attempt, check.PublishUnknown, 0)
		return
	}
	var reply jsqueueReply
	if jsonErr := json.Unmarshal(msg.Data, &reply); jsonErr != nil {
		p.workload.world.Fail(jsqueueErrorf("%s got a reply to its publish of %d that is not JSON: %q", p.name, attempt.value, msg.Data))
		return
	}
	if reply.Error != nil {
		p.workload.refusals[reply.Error.String()]++
		p.workload.refusedWith[attempt.value] = reply.Error.String()
		if reply.Error.ErrCode == jsqueueErrorStoreFailed && !p.workload.options.strictStoreErrors {
			// The file store answers a failed fsync with this error although the
			// message was already written: it may survive and be read later, so the
			// outcome is unknown, not a refusal.
			p.settle(attempt, check.PublishUnknown, 0)
			return
		}
		p.settle(attempt, check.PublishFailed, 0)
		return
	}
	if reply.Stream != jsqueueStream || reply.Sequence == 0 {
		p.workload.world.Fail(jsqueueErrorf("%s got a malformed PubAck for %d: %q", p.name, attempt.value, msg.Data))
		return
	}
	p.settle(attempt, check.PublishAcked, reply.Sequence)
}

// settle records an attempt's outcome; an acknowledged append returns its sequence in
// the log history, the others stay without a return.
func (p *jsqueuePublisher) settle(attempt *jsqueueAttempt, outcome check.PublishOutcome, sequence uint64) {
	qw := p.workload
	now := int64(qw.world.Now())
	if outcome == check.PublishAcked {
		qw.log.Return(attempt.operation, check.LogOutput{Sequence: sequence}, now)
		if qw.liveness {
			p.livenessAcks++
		}
	}
	qw.publishes = append(qw.publishes, check.Publish{
		Value: attempt.value, Publisher: p.id, Sequence: attempt.sequence, Outcome: outcome, Completed: now,
	})
	p.inFlight = nil
}

// jsqueueConsumer pulls from the shared durable consumer with explicit acks; it
// leaves some deliveries unacknowledged or refuses them, so the server redelivers.
type jsqueueConsumer struct {
	workload *jsqueueWorkload
	process  *sim.Process
	name     string
	// values are every delivery over all incarnations, in order, redeliveries
	// included.
	values []int64

	env         env.Env
	link        *jsqueueLink
	incarnation int
	inbox       string
	// ready: the consumer was created (or found) on the current connection.
	ready bool
	// fetch numbers the pull requests; only the current one's end starts another.
	fetch         uint64
	fetchReceived int
}

// boot starts an incarnation with its own inbox for pull replies.
func (c *jsqueueConsumer) boot(e env.Env) {
	c.env = e
	c.ready = false
	c.incarnation++
	c.inbox = "_JSQ." + c.name + "." + itoa(c.incarnation)
	c.link = &jsqueueLink{
		env: e, name: c.name, stale: c.workload.timeouts.api,
		connected: func(client *natsclient.Client, connection uint64) {
			c.ready = false
			c.fetch++
			c.createConsumer(client, connection)
		},
		setup: func(client *natsclient.Client) {
			_, _ = client.Subscribe(c.inbox+".*", func(msg *natsclient.Msg) { c.delivery(client, msg) })
		},
	}
	c.link.start()
}

// createConsumer makes sure the durable consumer exists (every consumer client sends
// the same configuration, which the server accepts as a no-op when it exists), then
// starts pulling.
func (c *jsqueueConsumer) createConsumer(client *natsclient.Client, connection uint64) {
	if c.link.client != client || client.Connection() != connection || !client.Connected() {
		return
	}
	qw := c.workload
	request := fmt.Sprintf(`{"stream_name":%q,"config":{"durable_name":%q,"deliver_policy":"all","ack_policy":"explicit","ack_wait":%d,"max_deliver":-1,"max_ack_pending":1000,"max_waiting":512,"replay_policy":"instant"}}`,
		jsqueueStream, jsqueueConsumerName, int64(qw.ackWait))
	retry := func() { c.env.Clock.AfterFunc(jsqueueRetryDelay, func() { c.createConsumer(client, connection) }) }
	err := client.Request(jsqueueConsumerCreateSubject, []byte(request), qw.timeouts.api, func(msg *natsclient.Msg, err error) {
		if c.link.client != client || client.Connection() != connection {
			return
		}
		if err == nil {
			var reply jsqueueReply
			if json.Unmarshal(msg.Data, &reply) == nil && reply.Error == nil {
				c.ready = true
				c.pull()
				return
			}
		}
		retry()
	})
	if err != nil {
		retry()
	}
}

// pull sends the next pull request and arms a timer that pulls again if its end never
// arrives (the reply may die with a connection or a server crash).
func (c *jsqueueConsumer) pull() {
	qw := c.workload
	c.fetch++
	c.fetchReceived = 0
	fetch := c.fetch
	if !c.ready || !c.link.client.Connected() {
		return
	}
	body := fmt.Sprintf(`{"batch":%d,"expires":%d}`, qw.fetchBatch, int64(qw.timeouts.fetchExpires))
	_ = c.link.client.PublishMsg(&natsclient.Msg{Subject: jsqueueNextSubject, Reply: c.inbox + "." + strconv.FormatUint(fetch, 10), Data: []byte(body)})
	c.env.Clock.AfterFunc(qw.timeouts.fetchExpires+qw.timeouts.fetchGrace, func() {
		if c.fetch == fetch {
			c.pull()
		}
	})
}

// recreate creates the consumer again after a pause: the server said it is gone.
func (c *jsqueueConsumer) recreate() {
	client := c.link.client
	connection := client.Connection()
	c.env.Clock.AfterFunc(jsqueueRetryDelay, func() { c.createConsumer(client, connection) })
}

// endFetch ends the current pull request and starts the next one after delay.
func (c *jsqueueConsumer) endFetch(delay time.Duration) {
	c.fetch++
	fetch := c.fetch
	c.env.Clock.AfterFunc(delay, func() {
		if c.fetch == fetch {
			c.pull()
		}
	})
}

// delivery handles a message or a status on the inbox: it records and acknowledges
// (or not) a message, and pulls again when the current request ends.
func (c *jsqueueConsumer) delivery(client *natsclient.Client, msg *natsclient.Msg) {
	qw := c.workload
	// Statuses arrive on the pull request's own inbox subject, which names the fetch.
	// A stored message is delivered under the subject it was published on (as the
	// reference server does), so it cannot name its fetch: it counts for the current one.
	current := true
	if rest, ok := strings.CutPrefix(msg.Subject, c.inbox+"."); ok {
		fetch, _ := strconv.ParseUint(rest, 10, 64)
		current = fetch == c.fetch
	}
	if status := natsclient.HeaderStatus(msg.Header); status != "" {
		if !current || status == "100" {
			return
		}
		switch status {
		case "503":
			// No consumer listens: it is gone (JetStream restarting, or lost).
			c.ready = false
			c.fetch++
			c.recreate()
		case "409":
			if description, _ := natsclient.HeaderValue(msg.Header, "Description"); description == "Consumer Deleted" {
				c.ready = false
				c.fetch++
				c.recreate()
				return
			}
			c.endFetch(10 * time.Millisecond)
		default:
			c.endFetch(time.Millisecond)
		}
		return
	}
	value, err := decodeJSQueuePayload(msg.Data)
	if err != nil {
		qw.world.Fail(jsqueueErrorf("%s got a corrupt message on %q: %v: %q", c.name, msg.Subject, err, msg.Data))
		return
	}
	if msg.Reply == "" {
		qw.world.Fail(jsqueueErrorf("%s got value %d without an ack subject from an explicit-ack consumer", c.name, value))
		return
	}
	if qw.options.dropEvery == 0 || value%qw.options.dropEvery != 0 {
		c.values = append(c.values, value)
		qw.delivered[value]++
	}
	switch roll := c.env.Rand.Intn(100); {
	case roll < qw.skipAckPercent:
	case roll < qw.skipAckPercent+qw.nakPercent:
		_ = client.Publish(msg.Reply, []byte("-NAK"))
	default:
		_ = client.Publish(msg.Reply, []byte("+ACK"))
	}
	if current {
		c.fetchReceived++
		if c.fetchReceived >= qw.fetchBatch {
			c.endFetch(0)
		}
	}
}

// jsqueueReader reads the whole stream once the run healed: STREAM.INFO for its last
// sequence, then STREAM.MSG.GET of every sequence, a window at a time.
type jsqueueReader struct {
	workload *jsqueueWorkload
	process  *sim.Process
	env      env.Env
	link     *jsqueueLink

	started, done bool
	lastSequence  uint64
	// next is the next sequence to ask for; results holds each answered one (0 for a
	// sequence the stream does not have).
	next     uint64
	inFlight int
	results  map[uint64]int64
	found    map[uint64]bool
	// values is the final read, in stream order.
	values []int64
	// corrupt lists the sequences the store reported damaged.
	corrupt []uint64
}

func (r *jsqueueReader) boot(e env.Env) {
	r.env = e
	r.link = &jsqueueLink{env: e, name: "reader", stale: r.workload.timeouts.api}
	r.link.start()
}

// start begins the final read.
func (r *jsqueueReader) start() {
	r.started = true
	r.results, r.found = map[uint64]int64{}, map[uint64]bool{}
	r.info()
}

// info asks for the stream's last sequence, retrying until it gets it.
func (r *jsqueueReader) info() {
	qw := r.workload
	operation := qw.log.Invoke(0, check.LogInput{Operation: check.LogLast}, int64(qw.world.Now()))
	retry := func() { r.env.Clock.AfterFunc(jsqueueRetryDelay, r.info) }
	err := r.link.client.Request(jsqueueStreamInfoSubject, nil, qw.timeouts.api, func(msg *natsclient.Msg, err error) {
		var reply jsqueueReply
		if err != nil || json.Unmarshal(msg.Data, &reply) != nil {
			retry()
			return
		}
		switch {
		case reply.Error != nil && reply.Error.ErrCode == jsqueueErrorStreamNotFound:
			// The stream is gone: the read is empty and the checker judges what
			// that lost.
			qw.log.Return(operation, check.LogOutput{}, int64(qw.world.Now()))
			r.finish()
		case reply.Error != nil || reply.State == nil:
			retry()
		default:
			qw.log.Return(operation, check.LogOutput{Sequence: reply.State.LastSeq}, int64(qw.world.Now()))
			r.lastSequence, r.next = reply.State.LastSeq, 1
			r.fill()
		}
	})
	if err != nil {
		retry()
	}
}

// fill keeps the window of gets full and finishes once every sequence is answered.
func (r *jsqueueReader) fill() {
	for r.inFlight < jsqueueReadWindow && r.next <= r.lastSequence {
		r.get(r.next)
		r.next++
	}
	if r.inFlight == 0 && uint64(len(r.found)) == r.lastSequence && !r.done {
		r.finish()
	}
}

// get reads one sequence, retrying until answered; each try is its own operation in
// the log history (an unanswered one stays without a return).
func (r *jsqueueReader) get(sequence uint64) {
	qw := r.workload
	r.inFlight++
	operation := qw.log.Invoke(0, check.LogInput{Operation: check.LogRead, Sequence: sequence}, int64(qw.world.Now()))
	again := func() {
		r.env.Clock.AfterFunc(jsqueueRetryDelay, func() {
			r.inFlight--
			r.get(sequence)
		})
	}
	err := r.link.client.Request(jsqueueMessageGetSubject, []byte(`{"seq":`+strconv.FormatUint(sequence, 10)+`}`), qw.timeouts.api, func(msg *natsclient.Msg, err error) {
		var reply jsqueueReply
		if err != nil || json.Unmarshal(msg.Data, &reply) != nil {
			again()
			return
		}
		now := int64(qw.world.Now())
		switch {
		case reply.Error != nil && reply.Error.ErrCode == jsqueueErrorMessageNotFound:
			qw.log.Return(operation, check.LogOutput{}, now)
			r.found[sequence] = false
		case reply.Error != nil && reply.Error.ErrCode == jsqueueErrorStoreCorrupt:
			// The store found the message damaged and says so rather than serve
			// it: the read has a hole there, which the queue checker judges (a
			// hole where an acknowledged value was is a loss).
			r.found[sequence] = false
			r.corrupt = append(r.corrupt, sequence)
		case reply.Error != nil || reply.Message == nil:
			again()
			return
		default:
			value, err := decodeJSQueuePayload(reply.Message.Data)
			if err != nil || reply.Message.Sequence != sequence {
				qw.world.Fail(jsqueueErrorf("the stream's message %d is corrupt (%v) or answers for sequence %d: %q", sequence, err, reply.Message.Sequence, reply.Message.Data))
				return
			}
			qw.log.Return(operation, check.LogOutput{Value: strconv.FormatInt(value, 10), Found: true}, now)
			r.found[sequence] = true
			r.results[sequence] = value
		}
		r.inFlight--
		r.fill()
	})
	if err != nil {
		again()
	}
}

// finish assembles the final read in stream order, applying the broken variants.
func (r *jsqueueReader) finish() {
	o := r.workload.options
	r.values = r.values[:0]
	for sequence := uint64(1); sequence <= r.lastSequence; sequence++ {
		if !r.found[sequence] {
			continue
		}
		if o.dropEvery > 0 && r.results[sequence]%o.dropEvery == 0 {
			continue
		}
		r.values = append(r.values, r.results[sequence])
	}
	if o.swapFinal {
		swapSamePublisher(r.values)
	}
	r.done = true
}

// swapSamePublisher swaps the first two neighbouring values of one publisher (the
// broken variant of a store that reorders).
func swapSamePublisher(values []int64) {
	for i := 0; i+1 < len(values); i++ {
		if values[i]/jsqueueValueStride == values[i+1]/jsqueueValueStride {
			values[i], values[i+1] = values[i+1], values[i]
			return
		}
	}
}
