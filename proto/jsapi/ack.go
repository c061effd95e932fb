package jsapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// AckPrefix starts every ack reply subject.
const AckPrefix = "$JS.ACK."

// noDomainToken stands for "no domain" in the version 2 ack subject.
const noDomainToken = "_"

// Token counts of the two ack subject forms. Version 2 subjects may carry more tokens
// (clients accept 12, the last one random), which parsing ignores.
const (
	ackTokensVersion1 = 9
	ackTokensVersion2 = 11
	// ackTokensMax bounds how many tokens ParseAckReply looks at.
	ackTokensMax = 12
)

// AckReply is what a delivered message's reply subject encodes:
//
//	version 1: $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
//	version 2: $JS.ACK.<domain or _>.<account hash>.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
//
// Timestamp is the message's store time in Unix nanoseconds.
type AckReply struct {
	Domain      string
	AccountHash string
	Stream      string
	Consumer    string
	Delivered   uint64
	StreamSeq   uint64
	ConsumerSeq uint64
	Timestamp   int64
	Pending     uint64
	// Version2 records which form the subject had; AppendTo writes that form.
	Version2 bool
}

// AppendTo appends the reply subject to dst in the form Version2 selects.
func (a AckReply) AppendTo(dst []byte) []byte {
	dst = append(dst, AckPrefix...)
	if a.Version2 {
		domain := a.Domain
		if domain == "" {
			domain = noDomainToken
		}
		dst = append(dst, domain...)
		dst = append(dst, '.')
		dst = append(dst, a.AccountHash...)
		dst = append(dst, '.')
	}
	dst = append(dst, a.Stream...)
	dst = append(dst, '.')
	dst = append(dst, a.Consumer...)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, a.Delivered, 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, a.StreamSeq, 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, a.ConsumerSeq, 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, a.Timestamp, 10)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, a.Pending, 10)
}

// String returns the reply subject.
func (a AckReply) String() string { return string(a.AppendTo(nil)) }

// ParseAckReply decodes an ack reply subject of either form. It reports false for any
// other subject, including one whose numeric tokens are not decimal numbers (the
// timestamp may not be negative either) or whose names are empty.
func ParseAckReply(subject string) (AckReply, bool) {
	rest, ok := strings.CutPrefix(subject, AckPrefix)
	if !ok {
		return AckReply{}, false
	}
	var tokenArray [ackTokensMax]string
	tokens := tokenArray[:0]
	for {
		token, tail, more := strings.Cut(rest, ".")
		if len(tokens) == ackTokensMax-2 && more {
			// Past the eleventh token only the count matters: extensions are ignored.
			tokens = append(tokens, token)
			break
		}
		tokens = append(tokens, token)
		if !more {
			break
		}
		rest = tail
	}
	total := len(tokens) + 2
	var reply AckReply
	switch {
	case total == ackTokensVersion1:
	case total >= ackTokensVersion2:
		reply.Version2 = true
		reply.Domain, reply.AccountHash = tokens[0], tokens[1]
		if reply.Domain == noDomainToken {
			reply.Domain = ""
		}
		tokens = tokens[2:]
	default:
		return AckReply{}, false
	}
	reply.Stream, reply.Consumer = tokens[0], tokens[1]
	if reply.Stream == "" || reply.Consumer == "" {
		return AckReply{}, false
	}
	numbers := [5]uint64{}
	for i := range numbers {
		value, err := strconv.ParseUint(tokens[2+i], 10, 64)
		if err != nil {
			return AckReply{}, false
		}
		numbers[i] = value
	}
	if numbers[3] > 1<<63-1 {
		return AckReply{}, false
	}
	reply.Delivered, reply.StreamSeq, reply.ConsumerSeq = numbers[0], numbers[1], numbers[2]
	reply.Timestamp, reply.Pending = int64(numbers[3]), numbers[4]
	return reply, true
}

// Ack bodies a client sends to an ack reply subject.
const (
	AckAck      = "+ACK"
	AckOK       = "+OK"
	AckNak      = "-NAK"
	AckProgress = "+WPI"
	AckNext     = "+NXT"
	AckTerm     = "+TERM"
)

// AckKind is the kind of an ack body.
type AckKind uint8

// Ack kinds.
const (
	// AckKindUnknown is a body the server ignores.
	AckKindUnknown AckKind = iota
	AckKindAck
	AckKindNak
	AckKindProgress
	AckKindNext
	AckKindTerm
)

// Ack is a decoded ack body.
type Ack struct {
	Kind AckKind
	// Delay is a -NAK's redelivery delay; zero when absent or unparseable (the
	// reference then treats it as a plain -NAK).
	Delay time.Duration
	// Reason is a +TERM's reason text.
	Reason string
	// Next is the pull request following +NXT (may be empty).
	Next []byte
}

// ParseAck decodes an ack body the way the reference dispatches it: empty, +ACK and
// +OK acknowledge; +NXT acknowledges and carries a pull request; -NAK takes an
// optional delay as a Go duration ("-NAK 5s") or JSON ("-NAK {\"delay\":5000000000}");
// +WPI must be exact; +TERM takes an optional reason.
func ParseAck(body []byte) Ack {
	switch {
	case len(body) == 0, string(body) == AckAck, string(body) == AckOK:
		return Ack{Kind: AckKindAck}
	case bytes.HasPrefix(body, []byte(AckNext)):
		return Ack{Kind: AckKindNext, Next: body[len(AckNext):]}
	case bytes.HasPrefix(body, []byte(AckNak)):
		return Ack{Kind: AckKindNak, Delay: parseNakDelay(body[len(AckNak):])}
	case string(body) == AckProgress:
		return Ack{Kind: AckKindProgress}
	case bytes.HasPrefix(body, []byte(AckTerm)):
		return Ack{Kind: AckKindTerm, Reason: string(bytes.TrimSpace(body[len(AckTerm):]))}
	}
	return Ack{Kind: AckKindUnknown}
}

// parseNakDelay reads the argument of a -NAK; anything unparseable means no delay.
func parseNakDelay(argument []byte) time.Duration {
	argument = bytes.TrimSpace(argument)
	if len(argument) == 0 {
		return 0
	}
	if argument[0] == '{' {
		var options NakOptions
		if json.Unmarshal(argument, &options) != nil {
			return 0
		}
		return options.Delay
	}
	delay, err := time.ParseDuration(string(argument))
	if err != nil {
		return 0
	}
	return delay
}
