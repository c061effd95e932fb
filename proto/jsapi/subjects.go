package jsapi

import "strings"

// API subject prefixes. A request for domain D arrives on "$JS.D.API.>" and is served
// as "$JS.API.>" (see StripDomain).
const (
	APIPrefix          = "$JS.API"
	APIPrefixDot       = "$JS.API."
	AllAPISubjects     = "$JS.API.>"
	AccountInfoSubject = "$JS.API.INFO"
)

// Op is a JetStream API operation, one per request subject form.
type Op uint8

// API operations. The comment gives each subject's form after "$JS.API.".
const (
	OpNone                    Op = iota
	OpAccountInfo                // INFO
	OpStreamCreate               // STREAM.CREATE.<stream>
	OpStreamUpdate               // STREAM.UPDATE.<stream>
	OpStreamDelete               // STREAM.DELETE.<stream>
	OpStreamInfo                 // STREAM.INFO.<stream>
	OpStreamNames                // STREAM.NAMES
	OpStreamList                 // STREAM.LIST
	OpStreamPurge                // STREAM.PURGE.<stream>
	OpStreamMsgGet               // STREAM.MSG.GET.<stream>
	OpStreamMsgDelete            // STREAM.MSG.DELETE.<stream>
	OpStreamSnapshot             // STREAM.SNAPSHOT.<stream>
	OpStreamRestore              // STREAM.RESTORE.<stream>
	OpStreamRemovePeer           // STREAM.PEER.REMOVE.<stream>
	OpStreamEvacuatePeer         // STREAM.PEER.EVACUATE.<stream>
	OpStreamCancelMove           // STREAM.CANCEL_MOVE.<stream>
	OpStreamLeaderStepDown       // STREAM.LEADER.STEPDOWN.<stream>
	OpDirectGet                  // DIRECT.GET.<stream>
	OpDirectGetLastBySubject     // DIRECT.GET.<stream>.<subject...> (Args.Filter is the subject)
	OpConsumerCreate             // CONSUMER.CREATE.<stream>[.<consumer>[.<filter...>]]
	OpConsumerDurableCreate      // CONSUMER.DURABLE.CREATE.<stream>.<consumer>
	OpConsumerNames              // CONSUMER.NAMES.<stream>
	OpConsumerList               // CONSUMER.LIST.<stream>
	OpConsumerInfo               // CONSUMER.INFO.<stream>.<consumer>
	OpConsumerDelete             // CONSUMER.DELETE.<stream>.<consumer>
	OpConsumerPause              // CONSUMER.PAUSE.<stream>.<consumer>
	OpConsumerUnpin              // CONSUMER.UNPIN.<stream>.<consumer>
	OpConsumerNext               // CONSUMER.MSG.NEXT.<stream>.<consumer>
	OpConsumerReset              // CONSUMER.RESET.<stream>.<consumer>
	OpConsumerLeaderStepDown     // CONSUMER.LEADER.STEPDOWN.<stream>.<consumer>
	OpConsumerRemovePeer         // CONSUMER.PEER.REMOVE.<stream>.<consumer>
	OpConsumerEvacuatePeer       // CONSUMER.PEER.EVACUATE.<stream>.<consumer>
	OpMetaLeaderStepDown         // META.LEADER.STEPDOWN
	OpMetaRescue                 // META.RESCUE
	OpServerRemove               // SERVER.REMOVE
	OpServerEvacuate             // SERVER.EVACUATE
	OpAccountPurge               // ACCOUNT.PURGE.<account>
	OpAccountStreamMove          // ACCOUNT.STREAM.MOVE.<account>.<stream>
	OpAccountStreamCancelMove    // ACCOUNT.STREAM.CANCEL_MOVE.<account>.<stream>
	opCount
)

// Args are the variable tokens of a request subject. Filter holds the rest of the
// subject after the named tokens: the consumer filter of CONSUMER.CREATE or the
// subject of a last-by-subject direct get, dots included.
type Args struct {
	Stream   string
	Consumer string
	Filter   string
	Account  string
}

// shape says which variable tokens follow an operation's literal tokens.
type shape uint8

