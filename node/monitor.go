package node

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
)

// The /connz subs modes.
const (
	connzSubsNone = iota
	connzSubsList
	connzSubsDetail
)

// ConnInfo is one connection in /connz, with the reference's JSON field names.
type ConnInfo struct {
	CID            uint64     `json:"cid"`
	Kind           string     `json:"kind,omitempty"`
	Type           string     `json:"type,omitempty"`
	IP             string     `json:"ip"`
	Port           int        `json:"port"`
	Start          time.Time  `json:"start"`
	LastActivity   time.Time  `json:"last_activity"`
	Stop           *time.Time `json:"stop,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	RTT            string     `json:"rtt,omitempty"`
	Uptime         string     `json:"uptime"`
	Idle           string     `json:"idle"`
	PendingBytes   int        `json:"pending_bytes"`
	InMsgs         int64      `json:"in_msgs"`
	OutMsgs        int64      `json:"out_msgs"`
	InBytes        int64      `json:"in_bytes"`
	OutBytes       int64      `json:"out_bytes"`
	NumSubs        uint32     `json:"subscriptions"`
	Name           string     `json:"name,omitempty"`
	Lang           string     `json:"lang,omitempty"`
	Version        string     `json:"version,omitempty"`
	AuthorizedUser string     `json:"authorized_user,omitempty"`
	Account        string     `json:"account,omitempty"`
	// JWT, IssuerKey and Tags describe a user JWT's login, NameTag its account's
	// JWT name (operator mode).
	JWT                    string         `json:"jwt,omitempty"`
	IssuerKey              string         `json:"issuer_key,omitempty"`
	NameTag                string         `json:"name_tag,omitempty"`
	Tags                   []string       `json:"tags,omitempty"`
	TLSVersion             string         `json:"tls_version,omitempty"`
	TLSCipher              string         `json:"tls_cipher_suite,omitempty"`
	TLSPeerCerts           []*TLSPeerCert `json:"tls_peer_certs,omitempty"`
	TLSFirst               bool           `json:"tls_first,omitempty"`
	Subs                   []string       `json:"subscriptions_list,omitempty"`
	SubsDetail             []SubDetail    `json:"subscriptions_list_detail,omitempty"`
	startNanos, stopNanos  int64
	lastNanos, uptimeNanos int64
	idleNanos, rttNanos    int64
}

// SubDetail is one subscription in /connz and /subsz detail lists.
type SubDetail struct {
	Account    string `json:"account,omitempty"`
	Subject    string `json:"subject"`
	Queue      string `json:"qgroup,omitempty"`
	SID        string `json:"sid"`
	Msgs       int64  `json:"msgs"`
	Max        int64  `json:"max,omitempty"`
	CID        uint64 `json:"cid"`
	AccountTag string `json:"account_tag,omitempty"`
}

// connInfo snapshots the connection for /connz.
func (c *clientConn) connInfo(closed bool, subsMode int) *ConnInfo {
	now := c.server.env.Clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	info := &ConnInfo{
		CID: c.id, Kind: "Client", Type: connectionType(c.conn), IP: c.host, Port: c.port,
		Start: c.start, LastActivity: c.lastIn,
		InMsgs: c.inMsgs, OutMsgs: c.outMsgs, InBytes: c.inBytes, OutBytes: c.outBytes,
		NumSubs: uint32(len(c.subs)),
		Name:    c.options.Name, Lang: c.options.Lang, Version: c.options.Version,
		PendingBytes: len(c.out),
	}
	if !c.closed {
		info.PendingBytes += c.conn.Pending()
	}
	end := now
	if closed || c.closed {
		stop := c.stopTime
		info.Stop = &stop
		info.Reason = c.closeReason
		end = stop
	}
	if c.rtt > 0 {
		rtt := c.rtt
		if rtt > time.Microsecond && rtt < time.Millisecond {
			rtt = rtt.Truncate(time.Microsecond)
		}
		info.RTT = rtt.String()
		info.rttNanos = int64(rtt)
	}
	info.Uptime = formatUptime(end.Sub(c.start))
	info.Idle = formatUptime(end.Sub(c.lastIn))
	info.uptimeNanos = int64(end.Sub(c.start))
	info.idleNanos = int64(end.Sub(c.lastIn))
	if c.user != nil && c.user.name != "" {
		info.AuthorizedUser = c.user.name
	}
	if c.account != nil && c.account.Name != opts.DefaultGlobalAccount {
		info.Account = c.account.Name
	}
	if c.user != nil && c.user.jwt != "" {
		info.JWT, info.IssuerKey, info.Tags = c.user.jwt, c.user.issuerKey, c.user.tags
		if c.account != nil {
			info.NameTag = c.account.nameTag
		}
	}
	if c.tlsState != nil {
		info.TLSVersion = tlsVersionName(c.tlsState.Version)
		info.TLSCipher = tls.CipherSuiteName(c.tlsState.CipherSuite)
		info.TLSPeerCerts = peerCertificates(c.tlsState.PeerCertificates)
		info.TLSFirst = c.tlsFirst
	}
	if subsMode != connzSubsNone {
		for _, sub := range sortedSubs(c.subs) {
			if subsMode == connzSubsList {
				info.Subs = append(info.Subs, sub.subject)
				continue
			}
			// The account is named only in /subsz (Subsz fills it in), as the reference.
			info.SubsDetail = append(info.SubsDetail, SubDetail{
				Subject: sub.subject, Queue: sub.queue, SID: string(sub.sid),
				Msgs: sub.delivered, Max: sub.max, CID: c.id,
			})
		}
	}
	return info
}

// sendRTTPing queues a PING to measure the round trip of a connection that has none
// yet, as the reference does when /connz asks for it: only for real clients (they
// name their language in CONNECT), once CONNECT is in and no PING is outstanding. It
// reports whether a PING was queued.
func (c *clientConn) sendRTTPing(closed bool, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if closed || c.closed || c.rtt != 0 || !c.connectReceived || c.options.Lang == "" || !c.pingSent.IsZero() {
		return false
	}
	c.pingsOut++
	c.pingSent = now
	c.out = append(c.out, client.PingOp...)
	return true
}

// sortedSubs returns subscriptions ordered by sid, so outputs are deterministic.
func sortedSubs(subs map[string]*subscription) []*subscription {
	sorted := make([]*subscription, 0, len(subs))
	for _, sub := range subs {
		sorted = append(sorted, sub)
	}
	slices.SortFunc(sorted, func(a, b *subscription) int { return strings.Compare(string(a.sid), string(b.sid)) })
	return sorted
}

// formatUptime renders a duration as the reference does: 1y2d3h4m5s, largest unit first.
func formatUptime(d time.Duration) string {
	seconds := int64(d / time.Second)
	minutes, hours := seconds/60, seconds/3600
	days := hours / 24
	years := days / 365
	switch {
	case years > 0:
		return fmt.Sprintf("%dy%dd%dh%dm%ds", years, days%365, hours%24, minutes%60, seconds%60)
	case days > 0:
		return fmt.Sprintf("%dd%dh%dm%ds", days, hours%24, minutes%60, seconds%60)
	case hours > 0:
		return fmt.Sprintf("%dh%dm%ds", hours, minutes%60, seconds%60)
	case minutes > 0:
		return fmt.Sprintf("%dm%ds", minutes, seconds%60)
	}
	return fmt.Sprintf("%ds", seconds)
}

// ConnzOptions select and order /connz output.
type ConnzOptions struct {
	// Sort is one of cid, start, subs, pending, msgs_to, msgs_from, bytes_to,
	// bytes_from, last, idle, uptime, stop, reason.
	Sort string
	// Subs is connzSubs*: none, list ("subs=1") or detail ("subs=detail").
	Subs int
	// Offset and Limit page the sorted list; Limit 0 means the default 1024.
	Offset, Limit int
	// CID selects one connection (0: all).
	CID uint64
	// State is open (default), closed, or any/all.
	State string
	// User and Account filter by authorized user and account name.
	User, Account string
	// Auth includes each connection's authorized user and account ("auth=true").
	Auth bool
}

// connzLimitDefault is the reference's default page size.
const connzLimitDefault = 1024

// Connz is the /connz response.
type Connz struct {
	ID       string      `json:"server_id"`
	Now      time.Time   `json:"now"`
	NumConns int         `json:"num_connections"`
	Total    int         `json:"total"`
	Offset   int         `json:"offset"`
	Limit    int         `json:"limit"`
	Conns    []*ConnInfo `json:"connections"`
}

// Connz reports connections as /connz does.
func (s *Server) Connz(options ConnzOptions) (*Connz, error) {
	if options.Limit <= 0 {
		options.Limit = connzLimitDefault
	}
	if options.Offset < 0 {
		options.Offset = 0
	}
	s.mu.Lock()
	open := s.sortedClientsLocked()
	closed := slices.Clone(s.closedClients)
	s.mu.Unlock()
	var infos []*ConnInfo
	state := options.State
	if state == "" {
		state = "open"
	}
	switch state {
	case "open", "any", "all":
	case "closed":
	default:
		return nil, fmt.Errorf("invalid state %q", options.State)
	}
	if state != "closed" {
		for _, c := range open {
			if options.CID != 0 && c.id != options.CID {
				continue
			}
			if c.sendRTTPing(false, s.env.Clock.Now()) {
				c.flushOut()
			}
			infos = append(infos, c.connInfo(false, options.Subs))
		}
	}
	if state != "open" {
		for _, info := range closed {
			if options.CID != 0 && info.CID != options.CID {
				continue
			}
			infos = append(infos, info)
		}
	}
	infos = slices.DeleteFunc(infos, func(info *ConnInfo) bool {
		return (options.User != "" && info.AuthorizedUser != options.User) ||
			(options.Account != "" && accountOrGlobal(info.Account) != options.Account)
	})
	if err := sortConnInfos(infos, options.Sort, state); err != nil {
		return nil, err
	}
	if !options.Auth {
		for i, info := range infos {
			stripped := *info
			stripped.AuthorizedUser, stripped.Account = "", ""
			stripped.JWT, stripped.IssuerKey, stripped.NameTag, stripped.Tags = "", "", "", nil
			infos[i] = &stripped
		}
	}
	connz := &Connz{ID: s.id, Now: s.env.Clock.Now(), Total: len(infos), Offset: options.Offset, Limit: options.Limit}
	if options.Offset < len(infos) {
		infos = infos[options.Offset:]
	} else {
		infos = nil
	}
	if len(infos) > options.Limit {
		infos = infos[:options.Limit]
	}
	connz.Conns = infos
	if connz.Conns == nil {
		connz.Conns = []*ConnInfo{}
	}
	connz.NumConns = len(connz.Conns)
	return connz, nil
}

// sortConnInfos orders connections by the requested key, ties by cid. Descending
// keys (the counters) put the largest first, as the reference does.
func sortConnInfos(infos []*ConnInfo, key, state string) error {
	var value func(*ConnInfo) int64
	descending := true
	switch key {
	case "", "cid":
		value, descending = func(i *ConnInfo) int64 { return int64(i.CID) }, false
	case "start":
		value, descending = func(i *ConnInfo) int64 { return i.Start.UnixNano() }, false
	case "subs":
		value = func(i *ConnInfo) int64 { return int64(i.NumSubs) }
	case "pending":
		value = func(i *ConnInfo) int64 { return int64(i.PendingBytes) }
	case "msgs_to", "out_msgs":
		value = func(i *ConnInfo) int64 { return i.OutMsgs }
	case "msgs_from", "in_msgs":
		value = func(i *ConnInfo) int64 { return i.InMsgs }
	case "bytes_to", "out_bytes":
		value = func(i *ConnInfo) int64 { return i.OutBytes }
	case "bytes_from", "in_bytes":
		value = func(i *ConnInfo) int64 { return i.InBytes }
	case "last":
		value = func(i *ConnInfo) int64 { return i.LastActivity.UnixNano() }
	case "idle":
		value = func(i *ConnInfo) int64 { return i.idleNanos }
	case "uptime":
		value = func(i *ConnInfo) int64 { return i.uptimeNanos }
	case "rtt":
		value = func(i *ConnInfo) int64 { return i.rttNanos }
	case "stop", "reason":
		if state == "open" {
			return fmt.Errorf("sort by %s only valid on closed connections", key)
		}
		if key == "stop" {
			value = func(i *ConnInfo) int64 {
				if i.Stop == nil {
					return 0
				}
				return i.Stop.UnixNano()
			}
		} else {
			slices.SortStableFunc(infos, func(a, b *ConnInfo) int { return strings.Compare(a.Reason, b.Reason) })
			return nil
		}
	default:
		return fmt.Errorf("invalid sorting option %q", key)
	}
	slices.SortStableFunc(infos, func(a, b *ConnInfo) int {
		va, vb := value(a), value(b)
		if descending {
			va, vb = vb, va
		}
		switch {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
		return compareUint64(a.CID, b.CID)
	})
	return nil
}

// Varz is the /varz response (the fields this server has).
type Varz struct {
	ID                   string                `json:"server_id"`
	Name                 string                `json:"server_name"`
	Version              string                `json:"version"`
	Proto                int                   `json:"proto"`
	GoVersion            string                `json:"go"`
	Host                 string                `json:"host"`
	Port                 int                   `json:"port"`
	AuthRequired         bool                  `json:"auth_required,omitempty"`
	ConnectURLs          []string              `json:"connect_urls,omitempty"`
	MaxConn              int                   `json:"max_connections"`
	MaxSubs              int                   `json:"max_subscriptions,omitempty"`
	PingInterval         int64                 `json:"ping_interval"`
	MaxPingsOut          int                   `json:"ping_max"`
	HTTPHost             string                `json:"http_host"`
	HTTPPort             int                   `json:"http_port"`
	HTTPBasePath         string                `json:"http_base_path"`
	HTTPSPort            int                   `json:"https_port"`
	AuthTimeout          float64               `json:"auth_timeout"`
	TLSRequired          bool                  `json:"tls_required,omitempty"`
	TLSVerify            bool                  `json:"tls_verify,omitempty"`
	MaxControlLine       int32                 `json:"max_control_line"`
	MaxPayload           int                   `json:"max_payload"`
	MaxPending           int64                 `json:"max_pending"`
	TLSTimeout           float64               `json:"tls_timeout"`
	WriteDeadline        int64                 `json:"write_deadline"`
	Start                time.Time             `json:"start"`
	Now                  time.Time             `json:"now"`
	Uptime               string                `json:"uptime"`
	Mem                  int64                 `json:"mem"`
	Cores                int                   `json:"cores"`
	MaxProcs             int                   `json:"gomaxprocs"`
	CPU                  float64               `json:"cpu"`
	Connections          int                   `json:"connections"`
	TotalConnections     uint64                `json:"total_connections"`
	Routes               int                   `json:"routes"`
	Remotes              int                   `json:"remotes"`
	Leafs                int                   `json:"leafnodes"`
	InMsgs               int64                 `json:"in_msgs"`
	InBytes              int64                 `json:"in_bytes"`
	InClientMsgs         int64                 `json:"in_client_msgs"`
	InClientBytes        int64                 `json:"in_client_bytes"`
	OutMsgs              int64                 `json:"out_msgs"`
	OutBytes             int64                 `json:"out_bytes"`
	OutClientMsgs        int64                 `json:"out_client_msgs"`
	OutClientBytes       int64                 `json:"out_client_bytes"`
	SlowConsumers        int64                 `json:"slow_consumers"`
	StaleConnections     int64                 `json:"stale_connections"`
	StalledClients       int64                 `json:"stalled_clients"`
	Subscriptions        uint32                `json:"subscriptions"`
	HTTPReqStats         map[string]uint64     `json:"http_req_stats"`
	ConfigLoadTime       time.Time             `json:"config_load_time"`
	ConfigDigest         string                `json:"config_digest"`
	Tags                 []string              `json:"tags,omitempty"`
	FeatureFlags         map[string]bool       `json:"feature_flags,omitempty"`
	Metadata             map[string]string     `json:"metadata,omitempty"`
	SystemAccount        string                `json:"system_account,omitempty"`
	SlowConsumersStats   *SlowConsumersStats   `json:"slow_consumer_stats"`
	StaleConnectionStats *StaleConnectionStats `json:"stale_connection_stats,omitempty"`
	DiskIOWaitStats      *DiskIOWaitStats      `json:"disk_io_wait_stats"`
	Cluster              ClusterOptsVarz       `json:"cluster,omitempty"`
	Gateway              GatewayOptsVarz       `json:"gateway,omitempty"`
	LeafNode             ListenerOptsVarz      `json:"leaf,omitempty"`
	MQTT                 ListenerOptsVarz      `json:"mqtt,omitempty"`
	Websocket            ListenerOptsVarz      `json:"websocket,omitempty"`
	JetStream            JetStreamVarz         `json:"jetstream,omitempty"`
}

// defaultFeatureFlags are the reference's feature flags at their defaults; monitoring
// tools show them, and this server keeps feature_flags only as parsed config.
func defaultFeatureFlags() map[string]bool {
	return map[string]bool{"js_ack_fc_v2": false, "js_api_reply_v2": false, "js_raft_delete_range": true, "js_snapshot_sources": false}
}

// SlowConsumersStats counts slow consumers by connection kind, as the reference.
type SlowConsumersStats struct {
	Clients  uint64 `json:"clients"`
	Routes   uint64 `json:"routes"`
	Gateways uint64 `json:"gateways"`
	Leafs    uint64 `json:"leafs"`
}

// StaleConnectionStats counts stale connections by connection kind.
type StaleConnectionStats struct {
	Clients  uint64 `json:"clients"`
	Routes   uint64 `json:"routes"`
	Gateways uint64 `json:"gateways"`
	Leafs    uint64 `json:"leafs"`
}

// DiskIOWaitStats is the reference's disk I/O semaphore contention; this server
// has no such semaphore, so it stays zero.
type DiskIOWaitStats struct {
	Waiters     int64 `json:"waiters"`
	Waits       int64 `json:"waits"`
	WaitTime    int64 `json:"wait_time"`
	MaxWaitTime int64 `json:"max_wait_time"`
}

// ClusterOptsVarz is the cluster block of /varz (empty without a cluster).
type ClusterOptsVarz struct {
	Name        string  `json:"name,omitempty"`
	Host        string  `json:"addr,omitempty"`
	Port        int     `json:"cluster_port,omitempty"`
	AuthTimeout float64 `json:"auth_timeout,omitempty"`
	TLSTimeout  float64 `json:"tls_timeout,omitempty"`
}

// GatewayOptsVarz is the gateway block of /varz (empty without a gateway).
type GatewayOptsVarz struct {
	Name        string  `json:"name,omitempty"`
	Host        string  `json:"host,omitempty"`
	Port        int     `json:"port,omitempty"`
	AuthTimeout float64 `json:"auth_timeout,omitempty"`
	TLSTimeout  float64 `json:"tls_timeout,omitempty"`
	Advertise   string  `json:"advertise,omitempty"`
}

// ListenerOptsVarz is the leaf, mqtt and websocket blocks of /varz: where the
// listener is, empty when it is not configured.
type ListenerOptsVarz struct {
	Host        string  `json:"host,omitempty"`
	Port        int     `json:"port,omitempty"`
	AuthTimeout float64 `json:"auth_timeout,omitempty"`
}

// Varz reports the server's configuration and counters as /varz does.
func (s *Server) Varz() *Varz {
	now := s.env.Clock.Now()
	s.mu.Lock()
	o := s.options
	info := s.baseInfoLocked()
	v := &Varz{
		ID: s.id, Name: s.nameLocked(), Version: Version, Proto: ProtocolVersion, GoVersion: runtime.Version(),
		Host: info.Host, Port: info.Port, AuthRequired: info.AuthRequired, ConnectURLs: info.ClientConnectURLs,
		MaxConn: o.MaxConn, MaxSubs: o.MaxSubs, PingInterval: int64(o.PingInterval), MaxPingsOut: o.MaxPingsOut,
		HTTPHost: o.HTTPHost, HTTPPort: o.HTTPPort, HTTPBasePath: o.HTTPBasePath, HTTPSPort: o.HTTPSPort,
		AuthTimeout: o.AuthTimeout, MaxControlLine: o.MaxControlLine, MaxPayload: int(o.MaxPayload),
		MaxPending: o.MaxPending, TLSTimeout: o.TLSTimeout, WriteDeadline: int64(o.WriteDeadline),
		TLSRequired: info.TLSRequired, TLSVerify: info.TLSVerify,
		Start: s.startTime, Now: now, Uptime: formatUptime(now.Sub(s.startTime)),
		Cores: runtime.NumCPU(), MaxProcs: runtime.GOMAXPROCS(0), Mem: memoryInUse(),
		Connections: len(s.clients), TotalConnections: s.totalConnections.Load(),
		InMsgs: s.inMsgs.Load(), InBytes: s.inBytes.Load(), OutMsgs: s.outMsgs.Load(), OutBytes: s.outBytes.Load(),
		SlowConsumers: s.slowConsumers.Load(), ConfigLoadTime: s.configTime,
		ConfigDigest:     o.ConfigDigest,
		StaleConnections: s.staleConnections.Load(), StalledClients: s.stalledClients.Load(),
		HTTPReqStats: s.httpRequestCounts(),
		Tags:         o.ServerTags, Metadata: o.ServerMetadata, FeatureFlags: defaultFeatureFlags(),
		SlowConsumersStats:   &SlowConsumersStats{Clients: uint64(s.slowConsumers.Load())},
		StaleConnectionStats: &StaleConnectionStats{Clients: uint64(s.staleConnections.Load())},
		DiskIOWaitStats:      &DiskIOWaitStats{},
		Cluster: ClusterOptsVarz{Name: o.Cluster.Name, Host: o.Cluster.Host, Port: o.Cluster.Port,
			AuthTimeout: o.Cluster.AuthTimeout, TLSTimeout: o.Cluster.TLSTimeout},
		Gateway: GatewayOptsVarz{Name: o.Gateway.Name, Host: o.Gateway.Host, Port: o.Gateway.Port,
			AuthTimeout: o.Gateway.AuthTimeout, TLSTimeout: o.Gateway.TLSTimeout, Advertise: o.Gateway.Advertise},
		LeafNode:  ListenerOptsVarz{Host: o.LeafNode.Host, Port: o.LeafNode.Port, AuthTimeout: o.LeafNode.AuthTimeout},
		MQTT:      ListenerOptsVarz{Host: o.MQTT.Host, Port: o.MQTT.Port},
		Websocket: ListenerOptsVarz{Host: o.Websocket.Host, Port: o.Websocket.Port},
	}
	// Every message of this server comes from or goes to a client connection: there
	// are no routes, gateways or leaf nodes to count apart.
	v.InClientMsgs, v.InClientBytes = v.InMsgs, v.InBytes
	v.OutClientMsgs, v.OutClientBytes = v.OutMsgs, v.OutBytes
	if s.systemAccount != nil {
		v.SystemAccount = s.systemAccount.Name
	}
	for _, name := range s.sortedAccountNamesLocked() {
		v.Subscriptions += uint32(s.accounts[name].sublist.Count())
	}
	s.mu.Unlock()
	v.JetStream = s.jetStreamVarz()
	return v
}

// SubszOptions select /subsz output.
type SubszOptions struct {
	Subs          bool
	Offset, Limit int
	Test          string
	Account       string
}

// Subsz is the /subsz response.
type Subsz struct {
	ID           string      `json:"server_id"`
	Now          time.Time   `json:"now"`
	NumSubs      uint32      `json:"num_subscriptions"`
	NumCache     uint32      `json:"num_cache"`
	NumInserts   uint64      `json:"num_inserts"`
	NumRemoves   uint64      `json:"num_removes"`
	NumMatches   uint64      `json:"num_matches"`
	CacheHitRate float64     `json:"cache_hit_rate"`
	MaxFanout    uint32      `json:"max_fanout"`
	AvgFanout    float64     `json:"avg_fanout"`
	Total        int         `json:"total"`
	Offset       int         `json:"offset"`
	Limit        int         `json:"limit"`
	Subs         []SubDetail `json:"subscriptions_list,omitempty"`
}

// Subsz reports subscription statistics, summed over accounts, as /subsz does.
func (s *Server) Subsz(options SubszOptions) *Subsz {
	if options.Limit <= 0 {
		options.Limit = connzLimitDefault
	}
	z := &Subsz{ID: s.id, Now: s.env.Clock.Now(), Offset: options.Offset, Limit: options.Limit}
	s.mu.Lock()
	var accounts []*Account
	for _, name := range s.sortedAccountNamesLocked() {
		if options.Account == "" || options.Account == name {
			accounts = append(accounts, s.accounts[name])
		}
	}
	clients := s.sortedClientsLocked()
	s.mu.Unlock()
	var misses uint64
	for _, a := range accounts {
		stats := a.sublist.Stats()
		z.NumSubs += uint32(stats.Subscriptions)
		z.NumCache += uint32(stats.CacheEntries)
		z.NumInserts += stats.Inserts
		z.NumRemoves += stats.Removes
		misses += stats.CacheMisses
	}
	// Every inbound message is one match; the sublist counts only the misses.
	z.NumMatches = uint64(s.inMsgs.Load())
	if z.NumMatches > misses {
		z.CacheHitRate = float64(z.NumMatches-misses) / float64(z.NumMatches)
	}
	if options.Subs {
		var details []SubDetail
		for _, c := range clients {
			info := c.connInfo(false, connzSubsDetail)
			account := accountOrGlobal(info.Account)
			if options.Account != "" && account != options.Account {
				continue
			}
			for _, detail := range info.SubsDetail {
				// The reference tags each subscription with its account's name tag,
				// which is the account name without JWTs.
				detail.Account, detail.AccountTag = account, account
				if options.Test != "" && !subject.MatchesFilter(options.Test, detail.Subject) {
					continue
				}
				details = append(details, detail)
			}
		}
		z.Total = len(details)
		if options.Offset < len(details) {
			details = details[options.Offset:]
		} else {
			details = nil
		}
		if len(details) > options.Limit {
			details = details[:options.Limit]
		}
		z.Subs = details
	}
	return z
}

// HealthStatus is the /healthz response.
type HealthStatus struct {
	Status     string         `json:"status"`
	StatusCode int            `json:"status_code,omitempty"`
	Error      string         `json:"error,omitempty"`
	Errors     []HealthzError `json:"errors,omitempty"`
}

// Healthz reports whether the server accepts clients.
func (s *Server) Healthz() *HealthStatus {
	if !s.Running() {
		return &HealthStatus{Status: "unavailable", StatusCode: 503, Error: "server not running"}
	}
	// The reference leaves status_code out of a healthy answer.
	return &HealthStatus{Status: "ok"}
}

// Accountz is the /accountz response.
type Accountz struct {
	ID            string       `json:"server_id"`
	Now           time.Time    `json:"now"`
	SystemAccount string       `json:"system_account,omitempty"`
	Accounts      []string     `json:"accounts,omitempty"`
	Account       *AccountInfo `json:"account_detail,omitempty"`
}

// AccountInfo details one account in /accountz?acc=NAME.
type AccountInfo struct {
	Name       string        `json:"account_name"`
	LastUpdate time.Time     `json:"update_time,omitempty"`
	IsSystem   bool          `json:"is_system,omitempty"`
	Expired    bool          `json:"expired"`
	Complete   bool          `json:"complete"`
	JetStream  bool          `json:"jetstream_enabled"`
	LeafCount  int           `json:"leafnode_connections"`
	ClientCnt  int           `json:"client_connections"`
	SubCnt     uint32        `json:"subscriptions"`
	Exports    []ExtExport   `json:"exports,omitempty"`
	Imports    []ExtImport   `json:"imports,omitempty"`
	NameTag    string        `json:"name_tag,omitempty"`
	Sublist    *SublistStats `json:"sublist_stats,omitempty"`
}

// ExtExport is one export in /accountz?acc=NAME, with the JWT export's field names.
type ExtExport struct {
	Subject          string   `json:"subject,omitempty"`
	Type             string   `json:"type,omitempty"`
	ResponseType     string   `json:"response_type,omitempty"`
	ApprovedAccounts []string `json:"approved_accounts,omitempty"`
}

// ExtImport is one import in /accountz?acc=NAME, with the JWT import's field names.
// Subject is the subject in the exporting account, LocalSubject (and its deprecated
// twin To, for services) the one in the importing account.
type ExtImport struct {
	Subject      string `json:"subject,omitempty"`
	Account      string `json:"account,omitempty"`
	To           string `json:"to,omitempty"`
	LocalSubject string `json:"local_subject,omitempty"`
	Type         string `json:"type,omitempty"`
	Invalid      bool   `json:"invalid"`
	Share        bool   `json:"share"`
	Tracking     bool   `json:"tracking"`
}

// SublistStats is an account's subscription table statistics in /accountz.
type SublistStats struct {
	NumSubs      uint32  `json:"num_subscriptions"`
	NumCache     uint32  `json:"num_cache"`
	NumInserts   uint64  `json:"num_inserts"`
	NumRemoves   uint64  `json:"num_removes"`
	NumMatches   uint64  `json:"num_matches"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	MaxFanout    uint32  `json:"max_fanout"`
	AvgFanout    float64 `json:"avg_fanout"`
}

