package jsapi

// Header names JetStream reads from publishes or writes on stored, delivered and
// direct-get messages (the reference's spelling; the server matches them exactly).
const (
	// Publish expectations and deduplication.
	HeaderMsgID                         = "Nats-Msg-Id"
	HeaderExpectedStream                = "Nats-Expected-Stream"
	HeaderExpectedLastSeq               = "Nats-Expected-Last-Sequence"
	HeaderExpectedLastSubjectSeq        = "Nats-Expected-Last-Subject-Sequence"
	HeaderExpectedLastSubjectSeqSubject = "Nats-Expected-Last-Subject-Sequence-Subject"
	HeaderExpectedLastMsgID             = "Nats-Expected-Last-Msg-Id"
	HeaderRollup                        = "Nats-Rollup"
	HeaderTTL                           = "Nats-TTL"
	HeaderIncrement                     = "Nats-Incr"

	// Batch publishing.
	HeaderBatchID       = "Nats-Batch-Id"
	HeaderBatchSequence = "Nats-Batch-Sequence"
	HeaderBatchCommit   = "Nats-Batch-Commit"

	// Message schedules.
	HeaderSchedule         = "Nats-Schedule"
	HeaderScheduleTimeZone = "Nats-Schedule-Time-Zone"
	HeaderScheduleTTL      = "Nats-Schedule-TTL"
	HeaderScheduleRollup   = "Nats-Schedule-Rollup"
	HeaderScheduleTarget   = "Nats-Schedule-Target"
	HeaderScheduleSource   = "Nats-Schedule-Source"
	HeaderScheduler        = "Nats-Scheduler"
	HeaderScheduleNext     = "Nats-Schedule-Next"

	// Set by the server.
	HeaderStreamSource    = "Nats-Stream-Source"
	HeaderMarkerReason    = "Nats-Marker-Reason"
	HeaderCounterSources  = "Nats-Counter-Sources"
	HeaderMsgSize         = "Nats-Msg-Size"
	HeaderLastConsumer    = "Nats-Last-Consumer"
	HeaderLastStream      = "Nats-Last-Stream"
	HeaderConsumerStalled = "Nats-Consumer-Stalled"
	HeaderResponseType    = "Nats-Response-Type"

	// Direct get and republish.
	HeaderStream       = "Nats-Stream"
	HeaderSequence     = "Nats-Sequence"
	HeaderTimeStamp    = "Nats-Time-Stamp"
	HeaderSubject      = "Nats-Subject"
	HeaderLastSequence = "Nats-Last-Sequence"
	HeaderNumPending   = "Nats-Num-Pending"
	HeaderUpToSequence = "Nats-UpTo-Sequence"

	// Pull requests.
	HeaderPendingMessages = "Nats-Pending-Messages"
	HeaderPendingBytes    = "Nats-Pending-Bytes"
	HeaderPinID           = "Nats-Pin-Id"

	// API.
	HeaderRequiredAPILevel = "Nats-Required-Api-Level"
	HeaderStreamIdentity   = "Nats-Stream-Identity"
	HeaderRequestInfo      = "Nats-Request-Info"
)

// Nats-Rollup values.
const (
	RollupSubject = "sub"
	RollupAll     = "all"
)

// Nats-Marker-Reason values on subject delete markers.
const (
	MarkerReasonMaxAge = "MaxAge"
	MarkerReasonPurge  = "Purge"
	MarkerReasonRemove = "Remove"
)

// Status codes of JetStream control and error messages (the code on the header's
// status line).
const (
	StatusControl            = 100
	StatusEndOfBatch         = 204
	StatusBadRequest         = 400
	StatusNotFound           = 404
	StatusRequestTimeout     = 408
	StatusConflict           = 409
	StatusPreconditionFailed = 412
	StatusTooManyResults     = 413
	StatusPinIDMismatch      = 423
	StatusTooManyRequests    = 429
	StatusNoResponders       = 503
)

// Status descriptions, exactly as the reference writes them after the code.
const (
	DescriptionIdleHeartbeat       = "Idle Heartbeat"                // 100
	DescriptionFlowControlRequest  = "FlowControl Request"           // 100
	DescriptionEndOfBatch          = "EOB"                           // 204
	DescriptionBadRequestPrefix    = "Bad Request - "                // 400, followed by the reason
	DescriptionNoMessages          = "No Messages"                   // 404
	DescriptionMessageNotFound     = "Message Not Found"             // 404
	DescriptionNoResults           = "No Results"                    // 404
	DescriptionRequestTimeout      = "Request Timeout"               // 408
	DescriptionInterestExpired     = "Interest Expired"              // 408
	DescriptionNoInterest          = "No Interest"                   // 408
	DescriptionNoFlowResponse      = "No Flow Response"              // 408
	DescriptionRequestsPending     = "Requests Pending"              // 408
	DescriptionEmptyRequest        = "Empty Request"                 // 408
	DescriptionMalformedRequest    = "Malformed Request"             // 408
	DescriptionBadRequest          = "Bad Request"                   // 408 on direct get
	DescriptionConsumerDeleted     = "Consumer Deleted"              // 409
	DescriptionLeadershipChange    = "Leadership Change"             // 409
	DescriptionMaxBytesExceeded    = "Message Size Exceeds MaxBytes" // 409
	DescriptionExceededMaxWaiting  = "Exceeded MaxWaiting"           // 409
	DescriptionConsumerIsPushBased = "Consumer is push based"        // 409
	DescriptionBatchCompleted      = "Batch Completed"               // 409
	DescriptionServerShutdown      = "Server Shutdown"               // 409
	DescriptionRequiredAPILevel    = "Required Api Level"            // 412
	DescriptionTooManyResults      = "Too Many Results"              // 413
	DescriptionWrongPinID          = "Nats-Wrong-Pin-Id"             // 423
	DescriptionTooManyRequests     = "Too Many Requests"             // 429
)

// Formats of the 409 descriptions that carry the consumer's limit, for fmt.Sprintf.
const (
	DescriptionExceededMaxRequestBatchFormat    = "Exceeded MaxRequestBatch of %d"
	DescriptionExceededMaxRequestExpiresFormat  = "Exceeded MaxRequestExpires of %v"
	DescriptionExceededMaxRequestMaxBytesFormat = "Exceeded MaxRequestMaxBytes of %v"
)
