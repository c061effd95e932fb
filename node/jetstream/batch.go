package jetstream

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// Atomic batch publishing (ADR-50, allow_atomic): a client publishes messages with
// Nats-Batch-Id and Nats-Batch-Sequence 1, 2, ... and ends with Nats-Batch-Commit:
// "1" (this message is the last of the batch) or "eob" (the batch ended with the
// previous message; this one is not stored). The stream stages the messages, answers
// each staged one with an empty reply, and at the commit checks every message's
// headers against the stream and the batch before storing all of them at once, or
// none. The commit's PubAck carries the batch ID and the message count.
//
// Staged messages live in memory. A batch not committed before a restart is gone
// (the reference deletes its staging store too). The commit stores its messages
// under the stream's lock in one pass; the messages keep their Nats-Batch-* headers
// and the last one carries Nats-Batch-Commit: 1. If the process dies in that pass (or
// power is lost before all of it is on disk), the stream's last message is a batch
// message without the commit header: opening the stream removes that partial batch
// (recoverBatchLocked), so a batch is stored all or nothing across crashes. The
// reference rolls such a batch forward from its staging store instead; nobody was
// acknowledged either way.

// The reference's batch limits (jetstream.limits max_batch_*), used when the
// configuration leaves them at zero.
const (
	// batchTimeoutDefault abandons a batch that receives nothing for that long.
	batchTimeoutDefault = 10 * time.Second
	// batchInflightPerStreamMax bounds the open batches of one stream.
	batchInflightPerStreamMax = 50
	// batchInflightTotalMax bounds the open batches of the server.
	batchInflightTotalMax = 1000
	// batchMessagesMax bounds the messages of one batch.
	batchMessagesMax = 1000
	// batchIDLengthMax is the longest batch ID accepted.
	batchIDLengthMax = 64
)

// batchCommitEndOfBatch is the Nats-Batch-Commit value that commits without the
// message that carries it.
const batchCommitEndOfBatch = "eob"

// atomicBatch is one open batch: its staged messages, in batch sequence order.
type atomicBatch struct {
	id       string
	messages []publishEntry
	timer    env.Timer
	// closed is set once the batch is committed or abandoned: a timer that fires
	// late then does nothing.
	closed bool
}

// streamBatches is a stream's open batches, under the stream's mu.
type streamBatches struct {
	atomic map[string]*atomicBatch
	fast   map[string]*fastBatch
}

// batchLimits are the effective limits of the server.
type batchLimits struct {
	timeout           time.Duration
	inflightPerStream int
	inflightTotal     int
	messages          int
}

// batchLimits returns the configured limits with the reference's defaults.
func (m *Manager) batchLimits() batchLimits {
	limits := batchLimits{timeout: batchTimeoutDefault, inflightPerStream: batchInflightPerStreamMax,
		inflightTotal: batchInflightTotalMax, messages: batchMessagesMax}
	if m.config.BatchTimeout > 0 {
		limits.timeout = m.config.BatchTimeout
	}
	if m.config.BatchInflightPerStreamMax > 0 {
		limits.inflightPerStream = m.config.BatchInflightPerStreamMax
	}
	if m.config.BatchInflightTotalMax > 0 {
		limits.inflightTotal = m.config.BatchInflightTotalMax
	}
	if m.config.BatchMessagesMax > 0 {
		limits.messages = m.config.BatchMessagesMax
	}
	return limits
}

// processBatchPublish takes a published message that belongs to an atomic batch
// (it has a Nats-Batch-Id) and reports whether it did; the publish path handles the
// others.
func (s *Stream) processBatchPublish(entry *publishEntry) bool {
	if request, matched := jsapi.ParseFastBatch(entry.reply); matched {
		s.processFastBatchPublish(request, entry)
		return true
	}
	if len(entry.header) == 0 {
		return false
	}
	id, ok := header.Get(entry.header, jsapi.HeaderBatchID)
	if !ok {
		return false
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return true
	}
	respond, acknowledged := s.stageBatchLocked(string(id), entry)
	s.mu.Unlock()
	if acknowledged {
		s.drain()
		return true
	}
	if respond.failure != nil {
		s.respondPublish(entry.reply, nil, respond.failure)
	} else if entry.reply != "" && !s.published.Load().NoAck {
		// An empty reply tells the client the message is staged.
		s.manager.host.Publish(s.account.name, entry.reply, "", nil, nil)
	}
	if respond.abandoned != "" {
		s.adviseBatchAbandoned(string(id), respond.abandoned)
	}
	return true
}

