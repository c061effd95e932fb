package jetstream

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// Account is one account's JetStream: its limits, streams and API subscription.
type Account struct {
	manager *Manager
	name    string

	apiTotal  atomic.Uint64
	apiErrors atomic.Uint64

	// stored is the bytes the account's streams hold, kept up to date by the streams'
	// storage callbacks so that a publish checks the limits without visiting every
	// stream (usage.go).
	stored storedBytes

	// recoverMu serializes stream recovery (see recoverStream).
	recoverMu sync.Mutex

	mu      sync.Mutex
	limits  AccountLimits
	streams map[string]*Stream
	apiSubs []Subscription
	stopped bool

	// directMu guards directSubs. It is never taken with mu held (syncDirect reads
	// the streams under mu while holding it, so the order is directMu, then mu).
	directMu sync.Mutex
	// directSubs are the direct get subscriptions by stream name: a name has them
	// while a stream of that name allows direct gets or a mirror of a stream of that
	// name has mirror_direct, and only then, so that a direct get nobody serves
	// gets "no responders" as from the reference.
	directSubs map[string][]Subscription
}

func newAccount(m *Manager, name string, limits AccountLimits) *Account {
	return &Account{manager: m, name: name, limits: limits, streams: make(map[string]*Stream)}
}

// Name returns the account's name.
func (a *Account) Name() string { return a.name }

// Manager returns the server-wide JetStream.
func (a *Account) Manager() *Manager { return a.manager }

// Limits returns the account's limits.
func (a *Account) Limits() AccountLimits {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limits
}

func (a *Account) setLimits(limits AccountLimits) {
	a.mu.Lock()
	a.limits = limits
	a.mu.Unlock()
}

// Stream returns the named stream, or nil.
func (a *Account) Stream(name string) *Stream {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.streams[name]
}

// Streams returns the account's streams sorted by name.
func (a *Account) Streams() []*Stream {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sortedStreamsLocked()
}

func (a *Account) sortedStreamsLocked() []*Stream {
	names := make([]string, 0, len(a.streams))
	for name := range a.streams {
		names = append(names, name)
	}
	sort.Strings(names)
	streams := make([]*Stream, len(names))
	for i, name := range names {
		streams[i] = a.streams[name]
	}
	return streams
}

// ConsumerCount counts the consumers of every stream of the account.
func (a *Account) ConsumerCount() int {
	total := 0
	for _, stream := range a.Streams() {
		total += stream.consumerCount()
	}
	return total
}

// usage returns the bytes the account's memory and file streams hold.
func (a *Account) usage() (memory, storage uint64) {
	for _, stream := range a.Streams() {
		var state store.StreamState
		stream.store.FastState(&state)
		if stream.storageType() == store.MemoryStorage {
			memory += state.Bytes
		} else {
			storage += state.Bytes
		}
	}
	return memory, storage
}

// reserved returns the max_bytes the account's streams reserve, per storage type,
// leaving out the stream named except.
func (a *Account) reservedLocked(except string) (memory, storage int64) {
	for name, stream := range a.streams {
		if name == except {
			continue
		}
		config := stream.Config()
		if config.MaxBytes <= 0 {
			continue
		}
		if config.Storage == jsapi.MemoryStorage {
			memory += config.MaxBytes
		} else {
			storage += config.MaxBytes
		}
	}
	return memory, storage
}

// overlapsLocked reports whether subjects collide with another stream's.
func (a *Account) overlapsLocked(except string, subjects []string) bool {
	for name, stream := range a.streams {
		if name == except {
			continue
		}
		for _, mine := range subjects {
			for _, theirs := range stream.Config().Subjects {
				if subject.Collide(mine, theirs) {
					return true
				}
			}
		}
	}
	return false
}

// apiFilters are the subjects under the API prefix that the account's API
// subscription covers: every operation but DIRECT.GET, whose subjects only the
// streams that serve direct gets subscribe (syncDirect). A catch-all "$JS.API.>"
// would take direct gets for streams without allow_direct and leave the requester
// waiting for a timeout instead of the reference's "no responders". The price is
// that an unknown subject under one of the other first tokens ("$JS.API.FOO.BAR")
// also gets "no responders" where the reference swallows it (a timeout).
var apiFilters = []string{"*", "STREAM.>", "CONSUMER.>", "META.>", "SERVER.>", "ACCOUNT.>"}

