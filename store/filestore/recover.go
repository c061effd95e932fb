package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/internal/core"
)

// recovery is the state of one replay of the blocks at open.
type recovery struct {
	s *Store
	// pending is corruption whose upper sequence bound is not known yet: the next record
	// that carries a sequence closes it.
	pending *store.CorruptError
	first   bool // the next header is the first replayed
	// preallocated is the length the current block was created with (0: unknown).
	preallocated int64
	// bytesReplayed and msgsReplayed measure the first block, to size the index.
	bytesReplayed int64
	msgsReplayed  int
	// index, subjects and scratch are reused from block to block.
	index    blockIndex
	subjects []string
	scratch  []byte
}

// recover rebuilds the index from the blocks, oldest first.
func (s *Store) recover() error {
	names, err := s.config.FS.ReadDir(s.msgsDir())
	if err != nil {
		return err
	}
	var ids []uint32
	for _, name := range names {
		if !strings.HasSuffix(name, ".blk") {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, ".blk"), 10, 32)
		if err != nil || id == 0 {
			continue
		}
		ids = append(ids, uint32(id))
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	r := &recovery{s: s, first: true}
	index := s.readBlockIndex()
	s.removeOrphanIndexFiles(names, ids)
	s.journal.replaying = true
	s.stream.DeferTTLs()
	defer func() { s.journal.replaying = false }()
	for i, id := range ids {
		if i > 0 && id != ids[i-1]+1 {
			// Blocks are removed oldest first, so a gap means lost blocks.
			r.corruptAt(path.Join(s.msgsDir(), blockFileName(ids[i-1]+1)), 0, "block file missing")
		}
		if err := r.replayBlock(id, i == len(ids)-1, index[id]); err != nil {
			return err
		}
		if i == 0 && len(ids) > 1 && r.bytesReplayed > 0 {
			// Size the index from the first block's density, so that replaying a large
			// stream does not copy the index each time it doubles.
			perMsg := r.bytesReplayed / max(int64(r.msgsReplayed), 1)
			s.stream.Reserve(int(int64(len(ids)-1) * s.config.BlockBytesMax / max(perMsg, 1) * 11 / 10))
		}
	}
	if newest := lastID(ids); index != nil {
		for id, size := range sortedIndex(index) {
			if id > newest && size > 0 {
				r.corruptAt(path.Join(s.msgsDir(), blockFileName(id)), 0, "durable block file missing")
				break
			}
		}
	}
	if c := r.pending; c != nil {
		// Damage with nothing readable after it: how many sequences it held is unknown,
		// so the range stays open (Last 0) and the store takes no new sequences until a
		// Truncate below it (a repair from a peer) settles it.
		r.pending = nil
		c.Reason += " (no later record: the lost range is open-ended)"
		s.lost = append(s.lost, c.Range)
		s.corruption = append(s.corruption, c)
	}
	s.stream.Trim()
	s.finishTTLs()
	s.journal.replaying = false
	if w := s.writeBlock(); w == nil || w.size == 0 {
		if w != nil {
			// The newest block lost even its header: start it again.
			w.file.Close()
			s.blocks = s.blocks[:len(s.blocks)-1]
			s.nextBlockID = w.id - 1
			if err := s.config.FS.Remove(w.name); err != nil && !isNotExist(err) {
				return err
			}
			s.dirDirty = true
		}
		if _, err := s.newBlock(); err != nil {
			return err
		}
	}
	// What recovery read may be in the page cache only: written by an earlier
	// incarnation whose fsync failed (the kernel may then have marked the pages clean
	// without writing them), or never synced before a kill. It is served from now on,
	// so it must survive a power loss: the newest block is written again from the
	// bytes the blocks index does not vouch for, its tail cleared, and all fsynced.
	// Older blocks were fsynced whole before the next one was created.
	from := int64(0)
	if w := s.writeBlock(); index != nil {
		from = index[w.id]
	}
	if err := s.resyncWriteBlock(from); err != nil {
		return fmt.Errorf("filestore: making the recovered blocks durable: %w", err)
	}
	return nil
}

