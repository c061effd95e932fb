package seqset

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// The encoding starts with a magic byte and a version byte.
//
// Version 2 (written by Encode):
//
//	magic, version          2 bytes
//	offset                  uvarint, the chunk alignment (below 2048)
//	nodes                   uvarint, the number of node records
//	size                    uvarint, the number of sequences
//	nodes records, ascending by base:
//	  base delta            uvarint, base minus the previous record's base (the first
//	                        record's previous base is 0)
//	  kind                  1 byte: kindFull (no payload) or kindBitmap
//	  words                 kindBitmap only: 32 little-endian uint64 bitmap words
//
// Full chunks take 2 or 3 bytes, which keeps the encoding of long runs tiny.
//
// Version 1 (decoded only, for data written before version 2): fixed-width records of
// 1024-sequence chunks aligned to 1024, without an alignment offset:
//
//	magic, version          2 bytes
//	nodes                   uint32 little-endian
//	size                    uint32 little-endian
//	nodes records, ascending by base:
//	  base                  uint64 little-endian, a multiple of 1024
//	  words                 16 little-endian uint64 bitmap words
//	  height                uint16 little-endian, the AVL height (ignored)
const (
	encodingMagic = 22
	// encodingVersion is the version Encode writes.
	encodingVersion = 2
	// encodingVersionV1 is the previous version, still decoded.
	encodingVersionV1 = 1

	headerBytes = 2
	kindFull    = 0
	kindBitmap  = 1
	bitmapBytes = chunkWords * 8

	v1ChunkWords  = 16
	v1ChunkSize   = v1ChunkWords * wordBits
	v1HeaderBytes = headerBytes + 4 + 4
	v1RecordBytes = 8 + v1ChunkWords*8 + 2

	// recordBytesMin is the smallest version 2 node record (a delta and a kind byte);
	// Decode uses it to refuse node counts the input cannot hold before allocating.
	recordBytesMin = 2
)

// uvarintLength returns the number of bytes binary.AppendUvarint writes for v.
func uvarintLength(v uint64) int {
	return (bits.Len64(v|1) + 6) / 7
}

// EncodeLength returns the exact number of bytes Encode writes.
func (s *SequenceSet) EncodeLength() int {
	if s == nil {
		s = &SequenceSet{}
	}
	length := headerBytes + uvarintLength(s.offset) + uvarintLength(uint64(s.nodes)) +
		uvarintLength(uint64(s.size))
	previous := uint64(0)
	s.eachNode(s.root, func(n *node) {
		length += uvarintLength(n.base-previous) + 1
		if n.bits != nil {
			length += bitmapBytes
		}
		previous = n.base
	})
	return length
}

// Encode writes the set in the current encoding version into buf, reusing buf's
// storage when it is large enough, and returns the encoded bytes. The error is
// reserved for future encodings; it is always nil today.
func (s *SequenceSet) Encode(buf []byte) ([]byte, error) {
	if s == nil {
		s = &SequenceSet{}
	}
	length := s.EncodeLength()
	if cap(buf) < length {
		buf = make([]byte, 0, length)
	}
	buf = append(buf[:0], encodingMagic, encodingVersion)
	buf = binary.AppendUvarint(buf, s.offset)
	buf = binary.AppendUvarint(buf, uint64(s.nodes))
	buf = binary.AppendUvarint(buf, uint64(s.size))
	previous := uint64(0)
	s.eachNode(s.root, func(n *node) {
		buf = binary.AppendUvarint(buf, n.base-previous)
		previous = n.base
		if n.bits == nil {
			buf = append(buf, kindFull)
			return
		}
		buf = append(buf, kindBitmap)
		for _, word := range n.bits {
			buf = binary.LittleEndian.AppendUint64(buf, word)
		}
	})
	return buf, nil
}

// Decode reads a set encoded by Encode (or by the previous version) from the start of
// buf and returns it with the number of bytes it used. Bytes after the encoding are
// left alone. Truncated or inconsistent input returns ErrBadEncoding (wrapped), an
// unknown version ErrBadVersion.
func Decode(buf []byte) (*SequenceSet, int, error) {
	if len(buf) < headerBytes {
		return nil, 0, fmt.Errorf("%w: %d bytes is shorter than the header", ErrBadEncoding, len(buf))
	}
	if buf[0] != encodingMagic {
		return nil, 0, fmt.Errorf("%w: magic byte %d", ErrBadEncoding, buf[0])
	}
	switch buf[1] {
	case encodingVersion:
		return decodeV2(buf)
	case encodingVersionV1:
		return decodeV1(buf)
	}
	return nil, 0, fmt.Errorf("%w: version %d", ErrBadVersion, buf[1])
}

// decoder reads uvarints and fixed-width fields, remembering the first failure.
type decoder struct {
	buf []byte
	at  int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrBadEncoding}, args...)...)
	}
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf[d.at:])
	if n <= 0 {
		d.fail("%s at byte %d is truncated or overflows", field, d.at)
		return 0
	}
	d.at += n
	return v
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if d.at >= len(d.buf) {
		d.fail("%s at byte %d is truncated", field, d.at)
		return 0
	}
	d.at++
	return d.buf[d.at-1]
}

