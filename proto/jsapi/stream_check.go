package jsapi

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/natsim/natsim/ds/subject"
)

// Stream defaults and bounds, as the reference sets them.
const (
	// DefaultDuplicateWindow is the dedup window of a stream that sets none.
	DefaultDuplicateWindow = 2 * time.Minute
	// ReplicasMax is the most replicas a stream may ask for.
	ReplicasMax = 5
	// minimumWindow is the smallest positive max_age and duplicate_window.
	minimumWindow = 100 * time.Millisecond
	// minimumDeleteMarkerTTL is the smallest positive subject_delete_marker_ttl.
	minimumDeleteMarkerTTL = time.Second
)

// StreamCheckOptions is the context CheckStreamConfig needs beyond the configuration:
// the request's pedantic flag, server and account limits, and a view of the account's
// other streams. The zero value checks a configuration on its own.
type StreamCheckOptions struct {
	// Pedantic turns silent defaulting into errors, as a create request's "pedantic" does.
	Pedantic bool
	// DuplicateWindowMax is the server's jetstream.limits.duplicate_window; 0 means none.
	DuplicateWindowMax time.Duration
	// MaxBytesRequired and StreamBytesMax are the account's limits for the stream's
	// storage type (max_bytes_required, mem/disk_max_stream_bytes); 0 means none.
	MaxBytesRequired bool
	StreamBytesMax   int64
	// LookupStream returns another stream of the account by name, for the mirror,
	// source and cycle checks. Nil means the account has no other streams.
	LookupStream func(name string) (StreamConfig, bool)
	// ValidateMapping checks a subject transform from source to destination; nil uses
	// ValidateMappingDestination plus a check that the source is a valid subject.
	ValidateMapping func(source, destination string) error
}

// lookup calls LookupStream when set.
func (o *StreamCheckOptions) lookup(name string) (StreamConfig, bool) {
	if o.LookupStream == nil {
		return StreamConfig{}, false
	}
	return o.LookupStream(name)
}

// validateMapping calls ValidateMapping, or the structural check.
func (o *StreamCheckOptions) validateMapping(source, destination string) error {
	if o.ValidateMapping != nil {
		return o.ValidateMapping(source, destination)
	}
	if source != "" && !subject.IsValidSubject(source) {
		return &mappingDestinationError{source, ErrInvalidMappingDestinationSubject}
	}
	return ValidateMappingDestination(destination)
}

// SetDefaults fills what a stream configuration leaves unset, as the reference does
// for a non-pedantic request without server limits: unlimited (-1) message, byte,
// size, per-subject and consumer limits, file storage, one replica, the default
// duplicate window (capped by max_age), and the stream's name as its subject when it
// has no subjects, mirror or sources.
func (c *StreamConfig) SetDefaults() {
	for _, limit := range []*int64{&c.MaxMsgs, &c.MaxMsgsPerSubject, &c.MaxBytes} {
		if *limit == 0 || *limit < -1 {
			*limit = -1
		}
	}
	if c.MaxMsgSize == 0 || c.MaxMsgSize < -1 {
		c.MaxMsgSize = -1
	}
	if c.MaxConsumers == 0 || c.MaxConsumers < -1 {
		c.MaxConsumers = -1
	}
	if c.Storage == 0 {
		c.Storage = FileStorage
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 && c.Mirror == nil && len(c.Sources) == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
		if c.MaxAge != 0 && c.MaxAge < DefaultDuplicateWindow {
			c.DuplicateWindow = c.MaxAge
		}
	}
	if len(c.Subjects) == 0 && c.Mirror == nil && len(c.Sources) == 0 && c.Name != "" {
		c.Subjects = []string{c.Name}
	}
}

// Validate runs CheckStreamConfig and returns only its error.
func (c *StreamConfig) Validate(options StreamCheckOptions) *Error {
	_, err := CheckStreamConfig(c, options)
	return err
}