// batchOutcome is what staging a message needs to say once the lock is released.
type batchOutcome struct {
	failure   *jsapi.Error
	abandoned jsapi.BatchAbandonReason
}

// stageBatchLocked stages one batch message, or commits the batch. acknowledged
// reports a commit that queued its completions (PubAck included).
func (s *Stream) stageBatchLocked(id string, entry *publishEntry) (outcome batchOutcome, acknowledged bool) {
	config := &s.config
	limits := s.manager.batchLimits()
	fail := func(apiErr *jsapi.Error) (batchOutcome, bool) { return batchOutcome{failure: apiErr}, false }
	switch {
	case config.Sealed:
		return fail(jsapi.NewStreamSealedError())
	case config.MaxMsgSize > 0 && len(entry.header)+len(entry.data) > int(config.MaxMsgSize):
		return fail(jsapi.NewStreamMessageExceedsMaximumError())
	case !config.AllowAtomicPublish:
		return fail(jsapi.NewAtomicPublishDisabledError())
	case len(id) > batchIDLengthMax:
		return fail(jsapi.NewAtomicPublishInvalidBatchIDError())
	}
	sequenceText, ok := header.Get(entry.header, jsapi.HeaderBatchSequence)
	sequence, err := strconv.ParseUint(string(sequenceText), 10, 64)
	if !ok || err != nil {
		return fail(jsapi.NewAtomicPublishMissingSeqError())
	}
	commitValue, commit := header.Get(entry.header, jsapi.HeaderBatchCommit)
	endOfBatch := commit && string(commitValue) == batchCommitEndOfBatch
	commitInvalid := commit && !endOfBatch && string(commitValue) != "1"
	size := sequence
	if endOfBatch {
		// The end-of-batch marker does not count toward the batch's size.
		size--
	}

	batch := s.batches.atomic[id]
	if batch == nil {
		if sequence != 1 {
			if size > uint64(limits.messages) {
				return fail(jsapi.NewAtomicPublishTooLargeBatchError(limits.messages))
			}
			return fail(jsapi.NewAtomicPublishIncompleteBatchError())
		}
		if len(s.batches.atomic)+1 > limits.inflightPerStream {
			return fail(jsapi.NewAtomicPublishTooManyInflightError())
		}
		if s.manager.atomicBatches.Add(1) > int64(limits.inflightTotal) {
			s.manager.atomicBatches.Add(-1)
			return fail(jsapi.NewAtomicPublishTooManyInflightError())
		}
		batch = s.openBatchLocked(id, limits.timeout)
	}
	if commitInvalid {
		s.closeBatchLocked(batch)
		return fail(jsapi.NewAtomicPublishInvalidBatchCommitError())
	}
	if !stripRequiredAPILevel(entry) {
		s.closeBatchLocked(batch)
		return batchOutcome{failure: jsapi.NewRequiredApiLevelError(), abandoned: jsapi.BatchRequirementsNotMet}, false
	}
	batch.timer.Reset(limits.timeout)
	if uint64(len(batch.messages))+1 != sequence || (sequence == 1 && endOfBatch) {
		s.closeBatchLocked(batch)
		return batchOutcome{failure: jsapi.NewAtomicPublishIncompleteBatchError(), abandoned: jsapi.BatchIncomplete}, false
	}
	if size > uint64(limits.messages) {
		s.closeBatchLocked(batch)
		return batchOutcome{failure: jsapi.NewAtomicPublishTooLargeBatchError(limits.messages), abandoned: jsapi.BatchLarge}, false
	}
	if !commit {
		batch.messages = append(batch.messages, *entry)
		return batchOutcome{}, false
	}
	if !endOfBatch {
		batch.messages = append(batch.messages, *entry)
	}
	s.closeBatchLocked(batch)
	return s.commitBatchLocked(batch, entry.reply)
}

// openBatchLocked registers a new batch with its inactivity timer.
func (s *Stream) openBatchLocked(id string, timeout time.Duration) *atomicBatch {
	batch := &atomicBatch{id: id}
	batch.timer = s.manager.config.Env.Clock.AfterFunc(timeout, func() { s.expireBatch(batch) })
	if s.batches.atomic == nil {
		s.batches.atomic = make(map[string]*atomicBatch)
	}
	s.batches.atomic[id] = batch
	return batch
}

