package filestore

import (
	"encoding/binary"
	"errors"
	"path"
	"strings"

	"github.com/natsim/natsim/env"
)

// Per-block index files (msgs/NNNNNNNNNN.idx). A block's index lists its records as a
// replay needs them, without payloads: for a message its offset, sequence, timestamp,
// TTL, accounted size and subject; any other record (header, removal, skip, purge,
// truncate, erased) verbatim. Replaying the index has exactly the effect of replaying
// the block, without reading every record's checksum, decrypting or decompressing.
//
// The index is a pure function of the block's first Length bytes, and it names them:
// Length, their CRC-32C, and the length the block was preallocated with. Open uses an
// index only when the block's bytes still match (checksum, zeros after Length, the
// full preallocated length), so a missing, stale or damaged index is never trusted:
// the block is replayed and its index rebuilt. The file is written when a block is
// sealed and at Stop, without fsync: losing it costs a rebuild, never data.
//
// Layout (framed like a block record, so checksummed; sealed when encrypted):
//
//	'X' | uvarint block id | uvarint Length | u32 CRC-32C of the block's bytes |
//	uvarint preallocated length | uvarint record count | records
//
// A record is a tag byte then:
//
//	indexRaw         uvarint offset delta, uvarint body length, body
//	indexMsgNew      uvarint offset delta, uvarint subject length, subject, message
//	indexMsgKnown    uvarint offset delta, uvarint subject number, message
//	indexMsgSame     uvarint offset delta, message (the previous message's subject)
//
// where a message is varint (sequence - previous sequence - 1), varint (timestamp -
// previous timestamp), varint TTL, uvarint size; subjects are numbered in order of
// first use, and offset deltas are from the previous record's offset.
const (
	blockIndexFileKind byte = 'X'
	indexRaw           byte = 1
	indexMsgNew        byte = 2
	indexMsgKnown      byte = 3
	indexMsgSame       byte = 4
	// indexSubjectsMax bounds the subject table a decoder accepts.
	indexSubjectsMax = 1 << 24
)

func perBlockIndexFileName(id uint32) string {
	return strings.TrimSuffix(blockFileName(id), ".blk") + ".idx"
}

// indexBuilder accumulates a block's index as its records are written or replayed.
type indexBuilder struct {
	records     []byte
	count       int
	lastOffset  int64
	lastSeq     uint64
	lastTS      int64
	subjects    map[string]uint32
	lastSubject string
	// lastSubjectSet says lastSubject is the subject of a message recorded already.
	lastSubjectSet bool
	// contentsCRC is the checksum of the block's first contentsChecked bytes, taken
	// as they are written (see checkWritten), so that the rollover checksums only
	// the rest: a whole 8 MiB block took about a millisecond under the store's lock,
	// with every writer waiting. The builder is dropped when the block's bytes change
	// in place (an erase), so the bytes checked never change under it.
	contentsCRC     uint32
	contentsChecked int64
}

func newIndexBuilder() *indexBuilder {
	return &indexBuilder{subjects: make(map[string]uint32)}
}

func (x *indexBuilder) offsetDelta(offset int64) uint64 {
	delta := uint64(offset - x.lastOffset)
	x.lastOffset = offset
	x.count++
	return delta
}

// addRaw records a non-message record verbatim.
func (x *indexBuilder) addRaw(offset int64, body []byte) {
	x.records = append(x.records, indexRaw)
	x.records = binary.AppendUvarint(x.records, x.offsetDelta(offset))
	x.records = binary.AppendUvarint(x.records, uint64(len(body)))
	x.records = append(x.records, body...)
}

// addMsg records a message.
func (x *indexBuilder) addMsg(offset int64, subject string, seq uint64, ts, ttl int64, size uint64) {
	delta := x.offsetDelta(offset)
	if x.lastSubjectSet && subject == x.lastSubject {
		// The subject of the previous message (known then) needs no map lookup.
		x.records = append(x.records, indexMsgSame)
		x.records = binary.AppendUvarint(x.records, delta)
		x.appendMsgFields(seq, ts, ttl, size)
		return
	}
	switch number, known := x.subjects[subject]; {
	case known:
		x.records = append(x.records, indexMsgKnown)
		x.records = binary.AppendUvarint(x.records, delta)
		x.records = binary.AppendUvarint(x.records, uint64(number))
	default:
		x.subjects[subject] = uint32(len(x.subjects))
		x.records = append(x.records, indexMsgNew)
		x.records = binary.AppendUvarint(x.records, delta)
		x.records = binary.AppendUvarint(x.records, uint64(len(subject)))
		x.records = append(x.records, subject...)
	}
	x.lastSubject, x.lastSubjectSet = subject, true
	x.appendMsgFields(seq, ts, ttl, size)
}

// appendMsgFields appends the fields of a message record after its subject.
func (x *indexBuilder) appendMsgFields(seq uint64, ts, ttl int64, size uint64) {
	x.records = binary.AppendVarint(x.records, int64(seq-x.lastSeq-1))
	x.records = binary.AppendVarint(x.records, ts-x.lastTS)
	x.records = binary.AppendVarint(x.records, ttl)
	x.records = binary.AppendUvarint(x.records, size)
	x.lastSeq, x.lastTS = seq, ts
}

