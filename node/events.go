package node

import (
	"encoding/json"
	"time"
)

// System events.
//
// The server publishes the reference's events in the system account: a client's
// connect and disconnect on $SYS.ACCOUNT.<account>.CONNECT and .DISCONNECT, a failed
// authentication on $SYS.SERVER.<id>.CLIENT.AUTH.ERR (and the account $G's
// DISCONNECT), its statistics on $SYS.SERVER.<id>.STATSZ while someone listens
// (after 250ms, then at doubling gaps up to 10s), and its own SHUTDOWN and LAMEDUCK
// there. Events are queued and sent in order by one task, so a connect or close never
// waits for the system account's subscribers; an event nobody subscribes to is not
// built. Every message the server publishes this way carries the next value of one
// sequence in its server object, as in the reference.

// The event types and subjects.
const (
	connectEventType    = "io.nats.server.advisory.v1.client_connect"
	disconnectEventType = "io.nats.server.advisory.v1.client_disconnect"
	accountEventPrefix  = "$SYS.ACCOUNT."
	serverEventPrefix   = "$SYS.SERVER."
)

// statszIntervalMin and statszIntervalMax bound the gap between STATSZ events: the
// first comes statszIntervalMin after the server starts, and each gap doubles up to
// statszIntervalMax.
const (
	statszIntervalMin = 250 * time.Millisecond
	statszIntervalMax = 10 * time.Second
)

// TypedEvent starts every advisory.
type TypedEvent struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
}

