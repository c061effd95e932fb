// Package store defines the message storage contract JetStream stands on: the
// StreamStore and ConsumerStore interfaces, the value types they exchange, and the
// sentinel errors callers branch on. The memory store (store/memstore) and the file
// store (store/filestore) implement it; store/storetest is the conformance suite both
// must pass.
//
// Time is always an argument: a store never reads a clock. Timestamps are Unix
// nanoseconds. This package imports env, ds and the standard library only; it must not
// import node/, sim/, scenarios/ or cmd/.
package store

import (
	"errors"
	"fmt"
	"time"
)

// StorageType says where a stream keeps its messages.
type StorageType int

const (
	// FileStorage keeps messages on disk.
	FileStorage StorageType = 22
	// MemoryStorage keeps messages in memory only.
	MemoryStorage StorageType = 33
)

// String returns the reference's JSON name of the storage type.
func (t StorageType) String() string {
	switch t {
	case FileStorage:
		return "file"
	case MemoryStorage:
		return "memory"
	default:
		return "unknown"
	}
}

// DiscardPolicy says what happens when a stream reaches one of its limits.
type DiscardPolicy int

const (
	// DiscardOld removes the oldest messages to make room for new ones.
	DiscardOld DiscardPolicy = iota
	// DiscardNew rejects new messages once a limit is reached.
	DiscardNew
)

// StreamConfig is the subset of a stream's configuration the store enforces. Zero
// limits mean unlimited (the reference uses -1; both are accepted).
type StreamConfig struct {
	Name     string
	Subjects []string
	Storage  StorageType
	// MaxMsgs limits the number of messages; MaxBytes their total size (see MsgSize).
	MaxMsgs  int64
	MaxBytes int64
	// MaxAge removes messages older than this, checked by ExpireMsgs(now).
	MaxAge time.Duration
	// MaxMsgsPer limits the number of messages kept per subject.
	MaxMsgsPer int64
	// MaxMsgSize limits one message's size (subject + headers + payload).
	MaxMsgSize int32
	Discard    DiscardPolicy
	// DiscardNewPer applies DiscardNew to MaxMsgsPer as well.
	DiscardNewPer bool
	// AllowMsgTTL lets messages carry their own time to live.
	AllowMsgTTL bool
	// SubjectDeleteMarkerTTL is carried for JetStream, which writes the markers; the
	// store only needs to know that TTLs are allowed when it is set.
	SubjectDeleteMarkerTTL time.Duration
	// FirstSeq is the sequence the first message of a new stream gets (0 means 1).
	FirstSeq uint64
}

// StoreMsg is a message as the store returns it. Hdr and Msg may alias Buf, which a
// caller can hand back in to reuse memory; callers own the returned slices.
type StoreMsg struct {
	Subject string
	Hdr     []byte
	Msg     []byte
	Buf     []byte
	Seq     uint64
	// TS is the store timestamp in Unix nanoseconds.
	TS int64
	// TTL is the message's time to live in nanoseconds: zero for none, negative for
	// "never" (kept past MaxAge, as the reference's Nats-TTL: never).
	TTL int64
}

// Clear resets the message for reuse, keeping its buffer.
func (sm *StoreMsg) Clear() {
	if sm == nil {
		return
	}
	*sm = StoreMsg{Buf: sm.Buf[:0]}
}

// Copy fills sm with copies of the given parts, reusing sm.Buf.
func (sm *StoreMsg) Copy(subject string, hdr, msg []byte, seq uint64, ts, ttl int64) {
	buf := append(sm.Buf[:0], hdr...)
	buf = append(buf, msg...)
	sm.Buf = buf
	sm.Subject = subject
	sm.Hdr = buf[:len(hdr):len(hdr)]
	sm.Msg = buf[len(hdr):]
	if len(hdr) == 0 {
		sm.Hdr = nil
	}
	sm.Seq, sm.TS, sm.TTL = seq, ts, ttl
}

// MsgSize is the size a message counts for against byte limits and in State in a
// memory store: the reference's memory-store formula (the parts plus 16).
func MsgSize(subject string, hdr, msg []byte) uint64 {
	return uint64(len(subject) + len(hdr) + len(msg) + 16)
}

// FileMsgSize is the size a message counts for in a file store: the reference's
// file-store record size (length, sequence, timestamp, subject length and hash: 30
// bytes beyond the parts, and 4 more for the header length when there are headers),
// which is what its stream infos and byte limits report for file streams.
func FileMsgSize(subject string, hdr, msg []byte) uint64 {
	const recordOverhead, headerLengthBytes = 30, 4
	size := uint64(len(subject)+len(msg)) + recordOverhead
	if len(hdr) > 0 {
		size += uint64(len(hdr)) + headerLengthBytes
	}
	return size
}

