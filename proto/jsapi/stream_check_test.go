package jsapi

import (
	"strings"
	"testing"
	"time"
)

// streamCase is one configuration and the reference's verdict on it.
type streamCase struct {
	name        string
	config      StreamConfig
	options     StreamCheckOptions
	code        ErrorCode
	description string
}

// origins are the other streams of the account the mirror and source cases see.
var origins = map[string]StreamConfig{
	"ORIGIN": {Name: "ORIGIN", Subjects: []string{"origin.>"}, MaxMsgSize: 1024, AllowDirect: true},
	"LOOPA":  {Name: "LOOPA", Subjects: []string{"a.>"}, Sources: []*StreamSource{{Name: "LOOPB"}}},
	"LOOPB":  {Name: "LOOPB", Subjects: []string{"b.>"}, Sources: []*StreamSource{{Name: "LOOPC"}}},
	"MIRROR": {Name: "MIRROR", Mirror: &StreamSource{Name: "NEW"}},
}

func lookupOrigin(name string) (StreamConfig, bool) {
	config, ok := origins[name]
	return config, ok
}

// TestStreamConfigErrors proves each check returns the reference's error code and
// exact description.
func TestStreamConfigErrors(t *testing.T) {
	withOrigins := StreamCheckOptions{LookupStream: lookupOrigin}
	pedantic := StreamCheckOptions{Pedantic: true}
	start := time.Unix(0, 0)
	cases := []streamCase{
		{"empty name", StreamConfig{}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig,
			`stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"dotted name", StreamConfig{Name: "a.b"}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig,
			`stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"slash name", StreamConfig{Name: "a/b"}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig,
			`stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"space name", StreamConfig{Name: "a b"}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig,
			`stream name is required and can not contain '.', '*', '>', '\', '/'`},
		{"long name", StreamConfig{Name: strings.Repeat("n", 256)}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig,
			"stream name is too long, maximum allowed is 255"},
		{"long description", StreamConfig{Name: "S", Description: strings.Repeat("d", 4097)}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "stream description is too long, maximum allowed is 4096"},
		{"big metadata", StreamConfig{Name: "S", Metadata: map[string]string{"k": strings.Repeat("v", 128*1024)}},
			StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "stream metadata exceeds maximum size of 131072 bytes"},
		{"retention", StreamConfig{Name: "S", Retention: 9}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "invalid retention"},
		{"discard", StreamConfig{Name: "S", Discard: 9}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "invalid discard policy"},
		{"compression", StreamConfig{Name: "S", Compression: 9}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "invalid compression"},
		{"storage", StreamConfig{Name: "S", Storage: 9}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "invalid storage type"},
		{"replicas", StreamConfig{Name: "S", Replicas: 6}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "maximum replicas is 5"},
		{"negative replicas", StreamConfig{Name: "S", Replicas: -1}, StreamCheckOptions{}, ErrCodeReplicasCountCannotBeNegative,
			"replicas count cannot be negative"},
		{"pedantic max_msgs", StreamConfig{Name: "S", MaxMsgs: -2}, pedantic, ErrCodePedantic, "pedantic mode: max_msgs must be set to -1"},
		{"pedantic max_msgs_per_subject", StreamConfig{Name: "S", MaxMsgsPerSubject: -2}, pedantic, ErrCodePedantic,
			"pedantic mode: max_msgs_per_subject must be set to -1"},
		{"pedantic max_bytes", StreamConfig{Name: "S", MaxBytes: -2}, pedantic, ErrCodePedantic, "pedantic mode: max_bytes must be set to -1"},
		{"pedantic max_msg_size", StreamConfig{Name: "S", MaxMsgSize: -2}, pedantic, ErrCodePedantic, "pedantic mode: max_msg_size must be set to -1"},
		{"pedantic max_consumers", StreamConfig{Name: "S", MaxConsumers: -2}, pedantic, ErrCodePedantic,
			"pedantic mode: max_consumers must be set to -1"},
		{"negative max_age", StreamConfig{Name: "S", MaxAge: -1}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "max age can not be negative"},
		{"small max_age", StreamConfig{Name: "S", MaxAge: time.Millisecond}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig,
			"max age needs to be >= 100ms"},
		{"pedantic window over limit", StreamConfig{Name: "S"}, StreamCheckOptions{Pedantic: true, DuplicateWindowMax: time.Minute},
			ErrCodePedantic, "pedantic mode: duplicate window limits are higher than current limits"},
		{"pedantic window over max_age", StreamConfig{Name: "S", MaxAge: time.Second}, pedantic, ErrCodePedantic,
			"pedantic mode: duplicate window cannot be bigger than max age"},
		{"negative window", StreamConfig{Name: "S", DuplicateWindow: -1}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig,
			"duplicates window can not be negative"},
		{"window over max_age", StreamConfig{Name: "S", MaxAge: time.Second, DuplicateWindow: 2 * time.Second}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "duplicates window can not be larger then max age"},
		{"window over server limit", StreamConfig{Name: "S", DuplicateWindow: time.Hour}, StreamCheckOptions{DuplicateWindowMax: time.Minute},
			ErrCodeStreamInvalidConfig, "duplicates window can not be larger then server limit of 1m0s"},
		{"small window", StreamConfig{Name: "S", DuplicateWindow: time.Millisecond}, StreamCheckOptions{}, ErrCodeStreamInvalidConfig,
			"duplicates window needs to be >= 100ms"},
		{"rollup without purge", StreamConfig{Name: "S", DenyPurge: true, AllowRollup: true}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "roll-ups require the purge permission"},
		{"counter discard new", StreamConfig{Name: "S", AllowMsgCounter: true, Discard: DiscardNew}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "counter stream cannot use discard new"},
		{"counter ttl", StreamConfig{Name: "S", AllowMsgCounter: true, AllowMsgTTL: true}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "counter stream cannot use message TTLs"},
		{"counter schedules", StreamConfig{Name: "S", AllowMsgCounter: true, AllowMsgSchedules: true}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "counter stream cannot use message schedules"},
		{"counter interest", StreamConfig{Name: "S", AllowMsgCounter: true, Retention: InterestPolicy}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "counter stream can only use limits retention"},
		{"discard new per subject policy", StreamConfig{Name: "S", DiscardNewPerSubject: true, MaxMsgsPerSubject: 1}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "discard new per subject requires discard new policy to be set"},
		{"discard new per subject limit", StreamConfig{Name: "S", DiscardNewPerSubject: true, Discard: DiscardNew}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "discard new per subject requires max msgs per subject > 0"},
		{"small marker ttl", StreamConfig{Name: "S", SubjectDeleteMarkerTTL: time.Millisecond}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "subject delete marker TTL must be at least 1 second"},
		{"pedantic marker without ttl", StreamConfig{Name: "S", SubjectDeleteMarkerTTL: time.Second}, pedantic,
			ErrCodeStreamInvalidConfig, "subject delete marker cannot be set if message TTLs are disabled"},
		{"pedantic marker without rollup", StreamConfig{Name: "S", SubjectDeleteMarkerTTL: time.Second, AllowMsgTTL: true}, pedantic,
			ErrCodeStreamInvalidConfig, "subject delete marker cannot be set if roll-ups are disabled"},
		{"negative marker ttl", StreamConfig{Name: "S", SubjectDeleteMarkerTTL: -1}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "subject delete marker TTL must not be negative"},
		{"schedules discard new", StreamConfig{Name: "S", AllowMsgSchedules: true, Discard: DiscardNew}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "message scheduling cannot use discard new"},
		{"pedantic schedules without rollup", StreamConfig{Name: "S", AllowMsgSchedules: true}, pedantic,
			ErrCodeStreamInvalidConfig, "message scheduling cannot be set if roll-ups are disabled"},
		{"async memory", StreamConfig{Name: "S", PersistMode: AsyncPersistMode, Storage: MemoryStorage}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "async persist mode is only supported on file storage"},
		{"async replicated", StreamConfig{Name: "S", PersistMode: AsyncPersistMode, Replicas: 3}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "async persist mode is not supported on replicated streams"},
		{"async atomic", StreamConfig{Name: "S", PersistMode: AsyncPersistMode, AllowAtomicPublish: true}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "async persist mode is not supported with atomic batch publish"},
		{"mirror first seq", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN"}, FirstSeq: 5}, withOrigins,
			ErrCodeMirrorWithFirstSeq, "stream mirrors can not have first sequence configured"},
		{"mirror with subjects", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN"}, Subjects: []string{"x"}}, withOrigins,
			ErrCodeMirrorWithSubjects, "stream mirrors can not contain subjects"},
		{"mirror with sources", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN"}, Sources: []*StreamSource{{Name: "X"}}},
			withOrigins, ErrCodeMirrorWithSources, "stream mirrors can not also contain other sources"},
		{"mirror with counters", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN"}, AllowMsgCounter: true}, withOrigins,
			ErrCodeMirrorWithCounters, "stream mirrors can not also calculate counters"},
		{"mirror durable consumer", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN",
			Consumer: &StreamConsumerSource{Name: "C", DeliverSubject: "d.*"}}}, withOrigins,
			ErrCodeMirrorDurableConsumerCfgInvalid, ErrCodeMirrorDurableConsumerCfgInvalid.Template()},
		{"mirror filter and transforms", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN", FilterSubject: "a",
			SubjectTransforms: []SubjectTransformConfig{{Source: "b", Destination: "c"}}}}, withOrigins,
			ErrCodeMirrorMultipleFiltersNotAllowed, "mirror with multiple subject transforms cannot also have a single subject filter"},
		{"mirror markers", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN"}, SubjectDeleteMarkerTTL: time.Second},
			withOrigins, ErrCodeStreamInvalidConfig, "subject delete markers forbidden on mirrors"},
		{"mirror bad transform source", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN",
			SubjectTransforms: []SubjectTransformConfig{{Source: "a..b", Destination: "c"}}}}, withOrigins,
			ErrCodeMirrorInvalidSubjectFilter, "mirror transform source: invalid subject a..b"},
		{"mirror bad transform destination", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN",
			SubjectTransforms: []SubjectTransformConfig{{Source: "a", Destination: "{{nope(1)}}"}}}}, withOrigins,
			ErrCodeMirrorInvalidTransformDestination, "mirror transform: invalid mapping destination: unknown function in {{nope(1)}}"},
		{"mirror overlapping transforms", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN",
			SubjectTransforms: []SubjectTransformConfig{{Source: "a.*", Destination: "x"}, {Source: "a.b", Destination: "y"}}}}, withOrigins,
			ErrCodeMirrorOverlappingSubjectFilters, "mirror subject filters can not overlap"},
		{"mirror name", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "a.b"}}, withOrigins,
			ErrCodeMirrorInvalidStreamName, "mirrored stream name is invalid"},
		{"mirror msg size", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN"}, MaxMsgSize: 10}, withOrigins,
			ErrCodeMirrorMaxMessageSizeTooBig, "stream mirror must have max message size >= source"},
		{"pedantic mirror direct", StreamConfig{Name: "S", Mirror: &StreamSource{Name: "ORIGIN"}},
			StreamCheckOptions{Pedantic: true, LookupStream: lookupOrigin},
			ErrCodePedantic, "pedantic mode: origin stream has direct get set, mirror has it disabled"},
		{"source schedules", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: "ORIGIN"}}, AllowMsgSchedules: true, AllowRollup: true},
			withOrigins, ErrCodeSourceWithMsgSchedules, ErrCodeSourceWithMsgSchedules.Template()},
		{"source name", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: ""}}}, withOrigins,
			ErrCodeSourceInvalidStreamName, "sourced stream name is invalid"},
		{"nil source", StreamConfig{Name: "S", Sources: []*StreamSource{nil}}, withOrigins,
			ErrCodeSourceInvalidStreamName, "sourced stream name is invalid"},
		{"duplicate source", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: "ORIGIN"}, {Name: "ORIGIN"}}}, withOrigins,
			ErrCodeSourceDuplicateDetected, "duplicate source configuration detected"},
		{"source filter and transforms", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: "ORIGIN", FilterSubject: "a",
			SubjectTransforms: []SubjectTransformConfig{{Source: "b"}}}}}, withOrigins,
			ErrCodeSourceMultipleFiltersNotAllowed, "source with multiple subject transforms cannot also have a single subject filter"},
		{"source overlapping transforms", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: "ORIGIN",
			SubjectTransforms: []SubjectTransformConfig{{Source: "a.>"}, {Source: "a.b"}}}}}, withOrigins,
			ErrCodeSourceOverlappingSubjectFilters, "source filters can not overlap"},
		{"source msg size", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: "ORIGIN"}}, MaxMsgSize: 10}, withOrigins,
			ErrCodeSourceMaxMessageSizeTooBig, "stream source must have max message size >= target"},
		{"external delivery prefix", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: "X",
			External: &ExternalStream{APIPrefix: "$JS.hub.API", DeliverPrefix: "d.*"}}}}, withOrigins,
			ErrCodeStreamInvalidExternalDeliverySubj, "stream external delivery prefix d.* must not contain wildcards"},
		{"external api overlap", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: "X",
			External: &ExternalStream{APIPrefix: "$JS.API", DeliverPrefix: "d"}}}}, withOrigins,
			ErrCodeStreamExternalApiOverlap, "stream external api prefix $JS.API must not overlap with $JS.API"},
		{"source cycle", StreamConfig{Name: "LOOPC", Subjects: []string{"c.>"}, Sources: []*StreamSource{{Name: "LOOPA"}}}, withOrigins,
			ErrCodeStreamInvalidConfig, "detected cycle"},
		{"mirror cycle", StreamConfig{Name: "NEW", Mirror: &StreamSource{Name: "MIRROR"}}, withOrigins,
			ErrCodeStreamInvalidConfig, "detected cycle"},
		{"invalid subject", StreamConfig{Name: "S", Subjects: []string{"a..b"}}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "invalid subject"},
		{"duplicate subjects", StreamConfig{Name: "S", Subjects: []string{"a", "a"}}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, `subject "a" overlaps with "a"`},
		{"overlapping subjects", StreamConfig{Name: "S", Subjects: []string{"a.*", "a.b"}}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, `subject "a.*" overlaps with "a.b"`},
		{"capture all", StreamConfig{Name: "S", Subjects: []string{">"}}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "capturing all subjects requires no-ack to be true"},
		{"capture all replicated", StreamConfig{Name: "S", Subjects: []string{">"}, NoAck: true, Replicas: 3}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "capturing all subjects requires replicas of 1"},
		{"jetstream api", StreamConfig{Name: "S", Subjects: []string{"$JS.API.>"}}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "subjects that overlap with jetstream api require no-ack to be true"},
		{"system api", StreamConfig{Name: "S", Subjects: []string{"$SYS.REQ.>"}}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "subjects that overlap with system api require no-ack to be true"},
		{"max bytes required", StreamConfig{Name: "S"}, StreamCheckOptions{MaxBytesRequired: true},
			ErrCodeStreamMaxBytesRequired, "account requires a stream config to have max bytes set"},
		{"max bytes over account", StreamConfig{Name: "S", MaxBytes: 2048}, StreamCheckOptions{StreamBytesMax: 1024},
			ErrCodeStreamMaxStreamBytesExceeded, "stream max bytes exceeds account limit max stream bytes"},
		{"transform source", StreamConfig{Name: "S", SubjectTransform: &SubjectTransformConfig{Source: "a..b", Destination: "x"}},
			StreamCheckOptions{}, ErrCodeStreamTransformInvalidSource, "stream transform source: invalid subject a..b"},
		{"transform destination", StreamConfig{Name: "S", SubjectTransform: &SubjectTransformConfig{Source: "a", Destination: "x..y"}},
			StreamCheckOptions{}, ErrCodeStreamTransformInvalidDestination, "stream transform: invalid mapping destination: invalid transform"},
		{"pedantic republish source", StreamConfig{Name: "S", RePublish: &RePublish{Destination: "out.>"}}, pedantic,
			ErrCodePedantic, "pedantic mode: republish source can not be empty"},
		{"republish cycle", StreamConfig{Name: "S", Subjects: []string{"in.>"}, RePublish: &RePublish{Source: ">", Destination: "in.x"}},
			StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "stream configuration for republish destination forms a cycle"},
		{"republish invalid", StreamConfig{Name: "S", RePublish: &RePublish{Source: ">", Destination: "out..x"}},
			StreamCheckOptions{}, ErrCodeStreamInvalidConfig, "stream configuration for republish with transform from '>' to 'out..x' not valid"},
		{"preferred placement", StreamConfig{Name: "S", Placement: &Placement{Preferred: "n1"}}, StreamCheckOptions{},
			ErrCodeStreamInvalidConfig, "preferred server not permitted in placement"},
		{"source start time ok but durable consumer with start", StreamConfig{Name: "S", Sources: []*StreamSource{{Name: "ORIGIN",
			OptStartTime: &start, Consumer: &StreamConsumerSource{Name: "C", DeliverSubject: "d"}}}}, withOrigins,
			ErrCodeSourceDurableConsumerCfgInvalid, ErrCodeSourceDurableConsumerCfgInvalid.Template()},
	}
	for _, c := range cases {
		original := c.config
		_, err := CheckStreamConfig(&c.config, c.options)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if err.ErrCode != c.code || err.Description != c.description {
			t.Errorf("%s: got %d %q, want %d %q", c.name, err.ErrCode, err.Description, c.code, c.description)
		}
		if err.Code != c.code.HTTPCode() {
			t.Errorf("%s: HTTP code %d", c.name, err.Code)
		}
		if c.config.MaxMsgs != original.MaxMsgs || c.config.Storage != original.Storage || c.config.Replicas != original.Replicas {
			t.Errorf("%s: the caller's configuration changed", c.name)
		}
	}
}

