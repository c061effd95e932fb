package jsapi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/natsim/natsim/ds/subject"
)

// Consumer defaults, as the reference sets them.
const (
	// DefaultAckWait is the ack wait of an acking consumer that sets none.
	DefaultAckWait = 30 * time.Second
	// DefaultMaxAckPending is the max_ack_pending of an acking consumer that sets none.
	DefaultMaxAckPending = 1000
	// DefaultMaxWaiting is the max_waiting of a pull consumer that sets none.
	DefaultMaxWaiting = 512
	// DefaultPinnedTTL is the priority_timeout of a pinned-client consumer that sets none.
	DefaultPinnedTTL = 2 * time.Minute
	// DefaultInactiveThreshold is how long an ephemeral consumer without interest lives
	// when it sets no inactive_threshold.
	DefaultInactiveThreshold = 5 * time.Second
	// FlowControlHeartbeat is the idle heartbeat the flow_control ack policy requires.
	FlowControlHeartbeat = time.Second
	// minimumHeartbeat is the smallest positive idle heartbeat of a push consumer.
	minimumHeartbeat = 100 * time.Millisecond
	// minimumRequestExpires is the smallest positive max_expires.
	minimumRequestExpires = time.Millisecond
)

// ConsumerCheckOptions is the context the consumer checks need beyond the two
// configurations. The zero value means no server or account limits.
type ConsumerCheckOptions struct {
	// Pedantic turns silent defaulting into errors.
	Pedantic bool
	// ServerMaxAckPending and ServerMaxRequestBatch are jetstream.limits
	// max_ack_pending and max_request_batch; 0 means none.
	ServerMaxAckPending   int
	ServerMaxRequestBatch int
	// AccountMaxAckPending is the account's max_ack_pending limit; 0 means none.
	AccountMaxAckPending int
	// Recovering relaxes the replica check for consumers restored from disk.
	Recovering bool
}

// PrepareConsumerConfig applies the defaults to a copy of config and checks it, in
// the reference's order (SetConsumerDefaults, then CheckConsumerConfig), returning the
// configuration to store or the exact API error.
func PrepareConsumerConfig(config *ConsumerConfig, stream *StreamConfig, options ConsumerCheckOptions) (ConsumerConfig, *Error) {
	cfg := *config
	cfg.BackOff = slices.Clone(config.BackOff)
	cfg.FilterSubjects = slices.Clone(config.FilterSubjects)
	cfg.PriorityGroups = slices.Clone(config.PriorityGroups)
	if err := SetConsumerDefaults(&cfg, stream, options); err != nil {
		return ConsumerConfig{}, err
	}
	if err := CheckConsumerConfig(&cfg, stream, options); err != nil {
		return ConsumerConfig{}, err
	}
	return cfg, nil
}