// apiPrefixes returns the API prefixes the account answers: "$JS.API" and, with a
// domain, "$JS.<domain>.API".
func (a *Account) apiPrefixes() []string {
	prefixes := []string{jsapi.APIPrefix}
	if domain := a.manager.config.Domain; domain != "" {
		prefixes = append(prefixes, jsapi.DomainAPIPrefix(domain))
	}
	return prefixes
}

// subscribeAPI answers the JetStream API (apiFilters under every API prefix) in the
// account.
func (a *Account) subscribeAPI() error {
	host := a.manager.host
	for _, prefix := range a.apiPrefixes() {
		for _, filter := range apiFilters {
			sub, err := host.Subscribe(a.name, prefix+"."+filter, a.handleAPI)
			if err != nil {
				return err
			}
			a.mu.Lock()
			a.apiSubs = append(a.apiSubs, sub)
			a.mu.Unlock()
		}
	}
	a.syncDirect()
	return nil
}

// directNames returns, sorted, the stream names whose direct get subjects the
// account must answer: streams with allow_direct, and the origins of mirrors with
// mirror_direct (a mirror answers direct gets addressed to its origin, as the
// reference's mirrors do in a queue group with the origin).
func (a *Account) directNames() []string {
	wanted := make(map[string]bool)
	for _, stream := range a.Streams() {
		config := stream.Config()
		if config.AllowDirect {
			wanted[config.Name] = true
		}
		if config.MirrorDirect && config.Mirror != nil && config.Mirror.Name != "" {
			wanted[config.Mirror.Name] = true
		}
	}
	names := make([]string, 0, len(wanted))
	for name := range wanted {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// syncDirect makes the direct get subscriptions match directNames: it runs after
// every change of the account's streams (create, update, delete, recovery).
func (a *Account) syncDirect() {
	wanted := a.directNames()
	a.directMu.Lock()
	defer a.directMu.Unlock()
	a.mu.Lock()
	stopped := a.stopped
	a.mu.Unlock()
	if stopped {
		return
	}
	keep := make(map[string]bool, len(wanted))
	for _, name := range wanted {
		keep[name] = true
	}
	current := make([]string, 0, len(a.directSubs))
	for name := range a.directSubs {
		current = append(current, name)
	}
	sort.Strings(current)
	for _, name := range current {
		if !keep[name] {
			for _, sub := range a.directSubs[name] {
				sub.Unsubscribe()
			}
			delete(a.directSubs, name)
		}
	}
	for _, name := range wanted {
		if _, ok := a.directSubs[name]; ok {
			continue
		}
		subs, err := a.subscribeDirect(name)
		if err != nil {
			a.manager.logger.Errorf("JetStream direct get subscription for '%s > %s': %v", a.name, name, err)
			continue
		}
		if a.directSubs == nil {
			a.directSubs = make(map[string][]Subscription)
		}
		a.directSubs[name] = subs
	}
}

// subscribeDirect subscribes DIRECT.GET.<name> and DIRECT.GET.<name>.> under every
// API prefix.
func (a *Account) subscribeDirect(name string) ([]Subscription, error) {
	var subs []Subscription
	for _, prefix := range a.apiPrefixes() {
		base := prefix + ".DIRECT.GET." + name
		for _, subj := range []string{base, base + ".>"} {
			sub, err := a.manager.host.Subscribe(a.name, subj, a.handleDirect)
			if err != nil {
				for _, done := range subs {
					done.Unsubscribe()
				}
				return nil, err
			}
			subs = append(subs, sub)
		}
	}
	return subs, nil
}

// stopDirect removes every direct get subscription.
func (a *Account) stopDirect() {
	a.directMu.Lock()
	defer a.directMu.Unlock()
	names := make([]string, 0, len(a.directSubs))
	for name := range a.directSubs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, sub := range a.directSubs[name] {
			sub.Unsubscribe()
		}
	}
	a.directSubs = nil
}

// stop stops every stream and removes the subscriptions.
func (a *Account) stop() {
	a.mu.Lock()
	a.stopped = true
	subs := a.apiSubs
	a.apiSubs = nil
	streams := a.sortedStreamsLocked()
	a.mu.Unlock()
	for _, sub := range subs {
		sub.Unsubscribe()
	}
	a.stopDirect()
	for _, stream := range streams {
		stream.stop()
	}
}

// recover opens every stream found in the account's directory. A stream that fails
// to recover (a transient disk error, a damaged configuration) keeps its directory;
// a later create of the same name tries again (recoverLeftover).
func (a *Account) recover() error {
	m := a.manager
	dir := m.accountDir(a.name)
	names, err := m.config.Env.FS.ReadDir(dir)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := a.recoverStream(name); err != nil {
			m.logger.Errorf("JetStream stream '%s > %s' recovery failed: %v", a.name, name, err)
		}
	}
	return nil
}

