package jsapi

import (
	"encoding/json"
	"time"
)

// Advisory and metric payloads published on $JS.EVENT.ADVISORY.> and
// $JS.EVENT.METRIC.>, with the reference's JSON names and type strings. The client
// field carries the publishing connection's info, whose shape belongs to the system
// events of node/, so it is raw JSON here.

// TypedEvent heads every advisory: its type string, a unique id and when it happened.
type TypedEvent struct {
	Type string    `json:"type"`
	ID   string    `json:"id"`
	Time time.Time `json:"timestamp"`
}

// Advisory type strings.
const (
	APIAuditType                      = "io.nats.jetstream.advisory.v1.api_audit"
	StreamActionAdvisoryType          = "io.nats.jetstream.advisory.v1.stream_action"
	ConsumerActionAdvisoryType        = "io.nats.jetstream.advisory.v1.consumer_action"
	ConsumerPauseAdvisoryType         = "io.nats.jetstream.advisory.v1.consumer_pause"
	ConsumerAckMetricType             = "io.nats.jetstream.metric.v1.consumer_ack"
	ConsumerDeliveryExceededType      = "io.nats.jetstream.advisory.v1.max_deliver"
	ConsumerDeliveryNakAdvisoryType   = "io.nats.jetstream.advisory.v1.nak"
	ConsumerDeliveryTerminatedType    = "io.nats.jetstream.advisory.v1.terminated"
	SnapshotCreateAdvisoryType        = "io.nats.jetstream.advisory.v1.snapshot_create"
	SnapshotCompleteAdvisoryType      = "io.nats.jetstream.advisory.v1.snapshot_complete"
	RestoreCreateAdvisoryType         = "io.nats.jetstream.advisory.v1.restore_create"
	RestoreCompleteAdvisoryType       = "io.nats.jetstream.advisory.v1.restore_complete"
	DomainLeaderElectedAdvisoryType   = "io.nats.jetstream.advisory.v1.domain_leader_elected"
	StreamLeaderElectedAdvisoryType   = "io.nats.jetstream.advisory.v1.stream_leader_elected"
	StreamQuorumLostAdvisoryType      = "io.nats.jetstream.advisory.v1.stream_quorum_lost"
	StreamBatchAbandonedAdvisoryType  = "io.nats.jetstream.advisory.v1.stream_batch_abandoned"
	ConsumerLeaderElectedAdvisoryType = "io.nats.jetstream.advisory.v1.consumer_leader_elected"
	ConsumerQuorumLostAdvisoryType    = "io.nats.jetstream.advisory.v1.consumer_quorum_lost"
	ConsumerGroupPinnedAdvisoryType   = "io.nats.jetstream.advisory.v1.consumer_group_pinned"
	ConsumerGroupUnpinnedAdvisoryType = "io.nats.jetstream.advisory.v1.consumer_group_unpinned"
	ServerOutOfStorageAdvisoryType    = "io.nats.jetstream.advisory.v1.server_out_of_space"
	ServerRemovedAdvisoryType         = "io.nats.jetstream.advisory.v1.server_removed"
	MetaRescueAdvisoryType            = "io.nats.jetstream.advisory.v1.meta_rescue"
	APILimitReachedAdvisoryType       = "io.nats.jetstream.advisory.v1.api_limit_reached"
)

// AdvisoryAction is what a stream or consumer action advisory reports.
type AdvisoryAction string

// Advisory actions.
const (
	ActionCreated  AdvisoryAction = "create"
	ActionDeleted  AdvisoryAction = "delete"
	ActionModified AdvisoryAction = "modify"
)

// APIAudit reports one API request and its response.
type APIAudit struct {
	TypedEvent
	Server   string          `json:"server"`
	Client   json.RawMessage `json:"client"`
	Subject  string          `json:"subject"`
	Request  string          `json:"request,omitempty"`
	Response string          `json:"response"`
	Domain   string          `json:"domain,omitempty"`
}

