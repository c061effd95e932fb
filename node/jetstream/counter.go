package jetstream

import (
	"encoding/json"
	"math/big"
	"strings"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// Message counters (ADR-49, allow_msg_counter): a publish carries "Nats-Incr: <big
// integer>" and no payload; the stream stores the subject's new total as the body
// {"val":"<decimal>"} and answers it in the PubAck's "val". The total lives in the
// stream itself (the subject's last message), so it survives restarts, follows purges
// (a purged subject starts again from zero) and deletes (deleting the last message
// brings back the previous total) with no state of its own.
//
// A counter stream sourcing other counter streams adds each origin's change: the
// sourced message carries its origin's total, and the Nats-Counter-Sources header
// keeps the last total seen per origin stream and subject, so the difference to the
// previous one is what gets added.

// counterValue is the body of a counter message.
type counterValue struct {
	Value string `json:"val"`
}

// counterSources is the Nats-Counter-Sources header: the last total seen per origin
// stream and origin subject.
type counterSources map[string]map[string]string

// parseIncrement reads Nats-Incr: nil when absent (or empty), ok false when it is not
// a base-10 integer.
func parseIncrement(hdr []byte) (increment *big.Int, ok bool) {
	value, found := header.Get(hdr, jsapi.HeaderIncrement)
	if !found || len(value) == 0 {
		return nil, true
	}
	var parsed big.Int
	if _, ok := parsed.SetString(string(value), 10); !ok {
		return nil, false
	}
	return &parsed, true
}

// incrementConflicts reports whether a header block carries a header the reference
// refuses next to Nats-Incr: the expectation and rollup headers make no sense for an
// increment, whose outcome depends on what the others published before it.
func incrementConflicts(hdr []byte) bool {
	for _, key := range []string{jsapi.HeaderRollup, jsapi.HeaderExpectedStream, jsapi.HeaderExpectedLastMsgID,
		jsapi.HeaderExpectedLastSubjectSeqSubject} {
		if value, ok := header.Get(hdr, key); ok && len(value) > 0 {
			return true
		}
	}
	for _, key := range []string{jsapi.HeaderExpectedLastSeq, jsapi.HeaderExpectedLastSubjectSeq} {
		if _, ok := header.Get(hdr, key); ok {
			return true
		}
	}
	return false
}

// checkCounterPublish applies the reference's checks on a client's publish that
// concern counters, before any other header check: a Nats-Incr that does not parse,
// an increment on a stream without counters, with a payload or with an expectation or
// rollup header. A client may not set Nats-Stream-Source either: that header is the
// sign of a sourced message, whose counter arithmetic differs.
func checkCounterPublish(config *jsapi.StreamConfig, hdr, data []byte) *jsapi.Error {
	if len(hdr) == 0 {
		return nil
	}
	increment, ok := parseIncrement(hdr)
	switch {
	case !ok:
		return jsapi.NewMessageIncrInvalidError()
	case increment != nil && !config.AllowMsgCounter:
		return jsapi.NewMessageIncrDisabledError()
	case increment != nil && len(data) > 0:
		return jsapi.NewMessageIncrPayloadError()
	case increment != nil && incrementConflicts(hdr):
		return jsapi.NewMessageIncrInvalidError()
	}
	if value, found := header.Get(hdr, jsapi.HeaderStreamSource); found && len(value) > 0 {
		return jsapi.NewMessageSourceHdrNotAllowedError()
	}
	return nil
}

// checkCounterPublishLocked is checkCounterPublish for the publish path.
func (s *Stream) checkCounterPublishLocked(entry *publishEntry) *jsapi.Error {
	return checkCounterPublish(&s.config, entry.header, entry.data)
}

// counterTotal is a subject's current total and origin totals.
type counterTotal struct {
	value   big.Int
	sources counterSources
}

// loadCounterLocked reads a subject's total from its last message: zero when the
// subject has none, an error when that message is not a counter.
func (s *Stream) loadCounterLocked(subject string) (*counterTotal, *jsapi.Error) {
	total := &counterTotal{}
	message, err := s.store.LoadLastMsg(subject, nil)
	if err != nil || message == nil {
		// ErrStoreMsgNotFound: a new (or purged) counter starts at zero. Any other
		// failure is the store's and shows up again when storing.
		return total, nil
	}
	return total, total.decode(message)
}

// decode reads a counter message's body and Nats-Counter-Sources header.
func (total *counterTotal) decode(message *store.StoreMsg) *jsapi.Error {
	var body counterValue
	if json.Unmarshal(message.Msg, &body) != nil {
		return jsapi.NewMessageCounterBrokenError()
	}
	if _, ok := total.value.SetString(body.Value, 10); !ok && body.Value != "" {
		return jsapi.NewMessageCounterBrokenError()
	}
	if raw, ok := header.Get(message.Hdr, jsapi.HeaderCounterSources); ok && len(raw) > 0 {
		if json.Unmarshal(raw, &total.sources) != nil {
			return jsapi.NewMessageCounterBrokenError()
		}
	}
	return nil
}

// clone copies a total so that staging changes leaves the original alone.
func (total *counterTotal) clone() *counterTotal {
	out := &counterTotal{}
	out.value.Set(&total.value)
	if total.sources != nil {
		out.sources = make(counterSources, len(total.sources))
		for origin, subjects := range total.sources {
			copied := make(map[string]string, len(subjects))
			for subj, value := range subjects {
				copied[subj] = value
			}
			out.sources[origin] = copied
		}
	}
	return out
}

// add applies one counter message to total and returns the header and body to store.
// A sourced message (with Nats-Stream-Source) carries its origin's total in its body:
// the change since the last total seen from that origin subject is added, and
// Nats-Incr is rewritten to that change so the stored arithmetic stays right.
func (total *counterTotal) add(subject string, hdr, data []byte, increment *big.Int) ([]byte, []byte, *jsapi.Error) {
	if source, ok := header.Get(hdr, jsapi.HeaderStreamSource); ok && len(source) > 0 {
		fields := strings.Split(string(source), " ")
		origin, originSubject := fields[0], subject
		if len(fields) >= 5 {
			originSubject = fields[4]
		}
		var body counterValue
		if json.Unmarshal(data, &body) != nil {
			return nil, nil, jsapi.NewMessageCounterBrokenError()
		}
		var sourced, previous big.Int
		sourced.SetString(body.Value, 10)
		if total.sources == nil {
			total.sources = counterSources{}
		}
		if total.sources[origin] == nil {
			total.sources[origin] = map[string]string{}
		}
		previous.SetString(total.sources[origin][originSubject], 10)
		total.sources[origin][originSubject] = sourced.String()
		increment = new(big.Int).Sub(&sourced, &previous)
		var err error
		if hdr, err = header.Set(hdr, jsapi.HeaderIncrement, increment.String()); err != nil {
			return nil, nil, jsapi.NewMessageCounterBrokenError()
		}
	}
	total.value.Add(&total.value, increment)
	if len(total.sources) > 0 {
		// encoding/json sorts map keys, so the header is the same on every replica.
		encoded, err := json.Marshal(total.sources)
		if err != nil {
			return nil, nil, jsapi.NewMessageCounterBrokenError()
		}
		if hdr, err = header.Set(hdr, jsapi.HeaderCounterSources, string(encoded)); err != nil {
			return nil, nil, jsapi.NewMessageCounterBrokenError()
		}
	}
	return hdr, counterBody(&total.value), nil
}

// counterBody is the stored body for a total: {"val":"<decimal>"}.
func counterBody(value *big.Int) []byte {
	body := append(make([]byte, 0, 16), `{"val":"`...)
	body = value.Append(body, 10)
	return append(body, `"}`...)
}

// applyCounterLocked turns a message for a counter stream into the message to store:
// its body becomes the subject's new total (entry.counterValue, for the PubAck). It
// runs at apply time, after the other checks, as the reference: a message without
// Nats-Incr is refused here, a sourced one aggregates its origin's total. Streams
// without counters keep the message as it is.
func (s *Stream) applyCounterLocked(entry *publishEntry) *jsapi.Error {
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
	total, apiErr := s.loadCounterLocked(entry.subject)
	if apiErr != nil {
		return apiErr
	}
	hdr, data, apiErr := total.add(entry.subject, entry.header, entry.data, increment)
	if apiErr != nil {
		return apiErr
	}
	entry.header, entry.data = hdr, data
	entry.counterValue = total.value.String()
	return nil
}
