// Package filestore is the file implementation of store.StreamStore and
// store.ConsumerStore on env.FS.
//
// Layout under Config.Dir:
//
//	meta.inf            the stream configuration (JSON) with a CRC-32C trailer
//	blocks.idx          the durable length of every block (tells a cut block from a torn one)
//	ttl.dat             the TTL time hash wheel, stamped with the last sequence (optional)
//	msgs/NNNNNNNNNN.blk message blocks: checksummed records, appended in order
//	msgs/NNNNNNNNNN.idx a block's index: its records without payloads (optional)
//	obs/NAME/o.dat      consumer state (store.EncodeConsumerState), replaced atomically
//
// A block is a journal: message records, removal tombstones (one sequence, or the
// delta-encoded sequences of a filtered purge), skips, purges and truncations, each
// framed with its length and a CRC-32C. The in-memory index (store/internal/core) is
// rebuilt at open by replaying the blocks in order, so nothing but the blocks is
// needed to recover. A sealed block's index file (see blockindex.go) lets the replay
// skip reading its records, but only when the block's length and checksum still
// match the ones the index was built from; otherwise the block is replayed and the
// index rebuilt. The TTL wheel is loaded from ttl.dat when its stamp is current (see
// ttlfile.go), rebuilt from the messages otherwise. Recovery reports how it went.
// A block whose messages are all gone is removed once it is the oldest.
//
// With a Cipher, blocks are sealed per record with per-block keys, and the other
// files (meta, indexes, TTL, consumer state) are sealed whole with per-write keys (see
// auxfile.go); a wrong key fails loudly with store.ErrBadKey.
//
// Durability: writes land in the write block's buffer and return; Durable(done) calls
// done once they are fsynced (SyncAlways, the default) or written to the OS
// (SyncInterval, like the reference's sync_interval; a timer fsyncs, and with
// Config.Tasks a task fsyncs the write block ahead of it once 1 MiB is unsynced).
// Syncs are group commits: one fsync covers every write made before it started, and
// while it runs new Durable callbacks queue for the next one; one runs at a time (see
// sync.go). With Config.Tasks the sync runs on a task; otherwise the first caller runs
// it inline and keeps going while others queue, so no caller ever blocks waiting for
// another's sync. In interval mode the callers' writes to the OS are batched the same
// way, and made with the lock released. StoreMsg and Durable calls that find the lock
// taken are queued for its holder instead of waiting for it (see combine.go). A new
// block is preallocated sparse and zero-filled ahead of its data by the group commits,
// so that their fsyncs overwrite allocated blocks (see zeroAheadLocked).
//
// A failed write or fsync is recovered from memory (see rollback.go): the store
// refuses writes, rewrites every byte after the length the last successful fsync
// covered from its buffer, fsyncs it, and then the waiting callbacks get nil and the
// store takes writes again; no write it accepted is dropped. Open rewrites and fsyncs the newest block, so what a restart serves survives
// a later power loss even when an earlier incarnation's fsync failed.
//
// Corruption found at open (a record whose checksum fails, anywhere but a torn tail of
// the newest block) is reported with the affected sequences in State().Lost and
// Corruption(), and loads that touch them fail with a *store.CorruptError; the data is
// never served, skipped silently, or deleted. Corruption found on a later read is
// reported the same way.
//
// It imports env, ds, store and the standard library (plus compress and x/crypto).
package filestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/internal/core"
)

// Compression selects how message payloads are compressed in blocks.
type Compression int

const (
	// NoCompression stores payloads as they are.
	NoCompression Compression = iota
	// S2Compression compresses payloads with S2 when that makes them smaller.
	S2Compression
)

// Cipher selects encryption at rest.
type Cipher int

const (
	// NoCipher stores data in the clear.
	NoCipher Cipher = iota
	// AES uses AES-256-GCM with a per-block key.
	AES
	// ChaCha uses XChaCha20-Poly1305 with a per-block key.
	ChaCha
)

