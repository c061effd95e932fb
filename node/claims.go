package node

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// Account claims requests.
//
// With a directory resolver (see resolver.go) the system account serves the
// reference's claims requests: an update stores an account JWT and applies it at
// once, a lookup answers the stored JWT, a list the stored account keys, and a delete
// (when allow_delete) removes accounts named in a JWT the operator signed. Requests
// are handled on a task, in the order they arrive: an update writes and syncs a file
// and reloads the accounts, which the publisher's goroutine should not wait for.

// The claims request subjects.
const (
	claimsUpdateSubject        = "$SYS.REQ.CLAIMS.UPDATE"
	claimsListSubject          = "$SYS.REQ.CLAIMS.LIST"
	claimsDeleteSubject        = "$SYS.REQ.CLAIMS.DELETE"
	accountClaimsUpdatePattern = "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE"
	accountClaimsLookupPattern = "$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP"
	accountRequestPrefix       = "$SYS.REQ.ACCOUNT."
	// accountClaimsNotifyPattern is the older update subject, published without a
	// reply; an update there is applied all the same.
	accountClaimsNotifyPattern = "$SYS.ACCOUNT.*.CLAIMS.UPDATE"
	accountNotifyPrefix        = "$SYS.ACCOUNT."
)

// claimsResponse is the reply to a claims update or delete.
type claimsResponse struct {
	Server *ServerInfo         `json:"server"`
	Data   *claimsResponseData `json:"data,omitempty"`
	Error  *claimsError        `json:"error,omitempty"`
}

