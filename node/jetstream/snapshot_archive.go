package jetstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/s2"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/proto/jsarchive"
	"github.com/natsim/natsim/store"
)

// The entries of a snapshot archive, in order, as the reference (nats-server 2.15)
// writes them: state.json (the stream state, consumer_count saying how many
// consumer entries follow), consumers/<name> ({"config": ..., "state": ...}), one
// entry per message (name: subject; header and body as payload; its sequence and
// timestamp), and the empty end-of-backup entry.
const (
	snapshotStateEntry     = "state.json"
	snapshotConsumerPrefix = "consumers/"
	// snapshotConsumersMax bounds the consumer entries a restore accepts.
	snapshotConsumersMax = 1 << 16
)

// snapshotConsumer is a consumers/<name> entry.
type snapshotConsumer struct {
	Config *jsapi.ConsumerConfig  `json:"config"`
	State  *snapshotConsumerState `json:"state"`
}

// snapshotConsumerState is the reference's ConsumerState JSON: pending entries keep
// Go's field names (Sequence, Timestamp), as the reference's untagged struct does.
type snapshotConsumerState struct {
	Delivered   store.SequencePair        `json:"delivered"`
	AckFloor    store.SequencePair        `json:"ack_floor"`
	Pending     map[uint64]*store.Pending `json:"pending,omitempty"`
	Redelivered map[uint64]uint64         `json:"redelivered,omitempty"`
}

// snapshotBlockBytes is the s2 block size of a snapshot: the encoder emits
// compressed bytes a block at a time, so it bounds what a snapshot holds in memory
// beyond one chunk.
const snapshotBlockBytes = 256 << 10

// snapshotEncoder produces a stream's snapshot incrementally: Next encodes messages
// only until a chunk's worth of compressed bytes is ready, so a snapshot of any size
// holds about one chunk and one s2 block in memory. It reads the messages from the
// store as it goes, up to the last sequence the snapshot started with (messages
// stored meanwhile are left out, as the reference's).
type snapshotEncoder struct {
	store      store.StreamStore
	state      jsapi.StreamState
	output     bytes.Buffer
	compressed *s2.Writer
	archive    *jsarchive.Writer
	next       uint64
	message    store.StoreMsg
	finished   bool
}

// newSnapshotEncoder writes the state and consumer entries and returns the encoder
// with the state the snapshot describes.
func newSnapshotEncoder(stream *Stream, includeConsumers bool) (*snapshotEncoder, error) {
	e := &snapshotEncoder{store: stream.Store(), state: stream.Info(false, "").State}
	// One encoder and no goroutines: the snapshot is made in the calling task, which
	// keeps it deterministic in the simulator.
	e.compressed = s2.NewWriter(&e.output, s2.WriterConcurrency(1), s2.WriterBlockSize(snapshotBlockBytes))
	e.archive = jsarchive.NewWriter(e.compressed)
	var consumers []snapshotConsumer
	var names []string
	if includeConsumers {
		for _, streamConsumer := range stream.Consumers() {
			consumer, ok := streamConsumer.(*Consumer)
			if !ok || isDirectConsumer(streamConsumer) {
				// Direct consumers (mirrors' and sources') are recreated by their
				// followers, never written down, as in the reference.
				continue
			}
			consumer.mu.Lock()
			config := consumer.config
			consumerState := consumer.stateLocked()
			consumer.mu.Unlock()
			consumers = append(consumers, snapshotConsumer{Config: &config, State: boundConsumerState(consumerState, e.state.LastSeq)})
			names = append(names, consumer.name)
		}
	}
	e.state.Consumers = len(consumers)
	now := stream.Env().Clock.Now().UnixNano()
	stateJSON, err := json.Marshal(e.state)
	if err != nil {
		return nil, err
	}
	if err := e.archive.WriteFull(jsarchive.Entry{Name: snapshotStateEntry, Timestamp: now, PayloadSize: int64(len(stateJSON))}, stateJSON); err != nil {
		return nil, err
	}
	for i, consumer := range consumers {
		data, err := json.Marshal(consumer)
		if err != nil {
			return nil, err
		}
		entry := jsarchive.Entry{Name: snapshotConsumerPrefix + names[i], Timestamp: now, PayloadSize: int64(len(data))}
		if err := e.archive.WriteFull(entry, data); err != nil {
			return nil, err
		}
	}
	e.next = e.state.FirstSeq
	if e.state.Msgs == 0 {
		e.next = e.state.LastSeq + 1
	}
	return e, nil
}

// Next returns the next piece of the snapshot, at most chunk bytes; an empty piece
// means the snapshot is complete. The piece is only valid until the next call.
func (e *snapshotEncoder) Next(chunk int) ([]byte, error) {
	for e.output.Len() < chunk && !e.finished {
		if err := e.encodeMessage(); err != nil {
			return nil, err
		}
	}
	return e.output.Next(min(chunk, e.output.Len())), nil
}

