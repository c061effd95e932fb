package raftpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The encoding: a version byte, a kind byte, the fields as unsigned varints (byte strings
// as a varint length then the bytes), and a CRC-32C of everything before it, little
// endian. Decoding checks the checksum first, so a flipped bit anywhere is caught before
// any field is trusted, and every length is checked against the bytes that remain.

const (
	codecVersion = 1

	kindMessage    = 'M'
	kindHardState  = 'H'
	kindEntry      = 'E'
	kindConfChange = 'C'
	kindSnapshot   = 'S'

	checksumBytes = 4
	headerBytes   = 2

	// EntriesPerMessageMax bounds the entries one decoded message may carry.
	EntriesPerMessageMax = 1 << 16
	// MembersMax bounds the voters plus observers of a decoded ConfState.
	MembersMax = 1 << 10
)

// Errors returned by the decoders. Callers drop the input on any of them.
var (
	ErrTruncated   = errors.New("raftpb: truncated input")
	ErrChecksum    = errors.New("raftpb: checksum mismatch")
	ErrVersion     = errors.New("raftpb: unknown encoding version")
	ErrKind        = errors.New("raftpb: unexpected record kind")
	ErrMalformed   = errors.New("raftpb: malformed field")
	ErrTrailing    = errors.New("raftpb: trailing bytes")
	ErrLimitExceed = errors.New("raftpb: limit exceeded")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type encoder struct{ buf []byte }

func (e *encoder) uint(v uint64)   { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) byte(v byte)     { e.buf = append(e.buf, v) }
func (e *encoder) bytes(v []byte)  { e.uint(uint64(len(v))); e.buf = append(e.buf, v...) }
func (e *encoder) bool(v bool)     { e.byte(boolByte(v)) }
func (e *encoder) begin(kind byte) { e.buf = append(e.buf, codecVersion, kind) }
func (e *encoder) finish() []byte {
	return binary.LittleEndian.AppendUint32(e.buf, crc32.Checksum(e.buf, castagnoli))
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail(ErrTruncated)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.fail(ErrTruncated)
		return 0
	}
	v := d.buf[0]
	d.buf = d.buf[1:]
	return v
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(ErrMalformed)
	return false
}

// bytes returns a copy, so a decoded value never aliases the caller's buffer.
func (d *decoder) bytes() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail(ErrTruncated)
		return nil
	}
	if n == 0 {
		return nil
	}
	v := append([]byte(nil), d.buf[:n]...)
	d.buf = d.buf[n:]
	return v
}

// count reads a collection length and checks it against limit and against the bytes
// left (each element takes at least minBytes), so a forged count cannot make the
// decoder allocate more than the input justifies.
func (d *decoder) count(limit int, minBytes int) int {
	n := d.uint()
	if d.err != nil {
		return 0
	}
	if n > uint64(limit) {
		d.fail(ErrLimitExceed)
		return 0
	}
	if n*uint64(minBytes) > uint64(len(d.buf)) {
		d.fail(ErrTruncated)
		return 0
	}
	return int(n)
}

// open checks the frame (length, version, checksum, kind) and returns a decoder over
// the fields.
func open(data []byte, kind byte) (*decoder, error) {
	if len(data) < headerBytes+checksumBytes {
		return nil, ErrTruncated
	}
	body := data[:len(data)-checksumBytes]
	want := binary.LittleEndian.Uint32(data[len(data)-checksumBytes:])
	if crc32.Checksum(body, castagnoli) != want {
		return nil, ErrChecksum
	}
	if body[0] != codecVersion {
		return nil, ErrVersion
	}
	if body[1] != kind {
		return nil, ErrKind
	}
	return &decoder{buf: body[headerBytes:]}, nil
}

func (d *decoder) close() error {
	if d.err != nil {
		return d.err
	}
	if len(d.buf) != 0 {
		return ErrTrailing
	}
	return nil
}

// AppendMessage appends the encoding of m to buf.
func AppendMessage(buf []byte, m *Message) []byte {
	e := encoder{buf: buf}
	e.begin(kindMessage)
	e.byte(byte(m.Type))
	e.uint(m.GroupID)
	e.uint(m.From)
	e.uint(m.To)
	e.uint(m.Term)
	e.uint(m.LogTerm)
	e.uint(m.Index)
	e.uint(m.Commit)
	e.bool(m.Reject)
	e.uint(m.RejectHint)
	e.uint(uint64(len(m.Entries)))
	for i := range m.Entries {
		encodeEntryFields(&e, &m.Entries[i])
	}
	e.bytes(m.Context)
	encodeSnapshotMetadata(&e, &m.Snapshot)
	e.uint(m.SnapshotOffset)
	e.bytes(m.SnapshotData)
	e.bool(m.SnapshotDone)
	return e.finish()
}

// EncodeMessage returns the encoding of m.
func EncodeMessage(m *Message) []byte { return AppendMessage(nil, m) }