// replayBlock replays one block file: from its index file when that matches the
// block, record by record otherwise (and then the index is rebuilt).
func (r *recovery) replayBlock(id uint32, last bool, durableSize int64) error {
	b, buf, err := r.openBlock(id, last)
	if err != nil {
		return err
	}
	if x := r.readBlockIndexFile(b, buf); x != nil {
		if last {
			// The write block's index keeps growing with its appends.
			b.index = newIndexBuilder()
		}
		err := r.replayIndex(b, x, buf, last)
		if !errors.Is(err, errIndexSubject) {
			return err
		}
		r.s.recovery.IndexesDamaged++
	}
	b.index = newIndexBuilder()
	offset, err := r.scanBlock(b, buf, last, durableSize)
	if err != nil {
		return err
	}
	r.s.recovery.BlocksReplayed++
	b.preallocated = r.preallocated
	if err := r.finishBlock(b, buf, offset, last); err != nil {
		return err
	}
	if !last {
		if !b.keep {
			r.s.writeBlockIndexFile(b, buf[:offset], r.preallocated)
			if b.indexWritten > 0 {
				r.s.recovery.IndexesRebuilt++
			}
		}
		b.index = nil
	}
	return nil
}

// removeOrphanIndexFiles removes index files (and temporaries) of blocks that are
// gone: a crash between removing a block and its index leaves one behind.
func (s *Store) removeOrphanIndexFiles(names []string, ids []uint32) {
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[perBlockIndexFileName(id)] = true
	}
	for _, name := range names {
		if strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".idx") && !present[name] {
			_ = s.config.FS.Remove(path.Join(s.msgsDir(), name))
		}
	}
}

// openBlock opens a block file for replay and reads it whole: into a buffer the block
// keeps for the newest block, into one reused from block to block otherwise.
func (r *recovery) openBlock(id uint32, last bool) (*block, []byte, error) {
	s := r.s
	b := &block{id: id, name: path.Join(s.msgsDir(), blockFileName(id))}
	f, err := s.config.FS.OpenReadWrite(b.name)
	if err != nil {
		return nil, nil, err
	}
	b.file = f
	s.blocks = append(s.blocks, b)
	s.nextBlockID = id
	if s.config.Cipher != NoCipher {
		if b.cipher, err = newBlockCipher(s.config.Cipher, s.config.Key, s.config.Dir, id); err != nil {
			return nil, nil, err
		}
	}
	size, err := f.Size()
	if err != nil {
		return nil, nil, err
	}
	var buf []byte
	if last {
		buf = make([]byte, size)
	} else {
		if int64(cap(r.scratch)) < size {
			r.scratch = make([]byte, size)
		}
		buf = r.scratch[:size]
	}
	if size > 0 {
		if _, err := f.ReadAt(buf, 0); err != nil {
			return nil, nil, err
		}
	}
	return b, buf, nil
}

// scanBlock replays a block's records and returns where its good data ends.
func (r *recovery) scanBlock(b *block, buf []byte, last bool, durableSize int64) (int, error) {
	s := r.s
	s.journal.replayBlock = b
	r.preallocated = 0
	budget := resyncChecksumBytesMin + resyncChecksumBytesPerBlockByte*len(buf)
	offset := 0
	for offset < len(buf) {
		if allZero(buf[offset:min(offset+recordHeaderBytes, len(buf))]) {
			// Zeros where a record would start: the end of a preallocated block's data,
			// unless something valid follows.
			if allZero(buf[offset:]) {
				break
			}
			next := resync(buf, offset+1, &budget)
			if next < 0 && (last || r.preallocated > 0) {
				// Stray bytes after the end (a torn write's remains): never acknowledged.
				break
			}
			r.corrupt(b, int64(offset), "zeroed bytes inside the block")
			if next < 0 {
				break
			}
			offset = next
			continue
		}
		body, n, torn, err := parseRecord(buf[offset:])
		if err != nil && offset == 0 {
			// The header is damaged, so the length the block was created with is unknown:
			// assume the configured one, which errs towards reporting a cut block.
			r.preallocated = s.config.BlockBytesMax
		}
		if err != nil {
			next := resync(buf, offset+1, &budget)
			tornTail := last && next < 0 && int64(offset) >= durableSize
			if r.preallocated > 0 {
				// A preallocated block keeps its length, so a short one was cut at rest.
				tornTail = tornTail && int64(len(buf)) >= r.preallocated && looksTorn(buf, offset)
			} else {
				tornTail = tornTail && torn
			}
			if tornTail {
				// A torn tail of the newest block: bytes never acknowledged.
				break
			}
			if seq := r.suspectedRemoval(buf[offset:]); seq != 0 && r.pending == nil && next >= 0 {
				// The damage is accounted for by the message it may have removed.
				r.reportSuspectedRemoval(b, int64(offset), seq)
				offset = next
				continue
			}
			r.corrupt(b, int64(offset), "record checksum or framing mismatch")
			if next < 0 {
				// Nothing readable follows: the block's data ends at the damage, which
				// stays on the disk until a Truncate below the loss overwrites it.
				break
			}
			offset = next
			continue
		}
		if err := r.apply(b, body, int64(offset)); err != nil {
			return 0, err
		}
		if b.index != nil && body[0] != kindMsg {
			b.index.addRaw(int64(offset), body)
		}
		offset += n
		b.records++
		if body[0] == kindMsg {
			r.msgsReplayed++
		}
	}
	return offset, nil
}

