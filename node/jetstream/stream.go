package jetstream

import (
	"encoding/json"
	"errors"
	"math"
	"path"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/filestore"
	"github.com/natsim/natsim/store/memstore"
)

// streamMetaFileName holds a stream's configuration and creation time in its
// directory, next to the file store's own files.
const streamMetaFileName = "stream.json"

// Bounds of the per-stream state JetStream keeps in memory.
const (
	// dedupEntriesMax bounds the message IDs remembered for deduplication; past it
	// the oldest are forgotten early.
	dedupEntriesMax = 1 << 20
	// dedupRecoverScanMax bounds the messages read back at start to rebuild them.
	dedupRecoverScanMax = 1 << 18
	// completionsMax bounds the acknowledgements waiting for one drain pass; the
	// queue itself holds at most one entry per write waiting for a sync.
	completionsBatchMax = 4096
	// spareCompletionsMax bounds the capacity of the completion queue a stream keeps
	// for reuse (completions are about 200 bytes).
	spareCompletionsMax = 1024
)

// streamMeta is the stream's configuration file.
type streamMeta struct {
	Config  jsapi.StreamConfig `json:"config"`
	Created time.Time          `json:"created"`
}

// dedupEntry remembers one Nats-Msg-Id.
type dedupEntry struct {
	id        string
	seq       uint64
	timestamp int64
}

// completion is the work left once a write is durable: the PubAck to send and the
// consumers to tell.
type completion struct {
	reply   string
	ack     jsapi.PubAck
	failure *jsapi.Error
	// unanswered drops the answer: the stream stopped under the message (see fail).
	unanswered bool
	// stored is set for a new message the consumers have not been told about; the
	// message follows for republishing.
	stored    bool
	subject   string
	header    []byte
	data      []byte
	timestamp int64
	// previous is the last sequence of the message's subject before it (0 for
	// none), set only on streams that republish: the republished Nats-Last-Sequence.
	previous uint64
	// purged says a rollup removed every earlier message.
	purged bool
	err    error
}

// Stream is one stream: a deterministic state machine over its store, fed by the
// publish path (the local log for R1).
type Stream struct {
	account *Account
	manager *Manager
	created time.Time

	// published is the configuration for readers outside mu: consumers ask for it
	// with their own lock held while the stream, holding mu, asks them NeedsAck.
	published atomic.Pointer[jsapi.StreamConfig]

	mu        sync.Mutex
	config    jsapi.StreamConfig
	store     store.StreamStore
	subs      []Subscription
	consumers map[string]StreamConsumer
	dedup     map[string]dedupEntry
	dedupList []dedupEntry
	lastMsgID string
	expiry    env.Timer
	expiryAt  int64
	stopped   bool
	// schedules are the message schedules by schedule subject (schedule.go).
	schedules     map[string]*messageSchedule
	scheduleTimer env.Timer
	scheduleAt    time.Time
	// removals collects what expiry removes, for subject delete markers.
	removals removalLog
	// replication follows the mirror's or the sources' origins (source.go).
	replication replication
	// batches are the open atomic publish batches (batch.go).
	batches streamBatches

	// applying is set while mu is held around a store call whose durability callback
	// may run inline; the callback then leaves the drain to the caller, which runs it
	// after releasing mu.
	applying atomic.Bool

	doneMu   sync.Mutex
	done     []completion
	draining bool
	// durableWaiting are stored messages' completions waiting for the outstanding
	// durability request (durableAsked) to finish; see waitDurableLocked. Under doneMu.
	durableWaiting []completion
	durableAsked   bool

	// usageTracked says the store's bytes are counted in the account's and the
	// manager's usage (usage.go).
	usageTracked atomic.Bool
	// consumersSorted caches the consumers sorted by name (nil: sort again); it is
	// shared with readers, so it is replaced, never changed in place.
	consumersSorted []StreamConsumer
	// spareDone is the queue the last drain emptied, kept so that the next one
	// appends into it instead of growing a new slice for every round of completions.
	spareDone []completion

	// fastState is applyLocked's scratch state (under mu), which would otherwise be
	// allocated for every message because it passes through the store interface.
	fastState store.StreamState
}