// invalidConfig wraps a message in the stream-invalid-config error (10052).
func invalidConfig(format string, args ...any) *Error {
	return NewStreamInvalidConfigError(fmt.Errorf(format, args...))
}

// pedanticError wraps a message in the pedantic-mode error (10157).
func pedanticError(message string) *Error { return NewPedanticError(errors.New(message)) }

// CheckStreamConfig applies the reference's defaults to a copy of config and checks
// it, returning the normalized configuration or the exact API error the reference
// gives, checks in the reference's order so the first failure is the same one.
// config itself is not modified.
func CheckStreamConfig(config *StreamConfig, options StreamCheckOptions) (StreamConfig, *Error) {
	if config == nil {
		return StreamConfig{}, invalidConfig("stream configuration invalid")
	}
	if err := CheckStreamName(config.Name); err != nil {
		return StreamConfig{}, err
	}
	if len(config.Description) > DescriptionBytesMax {
		return StreamConfig{}, invalidConfig("stream description is too long, maximum allowed is %d", DescriptionBytesMax)
	}
	if metadataBytes(config.Metadata) > MetadataBytesMax {
		return StreamConfig{}, invalidConfig("stream metadata exceeds maximum size of %d bytes", MetadataBytesMax)
	}
	cfg := cloneStreamConfig(config)
	state := &streamCheck{StreamCheckOptions: options}
	checks := []func(*StreamConfig, *streamCheck) *Error{
		checkStreamEnumerations,
		checkStreamLimits,
		checkStreamWindows,
		checkStreamFeatures,
		checkStreamMirror,
		checkStreamSources,
		checkExternalPrefixes,
		checkStreamCycles,
		checkStreamSubjects,
		checkStreamTransforms,
	}
	for _, check := range checks {
		if err := check(&cfg, state); err != nil {
			return StreamConfig{}, err
		}
	}
	return cfg, nil
}

// cloneStreamConfig copies the parts CheckStreamConfig may change, so the caller's
// configuration stays as it was.
func cloneStreamConfig(config *StreamConfig) StreamConfig {
	cfg := *config
	cfg.Subjects = append([]string(nil), config.Subjects...)
	if len(config.Subjects) == 0 {
		cfg.Subjects = config.Subjects
	}
	if config.RePublish != nil {
		republish := *config.RePublish
		cfg.RePublish = &republish
	}
	return cfg
}

