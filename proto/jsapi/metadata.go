package jsapi

import "strconv"

// Asset version metadata: the reference stores, in every stream and consumer
// configuration's metadata, the API level its features require, and adds its version
// and API level to the configurations it reports (jetstream_versioning.go). Clients
// read them to tell which server made an asset.
const (
	// MetadataRequiredLevel is the API level a configuration's features need; it is
	// stored with the configuration.
	MetadataRequiredLevel = "_nats.req.level"
	// MetadataServerVersion is the reporting server's version, added on output only.
	MetadataServerVersion = "_nats.ver"
	// MetadataServerLevel is the reporting server's API level, added on output only.
	MetadataServerLevel = "_nats.level"
)

// ServerVersion is the version reported in MetadataServerVersion: the reference
// release this implementation answers as.
const ServerVersion = "2.15.2"

// StreamRequiredLevel returns the API level a stream configuration's features need:
// 1 for per-message TTLs and delete markers, 2 for counters, atomic batches,
// schedules and asynchronous persistence, 4 for fast batches.
func StreamRequiredLevel(config *StreamConfig) int {
	level := 0
	requires := func(need int) { level = max(level, need) }
	if config.AllowMsgTTL || config.SubjectDeleteMarkerTTL > 0 {
		requires(1)
	}
	if config.AllowMsgCounter || config.AllowAtomicPublish || config.AllowMsgSchedules ||
		config.PersistMode == AsyncPersistMode {
		requires(2)
	}
	if config.AllowBatchPublish {
		requires(4)
	}
	return level
}

// ConsumerRequiredLevel returns the API level a consumer configuration's features
// need: 1 for pausing and priority groups, 4 for the flow control ack policy.
func ConsumerRequiredLevel(config *ConsumerConfig) int {
	level := 0
	requires := func(need int) { level = max(level, need) }
	if config.PauseUntil != nil && !config.PauseUntil.IsZero() {
		requires(1)
	}
	if config.PriorityPolicy != PriorityNone || config.PinnedTTL != 0 || len(config.PriorityGroups) > 0 {
		requires(1)
	}
	if config.AckPolicy == AckFlowControl {
		requires(4)
	}
	return level
}

// setRequiredLevel drops the output-only keys a client may have sent back and stores
// level, returning the (possibly new) map; the caller's map is copied, not changed.
func setRequiredLevel(metadata map[string]string, level int) map[string]string {
	out := make(map[string]string, len(metadata)+1)
	for key, value := range metadata {
		if key != MetadataServerVersion && key != MetadataServerLevel {
			out[key] = value
		}
	}
	out[MetadataRequiredLevel] = strconv.Itoa(level)
	return out
}

// SetStaticStreamMetadata stores the required API level in a stream configuration
// about to be created or updated, as the reference does on every create and update.
func SetStaticStreamMetadata(config *StreamConfig) {
	config.Metadata = setRequiredLevel(config.Metadata, StreamRequiredLevel(config))
}

// SetStaticConsumerMetadata stores the required API level in a consumer
// configuration about to be created, updated, paused or resumed.
func SetStaticConsumerMetadata(config *ConsumerConfig) {
	config.Metadata = setRequiredLevel(config.Metadata, ConsumerRequiredLevel(config))
}

// withServerMetadata returns a copy of metadata with this server's version and level.
func withServerMetadata(metadata map[string]string) map[string]string {
	out := make(map[string]string, len(metadata)+2)
	for key, value := range metadata {
		out[key] = value
	}
	out[MetadataServerVersion] = ServerVersion
	out[MetadataServerLevel] = strconv.Itoa(APILevel)
	return out
}

// WithDynamicStreamMetadata returns config with the server's version and API level
// added to a copy of its metadata: what create, update and info answers report
// (lists report the stored configuration as it is).
func WithDynamicStreamMetadata(config StreamConfig) StreamConfig {
	config.Metadata = withServerMetadata(config.Metadata)
	return config
}

// WithDynamicConsumerMetadata is WithDynamicStreamMetadata for a consumer
// configuration.
func WithDynamicConsumerMetadata(config ConsumerConfig) ConsumerConfig {
	config.Metadata = withServerMetadata(config.Metadata)
	return config
}
