package node

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/proto/client"
)

// Operator mode.
//
// With trusted operators (trusted_keys, or operator naming operator JWTs) the server
// takes no users from its configuration: a client proves who it is with a user JWT,
// signed by an account key (or one of the account's signing keys), and a signature of
// the INFO nonce by the user's key (unless the JWT is a bearer token). The account's
// own JWT, signed by a trusted operator key (or one of the operator's signing keys),
// comes from the account resolver. Only the MEMORY resolver is served here: its
// account JWTs are resolver_preload, known at start and at every reload, so the
// accounts, their limits, JetStream limits, exports and imports are built from them
// as if they were configured accounts (named by their public keys). Other resolvers,
// which fetch accounts at run time, are refused at start rather than ignored.
//
// A user JWT that expires while connected closes its connection at the expiry with
// "User Authentication Expired", as the reference does, and so does the end of its
// connect-time window. A user JWT's source networks, connect times, subscription and
// payload limits apply; proxy_required refuses the connection (no proxies here).

// errAuthenticationExpired is the -ERR text of a connection whose credentials expired.
const errAuthenticationExpired = "User Authentication Expired"

// reasonAuthenticationExpired is the closed-connection reason of an expired user JWT.
const reasonAuthenticationExpired = "Authentication Expired"

// The -ERR texts and closed-connection reasons of a connection whose account was
// deleted, or whose user was revoked, while it was connected.
const (
	errAccountExpired           = "Account Authentication Expired"
	reasonAccountExpired        = "Account Authentication Expired"
	errAuthenticationRevoked    = "User Authentication Revoked"
	reasonAuthenticationRevoked = "Authentication Revoked"
)

// operatorTrust is what operator mode trusts: operator keys and the accounts the
// resolver holds.
type operatorTrust struct {
	// operators are the trusted operator keys and their signing keys.
	operators map[string]bool
	// accounts are the valid account JWTs, by account public key.
	accounts map[string]*jwt.AccountClaims
	// systemAccount is the operator JWT's system account, if any.
	systemAccount string
	clock         env.Clock
	// resolver is the directory store of a full or cache resolver (nil for MEMORY).
	resolver *dirResolver
}

// operatorMode reports whether the options trust operators.
func operatorMode(o *opts.Options) bool {
	return len(o.TrustedKeys) > 0 || len(o.TrustedOperators) > 0
}

// loadOperatorTrust reads the trusted operators and the resolver's accounts; nil
// without operator mode. As in the reference, an account JWT that is not signed by a
// trusted key, names another account or is expired is left out (its users are
// refused), and trusted keys without a resolver trust no account; an operator JWT
// without a resolver, and the URL resolver, are errors here. starting is true when
// the server starts (not on a reload).
func loadOperatorTrust(fs env.FS, clock env.Clock, o *opts.Options, logger Logger, starting bool) (*operatorTrust, error) {
	if !operatorMode(o) {
		return nil, nil
	}
	t := &operatorTrust{operators: make(map[string]bool), accounts: make(map[string]*jwt.AccountClaims), clock: clock}
	for _, key := range o.TrustedKeys {
		if !nkeys.IsValidPublicOperatorKey(key) {
			return nil, fmt.Errorf("trusted Keys %q are not valid operator public keys", key)
		}
		t.operators[key] = true
	}
	for _, entry := range o.TrustedOperators {
		token := entry
		if !strings.HasPrefix(strings.TrimSpace(entry), "eyJ") {
			contents, err := readWholeFile(fs, entry)
			if err != nil {
				return nil, fmt.Errorf("error parsing operator JWT: %v", err)
			}
			token = string(contents)
		}
		parsed, err := jwt.ParseDecoratedJWT([]byte(token))
		if err != nil {
			return nil, fmt.Errorf("error parsing operator JWT: %v", err)
		}
		claims, err := jwt.DecodeOperatorClaims(parsed)
		if err != nil {
			return nil, fmt.Errorf("error parsing operator JWT: %v", err)
		}
		if err := validateClaims(claims, clock.Now()); err != nil {
			return nil, fmt.Errorf("operator JWT %s: %v", claims.Subject, err)
		}
		t.operators[claims.Subject] = true
		for _, key := range claims.SigningKeys {
			t.operators[key] = true
		}
		if t.systemAccount == "" {
			t.systemAccount = claims.SystemAccount
		}
		if starting {
			logOperator(logger, claims, o.SystemAccount)
		}
	}
	resolver := o.AccountResolver
	tokens := o.ResolverPreloads
	switch {
	case resolver == nil && len(o.TrustedOperators) > 0:
		return nil, fmt.Errorf("operator JWT without an account resolver: fetching accounts from the operator's account server is not supported, use a MEMORY or directory (full, cache) resolver")
	case resolver == nil:
		return t, nil
	case resolver.Type == "full" || resolver.Type == "cache":
		dir, err := newDirResolver(fs, resolver)
		if err != nil {
			return nil, err
		}
		// Preloads are stored when the server starts only: a reload (after a claims
		// delete, say) must not bring back an account deleted since.
		if starting {
			if err := dir.storePreloads(o.ResolverPreloads); err != nil {
				return nil, fmt.Errorf("resolver dir %q: %v", resolver.Dir, err)
			}
		}
		if tokens, err = dir.load(); err != nil {
			return nil, fmt.Errorf("resolver dir %q: %v", resolver.Dir, err)
		}
		t.resolver = dir
	case resolver.Type != "MEMORY":
		return nil, fmt.Errorf("account resolver %s is not supported: use a MEMORY or directory (full, cache) resolver", resolverName(resolver))
	}
	t.addAccounts(tokens, logger)
	return t, nil
}

