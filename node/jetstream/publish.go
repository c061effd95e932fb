package jetstream

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// publishEntry is one "store this message" entry of the stream's log: everything
// applying it needs, the timestamp included, so a replica applies it the same way.
type publishEntry struct {
	subject   string
	reply     string
	header    []byte
	data      []byte
	timestamp int64
	ttl       int64
	msgID     string
	rollup    string
	// schedule is set for a message that starts a message schedule.
	schedule *messageSchedule
	// counterValue is the subject's new total on a counter stream (counter.go).
	counterValue string
}

// processPublish is the stream's subscription handler: a message published on one
// of its subjects.
func (s *Stream) processPublish(msg *Msg) {
	entry := publishEntry{subject: msg.Subject, reply: msg.Reply,
		timestamp: s.manager.config.Env.Clock.Now().UnixNano()}
	if len(msg.Header) > 0 {
		entry.header = append([]byte(nil), msg.Header...)
	}
	if transform := s.subjectTransform(); transform != nil {
		source := transform.Source
		if source == "" {
			source = ">"
		}
		if subject.MatchesFilter(entry.subject, source) {
			if mapped, err := transformSubject(source, transform.Destination, entry.subject); err == nil {
				entry.subject = mapped
			}
		}
	}
	entry.data = append([]byte(nil), msg.Data...)
	if apiErr := s.checkAccountLimits(len(entry.header) + len(entry.data) + len(entry.subject)); apiErr != nil {
		s.respondPublish(entry.reply, nil, apiErr)
		return
	}
	if s.processBatchPublish(&entry) {
		return
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	if apiErr := s.checkPublishLocked(&entry); apiErr != nil {
		s.mu.Unlock()
		s.respondPublish(entry.reply, nil, apiErr)
		return
	}
	if entry.msgID != "" {
		if original, ok := s.dedupLookupLocked(entry.msgID, entry.timestamp); ok {
			done := completion{reply: entry.reply,
				ack: jsapi.PubAck{Stream: s.config.Name, Sequence: original, Domain: s.manager.config.Domain, Duplicate: true}}
			s.waitDurableLocked(done)
			s.mu.Unlock()
			s.drain()
			return
		}
	}
	done := s.applyLocked(&entry)
	done.ack.Value = entry.counterValue
	s.waitDurableLocked(done)
	s.armExpiryLocked()
	s.mu.Unlock()
	s.drain()
}

// subjectTransform returns the stream's subject transform, or nil.
func (s *Stream) subjectTransform() *jsapi.SubjectTransformConfig {
	return s.published.Load().SubjectTransform
}

// checkAccountLimits refuses a message that would take the account past its
// storage limit. It runs before the stream's lock (it visits every stream).
func (s *Stream) checkAccountLimits(size int) *jsapi.Error {
	limits := s.account.Limits()
	memoryType := s.storageType() == store.MemoryStorage
	limit := limits.MaxStore
	serverLimit := s.manager.config.MaxStore
	if memoryType {
		limit, serverLimit = limits.MaxMemory, s.manager.config.MaxMemory
	}
	if limit <= 0 && serverLimit <= 0 {
		return nil
	}
	memory, storage := s.account.stored.load()
	used := storage
	if memoryType {
		used = memory
	}
	if limit > 0 && used+uint64(size) > uint64(limit) {
		return jsapi.NewAccountResourcesExceededError()
	}
	if serverLimit > 0 {
		serverMemory, serverStore := s.manager.stored.load()
		serverUsed := serverStore
		if memoryType {
			serverUsed = serverMemory
		}
		if serverUsed+uint64(size) > uint64(serverLimit) {
			return jsapi.NewInsufficientResourcesError()
		}
	}
	return nil
}

// checkPublishLocked applies every check that can refuse a message before it is
// stored: sealed, size, and the expectation, rollup and TTL headers.
func (s *Stream) checkPublishLocked(entry *publishEntry) *jsapi.Error {
	config := &s.config
	if config.Sealed {
		return jsapi.NewStreamSealedError()
	}
	if config.MaxMsgSize > 0 && len(entry.header)+len(entry.data) > int(config.MaxMsgSize) {
		return jsapi.NewStreamMessageExceedsMaximumError()
	}
	if apiErr := s.checkCounterPublishLocked(entry); apiErr != nil {
		return apiErr
	}
	if len(entry.header) == 0 {
		return nil
	}
	hdr := entry.header
	if value, ok := header.Get(hdr, jsapi.HeaderMsgID); ok {
		entry.msgID = string(value)
	}
	if value, ok := header.Get(hdr, jsapi.HeaderExpectedStream); ok && string(value) != config.Name {
		return jsapi.NewStreamNotMatchError()
	}
	var state store.StreamState
	s.store.FastState(&state)
	if value, ok := header.Get(hdr, jsapi.HeaderExpectedLastSeq); ok {
		expected, err := strconv.ParseUint(string(value), 10, 64)
		if err != nil || expected != state.LastSeq {
			return jsapi.NewStreamWrongLastSequenceError(state.LastSeq)
		}
	}
	if value, ok := header.Get(hdr, jsapi.HeaderExpectedLastSubjectSeq); ok {
		expected, err := strconv.ParseUint(string(value), 10, 64)
		subj := entry.subject
		if named, ok := header.Get(hdr, jsapi.HeaderExpectedLastSubjectSeqSubject); ok && len(named) > 0 {
			subj = string(named)
		}
		var last uint64
		if message, loadErr := s.store.LoadLastMsg(subj, nil); loadErr == nil {
			last = message.Seq
		}
		if err != nil || expected != last {
			return jsapi.NewStreamWrongLastSequenceError(last)
		}
	}
	if value, ok := header.Get(hdr, jsapi.HeaderExpectedLastMsgID); ok && string(value) != s.lastMsgID {
		return jsapi.NewStreamWrongLastMsgIDError(s.lastMsgID)
	}
	if value, ok := header.Get(hdr, jsapi.HeaderRollup); ok {
		if !config.AllowRollup || config.DenyPurge {
			return jsapi.NewStreamRollupFailedError(errors.New("rollup not permitted"))
		}
		switch string(value) {
		case jsapi.RollupSubject, jsapi.RollupAll:
			entry.rollup = string(value)
		default:
			return jsapi.NewStreamRollupFailedError(fmt.Errorf("rollup value invalid: %q", value))
		}
	}
	schedule, apiErr := s.parseScheduleLocked(entry.subject, hdr, time.Unix(0, entry.timestamp))
	if apiErr != nil {
		return apiErr
	}
	if schedule != nil {
		// A schedule replaces the subject's earlier ones: as the reference, it is
		// stored as a subject rollup, the header added when the publisher left it out.
		if value, ok := header.Get(hdr, jsapi.HeaderRollup); ok && string(value) != jsapi.RollupSubject {
			return jsapi.NewMessageSchedulesRollupInvalidError()
		} else if !ok {
			withRollup, err := header.Set(hdr, jsapi.HeaderRollup, jsapi.RollupSubject)
			if err != nil {
				return jsapi.NewMessageSchedulesRollupInvalidError()
			}
			entry.header, hdr = withRollup, withRollup
		}
		entry.rollup = jsapi.RollupSubject
	}
	entry.schedule = schedule
	if value, ok := header.Get(hdr, jsapi.HeaderTTL); ok {
		if !config.AllowMsgTTL {
			return jsapi.NewMessageTTLDisabledError()
		}
		ttl, err := parseMessageTTL(string(value))
		if err != nil {
			return jsapi.NewMessageTTLInvalidError()
		}
		entry.ttl = ttl
	}
	return nil
}

// parseMessageTTL reads a Nats-TTL value: "never", a Go duration, or whole seconds.
// The reference's minimum is one second.
func parseMessageTTL(value string) (int64, error) {
	if value == "never" {
		return -1, nil
	}
	ttl, err := time.ParseDuration(value)
	if err != nil {
		seconds, parseErr := strconv.ParseInt(value, 10, 64)
		if parseErr != nil {
			return 0, parseErr
		}
		ttl = time.Duration(seconds) * time.Second
	}
	if ttl < time.Second {
		return 0, errors.New("message TTL below one second")
	}
	return int64(ttl), nil
}

// applyLocked stores a checked entry and returns the completion to run once it is
// durable. It reads no clock and no randomness: the entry carries its timestamp.
func (s *Stream) applyLocked(entry *publishEntry) completion {
	done := completion{reply: entry.reply}
	if done.failure = s.applyCounterLocked(entry); done.failure != nil {
		return done
	}
	state := &s.fastState
	s.store.FastState(state)
	if s.config.Retention == jsapi.InterestPolicy && !s.interestedLocked(state.LastSeq+1, entry.subject) {
		// Nobody wants it: the sequence is used, the message is not kept. Only
		// interest retention drops such messages; a work queue keeps them for the
		// consumer still to come, as the reference does.
		seq, err := s.store.SkipMsg(state.LastSeq + 1)
		if err != nil {
			done.fail(err)
			return done
		}
		done.ack = jsapi.PubAck{Stream: s.config.Name, Sequence: seq, Domain: s.manager.config.Domain}
		return done
	}
	var subjectPrevious uint64
	if s.config.RePublish != nil {
		// A republished message carries its subject's previous sequence (the
		// reference's Nats-Last-Sequence), read before storing; only republish needs it.
		subjectPrevious = s.store.FilteredState(0, entry.subject).Last
	}
	seq, _, err := s.store.StoreMsg(entry.subject, entry.header, entry.data, entry.timestamp, entry.ttl)
	if err != nil {
		done.fail(err)
		return done
	}
	s.scheduleStoredLocked(entry.subject, seq, entry.schedule, entry.data)
	if s.config.SubjectDeleteMarkerTTL > 0 && isMarkerHeader(entry.header) {
		s.removals.addMarker(seq)
	}
	if entry.msgID != "" {
		s.dedupInsertLocked(dedupEntry{id: entry.msgID, seq: seq, timestamp: entry.timestamp})
	}
	// Nats-Expected-Last-Msg-Id compares with the last stored message's ID, empty when
	// that message had none, as the reference's does.
	s.lastMsgID = entry.msgID
	switch entry.rollup {
	case jsapi.RollupSubject:
		// Keep the newest (this one): a purge below seq would take the message
		// itself when it is the stream's first (the store reads sequence 1 as no
		// bound), as a rollup into a new KV bucket or schedule is.
		_, _ = s.store.PurgeEx(entry.subject, 0, 1)
	case jsapi.RollupAll:
		_, _ = s.store.PurgeEx("", seq, 0)
		done.purged = true
	}
	done.ack = jsapi.PubAck{Stream: s.config.Name, Sequence: seq, Domain: s.manager.config.Domain}
	done.stored = true
	done.subject = entry.subject
	done.header = entry.header
	done.data = entry.data
	done.timestamp = entry.timestamp
	done.previous = subjectPrevious
	return done
}

// fail records a store failure. A closed store means the stream stopped (a
// shutdown, a delete) while the message was on its way: as in the reference, whose
// stopped stream no longer listens, it is not answered at all.
func (done *completion) fail(err error) {
	if errors.Is(err, store.ErrStoreClosed) {
		done.unanswered = true
		return
	}
	done.failure = storeError(err)
}

// storeError maps a store failure to the API error the reference gives.
func storeError(err error) *jsapi.Error {
	switch {
	case errors.Is(err, store.ErrMsgTooLarge):
		return jsapi.NewStreamMessageExceedsMaximumError()
	case errors.Is(err, store.ErrMsgTTLDisabled):
		return jsapi.NewMessageTTLDisabledError()
	default:
		return jsapi.NewStreamStoreFailedError(err)
	}
}

// waitDurableLocked hands done to the store's durability callback. It is called
// with mu held so that callbacks, which the store runs in the order it was asked,
// come in sequence order.
//
// The stream keeps one durability request outstanding at a time: completions that
// come while one is outstanding wait in durableWaiting, and its callback asks again
// for all of them at once. The store's group commit would batch them anyway; asking
// once per round instead of once per message saves a callback, its allocation and a
// store lock round trip on every publish.
func (s *Stream) waitDurableLocked(done completion) {
	if done.failure != nil {
		s.enqueue(done)
		return
	}
	s.doneMu.Lock()
	s.durableWaiting = append(s.durableWaiting, done)
	if s.durableAsked {
		s.doneMu.Unlock()
		return
	}
	s.durableAsked = true
	batch := s.durableWaiting
	s.durableWaiting = nil
	s.doneMu.Unlock()
	s.applying.Store(true)
	s.askDurable(batch)
	s.applying.Store(false)
}

// askDurable asks the store for one callback covering the writes of batch, all made
// before the call. The callback queues batch for the drain and asks again for the
// completions that came meanwhile (their writes too are made by then).
func (s *Stream) askDurable(batch []completion) {
	s.store.Durable(func(err error) {
		s.doneMu.Lock()
		for i := range batch {
			batch[i].err = err
		}
		s.done = append(s.done, batch...)
		next := s.durableWaiting
		s.durableAsked = len(next) > 0
		// The batch's array, cleared so that it keeps no message data alive, takes
		// the next round's completions rather than a slice grown from nothing.
		clear(batch)
		s.durableWaiting = nil
		if cap(batch) <= spareCompletionsMax {
			s.durableWaiting = batch[:0]
		}
		s.doneMu.Unlock()
		if len(next) > 0 {
			s.askDurable(next)
		}
		if !s.applying.Load() {
			s.drain()
		}
	})
}

// enqueue adds a completion to the queue the drain works through.
func (s *Stream) enqueue(done completion) {
	s.doneMu.Lock()
	s.done = append(s.done, done)
	s.doneMu.Unlock()
}

// drain runs the queued completions in order: tells the consumers about the new
// messages, republishes them, and sends the PubAcks. One caller drains at a time;
// the others leave their work to it.
func (s *Stream) drain() {
	s.doneMu.Lock()
	if s.draining {
		s.doneMu.Unlock()
		return
	}
	s.draining = true
	for len(s.done) > 0 {
		batch := s.done
		if len(batch) > completionsBatchMax {
			batch = batch[:completionsBatchMax]
		}
		s.done = s.done[len(batch):]
		swapped := len(s.done) == 0
		if swapped {
			// New completions go to the spare queue while this batch runs; nothing
			// else then refers to the batch's array.
			s.done = s.spareDone[:0]
			s.spareDone = nil
		}
		s.doneMu.Unlock()
		acks := s.newAckBatch()
		for i := range batch {
			s.complete(&batch[i], acks)
		}
		if acks != nil {
			acks.Flush()
		}
		s.doneMu.Lock()
		if swapped && cap(batch) <= spareCompletionsMax {
			// The run queue becomes the spare, cleared so that it keeps no message
			// data alive.
			clear(batch)
			s.spareDone = batch[:0]
		}
	}
	s.draining = false
	s.doneMu.Unlock()
}

// complete runs one completion.
func (s *Stream) complete(done *completion, acks PublishBatch) {
	if done.failure == nil && done.err != nil {
		done.fail(done.err)
	}
	if done.unanswered {
		return
	}
	if done.failure != nil {
		s.respondPublish(done.reply, nil, done.failure)
		return
	}
	if done.stored {
		consumers := s.Consumers()
		if done.purged {
			var state store.StreamState
			s.store.FastState(&state)
			for _, consumer := range consumers {
				consumer.StreamPurged(state.FirstSeq)
			}
		}
		for _, consumer := range consumers {
			consumer.MessageStored(done.ack.Sequence, done.subject)
		}
		s.republish(done)
	}
	if acks != nil && done.reply != "" && !s.published.Load().NoAck {
		if body := appendPubAck(nil, &done.ack); body != nil {
			acks.Publish(done.reply, body)
			return
		}
	}
	s.respondPublish(done.reply, &done.ack, nil)
}

// newAckBatch starts a batch for a drain's PubAcks when the host can send them
// together (BatchPublisher), nil otherwise.
func (s *Stream) newAckBatch() PublishBatch {
	if batcher, ok := s.manager.host.(BatchPublisher); ok {
		return batcher.NewPublishBatch(s.account.name)
	}
	return nil
}

// respondPublish sends a PubAck or a publish error to reply, if there is one.
func (s *Stream) respondPublish(reply string, ack *jsapi.PubAck, failure *jsapi.Error) {
	// A no_ack stream answers nothing, not even errors, as the reference.
	if reply == "" || s.published.Load().NoAck {
		return
	}
	var body []byte
	if failure == nil && ack != nil {
		body = appendPubAck(nil, ack)
	}
	if body == nil {
		if failure != nil {
			// The reference names the stream (and sequence 0) in its publish errors.
			ack = &jsapi.PubAck{Stream: s.published.Load().Name}
		}
		response := jsapi.PubAckResponse{Error: failure, PubAck: ack}
		body = jsapi.MarshalResponse(&response)
	}
	s.manager.host.Publish(s.account.name, reply, "", nil, body)
}

// appendPubAck appends the JSON of a plain PubAck exactly as encoding/json writes it,
// without its reflection, which was a good part of each publish's cost. It returns nil
// for a PubAck it does not handle (batch fields, a counter value, or names that JSON
// would escape); the caller then marshals it.
func appendPubAck(buf []byte, ack *jsapi.PubAck) []byte {
	if ack.Value != "" || ack.BatchID != "" || ack.BatchSize != 0 || !isPlainJSONString(ack.Stream) || !isPlainJSONString(ack.Domain) {
		return nil
	}
	buf = append(buf, `{"stream":"`...)
	buf = append(buf, ack.Stream...)
	buf = append(buf, `","seq":`...)
	buf = strconv.AppendUint(buf, ack.Sequence, 10)
	if ack.Domain != "" {
		buf = append(buf, `,"domain":"`...)
		buf = append(buf, ack.Domain...)
		buf = append(buf, '"')
	}
	if ack.Duplicate {
		buf = append(buf, `,"duplicate":true`...)
	}
	return append(buf, '}')
}

// isPlainJSONString reports whether encoding/json writes text unchanged between
// quotes: printable ASCII without the characters it escapes.
func isPlainJSONString(text string) bool {
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// dedupLookupLocked returns the sequence of a message ID seen within the window.
func (s *Stream) dedupLookupLocked(id string, now int64) (uint64, bool) {
	s.dedupExpireLocked(now)
	entry, ok := s.dedup[id]
	return entry.seq, ok
}

// dedupInsertLocked remembers a message ID.
func (s *Stream) dedupInsertLocked(entry dedupEntry) {
	if s.config.DuplicateWindow <= 0 {
		return
	}
	if len(s.dedupList) >= dedupEntriesMax {
		oldest := s.dedupList[0]
		s.dedupList = s.dedupList[1:]
		if current, ok := s.dedup[oldest.id]; ok && current.seq == oldest.seq {
			delete(s.dedup, oldest.id)
		}
	}
	s.dedup[entry.id] = entry
	s.dedupList = append(s.dedupList, entry)
}

// dedupExpireLocked forgets IDs older than the duplicate window.
func (s *Stream) dedupExpireLocked(now int64) {
	cutoff := now - int64(s.config.DuplicateWindow)
	expired := 0
	for expired < len(s.dedupList) && s.dedupList[expired].timestamp < cutoff {
		oldest := s.dedupList[expired]
		if current, ok := s.dedup[oldest.id]; ok && current.seq == oldest.seq {
			delete(s.dedup, oldest.id)
		}
		expired++
	}
	if expired > 0 {
		s.dedupList = append(s.dedupList[:0:0], s.dedupList[expired:]...)
	}
}

// recoverDedupLocked rebuilds the message IDs within the window from the newest
// messages (at open, before anyone else sees the stream, or after a restore).
func (s *Stream) recoverDedupLocked() {
	if s.config.DuplicateWindow <= 0 {
		return
	}
	var state store.StreamState
	s.store.FastState(&state)
	cutoff := s.manager.config.Env.Clock.Now().UnixNano() - int64(s.config.DuplicateWindow)
	var found []dedupEntry
	seq := state.LastSeq
	for scanned := 0; seq >= state.FirstSeq && seq > 0 && scanned < dedupRecoverScanMax; scanned++ {
		message, err := s.store.LoadPrevMsg(seq, nil)
		if err != nil || message.TS < cutoff {
			break
		}
		if id, ok := header.Get(message.Hdr, jsapi.HeaderMsgID); ok && len(message.Hdr) > 0 {
			found = append(found, dedupEntry{id: string(id), seq: message.Seq, timestamp: message.TS})
		}
		if message.Seq == 0 {
			break
		}
		seq = message.Seq - 1
	}
	for i := len(found) - 1; i >= 0; i-- {
		s.dedupInsertLocked(found[i])
	}
	if len(found) > 0 && found[0].seq == state.LastSeq {
		s.lastMsgID = found[0].id
	}
}