// SetConsumerDefaults fills what config leaves unset, from the stream's consumer
// limits and the server's and account's limits; in pedantic mode each silent change
// is an error instead.
func SetConsumerDefaults(config *ConsumerConfig, stream *StreamConfig, options ConsumerCheckOptions) *Error {
	if config.MaxDeliver == 0 || config.MaxDeliver < -1 {
		if options.Pedantic && config.MaxDeliver < -1 {
			return pedanticError("max_deliver must be set to -1")
		}
		config.MaxDeliver = -1
	}
	negatives := []struct {
		negative bool
		reset    func()
		message  string
	}{
		{config.MaxWaiting < 0, func() { config.MaxWaiting = 0 }, "max_waiting must not be negative"},
		{config.MaxAckPending < -1, func() { config.MaxAckPending = -1 }, "max_ack_pending must be set to -1"},
		{config.MaxRequestBatch < 0, func() { config.MaxRequestBatch = 0 }, "max_batch must not be negative"},
		{config.MaxRequestExpires < 0, func() { config.MaxRequestExpires = 0 }, "max_expires must not be negative"},
		{config.MaxRequestMaxBytes < 0, func() { config.MaxRequestMaxBytes = 0 }, "max_bytes must not be negative"},
		{config.Heartbeat < 0, func() { config.Heartbeat = 0 }, "idle_heartbeat must not be negative"},
		{config.InactiveThreshold < 0, func() { config.InactiveThreshold = 0 }, "inactive_threshold must not be negative"},
		{config.PinnedTTL < 0, func() { config.PinnedTTL = 0 }, "priority_timeout must not be negative"},
	}
	for _, field := range negatives {
		if !field.negative {
			continue
		}
		if options.Pedantic {
			return pedanticError(field.message)
		}
		field.reset()
	}
	if config.DeliverSubject == "" && config.MaxWaiting == 0 {
		config.MaxWaiting = DefaultMaxWaiting
	}
	if config.AckWait == 0 && (config.AckPolicy == AckExplicit || config.AckPolicy == AckAll) {
		config.AckWait = DefaultAckWait
	}
	if len(config.BackOff) > 0 {
		if options.Pedantic && config.AckWait != config.BackOff[0] {
			return pedanticError("first backoff value has to equal batch AckWait")
		}
		config.AckWait = config.BackOff[0]
	}
	var streamLimits StreamConsumerLimits
	if stream != nil {
		streamLimits = stream.ConsumerLimits
	}
	if config.MaxAckPending == 0 {
		if options.Pedantic && streamLimits.MaxAckPending > 0 {
			return pedanticError("max_ack_pending must be set if it's configured in stream limits")
		}
		config.MaxAckPending = streamLimits.MaxAckPending
	}
	if config.InactiveThreshold == 0 {
		if options.Pedantic && streamLimits.InactiveThreshold > 0 {
			return pedanticError("inactive_threshold must be set if it's configured in stream limits")
		}
		config.InactiveThreshold = streamLimits.InactiveThreshold
	}
	if config.MaxAckPending == 0 && config.AckPolicy != AckNone {
		pending := DefaultMaxAckPending
		if options.ServerMaxAckPending > 0 && options.ServerMaxAckPending < pending {
			pending = options.ServerMaxAckPending
		}
		if options.AccountMaxAckPending > 0 && options.AccountMaxAckPending < pending {
			pending = options.AccountMaxAckPending
		}
		config.MaxAckPending = pending
	}
	if config.DeliverSubject == "" && config.MaxRequestBatch == 0 && options.ServerMaxRequestBatch > 0 {
		if options.Pedantic {
			return pedanticError("max_request_batch must be set if it's JetStream limits are set")
		}
		config.MaxRequestBatch = options.ServerMaxRequestBatch
	}
	if config.PriorityPolicy == PriorityPinnedClient && config.PinnedTTL == 0 {
		config.PinnedTTL = DefaultPinnedTTL
	}
	if config.AckPolicy == AckFlowControl && !options.Pedantic {
		config.FlowControl = true
		config.Heartbeat = FlowControlHeartbeat
	}
	return nil
}

// CheckConsumerConfig checks a consumer configuration (defaults already applied)
// against its stream, returning the reference's error for the first problem in the
// reference's order.
func CheckConsumerConfig(config *ConsumerConfig, stream *StreamConfig, options ConsumerCheckOptions) *Error {
	if stream == nil {
		stream = &StreamConfig{Replicas: 1}
	}
	checks := []func(*ConsumerConfig, *StreamConfig, *ConsumerCheckOptions) *Error{
		checkConsumerNames,
		checkConsumerPolicies,
		checkConsumerDelivery,
		checkConsumerLimits,
		checkConsumerFilters,
		checkConsumerStart,
		checkConsumerMisc,
		checkConsumerPriority,
	}
	for _, check := range checks {
		if err := check(config, stream, &options); err != nil {
			return err
		}
	}
	return nil
}

func checkConsumerNames(config *ConsumerConfig, stream *StreamConfig, options *ConsumerCheckOptions) *Error {
	if config.Name != "" && !IsValidName(config.Name) {
		return invalidConfig("consumer name can not contain '.', '*', '>', '\\', '/'")
	}
	if config.Durable != "" && !IsValidName(config.Durable) {
		return invalidConfig("consumer durable name can not contain '.', '*', '>', '\\', '/'")
	}
	if config.Replicas > 0 && config.Replicas > stream.Replicas {
		return NewConsumerReplicasExceedsStreamError()
	}
	if config.Replicas < 0 {
		return NewReplicasCountCannotBeNegativeError()
	}
	if stream.Retention == InterestPolicy || stream.Retention == WorkQueuePolicy {
		if !options.Recovering && config.Replicas != 0 && config.Replicas != stream.Replicas {
			return NewConsumerReplicasShouldMatchStreamError()
		}
	}
	return nil
}

