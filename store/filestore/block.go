package filestore

import (
	"encoding/binary"
	"fmt"
	"path"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/internal/core"
)

// block is one message block file.
type block struct {
	id   uint32
	name string
	file env.File
	// size is the block's logical length, buffered bytes included.
	size int64
	// written is the length handed to the OS; synced the length known durable.
	written int64
	synced  int64
	// committed is the length a successful fsync covered: synced may drop below it
	// when an erase rewrites bytes in place, committed never does. A failed fsync's
	// recovery rewrites the bytes after it (see rollback.go).
	committed int64
	// buf holds the whole block: always for the write block, for others while cached.
	buf []byte
	// live counts the block's messages still in the index.
	live int
	// records counts the records after the header.
	records int
	// keep says the block holds corrupt records and must never be removed.
	keep bool
	// cipher is the block's AEAD when encryption is on.
	cipher *blockCipher
	// preallocated is the length the block was created with (its header says).
	preallocated int64
	// zeroFill says the block was created by this process, so nothing on its disk
	// after size is anything but the zeros of the preallocation, and zeroed is the
	// length up to which the file's bytes were written (data or zeros, see
	// zeroAheadLocked). A recovered block is never zero-filled: what follows its data
	// may be damage kept as evidence.
	zeroFill bool
	zeroed   int64
	// index accumulates the block's index file while the block is written (nil when
	// it cannot be built: an erased record rewrote bytes, or the block is sealed);
	// indexWritten is the block length the index file on disk describes.
	index        *indexBuilder
	indexWritten int64
}

func blockFileName(id uint32) string { return fmt.Sprintf("%010d.blk", id) }

// location packs a block id and an offset into core.Entry.Location.
func location(id uint32, offset int64) uint64 { return uint64(id)<<32 | uint64(offset) }

func splitLocation(loc uint64) (uint32, int64) { return uint32(loc >> 32), int64(loc & 0xffffffff) }

func (s *Store) writeBlock() *block {
	if len(s.blocks) == 0 {
		return nil
	}
	return s.blocks[len(s.blocks)-1]
}

func (s *Store) blockByID(id uint32) *block {
	i := sortSearchBlocks(s.blocks, id)
	if i < len(s.blocks) && s.blocks[i].id == id {
		return s.blocks[i]
	}
	return nil
}

