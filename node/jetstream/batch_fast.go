package jetstream

import (
	"encoding/json"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
)

// Fast batch publishing (allow_batched): the messages of a batch are stored as they
// come, not atomically; the batch's state rides on each message's reply subject
// (jsapi.ParseFastBatch). The stream answers with flow control: a BatchFlowAck every
// ackMessages stored messages (fewer when several batches share the stream), a
// BatchFlowGap when a sequence is missing or repeated, a BatchFlowErr for a refused
// message, and at the commit a PubAck with the batch ID and the count. In gap "fail"
// mode a gap or an error ends the batch with that PubAck; in "ok" mode it goes on.
//
// Flow control messages go out in the order the messages came, once stored, as the
// reference's single server sends them; the commit's PubAck, like every PubAck, waits
// until the batch is durable.

// The reference's fast batch limits.
const (
	// fastBatchInflightPerStreamMax bounds the open fast batches of one stream.
	fastBatchInflightPerStreamMax = 1000
	// fastBatchInflightTotalMax bounds the open fast batches of the server.
	fastBatchInflightTotalMax = 50_000
	// fastBatchAckMessagesMax bounds the messages between two flow acks.
	fastBatchAckMessagesMax = 500
)

// fastBatch is one open fast batch.
type fastBatch struct {
	id    string
	timer env.Timer
	// closed is set once the batch ended; a late timer then does nothing.
	closed bool
	// lastSequence is the highest batch sequence received, storedSequence the highest
	// stored (they differ only while a message is being stored), flowSequence the one
	// the last flow ack covered, streamSequence the stream sequence of the last stored
	// message.
	lastSequence, storedSequence, flowSequence, streamSequence uint64
	// ackMessages is the current number of messages per flow ack, at most
	// ackMessagesMax, which the publisher asked for.
	ackMessages, ackMessagesMax uint16
	gapOK                       bool
	// committing is set once a commit arrived; the PubAck follows the last store.
	committing bool
}

// fastBatchRun collects what processing one fast batch message decided to send.
type fastBatchRun struct {
	reply string
	// outgoing are the flow control messages to send, in order, once the stream's
	// lock is released.
	outgoing [][]byte
	// failure is a plain publish error answer.
	failure *jsapi.Error
	// completions are the stored message's and the PubAck's, if any; they go
	// through the stream's completions like any publish's.
	completions []completion
}

func (run *fastBatchRun) send(value json.Marshaler) {
	body, err := value.MarshalJSON()
	if err == nil {
		run.outgoing = append(run.outgoing, body)
	}
}

// processFastBatchPublish handles a message whose reply subject ends in $FI. Its
// answers go out in the reference's order: gaps and errors first, then the PubAck.
func (s *Stream) processFastBatchPublish(request *jsapi.FastBatch, entry *publishEntry) {
	run := &fastBatchRun{reply: entry.reply}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.fastBatchLocked(request, entry, run)
	// A stored message's completion joins the queue with its write, in sequence
	// order; a PubAck without a write waits for the gaps and errors to go out first.
	var acknowledgements []completion
	for _, done := range run.completions {
		if done.stored {
			s.waitDurableLocked(done)
		} else {
			acknowledgements = append(acknowledgements, done)
		}
	}
	s.armExpiryLocked()
	s.mu.Unlock()
	if run.reply != "" && !s.published.Load().NoAck {
		for _, body := range run.outgoing {
			s.manager.host.Publish(s.account.name, run.reply, "", nil, body)
		}
	}
	if run.failure != nil {
		s.respondPublish(run.reply, nil, run.failure)
	}
	s.drain()
	if len(acknowledgements) > 0 {
		s.mu.Lock()
		for _, done := range acknowledgements {
			s.waitDurableLocked(done)
		}
		s.mu.Unlock()
		s.drain()
	}
}

