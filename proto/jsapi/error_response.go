package jsapi

// ErrorResponse returns the error answer for op shaped as the reference sends it:
// the operation's own response type with its zero values, so fields the reference
// never omits ("total", "offset" and "limit" of paged answers, "purged", "paused",
// "pause_until", "deliver_subject") appear beside the error as they do there. Lists
// the reference starts empty ("consumers", "streams" of STREAM.LIST) are [] and the
// names list it starts nil is null.
func ErrorResponse(op Op, err *Error) any {
	response := Response{Type: op.ResponseType(), Error: err}
	switch op {
	case OpStreamInfo:
		return &StreamInfoResponse{Response: response}
	case OpStreamNames:
		return &StreamNamesResponse{Response: response}
	case OpStreamList:
		return &StreamListResponse{Response: response, Streams: []*StreamInfo{}}
	case OpStreamPurge:
		return &StreamPurgeResponse{Response: response}
	case OpConsumerNames:
		return &ConsumerNamesResponse{Response: response, Consumers: []string{}}
	case OpConsumerList:
		return &ConsumerListResponse{Response: response, Consumers: []*ConsumerInfo{}}
	case OpConsumerPause:
		return &ConsumerPauseResponse{Response: response}
	case OpStreamRestore:
		return &StreamRestoreResponse{Response: response}
	}
	return &response
}
