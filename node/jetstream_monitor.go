package node

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/natsim/natsim/node/jetstream"
)

// JSz is the /jsz response: the server's identity and JetStream's report, or
// disabled when JetStream is off.
type JSz struct {
	ID       string    `json:"server_id"`
	Now      time.Time `json:"now"`
	Disabled bool      `json:"disabled,omitempty"`
	*jetstream.JSInfo
}

// Jsz reports JetStream's usage and, as options ask, per-account, per-stream and
// per-consumer details.
func (s *Server) Jsz(options jetstream.JszOptions) *JSz {
	report := &JSz{ID: s.id, Now: s.env.Clock.Now().UTC()}
	manager := s.JetStream()
	if manager == nil {
		report.Disabled = true
		return report
	}
	report.JSInfo = manager.Jsz(options)
	return report
}

// jszOptionsFromQuery reads /jsz's query parameters.
func jszOptionsFromQuery(q query) jetstream.JszOptions {
	flag := func(name string) bool { return q.Get(name) == "true" || q.Get(name) == "1" }
	options := jetstream.JszOptions{Account: q.Get("acc"), Accounts: flag("accounts"), Streams: flag("streams"),
		Consumers: flag("consumers"), Config: flag("config")}
	options.Offset, _ = strconv.Atoi(q.Get("offset"))
	options.Limit, _ = strconv.Atoi(q.Get("limit"))
	if options.Account != "" {
		options.Accounts = true
	}
	return options
}

// jetStreamHealth applies /healthz's JetStream options: js-enabled-only (and the
// deprecated js-enabled) fail when the options ask for JetStream and it is not
// running; a server not configured for JetStream is healthy.
func (s *Server) jetStreamHealth(health *HealthStatus, q query) *HealthStatus {
	if health.StatusCode != 200 && health.StatusCode != 0 {
		return health
	}
	enabledOnly := q.Get("js-enabled-only") == "true" || q.Get("js-enabled-only") == "1"
	enabled := q.Get("js-enabled") == "true" || q.Get("js-enabled") == "1"
	if !enabledOnly && !enabled {
		return health
	}
	s.mu.Lock()
	requested := s.options.JetStream
	s.mu.Unlock()
	if requested && s.JetStream() == nil {
		return &HealthStatus{Status: "unavailable", StatusCode: 503, Error: "JetStream not enabled"}
	}
	return health
}

// jszRequest answers $SYS.REQ.SERVER.<id>.JSZ and the PING form.
func jszRequest(s *Server, body []byte) (any, error) {
	var request struct {
		Account   string `json:"account"`
		Accounts  bool   `json:"accounts"`
		Streams   bool   `json:"streams"`
		Consumers bool   `json:"consumer"`
		Config    bool   `json:"config"`
		Offset    int    `json:"offset"`
		Limit     int    `json:"limit"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &request); err != nil {
			return nil, err
		}
	}
	report := s.Jsz(jetstream.JszOptions{Account: request.Account, Accounts: request.Accounts || request.Account != "",
		Streams: request.Streams, Consumers: request.Consumers, Config: request.Config,
		Offset: request.Offset, Limit: request.Limit})
	return s.wrapResponse(report, nil), nil
}

// The JSZ system request is registered here so that system.go's table stays the
// core server's.
func init() { systemHandlers["JSZ"] = jszRequest }
