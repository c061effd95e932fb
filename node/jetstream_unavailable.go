package node

import (
	"slices"

	"github.com/natsim/natsim/proto/jsapi"
)

// jetStreamAPIPrefix starts every JetStream API subject.
const jetStreamAPIPrefix = "$JS.API.>"

// answerJetStreamNotEnabled answers an account's JetStream API requests with the
// reference's "JetStream not enabled for account" error in the operation's response
// type, so that its clients fail at once with a clear error instead of timing out:
// JetStream runs on the server but this account (the system account, or one the
// options leave out) has none. As in the reference, an account that imports
// $JS.API.INFO from another account gets no such answers at all (it uses another
// account's JetStream through imports, and what it does not import gets "no
// responders"), and direct gets are never answered.
func (s *Server) answerJetStreamNotEnabled(account *Account) {
	if mostSpecificServiceImport(account.serviceImports(), jsapi.AccountInfoSubject) != nil {
		return
	}
	handler := func(publisher *clientConn, pub publication, set *flushSet) {
		if len(pub.reply) == 0 {
			return
		}
		op, _, ok := jsapi.ParseSubject(string(pub.subject))
		if !ok || op == jsapi.OpDirectGet || op == jsapi.OpDirectGetLastBySubject {
			return
		}
		response := jsapi.MarshalResponse(&jsapi.Response{Type: op.ResponseType(), Error: jsapi.NewNotEnabledForAccountError()})
		reply := publication{subject: slices.Clone(pub.reply), headerBytes: -1, message: response}
		publisher.route(account, &reply, set)
	}
	sub := &subscription{subject: jetStreamAPIPrefix, internal: handler}
	if account.sublist.Insert(jetStreamAPIPrefix, "", sub) == nil {
		account.mu.Lock()
		account.jetStreamNotEnabled = sub
		account.mu.Unlock()
	}
}

// stopAnsweringJetStreamNotEnabled removes the answers of answerJetStreamNotEnabled,
// for an account that gets JetStream.
func (s *Server) stopAnsweringJetStreamNotEnabled(account *Account) {
	account.mu.Lock()
	sub := account.jetStreamNotEnabled
	account.jetStreamNotEnabled = nil
	account.mu.Unlock()
	if sub != nil {
		_ = account.sublist.Remove(jetStreamAPIPrefix, "", sub)
	}
}
