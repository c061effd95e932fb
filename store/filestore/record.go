package filestore

import (
	"encoding/binary"
	"errors"

	"github.com/natsim/natsim/store"
)

// Block record framing. Every record is
//
//	u32 little-endian body length | u32 CRC-32C of (length bytes, body) | body
//
// and the body starts with a kind byte. The checksum covers the length, so a flipped
// length bit is caught like a flipped payload bit.
const (
	recordHeaderBytes = 8
	// recordBodyBytesMax bounds one record; larger lengths are corruption.
	recordBodyBytesMax = 1<<26 + 1024
)

// Record kinds.
const (
	kindBlockHeader byte = 1 // uvarint block id, uvarint first, uvarint last, varint lastTS, key check
	kindMsg         byte = 2 // flags, uvarint seq, varint ts, varint ttl, then the payload
	kindRemove      byte = 3 // uvarint seq
	kindSkip        byte = 4 // uvarint seq, uvarint num
	kindPurge       byte = 5 // uvarint first, uvarint last: everything below first is gone
	kindTruncate    byte = 6 // uvarint seq, varint last timestamp: everything above seq is gone
	kindErased      byte = 7 // uvarint seq, varint ts, zero padding: a message overwritten by EraseMsg
	kindRemoveSeqs  byte = 8 // uvarint count, uvarint first seq, uvarint gaps: a filtered purge
)

// Message record flags.
const (
	flagCompressed byte = 1 << 0
	flagEncrypted  byte = 1 << 1
)

var errBadRecord = errors.New("bad record")

// appendRecord frames body and appends it to dst. The header is built in dst itself:
// a local array handed to the checksum would escape to the heap on every record.
func appendRecord(dst, body []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
	dst = append(dst, 0, 0, 0, 0)
	dst = append(dst, body...)
	crc := store.Checksum(dst[start : start+4])
	crc = crcUpdate(crc, dst[start+recordHeaderBytes:])
	binary.LittleEndian.PutUint32(dst[start+4:], crc)
	return dst
}

// parseRecord reads the record at the start of buf. It returns the body and the total
// record length; torn says the record runs past the end of buf (a write cut short),
// as opposed to a checksum or framing failure.
func parseRecord(buf []byte) (body []byte, length int, torn bool, err error) {
	if len(buf) < recordHeaderBytes {
		return nil, 0, true, errBadRecord
	}
	bodyLen := int(binary.LittleEndian.Uint32(buf[:4]))
	if bodyLen == 0 || bodyLen > recordBodyBytesMax {
		return nil, 0, false, errBadRecord
	}
	if len(buf) < recordHeaderBytes+bodyLen {
		return nil, 0, true, errBadRecord
	}
	body = buf[recordHeaderBytes : recordHeaderBytes+bodyLen]
	crc := crcUpdate(store.Checksum(buf[:4]), body)
	if crc != binary.LittleEndian.Uint32(buf[4:8]) {
		return nil, 0, false, errBadRecord
	}
	return body, recordHeaderBytes + bodyLen, false, nil
}

// msgRecord is a decoded message record.
type msgRecord struct {
	flags   byte
	seq     uint64
	ts      int64
	ttl     int64
	payload []byte // still compressed/encrypted when flags say so
}

// appendMsgBody appends the body of a message record whose payload is already encoded.
func appendMsgBody(dst []byte, flags byte, seq uint64, ts, ttl int64, payload []byte) []byte {
	dst = append(dst, kindMsg, flags)
	dst = binary.AppendUvarint(dst, seq)
	dst = binary.AppendVarint(dst, ts)
	dst = binary.AppendVarint(dst, ttl)
	return append(dst, payload...)
}

func decodeMsgBody(body []byte) (msgRecord, error) {
	var m msgRecord
	if len(body) < 2 || body[0] != kindMsg {
		return m, errBadRecord
	}
	m.flags = body[1]
	r := body[2:]
	var n int
	if m.seq, n = binary.Uvarint(r); n <= 0 {
		return m, errBadRecord
	}
	r = r[n:]
	if m.ts, n = binary.Varint(r); n <= 0 {
		return m, errBadRecord
	}
	r = r[n:]
	if m.ttl, n = binary.Varint(r); n <= 0 {
		return m, errBadRecord
	}
	m.payload = r[n:]
	return m, nil
}

// appendPayload encodes subject, headers and payload as the plain message payload.
func appendPayload(dst []byte, subject string, hdr, msg []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(subject)))
	dst = append(dst, subject...)
	dst = binary.AppendUvarint(dst, uint64(len(hdr)))
	dst = append(dst, hdr...)
	return append(dst, msg...)
}

// payloadBytes returns the length of the plain payload appendPayload encodes.
func payloadBytes(subject string, hdr, msg []byte) int {
	return uvarintBytes(uint64(len(subject))) + len(subject) + uvarintBytes(uint64(len(hdr))) + len(hdr) + len(msg)
}

// uvarintBytes returns the length of v's uvarint encoding.
func uvarintBytes(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// appendPlainMsgRecord appends a whole message record with a plain payload (neither
// compressed nor encrypted): the bytes of appendRecord(dst, appendMsgBody(nil, 0,
// seq, ts, ttl, appendPayload(nil, subject, hdr, msg))), built in place.
func appendPlainMsgRecord(dst []byte, seq uint64, ts, ttl int64, subject string, hdr, msg []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, kindMsg, 0)
	dst = binary.AppendUvarint(dst, seq)
	dst = binary.AppendVarint(dst, ts)
	dst = binary.AppendVarint(dst, ttl)
	dst = appendPayload(dst, subject, hdr, msg)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-recordHeaderBytes))
	crc := store.Checksum(dst[start : start+4])
	crc = crcUpdate(crc, dst[start+recordHeaderBytes:])
	binary.LittleEndian.PutUint32(dst[start+4:], crc)
	return dst
}

// decodePayload splits a plain payload; the slices alias it.
func decodePayload(p []byte) (subject, hdr, msg []byte, err error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, nil, nil, errBadRecord
	}
	subject = p[k : k+int(n)]
	p = p[k+int(n):]
	n, k = binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, nil, nil, errBadRecord
	}
	hdr = p[k : k+int(n)]
	msg = p[k+int(n):]
	return subject, hdr, msg, nil
}

// uvarints decodes count uvarints following the kind byte of body.
func uvarints(body []byte, count int) ([]uint64, []byte, error) {
	out := make([]uint64, count)
	r := body[1:]
	for i := range out {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			return nil, nil, errBadRecord
		}
		out[i] = v
		r = r[n:]
	}
	return out, r, nil
}