// closeBatchLocked forgets a batch: committed or abandoned, it no longer counts
// toward the limits.
func (s *Stream) closeBatchLocked(batch *atomicBatch) {
	if batch.closed {
		return
	}
	batch.closed = true
	batch.timer.Stop()
	if s.batches.atomic[batch.id] == batch {
		delete(s.batches.atomic, batch.id)
	}
	s.manager.atomicBatches.Add(-1)
}

// expireBatch abandons a batch that received nothing for the timeout.
func (s *Stream) expireBatch(batch *atomicBatch) {
	s.mu.Lock()
	if batch.closed {
		s.mu.Unlock()
		return
	}
	s.closeBatchLocked(batch)
	stopped := s.stopped
	s.mu.Unlock()
	if !stopped {
		s.adviseBatchAbandoned(batch.id, jsapi.BatchTimeout)
	}
}

// adviseBatchAbandoned publishes the reference's batch abandoned advisory.
func (s *Stream) adviseBatchAbandoned(id string, reason jsapi.BatchAbandonReason) {
	m := s.manager
	advisory := jsapi.StreamBatchAbandonedAdvisory{
		TypedEvent: jsapi.TypedEvent{Type: jsapi.StreamBatchAbandonedAdvisoryType, ID: m.newID(),
			Time: m.config.Env.Clock.Now().UTC()},
		Stream: s.config.Name, Domain: m.config.Domain, BatchID: id, Reason: reason,
	}
	m.host.Publish(s.account.name, jsapi.AdvisorySubject(jsapi.AdvisoryStreamBatchAbandoned, s.config.Name),
		"", nil, jsapi.MarshalResponse(advisory))
}

// commitBatchLocked checks the whole batch and stores it, or nothing. The stored
// messages keep their batch headers; the last one gets Nats-Batch-Commit: 1 when the
// batch ended with an end-of-batch marker.
func (s *Stream) commitBatchLocked(batch *atomicBatch, reply string) (batchOutcome, bool) {
	// The batch's messages are stored at the commit, so they carry its time.
	now := s.manager.config.Env.Clock.Now().UnixNano()
	checker := newBatchChecker(s)
	for i := range batch.messages {
		batch.messages[i].timestamp = now
		if apiErr := checker.check(&batch.messages[i]); apiErr != nil {
			return batchOutcome{failure: apiErr}, false
		}
	}
	last := &batch.messages[len(batch.messages)-1]
	if value, _ := header.Get(last.header, jsapi.HeaderBatchCommit); string(value) != "1" {
		hdr, err := header.Set(last.header, jsapi.HeaderBatchCommit, "1")
		if err != nil {
			return batchOutcome{failure: jsapi.NewAtomicPublishIncompleteBatchError()}, false
		}
		last.header = hdr
	}
	var before store.StreamState
	s.store.FastState(&before)
	completions := make([]completion, 0, len(batch.messages))
	for i := range batch.messages {
		entry := &batch.messages[i]
		entry.reply = ""
		done := s.applyLocked(entry)
		if done.failure != nil {
			// Nothing was acknowledged or announced yet: take back what this batch
			// stored so that it is all or nothing.
			if err := s.store.Truncate(before.LastSeq); err != nil {
				s.manager.logger.Warnf("JetStream stream %s: removing a failed batch: %v", s.describe(), err)
			}
			return batchOutcome{failure: done.failure}, false
		}
		completions = append(completions, done)
	}
	done := &completions[len(completions)-1]
	done.reply = reply
	done.ack.BatchID = batch.id
	done.ack.BatchSize = uint64(len(batch.messages))
	for _, done := range completions {
		s.waitDurableLocked(done)
	}
	s.armExpiryLocked()
	return batchOutcome{}, true
}

// batchChecker runs the reference's consistency checks over a batch at its commit,
// message by message, with what the earlier messages of the batch would change.
type batchChecker struct {
	stream *Stream
	state  store.StreamState
	// index is the number of messages checked so far.
	index              int
	msgIDs             map[string]bool
	counters           map[string]*counterTotal
	subjects           map[string]uint64
	expectedPerSubject map[string]uint64
	bytes              uint64
	// lastMsgIDAllowed lets Nats-Expected-Last-Msg-Id through (fast batches check it
	// themselves; an atomic batch refuses it).
	lastMsgIDAllowed bool
}

