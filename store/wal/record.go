package wal

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// A record on disk is a header followed by its payload:
//
//	length  uint32 little endian: the payload's length in bytes
//	crc     uint32 little endian: CRC-32C of the kind byte and the payload
//	kind    byte
//	payload length bytes (a raftpb encoding, itself checksummed)
//
// The checksum covers the kind and payload; the length is checked against
// recordPayloadBytesMax and the bytes that remain, so a corrupt length is reported as
// a damaged record, never trusted for an allocation.
const (
	recordHeaderBytes = 9
	// recordPayloadBytesMax bounds one record's payload: a length beyond it is damage.
	recordPayloadBytesMax = 64 << 20
)

// The record kinds.
const (
	kindEntry     byte = 'E'
	kindHardState byte = 'H'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of the record decoder.
var (
	// errTruncatedRecord: the bytes end inside a record.
	errTruncatedRecord = errors.New("wal: truncated record")
	// errCorruptRecord: a record's checksum, kind or length is wrong.
	errCorruptRecord = errors.New("wal: corrupt record")
)

// appendRecord appends one framed record to dst.
func appendRecord(dst []byte, kind byte, payload []byte) []byte {
	crc := crc32.Update(crc32.Checksum([]byte{kind}, castagnoli), castagnoli, payload)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc)
	dst = append(dst, kind)
	return append(dst, payload...)
}

// decodeRecord decodes the record at the start of data and returns its kind, payload
// (aliasing data) and total size. An all-zero header is reported as truncated: it is
// where a preallocated or torn region begins.
func decodeRecord(data []byte) (kind byte, payload []byte, size int, err error) {
	if len(data) < recordHeaderBytes {
		return 0, nil, 0, errTruncatedRecord
	}
	length := binary.LittleEndian.Uint32(data)
	crc := binary.LittleEndian.Uint32(data[4:])
	kind = data[8]
	if length == 0 && crc == 0 && kind == 0 {
		return 0, nil, 0, errTruncatedRecord
	}
	if length > recordPayloadBytesMax {
		return 0, nil, 0, errCorruptRecord
	}
	end := recordHeaderBytes + int(length)
	if len(data) < end {
		return 0, nil, 0, errTruncatedRecord
	}
	payload = data[recordHeaderBytes:end]
	if crc32.Update(crc32.Checksum([]byte{kind}, castagnoli), castagnoli, payload) != crc {
		return 0, nil, 0, errCorruptRecord
	}
	if kind != kindEntry && kind != kindHardState {
		return 0, nil, 0, errCorruptRecord
	}
	return kind, payload, end, nil
}
