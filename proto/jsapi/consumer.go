package jsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// ConsumerConfig is a consumer's configuration. JSON names and omitempty follow the
// reference; durations are integer nanoseconds, times RFC 3339 with nanoseconds.
type ConsumerConfig struct {
	Durable            string            `json:"durable_name,omitempty"`
	Name               string            `json:"name,omitempty"`
	Description        string            `json:"description,omitempty"`
	DeliverPolicy      DeliverPolicy     `json:"deliver_policy"`
	OptStartSeq        uint64            `json:"opt_start_seq,omitempty"`
	OptStartTime       *time.Time        `json:"opt_start_time,omitempty"`
	AckPolicy          AckPolicy         `json:"ack_policy"`
	AckWait            time.Duration     `json:"ack_wait,omitempty"`
	MaxDeliver         int               `json:"max_deliver,omitempty"`
	BackOff            []time.Duration   `json:"backoff,omitempty"`
	FilterSubject      string            `json:"filter_subject,omitempty"`
	FilterSubjects     []string          `json:"filter_subjects,omitempty"`
	ReplayPolicy       ReplayPolicy      `json:"replay_policy"`
	RateLimit          uint64            `json:"rate_limit_bps,omitempty"`
	SampleFrequency    string            `json:"sample_freq,omitempty"`
	MaxWaiting         int               `json:"max_waiting,omitempty"`
	MaxAckPending      int               `json:"max_ack_pending,omitempty"`
	FlowControl        bool              `json:"flow_control,omitempty"`
	HeadersOnly        bool              `json:"headers_only,omitempty"`
	MaxRequestBatch    int               `json:"max_batch,omitempty"`
	MaxRequestExpires  time.Duration     `json:"max_expires,omitempty"`
	MaxRequestMaxBytes int               `json:"max_bytes,omitempty"`
	DeliverSubject     string            `json:"deliver_subject,omitempty"`
	DeliverGroup       string            `json:"deliver_group,omitempty"`
	Heartbeat          time.Duration     `json:"idle_heartbeat,omitempty"`
	InactiveThreshold  time.Duration     `json:"inactive_threshold,omitempty"`
	Replicas           int               `json:"num_replicas"`
	MemoryStorage      bool              `json:"mem_storage,omitempty"`
	Direct             bool              `json:"direct,omitempty"`
	Sourcing           bool              `json:"sourcing,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	PauseUntil         *time.Time        `json:"pause_until,omitempty"`
	PriorityGroups     []string          `json:"priority_groups,omitempty"`
	PriorityPolicy     PriorityPolicy    `json:"priority_policy,omitempty"`
	PinnedTTL          time.Duration     `json:"priority_timeout,omitempty"`
}

// IsDurable reports whether the consumer has a durable name.
func (c *ConsumerConfig) IsDurable() bool { return c != nil && c.Durable != "" }

// IsPush reports whether the consumer pushes to a deliver subject (otherwise it is pulled).
func (c *ConsumerConfig) IsPush() bool { return c != nil && c.DeliverSubject != "" }

// FilterSubjectList returns the consumer's filters whichever field holds them; nil
// means every subject of the stream.
func (c *ConsumerConfig) FilterSubjectList() []string {
	if c.FilterSubject != "" {
		return []string{c.FilterSubject}
	}
	return c.FilterSubjects
}

// CreateConsumerRequest is the body of CONSUMER.CREATE and CONSUMER.DURABLE.CREATE.
type CreateConsumerRequest struct {
	Stream   string         `json:"stream_name"`
	Config   ConsumerConfig `json:"config"`
	Action   ConsumerAction `json:"action"`
	Pedantic bool           `json:"pedantic,omitempty"`
}

// SequenceInfo is a consumer's position: its own sequence, the stream's, and when it
// last moved.
type SequenceInfo struct {
	Consumer uint64     `json:"consumer_seq"`
	Stream   uint64     `json:"stream_seq"`
	Last     *time.Time `json:"last_active,omitempty"`
}

// PriorityGroupState is one priority group's pinned client.
type PriorityGroupState struct {
	Group          string    `json:"group"`
	PinnedClientID string    `json:"pinned_client_id,omitempty"`
	PinnedTS       time.Time `json:"pinned_ts,omitempty"`
}

// ConsumerInfo is the body of CONSUMER.INFO and CONSUMER.CREATE responses and of
// CONSUMER.LIST entries.
type ConsumerInfo struct {
	Stream         string               `json:"stream_name"`
	Name           string               `json:"name"`
	Created        time.Time            `json:"created"`
	Config         *ConsumerConfig      `json:"config,omitempty"`
	Delivered      SequenceInfo         `json:"delivered"`
	AckFloor       SequenceInfo         `json:"ack_floor"`
	NumAckPending  int                  `json:"num_ack_pending"`
	NumRedelivered int                  `json:"num_redelivered"`
	NumWaiting     int                  `json:"num_waiting"`
	NumPending     uint64               `json:"num_pending"`
	Cluster        *ClusterInfo         `json:"cluster,omitempty"`
	PushBound      bool                 `json:"push_bound,omitempty"`
	Paused         bool                 `json:"paused,omitempty"`
	PauseRemaining time.Duration        `json:"pause_remaining,omitempty"`
	TimeStamp      time.Time            `json:"ts"`
	PriorityGroups []PriorityGroupState `json:"priority_groups,omitempty"`
}

// PriorityGroup is the priority part of a pull request: which group, the overflow
// thresholds, the pinned client's id and the request's priority (0 to 9).
type PriorityGroup struct {
	Group         string `json:"group,omitempty"`
	MinPending    int64  `json:"min_pending,omitempty"`
	MinAckPending int64  `json:"min_ack_pending,omitempty"`
	ID            string `json:"id,omitempty"`
	Priority      int    `json:"priority,omitempty"`
}

// NextRequest is the body of CONSUMER.MSG.NEXT (a pull request). An empty body or a
// bare number asks for that batch with no expiry; see ParseNextRequest.
type NextRequest struct {
	Expires   time.Duration `json:"expires,omitempty"`
	Batch     int           `json:"batch,omitempty"`
	MaxBytes  int           `json:"max_bytes,omitempty"`
	NoWait    bool          `json:"no_wait,omitempty"`
	Heartbeat time.Duration `json:"idle_heartbeat,omitempty"`
	PriorityGroup
}

// NakOptions is the JSON form of a -NAK body's delay.
type NakOptions struct {
	Delay time.Duration `json:"delay"`
}

// ParseNextRequest decodes a pull request body as the reference does: an empty body
// asks for one message; a JSON object is a NextRequest; a bare integer is a batch size;
// anything else also asks for one message. The heartbeat check ("heartbeat value too
// large" when twice the heartbeat exceeds the expiry) is the reference's.
func ParseNextRequest(body []byte) (NextRequest, error) {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return NextRequest{Batch: 1}, nil
	case trimmed[0] == '{':
		var request NextRequest
		if err := json.Unmarshal(trimmed, &request); err != nil {
			return NextRequest{Batch: -1}, err
		}
		if request.Heartbeat > 0 && request.Heartbeat*2 > request.Expires {
			return NextRequest{Batch: 1}, errHeartbeatTooLarge
		}
		return request, nil
	}
	if batch, err := strconv.Atoi(string(trimmed)); err == nil {
		return NextRequest{Batch: batch}, nil
	}
	return NextRequest{Batch: 1}, nil
}

// errHeartbeatTooLarge is the reference's text for a pull request whose idle heartbeat
// cannot fire twice before it expires.
var errHeartbeatTooLarge = errors.New("heartbeat value too large")