// EventClientInfo describes a client in connect and disconnect events.
type EventClientInfo struct {
	Start      time.Time  `json:"start"`
	Host       string     `json:"host,omitempty"`
	ID         uint64     `json:"id"`
	Account    string     `json:"acc,omitempty"`
	User       string     `json:"user,omitempty"`
	Name       string     `json:"name,omitempty"`
	Lang       string     `json:"lang,omitempty"`
	Version    string     `json:"ver,omitempty"`
	RTT        int64      `json:"rtt,omitempty"`
	Stop       *time.Time `json:"stop,omitempty"`
	JWT        string     `json:"jwt,omitempty"`
	IssuerKey  string     `json:"issuer_key,omitempty"`
	NameTag    string     `json:"name_tag,omitempty"`
	Tags       []string   `json:"tags,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	ClientType string     `json:"client_type,omitempty"`
}

// ConnectEventMsg is a client's connect event.
type ConnectEventMsg struct {
	TypedEvent
	Server *ServerInfo      `json:"server"`
	Client *EventClientInfo `json:"client"`
}

// DisconnectEventMsg is a client's disconnect (or failed authentication) event.
type DisconnectEventMsg struct {
	TypedEvent
	Server   *ServerInfo      `json:"server"`
	Client   *EventClientInfo `json:"client"`
	Sent     MsgBytes         `json:"sent"`
	Received MsgBytes         `json:"received"`
	Reason   string           `json:"reason"`
}

// systemEvent is a queued event: its subject and payload.
type systemEvent struct {
	subject string
	payload []byte
}

// wantsEvent reports whether anyone in the system account subscribes to subject.
func (s *Server) wantsEvent(subject string) bool {
	s.mu.Lock()
	system := s.systemAccount
	s.mu.Unlock()
	if system == nil {
		return false
	}
	result := system.sublist.Match(subject)
	return len(result.Plain) > 0 || len(result.Queues) > 0
}

// queueEvent queues an event for the events task.
func (s *Server) queueEvent(subject string, payload any) {
	data, err := json.Marshal(payload)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.eventsStopped {
		// Nothing follows SHUTDOWN, as in the reference.
		s.mu.Unlock()
		return
	}
	s.eventQueue = append(s.eventQueue, systemEvent{subject: subject, payload: data})
	start := !s.eventsRunning
	s.eventsRunning = true
	s.mu.Unlock()
	if start {
		s.env.Tasks.Go(s.runEvents)
	}
}

// runEvents is the events task: it sends the queued events in order until none is
// left.
func (s *Server) runEvents() { s.sendQueuedEvents(true) }

// flushEvents sends what is queued now, from the caller (Shutdown: the events must
// go before the connections do).
func (s *Server) flushEvents() { s.sendQueuedEvents(false) }

// sendQueuedEvents sends the queued events in order; the events task (task) marks
// itself done when the queue is empty.
func (s *Server) sendQueuedEvents(task bool) {
	s.eventsSendMu.Lock()
	defer s.eventsSendMu.Unlock()
	for {
		s.mu.Lock()
		if len(s.eventQueue) == 0 {
			if task {
				s.eventsRunning = false
			}
			s.mu.Unlock()
			return
		}
		event := s.eventQueue[0]
		s.eventQueue = s.eventQueue[1:]
		s.mu.Unlock()
		s.systemReply(event.subject, event.payload)
	}
}

// newEventID returns a 22-character event id from the env's randomness.
func (s *Server) newEventID() string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var raw [22]byte
	_, _ = s.env.Rand.Read(raw[:])
	for i, b := range raw {
		raw[i] = digits[int(b)%len(digits)]
	}
	return string(raw[:])
}

// eventClientInfo describes c for an event; stopped adds its close time.
func (c *clientConn) eventClientInfo(user string, stopped bool) *EventClientInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := &EventClientInfo{Start: c.start.UTC(), Host: c.host, ID: c.id, User: user,
		Name: c.options.Name, Lang: c.options.Lang, Version: c.options.Version,
		Kind: "Client", ClientType: connectionType(c.conn)}
	account := c.account
	if account == nil {
		account = c.server.globalAccountForEvents()
	}
	if account != nil {
		info.Account = account.Name
		info.NameTag = account.Name
		if account.nameTag != "" {
			info.NameTag = account.nameTag
		}
	}
	if c.user != nil {
		info.JWT, info.IssuerKey, info.Tags = c.user.jwt, c.user.issuerKey, c.user.tags
		if info.User == "" {
			info.User = c.user.name
		}
	}
	if c.rtt > 0 {
		info.RTT = int64(c.rtt)
	}
	if stopped {
		stop := c.stopTime.UTC()
		if stop.IsZero() {
			stop = c.server.env.Clock.Now().UTC()
		}
		info.Stop = &stop
	}
	return info
}

// globalAccountForEvents returns the global account, which names a client that never
// authenticated.
func (s *Server) globalAccountForEvents() *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.globalAccount
}

// sendConnectEvent publishes a client's connect event.
func (s *Server) sendConnectEvent(c *clientConn) {
	c.mu.Lock()
	account := c.account
	c.mu.Unlock()
	if account == nil {
		return
	}
	s.accountConnsChanged(account)
	subject := accountEventPrefix + account.Name + ".CONNECT"
	if !s.wantsEvent(subject) {
		return
	}
	now := s.env.Clock.Now().UTC()
	s.queueEvent(subject, &ConnectEventMsg{
		TypedEvent: TypedEvent{Type: connectEventType, ID: s.newEventID(), Timestamp: now},
		Server:     s.eventServerInfo(),
		Client:     c.eventClientInfo("", false),
	})
}

// sendDisconnectEvent publishes a connected client's disconnect event.
func (s *Server) sendDisconnectEvent(c *clientConn, account *Account, reason string) {
	s.accountConnsChanged(account)
	subject := accountEventPrefix + account.Name + ".DISCONNECT"
	if !s.wantsEvent(subject) {
		return
	}
	c.mu.Lock()
	sent := MsgBytes{Msgs: c.inMsgs, Bytes: c.inBytes}
	received := MsgBytes{Msgs: c.outMsgs, Bytes: c.outBytes}
	c.mu.Unlock()
	s.queueEvent(subject, &DisconnectEventMsg{
		TypedEvent: TypedEvent{Type: disconnectEventType, ID: s.newEventID(), Timestamp: s.env.Clock.Now().UTC()},
		Server:     s.eventServerInfo(),
		Client:     c.eventClientInfo("", true),
		Sent:       sent, Received: received, Reason: reason,
	})
}

// sendAuthErrorEvent publishes a failed authentication: on the server's
// CLIENT.AUTH.ERR subject and as a disconnect in the global account, naming the user
// the client gave.
func (s *Server) sendAuthErrorEvent(c *clientConn, user string) {
	authSubject := serverEventPrefix + s.id + ".CLIENT.AUTH.ERR"
	global := s.globalAccountForEvents()
	if global == nil {
		return
	}
	disconnectSubject := accountEventPrefix + global.Name + ".DISCONNECT"
	for _, subject := range []string{authSubject, disconnectSubject} {
		if !s.wantsEvent(subject) {
			continue
		}
		s.queueEvent(subject, &DisconnectEventMsg{
			TypedEvent: TypedEvent{Type: disconnectEventType, ID: s.newEventID(), Timestamp: s.env.Clock.Now().UTC()},
			Server:     s.eventServerInfo(),
			Client:     c.eventClientInfo(user, true),
			Reason:     reasonAuthenticationFailure,
		})
	}
}

// sendServerEvent publishes the server object on $SYS.SERVER.<id>.<name> (SHUTDOWN,
// LAMEDUCK).
func (s *Server) sendServerEvent(name string) {
	subject := serverEventPrefix + s.id + "." + name
	if s.wantsEvent(subject) {
		s.queueEvent(subject, s.eventServerInfo())
	}
}

// eventServerInfo is serverInfo with the next event sequence.
func (s *Server) eventServerInfo() *ServerInfo {
	info := s.serverInfo()
	info.Seq = s.eventSeq.Add(1)
	return info
}

// startStatsz arms the periodic STATSZ event.
func (s *Server) startStatsz() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.systemAccount == nil {
		return
	}
	s.statszInterval = statszIntervalMin
	s.statszTimer = s.env.Clock.AfterFunc(s.statszInterval, s.sendStatsz)
}

// sendStatsz publishes STATSZ when someone listens, and arms the next one.
func (s *Server) sendStatsz() {
	subject := serverEventPrefix + s.id + ".STATSZ"
	s.mu.Lock()
	stopping := s.shuttingDown
	s.mu.Unlock()
	if !stopping && s.wantsEvent(subject) {
		msg := s.statsz()
		msg.Server.Seq = s.eventSeq.Add(1)
		s.queueEvent(subject, msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown || s.statszTimer == nil {
		return
	}
	s.statszInterval = min(2*s.statszInterval, statszIntervalMax)
	s.statszTimer.Reset(s.statszInterval)
}

// accountConnsType is the account connection count event's type.
const accountConnsType = "io.nats.server.advisory.v1.account_connections"

// accountConnsHeartbeat is how often an account with connections repeats its count
// when nothing changes.
const accountConnsHeartbeat = 30 * time.Second

// DataStats counts messages and bytes, with the (here always zero) shares of
// gateways, routes and leaf nodes.
type DataStats struct {
	MsgBytes
	Gateways MsgBytes `json:"gateways"`
	Routes   MsgBytes `json:"routes"`
	Leafs    MsgBytes `json:"leafs"`
}

// AccountStat is an account's connections and traffic on this server.
type AccountStat struct {
	Account       string    `json:"acc"`
	Name          string    `json:"name"`
	Conns         int       `json:"conns"`
	LeafNodes     int       `json:"leafnodes"`
	TotalConns    int       `json:"total_conns"`
	NumSubs       uint32    `json:"num_subscriptions"`
	Sent          DataStats `json:"sent"`
	Received      DataStats `json:"received"`
	SlowConsumers int64     `json:"slow_consumers"`
}

// AccountNumConns is the account connection count event (and CONNS reply).
type AccountNumConns struct {
	TypedEvent
	Server *ServerInfo `json:"server"`
	AccountStat
}

// accountStat gathers an account's statistics: its live connections' traffic plus
// what its closed ones left (sent is what the server sent its clients, received what
// it received from them).
func (s *Server) accountStat(account *Account) AccountStat {
	s.mu.Lock()
	clients := s.sortedClientsLocked()
	s.mu.Unlock()
	var in, out MsgBytes
	for _, c := range clients {
		c.mu.Lock()
		if c.account == account && !c.closed {
			in.Msgs += c.inMsgs
			in.Bytes += c.inBytes
			out.Msgs += c.outMsgs
			out.Bytes += c.outBytes
		}
		c.mu.Unlock()
	}
	account.mu.Lock()
	stat := AccountStat{Account: account.Name, Name: account.Name, Conns: account.connections, TotalConns: account.connections,
		NumSubs: uint32(account.sublist.Count()), SlowConsumers: account.slowConsumers}
	in.Msgs += account.closedIn.Msgs
	in.Bytes += account.closedIn.Bytes
	out.Msgs += account.closedOut.Msgs
	out.Bytes += account.closedOut.Bytes
	account.mu.Unlock()
	if account.nameTag != "" {
		stat.Name = account.nameTag
	}
	stat.Sent.MsgBytes, stat.Received.MsgBytes = out, in
	return stat
}

// accountConnsSubjects are the two subjects of an account's connection count.
func accountConnsSubjects(account *Account) [2]string {
	return [2]string{serverEventPrefix + "ACCOUNT." + account.Name + ".CONNS", accountEventPrefix + account.Name + ".SERVER.CONNS"}
}

// accountConnsChanged publishes an account's connection count after a connect or a
// disconnect (not for the global account, as the reference), and re-arms its
// heartbeat.
func (s *Server) accountConnsChanged(account *Account) {
	if account == s.globalAccountForEvents() {
		return
	}
	s.sendAccountConns(account)
	account.mu.Lock()
	defer account.mu.Unlock()
	switch {
	case account.connections > 0 && account.connsTimer == nil:
		account.connsTimer = s.env.Clock.AfterFunc(accountConnsHeartbeat, func() { s.accountConnsHeartbeat(account) })
	case account.connections > 0:
		account.connsTimer.Reset(accountConnsHeartbeat)
	case account.connsTimer != nil:
		account.connsTimer.Stop()
	}
}

// accountConnsHeartbeat repeats an account's count while it has connections.
func (s *Server) accountConnsHeartbeat(account *Account) {
	account.mu.Lock()
	connected := account.connections > 0
	account.mu.Unlock()
	s.mu.Lock()
	stopping := s.shuttingDown
	s.mu.Unlock()
	if !connected || stopping {
		return
	}
	s.sendAccountConns(account)
	account.mu.Lock()
	if account.connsTimer != nil {
		account.connsTimer.Reset(accountConnsHeartbeat)
	}
	account.mu.Unlock()
}

// sendAccountConns publishes an account's count on both its subjects, with one id
// and timestamp.
func (s *Server) sendAccountConns(account *Account) {
	subjects := accountConnsSubjects(account)
	if !s.wantsEvent(subjects[0]) && !s.wantsEvent(subjects[1]) {
		return
	}
	event := TypedEvent{Type: accountConnsType, ID: s.newEventID(), Timestamp: s.env.Clock.Now().UTC()}
	stat := s.accountStat(account)
	for _, subject := range subjects {
		s.queueEvent(subject, &AccountNumConns{TypedEvent: event, Server: s.eventServerInfo(), AccountStat: stat})
	}
}

// Account requests: $SYS.REQ.ACCOUNT.<account>.<X> from the system account.
const accountRequestPattern = "$SYS.REQ.ACCOUNT.*."

// accountRequests are the account-scoped requests, by their last token.
var accountRequests = map[string]func(s *Server, account *Account, body []byte) any{
	"CONNZ": func(s *Server, account *Account, body []byte) any {
		request := map[string]any{}
		if err := decodeOptional(body, &request); err != nil {
			return s.wrapResponse(nil, err)
		}
		request["acc"] = account.Name
		forced, _ := json.Marshal(request)
		response, _ := connzRequest(s, forced)
		return response
	},
	"SUBSZ": func(s *Server, account *Account, body []byte) any {
		var request struct {
			Offset int    `json:"offset"`
			Limit  int    `json:"limit"`
			Test   string `json:"test"`
		}
		if err := decodeOptional(body, &request); err != nil {
			return s.wrapResponse(nil, err)
		}
		return s.wrapResponse(s.Subsz(SubszOptions{Subs: true, Offset: request.Offset, Limit: request.Limit,
			Test: request.Test, Account: account.Name}), nil)
	},
	"STATZ": func(s *Server, account *Account, _ []byte) any {
		return s.wrapResponse(&AccountStatz{ID: s.id, Now: s.env.Clock.Now().UTC(), Accounts: []AccountStat{s.accountStat(account)}}, nil)
	},
	"CONNS": func(s *Server, account *Account, _ []byte) any {
		return &AccountNumConns{TypedEvent: TypedEvent{Type: accountConnsType, ID: s.newEventID(), Timestamp: s.env.Clock.Now().UTC()},
			Server: s.eventServerInfo(), AccountStat: s.accountStat(account)}
	},
}

// AccountStatz is the STATZ reply of account requests.
type AccountStatz struct {
	ID       string        `json:"server_id"`
	Now      time.Time     `json:"now"`
	Accounts []AccountStat `json:"account_statz"`
}

// startAccountRequests subscribes the system account to the account requests, and
// to $SYS.REQ.ACCOUNT.PING.STATZ (every account with connections).
func (s *Server) startAccountRequests() {
	s.mu.Lock()
	system := s.systemAccount
	s.mu.Unlock()
	if system == nil {
		return
	}
	names := make([]string, 0, len(accountRequests))
	for name := range accountRequests {
		names = append(names, name)
	}
	sortStrings(names)
	for _, name := range names {
		subject := accountRequestPattern + name
		handler := accountRequests[name]
		_ = system.sublist.Insert(subject, "", &subscription{subject: subject, internal: func(publisher *clientConn, pub publication, set *flushSet) {
			if len(pub.reply) == 0 {
				return
			}
			body := pub.message
			if pub.headerBytes > 0 {
				body = body[pub.headerBytes:]
			}
			target := accountOfRequest(string(pub.subject))
			var response any
			if target == "PING" {
				if name != "STATZ" {
					return
				}
				response = s.wrapResponse(&AccountStatz{ID: s.id, Now: s.env.Clock.Now().UTC(), Accounts: s.activeAccountStats()}, nil)
			} else {
				account := s.lookupAccount(target)
				if account == nil {
					return
				}
				response = handler(s, account, body)
			}
			data, err := json.Marshal(response)
			if err != nil {
				return
			}
			reply := publication{subject: append([]byte(nil), pub.reply...), headerBytes: -1, message: data}
			publisher.route(system, &reply, set)
		}})
	}
}

// activeAccountStats returns the statistics of the accounts with connections, by name.
func (s *Server) activeAccountStats() []AccountStat {
	s.mu.Lock()
	var accounts []*Account
	for _, name := range s.sortedAccountNamesLocked() {
		accounts = append(accounts, s.accounts[name])
	}
	s.mu.Unlock()
	stats := []AccountStat{}
	for _, account := range accounts {
		account.mu.Lock()
		connected := account.connections > 0
		account.mu.Unlock()
		if connected {
			stats = append(stats, s.accountStat(account))
		}
	}
	return stats
}