// StreamActionAdvisory reports a stream created, deleted or updated.
type StreamActionAdvisory struct {
	TypedEvent
	Stream string         `json:"stream"`
	Action AdvisoryAction `json:"action"`
	Domain string         `json:"domain,omitempty"`
}

// ConsumerActionAdvisory reports a consumer created or deleted.
type ConsumerActionAdvisory struct {
	TypedEvent
	Stream   string         `json:"stream"`
	Consumer string         `json:"consumer"`
	Action   AdvisoryAction `json:"action"`
	Domain   string         `json:"domain,omitempty"`
}

// ConsumerPauseAdvisory reports a consumer paused or resumed.
type ConsumerPauseAdvisory struct {
	TypedEvent
	Stream     string    `json:"stream"`
	Consumer   string    `json:"consumer"`
	Paused     bool      `json:"paused"`
	PauseUntil time.Time `json:"pause_until,omitempty"`
	Domain     string    `json:"domain,omitempty"`
}

// ConsumerAckMetric is the sampled ack metric; Delay is the nanoseconds from
// delivery to ack.
type ConsumerAckMetric struct {
	TypedEvent
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
	Delay       int64  `json:"ack_time"`
	Deliveries  uint64 `json:"deliveries"`
	Domain      string `json:"domain,omitempty"`
}

// ConsumerDeliveryExceededAdvisory reports a message that reached max_deliver.
type ConsumerDeliveryExceededAdvisory struct {
	TypedEvent
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
	Domain     string `json:"domain,omitempty"`
}

// ConsumerDeliveryNakAdvisory reports a -NAK.
type ConsumerDeliveryNakAdvisory struct {
	TypedEvent
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
	Deliveries  uint64 `json:"deliveries"`
	Domain      string `json:"domain,omitempty"`
}

// ConsumerDeliveryTerminatedAdvisory reports a +TERM.
type ConsumerDeliveryTerminatedAdvisory struct {
	TypedEvent
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
	Deliveries  uint64 `json:"deliveries"`
	Reason      string `json:"reason,omitempty"`
	Domain      string `json:"domain,omitempty"`
}

// SnapshotCreateAdvisory reports a snapshot started.
type SnapshotCreateAdvisory struct {
	TypedEvent
	Stream string          `json:"stream"`
	State  StreamState     `json:"state"`
	Client json.RawMessage `json:"client"`
	Domain string          `json:"domain,omitempty"`
}

// SnapshotCompleteAdvisory reports a snapshot finished.
type SnapshotCompleteAdvisory struct {
	TypedEvent
	Stream string          `json:"stream"`
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end"`
	Client json.RawMessage `json:"client"`
	Domain string          `json:"domain,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// RestoreCreateAdvisory reports a restore started.
type RestoreCreateAdvisory struct {
	TypedEvent
	Stream string          `json:"stream"`
	Client json.RawMessage `json:"client"`
	Domain string          `json:"domain,omitempty"`
}

// RestoreCompleteAdvisory reports a restore finished.
type RestoreCompleteAdvisory struct {
	TypedEvent
	Stream string          `json:"stream"`
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end"`
	Bytes  int64           `json:"bytes"`
	Client json.RawMessage `json:"client"`
	Domain string          `json:"domain,omitempty"`
}

// DomainLeaderElectedAdvisory reports a new meta leader.
type DomainLeaderElectedAdvisory struct {
	TypedEvent
	Leader   string      `json:"leader"`
	Replicas []*PeerInfo `json:"replicas"`
	Cluster  string      `json:"cluster"`
	Domain   string      `json:"domain,omitempty"`
}

// StreamLeaderElectedAdvisory reports a new stream leader.
type StreamLeaderElectedAdvisory struct {
	TypedEvent
	Account  string      `json:"account,omitempty"`
	Stream   string      `json:"stream"`
	Leader   string      `json:"leader"`
	Replicas []*PeerInfo `json:"replicas"`
	Domain   string      `json:"domain,omitempty"`
}