// logOperator logs a trusted operator JWT at start, as the reference does.
func logOperator(logger Logger, claims *jwt.OperatorClaims, systemAccount string) {
	expires := "Never"
	if claims.Expires > 0 {
		expires = time.Unix(claims.Expires, 0).String()
	}
	logger.Noticef("Trusted Operators")
	logger.Noticef("  System  : %q", claims.SystemAccount)
	logger.Noticef("  Operator: %q", claims.Name)
	logger.Noticef("  Issued  : %v", time.Unix(claims.IssuedAt, 0))
	logger.Noticef("  Expires : %s", expires)
	if claims.SystemAccount == "" && systemAccount == "" {
		logger.Warnf("Trusted Operators should utilize a System Account")
	}
}

// addAccounts trusts the account JWTs (by account public key) that a trusted key
// signed, that name the account they are filed under and that are not expired; the
// others are left out with a warning, as the reference leaves them.
func (t *operatorTrust) addAccounts(tokens map[string]string, logger Logger) {
	keys := make([]string, 0, len(tokens))
	for key := range tokens {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		claims, err := t.checkAccountJWT(key, tokens[key])
		if err != nil {
			logger.Warnf("Account %q from the resolver not loaded: %v", key, err)
			continue
		}
		t.accounts[key] = claims
	}
}

// checkAccountJWT decodes an account JWT filed under key and checks that a trusted
// key signed it, for that account, and that it is valid now.
func (t *operatorTrust) checkAccountJWT(key, token string) (*jwt.AccountClaims, error) {
	claims, err := jwt.DecodeAccountClaims(token)
	switch {
	case err != nil:
		return nil, fmt.Errorf("invalid account JWT: %v", err)
	case !nkeys.IsValidPublicAccountKey(claims.Subject):
		return nil, fmt.Errorf("the JWT's subject is not an account public key")
	case key != "" && claims.Subject != key:
		return nil, fmt.Errorf("the JWT is for account %q", claims.Subject)
	case !t.operators[claims.Issuer]:
		return nil, fmt.Errorf("the account JWT is not signed by a trusted operator")
	}
	if err := validateClaims(claims, t.clock.Now()); err != nil {
		return nil, err
	}
	return claims, nil
}

func resolverName(r *opts.ResolverOpts) string {
	if r.Type == "URL" {
		return "URL(" + r.URL + ")"
	}
	return r.Type
}

// validateClaims runs a JWT's own checks, and its expiry and start time against now
// (the library's time checks read the machine's clock, so they are left out: the
// server's clock is the env's).
func validateClaims(claims jwt.Claims, now time.Time) error {
	vr := jwt.CreateValidationResults()
	claims.Validate(vr)
	if vr.IsBlocking(false) {
		return fmt.Errorf("%v", vr.Errors())
	}
	c := claims.Claims()
	if c.Expires > 0 && now.Unix() >= c.Expires {
		return fmt.Errorf("claim is expired")
	}
	if c.NotBefore > 0 && now.Unix() < c.NotBefore {
		return fmt.Errorf("claim is not yet valid")
	}
	return nil
}

