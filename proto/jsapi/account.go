package jsapi

// AccountLimits are an account's JetStream limits; -1 means unlimited.
type AccountLimits struct {
	MaxMemory            int64 `json:"max_memory"`
	MaxStore             int64 `json:"max_storage"`
	MaxStreams           int   `json:"max_streams"`
	MaxConsumers         int   `json:"max_consumers"`
	MaxAckPending        int   `json:"max_ack_pending"`
	MemoryMaxStreamBytes int64 `json:"memory_max_stream_bytes"`
	StoreMaxStreamBytes  int64 `json:"storage_max_stream_bytes"`
	MaxBytesRequired     bool  `json:"max_bytes_required"`
}

// Tier is an account's usage and limits within one tier (R1, R3 ...), or overall.
type Tier struct {
	Memory         uint64        `json:"memory"`
	Store          uint64        `json:"storage"`
	ReservedMemory uint64        `json:"reserved_memory"`
	ReservedStore  uint64        `json:"reserved_storage"`
	Streams        int           `json:"streams"`
	Consumers      int           `json:"consumers"`
	Limits         AccountLimits `json:"limits"`
}

// APIStats counts an account's (or a server's) API requests.
type APIStats struct {
	Level    int    `json:"level"`
	Total    uint64 `json:"total"`
	Errors   uint64 `json:"errors"`
	Inflight uint64 `json:"inflight,omitempty"`
}

// AccountInfo is the body of the $JS.API.INFO response: usage and limits overall, the
// domain, API statistics and per-tier details.
type AccountInfo struct {
	Tier
	Domain string          `json:"domain,omitempty"`
	API    APIStats        `json:"api"`
	Tiers  map[string]Tier `json:"tiers,omitempty"`
}

// Stats is a server's JetStream usage as /jsz and the server info report it.
type Stats struct {
	Memory         uint64   `json:"memory"`
	Store          uint64   `json:"storage"`
	ReservedMemory uint64   `json:"reserved_memory"`
	ReservedStore  uint64   `json:"reserved_storage"`
	Accounts       int      `json:"accounts"`
	HAAssets       int      `json:"ha_assets"`
	API            APIStats `json:"api"`
}

// APILevel is the JetStream API level this implementation speaks (the reference's
// JSApiLevel), reported in APIStats.Level and checked against Nats-Required-Api-Level.
const APILevel = 5