type claimsResponseData struct {
	Account string `json:"account,omitempty"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type claimsError struct {
	Account     string `json:"account,omitempty"`
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// claimsListResponse is the reply to a claims list.
type claimsListResponse struct {
	Server *ServerInfo `json:"server"`
	Data   []string    `json:"data"`
}

// claimsRequest is one queued claims request.
type claimsRequest struct {
	subject string
	reply   string
	body    []byte
}

// startClaimsServices subscribes the system account to the claims requests when the
// server has a directory resolver.
func (s *Server) startClaimsServices() {
	s.mu.Lock()
	system := s.systemAccount
	resolver := s.claimsResolverLocked()
	s.mu.Unlock()
	if system == nil || resolver == nil {
		return
	}
	handler := func(_ *clientConn, pub publication, _ *flushSet) {
		body := pub.message
		if pub.headerBytes > 0 {
			body = body[pub.headerBytes:]
		}
		request := claimsRequest{subject: string(pub.subject), reply: string(pub.reply), body: slices.Clone(body)}
		s.mu.Lock()
		s.claimsQueue = append(s.claimsQueue, request)
		start := !s.claimsRunning
		s.claimsRunning = true
		s.mu.Unlock()
		if start {
			s.env.Tasks.Go(s.runClaimsRequests)
		}
	}
	subjects := []string{claimsUpdateSubject, claimsListSubject, claimsDeleteSubject, accountClaimsUpdatePattern, accountClaimsNotifyPattern}
	if !resolver.cache {
		// A cache resolver answers no lookups, as in the reference.
		subjects = append(subjects, accountClaimsLookupPattern)
	}
	for _, subject := range subjects {
		_ = system.sublist.Insert(subject, "", &subscription{subject: subject, internal: handler})
	}
}

// claimsResolverLocked returns the directory resolver of the current trust, or nil.
func (s *Server) claimsResolverLocked() *dirResolver {
	if s.auth == nil || s.auth.trust == nil {
		return nil
	}
	return s.auth.trust.resolver
}

// runClaimsRequests handles the queued claims requests in order.
func (s *Server) runClaimsRequests() {
	for {
		s.mu.Lock()
		if len(s.claimsQueue) == 0 {
			s.claimsRunning = false
			s.mu.Unlock()
			return
		}
		request := s.claimsQueue[0]
		s.claimsQueue = s.claimsQueue[1:]
		s.mu.Unlock()
		response := s.handleClaimsRequest(request)
		if request.reply != "" && response != nil {
			s.systemReply(request.reply, response)
		}
	}
}

// handleClaimsRequest serves one claims request and returns its reply's payload.
func (s *Server) handleClaimsRequest(request claimsRequest) []byte {
	s.mu.Lock()
	resolver := s.claimsResolverLocked()
	stopping := s.shuttingDown
	s.mu.Unlock()
	if resolver == nil || stopping {
		return nil
	}
	switch {
	case request.subject == claimsUpdateSubject:
		return s.claimsUpdate(resolver, "", request.body)
	case request.subject == claimsListSubject:
		return s.marshalClaims(&claimsListResponse{Data: s.listedAccounts(resolver)})
	case request.subject == claimsDeleteSubject:
		return s.claimsDelete(resolver, request.body)
	case strings.HasSuffix(request.subject, ".CLAIMS.UPDATE"):
		return s.claimsUpdate(resolver, accountOfRequest(request.subject), request.body)
	case strings.HasSuffix(request.subject, ".CLAIMS.LOOKUP"):
		account := accountOfRequest(request.subject)
		if !nkeys.IsValidPublicAccountKey(account) {
			// The reference answers nothing for a key that is not an account's.
			return nil
		}
		// An account not stored gets an empty answer.
		return []byte(resolver.get(account))
	}
	return nil
}

// listedAccounts returns the stored accounts whose JWT decodes and has not expired.
func (s *Server) listedAccounts(resolver *dirResolver) []string {
	stored, err := resolver.load()
	if err != nil {
		return []string{}
	}
	now := s.env.Clock.Now().Unix()
	keys := []string{}
	for key, token := range stored {
		claims, err := jwt.DecodeAccountClaims(token)
		if err != nil || claims.Expires > 0 && now >= claims.Expires {
			continue
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

// accountOfRequest returns the account token of a $SYS.REQ.ACCOUNT.<id>... or
// $SYS.ACCOUNT.<id>... subject.
func accountOfRequest(subject string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(subject, accountRequestPrefix), accountNotifyPrefix)
	id, _, _ := strings.Cut(rest, ".")
	return id
}

// claimsUpdate stores and applies an account JWT; account, when not empty, is the
// account the request's subject names. Unlike the reference, which stores any
// account JWT and answers "jwt updated" (and then cannot load an untrusted or expired
// one, also after a restart), a JWT this server would not load is refused with an
// error and the stored one is kept. As in the reference, an older JWT replaces a
// newer one, and a cache resolver only updates accounts it has loaded.
func (s *Server) claimsUpdate(resolver *dirResolver, account string, body []byte) []byte {
	failed := "jwt update resulted in error"
	updated := "jwt updated"
	if resolver.cache {
		failed, updated = "jwt update cache resulted in error", "jwt updated cache"
	}
	token := strings.TrimSpace(string(body))
	claims, err := jwt.DecodeAccountClaims(token)
	if err != nil {
		return s.claimsFailure(cmp.Or(account, "n/a"), failed, err)
	}
	if account == "" {
		account = claims.Subject
	} else if claims.Subject != account {
		return s.claimsFailure(account, failed, errors.New("subject does not match jwt content"))
	}
	s.mu.Lock()
	trust := s.auth.trust
	s.mu.Unlock()
	if trust == nil || trust.resolver != resolver {
		return s.claimsFailure(account, failed, errors.New("the account resolver changed"))
	}
	if resolver.cache && trust.accounts[account] == nil {
		return s.marshalClaims(&claimsResponse{Data: &claimsResponseData{Account: account, Code: 200, Message: "jwt update cache skipped"}})
	}
	if _, err := trust.checkAccountJWT(account, token); err != nil {
		return s.claimsFailure(account, failed, err)
	}
	if err := resolver.store(account, token); err != nil {
		return s.claimsFailure(account, failed, err)
	}
	if err := s.reloadAccounts(); err != nil {
		return s.claimsFailure(account, failed, err)
	}
	return s.marshalClaims(&claimsResponse{Data: &claimsResponseData{Account: account, Code: 200, Message: updated}})
}

// claimsDelete removes the accounts a delete request names: its body is a generic
// JWT the operator signed for itself, with the account keys in "accounts". The
// accounts' connections close with "Account Authentication Expired".
func (s *Server) claimsDelete(resolver *dirResolver, body []byte) []byte {
	claims, err := jwt.DecodeGeneric(strings.TrimSpace(string(body)))
	issuer := ""
	if err == nil {
		issuer = claims.Issuer
	}
	failed := func(reason string) []byte {
		return s.marshalClaims(&claimsResponse{Error: &claimsError{Code: 500,
			Description: fmt.Sprintf("delete accounts request by %s failed - %s", issuer, reason)}})
	}
	if err != nil {
		return failed(err.Error())
	}
	s.mu.Lock()
	trust := s.auth.trust
	system := s.systemAccount
	s.mu.Unlock()
	if trust == nil {
		return failed("the account resolver changed")
	}
	switch {
	case !resolver.allowDelete:
		return failed("delete must be enabled in server config")
	case claims.Subject != claims.Issuer:
		return failed("not self signed")
	case !trust.operators[claims.Issuer]:
		return failed("not trusted")
	}
	raw, _ := claims.Data["accounts"].([]any)
	var accounts []string
	for _, entry := range raw {
		if key, ok := entry.(string); ok {
			accounts = append(accounts, key)
		}
	}
	for _, key := range accounts {
		if system != nil && key == system.Name {
			return failed("not allowed to delete system account")
		}
		if !nkeys.IsValidPublicAccountKey(key) {
			// Only account keys name files in the directory.
			return failed(fmt.Sprintf("%q is not an account public key", key))
		}
	}
	for _, key := range accounts {
		if resolver.get(key) == "" {
			continue
		}
		if err := resolver.remove(key); err != nil {
			return failed(err.Error())
		}
	}
	if err := s.reloadAccounts(); err != nil {
		return failed(err.Error())
	}
	return s.marshalClaims(&claimsResponse{Data: &claimsResponseData{Code: 200, Message: fmt.Sprintf("deleted %d accounts", len(accounts))}})
}

func (s *Server) claimsFailure(account, message string, err error) []byte {
	return s.marshalClaims(&claimsResponse{Error: &claimsError{Account: account, Code: 500, Description: fmt.Sprintf("%s - %v", message, err)}})
}

func (s *Server) marshalClaims(response any) []byte {
	switch r := response.(type) {
	case *claimsResponse:
		r.Server = s.serverInfo()
	case *claimsListResponse:
		r.Server = s.serverInfo()
	}
	data, _ := json.Marshal(response)
	return data
}

// reloadAccounts applies the resolver's accounts as they are now, by reloading the
// options the server was given.
func (s *Server) reloadAccounts() error {
	s.mu.Lock()
	base := *s.baseOptions
	stopping := s.shuttingDown
	s.mu.Unlock()
	if stopping {
		return errors.New("server shutting down")
	}
	return s.Reload(&base)
}

// systemReply publishes a reply in the system account from the server itself.
func (s *Server) systemReply(reply string, data []byte) {
	s.mu.Lock()
	system := s.systemAccount
	s.mu.Unlock()
	if system == nil {
		return
	}
	internal := &clientConn{server: s}
	pub := publication{subject: []byte(reply), headerBytes: -1, message: data}
	var set flushSet
	internal.route(system, &pub, &set)
	set.flush(s, nil)
}