const (
	shapeNone           shape = iota
	shapeStream               // <stream>
	shapeStreamConsumer       // <stream>.<consumer>
	shapeAccount              // <account>
	shapeAccountStream        // <account>.<stream>
	shapeDirectGet            // <stream>[.<subject...>]
	shapeConsumerCreate       // <stream>[.<consumer>[.<filter...>]]
)

// route is one operation's subject form and response type.
type route struct {
	literal      string
	shape        shape
	responseType string
}

var routes = [opCount]route{
	OpAccountInfo:             {"INFO", shapeNone, AccountInfoResponseType},
	OpStreamCreate:            {"STREAM.CREATE", shapeStream, StreamCreateResponseType},
	OpStreamUpdate:            {"STREAM.UPDATE", shapeStream, StreamUpdateResponseType},
	OpStreamDelete:            {"STREAM.DELETE", shapeStream, StreamDeleteResponseType},
	OpStreamInfo:              {"STREAM.INFO", shapeStream, StreamInfoResponseType},
	OpStreamNames:             {"STREAM.NAMES", shapeNone, StreamNamesResponseType},
	OpStreamList:              {"STREAM.LIST", shapeNone, StreamListResponseType},
	OpStreamPurge:             {"STREAM.PURGE", shapeStream, StreamPurgeResponseType},
	OpStreamMsgGet:            {"STREAM.MSG.GET", shapeStream, MsgGetResponseType},
	OpStreamMsgDelete:         {"STREAM.MSG.DELETE", shapeStream, MsgDeleteResponseType},
	OpStreamSnapshot:          {"STREAM.SNAPSHOT", shapeStream, StreamSnapshotResponseType},
	OpStreamRestore:           {"STREAM.RESTORE", shapeStream, StreamRestoreResponseType},
	OpStreamRemovePeer:        {"STREAM.PEER.REMOVE", shapeStream, StreamRemovePeerResponseType},
	OpStreamEvacuatePeer:      {"STREAM.PEER.EVACUATE", shapeStream, StreamEvacuatePeerResponseType},
	OpStreamCancelMove:        {"STREAM.CANCEL_MOVE", shapeStream, StreamCancelMoveResponseType},
	OpStreamLeaderStepDown:    {"STREAM.LEADER.STEPDOWN", shapeStream, StreamLeaderStepDownResponseType},
	OpDirectGet:               {"DIRECT.GET", shapeDirectGet, ""},
	OpDirectGetLastBySubject:  {"DIRECT.GET", shapeDirectGet, ""},
	OpConsumerCreate:          {"CONSUMER.CREATE", shapeConsumerCreate, ConsumerCreateResponseType},
	OpConsumerDurableCreate:   {"CONSUMER.DURABLE.CREATE", shapeStreamConsumer, ConsumerCreateResponseType},
	OpConsumerNames:           {"CONSUMER.NAMES", shapeStream, ConsumerNamesResponseType},
	OpConsumerList:            {"CONSUMER.LIST", shapeStream, ConsumerListResponseType},
	OpConsumerInfo:            {"CONSUMER.INFO", shapeStreamConsumer, ConsumerInfoResponseType},
	OpConsumerDelete:          {"CONSUMER.DELETE", shapeStreamConsumer, ConsumerDeleteResponseType},
	OpConsumerPause:           {"CONSUMER.PAUSE", shapeStreamConsumer, ConsumerPauseResponseType},
	OpConsumerUnpin:           {"CONSUMER.UNPIN", shapeStreamConsumer, ConsumerUnpinResponseType},
	OpConsumerNext:            {"CONSUMER.MSG.NEXT", shapeStreamConsumer, ""},
	OpConsumerReset:           {"CONSUMER.RESET", shapeStreamConsumer, ConsumerResetResponseType},
	OpConsumerLeaderStepDown:  {"CONSUMER.LEADER.STEPDOWN", shapeStreamConsumer, ConsumerLeaderStepDownResponseType},
	OpConsumerRemovePeer:      {"CONSUMER.PEER.REMOVE", shapeStreamConsumer, ConsumerRemovePeerResponseType},
	OpConsumerEvacuatePeer:    {"CONSUMER.PEER.EVACUATE", shapeStreamConsumer, ConsumerEvacuatePeerResponseType},
	OpMetaLeaderStepDown:      {"META.LEADER.STEPDOWN", shapeNone, MetaLeaderStepDownResponseType},
	OpMetaRescue:              {"META.RESCUE", shapeNone, MetaRescueResponseType},
	OpServerRemove:            {"SERVER.REMOVE", shapeNone, MetaServerRemoveResponseType},
	OpServerEvacuate:          {"SERVER.EVACUATE", shapeNone, MetaServerEvacuateResponseType},
	OpAccountPurge:            {"ACCOUNT.PURGE", shapeAccount, AccountPurgeResponseType},
	OpAccountStreamMove:       {"ACCOUNT.STREAM.MOVE", shapeAccountStream, StreamUpdateResponseType},
	OpAccountStreamCancelMove: {"ACCOUNT.STREAM.CANCEL_MOVE", shapeAccountStream, StreamCancelMoveResponseType},
}

