package jsapi

import (
	"strings"
	"testing"
	"time"
)

// TestConsumerConfigErrors proves each consumer check returns the reference's error
// code and exact description, after the reference's defaults.
func TestConsumerConfigErrors(t *testing.T) {
	stream := &StreamConfig{Name: "S", Subjects: []string{"orders.>"}, Replicas: 1}
	workQueue := &StreamConfig{Name: "W", Subjects: []string{"jobs"}, Replicas: 3, Retention: WorkQueuePolicy}
	limited := &StreamConfig{Name: "L", Subjects: []string{"l"}, Replicas: 1,
		ConsumerLimits: StreamConsumerLimits{MaxAckPending: 10, InactiveThreshold: time.Minute}}
	preferred := &StreamConfig{Name: "P", Subjects: []string{"p"}, Replicas: 1, Placement: &Placement{Preferred: "n1"}}
	start := time.Unix(100, 0)
	pedantic := ConsumerCheckOptions{Pedantic: true}
	cases := []struct {
		name        string
		config      ConsumerConfig
		stream      *StreamConfig
		options     ConsumerCheckOptions
		code        ErrorCode
		description string
	}{
		{"pedantic max_deliver", ConsumerConfig{MaxDeliver: -2}, stream, pedantic, ErrCodePedantic, "pedantic mode: max_deliver must be set to -1"},
		{"pedantic max_waiting", ConsumerConfig{MaxWaiting: -1}, stream, pedantic, ErrCodePedantic, "pedantic mode: max_waiting must not be negative"},
		{"pedantic max_ack_pending", ConsumerConfig{MaxAckPending: -2}, stream, pedantic, ErrCodePedantic,
			"pedantic mode: max_ack_pending must be set to -1"},
		{"pedantic heartbeat", ConsumerConfig{Heartbeat: -1}, stream, pedantic, ErrCodePedantic,
			"pedantic mode: idle_heartbeat must not be negative"},
		{"pedantic backoff", ConsumerConfig{AckPolicy: AckExplicit, BackOff: []time.Duration{time.Second}}, stream, pedantic,
			ErrCodePedantic, "pedantic mode: first backoff value has to equal batch AckWait"},
		{"pedantic stream max_ack_pending", ConsumerConfig{AckPolicy: AckExplicit, AckWait: time.Second}, limited, pedantic,
			ErrCodePedantic, "pedantic mode: max_ack_pending must be set if it's configured in stream limits"},
		{"pedantic max_request_batch", ConsumerConfig{}, stream, ConsumerCheckOptions{Pedantic: true, ServerMaxRequestBatch: 10},
			ErrCodePedantic, "pedantic mode: max_request_batch must be set if it's JetStream limits are set"},
		{"name", ConsumerConfig{Name: "a.b"}, stream, ConsumerCheckOptions{}, ErrCodeStreamInvalidConfig,
			`consumer name can not contain '.', '*', '>', '\', '/'`},
		{"durable", ConsumerConfig{Durable: "a b"}, stream, ConsumerCheckOptions{}, ErrCodeStreamInvalidConfig,
			`consumer durable name can not contain '.', '*', '>', '\', '/'`},
		{"replicas over stream", ConsumerConfig{Replicas: 3}, stream, ConsumerCheckOptions{}, ErrCodeConsumerReplicasExceedsStream,
			"consumer config replica count exceeds parent stream"},
		{"negative replicas", ConsumerConfig{Replicas: -1}, stream, ConsumerCheckOptions{}, ErrCodeReplicasCountCannotBeNegative,
			"replicas count cannot be negative"},
		{"work queue replicas", ConsumerConfig{AckPolicy: AckExplicit, Replicas: 1}, workQueue, ConsumerCheckOptions{},
			ErrCodeConsumerReplicasShouldMatchStream, "consumer config replicas must match interest retention stream's replicas"},
		{"ack policy", ConsumerConfig{AckPolicy: 9}, stream, ConsumerCheckOptions{}, ErrCodeConsumerAckPolicyInvalid,
			"consumer ack policy invalid"},
		{"replay policy", ConsumerConfig{ReplayPolicy: 9}, stream, ConsumerCheckOptions{}, ErrCodeConsumerReplayPolicyInvalid,
			"consumer replay policy invalid"},
		{"negative backoff", ConsumerConfig{AckPolicy: AckExplicit, BackOff: []time.Duration{time.Second, -1}}, stream,
			ConsumerCheckOptions{}, ErrCodeConsumerBackOffNegative, "consumer backoff needs to be positive"},
		{"negative ack wait", ConsumerConfig{AckPolicy: AckExplicit, AckWait: -1}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerAckWaitNegative, "consumer ack wait needs to be positive"},
		{"flow control ack pull", ConsumerConfig{AckPolicy: AckFlowControl}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerAckFCRequiresPush, ErrCodeConsumerAckFCRequiresPush.Template()},
		{"backoff over max deliver", ConsumerConfig{AckPolicy: AckExplicit, MaxDeliver: 1,
			BackOff: []time.Duration{time.Second, 2 * time.Second}}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerMaxDeliverBackoff, "max deliver is required to be > length of backoff values"},
		{"description", ConsumerConfig{Description: strings.Repeat("d", 4097)}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerDescriptionTooLong, "consumer description is too long, maximum allowed is 4096"},
		{"deliver wildcard", ConsumerConfig{DeliverSubject: "d.*"}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerDeliverToWildcards, "consumer deliver subject has wildcards"},
		{"deliver invalid", ConsumerConfig{DeliverSubject: "d..x"}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerInvalidDeliverSubject, "invalid push consumer deliver subject"},
		{"deliver cycle", ConsumerConfig{DeliverSubject: "orders.x"}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerDeliverCycle, "consumer deliver subject forms a cycle"},
		{"push max waiting", ConsumerConfig{DeliverSubject: "d", MaxWaiting: 5}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerPushMaxWaiting, "consumer in push mode can not set max waiting"},
		{"push ack none pending", ConsumerConfig{DeliverSubject: "d", MaxAckPending: 5}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerMaxPendingAckPolicyRequired, "consumer requires ack policy for max ack pending"},
		{"small heartbeat", ConsumerConfig{DeliverSubject: "d", Heartbeat: time.Millisecond}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerSmallHeartbeat, "consumer idle heartbeat needs to be >= 100ms"},
		{"pull work queue ack none", ConsumerConfig{Replicas: 3}, workQueue, ConsumerCheckOptions{},
			ErrCodeConsumerPullRequiresAck, "consumer in pull mode requires explicit ack policy on workqueue stream"},
		{"pull rate limit", ConsumerConfig{RateLimit: 10}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerPullWithRateLimit, "consumer in pull mode can not have rate limit set"},
		{"pull heartbeat", ConsumerConfig{Heartbeat: time.Second}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerHBRequiresPush, "consumer idle heartbeat requires a push based consumer"},
		{"pull flow control", ConsumerConfig{FlowControl: true}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerFCRequiresPush, "consumer flow control requires a push based consumer"},
		{"pull small expires", ConsumerConfig{MaxRequestExpires: time.Microsecond}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerMaxRequestExpiresTooSmall, "consumer max request expires needs to be >= 1ms"},
		{"pull batch over limit", ConsumerConfig{MaxRequestBatch: 20}, stream, ConsumerCheckOptions{ServerMaxRequestBatch: 10},
			ErrCodeConsumerMaxRequestBatchExceeded, "consumer max request batch exceeds server limit of 10"},
		{"ack pending over server", ConsumerConfig{AckPolicy: AckExplicit, MaxAckPending: 20}, stream,
			ConsumerCheckOptions{ServerMaxAckPending: 10}, ErrCodeConsumerMaxPendingAckExcess,
			"consumer max ack pending exceeds system limit of 10"},
		{"ack pending over account", ConsumerConfig{AckPolicy: AckExplicit, MaxAckPending: 20}, stream,
			ConsumerCheckOptions{AccountMaxAckPending: 10}, ErrCodeConsumerMaxPendingAckExcess,
			"consumer max ack pending exceeds system limit of 10"},
		{"ack pending over stream", ConsumerConfig{AckPolicy: AckExplicit, MaxAckPending: 20}, limited, ConsumerCheckOptions{},
			ErrCodeConsumerMaxPendingAckExcess, "consumer max ack pending exceeds system limit of 10"},
		{"inactive over stream", ConsumerConfig{AckPolicy: AckExplicit, InactiveThreshold: time.Hour}, limited, ConsumerCheckOptions{},
			ErrCodeConsumerInactiveThresholdExcess, "consumer inactive threshold exceeds system limit of 1m0s"},
		{"direct pull", ConsumerConfig{Direct: true}, stream, ConsumerCheckOptions{}, ErrCodeConsumerDirectRequiresPush,
			"consumer direct requires a push based consumer"},
		{"direct durable", ConsumerConfig{Direct: true, Durable: "D", DeliverSubject: "d"}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerDirectRequiresEphemeral, "consumer direct requires an ephemeral consumer"},
		{"both filter forms", ConsumerConfig{FilterSubject: "orders.a", FilterSubjects: []string{"orders.b"}}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerDuplicateFilterSubjects, "consumer cannot have both FilterSubject and FilterSubjects specified"},
		{"bad filter", ConsumerConfig{FilterSubject: "a..b"}, stream, ConsumerCheckOptions{}, ErrCodeStreamInvalidConfig, "invalid subject"},
		{"empty filter", ConsumerConfig{FilterSubjects: []string{"a", ""}}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerEmptyFilter, "consumer filter in FilterSubjects cannot be empty"},
		{"bad filters", ConsumerConfig{FilterSubjects: []string{"a..b"}}, stream, ConsumerCheckOptions{},
			ErrCodeStreamInvalidConfig, "invalid subject"},
		{"overlapping filters", ConsumerConfig{FilterSubjects: []string{"a.>", "a.b"}}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerOverlappingSubjectFilters, "consumer subject filters cannot overlap"},
		{"all with sequence", ConsumerConfig{OptStartSeq: 5}, stream, ConsumerCheckOptions{}, ErrCodeConsumerInvalidPolicy,
			"consumer delivery policy is deliver all, but optional start sequence is also set"},
		{"last with time", ConsumerConfig{DeliverPolicy: DeliverLast, OptStartTime: &start}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerInvalidPolicy, "consumer delivery policy is deliver last, but optional start time is also set"},
		{"new with sequence", ConsumerConfig{DeliverPolicy: DeliverNew, OptStartSeq: 1}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerInvalidPolicy, "consumer delivery policy is deliver new, but optional start sequence is also set"},
		{"last per subject without filter", ConsumerConfig{DeliverPolicy: DeliverLastPerSubject}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerInvalidPolicy, "consumer delivery policy is deliver last per subject, but optional filter subject is not set"},
		{"by sequence without sequence", ConsumerConfig{DeliverPolicy: DeliverByStartSequence}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerInvalidPolicy, "consumer delivery policy is deliver by start sequence, but optional start sequence is not set"},
		{"by sequence with time", ConsumerConfig{DeliverPolicy: DeliverByStartSequence, OptStartSeq: 1, OptStartTime: &start}, stream,
			ConsumerCheckOptions{}, ErrCodeConsumerInvalidPolicy,
			"consumer delivery policy is deliver by start sequence, but optional start time is also set"},
		{"by time without time", ConsumerConfig{DeliverPolicy: DeliverByStartTime}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerInvalidPolicy, "consumer delivery policy is deliver by start time, but optional start time is not set"},
		{"by time with sequence", ConsumerConfig{DeliverPolicy: DeliverByStartTime, OptStartTime: &start, OptStartSeq: 2}, stream,
			ConsumerCheckOptions{}, ErrCodeConsumerInvalidPolicy,
			"consumer delivery policy is deliver by start time, but optional start start sequence is also set"},
		{"sampling", ConsumerConfig{SampleFrequency: "abc%"}, stream, ConsumerCheckOptions{}, ErrCodeConsumerInvalidSampling,
			`failed to parse consumer sampling configuration: strconv.Atoi: parsing "abc": invalid syntax`},
		{"flow control without heartbeat", ConsumerConfig{DeliverSubject: "d", FlowControl: true}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerWithFlowControlNeedsHeartbeats, "consumer with flow control also needs heartbeats"},
		{"durable and name differ", ConsumerConfig{Durable: "A", Name: "B"}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerCreateDurableAndNameMismatch, "Consumer Durable and Name have to be equal if both are provided"},
		{"metadata", ConsumerConfig{Metadata: map[string]string{"k": strings.Repeat("v", 128*1024)}}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerMetadataLength, "consumer metadata exceeds maximum size of 128KB"},
		{"priority push", ConsumerConfig{DeliverSubject: "d", PriorityPolicy: PriorityOverflow, PriorityGroups: []string{"g"}}, stream,
			ConsumerCheckOptions{}, ErrCodeConsumerPushWithPriorityGroup, "priority groups can not be used with push consumers"},
		{"priority without group", ConsumerConfig{PriorityPolicy: PriorityOverflow}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerPriorityPolicyWithoutGroup, "Setting PriorityPolicy requires at least one PriorityGroup to be set"},
		{"priority empty group", ConsumerConfig{PriorityPolicy: PriorityOverflow, PriorityGroups: []string{""}}, stream,
			ConsumerCheckOptions{}, ErrCodeConsumerEmptyGroupName, "Group name cannot be an empty string"},
		{"priority bad group", ConsumerConfig{PriorityPolicy: PriorityOverflow, PriorityGroups: []string{"a.b"}}, stream,
			ConsumerCheckOptions{}, ErrCodeConsumerInvalidGroupName, "Valid priority group name must match A-Z, a-z, 0-9, -_/=)+ and may not exceed 16 characters"},
		{"groups without policy", ConsumerConfig{PriorityGroups: []string{"g"}}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerPriorityGroupWithPolicyNone, "consumer can not have priority groups when policy is none"},
		{"pinned ttl without policy", ConsumerConfig{PinnedTTL: time.Second}, stream, ConsumerCheckOptions{},
			ErrCodeConsumerPinnedTTLWithoutPriorityPolicyNone, "PinnedTTL cannot be set when PriorityPolicy is none"},
		{"preferred placement", ConsumerConfig{}, preferred, ConsumerCheckOptions{}, ErrCodeStreamInvalidConfig,
			"preferred server not permitted in placement"},
	}
	for _, c := range cases {
		original := c.config
		_, err := PrepareConsumerConfig(&c.config, c.stream, c.options)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if err.ErrCode != c.code || err.Description != c.description {
			t.Errorf("%s: got %d %q, want %d %q", c.name, err.ErrCode, err.Description, c.code, c.description)
		}
		if c.config.MaxDeliver != original.MaxDeliver || c.config.MaxWaiting != original.MaxWaiting {
			t.Errorf("%s: the caller's configuration changed", c.name)
		}
	}
}

