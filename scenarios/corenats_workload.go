package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/scenarios/natsclient"
	"github.com/natsim/natsim/sim"
)

// errCorenats: a core NATS guarantee was broken.
var errCorenats = errors.New("corenats")

// errorf builds a violation wrapping errCorenats.
func errorf(format string, arguments ...any) error {
	return fmt.Errorf("%w: %s", errCorenats, strings.TrimPrefix(fmt.Sprintf(format, arguments...), "corenats: "))
}

// corenatsLivenessMessages is how many messages each subscription, group and publisher
// must see after the faults end.
const corenatsLivenessMessages = 5

// corenatsLivenessSlowdown divides the publishing rate once the faults end.
const corenatsLivenessSlowdown = 4

// corenatsLivenessReplies is how many requests each requester must get answered after
// the faults end.
const corenatsLivenessReplies = 2

// corenatsSequenceHeader is the header that repeats a message's sequence number.
const corenatsSequenceHeader = "Corenats-Sequence"

// corenatsMessageKey identifies one published message.
type corenatsMessageKey struct {
	publisher string
	sequence  uint64
}

// corenatsPublisherEpoch is one connection of one publisher, named in failure messages.
type corenatsPublisherEpoch struct {
	publisher  string
	connection uint64
}

// corenatsPublication is what the publisher knows of a message it sent.
type corenatsPublication struct {
	key         corenatsMessageKey
	account     string
	subject     string
	connection  uint64
	publishedAt time.Duration
}

// corenatsObligation is a message a subscription or group must receive: it was
// published after the subscription was acknowledged, and the server processed it.
type corenatsObligation struct {
	publication    *corenatsPublication
	acknowledgedAt time.Duration
}

type corenatsSubscriptionKind uint8

const (
	// corenatsTracked subscriptions must receive every message published while they
	// were stably connected.
	corenatsTracked corenatsSubscriptionKind = iota
	// corenatsLimited subscriptions end after a number of messages (UNSUB max); only
	// at-most-once, order and the limit are checked.
	corenatsLimited
)

// corenatsSubscription is one subscription of one incarnation of a member; it spans
// the incarnation's reconnections.
type corenatsSubscription struct {
	id      int
	member  *corenatsMember
	pattern string
	queue   string
	kind    corenatsSubscriptionKind
	group   *corenatsGroup
	sub     *natsclient.Subscription
	retired bool

	// The UNSUB max of a limited subscription, and its accounting on the current
	// connection: what had arrived when it started, what was left of the limit then,
	// whether the handshake PONG came, and what had arrived by then.
	limit                uint64
	limitConnectionStart uint64
	limitRemaining       uint64
	limitPonged          bool
	limitBeforePong      uint64

	// stable: the current connection's handshake PONG arrived (so the server had the
	// subscription) and the connection has not ended since stableSince.
	stable      bool
	stableSince time.Duration
	connection  uint64

	seen map[corenatsMessageKey]bool
	// last is the latest sequence number received from each publisher (an
	// incarnation): a publisher reconnects only after its old connection ended at
	// both ends, so its order holds across its connections.
	last     map[string]uint64
	awaiting map[corenatsMessageKey]corenatsObligation
	received uint64
	// livenessReceived counts deliveries after the faults ended.
	livenessReceived int
}

func (s *corenatsSubscription) String() string {
	queue := ""
	if s.queue != "" {
		queue = " queue " + s.queue
	}
	return fmt.Sprintf("subscription %d %q%s of %s (account %s, connection %d)",
		s.id, s.pattern, queue, s.member.publisher, s.member.account, s.connection)
}

// corenatsGroup is a queue group: each message reaches at most one member, and exactly
// one while a member is stably connected and none drops out.
type corenatsGroup struct {
	name      string
	delivered map[corenatsMessageKey]int
	awaiting  map[corenatsMessageKey]corenatsObligation
	// unsettledUntil: until then the server may still route to a member whose
	// process crashed (it learns of the crash only after the retransmission timeout),
	// so no obligation is made.
	unsettledUntil time.Duration
	// lastDeparture is when a member last lost its connection.
	lastDeparture    time.Duration
	livenessReceived int
}

