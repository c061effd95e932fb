// Package memstore is the memory implementation of store.StreamStore and
// store.ConsumerStore. Messages live in the shared index of store/internal/core; nothing
// is persisted, so every write is durable at once.
//
// It imports store, ds and the standard library only.
package memstore

import (
	"sync"

	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/internal/core"
)

// Store is a memory stream store. It is safe for concurrent use.
type Store struct {
	mu        sync.Mutex
	stream    *core.Stream
	closed    bool
	consumers map[string]*ConsumerStore
}

var _ store.StreamStore = (*Store)(nil)

// New returns an empty memory store for cfg.
func New(cfg store.StreamConfig) (*Store, error) {
	if cfg.Storage != store.MemoryStorage && cfg.Storage != 0 {
		return nil, store.ErrStoreWrongType
	}
	cfg.Storage = store.MemoryStorage
	s := &Store{consumers: make(map[string]*ConsumerStore)}
	s.stream = core.New(cfg, &memoryBackend{msgs: make(map[uint64]memoryMsg)})
	return s, nil
}

// NewCountingAs returns an empty memory store for cfg that counts message bytes with
// size instead of the memory formula: a model of a file store compares with it
// (store.FileMsgSize), since the two store types count differently, as the
// reference's do.
func NewCountingAs(cfg store.StreamConfig, size func(subject string, hdr, msg []byte) uint64) (*Store, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	s.stream.SetMsgSize(size)
	return s, nil
}

// memoryBackend keeps the message bytes by sequence.
type memoryBackend struct {
	msgs map[uint64]memoryMsg
}

// memoryMsg is a stored message's bytes: headers then payload in one allocation.
type memoryMsg struct {
	data   []byte
	hdrLen int
	ttl    int64
}

func (b *memoryBackend) Append(e *core.Entry, ttl int64, hdr, msg []byte) error {
	data := make([]byte, len(hdr)+len(msg))
	copy(data, hdr)
	copy(data[len(hdr):], msg)
	b.msgs[e.Seq] = memoryMsg{data: data, hdrLen: len(hdr), ttl: ttl}
	return nil
}

func (b *memoryBackend) Load(e *core.Entry, sm *store.StoreMsg) error {
	m, ok := b.msgs[e.Seq]
	if !ok {
		return core.ErrNoBackendData
	}
	sm.Copy(e.Subject, m.data[:m.hdrLen], m.data[m.hdrLen:], e.Seq, e.TS, m.ttl)
	return nil
}

func (b *memoryBackend) Remove(e *core.Entry, erase bool) error {
	if erase {
		clear(b.msgs[e.Seq].data)
	}
	return nil
}

func (*memoryBackend) Skip(uint64, uint64) error { return nil }

func (b *memoryBackend) Released(e *core.Entry) { delete(b.msgs, e.Seq) }

func (*memoryBackend) Purge(uint64, uint64, bool) error { return nil }

// StoreMsg implements store.StreamStore.
func (s *Store) StoreMsg(subject string, hdr, msg []byte, ts, ttl int64) (uint64, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, 0, store.ErrStoreClosed
	}
	seq := s.stream.Last() + 1
	if err := s.stream.StoreMsg(subject, hdr, msg, seq, ts, ttl, false); err != nil {
		return 0, 0, err
	}
	return seq, ts, nil
}

// StoreRawMsg implements store.StreamStore.
func (s *Store) StoreRawMsg(subject string, hdr, msg []byte, seq uint64, ts, ttl int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrStoreClosed
	}
	return s.stream.StoreMsg(subject, hdr, msg, seq, ts, ttl, false)
}

// SkipMsg implements store.StreamStore.
func (s *Store) SkipMsg(seq uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrStoreClosed
	}
	return seq, s.stream.Skip(seq, 1, false)
}

// SkipMsgs implements store.StreamStore.
func (s *Store) SkipMsgs(seq, num uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrStoreClosed
	}
	return s.stream.Skip(seq, num, false)
}

// Durable implements store.StreamStore: memory writes are durable at once.
func (s *Store) Durable(done func(err error)) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		done(store.ErrStoreClosed)
		return
	}
	done(nil)
}

// LoadMsg implements store.StreamStore.
func (s *Store) LoadMsg(seq uint64, sm *store.StoreMsg) (*store.StoreMsg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrStoreClosed
	}
	e := s.stream.Entry(seq)
	if e == nil {
		if seq > s.stream.Last() {
			return nil, store.ErrStoreEOF
		}
		return nil, store.ErrStoreMsgNotFound
	}
	return s.load(e, sm)
}

func (s *Store) load(e *core.Entry, sm *store.StoreMsg) (*store.StoreMsg, error) {
	if sm == nil {
		sm = new(store.StoreMsg)
	}
	if err := s.stream.Load(e, sm); err != nil {
		return nil, err
	}
	return sm, nil
}

// LoadNextMsg implements store.StreamStore.
func (s *Store) LoadNextMsg(filter string, wildcard bool, start uint64, sm *store.StoreMsg) (*store.StoreMsg, uint64, error) {
	return s.LoadNextMsgMulti([]string{filter}, start, sm)
}

// LoadNextMsgMulti implements store.StreamStore.
func (s *Store) LoadNextMsgMulti(filters []string, start uint64, sm *store.StoreMsg) (*store.StoreMsg, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, store.ErrStoreClosed
	}
	e := s.stream.NextMatch(filters, start)
	if e == nil {
		return nil, s.stream.Last(), store.ErrStoreEOF
	}
	sm, err := s.load(e, sm)
	if err != nil {
		return nil, 0, err
	}
	return sm, e.Seq, nil
}

