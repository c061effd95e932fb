package node

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// The system account's request subjects, as the reference names them.
const (
	systemPingSubject       = "$SYS.REQ.SERVER.PING"
	systemPingPrefix        = "$SYS.REQ.SERVER.PING."
	systemDirectRequestStem = "$SYS.REQ.SERVER."
)

// systemHandler answers one monitoring request on the system account; body is the
// request's JSON options (possibly empty). It returns the response value.
type systemHandler func(s *Server, body []byte) (any, error)

// systemHandlers are the monitoring requests served over NATS, by their last token.
var systemHandlers = map[string]systemHandler{
	"IDZ":      func(s *Server, _ []byte) (any, error) { return s.serverID(), nil },
	"STATSZ":   func(s *Server, _ []byte) (any, error) { return s.statsz(), nil },
	"VARZ":     func(s *Server, _ []byte) (any, error) { return s.wrapResponse(s.Varz(), nil), nil },
	"CONNZ":    connzRequest,
	"SUBSZ":    subszRequest,
	"HEALTHZ":  func(s *Server, _ []byte) (any, error) { return s.wrapResponse(s.Healthz(), nil), nil },
	"ACCOUNTZ": accountzRequest,
}

// ServerInfo identifies the answering server in system responses.
type ServerInfo struct {
	Name    string `json:"name"`
	Host    string `json:"host"`
	ID      string `json:"id"`
	Cluster string `json:"cluster,omitempty"`
	Domain  string `json:"domain,omitempty"`
	Version string `json:"ver"`
	// FeatureFlags are the reference's feature flags, at its defaults.
	FeatureFlags map[string]bool `json:"feature_flags,omitempty"`
	Tags         []string        `json:"tags,omitempty"`
	JetStream    bool            `json:"jetstream"`
	Flags        uint64          `json:"flags"`
	Seq          uint64          `json:"seq"`
	Time         time.Time       `json:"time"`
}

// The ServerInfo.Flags bits, as the reference numbers them.
const (
	serverCapabilityJetStream uint64 = 1 << iota
	serverCapabilityBinarySnapshot
)

// ServerID is the IDZ response.
type ServerID struct {
	Name string `json:"name"`
	Host string `json:"host"`
	ID   string `json:"id"`
}

// APIError is the error of a system response.
type APIError struct {
	Code        int    `json:"code"`
	Description string `json:"description,omitempty"`
}

// ServerAPIResponse wraps a monitoring response sent over NATS.
type ServerAPIResponse struct {
	Server *ServerInfo `json:"server"`
	Data   any         `json:"data,omitempty"`
	Error  *APIError   `json:"error,omitempty"`
}

// MsgBytes counts messages and bytes.
type MsgBytes struct {
	Msgs  int64 `json:"msgs"`
	Bytes int64 `json:"bytes"`
}

// ServerStats is the statsz payload.
type ServerStats struct {
	Start                time.Time             `json:"start"`
	Mem                  int64                 `json:"mem"`
	Cores                int                   `json:"cores"`
	CPU                  float64               `json:"cpu"`
	Connections          int                   `json:"connections"`
	TotalConnections     uint64                `json:"total_connections"`
	ActiveAccounts       int                   `json:"active_accounts"`
	NumSubs              uint32                `json:"subscriptions"`
	Sent                 MsgBytes              `json:"sent"`
	SentToClients        MsgBytes              `json:"sent_to_clients"`
	Received             MsgBytes              `json:"received"`
	ReceivedFromClients  MsgBytes              `json:"received_from_clients"`
	SlowConsumers        int64                 `json:"slow_consumers"`
	SlowConsumersStats   *SlowConsumersStats   `json:"slow_consumer_stats,omitempty"`
	StaleConnections     int64                 `json:"stale_connections,omitempty"`
	StaleConnectionStats *StaleConnectionStats `json:"stale_connection_stats,omitempty"`
	StalledClients       int64                 `json:"stalled_clients,omitempty"`
	ActiveServers        int                   `json:"active_servers,omitempty"`
	MaxProcs             int                   `json:"gomaxprocs,omitempty"`
}

