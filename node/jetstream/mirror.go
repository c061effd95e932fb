package jetstream

import (
	"bytes"
	"strings"

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
		entry.header = mirroredHeader(delivered.Header)
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

// mirroredHeader is the origin's header without its expectation and batch headers,
// which the mirror must not check again, and nil when nothing else is left: the
// reference's mirror stores such a message without headers.
func mirroredHeader(origin []byte) []byte {
	if !bytes.Contains(origin, []byte("Nats-Expected-")) && !bytes.Contains(origin, []byte(batchHeaderPrefix)) {
		return bytes.Clone(origin)
	}
	parsed, err := header.Parse(origin)
	if err != nil {
		return bytes.Clone(origin)
	}
	out := header.AppendStatus(make([]byte, 0, len(origin)), parsed.Status, string(parsed.Description))
	kept := 0
	for _, field := range parsed.Fields {
		key := string(field.Key)
		if strings.HasPrefix(key, "Nats-Expected-") || strings.HasPrefix(key, batchHeaderPrefix) {
			continue
		}
		out = header.AppendField(out, key, string(field.Value))
		kept++
	}
	if kept == 0 && parsed.Status == 0 {
		return nil
	}
	return header.AppendEnd(out)
}