// storeConfig maps a stream configuration to the part the store enforces.
func storeConfig(config *jsapi.StreamConfig) store.StreamConfig {
	return store.StreamConfig{
		Name: config.Name, Subjects: config.Subjects, Storage: store.StorageType(config.Storage),
		MaxMsgs: config.MaxMsgs, MaxBytes: config.MaxBytes, MaxAge: config.MaxAge,
		MaxMsgsPer: config.MaxMsgsPerSubject, MaxMsgSize: config.MaxMsgSize,
		Discard: store.DiscardPolicy(config.Discard), DiscardNewPer: config.DiscardNewPerSubject,
		AllowMsgTTL: config.AllowMsgTTL, SubjectDeleteMarkerTTL: config.SubjectDeleteMarkerTTL,
		FirstSeq: config.FirstSeq,
	}
}

func (a *Account) streamDir(name string) string {
	return path.Join(a.manager.accountDir(a.name), name)
}

// openStream opens (or, with create, creates) a stream's store and returns the
// stream, not yet subscribed: start does that.
func openStream(a *Account, config jsapi.StreamConfig, created time.Time, create bool) (*Stream, error) {
	m := a.manager
	dir := a.streamDir(config.Name)
	memory := config.Storage == jsapi.MemoryStorage
	if memory && !create {
		// A memory stream's configuration is not kept (writeMeta), so this is a
		// directory an older version left behind: remove it, as the reference
		// comes back without memory streams after a restart.
		_ = m.config.Env.FS.RemoveAll(dir)
		_ = m.config.Env.FS.SyncDir(path.Dir(dir))
		return nil, errMemoryStreamNotKept
	}
	if create && !memory {
		if err := m.makeDurableDir(dir); err != nil {
			return nil, err
		}
	}
	var st store.StreamStore
	var err error
	if config.Storage == jsapi.MemoryStorage {
		st, err = memstore.New(storeConfig(&config))
	} else {
		e := m.config.Env
		compression := filestore.NoCompression
		if config.Compression == jsapi.S2Compression {
			compression = filestore.S2Compression
		}
		st, err = filestore.Open(filestore.Config{
			Dir: dir, FS: e.FS, Tasks: e.Tasks, Clock: e.Clock, Rand: e.Rand,
			SyncInterval: m.config.SyncInterval, Compression: compression,
			Cipher: m.config.Cipher, Key: m.config.Key,
		}, storeConfig(&config))
	}
	if err != nil {
		return nil, err
	}
	s := &Stream{account: a, manager: m, created: created, config: config, store: st,
		consumers: make(map[string]StreamConsumer), dedup: make(map[string]dedupEntry)}
	s.publishConfigLocked()
	if create {
		if err := s.writeMeta(); err != nil {
			// Creation only runs on a new or empty directory (checkNoLeftoverLocked),
			// so this removes nothing but what this call made.
			_ = st.Delete()
			return nil, err
		}
	}
	s.recoverBatchLocked()
	s.recoverDedupLocked()
	s.recoverMarkersLocked()
	s.recoverSchedulesLocked()
	s.trackUsage()
	return s, nil
}

// errMemoryStreamNotKept refuses to recover a memory stream: like the reference's,
// memory streams (their configuration and consumers included) do not survive a
// restart.
var errMemoryStreamNotKept = errors.New("memory streams do not survive a restart")

// writeMeta persists the configuration durably. A memory stream keeps nothing on
// disk: the reference (v2.15.2, one server) comes back from a restart without its
// memory streams, so this server does too rather than bring back an empty stream.
func (s *Stream) writeMeta() error {
	if s.config.Storage == jsapi.MemoryStorage {
		return nil
	}
	data, err := json.Marshal(streamMeta{Config: s.config, Created: s.created})
	if err != nil {
		return err
	}
	return s.manager.writeFileDurably(path.Join(s.account.streamDir(s.config.Name), streamMetaFileName), data)
}

// start subscribes the stream's subjects and arms its expiry timer.
func (s *Stream) start() {
	defer s.startReplication()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribeLocked()
	s.armExpiryLocked()
}

