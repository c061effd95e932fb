package memstore

import (
	"sync"

	"github.com/natsim/natsim/store"
)

// ConsumerStore is a memory consumer store. It is safe for concurrent use.
type ConsumerStore struct {
	mu       sync.Mutex
	tracker  store.ConsumerTracker
	closed   bool
	onDelete func()
}

var _ store.ConsumerStore = (*ConsumerStore)(nil)

// NewConsumerStore returns an empty memory consumer store.
func NewConsumerStore(cfg store.ConsumerConfig) *ConsumerStore {
	return &ConsumerStore{tracker: store.ConsumerTracker{Config: cfg}}
}

// SetStarting implements store.ConsumerStore.
func (c *ConsumerStore) SetStarting(sseq uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return store.ErrStoreClosed
	}
	c.tracker.SetStarting(sseq)
	return nil
}

// UpdateStarting implements store.ConsumerStore.
func (c *ConsumerStore) UpdateStarting(sseq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracker.UpdateStarting(sseq)
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
	return c.tracker.UpdateDelivered(dseq, sseq, dc, ts)
}

// UpdateAcks implements store.ConsumerStore.
func (c *ConsumerStore) UpdateAcks(dseq, sseq uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return store.ErrStoreClosed
	}
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

// Durable implements store.ConsumerStore: memory state is durable at once.
func (c *ConsumerStore) Durable(done func(err error)) { done(nil) }

// Type implements store.ConsumerStore.
func (c *ConsumerStore) Type() store.StorageType { return store.MemoryStorage }

// Stop implements store.ConsumerStore.
func (c *ConsumerStore) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// Delete implements store.ConsumerStore.
func (c *ConsumerStore) Delete() error {
	c.mu.Lock()
	c.closed = true
	onDelete := c.onDelete
	c.mu.Unlock()
	if onDelete != nil {
		onDelete()
	}
	return nil
}