// recoverStream opens one stream from its directory, recovers its consumers and starts
// it. recoverMu serializes it, so a create that retries a failed recovery never opens
// a store a second time; a stream already open is left alone.
func (a *Account) recoverStream(name string) error {
	a.recoverMu.Lock()
	defer a.recoverMu.Unlock()
	if a.Stream(name) != nil {
		return nil
	}
	m := a.manager
	data, err := m.readFile(path.Join(m.accountDir(a.name), name, streamMetaFileName))
	if err != nil {
		return fmt.Errorf("no readable configuration: %w", err)
	}
	var meta streamMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("configuration is corrupt: %w", err)
	}
	if meta.Config.Name != name {
		return fmt.Errorf("configuration names stream %q", meta.Config.Name)
	}
	stream, err := openStream(a, meta.Config, meta.Created, false)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.streams[meta.Config.Name] = stream
	a.mu.Unlock()
	if err := m.consumers.RecoverConsumers(stream); err != nil {
		m.logger.Errorf("JetStream stream '%s > %s' consumer recovery: %v", a.name, name, err)
	}
	stream.start()
	a.syncDirect()
	var state store.StreamState
	stream.store.FastState(&state)
	m.logger.Noticef("  Restored %d messages for stream '%s > %s'", state.Msgs, a.name, meta.Config.Name)
	return nil
}

// recoverLeftover retries the recovery of a stream whose directory holds data but
// which is not open (its recovery failed at start). It reports an error when the data
// is there and still cannot be recovered; the create must then fail rather than build
// a new stream over acknowledged messages.
func (a *Account) recoverLeftover(name string) error {
	if a.Stream(name) != nil {
		return nil
	}
	names, err := a.manager.config.Env.FS.ReadDir(a.streamDir(name))
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return err
	}
	if len(names) == 0 {
		return nil
	}
	if removed, err := a.removeAbandonedCreate(name); removed || err != nil {
		return err
	}
	if err := a.recoverStream(name); err != nil {
		return fmt.Errorf("stream %q has data on disk that could not be recovered: %w", name, err)
	}
	return nil
}

// removeAbandonedCreate removes a stream directory that has no configuration file: a
// create that never finished. The configuration is written durably before a create
// is answered and nothing is stored before that, so such a directory holds no
// acknowledged message. It runs under the account lock, which a create holds from its
// checks to the stream's registration, so it never removes a create in progress.
func (a *Account) removeAbandonedCreate(name string) (removed bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streams[name] != nil {
		return false, nil
	}
	m := a.manager
	dir := a.streamDir(name)
	if _, err := m.config.Env.FS.Stat(path.Join(dir, streamMetaFileName)); !isNotExist(err) {
		return false, nil
	}
	m.logger.Warnf("JetStream stream '%s > %s' was never fully created (no configuration); removing its directory",
		a.name, name)
	if err := m.config.Env.FS.RemoveAll(dir); err != nil {
		return false, err
	}
	return true, m.config.Env.FS.SyncDir(path.Dir(dir))
}