// encode returns the index file's plain bytes for a block of contents.
func (x *indexBuilder) encode(id uint32, contents []byte, preallocated int64) []byte {
	return x.encodeChecked(id, int64(len(contents)), x.contentsChecksum(contents), preallocated)
}

// encodeChecked is encode for contents of the given length and checksum.
func (x *indexBuilder) encodeChecked(id uint32, length int64, checksum uint32, preallocated int64) []byte {
	body := make([]byte, 0, len(x.records)+64)
	body = append(body, blockIndexFileKind)
	body = binary.AppendUvarint(body, uint64(id))
	body = binary.AppendUvarint(body, uint64(length))
	body = binary.LittleEndian.AppendUint32(body, checksum)
	body = binary.AppendUvarint(body, uint64(preallocated))
	body = binary.AppendUvarint(body, uint64(x.count))
	body = append(body, x.records...)
	return appendRecord(nil, body)
}

// contentsChecksum returns the checksum of a block's contents, from the part
// checked already.
func (x *indexBuilder) contentsChecksum(contents []byte) uint32 {
	if x.contentsChecked > int64(len(contents)) {
		return crcUpdate(0, contents)
	}
	return crcUpdate(x.contentsCRC, contents[x.contentsChecked:])
}

// checkWritten extends the checksum of the contents over bytes written from start,
// when it reaches start.
func (x *indexBuilder) checkWritten(start int64, written []byte) {
	if x.contentsChecked == start {
		x.contentsCRC = crcUpdate(x.contentsCRC, written)
		x.contentsChecked += int64(len(written))
	}
}

// indexEntry is one decoded index record.
type indexEntry struct {
	offset  int64
	raw     []byte // nil for a message
	subject int    // index into blockIndex.subjects
	seq     uint64
	ts      int64
	ttl     int64
	size    uint64
}

// blockIndex is a decoded index file.
type blockIndex struct {
	id           uint32
	length       int64
	checksum     uint32
	preallocated int64
	subjects     [][]byte
	entries      []indexEntry
}

// decodeBlockIndexFile parses an index file's plain bytes, reusing into's slices.
// Every field is checked, so a decoded index can be replayed without further checks.
func decodeBlockIndexFile(data []byte, into *blockIndex) error {
	body, n, _, err := parseRecord(data)
	if err != nil || n != len(data) || body[0] != blockIndexFileKind {
		return errBadRecord
	}
	d := indexDecoder{buf: body[1:]}
	x := into
	x.subjects, x.entries = x.subjects[:0], x.entries[:0]
	id := d.uvarint()
	length := d.uvarint()
	x.checksum = d.uint32()
	preallocated := d.uvarint()
	count := d.uvarint()
	if d.bad || id == 0 || id > 1<<32-1 || length > 1<<32 || preallocated > 1<<32 || count > uint64(len(d.buf)) {
		return errBadRecord
	}
	x.id, x.length, x.preallocated = uint32(id), int64(length), int64(preallocated)
	var offset int64 = 0
	var seq uint64
	var ts int64
	last := -1
	for range count {
		tag := d.byte()
		delta := d.uvarint()
		if d.bad || delta > uint64(length) || offset+int64(delta) >= int64(length) || len(x.entries) > 0 && delta == 0 {
			return errBadRecord
		}
		offset += int64(delta)
		e := indexEntry{offset: offset}
		switch tag {
		case indexRaw:
			e.raw = d.bytes()
			if d.bad || len(e.raw) == 0 || e.raw[0] == kindMsg {
				return errBadRecord
			}
			x.entries = append(x.entries, e)
			continue
		case indexMsgNew:
			subject := d.bytes()
			if d.bad || len(x.subjects) >= indexSubjectsMax {
				return errBadRecord
			}
			x.subjects = append(x.subjects, subject)
			last = len(x.subjects) - 1
		case indexMsgKnown:
			number := d.uvarint()
			if d.bad || number >= uint64(len(x.subjects)) {
				return errBadRecord
			}
			last = int(number)
		case indexMsgSame:
			if last < 0 {
				return errBadRecord
			}
		default:
			return errBadRecord
		}
		e.subject = last
		seq += uint64(d.varint()) + 1
		ts += d.varint()
		e.seq, e.ts = seq, ts
		e.ttl = d.varint()
		e.size = d.uvarint()
		if d.bad || e.size > 1<<32-1 {
			return errBadRecord
		}
		x.entries = append(x.entries, e)
	}
	if len(d.buf) != 0 {
		return errBadRecord
	}
	return nil
}

// indexDecoder reads fields, remembering the first failure.
type indexDecoder struct {
	buf []byte
	bad bool
}

