package filestore

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/natsim/natsim/store"
)

const consumerStateFileName = "o.dat"

func errClosed() error { return store.ErrStoreClosed }

// ConsumerStore is a file consumer store: the state lives in memory and is written to
// obs/NAME/o.dat (encoded, checksummed, replaced atomically) by Durable and Stop.
type ConsumerStore struct {
	mu      sync.Mutex
	parent  *Store
	name    string
	dir     string
	tracker store.ConsumerTracker
	dirty   bool
	closed  bool
}

var _ store.ConsumerStore = (*ConsumerStore)(nil)

// ConsumerStore implements store.StreamStore. An existing state file is loaded; a
// corrupt one is reported (errors.Is(err, store.ErrCorrupt)) and never reset.
func (s *Store) ConsumerStore(name string, cfg store.ConsumerConfig) (store.ConsumerStore, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return nil, fmt.Errorf("filestore: invalid consumer name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return nil, err
	}
	if c, ok := s.consumers[name]; ok {
		c.mu.Lock()
		c.tracker.Config = cfg
		c.mu.Unlock()
		return c, nil
	}
	c := &ConsumerStore{parent: s, name: name, dir: path.Join(s.config.Dir, obsDirName, name)}
	c.tracker.Config = cfg
	fsys := s.config.FS
	data, err := readFile(fsys, path.Join(c.dir, consumerStateFileName))
	switch {
	case err == nil:
		name := path.Join(c.dir, consumerStateFileName)
		plain, err := s.openAuxFile(name, data)
		if err != nil && s.config.Cipher != NoCipher {
			if _, derr := store.DecodeConsumerState(data); derr == nil {
				// A valid state in the clear where a sealed one belongs.
				err = fmt.Errorf("%w: %s is not encrypted but a key is configured", store.ErrBadKey, name)
			}
		}
		data = plain
		if err != nil {
			if errors.Is(err, store.ErrBadKey) {
				return nil, err
			}
			return nil, &store.CorruptError{File: name, Reason: err.Error()}
		}
		state, derr := store.DecodeConsumerState(data)
		if derr != nil {
			return nil, &store.CorruptError{File: path.Join(c.dir, consumerStateFileName), Reason: derr.Error()}
		}
		c.tracker.State = *state
	case isNotExist(err):
		if err := fsys.MkdirAll(c.dir, 0o750); err != nil {
			return nil, err
		}
		if err := fsys.SyncDir(path.Dir(c.dir)); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	s.consumers[name] = c
	return c, nil
}

// SetStarting implements store.ConsumerStore.
func (c *ConsumerStore) SetStarting(sseq uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return store.ErrStoreClosed
	}
	c.tracker.SetStarting(sseq)
	c.dirty = true
	return nil
}

// UpdateStarting implements store.ConsumerStore.
func (c *ConsumerStore) UpdateStarting(sseq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracker.UpdateStarting(sseq)
	c.dirty = true
}

// HasState implements store.ConsumerStore.
func (c *ConsumerStore) HasState() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.tracker.State
	return s.Delivered.Consumer != 0 || s.Delivered.Stream != 0
}

// UpdateDelivered implements store.ConsumerStore.
func (c *ConsumerStore) UpdateDelivered(dseq, sseq, dc uint64, ts int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return store.ErrStoreClosed
	}
	c.dirty = true
	return c.tracker.UpdateDelivered(dseq, sseq, dc, ts)
}

// UpdateAcks implements store.ConsumerStore.
func (c *ConsumerStore) UpdateAcks(dseq, sseq uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return store.ErrStoreClosed
	}
	c.dirty = true
	return c.tracker.UpdateAcks(dseq, sseq)
}

// UpdateConfig implements store.ConsumerStore.
func (c *ConsumerStore) UpdateConfig(cfg store.ConsumerConfig) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracker.Config = cfg
	return nil
}

// Update implements store.ConsumerStore.
func (c *ConsumerStore) Update(state *store.ConsumerState) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return store.ErrStoreClosed
	}
	c.tracker.State = *state.Copy()
	c.dirty = true
	return nil
}

// State implements store.ConsumerStore.
func (c *ConsumerStore) State() (*store.ConsumerState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, store.ErrStoreClosed
	}
	return c.tracker.State.Copy(), nil
}

// EncodedState implements store.ConsumerStore.
func (c *ConsumerStore) EncodedState() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, store.ErrStoreClosed
	}
	return store.EncodeConsumerState(&c.tracker.State), nil
}

// Durable implements store.ConsumerStore: it writes the state file when it changed.
func (c *ConsumerStore) Durable(done func(err error)) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		done(store.ErrStoreClosed)
		return
	}
	err := c.writeLocked()
	c.mu.Unlock()
	done(err)
}

func (c *ConsumerStore) writeLocked() error {
	if !c.dirty {
		return nil
	}
	name := path.Join(c.dir, consumerStateFileName)
	data, err := c.parent.sealAuxFile(name, store.EncodeConsumerState(&c.tracker.State))
	if err != nil {
		return err
	}
	if err := writeFileAtomic(c.parent.config.FS, name, data); err != nil {
		return err
	}
	c.dirty = false
	return nil
}

// Type implements store.ConsumerStore.
func (c *ConsumerStore) Type() store.StorageType { return store.FileStorage }

// Stop implements store.ConsumerStore: it writes the state and closes.
func (c *ConsumerStore) Stop() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	err := c.writeLocked()
	c.closed = true
	c.mu.Unlock()
	c.forget()
	return err
}

// Delete implements store.ConsumerStore: it removes the state.
func (c *ConsumerStore) Delete() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.forget()
	fsys := c.parent.config.FS
	if err := fsys.RemoveAll(c.dir); err != nil {
		return err
	}
	return fsys.SyncDir(path.Dir(c.dir))
}

func (c *ConsumerStore) forget() {
	s := c.parent
	s.mu.Lock()
	if s.consumers[c.name] == c {
		delete(s.consumers, c.name)
	}
	s.mu.Unlock()
}
