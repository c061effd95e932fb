package jetstream

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/sim/simfs"
)

// durableRand adapts math/rand/v2 to env.Rand for these tests.
type durableRand struct{ *rand.Rand }

func (r durableRand) Intn(n int) int       { return r.IntN(n) }
func (r durableRand) Int63n(n int64) int64 { return r.Int64N(n) }
func (r durableRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.Uint64())
	}
	return len(p), nil
}

// durableTasks queues tasks (the file store's group commits) until the test runs them.
type durableTasks struct {
	mu     sync.Mutex
	queued []func()
}

func (q *durableTasks) Go(f func()) {
	q.mu.Lock()
	q.queued = append(q.queued, f)
	q.mu.Unlock()
}

func (q *durableTasks) runAll() {
	for {
		q.mu.Lock()
		if len(q.queued) == 0 {
			q.mu.Unlock()
			return
		}
		f := q.queued[0]
		q.queued = q.queued[1:]
		q.mu.Unlock()
		f()
	}
}

// durableClock is a clock that never fires timers by itself.
type durableClock struct{ now time.Time }

func (c *durableClock) Now() time.Time { return c.now }
func (c *durableClock) AfterFunc(time.Duration, func()) env.Timer {
	return durableTimer{}
}

type durableTimer struct{}

func (durableTimer) Stop() bool               { return true }
func (durableTimer) Reset(time.Duration) bool { return true }

// durableHost records what JetStream publishes and lets the test publish into the
// subscriptions it made.
type durableHost struct {
	mu        sync.Mutex
	handlers  map[string]Handler
	published []Msg
}

type durableSubscription struct {
	host    *durableHost
	subject string
}

func (s durableSubscription) Unsubscribe() {
	s.host.mu.Lock()
	delete(s.host.handlers, s.subject)
	s.host.mu.Unlock()
}

func (h *durableHost) Publish(_, subject, reply string, header, data []byte) {
	h.mu.Lock()
	h.published = append(h.published, Msg{Subject: subject, Reply: reply, Header: header, Data: append([]byte(nil), data...)})
	h.mu.Unlock()
}

func (h *durableHost) Deliver(_, _, subject, reply string, header, data []byte) {
	h.Publish("", subject, reply, header, data)
}

func (h *durableHost) Subscribe(_, subject string, handler Handler) (Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handlers == nil {
		h.handlers = make(map[string]Handler)
	}
	h.handlers[subject] = handler
	return durableSubscription{host: h, subject: subject}, nil
}

func (h *durableHost) HasInterest(string, string) bool { return false }

func (h *durableHost) publishTo(subject, reply string, data []byte) {
	h.mu.Lock()
	handler := h.handlers[subject]
	h.mu.Unlock()
	handler(&Msg{Subject: subject, Reply: reply, Data: data})
}

// acked returns the sequences of the PubAcks sent so far, by reply subject.
func (h *durableHost) acked() map[string]uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	acks := make(map[string]uint64)
	for _, msg := range h.published {
		if !strings.HasPrefix(msg.Subject, "reply.") {
			continue
		}
		var response jsapi.PubAckResponse
		if err := jsapi.DecodeRequest(msg.Data, &response, false); err == nil && response.PubAck != nil {
			acks[msg.Subject] = response.Sequence
		}
	}
	return acks
}

// durableWorld is one incarnation of a server's JetStream on a simulated disk.
type durableWorld struct {
	tasks   *durableTasks
	host    *durableHost
	manager *Manager
	stream  *Stream
}

func openDurableWorld(t *testing.T, disk *simfs.Disk, random env.Rand, create bool) *durableWorld {
	t.Helper()
	world := &durableWorld{tasks: &durableTasks{}, host: &durableHost{}}
	e := env.Env{Clock: &durableClock{now: time.Unix(1_700_000_000, 0)}, Tasks: world.tasks, Rand: random, FS: disk.FS()}
	manager, err := New(Config{Env: e, StoreDir: "/data"}, world.host)
	if err != nil {
		t.Fatal(err)
	}
	account, err := manager.EnableAccount("A", AccountLimits{})
	if err != nil {
		t.Fatal(err)
	}
	world.manager = manager
	if create {
		stream, _, apiErr := account.AddStream(jsapi.StreamConfig{Name: "S", Subjects: []string{"s"}}, false)
		if apiErr != nil {
			t.Fatal(apiErr)
		}
		world.stream = stream
	} else {
		world.stream = account.Stream("S")
		if world.stream == nil {
			t.Fatal("stream not recovered")
		}
	}
	return world
}

// TestPubAckOnlyAfterDurable proves the publish path's central promise: a PubAck
// leaves only once the file store has synced the message, so every acknowledged
// message survives any power loss, while unacknowledged ones may be lost. Random
// runs interleave publishes, group commits and power losses.
func TestPubAckOnlyAfterDurable(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			random := durableRand{rand.New(rand.NewPCG(seed, seed*7919))}
			disk := simfs.New(random, simfs.Config{Name: "durability"})
			world := openDurableWorld(t, disk, random, true)
			published := make(map[string]string) // reply -> payload
			acked := make(map[string]uint64)
			for step := range 60 {
				switch random.IntN(10) {
				case 0:
					for reply, seq := range world.host.acked() {
						acked[reply] = seq
					}
					disk.Crash(true)
					world = openDurableWorld(t, disk, random, false)
				case 1, 2, 3:
					before := len(world.host.acked())
					world.tasks.runAll()
					if len(world.host.acked()) < before {
						t.Fatal("acks went missing")
					}
				default:
					reply := fmt.Sprintf("reply.%d", step)
					payload := fmt.Sprintf("payload %d", step)
					published[reply] = payload
					world.host.publishTo("s", reply, []byte(payload))
					if _, ok := world.host.acked()[reply]; ok {
						t.Fatalf("step %d: PubAck before the group commit ran", step)
					}
				}
			}
			for reply, seq := range world.host.acked() {
				acked[reply] = seq
			}
			if len(acked) == 0 {
				t.Fatal("no PubAck at all: the run proves nothing")
			}
			disk.Crash(true)
			world = openDurableWorld(t, disk, random, false)
			for reply, seq := range acked {
				message, err := world.stream.Store().LoadMsg(seq, nil)
				if err != nil || string(message.Msg) != published[reply] {
					t.Fatalf("acked %s at %d lost after power loss: %v %v", reply, seq, message, err)
				}
			}
		})
	}
}

// TestStoppedStoreAnswersNothing proves a message that reaches a stream whose store
// has stopped under it (a shutdown or a delete while the message was on its way) gets
// no answer, as a stopped stream in the reference answers nothing, instead of a
// "store is closed" error its publisher would take for a failure of this message.
func TestStoppedStoreAnswersNothing(t *testing.T) {
	random := durableRand{rand.New(rand.NewPCG(3, 3))}
	disk := simfs.New(random, simfs.Config{Name: "stopped"})
	world := openDurableWorld(t, disk, random, true)
	world.host.mu.Lock()
	handler := world.host.handlers["s"]
	world.host.mu.Unlock()
	if err := world.stream.store.Stop(); err != nil {
		t.Fatal(err)
	}
	handler(&Msg{Subject: "s", Reply: "reply.late", Data: []byte("late")})
	world.tasks.runAll()
	world.host.mu.Lock()
	defer world.host.mu.Unlock()
	for _, msg := range world.host.published {
		if msg.Subject == "reply.late" {
			t.Fatalf("a message that met a stopped store was answered: %s", msg.Data)
		}
	}
}
