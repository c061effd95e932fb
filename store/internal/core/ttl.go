package core

import (
	"errors"

	"github.com/natsim/natsim/ds/thw"
)

// ErrStaleTTLs reports a saved TTL wheel that does not describe the stream: its high
// sequence differs from the stream's last sequence, or the messages with a TTL differ.
var ErrStaleTTLs = errors.New("core: saved TTL state is stale")

// DeferTTLs stops maintaining the TTL wheel until FinishTTLs: a journal replay records
// each message's TTL but leaves the wheel empty, so that a saved wheel can be loaded
// instead of adding every entry again.
func (s *Stream) DeferTTLs() {
	s.ttlsDeferred = true
	s.ttls = thw.NewHashWheel()
}

// FinishTTLs ends a deferral. With saved (an Encode snapshot, and the TTLDigest of
// the stream when it was taken) it loads the wheel from it when the snapshot is
// current: stamped with the stream's last sequence, and taken when the messages with
// a TTL were exactly the ones the stream now has (entries of messages removed before
// it was taken are harmless: they expire into a removal of nothing). Otherwise, or
// when the snapshot does not decode, it rebuilds the wheel from the messages and
// returns why.
func (s *Stream) FinishTTLs(saved []byte, count, digest uint64) error {
	s.ttlsDeferred = false
	err := ErrStaleTTLs
	if saved != nil {
		if gotCount, gotDigest := s.TTLDigest(); gotCount == count && gotDigest == digest {
			err = s.loadTTLs(saved)
		}
	}
	if err == nil {
		return nil
	}
	s.ttls = thw.NewHashWheel()
	if len(s.ttlBySeq) > 0 {
		for i := s.head; i < s.entries.len(); i++ {
			e := s.entries.at(i)
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

// TTLDigest returns how many messages have a positive TTL and a digest of their
// sequences and expiration times, in sequence order.
func (s *Stream) TTLDigest() (count, digest uint64) {
	if len(s.ttlBySeq) == 0 {
		return 0, 0
	}
	digest = 14695981039346656037
	for i := s.head; i < s.entries.len(); i++ {
		e := s.entries.at(i)
		if e.Deleted || !e.HasTTL {
			continue
		}
		ttl := s.ttlBySeq[e.Seq]
		if ttl <= 0 {
			continue
		}
		count++
		digest = (digest ^ e.Seq) * 1099511628211
		digest = (digest ^ uint64(e.TS+ttl)) * 1099511628211
	}
	return count, digest
}

// loadTTLs decodes a saved wheel and checks its stamp against the stream.
func (s *Stream) loadTTLs(saved []byte) error {
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
