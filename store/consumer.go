package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
)

// AckPolicy is the consumer's acknowledgement policy, as far as its store cares.
type AckPolicy int

const (
	// AckNone: messages count as acknowledged when delivered.
	AckNone AckPolicy = iota
	// AckAll: an ack acknowledges every message up to it.
	AckAll
	// AckExplicit: every message is acknowledged on its own.
	AckExplicit
)

// ConsumerConfig is the subset of a consumer's configuration its store needs.
type ConsumerConfig struct {
	AckPolicy AckPolicy
	// MaxDeliver drops a message from pending once delivered more often (0: no limit).
	MaxDeliver int
}

// SequencePair is a consumer sequence and the stream sequence it delivered.
type SequencePair struct {
	Consumer uint64 `json:"consumer_seq"`
	Stream   uint64 `json:"stream_seq"`
}

// Pending is a delivered, unacknowledged message: its first delivery's consumer
// sequence and the timestamp (Unix nanoseconds) of its last delivery.
type Pending struct {
	Sequence  uint64
	Timestamp int64
}

// ConsumerState is a consumer's durable state.
type ConsumerState struct {
	// Delivered is the highest delivered pair.
	Delivered SequencePair
	// AckFloor is the highest pair below which everything is acknowledged.
	AckFloor SequencePair
	// Pending maps stream sequences delivered and not acknowledged (explicit/all acks).
	Pending map[uint64]*Pending
	// Redelivered maps stream sequences to how often they were redelivered.
	Redelivered map[uint64]uint64
}

// Errors of the consumer store; the strings are the reference's.
var (
	// ErrNoAckPolicy: an ack or redelivery for a consumer with AckNone.
	ErrNoAckPolicy = errors.New("ack policy is none")
	// ErrBadAckSequence: an ack above what was delivered.
	ErrBadAckSequence = errors.New("bad ack sequence")
)

// Copy returns a deep copy of the state.
func (s *ConsumerState) Copy() *ConsumerState {
	c := &ConsumerState{Delivered: s.Delivered, AckFloor: s.AckFloor}
	if len(s.Pending) > 0 {
		c.Pending = make(map[uint64]*Pending, len(s.Pending))
		for k, v := range s.Pending {
			p := *v
			c.Pending[k] = &p
		}
	}
	if len(s.Redelivered) > 0 {
		c.Redelivered = make(map[uint64]uint64, len(s.Redelivered))
		for k, v := range s.Redelivered {
			c.Redelivered[k] = v
		}
	}
	return c
}

// ConsumerTracker applies deliveries and acks to a ConsumerState with the reference's
// rules. Both consumer stores use it; it is pure and not safe for concurrent use.
type ConsumerTracker struct {
	Config ConsumerConfig
	State  ConsumerState
}

// SetStarting sets the state to start delivering after stream sequence sseq.
func (t *ConsumerTracker) SetStarting(sseq uint64) {
	t.State.Delivered.Stream = sseq
	t.State.AckFloor.Stream = sseq
}

// UpdateStarting moves the starting point forward to sseq when nothing is pending.
func (t *ConsumerTracker) UpdateStarting(sseq uint64) {
	if sseq <= t.State.Delivered.Stream {
		return
	}
	t.State.Delivered.Stream = sseq
	if t.Config.AckPolicy == AckNone || len(t.State.Pending) == 0 {
		t.State.AckFloor.Stream = sseq
	}
}

// UpdateDelivered records the delivery of stream sequence sseq as consumer sequence
// dseq, the dc-th delivery of that message, at time ts.
func (t *ConsumerTracker) UpdateDelivered(dseq, sseq, dc uint64, ts int64) error {
	s := &t.State
	if dc != 1 && t.Config.AckPolicy == AckNone {
		return ErrNoAckPolicy
	}
	// A replay of an old delivery (e.g. from a raft log after a restart) is ignored.
	if dseq <= s.AckFloor.Consumer {
		return nil
	}
	if t.Config.AckPolicy == AckNone {
		if dseq > s.Delivered.Consumer {
			s.Delivered.Consumer, s.AckFloor.Consumer = dseq, dseq
		}
		if sseq > s.Delivered.Stream {
			s.Delivered.Stream, s.AckFloor.Stream = sseq, sseq
		}
		return nil
	}
	if s.Pending == nil {
		s.Pending = make(map[uint64]*Pending)
	}
	if sseq <= s.Delivered.Stream {
		// A redelivery keeps the original consumer sequence and refreshes the time.
		if p := s.Pending[sseq]; p != nil {
			p.Timestamp = ts
		}
	} else {
		s.Pending[sseq] = &Pending{Sequence: dseq, Timestamp: ts}
	}
	if dseq > s.Delivered.Consumer {
		s.Delivered.Consumer = dseq
	}
	if sseq > s.Delivered.Stream {
		s.Delivered.Stream = sseq
	}
	if dc > 1 {
		if maxDeliver := uint64(t.Config.MaxDeliver); t.Config.MaxDeliver > 0 && dc > maxDeliver {
			delete(s.Pending, sseq)
		}
		if s.Redelivered == nil {
			s.Redelivered = make(map[uint64]uint64)
		}
		if s.Redelivered[sseq] < dc-1 {
			s.Redelivered[sseq] = dc - 1
		}
	}
	return nil
}