func newBatchChecker(s *Stream) *batchChecker {
	checker := &batchChecker{stream: s, msgIDs: map[string]bool{}, counters: map[string]*counterTotal{},
		subjects: map[string]uint64{}, expectedPerSubject: map[string]uint64{}}
	s.store.FastState(&checker.state)
	return checker
}

// errBatchRollup are the reasons a rollup in a batch is refused.
var (
	errRollupNotPermitted = errors.New("rollup not permitted")
	errBatchRollupSubject = errors.New("batch rollup sub invalid")
	errBatchRollupAll     = errors.New("batch rollup all invalid")
)

// check checks one message and fills in what applying it needs (message ID, TTL,
// rollup, schedule).
func (c *batchChecker) check(entry *publishEntry) *jsapi.Error {
	s := c.stream
	config := &s.config
	hdr := entry.header
	if _, ok := header.Get(hdr, jsapi.HeaderExpectedLastMsgID); ok && !c.lastMsgIDAllowed {
		return jsapi.NewAtomicPublishUnsupportedHeaderBatchError(jsapi.HeaderExpectedLastMsgID)
	}
	if apiErr := checkCounterPublish(config, hdr, entry.data); apiErr != nil {
		return apiErr
	}
	if value, ok := header.Get(hdr, jsapi.HeaderExpectedStream); ok && len(value) > 0 && string(value) != config.Name {
		return jsapi.NewStreamNotMatchError()
	}
	if value, ok := header.Get(hdr, jsapi.HeaderTTL); ok && len(value) > 0 {
		if !config.AllowMsgTTL {
			return jsapi.NewMessageTTLDisabledError()
		}
		ttl, err := parseMessageTTL(string(value))
		if err != nil {
			return jsapi.NewMessageTTLInvalidError()
		}
		entry.ttl = ttl
	}
	if value, ok := header.Get(hdr, jsapi.HeaderMsgID); ok && len(value) > 0 {
		entry.msgID = string(value)
		if c.msgIDs[entry.msgID] {
			return jsapi.NewAtomicPublishContainsDuplicateMessageError()
		}
		if _, duplicate := s.dedupLookupLocked(entry.msgID, entry.timestamp); duplicate {
			return jsapi.NewAtomicPublishContainsDuplicateMessageError()
		}
		c.msgIDs[entry.msgID] = true
	}
	if apiErr := c.checkCounter(entry); apiErr != nil {
		return apiErr
	}
	if apiErr := c.checkExpected(entry); apiErr != nil {
		return apiErr
	}
	schedule, apiErr := s.parseScheduleLocked(entry.subject, hdr, time.Unix(0, entry.timestamp))
	if apiErr != nil {
		return apiErr
	}
	entry.schedule = schedule
	if apiErr := c.checkRollup(entry); apiErr != nil {
		return apiErr
	}
	c.subjects[entry.subject]++
	c.index++
	c.bytes += store.MsgSize(entry.subject, entry.header, entry.data)
	return c.checkDiscardNew(entry)
}

// checkCounter refuses a counter message that would fail when stored: no increment,
// or a broken total.
func (c *batchChecker) checkCounter(entry *publishEntry) *jsapi.Error {
	s := c.stream
	if !s.config.AllowMsgCounter {
		return nil
	}
	increment, ok := parseIncrement(entry.header)
	if !ok {
		return jsapi.NewMessageIncrInvalidError()
	}
	if increment == nil {
		return jsapi.NewMessageIncrMissingError()
	}
	total := c.counters[entry.subject]
	if total == nil {
		loaded, apiErr := s.loadCounterLocked(entry.subject)
		if apiErr != nil {
			return apiErr
		}
		total = loaded
	} else {
		total = total.clone()
	}
	if _, _, apiErr := total.add(entry.subject, entry.header, entry.data, increment); apiErr != nil {
		return apiErr
	}
	c.counters[entry.subject] = total
	return nil
}