func sortSearchBlocks(blocks []*block, id uint32) int {
	lo, hi := 0, len(blocks)
	for lo < hi {
		mid := (lo + hi) / 2
		if blocks[mid].id < id {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// newBlock creates the next block file and writes its header record. The caller has
// made the previous write block durable, so a later block never exists on disk while
// an earlier one still lacks acknowledged bytes.
func (s *Store) newBlock() (*block, error) {
	return s.newBlockSized(4096)
}

// newBlockSized is newBlock with the initial capacity of the block's buffer: a stream
// that filled a block gets a full-size buffer at once instead of growing it by copies.
func (s *Store) newBlockSized(capacity int64) (*block, error) {
	s.nextBlockID++
	b := &block{id: s.nextBlockID, name: path.Join(s.msgsDir(), blockFileName(s.nextBlockID))}
	f, err := s.config.FS.Create(b.name)
	if err != nil {
		return nil, err
	}
	b.file = f
	// The block is created at its full length: a block found shorter than its header
	// says was cut at rest, which a torn write (an unsynced tail) can never look like.
	if err := f.Truncate(s.config.BlockBytesMax); err != nil {
		return nil, s.abandonNewBlock(b, err)
	}
	if s.config.Cipher != NoCipher {
		if b.cipher, err = newBlockCipher(s.config.Cipher, s.config.Key, s.config.Dir, b.id); err != nil {
			return nil, s.abandonNewBlock(b, err)
		}
	}
	body := []byte{kindBlockHeader}
	body = binary.AppendUvarint(body, uint64(b.id))
	body = binary.AppendUvarint(body, s.stream.First())
	body = binary.AppendUvarint(body, s.stream.Last())
	body = binary.AppendVarint(body, s.stream.LastTS())
	body = binary.AppendUvarint(body, uint64(s.config.BlockBytesMax))
	if b.cipher != nil {
		body = b.cipher.appendKeyCheck(body, s.randRead)
	}
	capacity = min(capacity, s.config.BlockBytesMax)
	buf := s.spareBlockBuffer
	s.spareBlockBuffer = nil
	if int64(cap(buf)) < capacity {
		buf = make([]byte, 0, capacity)
	}
	b.buf = appendRecord(buf[:0], body)
	b.size = int64(len(b.buf))
	b.preallocated = s.config.BlockBytesMax
	b.zeroFill = true
	b.index = newIndexBuilder()
	b.index.records = make([]byte, 0, s.indexBytesHint)
	b.index.addRaw(0, body)
	s.blocks = append(s.blocks, b)
	s.dirDirty = true
	return b, nil
}

// abandonNewBlock removes a block file whose creation failed (no room to preallocate
// it, say), so that the next attempt creates the same block instead of leaving an
// empty one behind, which a later recovery would take for a damaged block.
func (s *Store) abandonNewBlock(b *block, err error) error {
	b.file.Close()
	if removeErr := s.config.FS.Remove(b.name); removeErr == nil || isNotExist(removeErr) {
		s.nextBlockID--
	}
	return err
}

// appendRecord journals one record body in the write block and returns its location.
func (s *Store) appendRecord(body []byte) (uint64, error) {
	b := s.writeBlock()
	need := int64(recordHeaderBytes + len(body))
	if b == nil || b.size+need > s.config.BlockBytesMax && b.records > 0 {
		if err := s.rollover(); err != nil {
			s.fail(err)
			return 0, err
		}
		b = s.writeBlock()
	}
	offset := b.size
	if b.index != nil && body[0] != kindMsg {
		b.index.addRaw(offset, body)
	}
	b.buf = appendRecord(b.buf, body)
	return s.recordAppended(b, offset)
}

// recordAppended accounts for the record just appended to the write block's buffer
// at offset, and hands the buffer to the OS when it is full.
func (s *Store) recordAppended(b *block, offset int64) (uint64, error) {
	b.records++
	b.size = int64(len(b.buf))
	if b.size-b.written >= writeBufferBytesMax {
		if err := s.flushBlock(b); err != nil {
			// The caller fails and keeps its state, so the record must go too: the
			// recovery would otherwise write its effect again.
			b.buf = b.buf[:offset]
			b.size = offset
			b.records--
			b.index = nil
			return 0, err
		}
	}
	return location(b.id, offset), nil
}

// rollover makes the write block durable and starts a new one.
func (s *Store) rollover() error {
	capacity := int64(4096)
	if old := s.writeBlock(); old != nil {
		capacity = old.size + old.size/8
		if err := s.flushBlock(old); err != nil {
			return err
		}
		if err := old.file.Sync(); err != nil {
			return err
		}
		if s.roundsRunning == 0 {
			// While a group commit runs, its fsync may have failed and forgotten pages
			// of this file before this one: the rounds commit the block, or the
			// recovery rewrites it (see finishRoundLocked).
			old.markSynced(old.written)
		}
		if old.index != nil {
			// The next block's index will likely be as large.
			s.indexBytesHint = len(old.index.records) + len(old.index.records)/8
		}
		queued := s.config.Tasks != nil
		if queued {
			s.queueSealLocked(old)
		} else {
			s.writeBlockIndexFile(old, old.buf[:old.size], old.preallocated)
		}
		old.index = nil
		s.writeTTLFile()
		// The new block takes the full block's buffer over instead of the read cache
		// keeping it: a full buffer less in memory for every stream, and a reader of
		// the old block reads it back from the file once.
		handOver := s.unlockedWrite.block == nil && int64(cap(old.buf)) >= s.config.BlockBytesMax
		if !handOver {
			s.cacheBlock(old)
		}
		if !queued {
			if err := s.writeBlockIndex(); err != nil {
				return err
			}
		}
		if handOver {
			s.spareBlockBuffer = old.buf[:0]
			if _, err := s.newBlockSized(capacity); err != nil {
				// The old block stays the write block, with its buffer.
				s.spareBlockBuffer = nil
				return err
			}
			old.buf = nil
			return nil
		}
	}
	_, err := s.newBlockSized(capacity)
	return err
}

// flushBlock hands a block's buffered bytes to the OS.
func (s *Store) flushBlock(b *block) error {
	if b.written >= b.size || b.buf == nil {
		return nil
	}
	if _, err := b.file.WriteAt(b.buf[b.written:b.size], b.written); err != nil {
		s.fail(err)
		return err
	}
	if b.index != nil {
		b.index.checkWritten(b.written, b.buf[b.written:b.size])
	}
	b.written = b.size
	return nil
}

// zeroFillBytes is the length of zeros written ahead of the write block's data at a
// time, and zeroFillAheadBytesMin the distance below which the next ones are written.
// The block is preallocated by extending the file, which leaves it sparse: every
// group commit's fsync then allocates the blocks its bytes went to, and on ext4 that
// commits the file system's journal, about 250us an fsync on this machine against
// 150us for an fsync of bytes written over allocated ones. Writing zeros ahead moves
// the allocation to one fsync per zeroFillBytes.
const (
	zeroFillBytes         = 1 << 20
	zeroFillAheadBytesMin = 256 << 10
)

// zeroFillChunk is the zeros zeroAheadLocked writes from; it is never written to.
var zeroFillChunk = make([]byte, zeroFillBytes)

// zeroAheadLocked writes zeros after the write block's buffered bytes, within its
// preallocated length, when fewer than zeroFillAheadBytesMin are written ahead of its
// data. The zeros are what the file holds there already (the preallocation reads as
// zeros), so they need no fsync of their own and change nothing a recovery sees; a
// failed write fails the store like any other. Interval mode skips them: no caller
// waits for its fsyncs, and the zeros doubled the page cache work of its writes.
func (s *Store) zeroAheadLocked(b *block) error {
	if b == nil || !b.zeroFill || b.zeroed-b.size >= zeroFillAheadBytesMin || s.config.SyncInterval > 0 {
		return nil
	}
	start := max(b.zeroed, b.size)
	end := min(start+zeroFillBytes, b.preallocated)
	if end <= start {
		return nil
	}
	if _, err := b.file.WriteAt(zeroFillChunk[:end-start], start); err != nil {
		s.fail(err)
		return err
	}
	b.zeroed = end
	return nil
}

// cacheBlock keeps a non-write block's contents in the bounded read cache.
func (s *Store) cacheBlock(b *block) {
	for i, c := range s.cache {
		if c == b {
			s.cache = append(s.cache[:i], s.cache[i+1:]...)
			break
		}
	}
	s.cache = append(s.cache, b)
	for len(s.cache) > cacheBlocksMax {
		evicted := s.cache[0]
		s.cache = s.cache[1:]
		if evicted == s.writeBlock() || evicted == s.unlockedWrite.block {
			// The write block, or the one a flush is writing (it may write its
			// buffer again), keeps its buffer.
			continue
		}
		if s.unlockedWrite.block == nil && int64(cap(evicted.buf)) >= s.config.BlockBytesMax {
			// Nothing else holds a block's buffer, so the next block can take it
			// instead of allocating its own.
			s.spareBlockBuffer = evicted.buf[:0]
		}
		evicted.buf = nil
	}
}

// blockBytes returns the block's contents, reading and caching them when needed.
func (s *Store) blockBytes(b *block) ([]byte, error) {
	if b.buf != nil {
		return b.buf[:b.size], nil
	}
	buf := make([]byte, b.size)
	if _, err := b.file.ReadAt(buf, 0); err != nil {
		return nil, err
	}
	b.buf = buf
	s.cacheBlock(b)
	return buf, nil
}

// msgOverheadBytesMax bounds a message record's bytes beyond its plain payload:
// framing, varints, nonce and tag.
const msgOverheadBytesMax = 128

// journal is the file store's core.Backend.
type journal struct {
	s *Store
	// replaying is set while the blocks are replayed at open: hooks then record where
	// entries live instead of writing.
	replaying   bool
	replayBlock *block
	replayAt    int64
}

func (j *journal) Append(e *core.Entry, ttl int64, hdr, msg []byte) error {
	s := j.s
	if j.replaying {
		e.Location = location(j.replayBlock.id, j.replayAt)
		j.replayBlock.live++
		return nil
	}
	if len(e.Subject)+len(hdr)+len(msg)+msgOverheadBytesMax > recordBodyBytesMax {
		// Recovery refuses records this large as corrupt, so they are never written.
		return store.ErrMsgTooLarge
	}
	b := s.writeBlock()
	plainBytes := payloadBytes(e.Subject, hdr, msg)
	// The block must be chosen before the payload is encoded (its key encrypts it), so
	// roll over here with a bound above any encoding overhead.
	if b == nil || b.size+int64(plainBytes)+msgOverheadBytesMax > s.config.BlockBytesMax && b.records > 0 {
		if err := s.rollover(); err != nil {
			s.fail(err)
			return err
		}
		b = s.writeBlock()
	}
	var loc uint64
	written := b
	if s.config.Compression == NoCompression && b.cipher == nil {
		// The record is built in the block's buffer at once, instead of copying the
		// payload into a plain payload, then a body, then the buffer.
		offset := b.size
		b.buf = appendPlainMsgRecord(b.buf, e.Seq, e.TS, ttl, e.Subject, hdr, msg)
		var err error
		if loc, err = s.recordAppended(b, offset); err != nil {
			return err
		}
	} else {
		plain := appendPayload(s.scratch[:0], e.Subject, hdr, msg)
		s.scratch = plain
		flags, payload, err := s.encodePayload(b, e.Seq, plain)
		if err != nil {
			return err
		}
		s.body = appendMsgBody(s.body[:0], flags, e.Seq, e.TS, ttl, payload)
		if loc, err = s.appendRecord(s.body); err != nil {
			return err
		}
		// The record may have gone to a new block.
		id, _ := splitLocation(loc)
		written = s.blockByID(id)
	}
	e.Location = loc
	_, offset := splitLocation(loc)
	written.live++
	if written.index != nil {
		written.index.addMsg(offset, e.Subject, e.Seq, e.TS, ttl, uint64(e.Size))
	}
	return nil
}

func (j *journal) Load(e *core.Entry, sm *store.StoreMsg) error {
	return j.s.loadEntry(e, sm)
}

func (j *journal) Remove(e *core.Entry, erase bool) error {
	if j.replaying {
		return nil
	}
	s := j.s
	if erase {
		if err := s.eraseRecord(e); err != nil {
			return err
		}
	}
	body := binary.AppendUvarint([]byte{kindRemove}, e.Seq)
	_, err := s.appendRecord(body)
	return err
}

// RemoveSeqs implements core.BulkRemover: a filtered purge is one record of delta
// encoded sequences (about two bytes a message) instead of a record per message.
func (j *journal) RemoveSeqs(seqs []uint64) error {
	if j.replaying || len(seqs) == 0 {
		return nil
	}
	body := binary.AppendUvarint([]byte{kindRemoveSeqs}, uint64(len(seqs)))
	body = binary.AppendUvarint(body, seqs[0])
	for i := 1; i < len(seqs); i++ {
		body = binary.AppendUvarint(body, seqs[i]-seqs[i-1])
	}
	_, err := j.s.appendRecord(body)
	return err
}

var _ core.BulkRemover = (*journal)(nil)

func (j *journal) Skip(seq, num uint64) error {
	if j.replaying {
		return nil
	}
	body := binary.AppendUvarint([]byte{kindSkip}, seq)
	body = binary.AppendUvarint(body, num)
	_, err := j.s.appendRecord(body)
	return err
}

func (j *journal) Purge(first, last uint64, truncate bool) error {
	if j.replaying {
		return nil
	}
	var body []byte
	if truncate {
		// The record carries the last timestamp the truncation leaves, which a replay
		// cannot recompute when the message it came from was erased later.
		var lastTS int64
		if e := j.s.stream.PrevEntry(last); e != nil {
			lastTS = e.TS
		}
		body = binary.AppendUvarint([]byte{kindTruncate}, last)
		body = binary.AppendVarint(body, lastTS)
	} else {
		body = binary.AppendUvarint([]byte{kindPurge}, first)
		body = binary.AppendUvarint(body, last)
	}
	_, err := j.s.appendRecord(body)
	return err
}

func (j *journal) Released(e *core.Entry) {
	id, _ := splitLocation(e.Location)
	if b := j.s.blockByID(id); b != nil {
		b.live--
	}
}

// loadEntry reads, verifies and decodes the record of e. A checksum failure is
// retried once from the disk (a bad read is not bad data) before it is reported.
func (s *Store) loadEntry(e *core.Entry, sm *store.StoreMsg) error {
	id, offset := splitLocation(e.Location)
	b := s.blockByID(id)
	if b == nil {
		return fmt.Errorf("filestore: block %d of sequence %d is missing", id, e.Seq)
	}
	for attempt := 0; ; attempt++ {
		buf, err := s.blockBytes(b)
		if err != nil {
			return err
		}
		subject, hdr, msg, rec, err := s.decodeAt(b, buf, offset)
		if err == nil && rec.seq == e.Seq && string(subject) == e.Subject {
			sm.Copy(e.Subject, hdr, msg, e.Seq, rec.ts, rec.ttl)
			return nil
		}
		if attempt == 0 && b != s.writeBlock() && b != s.unlockedWrite.block {
			b.buf = nil
			continue
		}
		c := &store.CorruptError{Range: store.SequenceRange{First: e.Seq, Last: e.Seq}, File: b.name, Offset: offset, Reason: "record checksum or content mismatch on read"}
		s.reportCorruption(c)
		return c
	}
}

// decodeAt decodes the message record at offset of a block's contents.
func (s *Store) decodeAt(b *block, buf []byte, offset int64) (subject, hdr, msg []byte, rec msgRecord, err error) {
	if offset >= int64(len(buf)) {
		return nil, nil, nil, rec, errBadRecord
	}
	body, _, _, err := parseRecord(buf[offset:])
	if err != nil {
		return nil, nil, nil, rec, err
	}
	if rec, err = decodeMsgBody(body); err != nil {
		return nil, nil, nil, rec, err
	}
	plain, err := s.decodePayloadBytes(b, rec)
	if err != nil {
		return nil, nil, nil, rec, err
	}
	subject, hdr, msg, err = decodePayload(plain)
	return subject, hdr, msg, rec, err
}

// reportCorruption records corruption found after open.
func (s *Store) reportCorruption(c *store.CorruptError) {
	for _, r := range s.lost {
		if r == c.Range {
			return
		}
	}
	s.lost = append(s.lost, c.Range)
	s.corruption = append(s.corruption, c)
	if id, _ := splitLocationOf(s, c.Range.First); id != nil {
		id.keep = true
	}
}

func splitLocationOf(s *Store, seq uint64) (*block, int64) {
	e := s.stream.Entry(seq)
	if e == nil {
		return nil, 0
	}
	id, off := splitLocation(e.Location)
	return s.blockByID(id), off
}

// eraseRecord overwrites a message record in place with an erased record of the same
// length, so the bytes are gone from the disk, not just unreferenced.
func (s *Store) eraseRecord(e *core.Entry) error {
	id, offset := splitLocation(e.Location)
	b := s.blockByID(id)
	if b == nil {
		return nil
	}
	buf, err := s.blockBytes(b)
	if err != nil {
		return err
	}
	if offset+recordHeaderBytes > int64(len(buf)) {
		return nil
	}
	bodyLen := int(binary.LittleEndian.Uint32(buf[offset:]))
	if offset+int64(recordHeaderBytes+bodyLen) > int64(len(buf)) {
		return nil
	}
	// The block's bytes change under its index: the index being built is dropped, and
	// a sealed block's index file no longer matches its checksum (a rebuild at open).
	b.index = nil
	if u := &s.unlockedWrite; u.block == b && offset < u.end && offset+int64(recordHeaderBytes+bodyLen) > u.start {
		// A flush is writing this range from the buffer with the lock released: the
		// erase goes into a copy, and the flush writes the range again when its write
		// is done (the bytes it writes may land after any other write of them).
		buf = append(make([]byte, 0, cap(b.buf)), buf...)
		b.buf = buf
		u.rewriteFrom = min(u.rewriteFrom, offset)
	}
	body := make([]byte, bodyLen)
	erased := binary.AppendUvarint([]byte{kindErased}, e.Seq)
	erased = binary.AppendVarint(erased, e.TS)
	n := copy(body, erased)
	clear(body[n:])
	record := appendRecord(nil, body)
	copy(buf[offset:], record)
	if offset < b.written {
		end := min(offset+int64(len(record)), b.written)
		if _, err := b.file.WriteAt(record[:end-offset], offset); err != nil {
			s.fail(err)
			return err
		}
		if b.synced > offset {
			b.synced = offset
		}
	}
	return nil
}

// collectBlocks removes the oldest blocks once none of their messages remain. Only the
// oldest go: a newer empty block may hold tombstones for messages in an older one.
func (s *Store) collectBlocks() {
	if s.syncsInFlight > 0 || s.unlockedWrite.block != nil {
		// A group commit may be syncing a block's file, or a flush writing one.
		return
	}
	for len(s.blocks) > 1 {
		b := s.blocks[0]
		if b.live > 0 || b.keep {
			return
		}
		if err := s.config.FS.Remove(b.name); err != nil && !isNotExist(err) {
			return
		}
		// The index is useless without its block; a leftover is removed at open.
		_ = s.config.FS.Remove(s.blockIndexFilePath(b.id))
		b.file.Close()
		b.buf = nil
		for i, c := range s.cache {
			if c == b {
				s.cache = append(s.cache[:i], s.cache[i+1:]...)
				break
			}
		}
		s.blocks = s.blocks[1:]
		s.dirDirty = true
	}
}

func (s *Store) closeFiles() {
	for _, b := range s.blocks {
		if b.file != nil {
			b.file.Close()
		}
	}
}