// corenatsWorkload owns the bookkeeping that survives crashes.
type corenatsWorkload struct {
	world   *sim.World
	options corenatsOptions
	server  *sim.Process
	members []*corenatsMember

	interval        time.Duration
	paddingBytesMax int
	limit           int
	requestTimeout  time.Duration
	// deliveryWindow is how long after the faults end (or after its acknowledgement)
	// an obligation may stay open.
	deliveryWindow time.Duration

	nextSubscription int
	groups           map[string]*corenatsGroup
	// publishers maps a publisher to its account.
	publishers map[string]string

	// pauses draws the scenario's own client pauses.
	pauses *sim.Stream

	liveness      bool
	livenessStart time.Duration
	// Counters for tests: deliveries, obligations made (of them, to queue groups and
	// through the import), and obligations discharged by a lost connection.
	observed, obligations, groupObligations, importObligations, discharged uint64
}

func newCorenatsWorkload(w *sim.World, o corenatsOptions) *corenatsWorkload {
	c := w.Config()
	cw := &corenatsWorkload{
		world:           w,
		options:         o,
		groups:          map[string]*corenatsGroup{},
		publishers:      map[string]string{},
		interval:        time.Duration(w.Knob("corenats/publish-interval-ns", int64(8*time.Millisecond), int64(25*time.Millisecond))),
		paddingBytesMax: int(w.Knob("corenats/padding-bytes-max", 256, 1024)),
		limit:           int(w.Knob("corenats/unsubscribe-max", 3, 30)),
		requestTimeout:  time.Duration(w.Knob("corenats/request-timeout-ns", int64(200*time.Millisecond), int64(time.Second))),
	}
	tail := c.Latency.Max
	if c.Latency.Kind == sim.LatencyLongTail {
		tail = c.Latency.TailMax
	}
	cw.deliveryWindow = c.RetransmitTimeout + c.LossDelayMax + 4*tail + 2*time.Second
	// A request crosses four streams, each of which may stall on a loss.
	cw.requestTimeout += 4 * (c.LossDelayMax + tail)
	maxPending := w.Knob("corenats/max-pending-bytes", 8<<10, 32<<10)
	serverFaulty := w.Knob("corenats/server-faulty", 0, 1) == 1
	config := corenatsConfig(maxPending, o.oneAccount)
	cw.server = w.Spawn("server", sim.ProcessOptions{Faulty: serverFaulty}, func(e env.Env) any {
		return startCorenatsServer(w, e, config)
	})
	count := c.Servers - 1
	for i := 1; i <= count; i++ {
		m := &corenatsMember{workload: cw, name: "a" + itoa(i), account: "A", user: "a", password: "pa"}
		if i == count {
			m.name, m.account, m.user, m.password = "b1", "B", "b", "pb"
		}
		cw.members = append(cw.members, m)
		member := m
		m.process = w.Spawn(m.name, sim.ProcessOptions{Faulty: true}, func(e env.Env) any {
			member.boot(e)
			return member
		})
	}
	cw.pauses = w.Rand("corenats/pauses")
	w.At(cw.pauseGap(), "corenats pause", cw.pauseOne)
	return cw
}

// pauseGap draws the time to the scenario's next client pause.
func (cw *corenatsWorkload) pauseGap() time.Duration {
	return time.Duration(cw.pauses.Between(int64(300*time.Millisecond), int64(1500*time.Millisecond)))
}