func checkConsumerPolicies(config *ConsumerConfig, _ *StreamConfig, _ *ConsumerCheckOptions) *Error {
	if _, err := config.AckPolicy.MarshalJSON(); err != nil {
		return NewConsumerAckPolicyInvalidError()
	}
	if _, err := config.ReplayPolicy.MarshalJSON(); err != nil {
		return NewConsumerReplayPolicyInvalidError()
	}
	for _, backoff := range config.BackOff {
		if backoff < 0 {
			return NewConsumerBackOffNegativeError()
		}
	}
	if config.AckWait < 0 {
		return NewConsumerAckWaitNegativeError()
	}
	if config.AckPolicy == AckFlowControl {
		switch {
		case config.DeliverSubject == "":
			return NewConsumerAckFCRequiresPushError()
		case !config.FlowControl:
			return NewConsumerAckFCRequiresFCError()
		case config.Heartbeat != FlowControlHeartbeat:
			return invalidConfig("flow control ack policy heartbeat needs to be 1s")
		case config.MaxAckPending <= 0:
			return NewConsumerAckFCRequiresMaxAckPendingError()
		case config.AckWait != 0 || len(config.BackOff) > 0:
			return NewConsumerAckFCRequiresNoAckWaitError()
		case config.MaxDeliver > 0:
			return NewConsumerAckFCRequiresNoMaxDeliverError()
		}
	}
	if backoffs := len(config.BackOff); backoffs > 0 && config.MaxDeliver != -1 && backoffs > config.MaxDeliver {
		return NewConsumerMaxDeliverBackoffError()
	}
	if len(config.Description) > DescriptionBytesMax {
		return NewConsumerDescriptionTooLongError(DescriptionBytesMax)
	}
	return nil
}

// deliveryFormsCycle reports whether a push consumer would deliver into its own stream.
func deliveryFormsCycle(stream *StreamConfig, deliverSubject string) bool {
	for _, s := range stream.Subjects {
		if subject.IsSubsetMatch(deliverSubject, s) {
			return true
		}
	}
	return false
}

func checkConsumerDelivery(config *ConsumerConfig, stream *StreamConfig, options *ConsumerCheckOptions) *Error {
	if config.DeliverSubject != "" {
		switch {
		case !subject.IsLiteral(config.DeliverSubject):
			return NewConsumerDeliverToWildcardsError()
		case !subject.IsValidSubject(config.DeliverSubject):
			return NewConsumerInvalidDeliverSubjectError()
		case deliveryFormsCycle(stream, config.DeliverSubject):
			return NewConsumerDeliverCycleError()
		case config.MaxWaiting != 0:
			return NewConsumerPushMaxWaitingError()
		case config.MaxAckPending > 0 && config.AckPolicy == AckNone:
			return NewConsumerMaxPendingAckPolicyRequiredError()
		case config.Heartbeat > 0 && config.Heartbeat < minimumHeartbeat:
			return NewConsumerSmallHeartbeatError()
		}
		return nil
	}
	switch {
	case config.AckPolicy == AckNone && stream.Retention == WorkQueuePolicy:
		return NewConsumerPullRequiresAckError()
	case config.RateLimit > 0:
		return NewConsumerPullWithRateLimitError()
	case config.MaxWaiting < 0:
		return NewConsumerMaxWaitingNegativeError()
	case config.Heartbeat > 0:
		return NewConsumerHBRequiresPushError()
	case config.FlowControl:
		return NewConsumerFCRequiresPushError()
	case config.MaxRequestBatch < 0:
		return NewConsumerMaxRequestBatchNegativeError()
	case config.MaxRequestExpires != 0 && config.MaxRequestExpires < minimumRequestExpires:
		return NewConsumerMaxRequestExpiresTooSmallError()
	case options.ServerMaxRequestBatch > 0 && config.MaxRequestBatch > options.ServerMaxRequestBatch:
		return NewConsumerMaxRequestBatchExceededError(options.ServerMaxRequestBatch)
	}
	return nil
}

func checkConsumerLimits(config *ConsumerConfig, stream *StreamConfig, options *ConsumerCheckOptions) *Error {
	switch {
	case options.ServerMaxAckPending > 0 && config.MaxAckPending > options.ServerMaxAckPending:
		return NewConsumerMaxPendingAckExcessError(options.ServerMaxAckPending)
	case options.AccountMaxAckPending > 0 && config.MaxAckPending > options.AccountMaxAckPending:
		return NewConsumerMaxPendingAckExcessError(options.AccountMaxAckPending)
	case stream.ConsumerLimits.MaxAckPending > 0 && config.MaxAckPending > stream.ConsumerLimits.MaxAckPending:
		return NewConsumerMaxPendingAckExcessError(stream.ConsumerLimits.MaxAckPending)
	case stream.ConsumerLimits.InactiveThreshold > 0 && config.InactiveThreshold > stream.ConsumerLimits.InactiveThreshold:
		return NewConsumerInactiveThresholdExcessError(stream.ConsumerLimits.InactiveThreshold)
	}
	if config.Direct {
		if config.DeliverSubject == "" {
			return NewConsumerDirectRequiresPushError()
		}
		if config.IsDurable() {
			return NewConsumerDirectRequiresEphemeralError()
		}
	}
	return nil
}