// encodeMessage writes the next message's entry, or the end of the snapshot.
func (e *snapshotEncoder) encodeMessage() error {
	if e.next <= e.state.LastSeq {
		loaded, seq, err := e.store.LoadNextMsg("", false, e.next, &e.message)
		switch {
		case err == nil && seq <= e.state.LastSeq:
			e.next = seq + 1
			entry := jsarchive.Entry{Name: loaded.Subject, Timestamp: loaded.TS, Sequence: loaded.Seq,
				HeaderSize: int64(len(loaded.Hdr)), PayloadSize: int64(len(loaded.Msg))}
			if err := e.archive.WriteEntry(entry); err != nil {
				return err
			}
			if _, err := e.archive.Write(loaded.Hdr); err != nil {
				return err
			}
			_, err = e.archive.Write(loaded.Msg)
			return err
		case err != nil && !errors.Is(err, store.ErrStoreEOF):
			return fmt.Errorf("couldn't load next message after seq %d: %w", e.next, err)
		}
	}
	// The end entry tells a reader the backup is complete.
	e.finished = true
	if err := e.archive.WriteEnd(); err != nil {
		return err
	}
	return e.compressed.Close()
}

// writeSnapshotArchive writes a whole snapshot of the stream to w and returns the
// state it describes.
func writeSnapshotArchive(w io.Writer, stream *Stream, includeConsumers bool) (jsapi.StreamState, error) {
	encoder, err := newSnapshotEncoder(stream, includeConsumers)
	if err != nil {
		return jsapi.StreamState{}, err
	}
	for {
		piece, err := encoder.Next(snapshotChunkBytesDefault)
		if err != nil || len(piece) == 0 {
			return encoder.state, err
		}
		if _, err := w.Write(piece); err != nil {
			return encoder.state, err
		}
	}
}

// boundConsumerState converts a consumer's state to the snapshot's form, leaving out
// what lies beyond the snapshot's last sequence.
func boundConsumerState(state *store.ConsumerState, lastSeq uint64) *snapshotConsumerState {
	bounded := &snapshotConsumerState{Delivered: state.Delivered, AckFloor: state.AckFloor}
	bounded.Delivered.Stream = min(bounded.Delivered.Stream, lastSeq)
	bounded.AckFloor.Stream = min(bounded.AckFloor.Stream, lastSeq)
	for seq, pending := range state.Pending {
		if seq <= lastSeq {
			if bounded.Pending == nil {
				bounded.Pending = make(map[uint64]*store.Pending)
			}
			bounded.Pending[seq] = pending
		}
	}
	for seq, count := range state.Redelivered {
		if seq <= lastSeq {
			if bounded.Redelivered == nil {
				bounded.Redelivered = make(map[uint64]uint64)
			}
			bounded.Redelivered[seq] = count
		}
	}
	return bounded
}

// snapshotPlan is what a checked snapshot holds besides its messages.
type snapshotPlan struct {
	state     jsapi.StreamState
	consumers []restoredConsumer
}

// restoredConsumer is one checked consumers/<name> entry.
type restoredConsumer struct {
	name   string
	config jsapi.ConsumerConfig
	state  store.ConsumerState
}

// checkSnapshotArchive decodes the whole snapshot without storing anything: the
// format, the state's consistency, every consumer's configuration against the
// stream's, the messages' order and sizes, and the end entry. Anything else (a tar
// of an older server, another server's files, a truncated backup) is refused here,
// before a stream exists.
func (a *Account) checkSnapshotArchive(config jsapi.StreamConfig, data snapshotSource) (*snapshotPlan, error) {
	archive := jsarchive.NewReader(snapshotDecoder(data))
	plan := &snapshotPlan{}
	entry, err := archive.Next()
	if errors.Is(err, jsarchive.ErrNotArchive) || errors.Is(err, io.EOF) {
		return nil, errors.New("snapshot is not a NATSARC1 archive (a nats-server 2.15 backup); backups of older servers are not supported")
	}
	if err != nil {
		return nil, err
	}
	if entry.Name != snapshotStateEntry {
		return nil, errors.New("expected state.json first")
	}
	stateJSON, err := archive.Payload()
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(stateJSON, &plan.state); err != nil {
		return nil, fmt.Errorf("error in state.json: %w", err)
	}
	if err := checkSnapshotState(&plan.state); err != nil {
		return nil, err
	}
	for range plan.state.Consumers {
		consumer, err := a.checkSnapshotConsumer(archive, &config)
		if err != nil {
			return nil, err
		}
		plan.consumers = append(plan.consumers, consumer)
	}
	last := plan.state.FirstSeq
	if last > 0 {
		last--
	}
	for {
		entry, err := archive.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("backup was truncated")
			}
			return nil, err
		}
		if entry.IsEnd() {
			return plan, nil
		}
		if entry.Sequence == 0 {
			return nil, errors.New("expected message sequence")
		}
		if entry.Sequence <= last {
			return nil, fmt.Errorf("message sequence %d out of order", entry.Sequence)
		}
		if size := int64(config.MaxMsgSize); size > 0 && entry.HeaderSize+entry.PayloadSize > size {
			return nil, fmt.Errorf("message sequence %d exceeds maximum message size", entry.Sequence)
		}
		last = entry.Sequence
	}
}

