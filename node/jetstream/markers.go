package jetstream

import (
	"sort"
	"sync"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// removalsMax bounds the removed subjects one expiry pass collects for subject
// delete markers; past it the rest get no marker.
const removalsMax = 4096

// removalLog collects the subjects of messages the store removes one by one while
// the stream expires messages, so that it can place subject delete markers. The
// store calls it with its own lock held, so it only records.
type removalLog struct {
	mu         sync.Mutex
	collecting bool
	removed    []removal
}

type removal struct {
	seq     uint64
	subject string
}

func (r *removalLog) record(msgs, _ int64, seq uint64, subject string) {
	if msgs >= 0 || subject == "" {
		return
	}
	r.mu.Lock()
	if r.collecting && len(r.removed) < removalsMax {
		r.removed = append(r.removed, removal{seq: seq, subject: subject})
	}
	r.mu.Unlock()
}

func (r *removalLog) start() {
	r.mu.Lock()
	r.collecting = true
	r.removed = r.removed[:0]
	r.mu.Unlock()
}

func (r *removalLog) finish() []removal {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collecting = false
	removed := r.removed
	r.removed = nil
	return removed
}

// placeMarkersLocked writes a subject delete marker for every subject that lost its
// last message to age expiry: an empty message with Nats-Marker-Reason: MaxAge and a
// Nats-TTL of subject_delete_marker_ttl, which itself expires. Markers that expire
// get no marker of their own.
func (s *Stream) placeMarkersLocked(removed []removal, now int64) {
	ttl := s.config.SubjectDeleteMarkerTTL
	if ttl <= 0 || s.config.MaxAge <= 0 || len(removed) == 0 {
		return
	}
	subjects := make(map[string]bool)
	for _, r := range removed {
		if _, marker := s.markers[r.seq]; marker {
			delete(s.markers, r.seq)
			continue
		}
		subjects[r.subject] = true
	}
	names := make([]string, 0, len(subjects))
	for name := range subjects {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if s.store.FilteredState(1, name).Msgs > 0 {
			continue
		}
		hdr := header.Build(0, "", jsapi.HeaderMarkerReason, jsapi.MarkerReasonMaxAge, jsapi.HeaderTTL, ttl.String())
		seq, _, err := s.store.StoreMsg(name, hdr, nil, now, int64(ttl))
		if err != nil {
			if err != store.ErrMsgTTLDisabled {
				s.manager.logger.Warnf("JetStream stream %s delete marker for %q: %v", s.describe(), name, err)
			}
			continue
		}
		if s.markers == nil {
			s.markers = make(map[uint64]struct{})
		}
		s.markers[seq] = struct{}{}
		s.waitDurableLocked(completion{stored: true, subject: name, header: hdr, timestamp: now,
			ack: jsapi.PubAck{Stream: s.config.Name, Sequence: seq}})
	}
}