// finishBlock checks a replayed block for a cut at rest, clears a torn tail, and sets
// the block's lengths; the newest block keeps its contents as the write buffer.
func (r *recovery) finishBlock(b *block, buf []byte, offset int, last bool) error {
	if r.preallocated > 0 && int64(len(buf)) < r.preallocated && r.pending == nil {
		// Cut at rest: if fewer than 4 zero bytes follow the last record, another record
		// may have started there (a record's length is never zero).
		if zeros := len(buf) - offset; zeros < 4 || !allZero(buf[offset:]) {
			r.corrupt(b, int64(len(buf)), "block cut short at rest")
		}
	}
	if offset < len(buf) {
		if err := r.clearTail(b, buf, offset); err != nil {
			return err
		}
	}
	buf = buf[:offset]
	r.bytesReplayed += int64(len(buf))
	b.size, b.written, b.synced = int64(len(buf)), int64(len(buf)), int64(len(buf))
	b.committed = b.synced
	if last {
		b.buf = buf
		b.synced, b.committed = 0, 0
	}
	return nil
}

// clearTail removes the bytes after a block's last good record: zeroed in place for
// a preallocated block (its length is evidence against truncation), cut otherwise.
func (r *recovery) clearTail(b *block, buf []byte, offset int) error {
	if allZero(buf[offset:]) {
		return nil
	}
	if r.preallocated > 0 && !b.keep {
		if _, err := b.file.WriteAt(make([]byte, len(buf)-offset), int64(offset)); err != nil {
			return err
		}
		return b.file.Sync()
	}
	if b.keep {
		// Damaged bytes stay on the disk for whoever repairs them.
		return nil
	}
	if err := b.file.Truncate(int64(offset)); err != nil {
		return err
	}
	return b.file.Sync()
}

// sectorBytes is the unit in which a torn write keeps or drops bytes.
const sectorBytes = 512

// singleBitFlipBytesMax bounds the records looksTorn tries every one-bit repair on.
const singleBitFlipBytesMax = 2 << 10

// looksTorn tells a torn last record (a prefix of its sectors written, zeros after)
// from a damaged one. A record that one flipped bit would make valid is damage. So is
// a record whose trailing zeros do not reach back to a sector boundary inside it: a
// torn write drops whole sectors, so its zeros start at a boundary.
func looksTorn(buf []byte, offset int) bool {
	if len(buf)-offset < recordHeaderBytes {
		return true
	}
	length := binary.LittleEndian.Uint32(buf[offset:])
	declaredEnd := offset + recordHeaderBytes + int(length)
	if declaredEnd <= len(buf) && declaredEnd-offset <= singleBitFlipBytesMax && oneBitFromValid(buf[offset:declaredEnd]) {
		return false
	}
	// A flipped length bit makes the record look longer or shorter than it is.
	for bit := range 32 {
		end := offset + recordHeaderBytes + int(length^1<<bit)
		if end > len(buf) || end-offset > singleBitFlipBytesMax {
			continue
		}
		record := buf[offset:end]
		binary.LittleEndian.PutUint32(record, length^1<<bit)
		_, _, _, err := parseRecord(record)
		binary.LittleEndian.PutUint32(record, length)
		if err == nil {
			return false
		}
	}
	zeros := len(buf)
	for zeros > offset && buf[zeros-1] == 0 {
		zeros--
	}
	boundary := (zeros + sectorBytes - 1) / sectorBytes * sectorBytes
	return boundary < declaredEnd && boundary < len(buf)
}

