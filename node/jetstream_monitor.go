package node

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/natsim/natsim/node/jetstream"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/jsapi"
)

// JSz is the /jsz response: the server's identity and JetStream's report, or
// disabled (with zero counts, as the reference) when JetStream is off.
type JSz = jetstream.JSInfo

// JetStreamVarz is /varz's "jetstream": empty without JetStream; otherwise its
// configuration, usage and limits. The reference adds "meta" in clustered mode only.
type JetStreamVarz struct {
	Config *jetstream.JetStreamConfigInfo `json:"config,omitempty"`
	Stats  *jsapi.Stats                   `json:"stats,omitempty"`
	Limits *jetstream.LimitsInfo          `json:"limits,omitempty"`
}

// Jsz reports JetStream's usage and, as options ask, per-account, per-stream and
// per-consumer details.
func (s *Server) Jsz(options jetstream.JszOptions) *JSz {
	s.mu.Lock()
	id, o := s.id, s.options
	options.ServerName = s.nameLocked()
	s.mu.Unlock()
	now := s.env.Clock.Now().UTC()
	manager := s.JetStream()
	if manager == nil {
		return &JSz{ID: id, Now: now, Disabled: true}
	}
	report := manager.Jsz(options)
	report.ID, report.Now = id, now
	report.Config = jetStreamConfigInfo(manager, o)
	report.Limits = jetStreamLimitsInfo(o)
	return report
}

// jetStreamVarz is /varz's "jetstream".
func (s *Server) jetStreamVarz() JetStreamVarz {
	manager := s.JetStream()
	if manager == nil {
		return JetStreamVarz{}
	}
	s.mu.Lock()
	o := s.options
	s.mu.Unlock()
	config := jetStreamConfigInfo(manager, o)
	stats := manager.Stats()
	return JetStreamVarz{Config: &config, Stats: &stats, Limits: jetStreamLimitsInfo(o)}
}

// jetStreamConfigInfo is the manager's configuration with what only the options
// know: the configured sync interval (reported, as the reference does, even when
// every acknowledgement waits for an fsync) and strict (on unless the file says
// strict: false, as the reference).
func jetStreamConfigInfo(manager *jetstream.Manager, o *opts.Options) jetstream.JetStreamConfigInfo {
	config := manager.ConfigInfo()
	if config.SyncInterval == 0 {
		config.SyncInterval = o.SyncInterval
	}
	config.Strict = o.JetStreamStrict
	config.UniqueTag = o.JetStreamUniqueTag
	return config
}

// jetStreamLimitsInfo is the jetstream { limits {} } block as configured.
func jetStreamLimitsInfo(o *opts.Options) *jetstream.LimitsInfo {
	limits := o.JetStreamLimits
	return &jetstream.LimitsInfo{MaxRequestBatch: limits.MaxRequestBatch, MaxAckPending: limits.MaxAckPending,
		MaxHAAssets: limits.MaxHAAssets, Duplicates: limits.Duplicates,
		MaxBatchInflightPerStream: limits.MaxBatchInflightPerStream, MaxBatchInflightTotal: limits.MaxBatchInflightTotal,
		MaxBatchSize: limits.MaxBatchSize, MaxBatchTimeout: limits.MaxBatchTimeout, DefaultMaxConsumers: limits.DefaultMaxConsumers}
}

// queryBool reads a boolean query parameter as the reference does (strconv's
// forms); a malformed one is the reference's 400 text.
func queryBool(q query, name string) (bool, error) {
	value := q.Get(name)
	if value == "" {
		return false, nil
	}
	parsed, err := strconv.ParseBool(value)
	if err != nil {
		return false, fmt.Errorf("Error decoding boolean for '%s': %v", name, err)
	}
	return parsed, nil
}

// queryInt reads an integer query parameter as the reference does.
func queryInt(q query, name string) (int, error) {
	value := q.Get(name)
	if value == "" {
		return 0, nil
	}
	parsed, err := strconv.Atoi(value)
	if err != nil {
		return 0, fmt.Errorf("Error decoding int for '%s': %v", name, err)
	}
	return parsed, nil
}

// jszOptionsFromQuery reads /jsz's query parameters: acc, accounts, streams,
// consumers, direct-consumers, config, offset, limit, leader-only, raft,
// stream-leader-only.
func jszOptionsFromQuery(q query) (jetstream.JszOptions, error) {
	options := jetstream.JszOptions{Account: q.Get("acc")}
	flags := []struct {
		name  string
		value *bool
	}{
		{"accounts", &options.Accounts}, {"streams", &options.Streams}, {"consumers", &options.Consumers},
		{"direct-consumers", &options.DirectConsumers}, {"config", &options.Config}, {"leader-only", &options.LeaderOnly},
		{"raft", &options.RaftGroups}, {"stream-leader-only", &options.StreamLeaderOnly},
	}
	var err error
	for _, flag := range flags {
		if *flag.value, err = queryBool(q, flag.name); err != nil {
			return options, err
		}
	}
	if options.Offset, err = queryInt(q, "offset"); err != nil {
		return options, err
	}
	if options.Limit, err = queryInt(q, "limit"); err != nil {
		return options, err
	}
	return options, nil
}