// ServerStatsMsg is the STATSZ response.
type ServerStatsMsg struct {
	Server ServerInfo  `json:"server"`
	Stats  ServerStats `json:"statsz"`
}

func (s *Server) serverInfo() *ServerInfo {
	now := s.env.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	info := s.baseInfoLocked()
	server := &ServerInfo{Name: s.nameLocked(), Host: info.Host, ID: s.id, Version: Version,
		FeatureFlags: defaultFeatureFlags(), Tags: s.options.ServerTags, Time: now.UTC()}
	if s.jetStream != nil {
		server.JetStream = true
		// The reference's capability bits: JetStream enabled, binary stream snapshots.
		server.Flags = serverCapabilityJetStream | serverCapabilityBinarySnapshot
	}
	return server
}

func (s *Server) serverID() *ServerID {
	info := s.serverInfo()
	return &ServerID{Name: info.Name, Host: info.Host, ID: info.ID}
}

func (s *Server) wrapResponse(data any, err error) *ServerAPIResponse {
	response := &ServerAPIResponse{Server: s.serverInfo(), Data: data}
	if err != nil {
		response.Data = nil
		response.Error = &APIError{Code: 400, Description: err.Error()}
	}
	return response
}

func (s *Server) statsz() *ServerStatsMsg {
	v := s.Varz()
	s.mu.Lock()
	active := 0
	for _, name := range s.sortedAccountNamesLocked() {
		account := s.accounts[name]
		account.mu.Lock()
		if account.connections > 0 {
			active++
		}
		account.mu.Unlock()
	}
	s.mu.Unlock()
	return &ServerStatsMsg{Server: *s.serverInfo(), Stats: ServerStats{
		Start: v.Start, Mem: v.Mem, Cores: v.Cores, CPU: v.CPU, Connections: v.Connections, TotalConnections: v.TotalConnections,
		ActiveAccounts: active, NumSubs: v.Subscriptions,
		Sent:                MsgBytes{Msgs: v.OutMsgs, Bytes: v.OutBytes},
		SentToClients:       MsgBytes{Msgs: v.OutClientMsgs, Bytes: v.OutClientBytes},
		Received:            MsgBytes{Msgs: v.InMsgs, Bytes: v.InBytes},
		ReceivedFromClients: MsgBytes{Msgs: v.InClientMsgs, Bytes: v.InClientBytes},
		SlowConsumers:       v.SlowConsumers, SlowConsumersStats: v.SlowConsumersStats,
		StaleConnections: v.StaleConnections, StaleConnectionStats: v.StaleConnectionStats,
		StalledClients: v.StalledClients, ActiveServers: 1, MaxProcs: runtime.GOMAXPROCS(0),
	}}
}

func connzRequest(s *Server, body []byte) (any, error) {
	var request struct {
		Sort          string `json:"sort"`
		Auth          bool   `json:"auth"`
		Subscriptions bool   `json:"subscriptions"`
		Detail        bool   `json:"subscriptions_detail"`
		Offset        int    `json:"offset"`
		Limit         int    `json:"limit"`
		CID           uint64 `json:"cid"`
		// State is the reference's ConnState number (0 open, 1 closed, 2 all); a
		// name as /connz takes it is accepted too.
		State   json.RawMessage `json:"state"`
		User    string          `json:"user"`
		Account string          `json:"acc"`
	}
	if err := decodeOptional(body, &request); err != nil {
		return s.wrapResponse(nil, err), nil
	}
	state, err := connStateName(request.State)
	if err != nil {
		return s.wrapResponse(nil, err), nil
	}
	options := ConnzOptions{Sort: request.Sort, Offset: request.Offset, Limit: request.Limit,
		CID: request.CID, State: state, User: request.User, Account: request.Account, Auth: request.Auth}
	switch {
	case request.Detail:
		options.Subs = connzSubsDetail
	case request.Subscriptions:
		options.Subs = connzSubsList
	}
	connz, err := s.Connz(options)
	return s.wrapResponse(connz, err), nil
}

// connStateName turns a request's state, a ConnState number or a name, into the
// name ConnzOptions takes.
func connStateName(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var number int
	if err := json.Unmarshal(raw, &number); err == nil {
		switch number {
		case 0:
			return "open", nil
		case 1:
			return "closed", nil
		case 2:
			return "all", nil
		}
		return "", fmt.Errorf("invalid state %d", number)
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return "", err
	}
	return name, nil
}