// Defaults and bounds.
const (
	// BlockBytesDefault is the default block size limit.
	BlockBytesDefault = 8 << 20
	// blockBytesMin keeps tiny test limits workable.
	blockBytesMin = 256
	// writeBufferBytesMax bounds the bytes buffered before they are written to the OS.
	writeBufferBytesMax = 1 << 20
	// cacheBlocksMax bounds the blocks whose contents stay in memory for reads. One is
	// enough for the common readers, which walk the blocks in order or read the write
	// block (always in memory); each cached block costs up to BlockBytesMax of resident
	// memory, and four of them made an idle server after a 200,000 message fill hold
	// about 90 MiB instead of about 50.
	cacheBlocksMax = 1
	// syncBatchCallbacksMax bounds one group commit's callbacks; more wait for the next.
	syncBatchCallbacksMax = 1 << 16
)

// Config configures a file store.
type Config struct {
	// Dir is the stream's directory.
	Dir string
	// FS is the file system. Required.
	FS env.FS
	// Tasks, when set, runs group commits; otherwise the first Durable caller does.
	Tasks env.Tasks
	// Clock drives SyncInterval; without one, interval mode syncs only on Stop.
	Clock env.Clock
	// Rand supplies encryption nonces. Required with a Cipher.
	Rand env.Rand
	// BlockBytesMax limits a block's size (0: BlockBytesDefault).
	BlockBytesMax int64
	// SyncInterval, when positive, selects interval mode: Durable acknowledges once the
	// bytes are written to the OS and a timer fsyncs every SyncInterval. Zero is sync
	// always, the default.
	SyncInterval time.Duration
	// Compression of message payloads.
	Compression Compression
	// Cipher and Key select encryption at rest; Key must be 32 bytes.
	Cipher Cipher
	Key    []byte
}

// Store is a file stream store. It is safe for concurrent use.
type Store struct {
	mu      storeMutex
	config  Config
	stream  *core.Stream
	journal *journal
	closed  bool
	// failed is the first write or sync error; after it the store refuses writes, since
	// the state of unsynced data is unknown, until a recovery rewrites it and makes the
	// disk match the index again or the store is reopened (see rollback.go).
	// rollbackPending says the recovery should run once nothing is in flight.
	failed          error
	rollbackPending bool

	blocks      []*block // ordered by id
	nextBlockID uint32
	cache       []*block // read caches, most recent last
	dirDirty    bool     // a block was created since the last directory sync

	// waiters are the Durable callbacks of sync always waiting for a group commit;
	// syncsInFlight counts the group commits running (at most syncsInFlightMax),
	// syncsStarting those among them that have not taken a batch yet, and
	// dirSyncsInFlight those syncing the directory.
	waiters          []durableWaiter
	syncsInFlight    int
	syncsStarting    int
	dirSyncsInFlight int
	// roundsRunning counts the group commits between taking their plan and handling
	// its result; deferredRounds are rounds whose fsync succeeded while another one
	// ran, waiting for it (see finishRoundLocked).
	roundsRunning  int
	deferredRounds []deferredRound
	// failedWaiters are callbacks of a failed round, left for the last round in flight
	// to hand to the recovery.
	failedWaiters []durableWaiter
	// rollbackWaiters are callbacks waiting for the recovery after a failed write or
	// sync to be durable; released are those whose recovery is durable, waiting to be
	// called outside the lock.
	rollbackWaiters []durableWaiter
	released        []releasedCallback
	// flushWaiters are the Durable callbacks of interval mode waiting for a write to
	// the OS; flushing says a caller is writing for them; spareWaiters is a drained
	// batch kept for reuse.
	flushWaiters []func(error)
	flushing     bool
	spareWaiters []func(error)
	// flushAbsent counts the interval-mode callbacks taken by a flush whose writers
	// have not come back with a new one yet; flushDeferred says the next flush waits
	// for them (see deferFlushLocked), at most until flushTimer fires.
	flushAbsent   int
	flushDeferred bool
	flushTimer    env.Timer
	// sealJobs are the writes of sealed blocks' index files and the block index
	// queued for a task; sealRunning says a runner runs them, holding sealMu while
	// one writes (see sealjobs.go).
	sealJobs    []sealJob
	sealRunning bool
	sealMu      sync.Mutex
	// unlockedWrite is a write block range being written with the lock released.
	unlockedWrite unlockedWrite
	timer         env.Timer

	lost       []store.SequenceRange
	corruption []*store.CorruptError

	consumers map[string]*ConsumerStore
	scratch   []byte
	body      []byte

	// spareBlockBuffer is a full-size block buffer evicted from the cache, for the next
	// block; indexBytesHint sizes the next block's index builder.
	spareBlockBuffer []byte
	indexBytesHint   int

	// recovery says how Open rebuilt the index.
	recovery RecoveryStats
	// ttlFileMayExist says the TTL file may be on the disk (it was found or written).
	ttlFileMayExist bool
	// randMu serializes Config.Rand, which consumer stores use outside mu.
	randMu sync.Mutex
}

