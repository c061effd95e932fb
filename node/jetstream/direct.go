package jetstream

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// Bounds of one direct get.
const (
	// directBatchMax bounds the messages one batch or multi-last request returns.
	directBatchMax = 1024
	// directMultiLastMax bounds the subjects a multi-last request may match.
	directMultiLastMax = 1024
)

// handleDirect is the handler of the direct get subscriptions (see syncDirect). Direct
// gets are not API requests for the account's statistics: the reference counts
// neither them nor their errors.
func (a *Account) handleDirect(msg *Msg) {
	subj := msg.Subject
	if domain := a.manager.config.Domain; domain != "" {
		if plain, ok := jsapi.StripDomain(subj, domain); ok {
			subj = plain
		}
	}
	op, args, ok := jsapi.ParseSubject(subj)
	if !ok || (op != jsapi.OpDirectGet && op != jsapi.OpDirectGetLastBySubject) || msg.Reply == "" {
		return
	}
	stream := a.directResponder(args.Stream)
	if stream == nil {
		return
	}
	request := &Request{Subject: subj, Reply: msg.Reply, Header: bytes.Clone(msg.Header),
		Data: bytes.Clone(msg.Data), account: a}
	stream.directGet(request, op, args)
}

// directResponder picks the stream that answers a direct get addressed to name: the
// stream of that name when it allows direct gets, else the first (by name) mirror of
// it with mirror_direct. The reference lets the origin and its mirrors answer in a
// queue group, so any of them may answer; preferring the origin answers from the
// freshest copy and keeps the choice deterministic.
func (a *Account) directResponder(name string) *Stream {
	if stream := a.Stream(name); stream != nil && stream.Config().AllowDirect {
		return stream
	}
	for _, stream := range a.Streams() {
		config := stream.Config()
		if config.MirrorDirect && config.Mirror != nil && config.Mirror.Name == name {
			return stream
		}
	}
	return nil
}

// directGet answers DIRECT.GET.<stream> (body: MsgGetRequest) and
// DIRECT.GET.<stream>.<subject> (last message of subject) from this stream. Replies
// are the message itself with Nats-Stream (this stream's name, also when a mirror
// answers for its origin), Nats-Subject, Nats-Sequence and Nats-Time-Stamp headers,
// or a status message.
func (stream *Stream) directGet(request *Request, op jsapi.Op, args jsapi.Args) {
	var body jsapi.MsgGetRequest
	if op == jsapi.OpDirectGetLastBySubject {
		if len(request.Data) > 0 {
			stream.directStatus(request.Reply, jsapi.StatusRequestTimeout, jsapi.DescriptionBadRequest)
			return
		}
		body.LastFor = args.Filter
	} else {
		if len(request.Data) == 0 {
			stream.directStatus(request.Reply, jsapi.StatusRequestTimeout, jsapi.DescriptionEmptyRequest)
			return
		}
		if err := jsapi.DecodeRequest(request.Data, &body, false); err != nil {
			stream.directStatus(request.Reply, jsapi.StatusRequestTimeout, jsapi.DescriptionMalformedRequest)
			return
		}
		if directRequestEmpty(&body) {
			stream.directStatus(request.Reply, jsapi.StatusRequestTimeout, jsapi.DescriptionEmptyRequest)
			return
		}
	}
	if !directRequestValid(&body) {
		stream.directStatus(request.Reply, jsapi.StatusRequestTimeout, jsapi.DescriptionBadRequest)
		return
	}
	switch {
	case len(body.MultiLastFor) > 0:
		stream.directMultiLast(request.Reply, &body)
	case body.Batch > 0:
		stream.directBatch(request.Reply, &body)
	default:
		message, err := stream.getMsg(&body)
		if err != nil {
			stream.directStatus(request.Reply, jsapi.StatusNotFound, jsapi.DescriptionMessageNotFound)
			return
		}
		stream.directSend(request.Reply, message, body.NoHeaders, -1, 0)
	}
}

// directRequestEmpty reports a body that names no message: no sequence, subject,
// start time or multi-last filter (a batch or an up-to bound alone does not count).
// The reference answers it "Empty Request", before checking which fields go together.
func directRequestEmpty(body *jsapi.MsgGetRequest) bool {
	return body.Seq == 0 && body.LastFor == "" && body.NextFor == "" && len(body.MultiLastFor) == 0 &&
		body.StartTime == nil
}

// directRequestValid applies the reference's rules on which fields go together.
func directRequestValid(body *jsapi.MsgGetRequest) bool {
	if body.LastFor != "" && body.NextFor != "" {
		return false
	}
	if body.Seq > 0 && body.LastFor != "" {
		return false
	}
	if body.StartTime != nil && (body.Seq > 0 || body.LastFor != "") {
		return false
	}
	if len(body.MultiLastFor) > 0 && (body.Seq > 0 || body.LastFor != "" || body.NextFor != "" || body.StartTime != nil) {
		return false
	}
	if body.UpToSeq > 0 && body.UpToTime != nil {
		return false
	}
	if body.Batch > 0 && body.LastFor != "" {
		return false
	}
	if directRequestEmpty(body) {
		return false
	}
	for _, filter := range body.MultiLastFor {
		if !subject.IsValidSubject(filter) {
			return false
		}
	}
	return true
}

// directStatus answers with a status message and no payload.
func (s *Stream) directStatus(reply string, code int, description string) {
	s.manager.host.Publish(s.account.name, reply, "", header.Build(code, description), nil)
}

