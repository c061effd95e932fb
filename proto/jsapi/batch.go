package jsapi

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Fast batch publishing (allow_batched, nats-server 2.14+): a publisher sends a batch's
// messages with a reply subject that carries the batch's state,
//
//	<prefix>.<batch ID>.<initial flow>.<gap mode>.<batch sequence>.<operation>.$FI
//
// and the stream stores them as they come, answering with flow control messages
// (BatchFlowAck every so many messages, BatchFlowGap, BatchFlowErr) and a PubAck with
// the batch ID and count at the commit.

// FastBatchSuffix ends a fast batch reply subject.
const FastBatchSuffix = ".$FI"

// Fast batch gap modes: with "fail" a lost message ends the batch, with "ok" the
// batch goes on.
const (
	FastBatchGapFail = "fail"
	FastBatchGapOK   = "ok"
)

// Fast batch operations, the reply subject's last token before $FI.
const (
	FastBatchOpStart = iota
	FastBatchOpAppend
	FastBatchOpCommit
	FastBatchOpCommitEndOfBatch
	FastBatchOpPing
)

// fastBatchFlowDefault is the initial flow when the reply subject asks for none.
const fastBatchFlowDefault = 10

// FastBatch is one message's fast batch state, read from its reply subject.
type FastBatch struct {
	ID       string
	Sequence uint64
	// Flow is how often the publisher asks for acknowledgements, at most.
	Flow       uint16
	GapOK      bool
	Ping       bool
	Commit     bool
	EndOfBatch bool
}

// ParseFastBatch reads a reply subject. matched is false when reply is no fast
// batch subject; a matched subject that does not parse returns a nil batch.
func ParseFastBatch(reply string) (batch *FastBatch, matched bool) {
	if len(reply) <= len(FastBatchSuffix) || !strings.HasSuffix(reply, FastBatchSuffix) {
		return nil, false
	}
	tokens := strings.Split(reply[:len(reply)-len(FastBatchSuffix)], ".")
	if len(tokens) < 6 {
		// A prefix and the five batch tokens.
		return nil, true
	}
	tokens = tokens[len(tokens)-5:]
	id, flowText, gapMode, sequenceText, operationText := tokens[0], tokens[1], tokens[2], tokens[3], tokens[4]
	operation, err := strconv.Atoi(operationText)
	if err != nil || operation < FastBatchOpStart || operation > FastBatchOpPing {
		return nil, true
	}
	sequence, err := strconv.ParseUint(sequenceText, 10, 64)
	// The largest sequence is refused so that the next one cannot wrap.
	if err != nil || sequence == 0 || sequence == math.MaxUint64 {
		return nil, true
	}
	batch = &FastBatch{ID: id, Sequence: sequence, Ping: operation == FastBatchOpPing,
		EndOfBatch: operation == FastBatchOpCommitEndOfBatch}
	batch.Commit = batch.EndOfBatch || operation == FastBatchOpCommit
	switch {
	case sequence == 1 && batch.EndOfBatch,
		operation == FastBatchOpStart && sequence != 1,
		operation == FastBatchOpAppend && sequence <= 1:
		return nil, true
	}
	switch gapMode {
	case FastBatchGapFail:
	case FastBatchGapOK:
		batch.GapOK = true
	default:
		return nil, true
	}
	flow, err := strconv.ParseInt(flowText, 10, 64)
	switch {
	case err != nil || flow <= 0:
		batch.Flow = fastBatchFlowDefault
	case flow > math.MaxUint16:
		batch.Flow = math.MaxUint16
	default:
		batch.Flow = uint16(flow)
	}
	return batch, true
}

// BatchFlowAck says the messages of a fast batch up to Sequence are stored, and that
// the next acknowledgement comes after Messages more.
type BatchFlowAck struct {
	Sequence uint64 `json:"seq"`
	Messages uint16 `json:"msgs"`
}

// MarshalJSON writes the reference's form, typed "ack".
func (ack BatchFlowAck) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type     string `json:"type"`
		Sequence uint64 `json:"seq"`
		Messages uint16 `json:"msgs"`
	}{"ack", ack.Sequence, ack.Messages})
}

// BatchFlowGap reports a gap: ExpectedLastSequence was expected next and
// CurrentSequence came.
type BatchFlowGap struct {
	ExpectedLastSequence uint64 `json:"last_seq"`
	CurrentSequence      uint64 `json:"seq"`
}

// MarshalJSON writes the reference's form, typed "gap".
func (gap BatchFlowGap) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type                 string `json:"type"`
		ExpectedLastSequence uint64 `json:"last_seq"`
		CurrentSequence      uint64 `json:"seq"`
	}{"gap", gap.ExpectedLastSequence, gap.CurrentSequence})
}

// BatchFlowErr reports the error of one message of a fast batch.
type BatchFlowErr struct {
	Sequence uint64 `json:"seq"`
	Error    *Error `json:"error"`
}

// MarshalJSON writes the reference's form, typed "err".
func (flowErr BatchFlowErr) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type     string `json:"type"`
		Sequence uint64 `json:"seq"`
		Error    *Error `json:"error"`
	}{"err", flowErr.Sequence, flowErr.Error})
}
