package jetstream

import (
	"errors"
	"strconv"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// lostMessagesMax bounds the lost sequences STREAM.INFO lists.
const lostMessagesMax = 10_000

// Info describes the stream: configuration, creation time and state, with the
// deleted sequences when asked and the subjects matching subjectsFilter.
func (s *Stream) Info(deletedDetails bool, subjectsFilter string) *jsapi.StreamInfo {
	config := s.Config()
	consumers := s.consumerCount()
	var state store.StreamState
	if deletedDetails {
		state = s.store.State()
	} else {
		s.store.FastState(&state)
	}
	info := &jsapi.StreamInfo{Config: config, Created: s.created, Domain: s.manager.config.Domain,
		TimeStamp: s.manager.config.Env.Clock.Now().UTC()}
	info.State = jsapi.StreamState{Msgs: state.Msgs, Bytes: state.Bytes, FirstSeq: state.FirstSeq,
		LastSeq: state.LastSeq, NumSubjects: state.NumSubjects, NumDeleted: state.NumDeleted,
		Consumers: consumers}
	if state.LastSeq == 0 && state.FirstSeq <= 1 && config.FirstSeq == 0 {
		// A stream that never held a message reports first_seq 0 as the reference
		// does (its stores start there); ours start at 1, ready for the first store.
		info.State.FirstSeq = 0
	}
	if !state.FirstTime.IsZero() {
		info.State.FirstTime = state.FirstTime.UTC()
	}
	if !state.LastTime.IsZero() {
		info.State.LastTime = state.LastTime.UTC()
	}
	if deletedDetails {
		info.State.Deleted = state.Deleted
	}
	if len(state.Lost) > 0 {
		lost := &jsapi.LostStreamData{}
		for _, span := range state.Lost {
			for seq := span.First; seq <= span.Last && len(lost.Msgs) < lostMessagesMax; seq++ {
				lost.Msgs = append(lost.Msgs, seq)
			}
		}
		info.State.Lost = lost
	}
	if subjectsFilter != "" {
		info.State.Subjects = s.store.SubjectsTotals(subjectsFilter)
	}
	s.replicationInfo(info)
	return info
}

// update applies a checked configuration.
func (s *Stream) update(config jsapi.StreamConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errStreamStopped
	}
	updated := storeConfig(&config)
	if err := s.store.UpdateConfig(&updated); err != nil {
		return err
	}
	old := s.config
	s.config = config
	if err := s.writeMeta(); err != nil {
		s.config = old
		return err
	}
	s.publishConfigLocked()
	if !equalStrings(old.Subjects, config.Subjects) {
		s.subscribeLocked()
	}
	if config.DuplicateWindow != old.DuplicateWindow {
		s.dedupExpireLocked(s.manager.config.Env.Clock.Now().UnixNano())
	}
	s.armExpiryLocked()
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Purge removes messages: all of them, those matching filter, those below seq, or
// all but the newest keep. It returns how many went.
func (s *Stream) Purge(filter string, seq, keep uint64) (uint64, *jsapi.Error) {
	s.mu.Lock()
	if s.config.Sealed {
		s.mu.Unlock()
		return 0, jsapi.NewStreamSealedError()
	}
	if s.config.DenyPurge {
		s.mu.Unlock()
		return 0, jsapi.NewStreamPurgeFailedError(errors.New("stream purge not permitted"))
	}
	if filter != "" && !subject.IsValidSubject(filter) {
		s.mu.Unlock()
		return 0, jsapi.NewStreamPurgeFailedError(store.ErrInvalidSubject)
	}
	var purged uint64
	var err error
	if filter == "" && seq == 0 && keep == 0 {
		purged, err = s.store.Purge()
	} else {
		purged, err = s.store.PurgeEx(filter, seq, keep)
	}
	consumers := s.sortedConsumersLocked()
	s.mu.Unlock()
	if err != nil {
		return purged, jsapi.NewStreamPurgeFailedError(err)
	}
	var state store.StreamState
	s.store.FastState(&state)
	for _, consumer := range consumers {
		consumer.StreamPurged(state.FirstSeq)
	}
	return purged, nil
}

// DeleteMsg removes one message, overwriting its bytes when erase is set.
func (s *Stream) DeleteMsg(seq uint64, erase bool) *jsapi.Error {
	apiErr, _ := s.deleteMsg(seq, erase)
	return apiErr
}

// deleteMsg is DeleteMsg; storeFailed tells a refusal by the store (nothing at seq)
// from one by the configuration.
func (s *Stream) deleteMsg(seq uint64, erase bool) (apiErr *jsapi.Error, storeFailed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.config.Sealed {
		return jsapi.NewStreamSealedError(), false
	}
	if s.config.DenyDelete {
		return jsapi.NewStreamMsgDeleteFailedError(errors.New("message delete not permitted")), false
	}
	var removed bool
	var err error
	if erase {
		removed, err = s.store.EraseMsg(seq)
	} else {
		removed, err = s.store.RemoveMsg(seq)
	}
	if err == nil && !removed {
		err = store.ErrStoreMsgNotFound
	}
	if err != nil {
		// The reference reports its store's error as a failed delete (10057): "no
		// message found" for a sequence not there, "stream store EOF" past the end.
		var state store.StreamState
		s.store.FastState(&state)
		if errors.Is(err, store.ErrStoreMsgNotFound) && seq > state.LastSeq {
			err = store.ErrStoreEOF
		}
		return jsapi.NewStreamMsgDeleteFailedError(err), true
	}
	return nil, false
}

// republish sends a stored message to the stream's republish destination.
func (s *Stream) republish(done *completion) {
	// The published configuration is read, not copied: this runs for every message.
	config := s.published.Load()
	rp := config.RePublish
	if rp == nil {
		return
	}
	source := rp.Source
	if source == "" {
		source = ">"
	}
	if !subject.MatchesFilter(done.subject, source) {
		return
	}
	destination, err := transformSubject(source, rp.Destination, done.subject)
	if err != nil {
		return
	}
	hdr := done.header
	if len(hdr) == 0 {
		hdr = header.Build(0, "")
	} else {
		hdr = append([]byte(nil), hdr...)
	}
	fields := [][2]string{
		{jsapi.HeaderStream, config.Name},
		{jsapi.HeaderSubject, done.subject},
		{jsapi.HeaderSequence, strconv.FormatUint(done.ack.Sequence, 10)},
		{jsapi.HeaderTimeStamp, time.Unix(0, done.timestamp).UTC().Format(time.RFC3339Nano)},
		{jsapi.HeaderLastSequence, strconv.FormatUint(done.previous, 10)},
	}
	data := done.data
	if rp.HeadersOnly {
		fields = append(fields, [2]string{jsapi.HeaderMsgSize, strconv.Itoa(len(done.data))})
		data = nil
	}
	for _, field := range fields {
		if updated, err := header.Set(hdr, field[0], field[1]); err == nil {
			hdr = updated
		}
	}
	s.manager.host.Publish(s.account.name, destination, "", hdr, data)
}