// MsgSize is the size a message counts for in a store of this type: FileMsgSize for
// file storage, the memory formula otherwise.
func (t StorageType) MsgSize(subject string, hdr, msg []byte) uint64 {
	if t == FileStorage {
		return FileMsgSize(subject, hdr, msg)
	}
	return MsgSize(subject, hdr, msg)
}

// StreamState is a stream's state as the reference reports it.
type StreamState struct {
	Msgs        uint64
	Bytes       uint64
	FirstSeq    uint64
	FirstTime   time.Time
	LastSeq     uint64
	LastTime    time.Time
	NumSubjects int
	// NumDeleted counts the interior sequences in [FirstSeq, LastSeq] without a message.
	NumDeleted int
	// Deleted lists them (State only; FastState leaves it nil).
	Deleted []uint64
	// Lost lists sequences the store could not recover (corruption).
	Lost []SequenceRange
	// Consumers counts the consumer stores open on the stream.
	Consumers int
}

// SimpleState is the state of the messages matching a filter.
type SimpleState struct {
	Msgs  uint64
	First uint64
	Last  uint64
}

// SequenceRange is an inclusive range of sequences.
type SequenceRange struct {
	First uint64
	Last  uint64
}

// String formats the range as "[first, last]".
func (r SequenceRange) String() string { return fmt.Sprintf("[%d, %d]", r.First, r.Last) }

// Sentinel errors; the strings are the reference's.
var (
	// ErrStoreClosed is returned by every call on a stopped store.
	ErrStoreClosed = errors.New("store is closed")
	// ErrStoreMsgNotFound: no message at that sequence.
	ErrStoreMsgNotFound = errors.New("no message found")
	// ErrStoreEOF: no message at or after the start sequence.
	ErrStoreEOF = errors.New("stream store EOF")
	// ErrMaxMsgs: the stream is at MaxMsgs under DiscardNew.
	ErrMaxMsgs = errors.New("maximum messages exceeded")
	// ErrMaxBytes: the stream is at MaxBytes under DiscardNew.
	ErrMaxBytes = errors.New("maximum bytes exceeded")
	// ErrMaxMsgsPerSubject: the subject is at MaxMsgsPer under DiscardNewPer.
	ErrMaxMsgsPerSubject = errors.New("maximum messages per subject exceeded")
	// ErrMsgTooLarge: the message is larger than MaxMsgSize or the store can hold.
	ErrMsgTooLarge = errors.New("message too large")
	// ErrStoreSnapshotInProgress: a snapshot is being written.
	ErrStoreSnapshotInProgress = errors.New("snapshot in progress")
	// ErrStoreWrongType: a store of the other storage type was expected.
	ErrStoreWrongType = errors.New("wrong storage type")
	// ErrInvalidSequence: a sequence argument is out of range.
	ErrInvalidSequence = errors.New("invalid sequence")
	// ErrSequenceMismatch: StoreRawMsg got a sequence other than the next one.
	ErrSequenceMismatch = errors.New("expected sequence does not match store")
	// ErrInvalidSubject: a subject or filter is not valid.
	ErrInvalidSubject = errors.New("invalid subject")
	// ErrTooManyResults: MultiLastSeqs found more than maxAllowed sequences.
	ErrTooManyResults = errors.New("too many matching results for request")
	// ErrMsgTTLDisabled: a message TTL on a stream that does not allow them.
	ErrMsgTTLDisabled = errors.New("per-message TTL is disabled")
	// ErrCorrupt is matched (errors.Is) by every *CorruptError.
	ErrCorrupt = errors.New("store data is corrupt")
	// ErrBadKey: the encryption key does not open the store.
	ErrBadKey = errors.New("encryption key does not match the store")
	// ErrStoreFailed: an earlier write or sync failed, so the state of unsynced data is
	// unknown; the store refuses writes until it is reopened.
	ErrStoreFailed = errors.New("store failed: reopen to recover")
	// ErrCorruptStreamState: a snapshot or encoded state did not decode.
	ErrCorruptStreamState = errors.New("stream state snapshot is corrupt")
)

// CorruptError reports data the store found damaged. It names the affected sequence
// range (First 0 means unknown) and the file; it matches ErrCorrupt.
type CorruptError struct {
	Range  SequenceRange
	File   string
	Offset int64
	Reason string
}

// Error describes the corruption.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("store data is corrupt: sequences %v in %s at offset %d: %s", e.Range, e.File, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// StorageUpdate is called after every change to the stream's message count and size:
// msgs and bytes are the deltas, seq and subject name the message (0 and "" for bulk
// changes). It runs with the store's lock held and must not call back into the store.
type StorageUpdate func(msgs, bytes int64, seq uint64, subject string)

