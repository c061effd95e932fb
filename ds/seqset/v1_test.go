package seqset

import (
	"encoding/binary"
	"slices"
)

// encodeV1 writes sorted, distinct sequences in the version 1 layout. Only tests write
// version 1; it produced the committed vector in TestDecodeVersion1Vector and feeds the
// version 1 round-trip and fuzz seeds.
func encodeV1(seqs []uint64) []byte {
	type record struct {
		base  uint64
		words [v1ChunkWords]uint64
	}
	var records []*record
	for _, seq := range seqs {
		base := seq - seq%v1ChunkSize
		if len(records) == 0 || records[len(records)-1].base != base {
			records = append(records, &record{base: base})
		}
		rel := seq - base
		records[len(records)-1].words[rel/wordBits] |= 1 << (rel % wordBits)
	}
	buf := []byte{encodingMagic, encodingVersionV1}
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(records)))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(seqs)))
	for _, r := range records {
		buf = binary.LittleEndian.AppendUint64(buf, r.base)
		for _, word := range r.words {
			buf = binary.LittleEndian.AppendUint64(buf, word)
		}
		// The height field is ignored by the decoder; write a plausible value.
		buf = binary.LittleEndian.AppendUint16(buf, 1)
	}
	return buf
}

// version1VectorSeqs are the sequences of the committed version 1 vector.
var version1VectorSeqs = slices.Concat(
	[]uint64{1, 2, 3, 63, 64, 1023, 1024, 2047, 2048, 5000},
	[]uint64{70000, 70001, 70002, 70003, 70004, 70005},
	[]uint64{1 << 40, 1<<64 - 1},
)
