package thw

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// The encoding's first byte is its version.
//
// Version 2 (written by Encode), deterministic for a given set of entries:
//
//	version                 1 byte, 2
//	count                   uvarint, the number of entries
//	high sequence           uvarint, the caller's stamp
//	entries, ascending by (expiration, sequence):
//	  expiration            first entry: varint (zig-zag); later entries: uvarint
//	                        difference from the previous entry's expiration
//	  sequence              uvarint
//
// Entries that expire together, the common case, take a zero byte for their time.
//
// Version 1 (decoded only): the reference server's layout, whose entries come in map
// order:
//
//	version                 1 byte, 1
//	count                   uint64 little-endian
//	high sequence           uint64 little-endian
//	entries:                expiration varint, sequence uvarint
const (
	encodingVersion   = 2
	encodingVersionV1 = 1
	v1HeaderBytes     = 1 + 8 + 8
	// entryBytesMin is the smallest encoded entry in either version; Decode uses it to
	// refuse counts the input cannot hold.
	entryBytesMin = 2
)

// Encode returns a snapshot of every scheduled entry, stamped with highSeq (the
// highest sequence the snapshot covers, returned again by Decode).
func (w *HashWheel) Encode(highSeq uint64) []byte {
	entries := make([]entry, 0, w.count)
	for _, s := range w.wheel {
		if s == nil {
			continue
		}
		for seq, expires := range s.entries {
			entries = append(entries, entry{seq, expires})
		}
	}
	// Sorting makes the bytes independent of map iteration order.
	slices.SortFunc(entries, compareEntries)
	buf := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(entries)*(1+binary.MaxVarintLen64))
	buf = append(buf, encodingVersion)
	buf = binary.AppendUvarint(buf, uint64(len(entries)))
	buf = binary.AppendUvarint(buf, highSeq)
	for i, e := range entries {
		if i == 0 {
			buf = binary.AppendVarint(buf, e.expires)
		} else {
			buf = binary.AppendUvarint(buf, uint64(e.expires)-uint64(entries[i-1].expires))
		}
		buf = binary.AppendUvarint(buf, e.seq)
	}
	return buf
}

// Decode replaces the wheel's entries with those of a snapshot made by Encode (or by
// the reference server's version 1 layout) and returns the snapshot's high sequence.
// The whole input must be the snapshot. On error the wheel is unchanged; truncated or
// inconsistent input returns ErrBadEncoding (wrapped), an unknown version
// ErrInvalidVersion.
func (w *HashWheel) Decode(buf []byte) (highSeq uint64, err error) {
	if len(buf) == 0 {
		return 0, fmt.Errorf("%w: empty input", ErrBadEncoding)
	}
	var decoded *HashWheel
	switch buf[0] {
	case encodingVersion:
		decoded, highSeq, err = decodeV2(buf)
	case encodingVersionV1:
		decoded, highSeq, err = decodeV1(buf)
	default:
		return 0, fmt.Errorf("%w: version %d", ErrInvalidVersion, buf[0])
	}
	if err != nil {
		return 0, err
	}
	w.wheel, w.count, w.lowest, w.lowestExact = decoded.wheel, decoded.count, decoded.lowest, decoded.lowestExact
	return highSeq, nil
}

// uvarint reads a uvarint at *at and advances it.
func uvarint(buf []byte, at *int, field string) (uint64, error) {
	v, n := binary.Uvarint(buf[*at:])
	if n <= 0 {
		return 0, fmt.Errorf("%w: %s at byte %d is truncated or overflows", ErrBadEncoding, field, *at)
	}
	*at += n
	return v, nil
}

// varint reads a zig-zag varint at *at and advances it.
func varint(buf []byte, at *int, field string) (int64, error) {
	v, n := binary.Varint(buf[*at:])
	if n <= 0 {
		return 0, fmt.Errorf("%w: %s at byte %d is truncated or overflows", ErrBadEncoding, field, *at)
	}
	*at += n
	return v, nil
}

func decodeV2(buf []byte) (*HashWheel, uint64, error) {
	at := 1
	count, err := uvarint(buf, &at, "count")
	if err != nil {
		return nil, 0, err
	}
	highSeq, err := uvarint(buf, &at, "high sequence")
	if err != nil {
		return nil, 0, err
	}
	if count > uint64(len(buf)-at)/entryBytesMin {
		return nil, 0, fmt.Errorf("%w: %d entries cannot fit in %d bytes", ErrBadEncoding, count, len(buf)-at)
	}
	w := &HashWheel{}
	expires := int64(0)
	for i := uint64(0); i < count; i++ {
		if i == 0 {
			expires, err = varint(buf, &at, "expiration")
		} else {
			var delta uint64
			delta, err = uvarint(buf, &at, "expiration delta")
			// The room above expires, computed in uint64 since it exceeds MaxInt64
			// when expires is negative.
			if err == nil && delta > uint64(math.MaxInt64)-uint64(expires) {
				err = fmt.Errorf("%w: expiration delta %d overflows after %d", ErrBadEncoding, delta, expires)
			}
			expires = int64(uint64(expires) + delta)
		}
		if err != nil {
			return nil, 0, err
		}
		seq, err := uvarint(buf, &at, "sequence")
		if err != nil {
			return nil, 0, err
		}
		w.Add(seq, expires)
	}
	return w, highSeq, decodeCheckEnd(w, count, buf, at)
}

func decodeV1(buf []byte) (*HashWheel, uint64, error) {
	if len(buf) < v1HeaderBytes {
		return nil, 0, fmt.Errorf("%w: version 1 header needs %d bytes, got %d", ErrBadEncoding, v1HeaderBytes, len(buf))
	}
	count := binary.LittleEndian.Uint64(buf[1:])
	highSeq := binary.LittleEndian.Uint64(buf[9:])
	at := v1HeaderBytes
	if count > uint64(len(buf)-at)/entryBytesMin {
		return nil, 0, fmt.Errorf("%w: %d entries cannot fit in %d bytes", ErrBadEncoding, count, len(buf)-at)
	}
	w := &HashWheel{}
	for i := uint64(0); i < count; i++ {
		expires, err := varint(buf, &at, "expiration")
		if err != nil {
			return nil, 0, err
		}
		seq, err := uvarint(buf, &at, "sequence")
		if err != nil {
			return nil, 0, err
		}
		w.Add(seq, expires)
	}
	return w, highSeq, decodeCheckEnd(w, count, buf, at)
}

// decodeCheckEnd rejects input with bytes after the last entry, and entries that
// repeat a sequence within a slot (they would have replaced each other).
func decodeCheckEnd(w *HashWheel, count uint64, buf []byte, at int) error {
	if at != len(buf) {
		return fmt.Errorf("%w: %d bytes after the last entry", ErrBadEncoding, len(buf)-at)
	}
	if w.count != count {
		return fmt.Errorf("%w: %d entries but %d distinct", ErrBadEncoding, count, w.count)
	}
	return nil
}