func checkConsumerFilters(config *ConsumerConfig, _ *StreamConfig, _ *ConsumerCheckOptions) *Error {
	if config.FilterSubject != "" && len(config.FilterSubjects) > 0 {
		return NewConsumerDuplicateFilterSubjectsError()
	}
	if config.FilterSubject != "" && !subject.IsValidSubject(config.FilterSubject) {
		return NewStreamInvalidConfigError(ErrBadSubject)
	}
	if slices.Contains(config.FilterSubjects, "") {
		return NewConsumerEmptyFilterError()
	}
	filters := config.FilterSubjectList()
	for outer, filter := range filters {
		if !subject.IsValidSubject(filter) {
			return NewStreamInvalidConfigError(ErrBadSubject)
		}
		for inner, other := range filters {
			if inner != outer && subject.IsSubsetMatch(filter, other) {
				return NewConsumerOverlappingSubjectFiltersError()
			}
		}
	}
	return nil
}

// deliverPolicyPhrases names each policy the way the reference's messages do.
var deliverPolicyPhrases = map[DeliverPolicy]string{
	DeliverAll:             "all",
	DeliverLast:            "last",
	DeliverLastPerSubject:  "last per subject",
	DeliverNew:             "new",
	DeliverByStartSequence: "by start sequence",
	DeliverByStartTime:     "by start time",
}

func checkConsumerStart(config *ConsumerConfig, _ *StreamConfig, _ *ConsumerCheckOptions) *Error {
	phrase := deliverPolicyPhrases[config.DeliverPolicy]
	badStart := func(start string) *Error {
		return NewConsumerInvalidPolicyError(fmt.Errorf(
			"consumer delivery policy is deliver %s, but optional start %s is also set", phrase, start))
	}
	notSet := func(missing string) *Error {
		return NewConsumerInvalidPolicyError(fmt.Errorf(
			"consumer delivery policy is deliver %s, but optional %s is not set", phrase, missing))
	}
	switch config.DeliverPolicy {
	case DeliverAll, DeliverLast, DeliverNew, DeliverLastPerSubject:
		if config.OptStartSeq > 0 {
			return badStart("sequence")
		}
		if config.OptStartTime != nil {
			return badStart("time")
		}
		if config.DeliverPolicy == DeliverLastPerSubject && config.FilterSubject == "" && len(config.FilterSubjects) == 0 {
			return notSet("filter subject")
		}
	case DeliverByStartSequence:
		if config.OptStartSeq == 0 {
			return notSet("start sequence")
		}
		if config.OptStartTime != nil {
			return badStart("time")
		}
	case DeliverByStartTime:
		if config.OptStartTime == nil {
			return notSet("start time")
		}
		if config.OptStartSeq != 0 {
			return badStart("start sequence")
		}
	}
	return nil
}

func checkConsumerMisc(config *ConsumerConfig, _ *StreamConfig, _ *ConsumerCheckOptions) *Error {
	if config.SampleFrequency != "" {
		text := strings.TrimSuffix(config.SampleFrequency, "%")
		frequency, err := strconv.Atoi(text)
		if err != nil {
			return NewConsumerInvalidSamplingError(err)
		}
		if frequency < 0 {
			return NewConsumerInvalidSamplingError(nil)
		}
	}
	if config.FlowControl && config.Heartbeat == 0 {
		return NewConsumerWithFlowControlNeedsHeartbeatsError()
	}
	if config.Durable != "" && config.Name != "" && config.Name != config.Durable {
		return NewConsumerCreateDurableAndNameMismatchError()
	}
	if metadataBytes(config.Metadata) > MetadataBytesMax {
		return NewConsumerMetadataLengthError(fmt.Sprintf("%dKB", MetadataBytesMax/1024))
	}
	return nil
}

func checkConsumerPriority(config *ConsumerConfig, stream *StreamConfig, _ *ConsumerCheckOptions) *Error {
	if config.PriorityPolicy != PriorityNone {
		if config.DeliverSubject != "" {
			return NewConsumerPushWithPriorityGroupError()
		}
		if len(config.PriorityGroups) == 0 {
			return NewConsumerPriorityPolicyWithoutGroupError()
		}
		for _, group := range config.PriorityGroups {
			if group == "" {
				return NewConsumerEmptyGroupNameError()
			}
			if !IsValidGroupName(group) {
				return NewConsumerInvalidGroupNameError()
			}
		}
	} else {
		if len(config.PriorityGroups) > 0 {
			return NewConsumerPriorityGroupWithPolicyNoneError()
		}
		if config.PinnedTTL > 0 {
			return NewConsumerPinnedTTLWithoutPriorityPolicyNoneError()
		}
	}
	if stream.Placement != nil && stream.Placement.Preferred != "" {
		return invalidConfig("preferred server not permitted in placement")
	}
	return nil
}
