package node

import (
	"fmt"

	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
)

// Reload applies new options to a running server without dropping connections: the
// authorization (users, nkeys, token, no_auth_user, new accounts and permissions) and
// the limits (max_payload, max_control_line, max_pending, max_subscriptions,
// max_connections, ping_interval, ping_max). Listen addresses and the rest are kept as
// they were. Clients whose credentials no longer authenticate are closed with
// "Authorization Violation", as the reference does.
func (s *Server) Reload(newOptions *opts.Options) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	o := *newOptions
	o.SetDefaults()
	base := o
	trust, err := loadOperatorTrust(s.env.FS, s.env.Clock, &o, s.logger, false)
	if err != nil {
		return err
	}
	trust.apply(&o)
	s.mu.Lock()
	old := s.options
	// What cannot change at run time keeps its value.
	o.Host, o.Port, o.HTTPHost, o.HTTPPort = old.Host, old.Port, old.HTTPHost, old.HTTPPort
	accounts := s.accounts
	for _, configured := range o.Accounts {
		if accounts[configured.Name] == nil {
			accounts[configured.Name] = newAccount(configured.Name, o.NoSublistCache)
			accounts[configured.Name].nameTag = configured.NameTag
		}
		accounts[configured.Name].setLimits(configured.Limits)
		accounts[configured.Name].setMappings(compileMappings(configured.Mappings, s.logger))
	}
	s.globalAccount.setMappings(compileMappings(o.Mappings, s.logger))
	if err := linkImports(&o, accounts); err != nil {
		s.mu.Unlock()
		return err
	}
	auth, err := buildAuth(&o, accounts, s.globalAccount, trust)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	// New certificates, CAs and TLS settings apply to new connections.
	tlsConfig, err := serverTLSConfig(s.env.FS, &o)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.tlsConfig = tlsConfig
	s.options = &o
	s.baseOptions = &base
	s.auth = auth
	s.tracing.Store(o.Trace)
	s.configTime = s.env.Clock.Now()
	s.rebuildInfoLocked()
	clients := s.sortedClientsLocked()
	s.mu.Unlock()

	for _, c := range clients {
		c.applyReload(&o, auth)
	}
	s.enforceConnectionLimits(&o, clients)
	s.syncJetStreamAccounts(&o)
	s.logger.Noticef("Reloaded server configuration")
	return nil
}

// applyReload updates one connection's limits and re-checks its credentials.
func (c *clientConn) applyReload(o *opts.Options, auth *authConfig) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.pendingMax.Store(o.MaxPending)
	connectOptions := c.options
	user := c.user
	nonce := c.nonce
	authenticated := c.connectReceived
	c.mu.Unlock()
	// The parser belongs to the reading side, but its limits are plain values read at
	// the start of each operation; a reload racing one read at worst applies from the
	// next operation.
	c.setParserLimits(client.Limits{ControlLineBytesMax: int(o.MaxControlLine), PayloadBytesMax: int(o.MaxPayload)})
	if !auth.required() || (user == nil && !authenticated) {
		return
	}
	renewed := c.authenticate(auth, &connectOptions, nonce, o.TLSMap)
	c.mu.Lock()
	bound := c.account
	c.mu.Unlock()
	if renewed != nil && bound != nil && renewed.account != bound {
		// The credentials now name another account: the connection does not move.
		renewed = nil
	}
	if renewed == nil {
		reason, text := reasonAuthenticationFailure, errAuthorizationViolation
		if auth.trust != nil && user != nil {
			reason, text = auth.trust.refusal(user, reason, text)
		}
		c.closeConnection(reason, text)
		return
	}
	c.mu.Lock()
	c.user = renewed
	// Subscriptions the new permissions no longer allow are removed and reported,
	// naming their sid, as the reference does on reload.
	var removed []*subscription
	for _, sub := range sortedSubs(c.subs) {
		if !renewed.permissions.canSubscribe(sub.subject, sub.queue) {
			removed = append(removed, sub)
			delete(c.subs, string(sub.sid))
			text := fmt.Sprintf("Permissions Violation for Subscription to %q (sid %q)", sub.subject, string(sub.sid))
			if sub.queue != "" {
				text = fmt.Sprintf("Permissions Violation for Subscription to %q using queue %q (sid %q)", sub.subject, sub.queue, string(sub.sid))
			}
			c.out = client.AppendErr(c.out, text)
		}
	}
	account := c.account
	c.mu.Unlock()
	c.permissionCacheReset.Store(true)
	for _, sub := range removed {
		_ = account.sublist.Remove(sub.subject, sub.queue, sub)
		c.server.subscriptionChanged(account, sub.subject, sub.queue)
		c.server.logger.Noticef("Removed sub %q (sid %q) for %q - not authorized", sub.subject, string(sub.sid), renewed.name)
	}
	if len(removed) > 0 {
		c.flushOut()
	}
}

// enforceConnectionLimits closes the newest connections beyond a lowered
// max_connections, or beyond an account's lowered limit, as the reference does.
func (s *Server) enforceConnectionLimits(o *opts.Options, clients []*clientConn) {
	open := clients[:0:0]
	for _, c := range clients {
		c.mu.Lock()
		if !c.closed {
			open = append(open, c)
		}
		c.mu.Unlock()
	}
	if o.MaxConn > 0 && len(open) > o.MaxConn {
		for _, c := range open[o.MaxConn:] {
			c.closeConnection(reasonMaxConnections, "maximum connections exceeded")
		}
		open = open[:o.MaxConn]
	}
	perAccount := make(map[*Account]int)
	for _, c := range open {
		c.mu.Lock()
		account := c.account
		c.mu.Unlock()
		if account == nil {
			continue
		}
		perAccount[account]++
		if limit := account.limitsNow().MaxConnections; limit > 0 && perAccount[account] > limit {
			c.closeConnection(reasonMaxAccountConnections, "maximum account active connections exceeded")
		}
	}
}