var _ store.StreamStore = (*Store)(nil)

const (
	metaFileName = "meta.inf"
	msgsDirName  = "msgs"
	obsDirName   = "obs"
)

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("filestore: bad config")

// Open opens the stream in cfg.Dir, creating it when missing, and recovers its state
// from the blocks. A store with corrupt data opens; see Corruption.
func Open(cfg Config, streamConfig store.StreamConfig) (*Store, error) {
	if cfg.FS == nil || cfg.Dir == "" {
		return nil, fmt.Errorf("%w: FS and Dir are required", ErrConfig)
	}
	if streamConfig.Storage != 0 && streamConfig.Storage != store.FileStorage {
		return nil, store.ErrStoreWrongType
	}
	streamConfig.Storage = store.FileStorage
	if cfg.BlockBytesMax <= 0 {
		cfg.BlockBytesMax = BlockBytesDefault
	}
	if cfg.BlockBytesMax < blockBytesMin {
		cfg.BlockBytesMax = blockBytesMin
	}
	if cfg.BlockBytesMax > 1<<31 {
		cfg.BlockBytesMax = 1 << 31
	}
	if cfg.Cipher != NoCipher && (len(cfg.Key) != 32 || cfg.Rand == nil) {
		return nil, fmt.Errorf("%w: a cipher needs a 32-byte key and Rand", ErrConfig)
	}
	s := &Store{config: cfg, consumers: make(map[string]*ConsumerStore)}
	s.mu.store = s
	s.journal = &journal{s: s}
	s.stream = core.New(streamConfig, s.journal)
	if err := s.createDirs(); err != nil {
		return nil, err
	}
	if err := s.writeMeta(streamConfig); err != nil {
		return nil, err
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if err := s.stream.EnforceLimits(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.collectBlocks()
	s.armTimer()
	return s, nil
}

func (s *Store) msgsDir() string { return path.Join(s.config.Dir, msgsDirName) }

// createDirs makes the directories and their entries durable, up to the store root.
func (s *Store) createDirs() error {
	fsys := s.config.FS
	for _, dir := range []string{s.msgsDir(), path.Join(s.config.Dir, obsDirName)} {
		if err := fsys.MkdirAll(dir, 0o750); err != nil {
			return err
		}
	}
	for dir := s.msgsDir(); ; dir = path.Dir(dir) {
		if err := fsys.SyncDir(dir); err != nil {
			return err
		}
		if dir == "." || dir == "/" || dir == path.Dir(dir) {
			break
		}
	}
	return nil
}

// writeMeta writes the configuration atomically (temporary file, sync, rename, sync
// directory), sealed when the store is encrypted. The meta file is informational:
// recovery needs only the blocks. A damaged one is reported and rewritten; one that
// the configured key does not open fails with store.ErrBadKey.
func (s *Store) writeMeta(cfg store.StreamConfig) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	plain := appendRecord(nil, append([]byte{'M'}, data...))
	name := path.Join(s.config.Dir, metaFileName)
	if old, err := readFile(s.config.FS, name); err == nil {
		oldPlain, err := s.openAuxFile(name, old)
		if errors.Is(err, store.ErrBadKey) {
			return err
		}
		if err == nil && string(oldPlain) == string(plain) {
			return nil
		}
		if _, _, _, perr := parseRecord(oldPlain); err != nil || perr != nil {
			s.corruption = append(s.corruption, &store.CorruptError{File: name, Reason: "meta file checksum mismatch; rewritten from the configuration"})
		}
	}
	sealed, err := s.sealAuxFile(name, plain)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.config.FS, name, sealed)
}