// UpdateAcks records the acknowledgement of consumer sequence dseq, stream sequence
// sseq. It returns ErrStoreMsgNotFound when sseq is not pending.
func (t *ConsumerTracker) UpdateAcks(dseq, sseq uint64) error {
	s := &t.State
	if t.Config.AckPolicy == AckNone {
		return ErrNoAckPolicy
	}
	if dseq <= s.AckFloor.Consumer {
		return nil
	}
	if dseq > s.Delivered.Consumer || sseq > s.Delivered.Stream {
		return ErrBadAckSequence
	}
	if len(s.Pending) == 0 || s.Pending[sseq] == nil {
		delete(s.Redelivered, sseq)
		return ErrStoreMsgNotFound
	}
	if t.Config.AckPolicy == AckAll {
		s.AckFloor.Consumer, s.AckFloor.Stream = dseq, sseq
		for _, seq := range sortedKeys(s.Pending) {
			if seq <= sseq {
				delete(s.Pending, seq)
				delete(s.Redelivered, seq)
			}
		}
		return nil
	}
	if p, ok := s.Pending[sseq]; ok {
		delete(s.Pending, sseq)
		// The floor moves by original delivery sequences.
		if dseq > p.Sequence && p.Sequence > 0 {
			dseq = p.Sequence
		}
	}
	if len(s.Pending) == 0 {
		s.AckFloor = s.Delivered
	} else if dseq == s.AckFloor.Consumer+1 {
		s.AckFloor.Consumer, s.AckFloor.Stream = dseq, sseq
		// The floor rises to just below the oldest message still pending.
		lowest := LowestPending(s.Pending, sseq)
		if p := s.Pending[lowest]; p != nil && p.Sequence > 0 && lowest > sseq {
			s.AckFloor.Consumer, s.AckFloor.Stream = p.Sequence-1, lowest-1
		}
	}
	delete(s.Redelivered, sseq)
	return nil
}

// lowestPendingProbesMax bounds the sequences LowestPending looks up one by one before
// it scans the whole map.
const lowestPendingProbesMax = 32