// directSend answers with one message. numPending >= 0 adds the batch headers.
func (s *Stream) directSend(reply string, message *store.StoreMsg, noHeaders bool, numPending int64, lastSeq uint64) {
	if noHeaders {
		// no_hdr drops every header, the stream's own ones too, as the reference does.
		s.manager.host.Publish(s.account.name, reply, "", nil, message.Msg)
		return
	}
	hdr := message.Hdr
	if len(hdr) == 0 {
		hdr = header.Build(0, "")
	} else {
		hdr = append([]byte(nil), hdr...)
	}
	fields := [][2]string{
		{jsapi.HeaderStream, s.config.Name},
		{jsapi.HeaderSubject, message.Subject},
		{jsapi.HeaderSequence, strconv.FormatUint(message.Seq, 10)},
		{jsapi.HeaderTimeStamp, time.Unix(0, message.TS).UTC().Format(time.RFC3339Nano)},
	}
	if numPending >= 0 {
		fields = append(fields, [2]string{jsapi.HeaderNumPending, strconv.FormatInt(numPending, 10)},
			[2]string{jsapi.HeaderLastSequence, strconv.FormatUint(lastSeq, 10)})
	}
	for _, field := range fields {
		if updated, err := header.Set(hdr, field[0], field[1]); err == nil {
			hdr = updated
		}
	}
	s.manager.host.Publish(s.account.name, reply, "", hdr, message.Msg)
}

// directEndOfBatch ends a batch with the 204 status.
func (s *Stream) directEndOfBatch(reply string, lastSeq uint64, upTo uint64) {
	hdr := header.Build(jsapi.StatusEndOfBatch, jsapi.DescriptionEndOfBatch,
		jsapi.HeaderNumPending, "0", jsapi.HeaderLastSequence, strconv.FormatUint(lastSeq, 10))
	if upTo > 0 {
		if updated, err := header.Set(hdr, jsapi.HeaderUpToSequence, strconv.FormatUint(upTo, 10)); err == nil {
			hdr = updated
		}
	}
	s.manager.host.Publish(s.account.name, reply, "", hdr, nil)
}

// directBatch answers a batch: up to Batch messages (and MaxBytes) from Seq or
// StartTime, matching NextFor.
func (s *Stream) directBatch(reply string, body *jsapi.MsgGetRequest) {
	filter := body.NextFor
	if filter == "" {
		filter = ">"
	}
	start := max(body.Seq, 1)
	if body.StartTime != nil {
		message, err := s.loadFromTime(*body.StartTime)
		if err != nil {
			s.directStatus(reply, jsapi.StatusNotFound, jsapi.DescriptionMessageNotFound)
			return
		}
		start = message.Seq
	}
	var messages []*store.StoreMsg
	size := 0
	wildcard := subject.HasWildcard(filter)
	for len(messages) < min(body.Batch, directBatchMax) {
		message, seq, err := s.store.LoadNextMsg(filter, wildcard, start, nil)
		if err != nil {
			break
		}
		size += len(message.Hdr) + len(message.Msg)
		if body.MaxBytes > 0 && size > body.MaxBytes && len(messages) > 0 {
			break
		}
		messages = append(messages, message)
		start = seq + 1
	}
	if len(messages) == 0 {
		s.directStatus(reply, jsapi.StatusNotFound, jsapi.DescriptionMessageNotFound)
		return
	}
	total, _, _ := s.store.NumPending(start, filter, false)
	var last uint64
	for i, message := range messages {
		pending := total + uint64(len(messages)-1-i)
		s.directSend(reply, message, body.NoHeaders, int64(pending), last)
		last = message.Seq
	}
	s.directEndOfBatch(reply, last, 0)
}

// directMultiLast answers the last message of every subject matching the filters,
// up to UpToSeq or UpToTime.
func (s *Stream) directMultiLast(reply string, body *jsapi.MsgGetRequest) {
	upTo := body.UpToSeq
	if body.UpToTime != nil {
		message, err := s.loadFromTime(*body.UpToTime)
		switch {
		case err == nil && message.Seq > 0:
			upTo = message.Seq - 1
		case errors.Is(err, store.ErrStoreEOF):
			var state store.StreamState
			s.store.FastState(&state)
			upTo = state.LastSeq
		}
	}
	sequences, err := s.store.MultiLastSeqs(body.MultiLastFor, upTo, directMultiLastMax)
	if err != nil {
		if errors.Is(err, store.ErrTooManyResults) {
			s.directStatus(reply, jsapi.StatusTooManyResults, jsapi.DescriptionTooManyResults)
			return
		}
		s.directStatus(reply, jsapi.StatusNotFound, jsapi.DescriptionMessageNotFound)
		return
	}
	// Nats-Num-Pending counts every match still unsent, past a batch's end too, and
	// the reference's multi-last answers keep their headers whatever no_hdr says.
	matched := len(sequences)
	if body.Batch > 0 && len(sequences) > body.Batch {
		sequences = sequences[:body.Batch]
	}
	if len(sequences) == 0 {
		s.directStatus(reply, jsapi.StatusNotFound, jsapi.DescriptionMessageNotFound)
		return
	}
	var last uint64
	sent := 0
	for i, seq := range sequences {
		message, err := s.store.LoadMsg(seq, nil)
		if err != nil {
			continue
		}
		s.directSend(reply, message, false, int64(matched-1-i), last)
		last = seq
		sent++
	}
	if sent == 0 {
		s.directStatus(reply, jsapi.StatusNotFound, jsapi.DescriptionMessageNotFound)
		return
	}
	s.directEndOfBatch(reply, last, upTo)
}