// readFile reads a whole file.
func readFile(fsys env.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && size > 0 {
		return nil, err
	}
	return buf, nil
}

// writeFileAtomic replaces name with data durably.
func writeFileAtomic(fsys env.FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return err
	}
	return fsys.SyncDir(path.Dir(name))
}

// Corruption returns the corruption found so far, oldest first.
func (s *Store) Corruption() []*store.CorruptError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*store.CorruptError(nil), s.corruption...)
}

// lostError returns the corruption error covering seq, or nil.
func (s *Store) lostError(first, last uint64) error {
	for _, r := range s.lost {
		upper := r.Last
		if upper == 0 {
			upper = ^uint64(0)
		}
		if r.First <= last && first <= upper {
			for _, c := range s.corruption {
				if c.Range == r {
					return c
				}
			}
			return &store.CorruptError{Range: r, Reason: "lost to corruption"}
		}
	}
	return nil
}

// writable reports why the store cannot take writes, if it cannot. A failed store
// whose recovery waited for syncs in flight runs it first, and may take writes again.
func (s *Store) writable() error {
	if s.closed {
		return store.ErrStoreClosed
	}
	if s.rollbackReady() {
		s.rollbackLocked()
	}
	if s.failed != nil {
		return fmt.Errorf("%w: %w", store.ErrStoreFailed, s.failed)
	}
	return nil
}

// openLoss returns the open-ended lost range's error, if there is one: the store then
// takes no new sequences, which might be ones it lost.
func (s *Store) openLoss() error {
	for _, r := range s.lost {
		if r.Last == 0 {
			return s.lostError(r.First, r.First)
		}
	}
	return nil
}

// appendable reports why the store cannot journal anything but a Truncate, if it
// cannot: after an open-ended loss the newest block's damaged tail is where the next
// record goes, so only the repair may write there.
func (s *Store) appendable() error {
	if err := s.writable(); err != nil {
		return err
	}
	return s.openLoss()
}

// pruneLost forgets lost ranges that an explicit removal made moot: closed ranges
// wholly below keepFrom (Purge, Compact), and every range above keepThrough
// (Truncate, the repair for an open-ended loss).
func (s *Store) pruneLost(keepFrom, keepThrough uint64) {
	kept := s.lost[:0]
	for _, r := range s.lost {
		if r.Last != 0 && r.Last < keepFrom || r.First > keepThrough {
			continue
		}
		kept = append(kept, r)
	}
	s.lost = kept
}

// healWriteBlock settles an open-ended loss in the write block once a Truncate gave
// up its sequences: the damaged bytes after the last record are zeroed and the file
// gets its full length back, so the next recovery does not find the damage again.
func (s *Store) healWriteBlock() error {
	b := s.writeBlock()
	if err := s.flushBlock(b); err != nil {
		return err
	}
	size, err := b.file.Size()
	if err != nil {
		return err
	}
	if size > b.written {
		if _, err := b.file.WriteAt(make([]byte, size-b.written), b.written); err != nil {
			s.fail(err)
			return err
		}
	}
	if size < s.config.BlockBytesMax {
		if err := b.file.Truncate(s.config.BlockBytesMax); err != nil {
			s.fail(err)
			return err
		}
	}
	if err := b.file.Sync(); err != nil {
		s.fail(err)
		return err
	}
	b.markSynced(b.written)
	return nil
}

