package jetstream

import (
	"time"

	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// JszOptions select what Jsz reports, as /jsz's query parameters do.
type JszOptions struct {
	// Account limits the report to one account ("acc").
	Account string
	// Accounts, Streams, Consumers and Config add per-account, per-stream and
	// per-consumer details and stream configurations.
	Accounts  bool
	Streams   bool
	Consumers bool
	Config    bool
	// Offset and Limit page the account details.
	Offset int
	Limit  int
}

// JetStreamConfigInfo is /jsz's "config".
type JetStreamConfigInfo struct {
	MaxMemory    int64         `json:"max_memory"`
	MaxStore     int64         `json:"max_storage"`
	StoreDir     string        `json:"store_dir,omitempty"`
	SyncInterval time.Duration `json:"sync_interval,omitempty"`
	SyncAlways   bool          `json:"sync_always,omitempty"`
	Domain       string        `json:"domain,omitempty"`
	CompressOK   bool          `json:"compress_ok,omitempty"`
}

// StreamDetail is one stream in /jsz.
type StreamDetail struct {
	Name      string                `json:"name"`
	Created   time.Time             `json:"created"`
	Config    *jsapi.StreamConfig   `json:"config,omitempty"`
	State     jsapi.StreamState     `json:"state"`
	Consumers []*jsapi.ConsumerInfo `json:"consumer_detail,omitempty"`
}

// AccountDetail is one account in /jsz.
type AccountDetail struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	jsapi.AccountInfo
	Streams []StreamDetail `json:"stream_detail,omitempty"`
}

// JSInfo is the /jsz response body (without the server's identity, which the node
// adds).
type JSInfo struct {
	Config         JetStreamConfigInfo `json:"config"`
	Memory         uint64              `json:"memory"`
	Store          uint64              `json:"storage"`
	ReservedMemory uint64              `json:"reserved_memory"`
	ReservedStore  uint64              `json:"reserved_storage"`
	Accounts       int                 `json:"accounts"`
	HAAssets       int                 `json:"ha_assets"`
	API            jsapi.APIStats      `json:"api"`
	Streams        int                 `json:"streams"`
	Consumers      int                 `json:"consumers"`
	Messages       uint64              `json:"messages"`
	Bytes          uint64              `json:"bytes"`
	AccountDetails []*AccountDetail    `json:"account_details,omitempty"`
	Total          int                 `json:"total,omitempty"`
}

// Jsz reports usage and, on request, details, as the reference's /jsz.
func (m *Manager) Jsz(options JszOptions) *JSInfo {
	config := m.config
	info := &JSInfo{Config: JetStreamConfigInfo{MaxMemory: unlimited(config.MaxMemory), MaxStore: unlimited(config.MaxStore),
		StoreDir: config.StoreDir, SyncInterval: config.SyncInterval, SyncAlways: config.SyncInterval == 0,
		Domain: config.Domain, CompressOK: true}}
	info.API.Level = jsapi.APILevel
	accounts := m.Accounts()
	info.Accounts = len(accounts)
	var details []*AccountDetail
	for _, account := range accounts {
		accountInfo := account.Info()
		info.Memory += accountInfo.Memory
		info.Store += accountInfo.Store
		info.ReservedMemory += accountInfo.ReservedMemory
		info.ReservedStore += accountInfo.ReservedStore
		info.API.Total += accountInfo.API.Total
		info.API.Errors += accountInfo.API.Errors
		info.Streams += accountInfo.Streams
		info.Consumers += accountInfo.Consumers
		var streams []StreamDetail
		for _, stream := range account.Streams() {
			var state store.StreamState
			stream.store.FastState(&state)
			info.Messages += state.Msgs
			info.Bytes += state.Bytes
			if options.Streams || options.Consumers {
				streams = append(streams, stream.detail(options))
			}
		}
		if (options.Accounts || options.Streams || options.Consumers) && (options.Account == "" || options.Account == account.name) {
			details = append(details, &AccountDetail{Name: account.name, ID: account.name, AccountInfo: accountInfo, Streams: streams})
		}
	}
	info.Total = len(details)
	if options.Offset > 0 {
		details = details[min(options.Offset, len(details)):]
	}
	if options.Limit > 0 && len(details) > options.Limit {
		details = details[:options.Limit]
	}
	info.AccountDetails = details
	return info
}

// detail describes the stream for /jsz.
func (s *Stream) detail(options JszOptions) StreamDetail {
	info := s.Info(false, "")
	detail := StreamDetail{Name: info.Config.Name, Created: info.Created, State: info.State}
	if options.Config {
		detail.Config = &info.Config
	}
	if options.Consumers {
		for _, consumer := range s.Consumers() {
			detail.Consumers = append(detail.Consumers, consumer.Info())
		}
	}
	return detail
}