func checkStreamEnumerations(cfg *StreamConfig, _ *streamCheck) *Error {
	if _, err := cfg.Retention.MarshalJSON(); err != nil {
		return invalidConfig("invalid retention")
	}
	if _, err := cfg.Discard.MarshalJSON(); err != nil {
		return invalidConfig("invalid discard policy")
	}
	if _, err := cfg.Compression.MarshalJSON(); err != nil {
		return invalidConfig("invalid compression")
	}
	if cfg.Storage == 0 {
		cfg.Storage = FileStorage
	}
	if _, err := cfg.Storage.MarshalJSON(); err != nil {
		return invalidConfig("invalid storage type")
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Replicas > ReplicasMax {
		return invalidConfig("maximum replicas is %d", ReplicasMax)
	}
	if cfg.Replicas < 0 {
		return NewReplicasCountCannotBeNegativeError()
	}
	return nil
}

func checkStreamLimits(cfg *StreamConfig, options *streamCheck) *Error {
	limits := []struct {
		value *int64
		name  string
	}{{&cfg.MaxMsgs, "max_msgs"}, {&cfg.MaxMsgsPerSubject, "max_msgs_per_subject"}, {&cfg.MaxBytes, "max_bytes"}}
	for _, limit := range limits {
		if *limit.value == 0 || *limit.value < -1 {
			if options.Pedantic && *limit.value < -1 {
				return pedanticError(limit.name + " must be set to -1")
			}
			*limit.value = -1
		}
	}
	if cfg.MaxMsgSize == 0 || cfg.MaxMsgSize < -1 {
		if options.Pedantic && cfg.MaxMsgSize < -1 {
			return pedanticError("max_msg_size must be set to -1")
		}
		cfg.MaxMsgSize = -1
	}
	if cfg.MaxConsumers == 0 || cfg.MaxConsumers < -1 {
		if options.Pedantic && cfg.MaxConsumers < -1 {
			return pedanticError("max_consumers must be set to -1")
		}
		cfg.MaxConsumers = -1
	}
	return nil
}

func checkStreamWindows(cfg *StreamConfig, options *streamCheck) *Error {
	if cfg.MaxAge < 0 {
		return invalidConfig("max age can not be negative")
	}
	if cfg.MaxAge != 0 && cfg.MaxAge < minimumWindow {
		return invalidConfig("max age needs to be >= 100ms")
	}
	if cfg.DuplicateWindow == 0 && cfg.Mirror == nil && len(cfg.Sources) == 0 {
		window := DefaultDuplicateWindow
		if options.DuplicateWindowMax > 0 && window > options.DuplicateWindowMax {
			if options.Pedantic {
				return pedanticError("duplicate window limits are higher than current limits")
			}
			window = options.DuplicateWindowMax
		}
		if cfg.MaxAge != 0 && cfg.MaxAge < window {
			if options.Pedantic {
				return pedanticError("duplicate window cannot be bigger than max age")
			}
			cfg.DuplicateWindow = cfg.MaxAge
		} else {
			cfg.DuplicateWindow = window
		}
	}
	if cfg.DuplicateWindow < 0 {
		return invalidConfig("duplicates window can not be negative")
	}
	if cfg.MaxAge != 0 && cfg.DuplicateWindow > cfg.MaxAge {
		return invalidConfig("duplicates window can not be larger then max age")
	}
	if options.DuplicateWindowMax > 0 && cfg.DuplicateWindow > options.DuplicateWindowMax {
		return invalidConfig("duplicates window can not be larger then server limit of %v", options.DuplicateWindowMax.String())
	}
	if cfg.DuplicateWindow > 0 && cfg.DuplicateWindow < minimumWindow {
		return invalidConfig("duplicates window needs to be >= 100ms")
	}
	return nil
}

func checkStreamFeatures(cfg *StreamConfig, options *streamCheck) *Error {
	if cfg.DenyPurge && cfg.AllowRollup {
		return invalidConfig("roll-ups require the purge permission")
	}
	if cfg.AllowMsgCounter {
		switch {
		case cfg.Discard == DiscardNew:
			return invalidConfig("counter stream cannot use discard new")
		case cfg.AllowMsgTTL:
			return invalidConfig("counter stream cannot use message TTLs")
		case cfg.AllowMsgSchedules:
			return invalidConfig("counter stream cannot use message schedules")
		case cfg.Retention != LimitsPolicy:
			return invalidConfig("counter stream can only use limits retention")
		}
	}
	if cfg.DiscardNewPerSubject {
		if cfg.Discard != DiscardNew {
			return invalidConfig("discard new per subject requires discard new policy to be set")
		}
		if cfg.MaxMsgsPerSubject <= 0 {
			return invalidConfig("discard new per subject requires max msgs per subject > 0")
		}
	}
	if cfg.SubjectDeleteMarkerTTL > 0 {
		if cfg.SubjectDeleteMarkerTTL < minimumDeleteMarkerTTL {
			return invalidConfig("subject delete marker TTL must be at least 1 second")
		}
		if !cfg.AllowMsgTTL {
			if options.Pedantic {
				return invalidConfig("subject delete marker cannot be set if message TTLs are disabled")
			}
			cfg.AllowMsgTTL = true
		}
		if !cfg.AllowRollup {
			if options.Pedantic {
				return invalidConfig("subject delete marker cannot be set if roll-ups are disabled")
			}
			cfg.AllowRollup, cfg.DenyPurge = true, false
		}
	} else if cfg.SubjectDeleteMarkerTTL < 0 {
		return invalidConfig("subject delete marker TTL must not be negative")
	}
	if cfg.AllowMsgSchedules {
		if cfg.Discard == DiscardNew {
			return invalidConfig("message scheduling cannot use discard new")
		}
		if !cfg.AllowRollup {
			if options.Pedantic {
				return invalidConfig("message scheduling cannot be set if roll-ups are disabled")
			}
			cfg.AllowRollup, cfg.DenyPurge = true, false
		}
	}
	if cfg.PersistMode == AsyncPersistMode {
		switch {
		case cfg.Storage != FileStorage:
			return invalidConfig("async persist mode is only supported on file storage")
		case cfg.Replicas > 1:
			return invalidConfig("async persist mode is not supported on replicated streams")
		case cfg.AllowAtomicPublish:
			return invalidConfig("async persist mode is not supported with atomic batch publish")
		}
	}
	return nil
}

// isValidDeliverSubject reports whether a durable source consumer's deliver subject is
// a valid literal subject.
func isValidDeliverSubject(s string) bool {
	return subject.IsValidSubject(s) && subject.IsLiteral(s)
}

func checkStreamMirror(cfg *StreamConfig, options *streamCheck) *Error {
	mirror := cfg.Mirror
	if mirror == nil {
		return nil
	}
	switch {
	case cfg.FirstSeq > 0:
		return NewMirrorWithFirstSeqError()
	case len(cfg.Subjects) > 0:
		return NewMirrorWithSubjectsError()
	case len(cfg.Sources) > 0:
		return NewMirrorWithSourcesError()
	case cfg.AllowMsgCounter:
		return NewMirrorWithCountersError()
	case cfg.AllowAtomicPublish:
		return NewMirrorWithAtomicPublishError()
	case cfg.AllowBatchPublish:
		return NewMirrorWithBatchPublishError()
	case cfg.AllowMsgSchedules:
		return NewMirrorWithMsgSchedulesError()
	}
	if consumer := mirror.Consumer; consumer != nil {
		if !IsValidName(consumer.Name) || !isValidDeliverSubject(consumer.DeliverSubject) ||
			mirror.OptStartSeq != 0 || mirror.OptStartTime != nil || mirror.FilterSubject != "" {
			return NewMirrorDurableConsumerCfgInvalidError()
		}
	}
	if mirror.FilterSubject != "" && len(mirror.SubjectTransforms) != 0 {
		return NewMirrorMultipleFiltersNotAllowedError()
	}
	if cfg.SubjectDeleteMarkerTTL > 0 {
		return invalidConfig("subject delete markers forbidden on mirrors")
	}
	for outer, transform := range mirror.SubjectTransforms {
		if transform.Source != "" && !subject.IsValidSubject(transform.Source) {
			return NewMirrorInvalidSubjectFilterError(fmt.Errorf("%w %s", ErrBadSubject, transform.Source))
		}
		if err := options.validateMapping(transform.Source, transform.Destination); err != nil {
			return NewMirrorInvalidTransformDestinationError(err)
		}
		for inner, other := range mirror.SubjectTransforms {
			if inner != outer && subject.Collide(transform.Source, other.Source) {
				return NewMirrorOverlappingSubjectFiltersError()
			}
		}
	}
	if mirror.External != nil {
		options.addExternal(mirror.External)
		return nil
	}
	if !IsValidName(mirror.Name) {
		return NewMirrorInvalidStreamNameError()
	}
	if origin, exists := options.lookup(mirror.Name); exists {
		options.originSubjects = append(options.originSubjects, origin.Subjects...)
		if cfg.MaxMsgSize > 0 && origin.MaxMsgSize > 0 && cfg.MaxMsgSize < origin.MaxMsgSize {
			return NewMirrorMaxMessageSizeTooBigError()
		}
		if options.Pedantic && cfg.MirrorDirect != origin.AllowDirect {
			return pedanticError("origin stream has direct get set, mirror has it disabled")
		}
		cfg.MirrorDirect = origin.AllowDirect
	}
	return nil
}

// IndexName identifies a source among a stream's sources the way the reference does:
// the origin name, the external API prefix's hash, the durable consumer's hash, and the
// filter and transform destinations (">" when empty). Two sources with the same index
// name are duplicates.
func (s *StreamSource) IndexName() string {
	name := s.Name
	if s.External != nil {
		name += ":" + Hash(s.External.APIPrefix)
	}
	if s.Consumer != nil {
		name += ":C=" + Hash(s.Consumer.Name)
	}
	source, destination := s.FilterSubject, ">"
	if len(s.SubjectTransforms) == 0 {
		if source == "" {
			source = ">"
		}
	} else {
		sources := make([]string, 0, len(s.SubjectTransforms))
		destinations := make([]string, 0, len(s.SubjectTransforms))
		for _, transform := range s.SubjectTransforms {
			sources = append(sources, orFullWildcard(transform.Source))
			destinations = append(destinations, orFullWildcard(transform.Destination))
		}
		source, destination = strings.Join(sources, "\f"), strings.Join(destinations, "\f")
	}
	return name + " " + source + " " + destination
}

// consumerIndexName identifies a durable source consumer for duplicate detection.
func (s *StreamSource) consumerIndexName() string {
	name := s.Name
	if s.External != nil {
		name += ":" + Hash(s.External.APIPrefix)
	}
	consumer := ""
	if s.Consumer != nil {
		consumer = s.Consumer.Name
	}
	return name + " " + consumer
}

func orFullWildcard(s string) string {
	if s == "" {
		return ">"
	}
	return s
}

func checkStreamSources(cfg *StreamConfig, options *streamCheck) *Error {
	if len(cfg.Sources) > 0 && cfg.AllowMsgSchedules {
		return NewSourceWithMsgSchedulesError()
	}
	indexNames := make(map[string]struct{}, len(cfg.Sources))
	consumerNames := make(map[string]struct{})
	for _, source := range cfg.Sources {
		if source == nil || !IsValidName(source.Name) {
			return NewSourceInvalidStreamNameError()
		}
		indexName := source.IndexName()
		if _, seen := indexNames[indexName]; seen {
			return NewSourceDuplicateDetectedError()
		}
		indexNames[indexName] = struct{}{}
		if source.FilterSubject != "" && len(source.SubjectTransforms) != 0 {
			return NewSourceMultipleFiltersNotAllowedError()
		}
		for _, transform := range source.SubjectTransforms {
			if transform.Source != "" && !subject.IsValidSubject(transform.Source) {
				return NewSourceInvalidSubjectFilterError(fmt.Errorf("%w %s", ErrBadSubject, transform.Source))
			}
			if err := options.validateMapping(transform.Source, transform.Destination); err != nil {
				return NewSourceInvalidTransformDestinationError(err)
			}
		}
		for outer, transform := range source.SubjectTransforms {
			for inner, other := range source.SubjectTransforms {
				if inner != outer && subject.IsSubsetMatch(transform.Source, other.Source) {
					return NewSourceOverlappingSubjectFiltersError()
				}
			}
		}
		if consumer := source.Consumer; consumer != nil {
			if !IsValidName(consumer.Name) || !isValidDeliverSubject(consumer.DeliverSubject) ||
				source.OptStartSeq != 0 || source.OptStartTime != nil || source.FilterSubject != "" {
				return NewSourceDurableConsumerCfgInvalidError()
			}
			consumerName := source.consumerIndexName()
			if _, seen := consumerNames[consumerName]; seen {
				return NewSourceDurableConsumerDuplicateDetectedError()
			}
			consumerNames[consumerName] = struct{}{}
		}
		if source.External != nil {
			options.addExternal(source.External)
			continue
		}
		if origin, exists := options.lookup(source.Name); exists {
			options.originSubjects = append(options.originSubjects, origin.Subjects...)
			if cfg.MaxMsgSize > 0 && origin.MaxMsgSize > 0 && cfg.MaxMsgSize < origin.MaxMsgSize {
				return NewSourceMaxMessageSizeTooBigError()
			}
		}
	}
	return nil
}

// streamCheck is the state of one CheckStreamConfig run: the options, and what the
// mirror and source checks gathered for the external prefix check.
type streamCheck struct {
	StreamCheckOptions
	originSubjects   []string
	deliveryPrefixes []string
	apiPrefixes      []string
}

// addExternal records an external origin's prefixes.
func (c *streamCheck) addExternal(external *ExternalStream) {
	if external.DeliverPrefix != "" {
		c.deliveryPrefixes = append(c.deliveryPrefixes, external.DeliverPrefix)
	}
	if external.APIPrefix != "" {
		c.apiPrefixes = append(c.apiPrefixes, external.APIPrefix)
	}
}

// checkExternalPrefixes checks the external origins' prefixes: a delivery prefix must
// be a literal subject not overlapping the local origins' subjects, an API prefix a
// literal subject outside $JS.API.
func checkExternalPrefixes(_ *StreamConfig, options *streamCheck) *Error {
	for _, prefix := range options.deliveryPrefixes {
		if !subject.IsValidPublishSubject(prefix) {
			return NewStreamInvalidExternalDeliverySubjError(prefix)
		}
		for _, originSubject := range options.originSubjects {
			if subject.Collide(originSubject, prefix+"."+originSubject) {
				return NewStreamExternalDelPrefixOverlapsError(prefix, originSubject)
			}
		}
	}
	for _, prefix := range options.apiPrefixes {
		if !subject.IsValidPublishSubject(prefix) {
			return invalidConfig("stream external api prefix %q must be a valid subject without wildcards", prefix)
		}
		if subject.Collide(prefix, APIPrefix) {
			return NewStreamExternalApiOverlapError(prefix, APIPrefix)
		}
	}
	return nil
}

// cycleVisitsMax bounds the walk over mirror and source origins, so a damaged set of
// configurations cannot make the check run forever.
const cycleVisitsMax = 10_000

// checkStreamCycles walks the mirror and source graph from cfg and rejects a cycle:
// a mirror back to a visited stream, or a source back to a visited stream whose
// subjects overlap the source's filter.
func checkStreamCycles(cfg *StreamConfig, options *streamCheck) *Error {
	queue := []StreamConfig{*cfg}
	visited := map[string]struct{}{}
	overlaps := func(subjects []string, filter string) bool {
		if filter == "" {
			return true
		}
		for _, s := range subjects {
			if subject.Collide(s, filter) {
				return true
			}
		}
		return false
	}
	for visits := 0; len(queue) > 0 && visits < cycleVisitsMax; visits++ {
		current := queue[0]
		queue = queue[1:]
		visited[current.Name] = struct{}{}
		for _, source := range current.Sources {
			if source == nil || source.External != nil {
				continue
			}
			if _, seen := visited[source.Name]; seen {
				if overlaps(current.Subjects, source.FilterSubject) {
					return invalidConfig("detected cycle")
				}
			} else if origin, exists := options.lookup(source.Name); exists {
				queue = append(queue, origin)
			}
		}
		if mirror := current.Mirror; mirror != nil && mirror.External == nil {
			if _, seen := visited[mirror.Name]; seen {
				return invalidConfig("detected cycle")
			}
			if origin, exists := options.lookup(mirror.Name); exists {
				queue = append(queue, origin)
			}
		}
	}
	return nil
}

func checkStreamSubjects(cfg *StreamConfig, options *streamCheck) *Error {
	if len(cfg.Subjects) == 0 {
		if cfg.Mirror == nil && len(cfg.Sources) == 0 {
			cfg.Subjects = append(cfg.Subjects, cfg.Name)
		}
	} else {
		if cfg.Mirror != nil {
			return NewMirrorWithSubjectsError()
		}
		seen := make(map[string]struct{}, len(cfg.Subjects))
		for i, s := range cfg.Subjects {
			if err := checkStreamSubject(cfg, s); err != nil {
				return err
			}
			if _, duplicate := seen[s]; duplicate {
				return invalidConfig("duplicate subjects detected")
			}
			for _, other := range cfg.Subjects[i+1:] {
				if subject.Collide(other, s) {
					return invalidConfig("subject %q overlaps with %q", s, other)
				}
			}
			seen[s] = struct{}{}
		}
	}
	if len(cfg.Subjects) == 0 && len(cfg.Sources) == 0 && cfg.Mirror == nil {
		return invalidConfig("stream needs at least one configured subject or be a source/mirror")
	}
	if options.MaxBytesRequired && cfg.MaxBytes <= 0 {
		return NewStreamMaxBytesRequiredError()
	}
	if options.StreamBytesMax > 0 && cfg.MaxBytes > options.StreamBytesMax {
		return NewStreamMaxStreamBytesExceededError()
	}
	return nil
}

// checkStreamSubject checks one configured subject: valid, and not capturing the
// JetStream or system API unless the stream does not ack.
func checkStreamSubject(cfg *StreamConfig, s string) *Error {
	if !subject.IsValidSubject(s) {
		return invalidConfig("invalid subject")
	}
	if s == ">" {
		if !cfg.NoAck {
			return invalidConfig("capturing all subjects requires no-ack to be true")
		}
		if cfg.Replicas != 1 {
			return invalidConfig("capturing all subjects requires replicas of 1")
		}
	}
	if cfg.NoAck {
		return nil
	}
	for _, namespace := range []string{"$JS.>", "$JSC.>", "$NRG.>"} {
		if subject.Collide(s, namespace) && !subject.IsSubsetMatch(s, "$JS.EVENT.>") {
			return invalidConfig("subjects that overlap with jetstream api require no-ack to be true")
		}
	}
	if subject.Collide(s, "$SYS.>") && !subject.IsSubsetMatch(s, "$SYS.ACCOUNT.>") {
		return invalidConfig("subjects that overlap with system api require no-ack to be true")
	}
	return nil
}

func checkStreamTransforms(cfg *StreamConfig, options *streamCheck) *Error {
	if transform := cfg.SubjectTransform; transform != nil {
		if transform.Source != "" && !subject.IsValidSubject(transform.Source) {
			return NewStreamTransformInvalidSourceError(fmt.Errorf("%w %s", ErrBadSubject, transform.Source))
		}
		if err := options.validateMapping(transform.Source, transform.Destination); err != nil {
			return NewStreamTransformInvalidDestinationError(err)
		}
	}
	if republish := cfg.RePublish; republish != nil {
		if republish.Source == "" {
			if options.Pedantic {
				return pedanticError("republish source can not be empty")
			}
			republish.Source = ">"
		}
		if republish.Destination == ">" && republish.Source == ">" && cfg.SubjectTransform != nil &&
			len(cfg.Subjects) == 1 && cfg.SubjectTransform.Source == cfg.Subjects[0] {
			if options.Pedantic {
				return pedanticError("implicit republish based on subject transform")
			}
			republish.Source, republish.Destination = cfg.SubjectTransform.Destination, cfg.SubjectTransform.Destination
		}
		for _, s := range cfg.Subjects {
			if subject.Collide(republish.Destination, s) {
				return invalidConfig("stream configuration for republish destination forms a cycle")
			}
		}
		if options.validateMapping(republish.Source, republish.Destination) != nil || republish.Destination == "" {
			return invalidConfig("stream configuration for republish with transform from '%s' to '%s' not valid",
				republish.Source, republish.Destination)
		}
	}
	if cfg.Placement != nil && reflect.DeepEqual(cfg.Placement, &Placement{}) {
		cfg.Placement = nil
	}
	if cfg.Placement != nil && cfg.Placement.Preferred != "" {
		return invalidConfig("preferred server not permitted in placement")
	}
	return nil
}