// pauseOne freezes a random client for a while during the safety phase, whatever
// faults the swarm drew: its backlog on the server grows (the simulated network pushes
// back once the window is full) until the server cuts it as a slow consumer, or it
// resumes in time.
func (cw *corenatsWorkload) pauseOne() {
	if cw.liveness {
		return
	}
	m := cw.members[cw.pauses.Intn(len(cw.members))]
	if p := m.process; p.Up() && !p.Paused() {
		cw.world.Pause(p)
		cw.world.At(time.Duration(cw.pauses.Between(int64(200*time.Millisecond), int64(2*time.Second))), "corenats resume", func() {
			cw.world.Resume(p)
		})
	}
	cw.world.At(cw.pauseGap(), "corenats pause", cw.pauseOne)
}

func (cw *corenatsWorkload) group(name string) *corenatsGroup {
	g := cw.groups[name]
	if g == nil {
		g = &corenatsGroup{name: name, delivered: map[corenatsMessageKey]int{}, awaiting: map[corenatsMessageKey]corenatsObligation{}}
		cw.groups[name] = g
	}
	return g
}

// encodeCorenatsPayload writes "<account> <publisher> <connection> <sequence> <padding>".
func encodeCorenatsPayload(account, publisher string, connection, sequence uint64, padding int) []byte {
	b := make([]byte, 0, 48+padding)
	b = append(b, account...)
	b = append(b, ' ')
	b = append(b, publisher...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, connection, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, sequence, 10)
	b = append(b, ' ')
	for i := 0; i < padding; i++ {
		b = append(b, 'a'+byte((sequence+uint64(i))%26))
	}
	return b
}

// decodeCorenatsPayload reads what encodeCorenatsPayload wrote, checking the padding.
func decodeCorenatsPayload(b []byte) (account string, epoch corenatsPublisherEpoch, sequence uint64, err error) {
	fields := bytes.SplitN(b, []byte{' '}, 5)
	if len(fields) != 5 {
		return "", epoch, 0, fmt.Errorf("%d fields", len(fields))
	}
	account, epoch.publisher = string(fields[0]), string(fields[1])
	if epoch.connection, err = strconv.ParseUint(string(fields[2]), 10, 64); err != nil {
		return "", epoch, 0, err
	}
	if sequence, err = strconv.ParseUint(string(fields[3]), 10, 64); err != nil {
		return "", epoch, 0, err
	}
	for i, c := range fields[4] {
		if c != 'a'+byte((sequence+uint64(i))%26) {
			return "", epoch, 0, fmt.Errorf("padding byte %d is %q", i, c)
		}
	}
	return account, epoch, sequence, nil
}

// subjectMatches reports whether a subject matches a pattern with `*` and `>`.
func subjectMatches(pattern, subject string) bool {
	patternTokens, subjectTokens := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, token := range patternTokens {
		if token == ">" {
			return len(subjectTokens) > i
		}
		if i >= len(subjectTokens) || (token != "*" && token != subjectTokens[i]) {
			return false
		}
	}
	return len(patternTokens) == len(subjectTokens)
}

// visible reports whether a message published in account from reaches a subscriber in
// account to: within an account, or through B's import of A's public.>.
func visible(from, to, subject string) bool {
	return from == to || (from == "A" && to == "B" && subjectMatches("public.>", subject))
}

// connected: the handshake PONG proves the server holds every subscription of the
// member (they were sent before the PING).
func (cw *corenatsWorkload) connected(m *corenatsMember) {
	now := cw.world.Now()
	for _, s := range m.subscriptions {
		s.stable, s.stableSince, s.connection = true, now, m.client.Connection()
		if s.kind == corenatsLimited {
			s.limitConnected()
		}
	}
}

// disconnected: what the subscriptions still awaited may be lost with the connection.
func (cw *corenatsWorkload) disconnected(m *corenatsMember) {
	now := cw.world.Now()
	for _, s := range m.subscriptions {
		s.stable = false
		cw.discharged += uint64(len(s.awaiting))
		clear(s.awaiting)
		if s.group != nil {
			s.group.lastDeparture = now
			cw.discharged += uint64(len(s.group.awaiting))
			clear(s.group.awaiting)
		}
		cw.checkLimit(s)
		if s.kind == corenatsLimited {
			s.limitDisconnected()
		}
	}
}