// String returns the operation's literal tokens ("STREAM.CREATE"); the two direct get
// forms are told apart by a ".<subject>" suffix.
func (op Op) String() string {
	switch {
	case op == OpDirectGetLastBySubject:
		return "DIRECT.GET.<subject>"
	case op > OpNone && op < opCount:
		return routes[op].literal
	}
	return "NONE"
}

// ResponseType returns the type string of the operation's JSON response, or "" for
// the operations that answer with raw messages (direct get, pull requests).
func (op Op) ResponseType() string {
	if op <= OpNone || op >= opCount {
		return ""
	}
	return routes[op].responseType
}

// Subject builds the request subject of op with args; the inverse of ParseSubject for
// well-formed args.
func (op Op) Subject(args Args) string {
	if op <= OpNone || op >= opCount {
		return ""
	}
	var b strings.Builder
	b.WriteString(APIPrefixDot)
	b.WriteString(routes[op].literal)
	appendToken := func(token string) {
		if token != "" {
			b.WriteByte('.')
			b.WriteString(token)
		}
	}
	switch routes[op].shape {
	case shapeStream:
		appendToken(args.Stream)
	case shapeStreamConsumer:
		appendToken(args.Stream)
		appendToken(args.Consumer)
	case shapeAccount:
		appendToken(args.Account)
	case shapeAccountStream:
		appendToken(args.Account)
		appendToken(args.Stream)
	case shapeDirectGet:
		appendToken(args.Stream)
		if op == OpDirectGetLastBySubject {
			appendToken(args.Filter)
		}
	case shapeConsumerCreate:
		appendToken(args.Stream)
		if args.Consumer != "" {
			appendToken(args.Consumer)
			appendToken(args.Filter)
		}
	}
	return b.String()
}

// ParseSubject splits a request subject ("$JS.API.CONSUMER.INFO.ORDERS.C1") into its
// operation and variable tokens. It reports false for subjects outside $JS.API, with an
// unknown operation, with the wrong number of tokens, or with an empty token.
func ParseSubject(subject string) (Op, Args, bool) {
	rest, ok := strings.CutPrefix(subject, APIPrefixDot)
	if !ok {
		return OpNone, Args{}, false
	}
	for op := OpAccountInfo; op < opCount; op++ {
		if op == OpDirectGetLastBySubject {
			continue
		}
		literal := routes[op].literal
		tail, matched := strings.CutPrefix(rest, literal)
		if !matched {
			continue
		}
		if tail == "" {
			return parseArguments(op, "")
		}
		if tail[0] != '.' {
			continue
		}
		return parseArguments(op, tail[1:])
	}
	return OpNone, Args{}, false
}