// checkSnapshotState refuses a state whose counts and sequences contradict each
// other.
func checkSnapshotState(state *jsapi.StreamState) error {
	switch {
	case state.Consumers < 0 || state.Consumers > snapshotConsumersMax:
		return fmt.Errorf("invalid stream state: consumer count %d", state.Consumers)
	case state.FirstSeq == 0:
		if state.LastSeq != 0 || state.Msgs != 0 {
			return errors.New("invalid stream state: inconsistent message count or sequence range")
		}
	case state.FirstSeq > state.LastSeq:
		if state.FirstSeq-1 != state.LastSeq || state.Msgs != 0 {
			return errors.New("invalid stream state: inconsistent message count or sequence range")
		}
	case state.Msgs > state.LastSeq-state.FirstSeq+1:
		return errors.New("invalid stream state: message count exceeds sequence range")
	}
	return nil
}

// checkSnapshotConsumer reads and checks one consumers/<name> entry.
func (a *Account) checkSnapshotConsumer(archive *jsarchive.Reader, streamConfig *jsapi.StreamConfig) (restoredConsumer, error) {
	entry, err := archive.Next()
	if err != nil {
		return restoredConsumer{}, err
	}
	name, found := strings.CutPrefix(entry.Name, snapshotConsumerPrefix)
	if !found {
		return restoredConsumer{}, fmt.Errorf("expected consumer, found %q", entry.Name)
	}
	// The name becomes a directory: anything but a valid consumer name is refused.
	if !jsapi.IsValidName(name) {
		return restoredConsumer{}, fmt.Errorf("invalid consumer name %q", name)
	}
	data, err := archive.Payload()
	if err != nil {
		return restoredConsumer{}, err
	}
	var decoded snapshotConsumer
	if err := json.Unmarshal(data, &decoded); err != nil {
		return restoredConsumer{}, fmt.Errorf("failed to decode consumer %q state: %w", name, err)
	}
	if decoded.Config == nil {
		return restoredConsumer{}, fmt.Errorf("consumer %q is missing config", name)
	}
	if decoded.State == nil {
		return restoredConsumer{}, fmt.Errorf("consumer %q is missing state", name)
	}
	if decoded.Config.Durable != "" && decoded.Config.Durable != name {
		return restoredConsumer{}, fmt.Errorf("consumer %q names durable %q", name, decoded.Config.Durable)
	}
	decoded.Config.Name = name
	manager := a.manager
	config, apiErr := jsapi.PrepareConsumerConfig(decoded.Config, streamConfig, jsapi.ConsumerCheckOptions{Recovering: true,
		ServerMaxAckPending: manager.config.ServerMaxAckPending, ServerMaxRequestBatch: manager.config.ServerMaxRequestBatch})
	if apiErr != nil {
		return restoredConsumer{}, fmt.Errorf("failed to add consumer %q: %w", name, apiErr)
	}
	state := store.ConsumerState{Delivered: decoded.State.Delivered, AckFloor: decoded.State.AckFloor,
		Pending: decoded.State.Pending, Redelivered: decoded.State.Redelivered}
	for seq, pending := range state.Pending {
		if pending == nil {
			return restoredConsumer{}, fmt.Errorf("consumer %q: empty pending entry for %d", name, seq)
		}
	}
	return restoredConsumer{name: name, config: config, state: state}, nil
}

// applySnapshotArchive stores a checked snapshot's messages, then its consumers.
func (s *Stream) applySnapshotArchive(plan *snapshotPlan, data snapshotSource) error {
	if err := s.restoreSnapshotMessages(plan, data); err != nil {
		return err
	}
	return s.restoreSnapshotConsumers(plan.consumers)
}