// LoadLastMsg implements store.StreamStore.
func (s *Store) LoadLastMsg(subject string, sm *store.StoreMsg) (*store.StoreMsg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrStoreClosed
	}
	e := s.stream.LastMatch(subject)
	if e == nil {
		return nil, store.ErrStoreMsgNotFound
	}
	return s.load(e, sm)
}

// LoadPrevMsg implements store.StreamStore.
func (s *Store) LoadPrevMsg(start uint64, sm *store.StoreMsg) (*store.StoreMsg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrStoreClosed
	}
	e := s.stream.PrevEntry(start)
	if e == nil {
		return nil, store.ErrStoreEOF
	}
	return s.load(e, sm)
}

// RemoveMsg implements store.StreamStore.
func (s *Store) RemoveMsg(seq uint64) (bool, error) { return s.remove(seq, false) }

// EraseMsg implements store.StreamStore.
func (s *Store) EraseMsg(seq uint64) (bool, error) { return s.remove(seq, true) }

func (s *Store) remove(seq uint64, erase bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, store.ErrStoreClosed
	}
	return s.stream.Remove(seq, erase, false)
}

// Purge implements store.StreamStore.
func (s *Store) Purge() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrStoreClosed
	}
	return s.stream.Purge(false)
}

// PurgeEx implements store.StreamStore.
func (s *Store) PurgeEx(subject string, seq, keep uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrStoreClosed
	}
	return core.PurgeEx(s.stream, subject, seq, keep)
}

// Compact implements store.StreamStore.
func (s *Store) Compact(seq uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrStoreClosed
	}
	return s.stream.Compact(seq, false)
}

// Truncate implements store.StreamStore.
func (s *Store) Truncate(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrStoreClosed
	}
	return s.stream.Truncate(seq, false)
}

// ExpireMsgs implements store.StreamStore.
func (s *Store) ExpireMsgs(now int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrStoreClosed
	}
	return s.stream.ExpireMsgs(now)
}

// NextExpiration implements store.StreamStore.
func (s *Store) NextExpiration() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.NextExpiration()
}

// State implements store.StreamStore.
func (s *Store) State() store.StreamState {
	s.mu.Lock()
	defer s.mu.Unlock()
	state := s.stream.State()
	state.Consumers = len(s.consumers)
	return state
}

// FastState implements store.StreamStore.
func (s *Store) FastState(state *store.StreamState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.FastState(state)
	state.Consumers = len(s.consumers)
}

// FilteredState implements store.StreamStore.
func (s *Store) FilteredState(seq uint64, subject string) store.SimpleState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.FilteredState(seq, subject)
}

// SubjectsState implements store.StreamStore.
func (s *Store) SubjectsState(filter string) map[string]store.SimpleState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.SubjectsState(filter)
}

// SubjectsTotals implements store.StreamStore.
func (s *Store) SubjectsTotals(filter string) map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.SubjectsTotals(filter)
}

// NumPending implements store.StreamStore.
func (s *Store) NumPending(seq uint64, filter string, lastPerSubject bool) (uint64, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, 0, store.ErrStoreClosed
	}
	total, through := s.stream.NumPending(seq, filter, lastPerSubject)
	return total, through, nil
}

// MultiLastSeqs implements store.StreamStore.
func (s *Store) MultiLastSeqs(filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrStoreClosed
	}
	return s.stream.MultiLastSeqs(filters, maxSeq, maxAllowed)
}

// SubjectForSeq implements store.StreamStore.
func (s *Store) SubjectForSeq(seq uint64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", store.ErrStoreClosed
	}
	if e := s.stream.Entry(seq); e != nil {
		return e.Subject, nil
	}
	return "", store.ErrStoreMsgNotFound
}

// UpdateConfig implements store.StreamStore.
func (s *Store) UpdateConfig(cfg *store.StreamConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrStoreClosed
	}
	c := *cfg
	c.Storage = store.MemoryStorage
	return s.stream.UpdateConfig(c)
}

// RegisterStorageUpdates implements store.StreamStore.
func (s *Store) RegisterStorageUpdates(cb store.StorageUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.SetStorageUpdate(cb)
}

// Type implements store.StreamStore.
func (s *Store) Type() store.StorageType { return store.MemoryStorage }

// ConsumerStore implements store.StreamStore.
func (s *Store) ConsumerStore(name string, cfg store.ConsumerConfig) (store.ConsumerStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrStoreClosed
	}
	if c, ok := s.consumers[name]; ok {
		// Memory state outlives Stop within the process, like the reference's.
		c.mu.Lock()
		c.closed = false
		c.tracker.Config = cfg
		c.mu.Unlock()
		return c, nil
	}
	c := NewConsumerStore(cfg)
	c.onDelete = func() {
		s.mu.Lock()
		delete(s.consumers, name)
		s.mu.Unlock()
	}
	s.consumers[name] = c
	return c, nil
}

// Stop implements store.StreamStore.
func (s *Store) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrStoreClosed
	}
	s.closed = true
	return nil
}

// Delete implements store.StreamStore.
func (s *Store) Delete() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		_, _ = s.stream.Purge(false)
	}
	s.closed = true
	return nil
}
