package filestore

import (
	"encoding/binary"
	"path"
)

// The TTL file (ttl.dat) saves the time hash wheel of message TTLs (ds/thw Encode,
// stamped with the last sequence), framed as a checksummed record and sealed when the
// store is encrypted. It is written at Stop and when a block is sealed, without fsync,
// and loaded at open only when its checksum holds and its stamp is the recovered last
// sequence and the messages with a TTL are the ones it was saved with (a count and a
// digest of their sequences and expirations, which the file carries); otherwise the
// wheel is rebuilt from the messages' TTLs. Its entries for messages removed before
// it was written are harmless (they expire into a removal of nothing); a message it
// lacked would never expire, which the digest rules out, and a Truncate, the one
// operation that can bring a sequence back, also durably removes the file first.
const (
	ttlFileName      = "ttl.dat"
	ttlFileKind byte = 'T'
)

func (s *Store) ttlFilePath() string { return path.Join(s.config.Dir, ttlFileName) }

// writeTTLFile saves the wheel when any message has a TTL, or a saved wheel may need
// replacing. It is best effort: a lost or failed write costs a rebuild at open.
func (s *Store) writeTTLFile() {
	if !s.stream.HasTTLs() && !s.ttlFileMayExist {
		return
	}
	s.ttlFileMayExist = true
	count, digest := s.stream.TTLDigest()
	body := binary.AppendUvarint([]byte{ttlFileKind}, count)
	body = binary.LittleEndian.AppendUint64(body, digest)
	plain := appendRecord(nil, append(body, s.stream.EncodeTTLs()...))
	name := s.ttlFilePath()
	data, err := s.sealAuxFile(name, plain)
	if err == nil {
		err = writeFileUnsynced(s.config.FS, name, data)
	}
	if err != nil {
		s.recovery.IndexWriteErrors++
	}
}

// readTTLFile returns the saved wheel's encoding and the TTL digest it was saved
// with, or nil when there is none usable.
func (s *Store) readTTLFile() (wheel []byte, count, digest uint64) {
	name := s.ttlFilePath()
	data, err := readFile(s.config.FS, name)
	if err != nil {
		return nil, 0, 0
	}
	s.ttlFileMayExist = true
	plain, err := s.openAuxFile(name, data)
	if err != nil {
		s.recovery.TTLsRejected = true
		return nil, 0, 0
	}
	body, n, _, err := parseRecord(plain)
	if err != nil || n != len(plain) || body[0] != ttlFileKind {
		s.recovery.TTLsRejected = true
		return nil, 0, 0
	}
	d := indexDecoder{buf: body[1:]}
	count = d.uvarint()
	if len(d.buf) < 8 || d.bad {
		s.recovery.TTLsRejected = true
		return nil, 0, 0
	}
	digest = binary.LittleEndian.Uint64(d.buf)
	return d.buf[8:], count, digest
}

// finishTTLs ends the replay's deferral of the TTL wheel: loaded from the TTL file
// when it is current, rebuilt from the messages otherwise.
func (s *Store) finishTTLs() {
	saved, count, digest := s.readTTLFile()
	err := s.stream.FinishTTLs(saved, count, digest)
	s.recovery.TTLsLoaded = err == nil
	if err != nil && saved != nil {
		s.recovery.TTLsRejected = true
	}
}

// dropTTLFile durably removes the TTL file before a Truncate: sequences above the
// truncation may be stored again with other TTLs, and a saved wheel stamped with the
// same last sequence must not describe the old ones.
func (s *Store) dropTTLFile() error {
	if !s.ttlFileMayExist {
		return nil
	}
	if err := s.config.FS.Remove(s.ttlFilePath()); err != nil && !isNotExist(err) {
		return err
	}
	if err := s.config.FS.SyncDir(s.config.Dir); err != nil {
		return err
	}
	s.ttlFileMayExist = false
	return nil
}
