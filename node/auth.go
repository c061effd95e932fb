package node

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/ds/sublist"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
)

// The -ERR texts of authorization, as the reference sends them.
const (
	errAuthorizationViolation = "Authorization Violation"
	errAuthenticationTimeout  = "Authentication Timeout"
)

// authUser is one way to log in: a user with a password, an nkey, or the token.
type authUser struct {
	name        string
	password    string
	nkey        string
	account     *Account
	permissions *permissions
	// connectionTypes are the allowed_connection_types (upper case); nil allows all.
	connectionTypes map[string]struct{}
	// expires is when a user JWT's authentication ends (zero: never).
	expires time.Time
	// maxSubs and maxPayload are a user JWT's limits (0: none).
	maxSubs, maxPayload int
	// jwt, issuerKey and tags are a user JWT's, for /connz.
	jwt       string
	issuerKey string
	tags      []string
}

// connectionTypeStandard is the allowed_connection_types name of a plain client.
const connectionTypeStandard = "STANDARD"

// allowsStandard reports whether the user may connect as a plain client.
func (u *authUser) allowsStandard() bool { return u.allows(connectionTypeStandard) }

// allows reports whether the user may connect as connectionType ("" is STANDARD).
func (u *authUser) allows(connectionType string) bool {
	if u.connectionTypes == nil {
		return true
	}
	if connectionType == "" {
		connectionType = connectionTypeStandard
	}
	_, ok := u.connectionTypes[connectionType]
	return ok
}

// authConfig is the server's authorization, rebuilt on reload.
type authConfig struct {
	users      map[string]*authUser
	nkeys      map[string]*authUser
	token      string
	tokenUser  *authUser
	noAuthUser *authUser
	// connectionType is the allowed_connection_types name of the connections this
	// configuration authenticates ("" for STANDARD clients).
	connectionType string
	// trust authenticates user JWTs in operator mode (see operator.go); accounts
	// are the server's accounts, which the JWTs name.
	trust    *operatorTrust
	accounts map[string]*Account
}

func (a *authConfig) required() bool {
	return len(a.users) > 0 || len(a.nkeys) > 0 || a.token != "" || a.trust != nil
}

// sendsNonce reports whether INFO carries a nonce for clients to sign.
func (a *authConfig) sendsNonce() bool {
	return a.required() && (len(a.nkeys) > 0 || a.trust != nil)
}

// buildAuth turns the options' users, nkeys, single user and token into lookups;
// trust, in operator mode, authenticates user JWTs.
func buildAuth(o *opts.Options, accounts map[string]*Account, global *Account, trust *operatorTrust) (*authConfig, error) {
	a := &authConfig{users: make(map[string]*authUser), nkeys: make(map[string]*authUser), trust: trust}
	if trust != nil {
		// Operator mode: user JWTs only. Configured users, nkeys, the token and
		// no_auth_user never log in (so neither TLS maps nor skipped CONNECTs reach
		// them). The accounts are a copy: a reload adds to the server's map while
		// connections read this one.
		a.accounts = maps.Clone(accounts)
		return a, nil
	}
	accountOf := func(name string) (*Account, error) {
		if name == "" {
			return global, nil
		}
		account := accounts[name]
		if account == nil {
			return nil, fmt.Errorf("node: user bound to unknown account %q", name)
		}
		return account, nil
	}
	for _, u := range o.Users {
		account, err := accountOf(u.Account)
		if err != nil {
			return nil, err
		}
		a.users[u.Username] = &authUser{name: u.Username, password: u.Password, account: account,
			permissions: newPermissions(u.Permissions), connectionTypes: u.AllowedConnectionTypes}
	}
	for _, n := range o.Nkeys {
		account, err := accountOf(n.Account)
		if err != nil {
			return nil, err
		}
		a.nkeys[n.Nkey] = &authUser{name: n.Nkey, nkey: n.Nkey, account: account,
			permissions: newPermissions(n.Permissions), connectionTypes: n.AllowedConnectionTypes}
	}
	if o.Username != "" {
		a.users[o.Username] = &authUser{name: o.Username, password: o.Password, account: global}
	}
	if o.Authorization != "" {
		a.token = o.Authorization
		a.tokenUser = &authUser{account: global}
	}
	if o.NoAuthUser != "" {
		a.noAuthUser = a.users[o.NoAuthUser]
		if a.noAuthUser == nil {
			a.noAuthUser = a.nkeys[o.NoAuthUser]
		}
		if a.noAuthUser == nil {
			return nil, fmt.Errorf("node: no_auth_user %q not present as user or nkey", o.NoAuthUser)
		}
	}
	return a, nil
}

// authenticate checks a CONNECT's credentials; nonce is what the server sent in INFO.
// A user whose allowed_connection_types exclude plain clients is refused.
func (a *authConfig) authenticate(options *client.ConnectOptions, nonce, host string) *authUser {
	user := a.authenticateCredentials(options, nonce, host)
	if user != nil && !user.allows(a.connectionType) {
		return nil
	}
	return user
}