// retire ends the previous incarnation's subscriptions: its process crashed, so what
// they awaited is lost, and the server may route queue messages to the dead
// connection until it notices.
func (cw *corenatsWorkload) retire(m *corenatsMember) {
	if len(m.subscriptions) == 0 {
		return
	}
	cw.disconnected(m)
	c := cw.world.Config()
	for _, s := range m.subscriptions {
		s.retired = true
		if s.group != nil {
			s.group.unsettledUntil = cw.world.Now() + c.RetransmitTimeout + cw.deliveryWindow
		}
	}
}

// checkLimit fails the run when a limited subscription got more than UNSUB max
// allows. The server counts a subscription's deliveries from its SUB, and a read may
// end between the SUB and the UNSUB that follows it, so the server may deliver without
// limit until the UNSUB arrives: on each connection, the messages received are bounded
// by the larger of what was left of the limit and what arrived before the handshake's
// PONG (by then the server had processed the UNSUB).
func (cw *corenatsWorkload) checkLimit(s *corenatsSubscription) {
	if s.kind != corenatsLimited {
		return
	}
	if err := s.limitViolation(); err != nil {
		cw.world.Fail(err)
	}
}

// limitViolation returns the violation of the UNSUB max, if any.
func (s *corenatsSubscription) limitViolation() error {
	if s.received > s.limit || s.sub.Delivered() > s.limit {
		return errorf("%s handled %d messages, past UNSUB max %d", s, s.received, s.limit)
	}
	if !s.limitPonged {
		return nil
	}
	onConnection := s.rawReceived() - s.limitConnectionStart
	allowed := max(s.limitRemaining, s.limitBeforePong)
	if onConnection > allowed {
		return errorf("%s got %d messages on its connection %d, past UNSUB max %d (%d of it left, %d messages before the server acknowledged the UNSUB)",
			s, onConnection, s.connection, s.limit, s.limitRemaining, s.limitBeforePong)
	}
	return nil
}

// rawReceived counts what the server sent to the subscription, including what the
// client dropped past the limit.
func (s *corenatsSubscription) rawReceived() uint64 { return s.sub.Delivered() + s.sub.Excess() }

// limitConnected starts a connection's accounting of the limit.
func (s *corenatsSubscription) limitConnected() {
	s.limitPonged = true
	s.limitBeforePong = s.rawReceived() - s.limitConnectionStart
}

// limitDisconnected ends a connection's accounting of the limit.
func (s *corenatsSubscription) limitDisconnected() {
	s.limitPonged = false
	s.limitConnectionStart = s.rawReceived()
	s.limitRemaining = s.limit - min(s.limit, s.sub.Delivered())
}

// acknowledged: the server processed the publication (its PONG came back), so every
// subscription stably connected since before it was published must receive it.
func (cw *corenatsWorkload) acknowledged(publisher *corenatsMember, p *corenatsPublication) {
	now := cw.world.Now()
	cw.publishers[p.key.publisher] = p.account
	if cw.liveness {
		publisher.livenessAcks++
	}
	obligation := corenatsObligation{publication: p, acknowledgedAt: now}
	groupsStable := map[*corenatsGroup]bool{}
	for _, m := range cw.members {
		for _, s := range m.subscriptions {
			if s.retired || s.kind != corenatsTracked || !visible(p.account, m.account, p.subject) || !subjectMatches(s.pattern, p.subject) {
				continue
			}
			stable := s.stable && s.stableSince < p.publishedAt
			if s.group != nil {
				groupsStable[s.group] = groupsStable[s.group] || stable
				continue
			}
			if stable && !s.seen[p.key] {
				s.awaiting[p.key] = obligation
				cw.obligations++
				if p.account != m.account {
					cw.importObligations++
				}
			}
		}
	}
	for _, name := range sortedKeys(cw.groups) {
		g := cw.groups[name]
		if groupsStable[g] && g.unsettledUntil < p.publishedAt && g.lastDeparture < p.publishedAt {
			if _, done := g.delivered[p.key]; !done {
				g.awaiting[p.key] = obligation
				cw.obligations++
				cw.groupObligations++
			}
		}
	}
}