// DecodeMessage decodes a message encoded by EncodeMessage. Any damage (checksum,
// truncation, unknown type, oversized collections) is an error; it never panics. The
// result shares no memory with data.
func DecodeMessage(data []byte) (Message, error) {
	d, err := open(data, kindMessage)
	if err != nil {
		return Message{}, err
	}
	var m Message
	m.Type = MessageType(d.byte())
	m.GroupID = d.uint()
	m.From = d.uint()
	m.To = d.uint()
	m.Term = d.uint()
	m.LogTerm = d.uint()
	m.Index = d.uint()
	m.Commit = d.uint()
	m.Reject = d.bool()
	m.RejectHint = d.uint()
	if n := d.count(EntriesPerMessageMax, entryMinBytes); n > 0 {
		m.Entries = make([]Entry, n)
		for i := range m.Entries {
			decodeEntryFields(d, &m.Entries[i])
		}
	}
	m.Context = d.bytes()
	decodeSnapshotMetadata(d, &m.Snapshot)
	m.SnapshotOffset = d.uint()
	m.SnapshotData = d.bytes()
	m.SnapshotDone = d.bool()
	if err := d.close(); err != nil {
		return Message{}, err
	}
	if !m.Type.Valid() {
		return Message{}, fmt.Errorf("%w: message type %d", ErrMalformed, m.Type)
	}
	return m, nil
}

// entryMinBytes is the smallest encoding of an entry: term, index, type, data length.
const entryMinBytes = 4

func encodeEntryFields(e *encoder, ent *Entry) {
	e.uint(ent.Term)
	e.uint(ent.Index)
	e.byte(byte(ent.Type))
	e.bytes(ent.Data)
}

func decodeEntryFields(d *decoder, ent *Entry) {
	ent.Term = d.uint()
	ent.Index = d.uint()
	ent.Type = EntryType(d.byte())
	if ent.Type >= entryTypeEnd {
		d.fail(fmt.Errorf("%w: entry type %d", ErrMalformed, ent.Type))
	}
	ent.Data = d.bytes()
}

func encodeConfStateFields(e *encoder, c *ConfState) {
	e.uint(uint64(len(c.Voters)))
	for _, id := range c.Voters {
		e.uint(id)
	}
	e.uint(uint64(len(c.Observers)))
	for _, id := range c.Observers {
		e.uint(id)
	}
}

func decodeConfStateFields(d *decoder, c *ConfState) {
	if n := d.count(MembersMax, 1); n > 0 {
		c.Voters = make([]uint64, n)
		for i := range c.Voters {
			c.Voters[i] = d.uint()
		}
	}
	if n := d.count(MembersMax-len(c.Voters), 1); n > 0 {
		c.Observers = make([]uint64, n)
		for i := range c.Observers {
			c.Observers[i] = d.uint()
		}
	}
}

func encodeSnapshotMetadata(e *encoder, s *SnapshotMetadata) {
	e.uint(s.Index)
	e.uint(s.Term)
	encodeConfStateFields(e, &s.ConfState)
}

func decodeSnapshotMetadata(d *decoder, s *SnapshotMetadata) {
	s.Index = d.uint()
	s.Term = d.uint()
	decodeConfStateFields(d, &s.ConfState)
}

// EncodeEntry returns the checksummed encoding of one entry, the unit a write-ahead
// log appends.
func EncodeEntry(ent *Entry) []byte {
	e := encoder{}
	e.begin(kindEntry)
	encodeEntryFields(&e, ent)
	return e.finish()
}

// DecodeEntry decodes an entry encoded by EncodeEntry.
func DecodeEntry(data []byte) (Entry, error) {
	d, err := open(data, kindEntry)
	if err != nil {
		return Entry{}, err
	}
	var ent Entry
	decodeEntryFields(d, &ent)
	if err := d.close(); err != nil {
		return Entry{}, err
	}
	return ent, nil
}

// EncodeHardState returns the checksummed encoding of h.
func EncodeHardState(h HardState) []byte {
	e := encoder{}
	e.begin(kindHardState)
	e.uint(h.Term)
	e.uint(h.Vote)
	e.uint(h.Commit)
	return e.finish()
}

// DecodeHardState decodes a HardState encoded by EncodeHardState.
func DecodeHardState(data []byte) (HardState, error) {
	d, err := open(data, kindHardState)
	if err != nil {
		return HardState{}, err
	}
	h := HardState{Term: d.uint(), Vote: d.uint(), Commit: d.uint()}
	if err := d.close(); err != nil {
		return HardState{}, err
	}
	return h, nil
}

// EncodeSnapshot returns the checksummed encoding of s, metadata and data.
func EncodeSnapshot(s *Snapshot) []byte {
	e := encoder{}
	e.begin(kindSnapshot)
	encodeSnapshotMetadata(&e, &s.Metadata)
	e.bytes(s.Data)
	return e.finish()
}

// DecodeSnapshot decodes a snapshot encoded by EncodeSnapshot.
func DecodeSnapshot(data []byte) (Snapshot, error) {
	d, err := open(data, kindSnapshot)
	if err != nil {
		return Snapshot{}, err
	}
	var s Snapshot
	decodeSnapshotMetadata(d, &s.Metadata)
	s.Data = d.bytes()
	if err := d.close(); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// Marshal returns the encoding of c, the Data of an EntryConfChange entry.
func (c ConfChange) Marshal() []byte {
	e := encoder{}
	e.begin(kindConfChange)
	e.byte(byte(c.Type))
	e.uint(c.NodeID)
	return e.finish()
}

// Unmarshal decodes c from data written by Marshal.
func (c *ConfChange) Unmarshal(data []byte) error {
	d, err := open(data, kindConfChange)
	if err != nil {
		return err
	}
	t := ConfChangeType(d.byte())
	id := d.uint()
	if err := d.close(); err != nil {
		return err
	}
	if t == 0 || t >= confChangeTypeEnd {
		return fmt.Errorf("%w: conf change type %d", ErrMalformed, t)
	}
	if id == 0 {
		return fmt.Errorf("%w: conf change node id 0", ErrMalformed)
	}
	*c = ConfChange{Type: t, NodeID: id}
	return nil
}