// oneBitFromValid reports whether flipping one bit makes record valid.
func oneBitFromValid(record []byte) bool {
	for i := range record {
		for bit := range 8 {
			record[i] ^= 1 << bit
			_, _, _, err := parseRecord(record)
			record[i] ^= 1 << bit
			if err == nil {
				return true
			}
		}
	}
	return false
}

func allZero(p []byte) bool {
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}

// resyncChecksumBytesPerBlockByte bounds the bytes resync may checksum while
// searching one block, per byte of the block (plus resyncChecksumBytesMin), so that
// crafted garbage cannot make recovery quadratic. Past the budget the rest of the
// block counts as unreadable, which is reported, never skipped.
const (
	resyncChecksumBytesPerBlockByte = 4
	resyncChecksumBytesMin          = 1 << 20
)

// resync finds the next offset at or after from where a valid record starts, or -1.
// budget is the checksum work left for the block; resync spends from it.
func resync(buf []byte, from int, budget *int) int {
	for o := from; o+recordHeaderBytes < len(buf) && *budget > 0; o++ {
		length := int(binary.LittleEndian.Uint32(buf[o:]))
		if length == 0 || length > recordBodyBytesMax || o+recordHeaderBytes+length > len(buf) {
			continue
		}
		*budget -= length
		if _, _, _, err := parseRecord(buf[o:]); err == nil {
			return o
		}
	}
	return -1
}

// lastID returns the newest block id, or 0.
func lastID(ids []uint32) uint32 {
	if len(ids) == 0 {
		return 0
	}
	return ids[len(ids)-1]
}

// sortedIndex iterates the block index in id order.
func sortedIndex(index map[uint32]int64) func(yield func(uint32, int64) bool) {
	return func(yield func(uint32, int64) bool) {
		ids := make([]uint32, 0, len(index))
		for id := range index {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			if !yield(id, index[id]) {
				return
			}
		}
	}
}

// suspectedRemoval returns the sequence a damaged record names when its unverified
// bytes have the shape of a removal record of a message the stream holds, or 0. Such
// a record may be the removal of that message, which must then not be served as if
// it had never been removed; any other damaged record names no sequence it affects.
func (r *recovery) suspectedRemoval(buf []byte) uint64 {
	if len(buf) < recordHeaderBytes+2 {
		return 0
	}
	length := int(binary.LittleEndian.Uint32(buf))
	if length < 2 || length > 1+binary.MaxVarintLen64 || recordHeaderBytes+length > len(buf) {
		return 0
	}
	body := buf[recordHeaderBytes : recordHeaderBytes+length]
	if body[0] != kindRemove {
		return 0
	}
	seq, n := binary.Uvarint(body[1:])
	if n != length-1 || r.s.stream.Entry(seq) == nil {
		return 0
	}
	return seq
}

// reportSuspectedRemoval reports a damaged removal record of seq: the message is
// reported lost (never served) rather than served or dropped on a guess.
func (r *recovery) reportSuspectedRemoval(b *block, offset int64, seq uint64) {
	b.keep = true
	s := r.s
	c := &store.CorruptError{
		Range:  store.SequenceRange{First: seq, Last: seq},
		File:   b.name,
		Offset: offset,
		Reason: fmt.Sprintf("removal record checksum mismatch: message %d may have been removed", seq),
	}
	s.lost = append(s.lost, c.Range)
	s.corruption = append(s.corruption, c)
}

// corrupt opens a lost range at the current position.
func (r *recovery) corrupt(b *block, offset int64, reason string) {
	b.keep = true
	r.corruptAt(b.name, offset, reason)
}

// corruptAt opens a lost range at the current position of a named file.
func (r *recovery) corruptAt(name string, offset int64, reason string) {
	if r.pending != nil {
		return
	}
	r.pending = &store.CorruptError{
		Range:  store.SequenceRange{First: r.s.stream.Last() + 1},
		File:   name,
		Offset: offset,
		Reason: reason,
	}
}

// closePending closes the open lost range below next (the next sequence seen), and
// reserves its sequences so that they are never reused.
func (r *recovery) closePending(next uint64, why string) {
	c := r.pending
	if c == nil {
		return
	}
	r.pending = nil
	s := r.s
	if next <= c.Range.First {
		// The damaged records carried no sequence (a header, a removal): report them,
		// but no sequence is lost.
		c.Range = store.SequenceRange{}
		c.Reason = fmt.Sprintf("%s (no sequence lost: next sequence %d follows; %s)", c.Reason, next, why)
		s.corruption = append(s.corruption, c)
		return
	}
	c.Range.Last = next - 1
	c.Reason = fmt.Sprintf("%s (range closed by %s)", c.Reason, why)
	if s.stream.Last() < c.Range.Last {
		_ = s.stream.Skip(s.stream.Last()+1, c.Range.Last-s.stream.Last(), true)
	}
	s.lost = append(s.lost, c.Range)
	s.corruption = append(s.corruption, c)
}