func (s *Stream) subscribeLocked() {
	for _, sub := range s.subs {
		sub.Unsubscribe()
	}
	s.subs = nil
	for _, subj := range s.config.Subjects {
		sub, err := s.manager.host.Subscribe(s.account.name, subj, s.processPublish)
		if err != nil {
			s.manager.logger.Errorf("JetStream stream '%s > %s' subscribe %q: %v", s.account.name, s.config.Name, subj, err)
			continue
		}
		s.subs = append(s.subs, sub)
	}
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.config.Name }

// Account returns the stream's account.
func (s *Stream) Account() *Account { return s.account }

// Host returns the server the stream runs in.
func (s *Stream) Host() Host { return s.manager.host }

// Env returns the world the stream runs in.
func (s *Stream) Env() env.Env { return s.manager.config.Env }

// Created returns when the stream was created.
func (s *Stream) Created() time.Time { return s.created }

// Config returns a copy of the stream's configuration. It takes no lock, so a
// consumer may call it holding its own.
func (s *Stream) Config() jsapi.StreamConfig { return *s.published.Load() }

// publishConfigLocked makes the current configuration visible to Config.
func (s *Stream) publishConfigLocked() {
	config := s.config
	s.published.Store(&config)
}

// Store returns the stream's store. Consumers only read from it.
func (s *Stream) Store() store.StreamStore { return s.store }

func (s *Stream) storageType() store.StorageType { return s.store.Type() }

// AddConsumer registers a consumer. It fails with the reference's errors when the
// stream's or the account's consumer limit is reached, or the name is taken.
func (s *Stream) AddConsumer(consumer StreamConsumer) *jsapi.Error {
	limits := s.account.Limits()
	total := s.account.ConsumerCount()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return jsapi.NewStreamNotFoundError()
	}
	if _, ok := s.consumers[consumer.Name()]; ok {
		return jsapi.NewConsumerNameExistError()
	}
	// Mirrors' and sources' consumers do not count against the limits.
	if !isLimitExempt(consumer) {
		if s.config.MaxConsumers > 0 && s.limitedConsumerCountLocked() >= s.config.MaxConsumers {
			return jsapi.NewMaximumConsumersLimitError()
		}
		if limits.MaxConsumers > 0 && total >= limits.MaxConsumers {
			return jsapi.NewMaximumConsumersLimitError()
		}
	}
	s.consumers[consumer.Name()] = consumer
	s.consumersSorted = nil
	return nil
}

// RemoveConsumer unregisters a consumer by name (the consumer deletes its own state).
func (s *Stream) RemoveConsumer(name string) {
	s.mu.Lock()
	delete(s.consumers, name)
	s.consumersSorted = nil
	s.mu.Unlock()
}

// Consumer returns the named consumer, or nil.
func (s *Stream) Consumer(name string) StreamConsumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumers[name]
}

// Consumers returns the stream's consumers sorted by name. The slice is shared:
// callers only read it.
func (s *Stream) Consumers() []StreamConsumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedConsumersLocked()
}

// sortedConsumersLocked returns the consumers sorted by name, sorting them again only
// after a consumer came or went: every stored message's completion asks for them.
func (s *Stream) sortedConsumersLocked() []StreamConsumer {
	if s.consumersSorted == nil {
		s.consumersSorted = s.sortConsumersLocked()
	}
	return s.consumersSorted
}

func (s *Stream) sortConsumersLocked() []StreamConsumer {
	names := make([]string, 0, len(s.consumers))
	for name := range s.consumers {
		names = append(names, name)
	}
	sort.Strings(names)
	consumers := make([]StreamConsumer, len(names))
	for i, name := range names {
		consumers[i] = s.consumers[name]
	}
	return consumers
}

// consumerCount counts the consumers that are not direct: the stream's and the
// account's consumer counts and limits leave direct ones out, as the reference does.
func (s *Stream) consumerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicConsumerCountLocked()
}