// received checks one delivery: the right account and subject, at most once, in the
// publisher's order, at most one queue member.
func (cw *corenatsWorkload) received(s *corenatsSubscription, msg *natsclient.Msg) {
	broken := cw.options
	s.received++
	if broken.loseEvery > 0 && s.received%broken.loseEvery == 0 {
		return
	}
	cw.receivedOnce(s, msg)
	if broken.duplicateEvery > 0 && s.received%broken.duplicateEvery == 0 {
		cw.receivedOnce(s, msg)
	}
}

func (cw *corenatsWorkload) receivedOnce(s *corenatsSubscription, msg *natsclient.Msg) {
	w := cw.world
	cw.observed++
	account, epoch, sequence, err := decodeCorenatsPayload(msg.Data)
	if err != nil {
		w.Fail(errorf("%s got a corrupt message on %q: %v: %q", s, msg.Subject, err, msg.Data))
		return
	}
	key := corenatsMessageKey{publisher: epoch.publisher, sequence: sequence}
	if msg.Header != nil {
		if value, _ := natsclient.HeaderValue(msg.Header, corenatsSequenceHeader); value != strconv.FormatUint(sequence, 10) {
			w.Fail(errorf("%s got message %d of %s on %q with header %q naming another message", s, sequence, epoch.publisher, msg.Subject, msg.Header))
		}
	}
	switch {
	case !visible(account, s.member.account, msg.Subject):
		w.Fail(errorf("%s got message %d of %s from account %s on %q: it crossed accounts without an import",
			s, sequence, epoch.publisher, account, msg.Subject))
	case !subjectMatches(s.pattern, msg.Subject):
		w.Fail(errorf("%s got message %d of %s on %q, which it does not match", s, sequence, epoch.publisher, msg.Subject))
	case s.seen[key]:
		w.Fail(errorf("%s got message %d of %s on %q twice", s, sequence, epoch.publisher, msg.Subject))
	case s.last[epoch.publisher] >= sequence:
		w.Fail(errorf("%s got message %d of %s (its connection %d) on %q after message %d: out of publisher order",
			s, sequence, epoch.publisher, epoch.connection, msg.Subject, s.last[epoch.publisher]))
	}
	if s.retired {
		w.Fail(errorf("%s got message %d of %s after its process crashed", s, sequence, epoch.publisher))
	}
	s.seen[key] = true
	s.last[epoch.publisher] = sequence
	delete(s.awaiting, key)
	if cw.liveness {
		s.livenessReceived++
	}
	if g := s.group; g != nil {
		if other, twice := g.delivered[key]; twice {
			w.Fail(errorf("queue group %q delivered message %d of %s on %q to two members: subscription %d and %s",
				g.name, sequence, epoch.publisher, msg.Subject, other, s))
		}
		g.delivered[key] = s.id
		delete(g.awaiting, key)
		if cw.liveness {
			g.livenessReceived++
		}
	}
	cw.checkLimit(s)
}

// StartLiveness starts counting progress and the delivery window.
func (cw *corenatsWorkload) StartLiveness() {
	cw.liveness = true
	cw.livenessStart = cw.world.Now()
}

// Converged: nothing is awaited, every member published, received and (in account A)
// got replies since the faults ended. An obligation open past the delivery window
// fails the run with the message and subscription it names.
func (cw *corenatsWorkload) Converged() bool {
	if err := cw.overdue(); err != nil {
		cw.world.Fail(err)
		return false
	}
	return cw.waitingFor() == ""
}

