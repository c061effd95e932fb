package scenarios

import (
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/scenarios/natsclient"
	"github.com/natsim/natsim/sim"
)

// corenatsMember is one client process: its identity survives crashes, the rest is the
// current incarnation's.
type corenatsMember struct {
	workload *corenatsWorkload
	process  *sim.Process
	name     string
	account  string
	user     string
	password string

	env         env.Env
	incarnation uint32
	client      *natsclient.Client
	// publisher names this incarnation in payloads: "<name>/<incarnation>".
	publisher string
	sequence  uint64
	// subscriptions are this incarnation's tracked subscriptions.
	subscriptions []*corenatsSubscription
	requests      uint64

	livenessAcks, livenessReplies int
}

// boot starts an incarnation: the previous one's subscriptions are retired, new ones
// are made (sent in the connection handshake), and the publishing loop starts.
func (m *corenatsMember) boot(e env.Env) {
	cw := m.workload
	cw.retire(m)
	m.env = e
	m.incarnation++
	m.publisher = m.name + "/" + itoa(int(m.incarnation))
	m.sequence, m.requests = 0, 0
	m.subscriptions = nil
	m.client = natsclient.New(e, natsclient.Options{
		Address:          joinHostPort("server", corenatsPort),
		Name:             m.name,
		User:             m.user,
		Password:         m.password,
		Headers:          true,
		NoResponders:     true,
		ReconnectWaitMin: 10 * time.Millisecond,
		ReconnectWaitMax: 200 * time.Millisecond,
	}, natsclient.Handlers{
		Connected:    func(uint64) { cw.connected(m) },
		Disconnected: func(uint64, error) { cw.disconnected(m) },
	})
	if m.account == "A" {
		m.subscribe("events.>", "", corenatsTracked)
		m.subscribe("events.*.a", "", corenatsTracked)
		m.subscribe("jobs.*", "workers", corenatsTracked)
		limited := m.subscribe("events.>", "", corenatsLimited)
		limited.limit = uint64(cw.limit)
		limited.limitRemaining = limited.limit
		_ = limited.sub.AutoUnsubscribe(limited.limit)
		_, _ = m.client.QueueSubscribe("svc.echo", "responders", m.respond)
	} else {
		m.subscribe(">", "", corenatsTracked)
		m.subscribe("public.>", "", corenatsTracked)
	}
	m.client.Connect()
	e.Clock.AfterFunc(m.interval(), m.tick)
}

// subscribe makes a tracked subscription of this incarnation.
func (m *corenatsMember) subscribe(pattern, queue string, kind corenatsSubscriptionKind) *corenatsSubscription {
	cw := m.workload
	cw.nextSubscription++
	s := &corenatsSubscription{
		id:       cw.nextSubscription,
		member:   m,
		pattern:  pattern,
		queue:    queue,
		kind:     kind,
		seen:     map[corenatsMessageKey]bool{},
		last:     map[string]uint64{},
		awaiting: map[corenatsMessageKey]corenatsObligation{},
	}
	if queue != "" {
		s.group = cw.group(queue)
	}
	if cw.options.queueIgnored {
		queue = ""
	}
	s.sub, _ = m.client.QueueSubscribe(pattern, queue, func(msg *natsclient.Msg) { cw.received(s, msg) })
	m.subscriptions = append(m.subscriptions, s)
	return s
}

// interval draws the time to the next tick. Publishers slow down once the faults end:
// the network may still have latency tails that stall whole streams, and liveness
// asks only that the system recover, not that it carry the safety phase's load.
func (m *corenatsMember) interval() time.Duration {
	i := m.workload.interval
	if m.workload.liveness {
		i *= corenatsLivenessSlowdown
	}
	return i/2 + time.Duration(m.env.Rand.Int63n(int64(i)))
}

// tick publishes one message (and sometimes sends a request), then schedules the next.
func (m *corenatsMember) tick() {
	m.env.Clock.AfterFunc(m.interval(), m.tick)
	if !m.client.Connected() {
		return
	}
	m.publish()
	if m.account == "A" && m.env.Rand.Intn(4) == 0 {
		m.request()
	}
}

// publish sends the next numbered message on a random subject of the member's account,
// then a PING whose PONG proves the server processed it.
func (m *corenatsMember) publish() {
	cw := m.workload
	var subject string
	switch m.env.Rand.Intn(4) {
	case 0:
		subject = "events." + m.name + ".a"
	case 1:
		subject = "events." + m.name + ".b"
	case 2:
		subject = "jobs." + m.name
	default:
		subject = "public." + m.name
		if m.account != "A" {
			subject = "events." + m.name + ".a"
		}
	}
	m.sequence++
	record := &corenatsPublication{
		key:         corenatsMessageKey{publisher: m.publisher, sequence: m.sequence},
		account:     m.account,
		subject:     subject,
		connection:  m.client.Connection(),
		publishedAt: cw.world.Now(),
	}
	payload := encodeCorenatsPayload(m.account, m.publisher, record.connection, m.sequence, m.env.Rand.Intn(cw.paddingBytesMax+1))
	message := &natsclient.Msg{Subject: subject, Data: payload}
	if m.env.Rand.Intn(3) == 0 {
		// Some messages carry headers (HPUB, delivered as HMSG); the receiver checks
		// the header names the same message as the payload.
		message.Header = natsclient.AppendHeader(nil, corenatsSequenceHeader, itoa(int(m.sequence)))
	}
	if err := m.client.PublishMsg(message); err != nil {
		return
	}
	_ = m.client.Flush(func(err error) {
		if err == nil {
			cw.acknowledged(m, record)
		}
	})
}

// request asks the echo service and checks the answer.
func (m *corenatsMember) request() {
	cw := m.workload
	m.requests++
	body := m.publisher + "-request-" + itoa(int(m.requests))
	liveness := cw.liveness
	_ = m.client.Request("svc.echo", []byte(body), cw.requestTimeout, func(reply *natsclient.Msg, err error) {
		if err != nil {
			return
		}
		if string(reply.Data) != "echo:"+body {
			cw.world.Fail(errorf("corenats: %s asked %q and got reply %q on %q", m.publisher, body, reply.Data, reply.Subject))
			return
		}
		if liveness {
			m.livenessReplies++
		}
	})
}

// respond is the echo service.
func (m *corenatsMember) respond(msg *natsclient.Msg) {
	if msg.Reply != "" {
		_ = m.client.Publish(msg.Reply, append([]byte("echo:"), msg.Data...))
	}
}
