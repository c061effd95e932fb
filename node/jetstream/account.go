package jetstream

import (
	"encoding/json"
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

	mu      sync.Mutex
	limits  AccountLimits
	streams map[string]*Stream
	apiSubs []Subscription
	stopped bool
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

// subscribeAPI answers $JS.API.> (and the domain's $JS.<domain>.API.>) in the account.
func (a *Account) subscribeAPI() error {
	host := a.manager.host
	subjects := []string{jsapi.APIPrefix + ".>"}
	if domain := a.manager.config.Domain; domain != "" {
		subjects = append(subjects, jsapi.DomainAPIPrefix(domain)+".>")
	}
	for _, subj := range subjects {
		sub, err := host.Subscribe(a.name, subj, a.handleAPI)
		if err != nil {
			return err
		}
		a.mu.Lock()
		a.apiSubs = append(a.apiSubs, sub)
		a.mu.Unlock()
	}
	return nil
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
	for _, stream := range streams {
		stream.stop()
	}
}

// recover opens every stream found in the account's directory.
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
		data, err := m.readFile(path.Join(dir, name, streamMetaFileName))
		if err != nil {
			m.logger.Warnf("JetStream stream '%s > %s' has no readable configuration: %v", a.name, name, err)
			continue
		}
		var meta streamMeta
		if err := json.Unmarshal(data, &meta); err != nil {
			m.logger.Errorf("JetStream stream '%s > %s' configuration is corrupt: %v", a.name, name, err)
			continue
		}
		stream, err := openStream(a, meta.Config, meta.Created, false)
		if err != nil {
			m.logger.Errorf("JetStream stream '%s > %s' recovery failed: %v", a.name, name, err)
			continue
		}
		a.mu.Lock()
		a.streams[meta.Config.Name] = stream
		a.mu.Unlock()
		if err := m.consumers.RecoverConsumers(stream); err != nil {
			m.logger.Errorf("JetStream stream '%s > %s' consumer recovery: %v", a.name, name, err)
		}
		stream.start()
		var state store.StreamState
		stream.store.FastState(&state)
		m.logger.Noticef("  Restored %d messages for stream '%s > %s'", state.Msgs, a.name, meta.Config.Name)
	}
	return nil
}