// fastBatchLocked is the reference's fast batch state machine for one message.
func (s *Stream) fastBatchLocked(request *jsapi.FastBatch, entry *publishEntry, run *fastBatchRun) {
	config := &s.config
	switch {
	case config.Sealed:
		run.failure = jsapi.NewStreamSealedError()
		return
	case config.MaxMsgSize > 0 && len(entry.header)+len(entry.data) > int(config.MaxMsgSize):
		run.failure = jsapi.NewStreamMessageExceedsMaximumError()
		return
	case !config.AllowBatchPublish:
		run.failure = jsapi.NewBatchPublishDisabledError()
		return
	case request == nil:
		run.failure = jsapi.NewBatchPublishInvalidPatternError()
		return
	case len(request.ID) > batchIDLengthMax:
		run.failure = jsapi.NewBatchPublishInvalidBatchIDError()
		return
	}
	batch := s.batches.fast[request.ID]
	if batch == nil {
		if request.Sequence != 1 || request.Ping {
			run.failure = jsapi.NewBatchPublishUnknownBatchIDError()
			return
		}
		limits := s.manager.batchLimits()
		perStream, total := fastBatchInflightPerStreamMax, fastBatchInflightTotalMax
		if s.manager.config.BatchInflightPerStreamMax > 0 {
			perStream = s.manager.config.BatchInflightPerStreamMax
		}
		if s.manager.config.BatchInflightTotalMax > 0 {
			total = s.manager.config.BatchInflightTotalMax
		}
		if len(s.batches.fast)+1 > perStream {
			run.failure = jsapi.NewBatchPublishTooManyInflightError()
			return
		}
		if s.manager.fastBatches.Add(1) > int64(total) {
			s.manager.fastBatches.Add(-1)
			run.failure = jsapi.NewBatchPublishTooManyInflightError()
			return
		}
		batch = s.openFastBatchLocked(request, limits)
	}
	if !stripRequiredAPILevel(entry) {
		s.closeFastBatchLocked(batch)
		run.failure = jsapi.NewRequiredApiLevelError()
		return
	}
	batch.timer.Reset(s.manager.batchLimits().timeout)

	if request.Ping {
		s.fastBatchPingLocked(batch, request, run)
		return
	}
	if batch.committing {
		// The publisher waits for the PubAck, which the commit's store sends.
		return
	}
	batch.lastSequence++
	if batch.lastSequence != request.Sequence {
		run.send(jsapi.BatchFlowGap{ExpectedLastSequence: batch.lastSequence, CurrentSequence: request.Sequence})
		if batch.gapOK && request.Sequence > batch.lastSequence {
			batch.lastSequence = request.Sequence
		} else {
			// A backward gap, or any gap in "fail" mode, ends the batch.
			batch.lastSequence--
			s.commitFastBatchLocked(batch, run)
			return
		}
	}
	if request.Commit && request.EndOfBatch {
		// The end-of-batch marker is not stored.
		batch.lastSequence--
		batch.storedSequence = batch.lastSequence
		s.commitFastBatchLocked(batch, run)
		return
	}
	if request.Commit {
		batch.committing = true
	} else if request.Sequence == 1 {
		// The first message answers with the flow the batch starts with.
		run.send(jsapi.BatchFlowAck{Sequence: 0, Messages: batch.ackMessages})
	}
	s.storeFastBatchLocked(batch, request, entry, run)
}

// openFastBatchLocked registers a new fast batch.
func (s *Stream) openFastBatchLocked(request *jsapi.FastBatch, limits batchLimits) *fastBatch {
	batch := &fastBatch{id: request.ID, gapOK: request.GapOK, ackMessagesMax: request.Flow}
	batch.timer = s.manager.config.Env.Clock.AfterFunc(limits.timeout, func() { s.expireFastBatch(batch) })
	if s.batches.fast == nil {
		s.batches.fast = make(map[string]*fastBatch)
	}
	s.batches.fast[batch.id] = batch
	batch.ackMessages = min(fastBatchAckMessagesMax, batch.ackMessagesMax)
	if len(s.batches.fast) > 1 {
		// Several publishers share the stream: a new one starts slowly.
		batch.ackMessages = 1
	}
	return batch
}

// closeFastBatchLocked forgets a fast batch.
func (s *Stream) closeFastBatchLocked(batch *fastBatch) {
	if batch.closed {
		return
	}
	batch.closed = true
	batch.timer.Stop()
	if s.batches.fast[batch.id] == batch {
		delete(s.batches.fast, batch.id)
	}
	s.manager.fastBatches.Add(-1)
}

// expireFastBatch forgets a fast batch that heard nothing for the timeout.
func (s *Stream) expireFastBatch(batch *fastBatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeFastBatchLocked(batch)
}

// commitFastBatchLocked ends a batch with a PubAck for what it stored.
func (s *Stream) commitFastBatchLocked(batch *fastBatch, run *fastBatchRun) {
	batch.committing = true
	s.closeFastBatchLocked(batch)
	// A completion without a stored message: it answers once everything stored
	// before it is durable.
	run.completions = append(run.completions, completion{reply: run.reply, ack: jsapi.PubAck{
		Stream: s.config.Name, Sequence: batch.streamSequence, Domain: s.manager.config.Domain,
		BatchID: batch.id, BatchSize: batch.lastSequence}})
}

