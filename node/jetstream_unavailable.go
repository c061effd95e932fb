package node

import "slices"

// jetStreamAPIPrefix starts every JetStream API subject.
const jetStreamAPIPrefix = "$JS.API.>"

// jetStreamNotEnabled is the reference's JSNotEnabledForAccountErr as an API response.
const jetStreamNotEnabled = `{"type":"io.nats.jetstream.api.v1.account_info_response",` +
	`"error":{"code":503,"err_code":10039,"description":"jetstream not enabled for account"}}`

// answerJetStreamNotEnabled answers an account's JetStream API requests with the
// reference's "jetstream not enabled for account" error, so that its clients fail at
// once with a clear error instead of timing out: JetStream runs on the server but
// this account (the system account, or one the options leave out) has none.
func (s *Server) answerJetStreamNotEnabled(account *Account) {
	response := []byte(jetStreamNotEnabled)
	handler := func(publisher *clientConn, pub publication, set *flushSet) {
		if len(pub.reply) == 0 {
			return
		}
		reply := publication{subject: slices.Clone(pub.reply), headerBytes: -1, message: response}
		publisher.route(account, &reply, set)
	}
	_ = account.sublist.Insert(jetStreamAPIPrefix, "", &subscription{subject: jetStreamAPIPrefix, internal: handler})
}