// restoreSnapshotMessages stores the messages at their sequences and times, with
// the gaps between them (and up to the state's last sequence) skipped. A message
// whose TTL ran out is skipped too, keeping its sequence. The stream's lock is held
// throughout, so nothing published meanwhile takes a sequence of the snapshot.
func (s *Stream) restoreSnapshotMessages(plan *snapshotPlan, data snapshotSource) error {
	archive := jsarchive.NewReader(snapshotDecoder(data))
	// The state and consumer entries were checked already.
	for range 1 + len(plan.consumers) {
		if _, err := archive.Next(); err != nil {
			return err
		}
	}
	now := s.Env().Clock.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	next := uint64(1)
	skipTo := func(seq uint64) error {
		if seq > next {
			if err := s.store.SkipMsgs(next, seq-next); err != nil {
				return fmt.Errorf("failed to process gap: %w", err)
			}
			next = seq
		}
		return nil
	}
	if err := skipTo(plan.state.FirstSeq); err != nil {
		return err
	}
	for {
		entry, err := archive.Next()
		if err != nil {
			return err
		}
		if entry.IsEnd() {
			break
		}
		payload, err := archive.Payload()
		if err != nil {
			return fmt.Errorf("failed to read message sequence %d: %w", entry.Sequence, err)
		}
		if err := skipTo(entry.Sequence); err != nil {
			return err
		}
		messageHeader, body := payload[:entry.HeaderSize], payload[entry.HeaderSize:]
		var ttl int64
		if value, ok := header.Get(messageHeader, jsapi.HeaderTTL); ok {
			if ttl, err = parseMessageTTL(string(value)); err != nil {
				return fmt.Errorf("failed to parse message TTL: %w", err)
			}
		}
		if ttl > 0 && now > entry.Timestamp+ttl {
			if err := s.store.SkipMsgs(entry.Sequence, 1); err != nil {
				return fmt.Errorf("failed to process expired message sequence %d: %w", entry.Sequence, err)
			}
		} else if err := s.store.StoreRawMsg(entry.Name, messageHeader, body, entry.Sequence, entry.Timestamp, ttl); err != nil {
			return fmt.Errorf("failed to store message sequence %d: %w", entry.Sequence, err)
		}
		next = entry.Sequence + 1
	}
	if plan.state.LastSeq > 0 {
		if err := skipTo(plan.state.LastSeq + 1); err != nil {
			return err
		}
	}
	s.recoverDedupLocked()
	s.armExpiryLocked()
	return nil
}

// restoreSnapshotConsumers writes each consumer's configuration and state where a
// restart would find them, then reopens them as a restart does. Consumers of a
// memory stream, and consumers that keep their state in memory, have no such place:
// they are built directly with their state in a memory store.
func (s *Stream) restoreSnapshotConsumers(consumers []restoredConsumer) error {
	manager := s.manager
	var restored int
	for i := range consumers {
		consumer := &consumers[i]
		if !persistent(s, &consumer.config) {
			if err := s.restoreMemoryConsumer(consumer); err != nil {
				return fmt.Errorf("failed to add consumer %q: %w", consumer.name, err)
			}
			continue
		}
		if err := s.writeRestoredConsumer(consumer); err != nil {
			return fmt.Errorf("failed to add consumer %q: %w", consumer.name, err)
		}
		restored++
	}
	if restored == 0 {
		return nil
	}
	return manager.consumers.RecoverConsumers(s)
}

// writeRestoredConsumer writes one consumer's configuration file and state.
func (s *Stream) writeRestoredConsumer(consumer *restoredConsumer) error {
	manager := s.manager
	dir := consumerDir(s, consumer.name)
	if err := manager.makeDurableDir(dir); err != nil {
		return err
	}
	created := manager.config.Env.Clock.Now().UTC()
	meta, err := json.Marshal(consumerMeta{Name: consumer.name, Config: consumer.config, Created: created})
	if err != nil {
		return err
	}
	if err := manager.writeFileDurably(path.Join(dir, consumerMetaFileName), meta); err != nil {
		return err
	}
	consumerStore, err := s.store.ConsumerStore(consumer.name, storeConsumerConfig(&consumer.config))
	if err != nil {
		return err
	}
	if err := consumerStore.Update(&consumer.state); err != nil {
		_ = consumerStore.Stop()
		return err
	}
	return consumerStore.Stop()
}

// restoreMemoryConsumer builds a consumer that keeps its state in memory, with the
// snapshot's state, the way a restart reopens one from disk.
func (s *Stream) restoreMemoryConsumer(restored *restoredConsumer) error {
	engine, ok := s.manager.consumers.(*consumerAPI)
	if !ok {
		return errConsumersUnavailable
	}
	world, consumerStore, err := engine.consumerWorld(s, restored.name, &restored.config)
	if err != nil {
		return err
	}
	if err := consumerStore.Update(&restored.state); err != nil {
		_ = consumerStore.Stop()
		return err
	}
	consumer, err := newConsumer(world, restored.name, restored.config, consumerStore, s.manager.config.Env.Clock.Now().UTC())
	if err != nil {
		_ = consumerStore.Stop()
		return err
	}
	if apiErr := s.AddConsumer(consumer); apiErr != nil {
		consumer.Stop()
		return apiErr
	}
	consumer.signal()
	return nil
}