// eventFilter is the reference's EventFilterOptions: a request sent to every server
// is answered only by the servers it selects.
type eventFilter struct {
	Name       string   `json:"server_name"`
	Cluster    string   `json:"cluster"`
	Host       string   `json:"host"`
	ExactMatch bool     `json:"exact_match"`
	Tags       []string `json:"tags"`
	Domain     string   `json:"domain"`
}

// selectedBy reports whether the request body's filter selects this server; a body
// that is not a JSON object selects every server.
func (s *Server) selectedBy(body []byte) bool {
	var filter eventFilter
	if decodeOptional(body, &filter) != nil {
		return true
	}
	info := s.serverInfo()
	matches := func(want, have string) bool {
		if want == "" {
			return true
		}
		if filter.ExactMatch {
			return want == have
		}
		return strings.Contains(have, want)
	}
	if !matches(filter.Name, info.Name) || !matches(filter.Cluster, info.Cluster) ||
		!matches(filter.Host, info.Host) || !matches(filter.Domain, info.Domain) {
		return false
	}
	for _, tag := range filter.Tags {
		found := false
		for _, have := range info.Tags {
			found = found || strings.EqualFold(tag, have)
		}
		if !found {
			return false
		}
	}
	return true
}

func subszRequest(s *Server, body []byte) (any, error) {
	var request struct {
		Subscriptions bool   `json:"subscriptions"`
		Offset        int    `json:"offset"`
		Limit         int    `json:"limit"`
		Test          string `json:"test"`
		Account       string `json:"account"`
	}
	if err := decodeOptional(body, &request); err != nil {
		return s.wrapResponse(nil, err), nil
	}
	return s.wrapResponse(s.Subsz(SubszOptions{Subs: request.Subscriptions, Offset: request.Offset,
		Limit: request.Limit, Test: request.Test, Account: request.Account}), nil), nil
}

func accountzRequest(s *Server, body []byte) (any, error) {
	var request struct {
		Account string `json:"account"`
	}
	if err := decodeOptional(body, &request); err != nil {
		return s.wrapResponse(nil, err), nil
	}
	accountz, err := s.Accountz(request.Account)
	return s.wrapResponse(accountz, err), nil
}

func decodeOptional(body []byte, into any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	return json.Unmarshal(body, into)
}

// startSystemServices subscribes the system account to the monitoring requests.
func (s *Server) startSystemServices() {
	s.mu.Lock()
	system := s.systemAccount
	s.mu.Unlock()
	if system == nil {
		return
	}
	add := func(subject string, handler internalHandler) {
		_ = system.sublist.Insert(subject, "", &subscription{subject: subject, internal: handler})
	}
	add(systemPingSubject, s.systemRequest("STATSZ"))
	names := make([]string, 0, len(systemHandlers))
	for name := range systemHandlers {
		names = append(names, name)
	}
	// Sorted so that the subscriptions are inserted in the same order every run.
	sortStrings(names)
	for _, name := range names {
		add(systemPingPrefix+name, s.systemRequest(name))
		add(systemDirectRequestStem+s.id+"."+name, s.systemRequest(name))
	}
}

// systemRequest adapts a systemHandler to an internal subscription: it answers on the
// request's reply subject, in the system account.
func (s *Server) systemRequest(name string) internalHandler {
	handler := systemHandlers[name]
	return func(publisher *clientConn, pub publication, set *flushSet) {
		if len(pub.reply) == 0 {
			return
		}
		body := pub.message
		if pub.headerBytes > 0 {
			body = body[pub.headerBytes:]
		}
		if !s.selectedBy(body) {
			return
		}
		response, err := handler(s, body)
		if err != nil {
			response = s.wrapResponse(nil, err)
		}
		data, err := json.Marshal(response)
		if err != nil {
			return
		}
		s.mu.Lock()
		system := s.systemAccount
		s.mu.Unlock()
		reply := publication{subject: append([]byte(nil), pub.reply...), headerBytes: -1, message: data}
		publisher.route(system, &reply, set)
	}
}
