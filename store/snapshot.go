package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// Snapshot format, version 1 (own framing, not the reference's tar of block files, so
// that it is independent of how a store lays out its files):
//
//	"NSNP" version(1) uvarint first, uvarint last,
//	records: kind 1 (message): uvarint seq, varint ts, varint ttl,
//	         uvarint len + subject, uvarint len + headers, uvarint len + payload,
//	kind 0 (end), then CRC-32C (little endian) of everything before it.
const (
	snapshotMagic   = "NSNP"
	snapshotVersion = 1
	// snapshotFieldBytesMax bounds one decoded field so a corrupt length cannot make
	// Restore allocate without bound.
	snapshotFieldBytesMax = 64 << 20
)

// WriteSnapshot writes every message of s, and its first and last sequences, to w.
// Concurrent writes to s during the snapshot may or may not be included.
func WriteSnapshot(w io.Writer, s StreamStore) error {
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriter(io.MultiWriter(w, crc))
	var state StreamState
	s.FastState(&state)
	var scratch []byte
	scratch = append(scratch, snapshotMagic...)
	scratch = append(scratch, snapshotVersion)
	scratch = binary.AppendUvarint(scratch, state.FirstSeq)
	scratch = binary.AppendUvarint(scratch, state.LastSeq)
	if _, err := bw.Write(scratch); err != nil {
		return err
	}
	var sm StoreMsg
	for seq := state.FirstSeq; seq <= state.LastSeq; {
		msg, next, err := s.LoadNextMsg("", false, seq, &sm)
		if errors.Is(err, ErrStoreEOF) {
			break
		}
		if err != nil {
			return err
		}
		if next > state.LastSeq {
			break
		}
		scratch = append(scratch[:0], 1)
		scratch = binary.AppendUvarint(scratch, msg.Seq)
		scratch = binary.AppendVarint(scratch, msg.TS)
		scratch = binary.AppendVarint(scratch, msg.TTL)
		scratch = binary.AppendUvarint(scratch, uint64(len(msg.Subject)))
		scratch = append(scratch, msg.Subject...)
		scratch = binary.AppendUvarint(scratch, uint64(len(msg.Hdr)))
		scratch = append(scratch, msg.Hdr...)
		scratch = binary.AppendUvarint(scratch, uint64(len(msg.Msg)))
		scratch = append(scratch, msg.Msg...)
		if _, err := bw.Write(scratch); err != nil {
			return err
		}
		seq = next + 1
	}
	if err := bw.WriteByte(0); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

// RestoreSnapshot stores the snapshot's messages into s, which must be empty and new.
// Damaged input fails with an error matching ErrCorruptStreamState; the messages
// stored before the damage was found stay in s, so callers restore into a fresh store
// and discard it on error.
func RestoreSnapshot(s StreamStore, r io.Reader) error {
	crc := crc32.New(castagnoli)
	br := &snapshotReader{r: bufio.NewReader(r), crc: crc}
	header := br.bytes(len(snapshotMagic) + 1)
	if br.err != nil || string(header[:4]) != snapshotMagic || header[4] != snapshotVersion {
		return fmt.Errorf("%w: bad snapshot header", ErrCorruptStreamState)
	}
	first, last := br.uvarint(), br.uvarint()
	type pending struct {
		subject  string
		hdr, msg []byte
		seq      uint64
		ts, ttl  int64
	}
	// Messages are checked against the trailing checksum before any is applied, so a
	// damaged snapshot leaves the store untouched.
	var msgs []pending
	for br.err == nil {
		kind := br.bytes(1)
		if br.err != nil || kind[0] == 0 {
			break
		}
		if kind[0] != 1 {
			return fmt.Errorf("%w: unknown snapshot record %d", ErrCorruptStreamState, kind[0])
		}
		var p pending
		p.seq, p.ts, p.ttl = br.uvarint(), br.varint(), br.varint()
		p.subject = string(br.field())
		p.hdr, p.msg = br.field(), br.field()
		msgs = append(msgs, p)
	}
	if br.err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptStreamState, br.err)
	}
	sum := crc.Sum32()
	var trailer [4]byte
	if _, err := io.ReadFull(br.r, trailer[:]); err != nil || binary.LittleEndian.Uint32(trailer[:]) != sum {
		return fmt.Errorf("%w: snapshot checksum mismatch", ErrCorruptStreamState)
	}
	if first == 0 || last+1 < first {
		return fmt.Errorf("%w: snapshot sequences [%d, %d]", ErrCorruptStreamState, first, last)
	}
	next := uint64(1)
	skipTo := func(seq uint64) error {
		if seq > next {
			if err := s.SkipMsgs(next, seq-next); err != nil {
				return err
			}
			next = seq
		}
		return nil
	}
	if err := skipTo(first); err != nil {
		return err
	}
	for _, p := range msgs {
		if p.seq < next || p.seq > last {
			return fmt.Errorf("%w: snapshot message %d out of order", ErrCorruptStreamState, p.seq)
		}
		if err := skipTo(p.seq); err != nil {
			return err
		}
		if err := s.StoreRawMsg(p.subject, p.hdr, p.msg, p.seq, p.ts, p.ttl); err != nil {
			return err
		}
		next = p.seq + 1
	}
	return skipTo(last + 1)
}

type snapshotReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	err error
}

func (r *snapshotReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.r, buf); err != nil {
		r.err = err
		return nil
	}
	r.crc.Write(buf)
	return buf
}

func (r *snapshotReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var buf []byte
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b, err := r.r.ReadByte()
		if err != nil {
			r.err = err
			return 0
		}
		buf = append(buf, b)
		if b < 0x80 {
			r.crc.Write(buf)
			v, n := binary.Uvarint(buf)
			if n <= 0 {
				r.err = errors.New("bad varint")
				return 0
			}
			return v
		}
	}
	r.err = errors.New("varint too long")
	return 0
}

func (r *snapshotReader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *snapshotReader) field() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > snapshotFieldBytesMax {
		r.err = fmt.Errorf("field of %d bytes", n)
		return nil
	}
	if n == 0 {
		return nil
	}
	return r.bytes(int(n))
}