func (a *authConfig) authenticateCredentials(options *client.ConnectOptions, nonce, host string) *authUser {
	if !a.required() {
		return nil
	}
	if a.trust != nil {
		// Operator mode authenticates user JWTs only: configured users, nkeys and
		// tokens are refused, as in the reference.
		return a.trust.authenticate(options, nonce, host, a.accounts)
	}
	if options.Nkey != "" {
		user := a.nkeys[options.Nkey]
		if user == nil || !verifyNonce(options.Nkey, options.Signature, nonce) {
			return nil
		}
		return user
	}
	if options.Token != "" && a.token != "" {
		if comparePassword(a.token, options.Token) {
			return a.tokenUser
		}
		return nil
	}
	if options.Username != "" {
		user := a.users[options.Username]
		if user == nil || !comparePassword(user.password, options.Password) {
			return nil
		}
		return user
	}
	if options.Token == "" && options.JWT == "" {
		return a.noAuthUser
	}
	return nil
}

// comparePassword compares a configured password, plain or bcrypt, with a given one.
func comparePassword(configured, given string) bool {
	if strings.HasPrefix(configured, "$2") {
		return bcrypt.CompareHashAndPassword([]byte(configured), []byte(given)) == nil
	}
	return subtle.ConstantTimeCompare([]byte(configured), []byte(given)) == 1
}

// verifyNonce checks a signature of the nonce by a user nkey. Clients send it in raw
// URL base64; standard base64 is accepted too, as the reference does.
func verifyNonce(publicKey, signature, nonce string) bool {
	sig, err := base64.RawURLEncoding.DecodeString(signature)
	if err != nil {
		sig, err = base64.StdEncoding.DecodeString(signature)
		if err != nil {
			return false
		}
	}
	keys, err := nkeys.FromPublicKey(publicKey)
	if err != nil {
		return false
	}
	return keys.Verify([]byte(nonce), sig) == nil
}

// permissions are a user's compiled publish and subscribe rules.
type permissions struct {
	publishAllow, publishDeny     *sublist.Sublist[int]
	subscribeAllow, subscribeDeny *sublist.Sublist[int]
	response                      *opts.ResponsePermission
}

// newPermissions compiles configured permissions; nil means everything is allowed.
func newPermissions(p *opts.Permissions) *permissions {
	if p == nil {
		return nil
	}
	compiled := &permissions{response: p.Response}
	if p.Publish != nil {
		compiled.publishAllow = compileSubjects(p.Publish.Allow, p.Publish.Allow != nil)
		compiled.publishDeny = compileSubjects(p.Publish.Deny, false)
	}
	if p.Subscribe != nil {
		compiled.subscribeAllow = compileSubjects(p.Subscribe.Allow, p.Subscribe.Allow != nil)
		compiled.subscribeDeny = compileSubjects(p.Subscribe.Deny, false)
	}
	if compiled.response != nil && compiled.publishAllow == nil {
		// allow_responses alone means: publish only responses.
		compiled.publishAllow = sublist.New[int]()
	}
	return compiled
}

// compileSubjects builds a sublist of permission entries ("subject" or "subject
// queue"); an empty list gives nil unless keepEmpty (an explicit empty allow list
// allows nothing).
func compileSubjects(entries []string, keepEmpty bool) *sublist.Sublist[int] {
	if len(entries) == 0 && !keepEmpty {
		return nil
	}
	list := sublist.New[int]()
	for i, entry := range entries {
		subj, queue, _ := strings.Cut(strings.TrimSpace(entry), " ")
		_ = list.Insert(subj, strings.TrimSpace(queue), i)
	}
	return list
}

// canPublish applies the publish allow and deny lists.
func (p *permissions) canPublish(subj string) bool {
	if p == nil {
		return true
	}
	if p.publishAllow != nil && len(p.publishAllow.Match(subj).Plain) == 0 {
		return false
	}
	if p.publishDeny != nil && len(p.publishDeny.Match(subj).Plain) > 0 {
		return false
	}
	return true
}

// canSubscribe applies the subscribe allow and deny lists, with queue entries as the
// reference reads them: an allow entry with a queue permits only that queue.
func (p *permissions) canSubscribe(subj, queue string) bool {
	if p == nil {
		return true
	}
	allowed := true
	if p.subscribeAllow != nil {
		result := p.subscribeAllow.Match(subj)
		allowed = len(result.Plain) > 0
		if queue != "" && len(result.Queues) > 0 {
			allowed = queueMatches(queue, result.Queues)
		}
	}
	if allowed && p.subscribeDeny != nil {
		result := p.subscribeDeny.Match(subj)
		allowed = len(result.Plain) == 0
		if queue != "" && len(result.Queues) > 0 {
			allowed = !queueMatches(queue, result.Queues)
		}
	}
	return allowed
}

func queueMatches(queue string, groups []sublist.QueueGroup[int]) bool {
	for _, group := range groups {
		if group.Name == queue || subject.MatchesFilter(queue, group.Name) {
			return true
		}
	}
	return false
}