// advanceTo makes seq the next sequence, reporting a gap without a record as lost.
func (r *recovery) advanceTo(b *block, seq uint64, offset int64) {
	s := r.s
	if r.pending != nil {
		r.closePending(seq, fmt.Sprintf("sequence %d", seq))
	}
	if last := s.stream.Last(); seq > last+1 {
		r.corrupt(b, offset, "sequences missing between records")
		r.closePending(seq, fmt.Sprintf("sequence %d", seq))
	}
}

var errUnknownRecord = errors.New("unknown record kind")

// decodeRemoveSeqs decodes a kindRemoveSeqs body: ascending sequences, at most
// core.BulkRemoveSeqsMax of them.
func decodeRemoveSeqs(body []byte) ([]uint64, bool) {
	d := indexDecoder{buf: body[1:]}
	count := d.uvarint()
	if d.bad || count == 0 || count > core.BulkRemoveSeqsMax || count > uint64(len(d.buf)) {
		return nil, false
	}
	seqs := make([]uint64, 0, count)
	seq := d.uvarint()
	seqs = append(seqs, seq)
	for range count - 1 {
		gap := d.uvarint()
		if gap == 0 || seq+gap < seq {
			return nil, false
		}
		seq += gap
		seqs = append(seqs, seq)
	}
	return seqs, !d.bad && len(d.buf) == 0 && seqs[0] != 0
}

// apply replays one verified record.
func (r *recovery) apply(b *block, body []byte, offset int64) error {
	s := r.s
	switch body[0] {
	case kindBlockHeader:
		return r.applyHeader(b, body, offset)
	case kindMsg:
		return r.applyMsg(b, body, offset)
	case kindRemove:
		v, _, err := uvarints(body, 1)
		if err != nil {
			r.corrupt(b, offset, "bad removal record")
			return nil
		}
		_, err = s.stream.Remove(v[0], false, true)
		return err
	case kindRemoveSeqs:
		seqs, ok := decodeRemoveSeqs(body)
		if !ok {
			r.corrupt(b, offset, "bad removal record")
			return nil
		}
		for _, seq := range seqs {
			if _, err := s.stream.Remove(seq, false, true); err != nil {
				return err
			}
		}
		return nil
	case kindSkip:
		v, _, err := uvarints(body, 2)
		if err != nil || v[1] == 0 || v[0]+v[1] < v[0] {
			r.corrupt(b, offset, "bad skip record")
			return nil
		}
		end := v[0] + v[1] - 1
		if end > s.stream.Last() {
			start := max(v[0], s.stream.Last()+1)
			r.advanceTo(b, start, offset)
			return s.stream.Skip(start, end-start+1, true)
		}
		return nil
	case kindPurge:
		v, _, err := uvarints(body, 2)
		if err != nil || v[0] == 0 {
			r.corrupt(b, offset, "bad purge record")
			return nil
		}
		r.closePending(v[0], "purge")
		if _, err := s.stream.Compact(v[0], true); err != nil {
			return err
		}
		s.pruneLost(v[0], ^uint64(0))
		if v[1] > s.stream.Last() {
			return s.stream.Skip(s.stream.Last()+1, v[1]-s.stream.Last(), true)
		}
		return nil
	case kindTruncate:
		v, rest, err := uvarints(body, 1)
		lastTS, n := binary.Varint(rest)
		if err != nil || n <= 0 {
			r.corrupt(b, offset, "bad truncate record")
			return nil
		}
		s.pruneLost(0, v[0])
		if v[0] >= s.stream.Last() {
			return nil
		}
		if err := s.stream.Truncate(v[0], true); err != nil {
			return err
		}
		s.stream.SetLastTS(lastTS)
		return nil
	case kindErased:
		v, rest, err := uvarints(body, 1)
		if err != nil {
			r.corrupt(b, offset, "bad erased record")
			return nil
		}
		ts, n := binary.Varint(rest)
		if n <= 0 {
			r.corrupt(b, offset, "bad erased record")
			return nil
		}
		if v[0] > s.stream.Last() {
			// The erased message still took its sequence and set the last timestamp.
			r.advanceTo(b, v[0], offset)
			if err := s.stream.Skip(s.stream.Last()+1, v[0]-s.stream.Last(), true); err != nil {
				return err
			}
			s.stream.SetLastTS(ts)
		}
		return nil
	default:
		r.corrupt(b, offset, errUnknownRecord.Error())
		return nil
	}
}