// Acknowledged tells an interest or work queue stream that a consumer acknowledged
// seq: the message goes once no consumer needs it. Call it without holding the
// consumer's own lock, since it asks every consumer NeedsAck.
func (s *Stream) Acknowledged(seq uint64) {
	s.mu.Lock()
	if s.stopped || s.config.Retention == jsapi.LimitsPolicy {
		s.mu.Unlock()
		return
	}
	consumers := s.sortedConsumersLocked()
	s.mu.Unlock()
	subj, err := s.store.SubjectForSeq(seq)
	if err != nil {
		return
	}
	for _, consumer := range consumers {
		if consumer.NeedsAck(seq, subj) {
			return
		}
	}
	_, _ = s.store.RemoveMsg(seq)
}

// interestedLocked reports whether any consumer wants a message (interest and work
// queue retention store only what someone wants).
func (s *Stream) interestedLocked(seq uint64, subj string) bool {
	for _, consumer := range s.sortedConsumersLocked() {
		if consumer.NeedsAck(seq, subj) {
			return true
		}
	}
	return false
}

// stop stops the stream keeping its data.
func (s *Stream) stop() {
	s.stopReplication(false)
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	subs := s.subs
	s.subs = nil
	if s.expiry != nil {
		s.expiry.Stop()
	}
	s.stopSchedulesLocked()
	s.closeBatchesLocked()
	consumers := s.sortedConsumersLocked()
	s.mu.Unlock()
	for _, sub := range subs {
		sub.Unsubscribe()
	}
	for _, consumer := range consumers {
		consumer.Stop()
	}
	s.untrackUsage()
	s.flushAndStop()
}

// flushAndStop waits for nothing: the store's Stop syncs what it holds.
func (s *Stream) flushAndStop() {
	if err := s.store.Stop(); err != nil {
		s.manager.logger.Warnf("JetStream stream '%s > %s' stop: %v", s.account.name, s.config.Name, err)
	}
}

// delete stops the stream and removes its consumers and data.
func (s *Stream) delete() error {
	s.stopReplication(true)
	s.mu.Lock()
	s.stopped = true
	subs := s.subs
	s.subs = nil
	if s.expiry != nil {
		s.expiry.Stop()
	}
	s.stopSchedulesLocked()
	s.closeBatchesLocked()
	consumers := s.sortedConsumersLocked()
	s.consumers = make(map[string]StreamConsumer)
	s.consumersSorted = nil
	s.mu.Unlock()
	for _, sub := range subs {
		sub.Unsubscribe()
	}
	for _, consumer := range consumers {
		consumer.Delete()
	}
	s.untrackUsage()
	err := s.store.Delete()
	fsys := s.manager.config.Env.FS
	dir := s.account.streamDir(s.config.Name)
	if removeErr := fsys.RemoveAll(dir); removeErr != nil && err == nil {
		err = removeErr
	}
	_ = fsys.SyncDir(path.Dir(dir))
	return err
}

// armExpiryLocked schedules the next age or TTL expiry.
func (s *Stream) armExpiryLocked() {
	if s.stopped {
		return
	}
	next := s.store.NextExpiration()
	if next == math.MaxInt64 || next <= 0 {
		return
	}
	if s.expiry != nil && s.expiryAt != 0 && s.expiryAt <= next {
		return
	}
	if s.expiry != nil {
		s.expiry.Stop()
	}
	clock := s.manager.config.Env.Clock
	delay := time.Duration(next - clock.Now().UnixNano())
	if delay < time.Millisecond {
		delay = time.Millisecond
	}
	s.expiryAt = next
	s.expiry = clock.AfterFunc(delay, s.expire)
}

// expire removes the messages past their age or TTL and rearms the timer.
func (s *Stream) expire() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.expiryAt = 0
	s.expiry = nil
	now := s.manager.config.Env.Clock.Now().UnixNano()
	s.removals.start()
	if _, err := s.store.ExpireMsgs(now); err != nil {
		s.manager.logger.Warnf("JetStream stream '%s > %s' expiry: %v", s.account.name, s.config.Name, err)
	}
	s.placeMarkersLocked(s.removals.finish(), now)
	s.armExpiryLocked()
	s.mu.Unlock()
	// Markers are new messages: their consumers hear of them once they are durable.
	s.drain()
}

// errStreamStopped is the store-level error after a stream was stopped or deleted.
var errStreamStopped = errors.New("stream is stopped")