// TestConsumerDefaults pins the reference's consumer defaults.
func TestConsumerDefaults(t *testing.T) {
	stream := &StreamConfig{Name: "S", Subjects: []string{"s"}, Replicas: 1}
	pull, err := PrepareConsumerConfig(&ConsumerConfig{Durable: "D", AckPolicy: AckExplicit}, stream, ConsumerCheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pull.MaxDeliver != -1 || pull.MaxWaiting != DefaultMaxWaiting || pull.AckWait != DefaultAckWait ||
		pull.MaxAckPending != DefaultMaxAckPending {
		t.Fatalf("pull defaults: %+v", pull)
	}
	push, err := PrepareConsumerConfig(&ConsumerConfig{DeliverSubject: "d", AckPolicy: AckNone}, stream, ConsumerCheckOptions{})
	if err != nil || push.MaxWaiting != 0 || push.AckWait != 0 || push.MaxAckPending != 0 {
		t.Fatalf("push defaults: %+v %v", push, err)
	}
	backoff, err := PrepareConsumerConfig(&ConsumerConfig{AckPolicy: AckExplicit, MaxDeliver: 3,
		BackOff: []time.Duration{time.Second, 5 * time.Second}}, stream, ConsumerCheckOptions{})
	if err != nil || backoff.AckWait != time.Second {
		t.Fatalf("backoff sets ack wait: %+v %v", backoff, err)
	}
	limited := &StreamConfig{Name: "L", Subjects: []string{"l"}, Replicas: 1,
		ConsumerLimits: StreamConsumerLimits{MaxAckPending: 10, InactiveThreshold: time.Minute}}
	fromStream, err := PrepareConsumerConfig(&ConsumerConfig{AckPolicy: AckExplicit}, limited, ConsumerCheckOptions{})
	if err != nil || fromStream.MaxAckPending != 10 || fromStream.InactiveThreshold != time.Minute {
		t.Fatalf("stream limits: %+v %v", fromStream, err)
	}
	capped, err := PrepareConsumerConfig(&ConsumerConfig{AckPolicy: AckAll}, stream,
		ConsumerCheckOptions{ServerMaxAckPending: 500, AccountMaxAckPending: 200, ServerMaxRequestBatch: 50})
	if err != nil || capped.MaxAckPending != 200 || capped.MaxRequestBatch != 50 {
		t.Fatalf("limits cap defaults: %+v %v", capped, err)
	}
	pinned, err := PrepareConsumerConfig(&ConsumerConfig{AckPolicy: AckExplicit, PriorityPolicy: PriorityPinnedClient,
		PriorityGroups: []string{"jobs"}}, stream, ConsumerCheckOptions{})
	if err != nil || pinned.PinnedTTL != DefaultPinnedTTL {
		t.Fatalf("pinned ttl: %+v %v", pinned, err)
	}
	flow, err := PrepareConsumerConfig(&ConsumerConfig{AckPolicy: AckFlowControl, DeliverSubject: "d", MaxAckPending: 5},
		stream, ConsumerCheckOptions{})
	if err != nil || !flow.FlowControl || flow.Heartbeat != FlowControlHeartbeat {
		t.Fatalf("flow control ack: %+v %v", flow, err)
	}
	negative, err := PrepareConsumerConfig(&ConsumerConfig{MaxWaiting: -5, Heartbeat: -1, MaxAckPending: -7}, stream, ConsumerCheckOptions{})
	if err != nil || negative.MaxWaiting != DefaultMaxWaiting || negative.Heartbeat != 0 || negative.MaxAckPending != -1 {
		t.Fatalf("negatives reset: %+v %v", negative, err)
	}
	recovering := &StreamConfig{Name: "W", Subjects: []string{"w"}, Replicas: 3, Retention: InterestPolicy}
	if _, err := PrepareConsumerConfig(&ConsumerConfig{AckPolicy: AckExplicit, Replicas: 1}, recovering,
		ConsumerCheckOptions{Recovering: true}); err != nil {
		t.Fatalf("recovering relaxes replicas: %v", err)
	}
	if _, err := PrepareConsumerConfig(&ConsumerConfig{AckPolicy: AckExplicit, DeliverPolicy: DeliverLastPerSubject,
		FilterSubjects: []string{"s"}}, stream, ConsumerCheckOptions{}); err != nil {
		t.Fatalf("last per subject with filters: %v", err)
	}
	if err := CheckConsumerConfig(&ConsumerConfig{MaxDeliver: -1}, nil, ConsumerCheckOptions{}); err != nil {
		t.Fatalf("no stream: %v", err)
	}
}