// StreamQuorumLostAdvisory reports a stream group without quorum.
type StreamQuorumLostAdvisory struct {
	TypedEvent
	Account  string      `json:"account,omitempty"`
	Stream   string      `json:"stream"`
	Replicas []*PeerInfo `json:"replicas"`
	Domain   string      `json:"domain,omitempty"`
}

// BatchAbandonReason says why a publish batch was dropped.
type BatchAbandonReason string

// Batch abandon reasons.
const (
	BatchTimeout            BatchAbandonReason = "timeout"
	BatchLarge              BatchAbandonReason = "large"
	BatchIncomplete         BatchAbandonReason = "incomplete"
	BatchRequirementsNotMet BatchAbandonReason = "unsupported"
)

// StreamBatchAbandonedAdvisory reports a dropped publish batch.
type StreamBatchAbandonedAdvisory struct {
	TypedEvent
	Account string             `json:"account,omitempty"`
	Stream  string             `json:"stream"`
	Domain  string             `json:"domain,omitempty"`
	BatchID string             `json:"batch"`
	Reason  BatchAbandonReason `json:"reason"`
}

// ConsumerLeaderElectedAdvisory reports a new consumer leader.
type ConsumerLeaderElectedAdvisory struct {
	TypedEvent
	Account  string      `json:"account,omitempty"`
	Stream   string      `json:"stream"`
	Consumer string      `json:"consumer"`
	Leader   string      `json:"leader"`
	Replicas []*PeerInfo `json:"replicas"`
	Domain   string      `json:"domain,omitempty"`
}

// ConsumerQuorumLostAdvisory reports a consumer group without quorum.
type ConsumerQuorumLostAdvisory struct {
	TypedEvent
	Account  string      `json:"account,omitempty"`
	Stream   string      `json:"stream"`
	Consumer string      `json:"consumer"`
	Replicas []*PeerInfo `json:"replicas"`
	Domain   string      `json:"domain,omitempty"`
}

// ConsumerGroupPinnedAdvisory reports a client pinned to a priority group.
type ConsumerGroupPinnedAdvisory struct {
	TypedEvent
	Account        string `json:"account,omitempty"`
	Stream         string `json:"stream"`
	Consumer       string `json:"consumer"`
	Domain         string `json:"domain,omitempty"`
	Group          string `json:"group"`
	PinnedClientID string `json:"pinned_id"`
}

// ConsumerGroupUnpinnedAdvisory reports a priority group's pin released.
type ConsumerGroupUnpinnedAdvisory struct {
	TypedEvent
	Account  string `json:"account,omitempty"`
	Stream   string `json:"stream"`
	Consumer string `json:"consumer"`
	Domain   string `json:"domain,omitempty"`
	Group    string `json:"group"`
	Reason   string `json:"reason"`
}

// ServerOutOfSpaceAdvisory reports a server out of storage.
type ServerOutOfSpaceAdvisory struct {
	TypedEvent
	Server   string `json:"server"`
	ServerID string `json:"server_id"`
	Stream   string `json:"stream,omitempty"`
	Cluster  string `json:"cluster"`
	Domain   string `json:"domain,omitempty"`
}

// ServerRemovedAdvisory reports a server removed from the meta group.
type ServerRemovedAdvisory struct {
	TypedEvent
	Server   string `json:"server"`
	ServerID string `json:"server_id"`
	Cluster  string `json:"cluster"`
	Domain   string `json:"domain,omitempty"`
}

// MetaRescueAdvisory reports a forced change of the meta group's quorum.
type MetaRescueAdvisory struct {
	TypedEvent
	Server     string `json:"server"`
	ServerID   string `json:"server_id"`
	PrevQuorum int    `json:"prev_quorum"`
	NewQuorum  int    `json:"new_quorum"`
	Cluster    string `json:"cluster"`
	Domain     string `json:"domain,omitempty"`
}

// APILimitReachedAdvisory reports API requests dropped from a full queue.
type APILimitReachedAdvisory struct {
	TypedEvent
	Server  string `json:"server"`
	Domain  string `json:"domain,omitempty"`
	Dropped int64  `json:"dropped"`
}