func (d *indexDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *indexDecoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *indexDecoder) byte() byte {
	if len(d.buf) == 0 {
		d.bad = true
		return 0
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c
}

func (d *indexDecoder) uint32() uint32 {
	if len(d.buf) < 4 {
		d.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint32(d.buf)
	d.buf = d.buf[4:]
	return v
}

func (d *indexDecoder) bytes() []byte {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.buf)) {
		d.bad = true
		return nil
	}
	p := d.buf[:n]
	d.buf = d.buf[n:]
	return p
}

func (s *Store) blockIndexFilePath(id uint32) string {
	return path.Join(s.msgsDir(), perBlockIndexFileName(id))
}

// writeBlockIndexFile writes the index of a block from its contents.
// The index is optional, so a failure to write it only costs a rebuild at the next
// open; it is counted, never returned.
func (s *Store) writeBlockIndexFile(b *block, contents []byte, preallocated int64) {
	if b.index == nil || b.keep {
		return
	}
	plain := b.index.encode(b.id, contents, preallocated)
	name := s.blockIndexFilePath(b.id)
	data, err := s.sealAuxFile(name, plain)
	if err == nil {
		err = writeFileUnsynced(s.config.FS, name, data)
	}
	if err != nil {
		s.recovery.IndexWriteErrors++
		return
	}
	b.indexWritten = int64(len(contents))
}

// writeFileUnsynced replaces name with data through a temporary file and a rename, so
// a reader sees the old or the new contents, but without fsync: for files that are
// checked before use and rebuilt when lost.
func writeFileUnsynced(fsys env.FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return fsys.Rename(tmp, name)
}

// readBlockIndexFile loads and checks the index of block b against the block's
// contents buf (the whole file). It returns nil, counting why, when the index is
// missing or does not describe buf.
func (r *recovery) readBlockIndexFile(b *block, buf []byte) *blockIndex {
	s := r.s
	name := s.blockIndexFilePath(b.id)
	data, err := readFile(s.config.FS, name)
	if err != nil {
		s.recovery.IndexesMissing++
		return nil
	}
	plain, err := s.openAuxFile(name, data)
	x := &r.index
	if err != nil || decodeBlockIndexFile(plain, x) != nil || x.id != b.id {
		s.recovery.IndexesDamaged++
		return nil
	}
	if x.length > int64(len(buf)) || int64(len(buf)) < x.preallocated ||
		crcUpdate(0, buf[:x.length]) != x.checksum || !allZero(buf[x.length:]) {
		s.recovery.IndexesStale++
		return nil
	}
	return x
}

// errIndexSubject reports an index naming an invalid subject (only a bug or a forged
// file can produce one): recovery then replays the block itself.
var errIndexSubject = errors.New("block index names an invalid subject")

// replayIndex replays a block from its checked index.
func (r *recovery) replayIndex(b *block, x *blockIndex, buf []byte, last bool) error {
	s := r.s
	s.journal.replayBlock = b
	r.preallocated = 0
	r.subjects = r.subjects[:0]
	for _, subject := range x.subjects {
		interned, valid := s.stream.InternChecked(subject)
		if !valid {
			// The block's replay would reject the message the same way; an index
			// that names an invalid subject is not trusted to say how.
			return errIndexSubject
		}
		r.subjects = append(r.subjects, interned)
	}
	for i := range x.entries {
		e := &x.entries[i]
		if e.raw != nil {
			if err := r.apply(b, e.raw, e.offset); err != nil {
				return err
			}
			if b.index != nil {
				b.index.addRaw(e.offset, e.raw)
			}
		} else {
			if err := r.applyMsgEntry(b, r.subjects[e.subject], e.seq, e.ts, e.ttl, e.size, e.offset); err != nil {
				return err
			}
			r.msgsReplayed++
		}
		b.records++
	}
	s.recovery.BlocksFromIndex++
	b.preallocated = x.preallocated
	if err := r.finishBlock(b, buf, int(x.length), last); err != nil {
		return err
	}
	b.indexWritten = x.length
	return nil
}

// RecoveryStats says how the last Open rebuilt the index.
type RecoveryStats struct {
	// BlocksFromIndex counts blocks replayed from their index file.
	BlocksFromIndex int
	// BlocksReplayed counts blocks replayed record by record.
	BlocksReplayed int
	// IndexesMissing, IndexesDamaged and IndexesStale count index files that were
	// absent, failed their checksum or decoding, or described other block contents.
	IndexesMissing int
	IndexesDamaged int
	IndexesStale   int
	// IndexesRebuilt counts index files written at open for replayed blocks.
	IndexesRebuilt int
	// IndexWriteErrors counts index files that could not be written (they are optional).
	IndexWriteErrors int
	// TTLsLoaded says the TTL wheel came from its saved file; otherwise it was rebuilt
	// from the messages (TTLsRejected says a saved file existed but was not usable).
	TTLsLoaded   bool
	TTLsRejected bool
	// Rollbacks counts the recoveries from failed writes or fsyncs since Open, each
	// rewriting the unsynced bytes from memory (see rollback.go).
	Rollbacks int
}

// Recovery returns how the last Open rebuilt the index.
func (s *Store) Recovery() RecoveryStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovery
}
