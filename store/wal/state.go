package wal

import (
	"encoding/binary"
	"hash/crc32"

	pb "github.com/natsim/natsim/raft/raftpb"
)

// The state file holds what the log alone cannot prove after a crash: the hard state,
// the last index and term made durable by a completed sync (everything up to it may
// have been acknowledged to a leader), and the repair marker. It has two slots in
// separate 512-byte sectors, written alternately, each with a sequence number and a checksum: a
// write torn by a power loss leaves the other slot intact, and the newest valid slot
// wins.
const (
	stateSlotBytes = 64
	// stateSlotStride puts the slots in separate 512-byte sectors; on a drive with
	// larger sectors both share one, whose write rewrites the other slot's bytes with
	// their own value, so a torn write still leaves one slot intact.
	stateSlotStride = 512
	stateSlots      = 2
	stateMagic      = 0x5257534c // "RWSL"
)

// stateRecord is the content of one slot.
type stateRecord struct {
	sequence     uint64
	hardState    pb.HardState
	durableIndex uint64
	durableTerm  uint64
	repairIndex  uint64
}

func (s stateRecord) encode() []byte {
	b := make([]byte, 0, stateSlotBytes)
	b = binary.LittleEndian.AppendUint32(b, stateMagic)
	for _, v := range []uint64{s.sequence, s.hardState.Term, s.hardState.Vote, s.hardState.Commit,
		s.durableIndex, s.durableTerm, s.repairIndex} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// stateRecordBytes is the encoded size of a stateRecord.
const stateRecordBytes = 4 + 7*8 + 4

// decodeStateRecord decodes a slot. empty reports an all-zero slot (never written);
// ok reports a valid one. A slot neither empty nor valid is damaged.
func decodeStateRecord(b []byte) (s stateRecord, empty, ok bool) {
	empty = true
	for _, c := range b {
		if c != 0 {
			empty = false
			break
		}
	}
	if empty || len(b) < stateRecordBytes {
		return stateRecord{}, empty, false
	}
	b = b[:stateRecordBytes]
	if binary.LittleEndian.Uint32(b) != stateMagic ||
		crc32.Checksum(b[:stateRecordBytes-4], castagnoli) != binary.LittleEndian.Uint32(b[stateRecordBytes-4:]) {
		return stateRecord{}, false, false
	}
	v := func(i int) uint64 { return binary.LittleEndian.Uint64(b[4+8*i:]) }
	s = stateRecord{
		sequence:     v(0),
		hardState:    pb.HardState{Term: v(1), Vote: v(2), Commit: v(3)},
		durableIndex: v(4),
		durableTerm:  v(5),
		repairIndex:  v(6),
	}
	return s, false, true
}

// newerHardState reports whether a is newer than b: a later term, or the same term with
// a vote cast, or the same term and vote with a higher commit.
func newerHardState(a, b pb.HardState) bool {
	if a.Term != b.Term {
		return a.Term > b.Term
	}
	if (a.Vote != 0) != (b.Vote != 0) {
		return a.Vote != 0
	}
	return a.Commit > b.Commit
}
