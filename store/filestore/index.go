package filestore

import (
	"encoding/binary"
	"fmt"
	"path"

	"github.com/natsim/natsim/store"
)

// The block index (blocks.idx) records, for every block known durable, its durable
// length. It is written atomically when a block is sealed and at Stop, after the
// blocks and the directory are synced, so every length it names is on the disk.
// Recovery never needs it: it only tells a block cut at rest (shorter than recorded,
// corruption) from a torn tail (bytes never synced), and a lost block from one never
// made durable. A missing or stale index is harmless; a damaged one is reported.
const (
	blockIndexFileName = "blocks.idx"
	blockIndexKind     = 'I'
	// blockIndexEntriesMax bounds the entries a decoder accepts.
	blockIndexEntriesMax = 1 << 24
)

func encodeBlockIndex(blocks []*block) []byte {
	body := []byte{blockIndexKind}
	body = binary.AppendUvarint(body, uint64(len(blocks)))
	for _, b := range blocks {
		body = binary.AppendUvarint(body, uint64(b.id))
		body = binary.AppendUvarint(body, uint64(b.synced))
	}
	return appendRecord(nil, body)
}

// decodeBlockIndex returns block id -> durable length.
func decodeBlockIndex(data []byte) (map[uint32]int64, error) {
	body, n, _, err := parseRecord(data)
	if err != nil || n != len(data) || body[0] != blockIndexKind {
		return nil, errBadRecord
	}
	r := body[1:]
	count, k := binary.Uvarint(r)
	if k <= 0 || count > blockIndexEntriesMax || count > uint64(len(r)) {
		return nil, errBadRecord
	}
	r = r[k:]
	out := make(map[uint32]int64, count)
	for range count {
		id, k1 := binary.Uvarint(r)
		if k1 <= 0 {
			return nil, errBadRecord
		}
		size, k2 := binary.Uvarint(r[k1:])
		if k2 <= 0 || id == 0 || id > 1<<32-1 || size > 1<<40 {
			return nil, errBadRecord
		}
		r = r[k1+k2:]
		out[uint32(id)] = int64(size)
	}
	if len(r) != 0 {
		return nil, errBadRecord
	}
	return out, nil
}

func (s *Store) blockIndexPath() string { return path.Join(s.config.Dir, blockIndexFileName) }

// writeBlockIndex records the durable lengths of the blocks that are fully synced,
// after making their directory entries durable.
func (s *Store) writeBlockIndex() error {
	if err := s.config.FS.SyncDir(s.msgsDir()); err != nil {
		return err
	}
	return writeFileAtomic(s.config.FS, s.blockIndexPath(), encodeBlockIndex(s.durableBlocksLocked()))
}

// durableBlocksLocked lists the blocks with synced bytes, for the block index.
func (s *Store) durableBlocksLocked() []*block {
	var durable []*block
	for _, b := range s.blocks {
		if b.synced > 0 {
			durable = append(durable, b)
		}
	}
	return durable
}

// readBlockIndex loads the block index; a damaged one is reported and ignored.
func (s *Store) readBlockIndex() map[uint32]int64 {
	data, err := readFile(s.config.FS, s.blockIndexPath())
	if err != nil {
		if !isNotExist(err) {
			s.corruption = append(s.corruption, &store.CorruptError{File: s.blockIndexPath(), Reason: fmt.Sprintf("block index unreadable: %v", err)})
		}
		return nil
	}
	index, err := decodeBlockIndex(data)
	if err != nil {
		s.corruption = append(s.corruption, &store.CorruptError{File: s.blockIndexPath(), Reason: "block index checksum mismatch; rebuilt from the blocks"})
		return nil
	}
	return index
}