// StreamStore stores one stream's messages.
//
// Durability: StoreMsg and the other writes return once the change is applied and
// visible; they are durable per the store's sync policy only once a callback handed to
// Durable has run. A caller acknowledges a write to a client from that callback, so the
// store never blocks waiting for a sync and concurrent writers share one (group commit).
type StreamStore interface {
	// StoreMsg appends a message with the next sequence. ts is the store timestamp; ttl
	// (nanoseconds, 0 for none, negative for never) needs AllowMsgTTL. It returns the
	// sequence and timestamp.
	StoreMsg(subject string, hdr, msg []byte, ts, ttl int64) (seq uint64, tsOut int64, err error)
	// StoreRawMsg stores a message at a given sequence, which must be the next one
	// (replication and restore). Limits apply as for StoreMsg.
	StoreRawMsg(subject string, hdr, msg []byte, seq uint64, ts, ttl int64) error
	// SkipMsg reserves seq (which must be the next sequence) without a message.
	SkipMsg(seq uint64) (uint64, error)
	// SkipMsgs reserves num sequences starting at seq, which must be the next one.
	SkipMsgs(seq, num uint64) error
	// Durable calls done once every change made before the call is durable per the sync
	// policy (at once for memory stores). done may run before Durable returns, or later
	// on another task; it must not block.
	Durable(done func(err error))
	// LoadMsg loads the message at seq into sm (or a new StoreMsg when sm is nil).
	LoadMsg(seq uint64, sm *StoreMsg) (*StoreMsg, error)
	// LoadNextMsg loads the first message at or after start whose subject matches
	// filter ("" or ">" match all); wildcard says the filter has wildcards. It returns
	// the message and its sequence, or ErrStoreEOF.
	LoadNextMsg(filter string, wildcard bool, start uint64, sm *StoreMsg) (*StoreMsg, uint64, error)
	// LoadNextMsgMulti is LoadNextMsg matching any of several filters.
	LoadNextMsgMulti(filters []string, start uint64, sm *StoreMsg) (*StoreMsg, uint64, error)
	// LoadLastMsg loads the last message whose subject matches subject (a filter;
	// "" or ">" mean any).
	LoadLastMsg(subject string, sm *StoreMsg) (*StoreMsg, error)
	// LoadPrevMsg loads the last message at or before start.
	LoadPrevMsg(start uint64, sm *StoreMsg) (*StoreMsg, error)
	// RemoveMsg removes the message at seq; it reports whether one was there.
	RemoveMsg(seq uint64) (bool, error)
	// EraseMsg removes the message and overwrites its bytes where the store keeps them.
	EraseMsg(seq uint64) (bool, error)
	// Purge removes every message; it returns how many.
	Purge() (uint64, error)
	// PurgeEx removes the messages matching subject ("" for all) below seq (0: no
	// bound), keeping the newest keep messages (per subject when subject has wildcards
	// is not implied: keep counts over all matching messages, as in the reference).
	PurgeEx(subject string, seq, keep uint64) (uint64, error)
	// Compact removes every message below seq; it returns how many.
	Compact(seq uint64) (uint64, error)
	// Truncate removes every message above seq; the last sequence becomes seq.
	Truncate(seq uint64) error
	// ExpireMsgs removes the messages past MaxAge or their TTL at time now and returns
	// how many it removed.
	ExpireMsgs(now int64) (int, error)
	// NextExpiration returns the earliest time at which ExpireMsgs has work, or
	// math.MaxInt64 when none is scheduled.
	NextExpiration() int64
	// State returns the full state, including the list of deleted sequences.
	State() StreamState
	// FastState fills state without the deleted list.
	FastState(state *StreamState)
	// FilteredState returns the state of the messages at or after seq matching subject.
	FilteredState(seq uint64, subject string) SimpleState
	// SubjectsState returns the state of every subject matching filter.
	SubjectsState(filter string) map[string]SimpleState
	// SubjectsTotals returns the message count of every subject matching filter.
	SubjectsTotals(filter string) map[string]uint64
	// NumPending counts the messages at or after seq matching filter; with
	// lastPerSubject, only the last message of each subject counts. validThrough is the
	// last sequence the count covers.
	NumPending(seq uint64, filter string, lastPerSubject bool) (total, validThrough uint64, err error)
	// MultiLastSeqs returns, sorted, the last sequence at or below maxSeq (0: any) of
	// every subject matching any filter; ErrTooManyResults past maxAllowed (0: any).
	MultiLastSeqs(filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error)
	// SubjectForSeq returns the subject of the message at seq.
	SubjectForSeq(seq uint64) (string, error)
	// UpdateConfig applies new limits, removing messages over them at once.
	UpdateConfig(cfg *StreamConfig) error
	// RegisterStorageUpdates installs a callback for count and size changes.
	RegisterStorageUpdates(cb StorageUpdate)
	// Type returns the storage type.
	Type() StorageType
	// ConsumerStore opens (or creates) the named consumer's state store.
	ConsumerStore(name string, cfg ConsumerConfig) (ConsumerStore, error)
	// Stop closes the store, keeping its data.
	Stop() error
	// Delete stops the store and removes its data.
	Delete() error
}