// parseArguments reads the variable tokens of op from tail (the subject after the
// literal tokens and their dot).
func parseArguments(op Op, tail string) (Op, Args, bool) {
	var args Args
	first, afterFirst, hasMore := strings.Cut(tail, ".")
	switch routes[op].shape {
	case shapeNone:
		return op, args, tail == ""
	case shapeStream, shapeAccount:
		if hasMore || first == "" {
			return OpNone, Args{}, false
		}
		if routes[op].shape == shapeAccount {
			args.Account = first
		} else {
			args.Stream = first
		}
		return op, args, true
	case shapeStreamConsumer, shapeAccountStream:
		second, _, extra := strings.Cut(afterFirst, ".")
		if !hasMore || extra || first == "" || second == "" {
			return OpNone, Args{}, false
		}
		if routes[op].shape == shapeAccountStream {
			args.Account, args.Stream = first, second
		} else {
			args.Stream, args.Consumer = first, second
		}
		return op, args, true
	case shapeDirectGet:
		if first == "" {
			return OpNone, Args{}, false
		}
		args.Stream = first
		if !hasMore {
			return OpDirectGet, args, true
		}
		if !tokensNonEmpty(afterFirst) {
			return OpNone, Args{}, false
		}
		args.Filter = afterFirst
		return OpDirectGetLastBySubject, args, true
	case shapeConsumerCreate:
		if first == "" {
			return OpNone, Args{}, false
		}
		args.Stream = first
		if !hasMore {
			return op, args, true
		}
		consumer, filter, hasFilter := strings.Cut(afterFirst, ".")
		if consumer == "" || (hasFilter && !tokensNonEmpty(filter)) {
			return OpNone, Args{}, false
		}
		args.Consumer, args.Filter = consumer, filter
		return op, args, true
	}
	return OpNone, Args{}, false
}

// tokensNonEmpty reports whether s is one or more non-empty dot-separated tokens.
func tokensNonEmpty(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	return !strings.Contains(s, "..")
}

// DomainAPIPrefix returns the API prefix of a JetStream domain ("$JS.<domain>.API"),
// or APIPrefix for no domain.
func DomainAPIPrefix(domain string) string {
	if domain == "" {
		return APIPrefix
	}
	return "$JS." + domain + ".API"
}

// StripDomain rewrites a domain-qualified request subject ("$JS.<domain>.API.X") to
// its plain form ("$JS.API.X"); it reports false when subject is not under domain.
func StripDomain(subject, domain string) (string, bool) {
	if domain == "" {
		return subject, strings.HasPrefix(subject, APIPrefixDot)
	}
	rest, ok := strings.CutPrefix(subject, DomainAPIPrefix(domain)+".")
	if !ok {
		return "", false
	}
	return APIPrefixDot + rest, true
}

// Subject builders for the requests node and tests send most.

// StreamSubject returns the subject of a one-stream operation (STREAM.CREATE.<stream> ...).
func StreamSubject(op Op, stream string) string { return op.Subject(Args{Stream: stream}) }

// ConsumerSubject returns the subject of a stream-and-consumer operation
// (CONSUMER.INFO.<stream>.<consumer> ...).
func ConsumerSubject(op Op, stream, consumer string) string {
	return op.Subject(Args{Stream: stream, Consumer: consumer})
}

// ConsumerCreateSubject returns CONSUMER.CREATE.<stream>.<consumer>[.<filter>], or the
// short form CONSUMER.CREATE.<stream> when consumer is empty.
func ConsumerCreateSubject(stream, consumer, filter string) string {
	return OpConsumerCreate.Subject(Args{Stream: stream, Consumer: consumer, Filter: filter})
}

// NextSubject returns the pull request subject CONSUMER.MSG.NEXT.<stream>.<consumer>.
func NextSubject(stream, consumer string) string {
	return OpConsumerNext.Subject(Args{Stream: stream, Consumer: consumer})
}

// DirectGetSubject returns DIRECT.GET.<stream>, or the last-by-subject form
// DIRECT.GET.<stream>.<subject> when lastBySubject is not empty.
func DirectGetSubject(stream, lastBySubject string) string {
	if lastBySubject == "" {
		return OpDirectGet.Subject(Args{Stream: stream})
	}
	return OpDirectGetLastBySubject.Subject(Args{Stream: stream, Filter: lastBySubject})
}