// checkExpected applies the expected-sequence headers. Only the first message of a
// batch may expect the stream's last sequence, and a subject's last sequence cannot
// be expected once the batch wrote to that subject: both would compare with what
// the batch itself changes.
func (c *batchChecker) checkExpected(entry *publishEntry) *jsapi.Error {
	s := c.stream
	hdr := entry.header
	if value, ok := header.Get(hdr, jsapi.HeaderExpectedLastSeq); ok {
		last := c.state.LastSeq + uint64(c.index)
		expected, err := strconv.ParseUint(string(value), 10, 64)
		if err != nil || expected != last {
			return jsapi.NewStreamWrongLastSequenceError(last)
		}
		if c.index > 0 {
			return jsapi.NewStreamWrongLastSequenceConstantError()
		}
	}
	named, hasNamed := header.Get(hdr, jsapi.HeaderExpectedLastSubjectSeqSubject)
	hasNamed = hasNamed && len(named) > 0
	value, ok := header.Get(hdr, jsapi.HeaderExpectedLastSubjectSeq)
	if !ok {
		if hasNamed {
			return jsapi.NewStreamExpectedLastSeqPerSubjectInvalidError()
		}
		return nil
	}
	subj := entry.subject
	if hasNamed {
		subj = string(named)
	}
	if c.subjects[subj] > 0 {
		return jsapi.NewStreamWrongLastSequenceConstantError()
	}
	expected, err := strconv.ParseUint(string(value), 10, 64)
	last, cached := c.expectedPerSubject[subj]
	if !cached {
		if message, loadErr := s.store.LoadLastMsg(subj, nil); loadErr == nil && message != nil {
			last = message.Seq
		}
	}
	if err != nil || expected != last {
		return jsapi.NewStreamWrongLastSequenceError(last)
	}
	c.expectedPerSubject[subj] = last
	return nil
}

// checkRollup allows a subject rollup only on the batch's first message for its
// subject, and a stream rollup only on the batch's first message.
func (c *batchChecker) checkRollup(entry *publishEntry) *jsapi.Error {
	value, ok := header.Get(entry.header, jsapi.HeaderRollup)
	if !ok || len(value) == 0 {
		return nil
	}
	config := &c.stream.config
	if !config.AllowRollup || config.DenyPurge {
		return jsapi.NewStreamRollupFailedError(errRollupNotPermitted)
	}
	switch string(value) {
	case jsapi.RollupSubject:
		if c.subjects[entry.subject] > 0 {
			return jsapi.NewStreamRollupFailedError(errBatchRollupSubject)
		}
	case jsapi.RollupAll:
		if c.index > 0 {
			return jsapi.NewStreamRollupFailedError(errBatchRollupAll)
		}
	default:
		return jsapi.NewStreamRollupFailedError(fmt.Errorf("rollup value invalid: %q", value))
	}
	entry.rollup = string(value)
	return nil
}

// checkDiscardNew refuses, before anything is stored, a batch that a discard-new
// stream would refuse part of.
func (c *batchChecker) checkDiscardNew(entry *publishEntry) *jsapi.Error {
	config := &c.stream.config
	if config.Discard != jsapi.DiscardNew {
		return nil
	}
	if config.MaxMsgs > 0 && c.state.Msgs+uint64(c.index) > uint64(config.MaxMsgs) {
		return jsapi.NewStreamStoreFailedError(store.ErrMaxMsgs)
	}
	if config.MaxBytes > 0 && c.state.Bytes+c.bytes > uint64(config.MaxBytes) {
		return jsapi.NewStreamStoreFailedError(store.ErrMaxBytes)
	}
	if config.DiscardNewPerSubject && config.MaxMsgsPerSubject > 0 && entry.rollup == "" {
		total := c.stream.store.SubjectsTotals(entry.subject)[entry.subject] + c.subjects[entry.subject]
		if total > uint64(config.MaxMsgsPerSubject) {
			return jsapi.NewStreamStoreFailedError(store.ErrMaxMsgsPerSubject)
		}
	}
	return nil
}