// fastBatchPingLocked answers a ping: it reports a gap if messages were lost, and
// repeats the last flow ack.
func (s *Stream) fastBatchPingLocked(batch *fastBatch, request *jsapi.FastBatch, run *fastBatchRun) {
	if request.Sequence > batch.lastSequence {
		run.send(jsapi.BatchFlowGap{ExpectedLastSequence: batch.lastSequence + 1, CurrentSequence: request.Sequence + 1})
		if !batch.gapOK {
			s.commitFastBatchLocked(batch, run)
			return
		}
		batch.lastSequence = request.Sequence
		batch.storedSequence = batch.lastSequence
		if s.fastBatchFlowLocked(batch, run) {
			return
		}
	}
	run.send(jsapi.BatchFlowAck{Sequence: batch.flowSequence, Messages: batch.ackMessages})
}

// storeFastBatchLocked checks and stores one message of a fast batch.
func (s *Stream) storeFastBatchLocked(batch *fastBatch, request *jsapi.FastBatch, entry *publishEntry, run *fastBatchRun) {
	apiErr, duplicate := s.checkFastBatchMessageLocked(entry)
	var done completion
	if apiErr == nil {
		entry.reply = ""
		done = s.applyLocked(entry)
		apiErr = done.failure
	}
	if apiErr != nil {
		s.fastBatchRefusedLocked(batch, request, entry, apiErr, duplicate, run)
		return
	}
	batch.streamSequence = done.ack.Sequence
	batch.storedSequence = batch.lastSequence
	if batch.committing {
		s.closeFastBatchLocked(batch)
		done.reply = run.reply
		done.ack.BatchID = batch.id
		done.ack.BatchSize = request.Sequence
	}
	run.completions = append(run.completions, done)
	if !batch.committing {
		s.fastBatchFlowLocked(batch, run)
	}
}

// checkFastBatchMessageLocked applies a single message's checks, as the reference
// does before storing a fast batch message. duplicate reports a message ID already
// stored.
func (s *Stream) checkFastBatchMessageLocked(entry *publishEntry) (*jsapi.Error, bool) {
	if value, ok := header.Get(entry.header, jsapi.HeaderExpectedLastMsgID); ok && len(value) > 0 && string(value) != s.lastMsgID {
		return jsapi.NewStreamWrongLastMsgIDError(s.lastMsgID), false
	}
	checker := newBatchChecker(s)
	checker.lastMsgIDAllowed = true
	apiErr := checker.check(entry)
	return apiErr, apiErr != nil && apiErr.ErrCode == jsapi.ErrCodeAtomicPublishContainsDuplicateMessage
}

// fastBatchRefusedLocked handles a message the checks or the store refused.
func (s *Stream) fastBatchRefusedLocked(batch *fastBatch, request *jsapi.FastBatch, entry *publishEntry, apiErr *jsapi.Error, duplicate bool, run *fastBatchRun) {
	if duplicate {
		// A message stored before counts as received: the batch goes on.
		batch.storedSequence = request.Sequence
		s.fastBatchFlowLocked(batch, run)
		if !request.Commit {
			return
		}
	}
	if !batch.gapOK && batch.lastSequence == 1 {
		// The batch's first message fails as a plain publish would.
		s.closeFastBatchLocked(batch)
		if original, ok := s.dedupLookupLocked(entry.msgID, entry.timestamp); duplicate && ok && original > 0 {
			run.completions = append(run.completions, completion{reply: run.reply, ack: jsapi.PubAck{
				Stream: s.config.Name, Sequence: original, Domain: s.manager.config.Domain, Duplicate: true,
				BatchID: batch.id, BatchSize: request.Sequence}})
			return
		}
		run.failure = apiErr
		return
	}
	if !duplicate {
		run.send(jsapi.BatchFlowErr{Sequence: request.Sequence, Error: apiErr})
	}
	if batch.gapOK && !request.Commit {
		return
	}
	if !duplicate {
		batch.lastSequence--
		batch.storedSequence = batch.lastSequence
	}
	s.commitFastBatchLocked(batch, run)
}

// fastBatchFlowLocked sends a flow ack once ackMessages more messages are stored,
// and moves ackMessages toward the batch's share of the stream: doubling while
// below it, halving while above. It reports whether it sent one.
func (s *Stream) fastBatchFlowLocked(batch *fastBatch, run *fastBatchRun) bool {
	every := uint64(batch.ackMessages)
	if batch.storedSequence < batch.flowSequence+every {
		return false
	}
	// One ack covers every step passed since the last.
	batch.flowSequence += (batch.storedSequence - batch.flowSequence) / every * every
	share := uint16(max(fastBatchAckMessagesMax/max(len(s.batches.fast), 1), 1))
	share = min(share, batch.ackMessagesMax)
	switch {
	case batch.ackMessages < share:
		batch.ackMessages = min(batch.ackMessages*2, share)
	case batch.ackMessages > share:
		batch.ackMessages = max(batch.ackMessages/2, share)
	}
	run.send(jsapi.BatchFlowAck{Sequence: batch.flowSequence, Messages: batch.ackMessages})
	return true
}