func (d *decoder) uint64(field string) uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.buf)-d.at < 8 {
		d.fail("%s at byte %d is truncated", field, d.at)
		return 0
	}
	d.at += 8
	return binary.LittleEndian.Uint64(d.buf[d.at-8:])
}

func decodeV2(buf []byte) (*SequenceSet, int, error) {
	d := &decoder{buf: buf, at: headerBytes}
	offset := d.uvarint("offset")
	nodeCount := d.uvarint("node count")
	size := d.uvarint("size")
	if d.err != nil {
		return nil, 0, d.err
	}
	if offset >= chunkSize {
		return nil, 0, fmt.Errorf("%w: offset %d is not below %d", ErrBadEncoding, offset, chunkSize)
	}
	if nodeCount > uint64(len(buf)-d.at)/recordBytesMin {
		return nil, 0, fmt.Errorf("%w: %d nodes cannot fit in %d bytes", ErrBadEncoding, nodeCount, len(buf)-d.at)
	}
	s := &SequenceSet{offset: offset}
	sorted := make([]*node, 0, nodeCount)
	base, counted := uint64(0), uint64(0)
	for i := uint64(0); i < nodeCount; i++ {
		delta := d.uvarint("base delta")
		kind := d.byte("node kind")
		if d.err != nil {
			return nil, 0, d.err
		}
		if (i > 0 && delta == 0) || delta > math.MaxUint64-base {
			return nil, 0, fmt.Errorf("%w: node %d base delta %d after base %d", ErrBadEncoding, i, delta, base)
		}
		base += delta
		if s.chunkBase(base) != base {
			return nil, 0, fmt.Errorf("%w: node %d base %d is not a chunk start", ErrBadEncoding, i, base)
		}
		length := s.chunkLength(base)
		n := &node{base: base, height: 1}
		switch kind {
		case kindFull:
			n.count = uint16(length)
		case kindBitmap:
			n.bits = new(bitmap)
			for w := range n.bits {
				n.bits[w] = d.uint64("bitmap word")
			}
			if d.err != nil {
				return nil, 0, d.err
			}
			if problem := checkBitmap(n, length); problem != "" {
				return nil, 0, fmt.Errorf("%w: node %d: %s", ErrBadEncoding, i, problem)
			}
		default:
			return nil, 0, fmt.Errorf("%w: node %d kind %d", ErrBadEncoding, i, kind)
		}
		counted += uint64(n.count)
		sorted = append(sorted, n)
	}
	if counted != size {
		return nil, 0, fmt.Errorf("%w: header size %d but nodes hold %d", ErrBadEncoding, size, counted)
	}
	s.root = buildBalanced(sorted)
	s.nodes, s.size = len(sorted), int(size)
	return s, d.at, nil
}

// checkBitmap counts a decoded bitmap into n.count. It returns a description of the
// problem for bitmaps that are empty, full (a full chunk must be encoded as kindFull)
// or set bits past the chunk's end, and "" for a valid one.
func checkBitmap(n *node, length uint64) string {
	count := 0
	for w, word := range n.bits {
		start := uint64(w) * wordBits
		if start >= length {
			if word != 0 {
				return "bits set past the chunk end"
			}
			continue
		}
		if length-start < wordBits && word&^lowBits(length-start) != 0 {
			return "bits set past the chunk end"
		}
		count += bits.OnesCount64(word)
	}
	if count == 0 || uint64(count) == length {
		return "bitmap is empty or full"
	}
	n.count = uint16(count)
	return ""
}

func decodeV1(buf []byte) (*SequenceSet, int, error) {
	if len(buf) < v1HeaderBytes {
		return nil, 0, fmt.Errorf("%w: version 1 header needs %d bytes, got %d", ErrBadEncoding, v1HeaderBytes, len(buf))
	}
	nodeCount := uint64(binary.LittleEndian.Uint32(buf[2:]))
	size := uint64(binary.LittleEndian.Uint32(buf[6:]))
	if nodeCount > uint64(len(buf)-v1HeaderBytes)/v1RecordBytes {
		return nil, 0, fmt.Errorf("%w: %d version 1 nodes cannot fit in %d bytes", ErrBadEncoding, nodeCount, len(buf))
	}
	s := &SequenceSet{}
	at, previous := v1HeaderBytes, uint64(0)
	for i := uint64(0); i < nodeCount; i++ {
		base := binary.LittleEndian.Uint64(buf[at:])
		if base%v1ChunkSize != 0 || (i > 0 && base <= previous) {
			return nil, 0, fmt.Errorf("%w: version 1 node %d base %d is unaligned or out of order", ErrBadEncoding, i, base)
		}
		empty := true
		for w := 0; w < v1ChunkWords; w++ {
			word := binary.LittleEndian.Uint64(buf[at+8+w*8:])
			if word != 0 {
				empty = false
				s.insertWord(base+uint64(w)*wordBits, word)
			}
		}
		if empty {
			return nil, 0, fmt.Errorf("%w: version 1 node %d is empty", ErrBadEncoding, i)
		}
		at += v1RecordBytes
		previous = base
	}
	if uint64(s.size) != size {
		return nil, 0, fmt.Errorf("%w: version 1 header size %d but nodes hold %d", ErrBadEncoding, size, s.size)
	}
	return s, at, nil
}