// accountExportsAndImports lists an account's configured exports and imports in
// config order, as /accountz shows them.
func accountExportsAndImports(configured *opts.Account) ([]ExtExport, []ExtImport) {
	if configured == nil {
		return nil, nil
	}
	var exports []ExtExport
	for _, e := range configured.Exports {
		export := ExtExport{Subject: e.Subject, Type: "stream", ApprovedAccounts: slices.Clone(e.Accounts)}
		if e.Service {
			export.Type = "service"
			export.ResponseType = string(e.ResponseType)
			if export.ResponseType == "" {
				export.ResponseType = string(opts.ResponseTypeSingleton)
			}
		}
		exports = append(exports, export)
	}
	var imports []ExtImport
	for _, i := range configured.Imports {
		local := i.To
		if !i.Service && i.Prefix != "" {
			local = i.Prefix + "." + i.Subject
		}
		if local == "" {
			local = i.Subject
		}
		imported := ExtImport{Subject: i.Subject, Account: i.Account, LocalSubject: local, Type: "stream", Share: i.Share}
		if i.Service {
			imported.Type, imported.To = "service", local
		}
		imports = append(imports, imported)
	}
	return exports, imports
}

// Accountz lists accounts, or details one.
func (s *Server) Accountz(account string) (*Accountz, error) {
	now := s.env.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	z := &Accountz{ID: s.id, Now: now}
	if s.systemAccount != nil {
		z.SystemAccount = s.systemAccount.Name
	}
	if account == "" {
		z.Accounts = s.sortedAccountNamesLocked()
		return z, nil
	}
	a := s.accounts[account]
	if a == nil {
		return nil, fmt.Errorf("Account %s does not exist", account)
	}
	a.mu.Lock()
	connections := a.connections
	a.mu.Unlock()
	stats := a.sublist.Stats()
	z.Account = &AccountInfo{Name: a.Name, LastUpdate: s.configTime, IsSystem: a == s.systemAccount,
		Complete: true, ClientCnt: connections, SubCnt: uint32(a.sublist.Count()), NameTag: cmp.Or(a.nameTag, a.Name),
		Sublist: &SublistStats{NumSubs: uint32(stats.Subscriptions), NumCache: uint32(stats.CacheEntries),
			NumInserts: stats.Inserts, NumRemoves: stats.Removes}}
	for _, configured := range s.options.Accounts {
		if configured.Name == a.Name {
			z.Account.Exports, z.Account.Imports = accountExportsAndImports(configured)
			break
		}
	}
	return z, nil
}

// accountOrGlobal names the global account where ConnInfo leaves the name out.
func accountOrGlobal(name string) string {
	if name == "" {
		return opts.DefaultGlobalAccount
	}
	return name
}

// memoryInUse approximates the process's resident memory from the Go runtime: what it
// has mapped minus what it has returned to the operating system. The reference reads
// the operating system's RSS, which node/ may not touch.
func memoryInUse() int64 {
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(samples)
	if samples[0].Value.Kind() != metrics.KindUint64 || samples[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(samples[0].Value.Uint64() - samples[1].Value.Uint64())
}