// fail records the first write or sync failure, and asks for a recovery.
func (s *Store) fail(err error) {
	if s.failed == nil {
		s.failed = err
		s.rollbackPending = true
	}
}

// StoreMsg implements store.StreamStore. A call that finds the lock taken has its
// message stored by the lock's holder (see storeMutex).
func (s *Store) StoreMsg(subject string, hdr, msg []byte, ts, ttl int64) (uint64, int64, error) {
	if !s.mu.TryLock() {
		return s.storeMsgCombined(subject, hdr, msg, ts, ttl)
	}
	defer s.mu.Unlock()
	return s.storeMsgLocked(subject, hdr, msg, ts, ttl)
}

// storeMsgLocked is StoreMsg under the lock.
func (s *Store) storeMsgLocked(subject string, hdr, msg []byte, ts, ttl int64) (uint64, int64, error) {
	if err := s.appendable(); err != nil {
		return 0, 0, err
	}
	seq := s.stream.Last() + 1
	if err := s.stream.StoreMsg(subject, hdr, msg, seq, ts, ttl, false); err != nil {
		return 0, 0, err
	}
	s.collectBlocks()
	return seq, ts, nil
}

// StoreRawMsg implements store.StreamStore.
func (s *Store) StoreRawMsg(subject string, hdr, msg []byte, seq uint64, ts, ttl int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.appendable(); err != nil {
		return err
	}
	err := s.stream.StoreMsg(subject, hdr, msg, seq, ts, ttl, false)
	s.collectBlocks()
	return err
}

// SkipMsg implements store.StreamStore.
func (s *Store) SkipMsg(seq uint64) (uint64, error) {
	return seq, s.SkipMsgs(seq, 1)
}

// SkipMsgs implements store.StreamStore.
func (s *Store) SkipMsgs(seq, num uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.appendable(); err != nil {
		return err
	}
	return s.stream.Skip(seq, num, false)
}

// LoadMsg implements store.StreamStore.
func (s *Store) LoadMsg(seq uint64, sm *store.StoreMsg) (*store.StoreMsg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrStoreClosed
	}
	if err := s.lostError(seq, seq); err != nil {
		return nil, err
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

// LoadNextMsgMulti implements store.StreamStore. A lost range between start and the
// next match fails the load: the caller must learn of the gap rather than skip it.
func (s *Store) LoadNextMsgMulti(filters []string, start uint64, sm *store.StoreMsg) (*store.StoreMsg, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, store.ErrStoreClosed
	}
	e := s.stream.NextMatch(filters, start)
	upper := s.stream.Last()
	if e != nil {
		upper = e.Seq
	}
	if start < s.stream.First() {
		start = s.stream.First()
	}
	if err := s.lostError(start, upper); err != nil && len(s.lost) > 0 {
		return nil, 0, err
	}
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
	if err := s.appendable(); err != nil {
		return false, err
	}
	ok, err := s.stream.Remove(seq, erase, false)
	s.collectBlocks()
	return ok, err
}

// Purge implements store.StreamStore.
func (s *Store) Purge() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.appendable(); err != nil {
		return 0, err
	}
	n, err := s.stream.Purge(false)
	if err == nil {
		s.pruneLost(s.stream.Last()+1, ^uint64(0))
	}
	s.collectBlocks()
	return n, err
}

// PurgeEx implements store.StreamStore.
func (s *Store) PurgeEx(subject string, seq, keep uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.appendable(); err != nil {
		return 0, err
	}
	n, err := core.PurgeEx(s.stream, subject, seq, keep)
	s.collectBlocks()
	return n, err
}

// Compact implements store.StreamStore.
func (s *Store) Compact(seq uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.appendable(); err != nil {
		return 0, err
	}
	n, err := s.stream.Compact(seq, false)
	if err == nil {
		s.pruneLost(seq, ^uint64(0))
	}
	s.collectBlocks()
	return n, err
}

