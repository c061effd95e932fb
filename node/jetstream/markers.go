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
// the stream expires messages, so that it can place subject delete markers, and
// keeps the sequences of the messages that are markers themselves (delete markers,
// KV delete and purge operations), whose expiry places no marker. The store calls
// record with its own lock held, so it only records.
type removalLog struct {
	mu         sync.Mutex
	collecting bool
	removed    []removal
	markers    map[uint64]struct{}
}

type removal struct {
	seq     uint64
	subject string
	marker  bool
}

// markersMax bounds the marker sequences remembered; past it, an expiring marker
// may get a marker of its own.
const markersMax = 1 << 20

func (r *removalLog) record(msgs, _ int64, seq uint64, subject string) {
	if msgs >= 0 || subject == "" {
		return
	}
	r.mu.Lock()
	_, marker := r.markers[seq]
	if marker {
		delete(r.markers, seq)
	}
	if r.collecting && len(r.removed) < removalsMax {
		r.removed = append(r.removed, removal{seq: seq, subject: subject, marker: marker})
	}
	r.mu.Unlock()
}

// addMarker remembers that the message at seq is a marker.
func (r *removalLog) addMarker(seq uint64) {
	r.mu.Lock()
	if r.markers == nil {
		r.markers = make(map[uint64]struct{})
	}
	if len(r.markers) < markersMax {
		r.markers[seq] = struct{}{}
	}
	r.mu.Unlock()
}

// isMarkerHeader reports whether a message is a delete marker by its headers: a
// subject delete marker, or a KV delete or purge operation.
func isMarkerHeader(hdr []byte) bool {
	if len(hdr) == 0 {
		return false
	}
	if _, ok := header.Get(hdr, jsapi.HeaderMarkerReason); ok {
		return true
	}
	operation, ok := header.Get(hdr, kvOperationHeader)
	return ok && (string(operation) == "DEL" || string(operation) == "PURGE")
}

// kvOperationHeader is the header nats.go's KV sets on delete and purge operations.
const kvOperationHeader = "KV-Operation"

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
// last message to expiry (max_age or its own TTL, as the reference): an empty
// message with Nats-Marker-Reason: MaxAge and a Nats-TTL of
// subject_delete_marker_ttl, which itself expires. Markers that expire get no marker
// of their own.
func (s *Stream) placeMarkersLocked(removed []removal, now int64) {
	ttl := s.config.SubjectDeleteMarkerTTL
	if ttl <= 0 || len(removed) == 0 {
		return
	}
	subjects := make(map[string]bool)
	for _, r := range removed {
		if !r.marker {
			subjects[r.subject] = true
		}
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
		s.removals.addMarker(seq)
		s.waitDurableLocked(completion{stored: true, subject: name, header: hdr, timestamp: now,
			ack: jsapi.PubAck{Stream: s.config.Name, Sequence: seq}})
	}
}

// recoverMarkersLocked finds the markers still in the store at open, so that their
// expiry places no new marker. It reads back the newest messages up to a bound:
// subject delete markers are all younger than subject_delete_marker_ttl, and older
// KV delete operations past the bound may, when they expire, get a marker.
func (s *Stream) recoverMarkersLocked() {
	if s.config.SubjectDeleteMarkerTTL <= 0 {
		return
	}
	var state store.StreamState
	s.store.FastState(&state)
	seq := state.LastSeq
	for scanned := 0; seq >= state.FirstSeq && seq > 0 && scanned < dedupRecoverScanMax; scanned++ {
		message, err := s.store.LoadPrevMsg(seq, nil)
		if err != nil {
			break
		}
		if isMarkerHeader(message.Hdr) {
			s.removals.addMarker(message.Seq)
		}
		if message.Seq == 0 {
			break
		}
		seq = message.Seq - 1
	}
}
