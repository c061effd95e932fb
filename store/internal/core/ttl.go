package core

import (
	"encoding/binary"
	"errors"

	"github.com/natsim/natsim/ds/thw"
)

// ErrStaleTTLs reports a saved TTL wheel that does not describe the stream: its high
// sequence differs from the stream's last sequence, or it holds fewer entries than the
// stream has messages with a TTL.
var ErrStaleTTLs = errors.New("core: saved TTL state is stale")

// DeferTTLs stops maintaining the TTL wheel until FinishTTLs: a journal replay records
// each message's TTL but leaves the wheel empty, so that a saved wheel can be loaded
// instead of adding every entry again.
func (s *Stream) DeferTTLs() {
	s.ttlsDeferred = true
	s.ttls = thw.NewHashWheel()
}

// FinishTTLs ends a deferral. With saved (an Encode snapshot) it loads the wheel from
// it when the snapshot is current: stamped with the stream's last sequence and holding
// at least every message's positive TTL (entries of messages removed since are
// harmless: they expire into a removal of nothing). Otherwise, or when the snapshot
// does not decode, it rebuilds the wheel from the messages and returns why.
func (s *Stream) FinishTTLs(saved []byte) error {
	s.ttlsDeferred = false
	var expiring uint64
	for _, ttl := range s.ttlBySeq {
		if ttl > 0 {
			expiring++
		}
	}
	err := s.loadTTLs(saved, expiring)
	if err == nil {
		return nil
	}
	s.ttls = thw.NewHashWheel()
	if expiring > 0 {
		for i := s.head; i < len(s.entries); i++ {
			e := &s.entries[i]
			if e.Deleted || !e.HasTTL {
				continue
			}
			if ttl := s.ttlBySeq[e.Seq]; ttl > 0 {
				s.ttls.Add(e.Seq, e.TS+ttl)
			}
		}
	}
	return err
}

// loadTTLs decodes a saved wheel and checks it against the stream.
func (s *Stream) loadTTLs(saved []byte, expiring uint64) error {
	if saved == nil {
		return ErrStaleTTLs
	}
	// Version 2 starts with the version byte and the entry count.
	if len(saved) < 2 || saved[0] != 2 {
		return ErrStaleTTLs
	}
	count, n := binary.Uvarint(saved[1:])
	if n <= 0 || count < expiring {
		return ErrStaleTTLs
	}
	wheel := thw.NewHashWheel()
	high, err := wheel.Decode(saved)
	if err != nil {
		return err
	}
	if high != s.last {
		return ErrStaleTTLs
	}
	s.ttls = wheel
	return nil
}

// EncodeTTLs snapshots the TTL wheel stamped with the last sequence.
func (s *Stream) EncodeTTLs() []byte { return s.ttls.Encode(s.last) }

// HasTTLs reports whether any message has a TTL.
func (s *Stream) HasTTLs() bool { return len(s.ttlBySeq) > 0 }