// HealthzOptions are /healthz's query parameters (and the HEALTHZ system request's
// fields).
type HealthzOptions struct {
	JSEnabled     bool   `json:"js-enabled,omitempty"`
	JSEnabledOnly bool   `json:"js-enabled-only,omitempty"`
	JSServerOnly  bool   `json:"js-server-only,omitempty"`
	JSMetaOnly    bool   `json:"js-meta-only,omitempty"`
	Account       string `json:"account,omitempty"`
	Stream        string `json:"stream,omitempty"`
	Consumer      string `json:"consumer,omitempty"`
	Details       bool   `json:"details,omitempty"`
}

// HealthzError is one problem in a /healthz?details=true answer.
type HealthzError struct {
	Type     string `json:"type"`
	Account  string `json:"account,omitempty"`
	Stream   string `json:"stream,omitempty"`
	Consumer string `json:"consumer,omitempty"`
	Error    string `json:"error,omitempty"`
}

// healthzOptionsFromQuery reads /healthz's query parameters.
func healthzOptionsFromQuery(q query) (HealthzOptions, error) {
	options := HealthzOptions{Account: q.Get("account"), Stream: q.Get("stream"), Consumer: q.Get("consumer")}
	flags := []struct {
		name  string
		value *bool
	}{
		{"js-enabled", &options.JSEnabled}, {"js-enabled-only", &options.JSEnabledOnly},
		{"js-server-only", &options.JSServerOnly}, {"js-meta-only", &options.JSMetaOnly}, {"details", &options.Details},
	}
	var err error
	for _, flag := range flags {
		if *flag.value, err = queryBool(q, flag.name); err != nil {
			return options, err
		}
	}
	return options, nil
}

// HealthzWith answers /healthz as the reference does on one server: the request's
// consistency, the server accepting clients, then (unless js-server-only, or the
// server is not configured for JetStream) JetStream running, then (unless
// js-enabled-only) every account and stream in the store directory running and the
// account, stream and consumer asked for existing. With details, problems come as a
// list and the status is "ok" or "error". StatusCode is always set.
func (s *Server) HealthzWith(options HealthzOptions) *HealthStatus {
	health := &HealthStatus{Status: "ok"}
	fail := func(code int, status string, problem HealthzError) *HealthStatus {
		health.StatusCode = code
		if options.Details {
			health.Status = "error"
			health.Errors = append(health.Errors, problem)
		} else {
			health.Status = status
			health.Error = problem.Error
		}
		return health
	}
	switch {
	case options.Account == "" && options.Stream != "":
		return fail(400, "error", HealthzError{Type: "BAD_REQUEST", Error: `"account" must not be empty when checking stream health`})
	case options.Stream == "" && options.Consumer != "":
		return fail(400, "error", HealthzError{Type: "BAD_REQUEST", Error: `"stream" must not be empty when checking consumer health`})
	}
	if core := s.Healthz(); core.StatusCode != 0 {
		return fail(core.StatusCode, core.Status, HealthzError{Type: "CONNECTION", Error: core.Error})
	}
	health.StatusCode = 200
	s.mu.Lock()
	configured := s.options.JetStream
	s.mu.Unlock()
	if options.JSServerOnly || !configured {
		return health
	}
	manager := s.JetStream()
	if manager == nil {
		return fail(503, "unavailable", HealthzError{Type: "JETSTREAM", Error: jsapi.NewNotEnabledError().Error()})
	}
	if options.JSEnabledOnly || options.JSEnabled {
		return health
	}
	report := manager.Health(jetstream.HealthOptions{Account: options.Account, Stream: options.Stream, Consumer: options.Consumer})
	for _, problem := range report.Problems {
		fail(503, "unavailable", HealthzError(problem))
		if !options.Details {
			return health
		}
	}
	if report.NotFound != nil {
		health.Errors = nil
		return fail(404, "unavailable", HealthzError(*report.NotFound))
	}
	return health
}

// healthzRequest answers $SYS.REQ.SERVER.<id>.HEALTHZ and the PING form, whose body
// carries HealthzOptions.
func healthzRequest(s *Server, body []byte) (any, error) {
	var options HealthzOptions
	if len(body) > 0 {
		if err := json.Unmarshal(body, &options); err != nil {
			return nil, err
		}
	}
	return s.wrapResponse(s.HealthzWith(options), nil), nil
}

// jszRequest answers $SYS.REQ.SERVER.<id>.JSZ and the PING form.
func jszRequest(s *Server, body []byte) (any, error) {
	var request struct {
		Account          string `json:"account"`
		Accounts         bool   `json:"accounts"`
		Streams          bool   `json:"streams"`
		Consumers        bool   `json:"consumer"`
		DirectConsumers  bool   `json:"direct_consumer"`
		Config           bool   `json:"config"`
		LeaderOnly       bool   `json:"leader_only"`
		Offset           int    `json:"offset"`
		Limit            int    `json:"limit"`
		RaftGroups       bool   `json:"raft"`
		StreamLeaderOnly bool   `json:"stream_leader_only"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &request); err != nil {
			return nil, err
		}
	}
	report := s.Jsz(jetstream.JszOptions{Account: request.Account, Accounts: request.Accounts,
		Streams: request.Streams, Consumers: request.Consumers, DirectConsumers: request.DirectConsumers, Config: request.Config,
		LeaderOnly: request.LeaderOnly, StreamLeaderOnly: request.StreamLeaderOnly, RaftGroups: request.RaftGroups,
		Offset: request.Offset, Limit: request.Limit})
	return s.wrapResponse(report, nil), nil
}

// The JSZ and HEALTHZ system requests are registered here so that system.go's table
// stays the core server's.
func init() {
	systemHandlers["JSZ"] = jszRequest
	systemHandlers["HEALTHZ"] = healthzRequest
}