// apply adds the resolver's accounts to the options as configured accounts, and the
// operator's system account when none is configured. The options' account list is
// copied, not changed in place.
func (t *operatorTrust) apply(o *opts.Options) {
	if t == nil {
		return
	}
	accounts := append([]*opts.Account(nil), o.Accounts...)
	for _, key := range t.sortedAccountKeys() {
		accounts = append(accounts, t.accountOptions(key))
	}
	o.Accounts = accounts
	if o.SystemAccount == "" && t.systemAccount != "" {
		o.SystemAccount = t.systemAccount
	}
}

func (t *operatorTrust) sortedAccountKeys() []string {
	keys := make([]string, 0, len(t.accounts))
	for key := range t.accounts {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// accountOptions turns an account JWT into a configured account.
func (t *operatorTrust) accountOptions(key string) *opts.Account {
	claims := t.accounts[key]
	l := claims.Limits
	account := &opts.Account{
		Name:    key,
		Nkey:    key,
		NameTag: claims.Name,
		Limits: opts.AccountLimits{
			MaxConnections:   int(l.Conn),
			MaxSubscriptions: int(l.Subs),
			MaxPayload:       int(l.Payload),
			MaxLeafNodes:     int(l.LeafNodeConn),
		},
		DefaultPermissions: permissionsFromJWT(&claims.DefaultPermissions),
	}
	if js := jetStreamLimits(&l); js != nil {
		account.JetStream = js
	}
	for _, e := range claims.Exports {
		export := &opts.Export{
			Subject:              string(e.Subject),
			Service:              e.IsService(),
			ResponseThreshold:    e.ResponseThreshold,
			AccountTokenPosition: e.AccountTokenPosition,
			AllowTrace:           e.AllowTrace,
		}
		if e.IsService() {
			export.ResponseType = opts.ExportResponseType(e.ResponseType)
			if export.ResponseType == "" {
				export.ResponseType = opts.ResponseTypeSingleton
			}
		}
		if e.TokenReq {
			export.Accounts = t.activatedImporters(key, e)
		}
		account.Exports = append(account.Exports, export)
	}
	for _, im := range claims.Imports {
		in := &opts.Import{
			Account:    im.Account,
			Subject:    string(im.Subject),
			Service:    im.IsService(),
			Share:      im.Share,
			AllowTrace: im.AllowTrace,
		}
		switch {
		case im.LocalSubject != "":
			in.To = string(im.LocalSubject)
		case im.To != "" && im.IsService():
			in.To = string(im.To)
		case im.To != "":
			// The deprecated "to" of a stream import is a prefix.
			in.Prefix = string(im.To)
		}
		account.Imports = append(account.Imports, in)
	}
	for source, destinations := range claims.Mappings {
		mapping := &opts.Mapping{Source: string(source)}
		for _, d := range destinations {
			mapping.Destinations = append(mapping.Destinations, &opts.MappingDestination{Subject: string(d.Subject), Weight: d.GetWeight(), Cluster: d.Cluster})
		}
		account.Mappings = append(account.Mappings, mapping)
	}
	sort.Slice(account.Mappings, func(i, j int) bool { return account.Mappings[i].Source < account.Mappings[j].Source })
	return account
}

// noImporter restricts a token-required export that no valid activation allows: no
// account has this name.
const noImporter = "-"

// activatedImporters returns the accounts whose imports of a token-required export
// carry a valid activation token: issued by the exporter (or one of its signing
// keys) to that account, for the export's subject, not expired or revoked.
func (t *operatorTrust) activatedImporters(exporter string, e *jwt.Export) []string {
	exporterClaims := t.accounts[exporter]
	var importers []string
	for _, key := range t.sortedAccountKeys() {
		for _, im := range t.accounts[key].Imports {
			if im.Account != exporter || im.Token == "" || im.IsService() != e.IsService() {
				continue
			}
			activation, err := jwt.DecodeActivationClaims(im.Token)
			if err != nil || validateClaims(activation, t.clock.Now()) != nil {
				continue
			}
			issuedByExporter := activation.Issuer == exporter ||
				activation.IssuerAccount == exporter && exporterClaims.SigningKeys.Contains(activation.Issuer)
			if !issuedByExporter || activation.Subject != key || !subjectCovers(string(e.Subject), string(activation.ImportSubject)) {
				continue
			}
			if e.Revocations.IsRevoked(key, time.Unix(activation.IssuedAt, 0)) {
				continue
			}
			importers = append(importers, key)
			break
		}
	}
	if len(importers) == 0 {
		return []string{noImporter}
	}
	return importers
}

// subjectCovers reports whether every subject matching inner matches outer.
func subjectCovers(outer, inner string) bool {
	return jwt.Subject(inner).IsContainedIn(jwt.Subject(outer))
}

// jetStreamLimits returns an account JWT's JetStream limits, nil when JetStream is
// off for it. A zero count limit is unlimited, as the reference reads it.
func jetStreamLimits(l *jwt.OperatorLimits) *opts.JetStreamAccountLimits {
	js := l.JetStreamLimits
	if js.MemoryStorage == 0 && js.DiskStorage == 0 {
		tier, ok := l.JetStreamTieredLimits["R1"]
		if !ok || tier.MemoryStorage == 0 && tier.DiskStorage == 0 {
			return nil
		}
		js = tier
	}
	unlimitedIfZero := func(v int64) int64 {
		if v == 0 {
			return -1
		}
		return v
	}
	return &opts.JetStreamAccountLimits{
		MaxMemory:            js.MemoryStorage,
		MaxStore:             js.DiskStorage,
		MaxStreams:           int(unlimitedIfZero(js.Streams)),
		MaxConsumers:         int(unlimitedIfZero(js.Consumer)),
		MaxAckPending:        int(unlimitedIfZero(js.MaxAckPending)),
		MemoryMaxStreamBytes: unlimitedIfZero(js.MemoryMaxStreamBytes),
		StoreMaxStreamBytes:  unlimitedIfZero(js.DiskMaxStreamBytes),
		MaxBytesRequired:     js.MaxBytesRequired,
	}
}

// permissionsFromJWT converts JWT permissions; nil when they say nothing.
func permissionsFromJWT(p *jwt.Permissions) *opts.Permissions {
	if len(p.Pub.Allow) == 0 && len(p.Pub.Deny) == 0 && len(p.Sub.Allow) == 0 && len(p.Sub.Deny) == 0 && p.Resp == nil {
		return nil
	}
	out := &opts.Permissions{}
	if len(p.Pub.Allow) > 0 || len(p.Pub.Deny) > 0 {
		out.Publish = &opts.SubjectPermission{Allow: nilIfEmpty(p.Pub.Allow), Deny: nilIfEmpty(p.Pub.Deny)}
	}
	if len(p.Sub.Allow) > 0 || len(p.Sub.Deny) > 0 {
		out.Subscribe = &opts.SubjectPermission{Allow: nilIfEmpty(p.Sub.Allow), Deny: nilIfEmpty(p.Sub.Deny)}
	}
	if p.Resp != nil {
		out.Response = &opts.ResponsePermission{MaxMsgs: p.Resp.MaxMsgs, Expires: p.Resp.Expires}
		if out.Response.MaxMsgs == 0 {
			out.Response.MaxMsgs = opts.DefaultResponseMaxMsgs
		}
		if out.Response.Expires == 0 {
			out.Response.Expires = opts.DefaultResponseExpires
		}
	}
	return out
}

func nilIfEmpty(list jwt.StringList) []string {
	if len(list) == 0 {
		return nil
	}
	return append([]string(nil), list...)
}

// authenticate checks a CONNECT's user JWT and nonce signature against the trusted
// accounts, and returns the user, bound to its account, or nil.
func (t *operatorTrust) authenticate(options *client.ConnectOptions, nonce, host string, accounts map[string]*Account) *authUser {
	if options.JWT == "" {
		return nil
	}
	claims, err := jwt.DecodeUserClaims(options.JWT)
	if err != nil {
		return nil
	}
	now := t.clock.Now()
	if validateClaims(claims, now) != nil {
		return nil
	}
	accountKey := claims.Issuer
	if claims.IssuerAccount != "" {
		accountKey = claims.IssuerAccount
	}
	accountClaims := t.accounts[accountKey]
	account := accounts[accountKey]
	if accountClaims == nil || account == nil {
		return nil
	}
	if validateClaims(accountClaims, now) != nil || accountClaims.IsClaimRevoked(claims) {
		return nil
	}
	permissions := permissionsFromJWT(&claims.Permissions)
	if claims.IssuerAccount != "" {
		if !accountClaims.SigningKeys.Contains(claims.Issuer) {
			return nil
		}
		if scope, _ := accountClaims.SigningKeys.GetScope(claims.Issuer); scope != nil {
			userScope, ok := scope.(*jwt.UserScope)
			if !ok {
				return nil
			}
			// A scoped key's users take the scope's permissions and limits, whatever
			// theirs say.
			permissions = permissionsFromJWT(&userScope.Template.Permissions)
			claims.Limits = userScope.Template.Limits
			claims.BearerToken = userScope.Template.BearerToken
			claims.ProxyRequired = userScope.Template.ProxyRequired
			claims.AllowedConnectionTypes = userScope.Template.AllowedConnectionTypes
		}
	}
	if permissions == nil {
		permissions = permissionsFromJWT(&accountClaims.DefaultPermissions)
	}
	if claims.ProxyRequired || !sourceAllowed(claims.Src, host) {
		// proxy_required: this server takes no proxied connections.
		return nil
	}
	windowEnd, allowed := timeAllowed(claims.Times, claims.Locale, now)
	if !allowed {
		return nil
	}
	if claims.BearerToken {
		if accountClaims.Limits.DisallowBearer {
			return nil
		}
	} else if options.Signature == "" || !verifyNonce(claims.Subject, options.Signature, nonce) {
		return nil
	}
	user := &authUser{name: claims.Subject, nkey: claims.Subject, account: account, permissions: newPermissions(permissions),
		jwt: options.JWT, issuerKey: claims.Issuer, tags: append([]string(nil), claims.Tags...)}
	if len(claims.AllowedConnectionTypes) > 0 {
		user.connectionTypes = make(map[string]struct{}, len(claims.AllowedConnectionTypes))
		for _, kind := range claims.AllowedConnectionTypes {
			user.connectionTypes[strings.ToUpper(kind)] = struct{}{}
		}
	}
	if claims.Expires > 0 {
		user.expires = time.Unix(claims.Expires, 0)
	}
	if !windowEnd.IsZero() && (user.expires.IsZero() || windowEnd.Before(user.expires)) {
		user.expires = windowEnd
	}
	if claims.Limits.Subs > 0 {
		user.maxSubs = int(claims.Limits.Subs)
	}
	if claims.Limits.Payload > 0 {
		user.maxPayload = int(claims.Limits.Payload)
	}
	return user
}

// refusal tells why a connected JWT user no longer authenticates after the accounts
// changed, in the reference's words: its account is gone ("Account Authentication
// Expired") or revoked it ("User Authentication Revoked"); otherwise the given
// reason and text.
func (t *operatorTrust) refusal(user *authUser, reason, text string) (string, string) {
	if user.jwt == "" || user.account == nil {
		return reason, text
	}
	accountClaims := t.accounts[user.account.Name]
	if accountClaims == nil {
		return reasonAccountExpired, errAccountExpired
	}
	if claims, err := jwt.DecodeUserClaims(user.jwt); err == nil && accountClaims.IsClaimRevoked(claims) {
		return reasonAuthenticationRevoked, errAuthenticationRevoked
	}
	return reason, text
}

// sourceAllowed reports whether a client address is in a user JWT's source networks
// (src); an empty list allows every address.
func sourceAllowed(networks jwt.CIDRList, host string) bool {
	if len(networks) == 0 {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, network := range networks {
		if prefix, err := netip.ParsePrefix(network); err == nil && prefix.Contains(ip) {
			return true
		}
	}
	return false
}

// timeAllowed reports whether now is in one of a user JWT's connect times (times,
// in times_location or else the server's local zone), and when that window ends;
// no ranges allow any time, forever. A range whose end is before its start runs
// over midnight.
func timeAllowed(ranges []jwt.TimeRange, locale string, now time.Time) (time.Time, bool) {
	if len(ranges) == 0 {
		return time.Time{}, true
	}
	// Without times_location the server's zone is the env clock's.
	location := now.Location()
	if locale != "" {
		var err error
		if location, err = time.LoadLocation(locale); err != nil {
			return time.Time{}, false
		}
	}
	now = now.In(location)
	at := func(clock string) (time.Time, bool) {
		parsed, err := time.Parse(time.TimeOnly, clock)
		if err != nil {
			return time.Time{}, false
		}
		return time.Date(now.Year(), now.Month(), now.Day(), parsed.Hour(), parsed.Minute(), parsed.Second(), 0, location), true
	}
	for _, r := range ranges {
		start, okStart := at(r.Start)
		end, okEnd := at(r.End)
		if !okStart || !okEnd {
			continue
		}
		if !end.After(start) {
			if now.Before(start) {
				start = start.AddDate(0, 0, -1)
			} else {
				end = end.AddDate(0, 0, 1)
			}
		}
		if !now.Before(start) && now.Before(end) {
			return end, true
		}
	}
	return time.Time{}, false
}
