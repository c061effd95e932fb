package jetstream

import (
	"bytes"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// A mirror is a stream whose configuration has `mirror`: it has no subjects of its
// own and holds a copy of its origin's messages under the origin's sequence numbers,
// with the origin's timestamps and headers. Sequences the origin does not have (or
// that a filter leaves out) are skipped, so that every mirrored message keeps its
// number. The copy follows the origin through a sourceLink (source_link.go).

// startMirror starts following the origin of a mirror, after the stream's last
// sequence (which is the origin's last stored one).
func (s *Stream) startMirror(source jsapi.StreamSource) *sourceLink {
	link := newSourceLink(s, source, true, s.storeMirrored)
	var state store.StreamState
	s.store.FastState(&state)
	link.start(state.LastSeq)
	return link
}

// storeMirrored stores one origin message under its origin sequence. It runs with
// the link's lock held, which keeps the messages of one origin in order.
func (s *Stream) storeMirrored(link *sourceLink, delivered *Msg, reply jsapi.AckReply) *jsapi.Error {
	entry := publishEntry{subject: link.transformSubject(delivered.Subject), timestamp: reply.Timestamp,
		data: bytes.Clone(delivered.Data)}
	if len(delivered.Header) > 0 {
		entry.header = withoutBatchHeaders(bytes.Clone(delivered.Header))
	}
	if apiErr := s.checkAccountLimits(len(entry.header) + len(entry.data) + len(entry.subject)); apiErr != nil {
		return apiErr
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return jsapi.NewStreamNotFoundError()
	}
	var state store.StreamState
	s.store.FastState(&state)
	if reply.StreamSeq <= state.LastSeq {
		// Already here: a consumer recreated from an older position sent it again.
		s.mu.Unlock()
		return nil
	}
	if gap := reply.StreamSeq - state.LastSeq - 1; gap > 0 {
		if err := s.store.SkipMsgs(state.LastSeq+1, gap); err != nil {
			s.mu.Unlock()
			return jsapi.NewStreamStoreFailedError(err)
		}
	}
	if value, ok := header.Get(entry.header, jsapi.HeaderTTL); ok && s.config.AllowMsgTTL {
		if ttl, err := parseMessageTTL(string(value)); err == nil {
			entry.ttl = ttl
		}
	}
	done := s.applyLocked(&entry)
	if done.failure != nil {
		s.mu.Unlock()
		return done.failure
	}
	s.waitDurableLocked(done)
	s.armExpiryLocked()
	s.mu.Unlock()
	s.drain()
	return nil
}