// LowestPending returns the lowest sequence in pending (0 when it is empty), given that
// every sequence in it is above floor, the stream sequence just acknowledged at the ack
// floor. Acks mostly arrive in delivery order, so the next pending message is usually
// within a few sequences of floor: looking those up first makes an ack cost a few map
// lookups, where scanning every pending message made acknowledging a batch quadratic.
func LowestPending[V any](pending map[uint64]V, floor uint64) uint64 {
	if len(pending) == 0 {
		return 0
	}
	for seq := floor + 1; seq <= floor+lowestPendingProbesMax; seq++ {
		if _, ok := pending[seq]; ok {
			return seq
		}
	}
	lowest := uint64(0)
	for seq := range pending {
		if lowest == 0 || seq < lowest {
			lowest = seq
		}
	}
	return lowest
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// ConsumerStore keeps one consumer's state.
type ConsumerStore interface {
	// SetStarting sets the stream sequence delivery starts after.
	SetStarting(sseq uint64) error
	// UpdateStarting moves the starting point forward.
	UpdateStarting(sseq uint64)
	// HasState reports whether any delivery or ack was recorded.
	HasState() bool
	// UpdateDelivered records a delivery (see ConsumerTracker.UpdateDelivered).
	UpdateDelivered(dseq, sseq, dc uint64, ts int64) error
	// UpdateAcks records an acknowledgement (see ConsumerTracker.UpdateAcks).
	UpdateAcks(dseq, sseq uint64) error
	// UpdateConfig replaces the consumer configuration.
	UpdateConfig(cfg ConsumerConfig) error
	// Update replaces the whole state (e.g. from a raft snapshot).
	Update(state *ConsumerState) error
	// State returns a copy of the state.
	State() (*ConsumerState, error)
	// EncodedState returns the state in the versioned binary encoding.
	EncodedState() ([]byte, error)
	// Durable calls done once every change made before the call is durable.
	Durable(done func(err error))
	// Type returns the storage type.
	Type() StorageType
	// Stop closes the store, keeping its state.
	Stop() error
	// Delete stops the store and removes its state.
	Delete() error
}

// Consumer state encoding, version 1:
//
//	magic 'C' 'S', version byte 1,
//	uvarint delivered.consumer, delivered.stream, ackfloor.consumer, ackfloor.stream,
//	uvarint len(pending), then per pending entry in stream order:
//	  uvarint sseq-ackfloor.stream, uvarint dseq-ackfloor.consumer, varint timestamp,
//	uvarint len(redelivered), then per entry in stream order: uvarint sseq, uvarint count,
//	CRC-32C (Castagnoli, little endian) of everything before it.
const (
	consumerStateMagic0  = 'C'
	consumerStateMagic1  = 'S'
	consumerStateVersion = 1
	// consumerStateEntriesMax bounds the entries a decoder accepts, so a corrupt length
	// cannot make it allocate without bound.
	consumerStateEntriesMax = 1 << 26
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C every store record and file uses.
func Checksum(data []byte) uint32 { return crc32.Checksum(data, castagnoli) }

// EncodeConsumerState encodes state in the versioned binary encoding.
func EncodeConsumerState(state *ConsumerState) []byte {
	buf := make([]byte, 0, 64+len(state.Pending)*16+len(state.Redelivered)*8)
	buf = append(buf, consumerStateMagic0, consumerStateMagic1, consumerStateVersion)
	buf = binary.AppendUvarint(buf, state.Delivered.Consumer)
	buf = binary.AppendUvarint(buf, state.Delivered.Stream)
	buf = binary.AppendUvarint(buf, state.AckFloor.Consumer)
	buf = binary.AppendUvarint(buf, state.AckFloor.Stream)
	buf = binary.AppendUvarint(buf, uint64(len(state.Pending)))
	for _, seq := range sortedKeys(state.Pending) {
		p := state.Pending[seq]
		buf = binary.AppendUvarint(buf, seq-state.AckFloor.Stream)
		buf = binary.AppendUvarint(buf, p.Sequence-state.AckFloor.Consumer)
		buf = binary.AppendVarint(buf, p.Timestamp)
	}
	buf = binary.AppendUvarint(buf, uint64(len(state.Redelivered)))
	for _, seq := range sortedKeys(state.Redelivered) {
		buf = binary.AppendUvarint(buf, seq)
		buf = binary.AppendUvarint(buf, state.Redelivered[seq])
	}
	return binary.LittleEndian.AppendUint32(buf, Checksum(buf))
}

// DecodeConsumerState decodes what EncodeConsumerState wrote. Damaged input returns an
// error matching ErrCorruptStreamState, never a panic.
func DecodeConsumerState(buf []byte) (*ConsumerState, error) {
	if len(buf) < 3+4 || buf[0] != consumerStateMagic0 || buf[1] != consumerStateMagic1 {
		return nil, fmt.Errorf("%w: bad consumer state header", ErrCorruptStreamState)
	}
	if buf[2] != consumerStateVersion {
		return nil, fmt.Errorf("%w: unknown consumer state version %d", ErrCorruptStreamState, buf[2])
	}
	body := buf[:len(buf)-4]
	if Checksum(body) != binary.LittleEndian.Uint32(buf[len(buf)-4:]) {
		return nil, fmt.Errorf("%w: consumer state checksum mismatch", ErrCorruptStreamState)
	}
	r := byteReader{buf: body[3:]}
	state := &ConsumerState{}
	state.Delivered.Consumer = r.uvarint()
	state.Delivered.Stream = r.uvarint()
	state.AckFloor.Consumer = r.uvarint()
	state.AckFloor.Stream = r.uvarint()
	numPending := r.uvarint()
	if numPending > consumerStateEntriesMax || numPending > uint64(len(body)) {
		return nil, fmt.Errorf("%w: %d pending entries", ErrCorruptStreamState, numPending)
	}
	if numPending > 0 {
		state.Pending = make(map[uint64]*Pending, numPending)
	}
	for range numPending {
		seq := r.uvarint() + state.AckFloor.Stream
		dseq := r.uvarint() + state.AckFloor.Consumer
		ts := r.varint()
		state.Pending[seq] = &Pending{Sequence: dseq, Timestamp: ts}
	}
	numRedelivered := r.uvarint()
	if numRedelivered > consumerStateEntriesMax || numRedelivered > uint64(len(body)) {
		return nil, fmt.Errorf("%w: %d redelivered entries", ErrCorruptStreamState, numRedelivered)
	}
	if numRedelivered > 0 {
		state.Redelivered = make(map[uint64]uint64, numRedelivered)
	}
	for range numRedelivered {
		seq := r.uvarint()
		state.Redelivered[seq] = r.uvarint()
	}
	if r.err != nil || len(r.buf) != 0 {
		return nil, fmt.Errorf("%w: truncated or trailing consumer state", ErrCorruptStreamState)
	}
	return state, nil
}

// byteReader decodes varints and remembers the first failure, so decoders check once.
type byteReader struct {
	buf []byte
	err error
}

func (r *byteReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err = ErrCorruptStreamState
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *byteReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.err = ErrCorruptStreamState
		return 0
	}
	r.buf = r.buf[n:]
	return v
}