// waitingFor says what the liveness phase still waits for ("" when nothing).
func (cw *corenatsWorkload) waitingFor() string {
	for _, m := range cw.members {
		switch {
		case m.client == nil || !m.client.Connected():
			return m.name + " to connect"
		case m.livenessAcks < corenatsLivenessMessages:
			return fmt.Sprintf("%s to publish (%d acknowledged)", m.publisher, m.livenessAcks)
		case m.account == "A" && m.livenessReplies < corenatsLivenessReplies:
			return fmt.Sprintf("%s to get replies (%d so far)", m.publisher, m.livenessReplies)
		}
		for _, s := range m.subscriptions {
			if len(s.awaiting) > 0 {
				return fmt.Sprintf("%s to get %d messages", s, len(s.awaiting))
			}
			if s.kind == corenatsTracked && s.group == nil && s.livenessReceived < corenatsLivenessMessages {
				return fmt.Sprintf("%s to receive (%d so far)", s, s.livenessReceived)
			}
		}
	}
	for _, name := range sortedKeys(cw.groups) {
		if g := cw.groups[name]; len(g.awaiting) > 0 || g.livenessReceived < corenatsLivenessMessages {
			return fmt.Sprintf("queue group %q (%d awaited, %d received)", name, len(g.awaiting), g.livenessReceived)
		}
	}
	return ""
}

// overdue returns the oldest obligation still open past the delivery window.
func (cw *corenatsWorkload) overdue() error {
	now := cw.world.Now()
	late := func(o corenatsObligation) bool {
		return now-max(o.acknowledgedAt, cw.livenessStart) > cw.deliveryWindow
	}
	describe := func(key corenatsMessageKey, o corenatsObligation) string {
		p := o.publication
		return fmt.Sprintf("message %d of %s on %q (published on its connection %d at %v, acknowledged by the server at %v)",
			key.sequence, key.publisher, p.subject, p.connection, p.publishedAt, o.acknowledgedAt)
	}
	for _, m := range cw.members {
		for _, s := range m.subscriptions {
			for _, key := range sortedMessageKeys(s.awaiting) {
				if o := s.awaiting[key]; late(o) {
					return errorf("%s never got %s though it was stably connected since %v; %v later it is still missing",
						s, describe(key, o), s.stableSince, now-o.acknowledgedAt)
				}
			}
		}
	}
	for _, name := range sortedKeys(cw.groups) {
		g := cw.groups[name]
		for _, key := range sortedMessageKeys(g.awaiting) {
			if o := g.awaiting[key]; late(o) {
				return errorf("queue group %q never delivered %s to any member though one was stably connected and none left; %v later it is still missing",
					g.name, describe(key, o), now-o.acknowledgedAt)
			}
		}
	}
	return nil
}

// Check verifies the limits of the limited subscriptions and that the run did real
// work.
func (cw *corenatsWorkload) Check() error {
	for _, m := range cw.members {
		for _, s := range m.subscriptions {
			if s.kind != corenatsLimited {
				continue
			}
			if err := s.limitViolation(); err != nil {
				return err
			}
		}
	}
	if err := cw.overdue(); err != nil {
		return err
	}
	if cw.observed == 0 {
		return errorf("no message was delivered at all")
	}
	return nil
}

// slowConsumers returns the current server incarnation's slow consumer count.
func (cw *corenatsWorkload) slowConsumers() int64 {
	if s, ok := cw.server.Instance().(*node.Server); ok && s != nil {
		return s.Varz().SlowConsumers
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedMessageKeys[V any](m map[corenatsMessageKey]V) []corenatsMessageKey {
	keys := make([]corenatsMessageKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].publisher != keys[j].publisher {
			return keys[i].publisher < keys[j].publisher
		}
		return keys[i].sequence < keys[j].sequence
	})
	return keys
}