// Truncate implements store.StreamStore.
func (s *Store) Truncate(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	hadOpenLoss := s.openLoss() != nil
	if seq < s.stream.Last() {
		if err := s.dropTTLFile(); err != nil {
			s.fail(err)
			return err
		}
	}
	err := s.stream.Truncate(seq, false)
	if err == nil {
		s.pruneLost(0, seq)
		if hadOpenLoss && s.openLoss() == nil {
			err = s.healWriteBlock()
		}
	}
	s.collectBlocks()
	return err
}

// ExpireMsgs implements store.StreamStore.
func (s *Store) ExpireMsgs(now int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.appendable(); err != nil {
		return 0, err
	}
	n, err := s.stream.ExpireMsgs(now)
	s.collectBlocks()
	return n, err
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
	state.Lost = append([]store.SequenceRange(nil), s.lost...)
	if len(state.Lost) == 0 {
		state.Lost = nil
	}
	return state
}

// FastState implements store.StreamStore.
func (s *Store) FastState(state *store.StreamState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.FastState(state)
	state.Consumers = len(s.consumers)
	state.Lost = nil
	if len(s.lost) > 0 {
		state.Lost = append([]store.SequenceRange(nil), s.lost...)
	}
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
	if err := s.appendable(); err != nil {
		return err
	}
	c := *cfg
	c.Storage = store.FileStorage
	if err := s.writeMeta(c); err != nil {
		s.fail(err)
		return err
	}
	err := s.stream.UpdateConfig(c)
	s.collectBlocks()
	return err
}

// RegisterStorageUpdates implements store.StreamStore.
func (s *Store) RegisterStorageUpdates(cb store.StorageUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.SetStorageUpdate(cb)
}

// Type implements store.StreamStore.
func (s *Store) Type() store.StorageType { return store.FileStorage }

// Stop implements store.StreamStore: it writes and syncs everything, then closes.
func (s *Store) Stop() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrStoreClosed
	}
	s.finishSealJobsLocked()
	err := s.syncAllLocked()
	if err == nil && s.syncsInFlight == 0 {
		err = s.writeBlockIndex()
		if err == nil {
			s.writeTTLFile()
		}
	}
	// The write block's index file is checked against the block at the next open, so
	// it is written even while a group commit or sync ahead still runs (the block
	// index, which names durable lengths, waits for none to run): without it a Stop
	// that met a sync ahead left the block to be replayed.
	if w := s.writeBlock(); err == nil && w != nil && w.indexWritten != w.size && w.buf != nil {
		s.writeBlockIndexFile(w, w.buf[:w.size], w.preallocated)
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.flushTimer != nil {
		s.flushTimer.Stop()
	}
	// The callbacks waiting for a recovery that is not durable are never called:
	// their writes may or may not survive a power loss, so neither an error nor
	// success would be true.
	waiters := s.flushWaiters
	for _, w := range s.waiters {
		waiters = append(waiters, w.done)
	}
	s.waiters, s.flushWaiters, s.failedWaiters, s.rollbackWaiters = nil, nil, nil, nil
	released := s.takeReleasedLocked()
	if s.syncsInFlight == 0 && s.unlockedWrite.block == nil {
		s.closeFiles()
	}
	consumers := make([]*ConsumerStore, 0, len(s.consumers))
	for _, name := range sortedNames(s.consumers) {
		consumers = append(consumers, s.consumers[name])
	}
	s.mu.Unlock()
	for _, w := range waiters {
		w(err)
	}
	for _, r := range released {
		r.done(r.err)
	}
	for _, c := range consumers {
		_ = c.Stop()
	}
	return err
}

// Delete implements store.StreamStore: it stops the store and removes its directory.
func (s *Store) Delete() error {
	_ = s.Stop()
	fsys := s.config.FS
	if err := fsys.RemoveAll(s.config.Dir); err != nil {
		return err
	}
	return fsys.SyncDir(path.Dir(s.config.Dir))
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// isNotExist reports a missing file.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
