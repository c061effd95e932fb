package node

import "slices"

// jetStreamAPIPrefix starts every JetStream API subject.
const jetStreamAPIPrefix = "$JS.API.>"

// jetStreamNotEnabled is the reference's JSNotEnabledForAccountErr as an API response.
const jetStreamNotEnabled = `{"type":"io.nats.jetstream.api.v1.account_info_response",` +
	`"error":{"code":503,"err_code":10039,"description":"jetstream not enabled for account"}}`

// startJetStreamUnavailable answers JetStream API requests with the reference's
// "jetstream not enabled for account" error when the options ask for JetStream, which
// this server does not have yet: clients then fail at once with a clear error instead
// of timing out. The JetStream implementation replaces this.
func (s *Server) startJetStreamUnavailable() {
	s.mu.Lock()
	if !s.options.JetStream {
		s.mu.Unlock()
		return
	}
	var accounts []*Account
	for _, name := range s.sortedAccountNamesLocked() {
		if account := s.accounts[name]; account != s.systemAccount {
			accounts = append(accounts, account)
		}
	}
	s.mu.Unlock()
	response := []byte(jetStreamNotEnabled)
	handler := func(publisher *clientConn, pub publication, set *flushSet) {
		if len(pub.reply) == 0 {
			return
		}
		reply := publication{subject: slices.Clone(pub.reply), headerBytes: -1, message: response}
		publisher.route(publisher.account, &reply, set)
	}
	for _, account := range accounts {
		_ = account.sublist.Insert(jetStreamAPIPrefix, "", &subscription{subject: jetStreamAPIPrefix, internal: handler})
	}
}
