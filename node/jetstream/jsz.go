package jetstream

import (
	"time"

	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// jszLimitDefault is the number of accounts /jsz details when no limit is given (the
// reference's).
const jszLimitDefault = 1024

// JszOptions select what Jsz reports, as /jsz's query parameters do.
type JszOptions struct {
	// Account limits the details to one account ("acc"); it takes precedence over
	// Accounts, Offset and Limit.
	Account string
	// Accounts adds per-account details; Streams adds per-stream details (and
	// implies Accounts without Account), Consumers per-consumer details (and implies
	// Streams), Config the stream and consumer configurations.
	Accounts  bool
	Streams   bool
	Consumers bool
	Config    bool
	// DirectConsumers adds, with Consumers, the mirrors' and sources' internal
	// consumers of each stream.
	DirectConsumers bool
	// LeaderOnly and StreamLeaderOnly answer only from the meta leader and list only
	// the streams this server leads: one server leads everything, so they change
	// nothing here.
	LeaderOnly       bool
	StreamLeaderOnly bool
	// RaftGroups adds the counts of streams and consumers this server leads.
	RaftGroups bool
	// Offset and Limit page the account details (sorted by name); Limit 0 means
	// jszLimitDefault.
	Offset int
	Limit  int
	// ServerName is the server's name, reported as every stream's leader.
	ServerName string
}

// JetStreamConfigInfo is the "config" of /jsz and of /varz's "jetstream", with the
// reference's JetStreamConfig field names.
type JetStreamConfigInfo struct {
	MaxMemory    int64         `json:"max_memory"`
	MaxStore     int64         `json:"max_storage"`
	StoreDir     string        `json:"store_dir,omitempty"`
	SyncInterval time.Duration `json:"sync_interval,omitempty"`
	SyncAlways   bool          `json:"sync_always,omitempty"`
	Domain       string        `json:"domain,omitempty"`
	CompressOK   bool          `json:"compress_ok,omitempty"`
	UniqueTag    string        `json:"unique_tag,omitempty"`
	Strict       bool          `json:"strict,omitempty"`
}

// LimitsInfo is the "limits" of /jsz and /varz: the jetstream { limits {} } block,
// with the reference's JSLimitOpts field names.
type LimitsInfo struct {
	MaxRequestBatch           int           `json:"max_request_batch,omitempty"`
	MaxAckPending             int           `json:"max_ack_pending,omitempty"`
	MaxHAAssets               int           `json:"max_ha_assets,omitempty"`
	Duplicates                time.Duration `json:"max_duplicate_window,omitempty"`
	MaxBatchInflightPerStream int           `json:"max_batch_inflight_per_stream,omitempty"`
	MaxBatchInflightTotal     int           `json:"max_batch_inflight_total,omitempty"`
	MaxBatchSize              int           `json:"max_batch_size,omitempty"`
	MaxBatchTimeout           time.Duration `json:"max_batch_timeout,omitempty"`
	DefaultMaxConsumers       int           `json:"default_max_consumers,omitempty"`
}

// StreamDetail is one stream in /jsz.
type StreamDetail struct {
	Name            string                    `json:"name"`
	Created         time.Time                 `json:"created"`
	Cluster         *jsapi.ClusterInfo        `json:"cluster,omitempty"`
	Config          *jsapi.StreamConfig       `json:"config,omitempty"`
	State           jsapi.StreamState         `json:"state"`
	Consumers       []*jsapi.ConsumerInfo     `json:"consumer_detail,omitempty"`
	DirectConsumers []*jsapi.ConsumerInfo     `json:"direct_consumer_detail,omitempty"`
	Mirror          *jsapi.StreamSourceInfo   `json:"mirror,omitempty"`
	Sources         []*jsapi.StreamSourceInfo `json:"sources,omitempty"`
}

// AccountDetail is one account in /jsz: its usage as JetStream statistics (the
// reference reports its reservations as the account limits, -1 showing as the
// largest uint64, and no API level) and, on request, its streams.
type AccountDetail struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	jsapi.Stats
	Streams []StreamDetail `json:"stream_detail,omitempty"`
}

// JSInfo is the /jsz response body, in the reference's field order. The node fills
// in the server's identity, the time and the limits.
type JSInfo struct {
	jsapi.Stats
	ID              string              `json:"server_id"`
	Now             time.Time           `json:"now"`
	Disabled        bool                `json:"disabled,omitempty"`
	Config          JetStreamConfigInfo `json:"config,omitempty"`
	Limits          *LimitsInfo         `json:"limits,omitempty"`
	Streams         int                 `json:"streams"`
	StreamsLeader   int                 `json:"streams_leader,omitempty"`
	Consumers       int                 `json:"consumers"`
	ConsumersLeader int                 `json:"consumers_leader,omitempty"`
	Messages        uint64              `json:"messages"`
	Bytes           uint64              `json:"bytes"`
	AccountDetails  []*AccountDetail    `json:"account_details,omitempty"`
	Total           int                 `json:"total"`
}