// Snapshot and restore transfer subjects: the server sends chunks to the snapshot's
// deliver subject with acks flowing back on SnapshotAckSubject, and a restoring client
// sends chunks to RestoreDeliverSubject.
const (
	SnapshotAckPrefix       = "$JS.SNAPSHOT.ACK."
	RestoreDeliverPrefix    = "$JS.SNAPSHOT.RESTORE."
	FlowControlPrefix       = "$JS.FC."
	MetricPrefix            = "$JS.EVENT.METRIC"
	MetricConsumerAckPrefix = "$JS.EVENT.METRIC.CONSUMER.ACK"
)

// SnapshotAckSubject returns "$JS.SNAPSHOT.ACK.<stream>.<id>".
func SnapshotAckSubject(stream, id string) string { return SnapshotAckPrefix + stream + "." + id }

// RestoreDeliverSubject returns "$JS.SNAPSHOT.RESTORE.<stream>.<id>".
func RestoreDeliverSubject(stream, id string) string {
	return RestoreDeliverPrefix + stream + "." + id
}

// Advisory subjects. Stream advisories end in ".<stream>", consumer advisories in
// ".<stream>.<consumer>" (see AdvisorySubject).
const (
	AdvisoryPrefix                 = "$JS.EVENT.ADVISORY"
	AdvisoryConsumerMaxDeliveries  = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
	AdvisoryConsumerMsgNaked       = "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED"
	AdvisoryConsumerMsgTerminated  = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED"
	AdvisoryConsumerCreated        = "$JS.EVENT.ADVISORY.CONSUMER.CREATED"
	AdvisoryConsumerDeleted        = "$JS.EVENT.ADVISORY.CONSUMER.DELETED"
	AdvisoryConsumerPause          = "$JS.EVENT.ADVISORY.CONSUMER.PAUSE"
	AdvisoryConsumerPinned         = "$JS.EVENT.ADVISORY.CONSUMER.PINNED"
	AdvisoryConsumerUnpinned       = "$JS.EVENT.ADVISORY.CONSUMER.UNPINNED"
	AdvisoryConsumerLeaderElected  = "$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED"
	AdvisoryConsumerQuorumLost     = "$JS.EVENT.ADVISORY.CONSUMER.QUORUM_LOST"
	AdvisoryStreamCreated          = "$JS.EVENT.ADVISORY.STREAM.CREATED"
	AdvisoryStreamDeleted          = "$JS.EVENT.ADVISORY.STREAM.DELETED"
	AdvisoryStreamUpdated          = "$JS.EVENT.ADVISORY.STREAM.UPDATED"
	AdvisoryStreamSnapshotCreate   = "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE"
	AdvisoryStreamSnapshotComplete = "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE"
	AdvisoryStreamRestoreCreate    = "$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE"
	AdvisoryStreamRestoreComplete  = "$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE"
	AdvisoryStreamLeaderElected    = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED"
	AdvisoryStreamQuorumLost       = "$JS.EVENT.ADVISORY.STREAM.QUORUM_LOST"
	AdvisoryStreamBatchAbandoned   = "$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED"
	AdvisoryDomainLeaderElected    = "$JS.EVENT.ADVISORY.DOMAIN.LEADER_ELECTED"
	AdvisoryServerOutOfStorage     = "$JS.EVENT.ADVISORY.SERVER.OUT_OF_STORAGE"
	AdvisoryServerRemoved          = "$JS.EVENT.ADVISORY.SERVER.REMOVED"
	AdvisoryMetaRescue             = "$JS.EVENT.ADVISORY.SERVER.META_RESCUE"
	AdvisoryAPILimitReached        = "$JS.EVENT.ADVISORY.API.LIMIT_REACHED"
	AdvisoryAPIAudit               = "$JS.EVENT.ADVISORY.API"
)

// AdvisorySubject appends the given tokens to an advisory prefix:
// AdvisorySubject(AdvisoryConsumerCreated, "ORDERS", "C1") is
// "$JS.EVENT.ADVISORY.CONSUMER.CREATED.ORDERS.C1".
func AdvisorySubject(prefix string, tokens ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, token := range tokens {
		b.WriteByte('.')
		b.WriteString(token)
	}
	return b.String()
}
