package jsapi

import "time"

// Response is the envelope of every API response: its type string and, on failure,
// the error. Responses embed it.
type Response struct {
	Type  string `json:"type"`
	Error *Error `json:"error,omitempty"`
}

// ToError returns the response's error, or nil.
func (r *Response) ToError() error {
	if r.Error == nil {
		return nil
	}
	return r.Error
}

// Paged is the paging part of list and names responses.
type Paged struct {
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// PagedRequest is the paging part of list and names requests.
type PagedRequest struct {
	Offset int `json:"offset"`
}

// Page sizes the reference uses for names and list responses, and the most subjects
// a STREAM.INFO reports.
const (
	NamesLimit        = 1024
	ListLimit         = 256
	SubjectDetailsMax = 100_000
)

// Limits on names and free text, as the reference enforces them.
const (
	NameBytesMax        = 255
	DescriptionBytesMax = 4 * 1024
	MetadataBytesMax    = 128 * 1024
)

// Response type strings.
const (
	SystemResponseType                 = "io.nats.jetstream.api.v1.system_response"
	OverloadedResponseType             = "io.nats.jetstream.api.v1.system_overloaded"
	AccountInfoResponseType            = "io.nats.jetstream.api.v1.account_info_response"
	AccountPurgeResponseType           = "io.nats.jetstream.api.v1.account_purge_response"
	StreamCreateResponseType           = "io.nats.jetstream.api.v1.stream_create_response"
	StreamUpdateResponseType           = "io.nats.jetstream.api.v1.stream_update_response"
	StreamDeleteResponseType           = "io.nats.jetstream.api.v1.stream_delete_response"
	StreamInfoResponseType             = "io.nats.jetstream.api.v1.stream_info_response"
	StreamNamesResponseType            = "io.nats.jetstream.api.v1.stream_names_response"
	StreamListResponseType             = "io.nats.jetstream.api.v1.stream_list_response"
	StreamPurgeResponseType            = "io.nats.jetstream.api.v1.stream_purge_response"
	StreamCancelMoveResponseType       = "io.nats.jetstream.api.v1.stream_cancel_move_response"
	MsgDeleteResponseType              = "io.nats.jetstream.api.v1.stream_msg_delete_response"
	MsgGetResponseType                 = "io.nats.jetstream.api.v1.stream_msg_get_response"
	StreamSnapshotResponseType         = "io.nats.jetstream.api.v1.stream_snapshot_response"
	StreamRestoreResponseType          = "io.nats.jetstream.api.v1.stream_restore_response"
	StreamRemovePeerResponseType       = "io.nats.jetstream.api.v1.stream_remove_peer_response"
	StreamEvacuatePeerResponseType     = "io.nats.jetstream.api.v1.stream_evacuate_peer_response"
	StreamLeaderStepDownResponseType   = "io.nats.jetstream.api.v1.stream_leader_stepdown_response"
	ConsumerCreateResponseType         = "io.nats.jetstream.api.v1.consumer_create_response"
	ConsumerDeleteResponseType         = "io.nats.jetstream.api.v1.consumer_delete_response"
	ConsumerInfoResponseType           = "io.nats.jetstream.api.v1.consumer_info_response"
	ConsumerNamesResponseType          = "io.nats.jetstream.api.v1.consumer_names_response"
	ConsumerListResponseType           = "io.nats.jetstream.api.v1.consumer_list_response"
	ConsumerPauseResponseType          = "io.nats.jetstream.api.v1.consumer_pause_response"
	ConsumerUnpinResponseType          = "io.nats.jetstream.api.v1.consumer_unpin_response"
	ConsumerResetResponseType          = "io.nats.jetstream.api.v1.consumer_reset_response"
	ConsumerLeaderStepDownResponseType = "io.nats.jetstream.api.v1.consumer_leader_stepdown_response"
	ConsumerRemovePeerResponseType     = "io.nats.jetstream.api.v1.consumer_remove_peer_response"
	ConsumerEvacuatePeerResponseType   = "io.nats.jetstream.api.v1.consumer_evacuate_peer_response"
	MetaLeaderStepDownResponseType     = "io.nats.jetstream.api.v1.meta_leader_stepdown_response"
	MetaServerRemoveResponseType       = "io.nats.jetstream.api.v1.meta_server_remove_response"
	MetaServerEvacuateResponseType     = "io.nats.jetstream.api.v1.meta_server_evacuate_response"
	MetaRescueResponseType             = "io.nats.jetstream.api.v1.meta_rescue_response"
)

// AccountInfoResponse answers $JS.API.INFO.
type AccountInfoResponse struct {
	Response
	*AccountInfo
}

// AccountPurgeResponse answers ACCOUNT.PURGE.
type AccountPurgeResponse struct {
	Response
	Initiated bool `json:"initiated,omitempty"`
}

// StreamCreateResponse answers STREAM.CREATE.
type StreamCreateResponse struct {
	Response
	*StreamInfo
	DidCreate bool `json:"did_create,omitempty"`
}

// StreamUpdateResponse answers STREAM.UPDATE.
type StreamUpdateResponse struct {
	Response
	*StreamInfo
}

// StreamDeleteResponse answers STREAM.DELETE.
type StreamDeleteResponse struct {
	Response
	Success bool `json:"success,omitempty"`
}

// StreamInfoRequest is the optional body of STREAM.INFO: deleted sequences, and the
// subjects matching a filter, paged by offset.
type StreamInfoRequest struct {
	PagedRequest
	DeletedDetails bool   `json:"deleted_details,omitempty"`
	SubjectsFilter string `json:"subjects_filter,omitempty"`
}

// StreamInfoResponse answers STREAM.INFO; Paged applies to the subjects map.
type StreamInfoResponse struct {
	Response
	Paged
	*StreamInfo
}

// StreamNamesRequest is the optional body of STREAM.NAMES: a page and a subject the
// streams must listen on.
type StreamNamesRequest struct {
	PagedRequest
	Subject string `json:"subject,omitempty"`
}

// StreamNamesResponse answers STREAM.NAMES.
type StreamNamesResponse struct {
	Response
	Paged
	Streams []string `json:"streams"`
}

// StreamListRequest is the optional body of STREAM.LIST.
type StreamListRequest struct {
	PagedRequest
	Subject string `json:"subject,omitempty"`
}

// StreamListResponse answers STREAM.LIST.
type StreamListResponse struct {
	Response
	Paged
	Streams []*StreamInfo     `json:"streams"`
	Missing []string          `json:"missing,omitempty"`
	Offline map[string]string `json:"offline,omitempty"`
}

// StreamPurgeRequest is the optional body of STREAM.PURGE: purge up to (not
// including) Sequence, or keep the newest Keep, within the Subject filter.
type StreamPurgeRequest struct {
	Sequence uint64 `json:"seq,omitempty"`
	Subject  string `json:"filter,omitempty"`
	Keep     uint64 `json:"keep,omitempty"`
}

// StreamPurgeResponse answers STREAM.PURGE.
type StreamPurgeResponse struct {
	Response
	Success bool   `json:"success,omitempty"`
	Purged  uint64 `json:"purged"`
}

// StreamCancelMoveResponse answers STREAM.CANCEL_MOVE.
type StreamCancelMoveResponse struct {
	Response
	*StreamInfo
}

// MsgDeleteRequest is the body of STREAM.MSG.DELETE; without NoErase the payload is
// overwritten on disk.
type MsgDeleteRequest struct {
	Seq     uint64 `json:"seq"`
	NoErase bool   `json:"no_erase,omitempty"`
}

// MsgDeleteResponse answers STREAM.MSG.DELETE.
type MsgDeleteResponse struct {
	Response
	Success bool `json:"success,omitempty"`
}

// MsgGetRequest is the body of STREAM.MSG.GET and DIRECT.GET: one of Seq, LastFor or
// NextFor (with Seq as the start), or for direct gets a batch (Batch, MaxBytes,
// StartTime) or a multi-last (MultiLastFor with UpToSeq or UpToTime).
type MsgGetRequest struct {
	Seq          uint64     `json:"seq,omitempty"`
	LastFor      string     `json:"last_by_subj,omitempty"`
	NextFor      string     `json:"next_by_subj,omitempty"`
	Batch        int        `json:"batch,omitempty"`
	MaxBytes     int        `json:"max_bytes,omitempty"`
	StartTime    *time.Time `json:"start_time,omitempty"`
	MultiLastFor []string   `json:"multi_last,omitempty"`
	UpToSeq      uint64     `json:"up_to_seq,omitempty"`
	UpToTime     *time.Time `json:"up_to_time,omitempty"`
	NoHeaders    bool       `json:"no_hdr,omitempty"`
}

// MsgGetResponse answers STREAM.MSG.GET.
type MsgGetResponse struct {
	Response
	Message *StoredMsg `json:"message,omitempty"`
}

// StreamSnapshotRequest is the body of STREAM.SNAPSHOT.
type StreamSnapshotRequest struct {
	DeliverSubject string `json:"deliver_subject"`
	NoConsumers    bool   `json:"no_consumers,omitempty"`
	ChunkSize      int    `json:"chunk_size,omitempty"`
	WindowSize     int    `json:"window_size,omitempty"`
	CheckMsgs      bool   `json:"jsck,omitempty"`
}

// StreamSnapshotResponse answers STREAM.SNAPSHOT before the chunks flow.
type StreamSnapshotResponse struct {
	Response
	Config *StreamConfig `json:"config,omitempty"`
	State  *StreamState  `json:"state,omitempty"`
}

// StreamRestoreRequest is the body of STREAM.RESTORE.
type StreamRestoreRequest struct {
	Config StreamConfig `json:"config"`
	State  StreamState  `json:"state"`
}

// StreamRestoreResponse answers STREAM.RESTORE with the subject to send chunks to.
type StreamRestoreResponse struct {
	Response
	DeliverSubject string `json:"deliver_subject"`
}

// PeerRequest is the body of STREAM.PEER.REMOVE, STREAM.PEER.EVACUATE and their
// consumer forms.
type PeerRequest struct {
	Peer string `json:"peer"`
}

// SuccessResponse answers the requests whose only result is success: peer removal and
// evacuation, leader stepdowns, server removal and evacuation. Its Type names which.
type SuccessResponse struct {
	Response
	Success bool `json:"success,omitempty"`
}

// LeaderStepDownRequest is the optional body of the stepdown requests.
type LeaderStepDownRequest struct {
	Placement *Placement `json:"placement,omitempty"`
}

// ServerRemoveRequest is the body of SERVER.REMOVE: a server name or peer id.
type ServerRemoveRequest struct {
	Server string `json:"peer"`
	Peer   string `json:"peer_id,omitempty"`
}

// ServerEvacuateRequest is the body of SERVER.EVACUATE.
type ServerEvacuateRequest struct {
	Server string `json:"peer,omitempty"`
	Peer   string `json:"peer_id,omitempty"`
}

// MetaRescueRequest is the body of META.RESCUE.
type MetaRescueRequest struct {
	QuorumNeeded int `json:"quorum_needed"`
}

// MetaRescueResponse answers META.RESCUE.
type MetaRescueResponse struct {
	Response
	Server     string `json:"server"`
	ServerID   string `json:"server_id"`
	PrevQuorum int    `json:"prev_quorum,omitempty"`
	NewQuorum  int    `json:"new_quorum,omitempty"`
}

// StreamMoveRequest is the body of ACCOUNT.STREAM.MOVE.
type StreamMoveRequest struct {
	Server  string   `json:"server,omitempty"`
	Cluster string   `json:"cluster,omitempty"`
	Domain  string   `json:"domain,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// ConsumerCreateResponse answers CONSUMER.CREATE and CONSUMER.DURABLE.CREATE.
type ConsumerCreateResponse struct {
	Response
	*ConsumerInfo
}

// ConsumerInfoResponse answers CONSUMER.INFO.
type ConsumerInfoResponse struct {
	Response
	*ConsumerInfo
}

// ConsumerDeleteResponse answers CONSUMER.DELETE.
type ConsumerDeleteResponse struct {
	Response
	Success bool `json:"success,omitempty"`
}

// ConsumerPauseRequest is the body of CONSUMER.PAUSE; a zero or past time resumes.
type ConsumerPauseRequest struct {
	PauseUntil time.Time `json:"pause_until,omitempty"`
}

// ConsumerPauseResponse answers CONSUMER.PAUSE.
type ConsumerPauseResponse struct {
	Response
	Paused         bool          `json:"paused"`
	PauseUntil     time.Time     `json:"pause_until"`
	PauseRemaining time.Duration `json:"pause_remaining,omitempty"`
}

// ConsumerUnpinRequest is the body of CONSUMER.UNPIN.
type ConsumerUnpinRequest struct {
	Group string `json:"group"`
}

// ConsumerUnpinResponse answers CONSUMER.UNPIN.
type ConsumerUnpinResponse struct {
	Response
}

// ConsumersRequest is the optional body of CONSUMER.NAMES and CONSUMER.LIST.
type ConsumersRequest struct {
	PagedRequest
}

// ConsumerNamesResponse answers CONSUMER.NAMES.
type ConsumerNamesResponse struct {
	Response
	Paged
	Consumers []string `json:"consumers"`
}

// ConsumerListResponse answers CONSUMER.LIST.
type ConsumerListResponse struct {
	Response
	Paged
	Consumers []*ConsumerInfo   `json:"consumers"`
	Missing   []string          `json:"missing,omitempty"`
	Offline   map[string]string `json:"offline,omitempty"`
}

// ConsumerResetRequest is the optional body of CONSUMER.RESET: the stream sequence to
// restart from (zero: the consumer's start).
type ConsumerResetRequest struct {
	Seq uint64 `json:"seq,omitempty"`
}

// ConsumerResetResponse answers CONSUMER.RESET.
type ConsumerResetResponse struct {
	Response
	*ConsumerInfo
	ResetSeq uint64 `json:"reset_seq"`
}
