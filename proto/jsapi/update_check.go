package jsapi

import (
	"errors"
	"reflect"

	"github.com/natsim/natsim/ds/subject"
)

// StreamUpdateOptions is the context of a stream update check.
type StreamUpdateOptions struct {
	StreamCheckOptions
	// SingleServer is true when JetStream runs without clustering, where a stream can
	// have only one replica.
	SingleServer bool
}

// CheckStreamUpdate checks an update of a stream from old to update: the update must
// pass CheckStreamConfig, and then may not rename the stream, change its storage, move
// to or from work queue retention, unseal, cancel deny_delete or deny_purge, change a
// mirror, turn off message TTLs or schedules, change counters or persist mode. A
// sealed stream drops max_age, discards new, denies deletes and purges and refuses
// rollups. Account limits are the caller's to check on the result.
func CheckStreamUpdate(old, update *StreamConfig, options StreamUpdateOptions) (StreamConfig, *Error) {
	cfg, err := CheckStreamConfig(update, options.StreamCheckOptions)
	if err != nil {
		return StreamConfig{}, err
	}
	switch {
	case cfg.Name != old.Name:
		return StreamConfig{}, invalidConfig("stream configuration name must match original")
	case options.SingleServer && cfg.Replicas > 1:
		return StreamConfig{}, NewStreamReplicasNotSupportedError()
	case cfg.Storage != old.Storage:
		return StreamConfig{}, invalidConfig("stream configuration update can not change storage type")
	case cfg.Retention != old.Retention && (old.Retention == WorkQueuePolicy || cfg.Retention == WorkQueuePolicy):
		return StreamConfig{}, invalidConfig("stream configuration update can not change retention policy to/from workqueue")
	case !cfg.Sealed && old.Sealed:
		return StreamConfig{}, invalidConfig("stream configuration update can not unseal a sealed stream")
	case !cfg.DenyDelete && old.DenyDelete:
		return StreamConfig{}, invalidConfig("stream configuration update can not cancel deny message deletes")
	case !cfg.DenyPurge && old.DenyPurge:
		return StreamConfig{}, invalidConfig("stream configuration update can not cancel deny purge")
	case cfg.Mirror != nil && !reflect.DeepEqual(cfg.Mirror, old.Mirror):
		return StreamConfig{}, NewStreamMirrorNotUpdatableError()
	case old.AllowMsgTTL && !cfg.AllowMsgTTL:
		return StreamConfig{}, invalidConfig("message TTL status can not be disabled")
	case cfg.AllowMsgCounter != old.AllowMsgCounter:
		return StreamConfig{}, invalidConfig("stream configuration update can not change message counter setting")
	case old.AllowMsgSchedules && !cfg.AllowMsgSchedules:
		return StreamConfig{}, invalidConfig("message schedules can not be disabled")
	case old.PersistMode != cfg.PersistMode:
		return StreamConfig{}, invalidConfig("stream configuration update can not change persist mode")
	}
	if cfg.Sealed {
		cfg.MaxAge = 0
		cfg.Discard = DiscardNew
		cfg.DenyDelete, cfg.DenyPurge = true, true
		cfg.AllowRollup = false
	}
	return cfg, nil
}

// CheckConsumerUpdate checks an update of an existing consumer from old to update
// (both with defaults applied): only some fields may change. deliverInterest reports
// whether a deliver subject has subscribers; a push consumer may move to a new deliver
// subject only while nobody listens on the old one. Errors are the reference's
// consumer-create error (10012) carrying its message, or its backoff error.
func CheckConsumerUpdate(old, update *ConsumerConfig, deliverInterest func(subject string) bool) *Error {
	if reflect.DeepEqual(old, update) {
		return nil
	}
	fail := func(message string) *Error { return NewConsumerCreateError(errors.New(message)) }
	switch {
	case old.DeliverPolicy != update.DeliverPolicy:
		return fail("deliver policy can not be updated")
	case old.MemoryStorage != update.MemoryStorage:
		return fail("storage type can not be updated")
	case old.Direct != update.Direct:
		return fail("direct can not be updated")
	case old.Sourcing != update.Sourcing:
		return fail("sourcing can not be updated")
	case old.OptStartSeq != update.OptStartSeq:
		return fail("start sequence can not be updated")
	case (old.OptStartTime == nil) != (update.OptStartTime == nil) ||
		(old.OptStartTime != nil && !old.OptStartTime.Equal(*update.OptStartTime)):
		return fail("start time can not be updated")
	case old.AckPolicy != update.AckPolicy:
		return fail("ack policy can not be updated")
	case old.ReplayPolicy != update.ReplayPolicy:
		return fail("replay policy can not be updated")
	case old.Heartbeat != update.Heartbeat:
		return fail("heart beats can not be updated")
	case old.FlowControl != update.FlowControl:
		return fail("flow control can not be updated")
	}
	if old.DeliverSubject != update.DeliverSubject {
		switch {
		case old.DeliverSubject == "":
			return fail("can not update pull consumer to push based")
		case update.DeliverSubject == "":
			return fail("can not update push consumer to pull based")
		case deliverInterest != nil && deliverInterest(old.DeliverSubject):
			return NewConsumerNameExistError()
		}
	}
	if old.MaxWaiting != update.MaxWaiting {
		return fail("max waiting can not be updated")
	}
	if backoffs := len(update.BackOff); backoffs > 0 && update.MaxDeliver != -1 && backoffs > update.MaxDeliver {
		return NewConsumerMaxDeliverBackoffError()
	}
	return nil
}

// CheckWorkQueueConsumer applies a work queue stream's rules to a new consumer: it
// must ack explicitly (or by flow control), deliver all, and its filters must not
// overlap any other consumer's. others are the stream's other consumers that count
// (not direct, not sourcing); one without filters takes the whole stream. Direct and
// sourcing consumers are exempt, as are streams of other retentions.
func CheckWorkQueueConsumer(stream *StreamConfig, config *ConsumerConfig, others []*ConsumerConfig) *Error {
	if stream.Retention != WorkQueuePolicy || config.Direct || config.Sourcing {
		return nil
	}
	if config.AckPolicy != AckExplicit && config.AckPolicy != AckFlowControl {
		return NewConsumerWQRequiresExplicitAckError()
	}
	if config.DeliverPolicy != DeliverAll {
		return NewConsumerWQConsumerNotDeliverAllError()
	}
	if len(others) == 0 {
		return nil
	}
	filters := config.FilterSubjectList()
	if len(filters) == 0 {
		return NewConsumerWQMultipleUnfilteredError()
	}
	for _, filter := range filters {
		for _, other := range others {
			otherFilters := other.FilterSubjectList()
			if len(otherFilters) == 0 {
				return NewConsumerWQConsumerNotUniqueError()
			}
			for _, otherFilter := range otherFilters {
				if subject.Collide(filter, otherFilter) {
					return NewConsumerWQConsumerNotUniqueError()
				}
			}
		}
	}
	return nil
}