// applyMsg replays a message record.
func (r *recovery) applyMsg(b *block, body []byte, offset int64) error {
	s := r.s
	rec, err := decodeMsgBody(body)
	if err != nil {
		r.corrupt(b, offset, "bad message record")
		return nil
	}
	plain, err := s.decodePayloadBytes(b, rec)
	if errors.Is(err, errNoCipher) {
		return store.ErrBadKey
	}
	var subject, hdr, msg []byte
	if err == nil {
		subject, hdr, msg, err = decodePayload(plain)
	}
	if err != nil {
		r.corrupt(b, offset, "message record does not decode or is out of order")
		r.closePending(max(rec.seq, s.stream.Last()+1)+1, fmt.Sprintf("message %d", rec.seq))
		return nil
	}
	interned, valid := s.stream.InternChecked(subject)
	if !valid {
		r.corrupt(b, offset, "message record rejected: "+store.ErrInvalidSubject.Error())
		r.closePending(rec.seq+1, fmt.Sprintf("message %d", rec.seq))
		return nil
	}
	return r.applyMsgEntry(b, interned, rec.seq, rec.ts, rec.ttl, store.FileMsgSize(interned, hdr, msg), offset)
}

// applyMsgEntry replays a decoded message, from its record or from the block's index.
func (r *recovery) applyMsgEntry(b *block, subject string, seq uint64, ts, ttl int64, size uint64, offset int64) error {
	s := r.s
	if seq <= s.stream.Last() {
		r.corrupt(b, offset, "message record does not decode or is out of order")
		r.closePending(max(seq, s.stream.Last()+1)+1, fmt.Sprintf("message %d", seq))
		return nil
	}
	r.advanceTo(b, seq, offset)
	s.journal.replayAt = offset
	if err := s.stream.ReplayMsg(subject, seq, ts, ttl, size); err != nil {
		r.corrupt(b, offset, "message record rejected: "+err.Error())
		r.closePending(seq+1, fmt.Sprintf("message %d", seq))
		return nil
	}
	if b.index != nil {
		b.index.addMsg(offset, subject, seq, ts, ttl, size)
	}
	return nil
}

// applyHeader checks a block header: its id, the encryption key, and for the oldest
// block the sequences the stream had when it was created.
func (r *recovery) applyHeader(b *block, body []byte, offset int64) error {
	s := r.s
	v, rest, err := uvarints(body, 3)
	if err != nil || uint32(v[0]) != b.id {
		r.corrupt(b, offset, "bad block header")
		return nil
	}
	lastTS, n := binary.Varint(rest)
	if n <= 0 {
		r.corrupt(b, offset, "bad block header")
		return nil
	}
	rest = rest[n:]
	preallocated, n := binary.Uvarint(rest)
	if n <= 0 || preallocated > 1<<32 {
		r.corrupt(b, offset, "bad block header")
		return nil
	}
	rest = rest[n:]
	r.preallocated = int64(preallocated)
	switch {
	case b.cipher != nil:
		if err := b.cipher.checkKey(rest); err != nil {
			return fmt.Errorf("%w: block %s", err, b.name)
		}
	case len(rest) > 0:
		return fmt.Errorf("%w: block %s is encrypted and no key is configured", store.ErrBadKey, b.name)
	}
	last := v[2]
	if r.first {
		r.first = false
		if last > s.stream.Last() {
			if err := s.stream.Skip(s.stream.Last()+1, last-s.stream.Last(), true); err != nil {
				return err
			}
			s.stream.SetLastTS(lastTS)
		}
		return nil
	}
	if r.pending != nil && last >= r.pending.Range.First {
		r.closePending(last+1, "block header")
	}
	if last > s.stream.Last() {
		r.corrupt(b, offset, "sequences missing before block")
		r.closePending(last+1, "block header")
	}
	return nil
}