// TestStreamConfigDefaults proves the defaults the reference applies, and that
// SetDefaults and CheckStreamConfig agree on a plain configuration.
func TestStreamConfigDefaults(t *testing.T) {
	input := StreamConfig{Name: "ORDERS", MaxAge: time.Minute}
	checked, err := CheckStreamConfig(&input, StreamCheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if checked.MaxMsgs != -1 || checked.MaxBytes != -1 || checked.MaxMsgsPerSubject != -1 || checked.MaxMsgSize != -1 ||
		checked.MaxConsumers != -1 || checked.Storage != FileStorage || checked.Replicas != 1 ||
		checked.DuplicateWindow != time.Minute || len(checked.Subjects) != 1 || checked.Subjects[0] != "ORDERS" {
		t.Fatalf("defaults: %+v", checked)
	}
	if input.Subjects != nil || input.Storage != 0 {
		t.Fatal("input modified")
	}
	manual := input
	manual.SetDefaults()
	if manual.MaxMsgs != checked.MaxMsgs || manual.DuplicateWindow != checked.DuplicateWindow ||
		manual.Storage != checked.Storage || manual.Subjects[0] != checked.Subjects[0] {
		t.Fatalf("SetDefaults: %+v", manual)
	}
	if err := manual.Validate(StreamCheckOptions{}); err != nil {
		t.Fatal(err)
	}
	limited, err := CheckStreamConfig(&StreamConfig{Name: "S"}, StreamCheckOptions{DuplicateWindowMax: time.Minute})
	if err != nil || limited.DuplicateWindow != time.Minute {
		t.Fatalf("server limit caps the default window: %v %v", limited.DuplicateWindow, err)
	}
	markers, err := CheckStreamConfig(&StreamConfig{Name: "S", SubjectDeleteMarkerTTL: time.Second, DenyPurge: true}, StreamCheckOptions{})
	if err != nil || !markers.AllowMsgTTL || !markers.AllowRollup || markers.DenyPurge {
		t.Fatalf("markers enable TTLs and rollups: %+v %v", markers, err)
	}
	republish, err := CheckStreamConfig(&StreamConfig{Name: "S", Subjects: []string{"in"}, RePublish: &RePublish{Destination: "out.>"}},
		StreamCheckOptions{})
	if err != nil || republish.RePublish.Source != ">" {
		t.Fatalf("republish source defaults to >: %+v %v", republish.RePublish, err)
	}
	mirror, err := CheckStreamConfig(&StreamConfig{Name: "M", Mirror: &StreamSource{Name: "ORIGIN"}},
		StreamCheckOptions{LookupStream: lookupOrigin})
	if err != nil || !mirror.MirrorDirect || len(mirror.Subjects) != 0 || mirror.DuplicateWindow != 0 {
		t.Fatalf("mirror: %+v %v", mirror, err)
	}
	events, err := CheckStreamConfig(&StreamConfig{Name: "E", Subjects: []string{"$JS.EVENT.ADVISORY.>"}}, StreamCheckOptions{})
	if err != nil || len(events.Subjects) != 1 {
		t.Fatalf("advisories may be captured: %v", err)
	}
	if _, err := CheckStreamConfig(nil, StreamCheckOptions{}); err == nil || err.Description != "stream configuration invalid" {
		t.Fatalf("nil config: %v", err)
	}
}

// TestNames pins name validity.
func TestNames(t *testing.T) {
	for _, good := range []string{"ORDERS", "kv_bucket", "a-b", "ÜNICODE", strings.Repeat("n", 255)} {
		if !IsValidName(good) || CheckStreamName(good) != nil {
			t.Errorf("%q refused", good)
		}
	}
	for _, bad := range []string{"", "a.b", "a*", "a>", "a b", "a\tb", "a\nb", "a/b", `a\b`, "a\fb"} {
		if IsValidName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"jobs", "A-Z_0=9/x", strings.Repeat("g", 16)} {
		if !IsValidGroupName(good) {
			t.Errorf("group %q refused", good)
		}
	}
	for _, bad := range []string{"", strings.Repeat("g", 17), "a.b", "a b"} {
		if IsValidGroupName(bad) {
			t.Errorf("group %q accepted", bad)
		}
	}
	external := &ExternalStream{APIPrefix: "$JS.hub.API"}
	if external.Domain() != "hub" || (&ExternalStream{}).Domain() != "" || (*ExternalStream)(nil).Domain() != "" {
		t.Error("external domain")
	}
}