// recoverBatchLocked removes a batch whose commit was cut short by a crash: the
// stream's last message belongs to a batch and is not its commit. It runs when the
// stream opens, before anyone reads it.
func (s *Stream) recoverBatchLocked() {
	if !s.config.AllowAtomicPublish {
		return
	}
	var state store.StreamState
	s.store.FastState(&state)
	if state.Msgs == 0 {
		return
	}
	last, err := s.store.LoadMsg(state.LastSeq, nil)
	if err != nil || last == nil {
		return
	}
	id, sequence, partial := partialBatchMessage(last.Hdr)
	if !partial {
		return
	}
	// Walk back to the batch's first message; sequences skipped for lack of
	// interest sit between its messages.
	seq := last.Seq
	for scanned := 0; scanned <= batchMessagesMax*2 && seq >= state.FirstSeq; scanned++ {
		message, err := s.store.LoadMsg(seq, nil)
		if err == nil && message != nil {
			otherID, otherSequence, ok := batchHeaders(message.Hdr)
			if !ok || otherID != id {
				break
			}
			if otherSequence == 1 {
				s.manager.logger.Warnf("JetStream stream %s: removing batch %q cut short at message %d (sequences %d to %d)",
					s.describe(), id, sequence, seq, last.Seq)
				if err := s.store.Truncate(seq - 1); err != nil {
					s.manager.logger.Errorf("JetStream stream %s: removing a partial batch: %v", s.describe(), err)
				}
				return
			}
		}
		if seq == 0 {
			break
		}
		seq--
	}
	s.manager.logger.Warnf("JetStream stream %s: last message is part of batch %q without its commit; its start was not found",
		s.describe(), id)
}

// batchHeaders reads a stored message's batch ID and sequence.
func batchHeaders(hdr []byte) (id string, sequence uint64, ok bool) {
	if len(hdr) == 0 {
		return "", 0, false
	}
	value, found := header.Get(hdr, jsapi.HeaderBatchID)
	if !found || len(value) == 0 {
		return "", 0, false
	}
	text, found := header.Get(hdr, jsapi.HeaderBatchSequence)
	sequence, err := strconv.ParseUint(string(text), 10, 64)
	if !found || err != nil {
		return "", 0, false
	}
	return string(value), sequence, true
}

// partialBatchMessage reports a stored batch message that is not its batch's
// commit. A sourced message keeps no batch meaning.
func partialBatchMessage(hdr []byte) (id string, sequence uint64, partial bool) {
	id, sequence, ok := batchHeaders(hdr)
	if !ok {
		return "", 0, false
	}
	if _, committed := header.Get(hdr, jsapi.HeaderBatchCommit); committed {
		return "", 0, false
	}
	if source, sourced := header.Get(hdr, jsapi.HeaderStreamSource); sourced && len(source) > 0 {
		return "", 0, false
	}
	return id, sequence, true
}

// withoutBatchHeaders drops the Nats-Batch-* headers from a mirrored message, as the
// reference does: a mirror does not batch, and its copy of a batch is no batch of its
// own (a sourced message's header is rebuilt by sourcedHeader, which drops them too).
func withoutBatchHeaders(hdr []byte) []byte {
	if len(hdr) == 0 || !bytes.Contains(hdr, []byte(batchHeaderPrefix)) {
		return hdr
	}
	parsed, err := header.Parse(hdr)
	if err != nil {
		return hdr
	}
	out := header.AppendStatus(make([]byte, 0, len(hdr)), parsed.Status, string(parsed.Description))
	for _, field := range parsed.Fields {
		if !strings.HasPrefix(string(field.Key), batchHeaderPrefix) {
			out = header.AppendField(out, string(field.Key), string(field.Value))
		}
	}
	return header.AppendEnd(out)
}

// batchHeaderPrefix starts every batch publishing header.
const batchHeaderPrefix = "Nats-Batch-"

// closeBatchesLocked forgets the stream's open batches when it stops: their staged
// messages go, and they stop counting toward the server's in-flight limits.
func (s *Stream) closeBatchesLocked() {
	for _, id := range sortedKeys(s.batches.atomic) {
		s.closeBatchLocked(s.batches.atomic[id])
	}
	for _, id := range sortedKeys(s.batches.fast) {
		s.closeFastBatchLocked(s.batches.fast[id])
	}
}

// sortedKeys returns a map's keys in order, so that nothing depends on map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// stripRequiredAPILevel removes Nats-Required-Api-Level from a batch message, as the
// reference does whether or not the batch goes on, and reports whether this server
// meets the level (an unreadable level is not met).
func stripRequiredAPILevel(entry *publishEntry) bool {
	value, ok := header.Get(entry.header, jsapi.HeaderRequiredAPILevel)
	if !ok || len(value) == 0 {
		return true
	}
	level, err := strconv.Atoi(string(value))
	if err != nil || level > jsapi.APILevel {
		return false
	}
	if stripped, err := header.Remove(entry.header, jsapi.HeaderRequiredAPILevel); err == nil {
		entry.header = stripped
	}
	return true
}