// ConfigInfo describes the configuration in force. sync_interval is the timer
// interval when acknowledgements only wait for the OS (zero otherwise: the node
// reports the configured interval); sync_always says every acknowledgement waits
// for an fsync, this server's default. compress_ok is set when both storage limits
// are configured, as the reference sets it only outside its dynamic configuration.
func (m *Manager) ConfigInfo() JetStreamConfigInfo {
	config := m.config
	return JetStreamConfigInfo{MaxMemory: unlimited(config.MaxMemory), MaxStore: unlimited(config.MaxStore),
		StoreDir: m.rootDir(), SyncInterval: config.SyncInterval, SyncAlways: config.SyncInterval == 0,
		Domain: config.Domain, CompressOK: config.MaxMemory > 0 && config.MaxStore > 0}
}

// Stats is the server's JetStream usage: /varz's "jetstream.stats" and the top of
// /jsz.
func (m *Manager) Stats() jsapi.Stats {
	stats := jsapi.Stats{API: jsapi.APIStats{Level: jsapi.APILevel}}
	for _, account := range m.Accounts() {
		info := account.Info()
		stats.Memory += info.Memory
		stats.Store += info.Store
		stats.ReservedMemory += info.ReservedMemory
		stats.ReservedStore += info.ReservedStore
		stats.API.Total += info.API.Total
		stats.API.Errors += info.API.Errors
		stats.Accounts++
	}
	return stats
}

// Jsz reports usage and, on request, details, as the reference's /jsz on one
// server. Accounts and streams come sorted by name.
func (m *Manager) Jsz(options JszOptions) *JSInfo {
	options.Offset = max(options.Offset, 0)
	if options.Limit == 0 {
		options.Limit = jszLimitDefault
	}
	if options.Consumers {
		options.Streams = true
	}
	if options.Streams && options.Account == "" {
		options.Accounts = true
	}
	info := &JSInfo{Stats: m.Stats(), Config: m.ConfigInfo()}
	accounts := m.Accounts()
	info.Total = len(accounts)
	var selected *Account
	for _, account := range accounts {
		if account.name == options.Account {
			selected = account
		}
		for _, stream := range account.Streams() {
			var state store.StreamState
			stream.store.FastState(&state)
			info.Streams++
			info.Messages += state.Msgs
			info.Bytes += state.Bytes
			info.Consumers += stream.consumerCount()
		}
	}
	if options.RaftGroups {
		// One server leads every stream and consumer it has.
		info.StreamsLeader, info.ConsumersLeader = info.Streams, info.Consumers
	}
	switch {
	case selected != nil:
		accounts = []*Account{selected}
	case options.Accounts && options.Limit > 0:
		accounts = accounts[min(options.Offset, len(accounts)):]
		accounts = accounts[:min(options.Limit, len(accounts))]
	case !options.Accounts:
		accounts = nil
	}
	for _, account := range accounts {
		info.AccountDetails = append(info.AccountDetails, account.detail(options))
	}
	return info
}

// detail describes the account for /jsz.
func (a *Account) detail(options JszOptions) *AccountDetail {
	info := a.Info()
	detail := &AccountDetail{Name: a.name, ID: a.name, Stats: jsapi.Stats{Memory: info.Memory, Store: info.Store,
		ReservedMemory: uint64(info.Limits.MaxMemory), ReservedStore: uint64(info.Limits.MaxStore),
		API: jsapi.APIStats{Total: info.API.Total, Errors: info.API.Errors}}}
	if options.Streams {
		for _, stream := range a.Streams() {
			detail.Streams = append(detail.Streams, stream.detail(options))
		}
	}
	return detail
}

// detail describes the stream for /jsz; consumer configurations only with Config,
// as the reference.
func (s *Stream) detail(options JszOptions) StreamDetail {
	info := s.Info(false, "")
	detail := StreamDetail{Name: info.Config.Name, Created: info.Created, State: info.State,
		Cluster: &jsapi.ClusterInfo{Leader: options.ServerName}, Mirror: info.Mirror, Sources: info.Sources}
	if options.Config {
		detail.Config = &info.Config
	}
	if !options.Consumers {
		return detail
	}
	for _, consumer := range s.Consumers() {
		direct := isDirectConsumer(consumer)
		if direct && !options.DirectConsumers {
			// Mirrors' and sources' consumers are internal: listed apart, on request.
			continue
		}
		consumerInfo := consumer.Info()
		if consumerInfo == nil {
			continue
		}
		if !options.Config {
			copied := *consumerInfo
			copied.Config = nil
			consumerInfo = &copied
		}
		if direct {
			detail.DirectConsumers = append(detail.DirectConsumers, consumerInfo)
		} else {
			detail.Consumers = append(detail.Consumers, consumerInfo)
		}
	}
	return detail
}
