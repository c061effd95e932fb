package opts

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nats-io/jwt/v2"

	"github.com/natsim/natsim/proto/conf"
)

// connectionTypes are the names allowed_connection_types accepts.
var connectionTypes = map[string]bool{
	"STANDARD": true, "WEBSOCKET": true, "LEAFNODE": true, "LEAFNODE_WS": true,
	"MQTT": true, "MQTT_WS": true, "IN_PROCESS": true,
}

// authorization is a parsed authorization block before it is applied.
type authorization struct {
	user, pass, token  string
	account            string
	timeout            float64
	users              []*User
	nkeys              []*NkeyUser
	defaultPermissions *Permissions
	callout            *AuthCallout
	proxyRequired      bool
}

// processAuthKeys maps the authentication and account keys; it reports whether key was
// one of them.
func (o *Options) processAuthKeys(r *reader, e *conf.Entry, key string) bool {
	switch key {
	case "authorization":
		o.processAuthorization(r, e)
	case "accounts":
		o.processAccounts(r, e)
	case "no_auth_user":
		if s, ok := r.str(e); ok {
			o.NoAuthUser = s
		}
	case "system_account", "system":
		// Read before every other key.
	case "no_system_account", "no_system", "no_sys_acc":
		if b, ok := r.boolean(e); ok {
			o.NoSystemAccount = b
		}
	case "mappings", "maps":
		if mappings, ok := r.mappings(e); ok {
			o.Mappings = append(o.Mappings, mappings...)
		}
	case "default_sentinel":
		if s, ok := r.str(e); ok {
			o.DefaultSentinel = s
		}
	case "operator", "operators", "root", "roots", "root_operator", "root_operators":
		if list, ok := r.stringList(e); ok {
			o.TrustedOperators = append(o.TrustedOperators, list...)
		}
	case "trusted", "trusted_keys":
		if list, ok := r.stringList(e); ok {
			o.TrustedKeys = list
		}
	case "resolver", "account_resolver", "accounts_resolver":
		o.processResolver(r, e)
	case "resolver_preload":
		o.processResolverPreload(r, e)
	case "resolver_pinned_accounts":
		if list, ok := r.stringList(e); ok {
			o.ResolverPinnedAccounts = list
		}
	default:
		return false
	}
	return true
}

func (o *Options) processAuthorization(r *reader, e *conf.Entry) {
	auth, ok := r.authorization(e, false)
	if !ok {
		return
	}
	if (auth.user != "" || auth.pass != "") && auth.token != "" {
		r.fail(e.KeyPos, "Cannot have a user/pass and token")
		return
	}
	if auth.users != nil && auth.user != "" {
		r.fail(e.KeyPos, "Can not have a single user/pass and a users array")
		return
	}
	if auth.users != nil && auth.token != "" {
		r.fail(e.KeyPos, "Can not have a token and a users array")
		return
	}
	o.Username, o.Password, o.Authorization = auth.user, auth.pass, auth.token
	o.AuthTimeout = auth.timeout
	o.DefaultPermissions = auth.defaultPermissions
	o.AuthCallout = auth.callout
	// Users may also come from accounts, so append.
	o.Users = append(o.Users, auth.users...)
	o.Nkeys = append(o.Nkeys, auth.nkeys...)
}

// authorization reads an authorization block (top level, cluster, gateway, websocket,
// MQTT); leaf is true for the leafnodes block, whose block and users also take
// `account`.
func (r *reader) authorization(e *conf.Entry, leaf bool) (*authorization, bool) {
	m, ok := r.block(e, "authorization")
	if !ok {
		return nil, false
	}
	auth := &authorization{}
	for _, item := range m.Entries {
		switch strings.ToLower(item.Key) {
		case "user", "username":
			auth.user, _ = r.str(item)
		case "pass", "password":
			auth.pass, _ = r.str(item)
		case "token":
			auth.token, _ = r.str(item)
		case "account":
			if !leaf {
				r.unknown(item)
				continue
			}
			auth.account, _ = r.str(item)
		case "timeout":
			auth.timeout, _ = r.seconds(item)
		case "users":
			auth.nkeys, auth.users, _ = r.users(item, leaf)
		case "default_permission", "default_permissions", "permissions":
			auth.defaultPermissions, _ = r.permissions(item)
		case "auth_callout", "callout":
			auth.callout = r.authCallout(item)
		case "proxy_required":
			auth.proxyRequired, _ = r.boolean(item)
		default:
			r.unknown(item)
		}
	}
	applyDefaultPermissions(auth.users, auth.nkeys, auth.defaultPermissions)
	return auth, true
}

func (r *reader) authCallout(e *conf.Entry) *AuthCallout {
	m, ok := r.block(e, "auth_callout")
	if !ok {
		return nil
	}
	callout := &AuthCallout{}
	for _, item := range m.Entries {
		switch strings.ToLower(item.Key) {
		case "issuer":
			callout.Issuer, _ = r.str(item)
		case "account":
			callout.Account, _ = r.str(item)
		case "auth_users":
			callout.AuthUsers, _ = r.stringList(item)
		case "xkey", "key":
			callout.XKey, _ = r.str(item)
		case "allowed_accounts":
			callout.AllowedAccounts, _ = r.stringList(item)
		default:
			r.unknown(item)
		}
	}
	return callout
}

// applyDefaultPermissions gives users without permissions the block's defaults.
func applyDefaultPermissions(users []*User, nkeys []*NkeyUser, defaults *Permissions) {
	if defaults == nil {
		return
	}
	for _, u := range users {
		if u.Permissions == nil {
			u.Permissions = defaults
		}
	}
	for _, u := range nkeys {
		if u.Permissions == nil {
			u.Permissions = defaults
		}
	}
}

// users reads a users array: entries with user/password or with an nkey; leaf users
// may also name their account.
func (r *reader) users(e *conf.Entry, leaf bool) ([]*NkeyUser, []*User, bool) {
	if e.Value.Kind != conf.KindArray {
		r.fail(e.KeyPos, "Expected users field to be an array, got %s", e.Value.Kind)
		return nil, nil, false
	}
	nkeys := []*NkeyUser(nil)
	users := []*User{}
	for _, element := range e.Value.Array {
		if element.Kind != conf.KindMap {
			r.fail(element.Pos, "Expected user entry to be a map/struct, got %s", element.Kind)
			continue
		}
		user, nkey := &User{}, &NkeyUser{}
		var permissions *Permissions
		for _, item := range element.Map.Entries {
			switch strings.ToLower(item.Key) {
			case "nkey":
				nkey.Nkey, _ = r.str(item)
			case "user", "username":
				user.Username, _ = r.str(item)
			case "pass", "password":
				user.Password, _ = r.str(item)
			case "permission", "permissions", "authorization":
				permissions, _ = r.permissions(item)
			case "allowed_connection_types", "connection_types", "clients":
				types := r.connectionTypes(item)
				user.AllowedConnectionTypes, nkey.AllowedConnectionTypes = types, types
			case "proxy_required":
				b, _ := r.boolean(item)
				user.ProxyRequired, nkey.ProxyRequired = b, b
			case "account":
				if !leaf {
					r.unknown(item)
					continue
				}
				user.Account, _ = r.str(item)
			default:
				r.unknown(item)
			}
		}
		switch {
		case nkey.Nkey == "" && user.Username == "":
			r.fail(element.Pos, "User entry requires a user")
			return nil, nil, false
		case nkey.Nkey != "":
			if !isValidPublicUserKey(nkey.Nkey) {
				r.fail(element.Pos, "Not a valid public nkey for a user")
				return nil, nil, false
			}
			if user.Username != "" || user.Password != "" {
				r.fail(element.Pos, "Nkey users do not take usernames or passwords")
				return nil, nil, false
			}
			nkey.Permissions = permissions
			nkeys = append(nkeys, nkey)
		default:
			user.Permissions = permissions
			users = append(users, user)
		}
	}
	return nkeys, users, true
}

// isValidPublicUserKey checks the shape of a public user nkey: 56 base32 characters
// starting with 'U'. The checksum is verified by the server when the user connects.
func isValidPublicUserKey(key string) bool {
	return isPublicKeyShape(key, 'U')
}

func isPublicKeyShape(key string, prefix byte) bool {
	if len(key) != 56 || key[0] != prefix {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func (r *reader) connectionTypes(e *conf.Entry) map[string]struct{} {
	list, ok := r.stringList(e)
	if !ok {
		return nil
	}
	out := make(map[string]struct{}, len(list))
	for _, name := range list {
		upper := strings.ToUpper(name)
		if !connectionTypes[upper] {
			r.fail(e.KeyPos, "unknown connection type %q", name)
			continue
		}
		out[upper] = struct{}{}
	}
	return out
}

// permissions reads a permissions block: publish/subscribe (lists or allow/deny maps)
// and allow_responses.
func (r *reader) permissions(e *conf.Entry) (*Permissions, bool) {
	if e.Value.Kind != conf.KindMap {
		r.fail(e.KeyPos, "Expected permissions to be a map/struct, got %s", e.Value.Kind)
		return nil, false
	}
	p := &Permissions{}
	for _, item := range e.Value.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "pub", "publish", "import":
			p.Publish, _ = r.subjectPermission(item)
		case "sub", "subscribe", "export":
			p.Subscribe, _ = r.subjectPermission(item)
		case "publish_allow_responses", "allow_responses":
			p.Response = r.responsePermission(item)
			if p.Response != nil {
				// Allowing responses turns off the implicit publish-anything.
				if p.Publish == nil {
					p.Publish = &SubjectPermission{}
				}
				if p.Publish.Allow == nil {
					p.Publish.Allow = []string{}
				}
			}
		default:
			if !item.UsedAsVariable {
				r.fail(item.KeyPos, "Unknown field %q parsing permissions", item.Key)
			}
		}
	}
	return p, true
}

// subjectPermission reads either a subject list (allow only) or {allow, deny}.
func (r *reader) subjectPermission(e *conf.Entry) (*SubjectPermission, bool) {
	if e.Value.Kind != conf.KindMap {
		subjects, ok := r.permissionSubjects(e)
		if !ok {
			return nil, false
		}
		return &SubjectPermission{Allow: subjects}, true
	}
	if e.Value.Map.Len() == 0 {
		return nil, true
	}
	p := &SubjectPermission{}
	for _, item := range e.Value.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "allow":
			p.Allow, _ = r.permissionSubjects(item)
		case "deny":
			p.Deny, _ = r.permissionSubjects(item)
		default:
			if !item.UsedAsVariable {
				r.fail(item.KeyPos, "Unknown field name %q parsing subject permissions, only 'allow' or 'deny' are permitted", item.Key)
			}
		}
	}
	return p, true
}

// permissionSubjects reads a subject or a list of subjects; a subscribe entry may be
// "subject queue".
func (r *reader) permissionSubjects(e *conf.Entry) ([]string, bool) {
	var subjects []string
	switch e.Value.Kind {
	case conf.KindString:
		subjects = []string{e.Value.String}
	case conf.KindArray:
		for _, element := range e.Value.Array {
			if element.Kind != conf.KindString {
				r.fail(element.Pos, "Subject in permissions array cannot be cast to string")
				return nil, false
			}
			subjects = append(subjects, element.String)
		}
	default:
		r.fail(e.KeyPos, "Expected subject permissions to be a subject, or array of subjects, got %s", e.Value.Kind)
		return nil, false
	}
	for _, s := range subjects {
		if isValidSubject(s) {
			continue
		}
		fields := strings.Fields(s)
		if len(fields) != 2 {
			r.fail(e.KeyPos, "subject %q is not a valid subject", s)
			return nil, false
		}
		if !isValidSubject(fields[0]) {
			r.fail(e.KeyPos, "subject %q is not a valid subject", fields[0])
			return nil, false
		}
	}
	if subjects == nil {
		subjects = []string{}
	}
	return subjects, true
}

// isValidSubject checks a subject with wildcards: non-empty tokens, no white space,
// '>' only as the last token.
func isValidSubject(subject string) bool {
	if subject == "" || strings.ContainsAny(subject, " \t\r\n") {
		return false
	}
	tokens := strings.Split(subject, ".")
	for i, token := range tokens {
		if token == "" {
			return false
		}
		if token == ">" && i != len(tokens)-1 {
			return false
		}
	}
	return true
}

// responsePermission reads allow_responses: a boolean or {max, expires}.
func (r *reader) responsePermission(e *conf.Entry) *ResponsePermission {
	rp := &ResponsePermission{MaxMsgs: DefaultResponseMaxMsgs, Expires: DefaultResponseExpires}
	switch e.Value.Kind {
	case conf.KindBool:
		if e.Value.Bool {
			return rp
		}
		return nil
	case conf.KindMap:
	default:
		r.fail(e.KeyPos, "error parsing response permissions, expected a boolean or a map")
		return nil
	}
	for _, item := range e.Value.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "max", "max_msgs", "max_messages", "max_responses":
			// Negative means unlimited and zero means the default.
			if n, ok := r.integer(item); ok && n != 0 {
				rp.MaxMsgs = int(n)
			}
		case "expires", "expiration", "ttl":
			if item.Value.Kind != conf.KindString {
				r.fail(item.KeyPos, "error parsing expires, not a duration string")
				return nil
			}
			if d, ok := r.strictDuration(item); ok && d != 0 {
				rp.Expires = d
			}
		default:
			if !item.UsedAsVariable {
				r.fail(item.KeyPos, "Unknown field %q parsing permissions", item.Key)
			}
		}
	}
	return rp
}

// processAccounts reads the accounts block: either a list of names or a map of
// account blocks.
func (o *Options) processAccounts(r *reader, e *conf.Entry) {
	switch e.Value.Kind {
	case conf.KindArray:
		seen := map[string]bool{}
		for _, element := range e.Value.Array {
			name, ok := r.stringValue(element.Pos, "accounts", element)
			if !ok {
				continue
			}
			if name == DefaultGlobalAccount {
				r.fail(element.Pos, "%q is a Reserved Account", name)
				continue
			}
			if seen[name] {
				r.fail(element.Pos, "Duplicate Account Entry: %s", name)
				continue
			}
			seen[name] = true
			o.Accounts = append(o.Accounts, newAccount(name))
		}
	case conf.KindMap:
		o.processAccountMap(r, e.Value.Map)
	default:
		r.fail(e.KeyPos, "Expected map or array to define accounts, got %s", e.Value.Kind)
	}
}

func newAccount(name string) *Account {
	return &Account{Name: name, Limits: AccountLimits{
		MaxConnections: DefaultMaxAccountLimit, MaxSubscriptions: DefaultMaxAccountLimit,
		MaxPayload: DefaultMaxAccountLimit, MaxLeafNodes: DefaultMaxAccountLimit,
	}}
}

func (o *Options) processAccountMap(r *reader, accounts *conf.Map) {
	// User names and nkeys must be unique across accounts.
	seen := map[string]bool{}
	for _, u := range o.Users {
		seen[u.Username] = true
	}
	for _, u := range o.Nkeys {
		seen[u.Nkey] = true
	}
	var parsed []*Account
	for _, e := range accounts.Entries {
		// A key of the accounts block read as `$NAME` is a variable, not an account.
		if e.UsedAsVariable {
			continue
		}
		if e.Value.Kind != conf.KindMap {
			r.fail(e.KeyPos, "Expected map entries for accounts")
			continue
		}
		if e.Key == DefaultGlobalAccount {
			r.fail(e.KeyPos, "%q is a Reserved Account", e.Key)
			continue
		}
		account := newAccount(e.Key)
		var usersEntry *conf.Entry
		for _, item := range e.Value.Map.Entries {
			switch strings.ToLower(item.Key) {
			case "nkey":
				if s, ok := r.str(item); ok {
					if !isPublicKeyShape(s, 'A') {
						r.fail(item.KeyPos, "Not a valid public nkey for an account: %q", s)
						continue
					}
					account.Nkey = s
				}
			case "users":
				usersEntry = item
				account.Nkeys, account.Users, _ = r.users(item, false)
			case "imports":
				account.Imports = r.imports(item)
			case "exports":
				account.Exports = r.exports(item)
			case "jetstream":
				account.JetStream, _ = r.accountJetStream(item)
			case "default_permissions":
				account.DefaultPermissions, _ = r.permissions(item)
			case "mappings", "maps":
				account.Mappings, _ = r.mappings(item)
			case "limits":
				r.accountLimits(item, &account.Limits)
			case "msg_trace", "trace_dest":
				account.MsgTrace = r.msgTrace(item)
			default:
				r.unknown(item)
			}
		}
		applyDefaultPermissions(account.Users, account.Nkeys, account.DefaultPermissions)
		for _, u := range account.Nkeys {
			if seen[u.Nkey] {
				r.fail(usersEntry.KeyPos, "Duplicate nkey %q detected", u.Nkey)
				continue
			}
			seen[u.Nkey] = true
			u.Account = account.Name
			o.Nkeys = append(o.Nkeys, u)
		}
		for _, u := range account.Users {
			if seen[u.Username] {
				r.fail(usersEntry.KeyPos, "Duplicate user %q detected", u.Username)
				continue
			}
			seen[u.Username] = true
			u.Account = account.Name
			o.Users = append(o.Users, u)
		}
		parsed = append(parsed, account)
		o.Accounts = append(o.Accounts, account)
	}
	o.checkImportsExports(r, accounts, parsed)
}

// checkImportsExports verifies that imports and exports name accounts that exist, as
// the reference does once every account is defined.
func (o *Options) checkImportsExports(r *reader, accounts *conf.Map, parsed []*Account) {
	known := map[string]bool{}
	for _, a := range o.Accounts {
		known[a.Name] = true
	}
	for _, a := range parsed {
		pos := accounts.Get(a.Name).KeyPos
		for _, x := range a.Exports {
			kind := "stream"
			if x.Service {
				kind = "service"
			}
			for _, name := range x.Accounts {
				if !known[name] {
					r.fail(pos, "%q account not defined for %s export", name, kind)
				}
			}
		}
		for _, im := range a.Imports {
			kind := "stream"
			if im.Service {
				kind = "service"
			}
			if !known[im.Account] {
				r.fail(pos, "%q account not defined for %s import", im.Account, kind)
			}
		}
	}
}

func (r *reader) accountLimits(e *conf.Entry, limits *AccountLimits) {
	m, ok := r.block(e, "account limits")
	if !ok {
		return
	}
	for _, item := range m.Entries {
		n, ok := int64(0), false
		switch strings.ToLower(item.Key) {
		case "max_connections", "max_conn":
			if n, ok = r.integer(item); ok {
				limits.MaxConnections = int(n)
			}
		case "max_subscriptions", "max_subs":
			if n, ok = r.integer(item); ok {
				limits.MaxSubscriptions = int(n)
			}
		case "max_payload", "max_pay":
			if n, ok = r.integer(item); ok {
				limits.MaxPayload = int(n)
			}
		case "max_leafnodes", "max_leafs":
			if n, ok = r.integer(item); ok {
				limits.MaxLeafNodes = int(n)
			}
		default:
			if !item.UsedAsVariable {
				r.fail(item.KeyPos, "Unknown field %q parsing account limits", item.Key)
			}
		}
	}
}

func (r *reader) msgTrace(e *conf.Entry) *MsgTraceOpts {
	trace := &MsgTraceOpts{}
	switch e.Value.Kind {
	case conf.KindString:
		trace.Destination = e.Value.String
		return trace
	case conf.KindMap:
	default:
		r.fail(e.KeyPos, "Expected account message trace to be a string or a map, got %s", e.Value.Kind)
		return nil
	}
	for _, item := range e.Value.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "dest", "destination":
			trace.Destination, _ = r.str(item)
		case "sampling":
			switch item.Value.Kind {
			case conf.KindInteger:
				trace.Sampling = int(item.Value.Integer)
			case conf.KindString:
				n, err := strconv.Atoi(strings.TrimSuffix(item.Value.String, "%"))
				if err != nil {
					r.fail(item.KeyPos, "Invalid trace destination sampling value %q", item.Value.String)
				}
				trace.Sampling = n
			default:
				r.wrongType(item.KeyPos, item.Key, "a percentage", item.Value)
			}
		default:
			r.unknown(item)
		}
	}
	return trace
}

// dynamicJetStreamLimits are the limits of `jetstream: enabled` in an account.
func dynamicJetStreamLimits() *JetStreamAccountLimits {
	return &JetStreamAccountLimits{
		MaxMemory: JetStreamLimitUnlimited, MaxStore: JetStreamLimitUnlimited,
		MaxStreams: JetStreamLimitUnlimited, MaxConsumers: JetStreamLimitUnlimited,
		MaxAckPending: JetStreamLimitUnlimited, MemoryMaxStreamBytes: JetStreamLimitUnlimited,
		StoreMaxStreamBytes: JetStreamLimitUnlimited,
	}
}

// accountJetStream reads an account's jetstream: a boolean, "enabled"/"disabled" or
// a map of limits.
func (r *reader) accountJetStream(e *conf.Entry) (*JetStreamAccountLimits, bool) {
	switch e.Value.Kind {
	case conf.KindBool:
		if e.Value.Bool {
			return dynamicJetStreamLimits(), true
		}
		return nil, true
	case conf.KindString:
		switch strings.ToLower(e.Value.String) {
		case "enabled", "enable":
			return dynamicJetStreamLimits(), true
		case "disabled", "disable":
			return nil, true
		}
		r.fail(e.KeyPos, "Expected 'enabled' or 'disabled' for string value, got '%s'", e.Value.String)
		return nil, false
	case conf.KindMap:
	default:
		r.fail(e.KeyPos, "Expected map, bool or string to define JetStream, got %s", e.Value.Kind)
		return nil, false
	}
	limits := dynamicJetStreamLimits()
	for _, item := range e.Value.Map.Entries {
		key := strings.ToLower(item.Key)
		switch key {
		case "max_memory", "max_mem", "mem", "memory":
			limits.MaxMemory, _ = r.size(item)
		case "max_store", "max_file", "max_disk", "store", "disk":
			limits.MaxStore, _ = r.size(item)
		case "max_streams", "streams":
			n, _ := r.size(item)
			limits.MaxStreams = int(n)
		case "max_consumers", "consumers":
			n, _ := r.size(item)
			limits.MaxConsumers = int(n)
		case "max_ack_pending":
			n, _ := r.size(item)
			limits.MaxAckPending = int(n)
		case "max_bytes_required", "max_stream_bytes", "max_bytes":
			if b, ok := r.boolean(item); ok {
				limits.MaxBytesRequired = b
			}
		case "mem_max_stream_bytes", "memory_max_stream_bytes":
			limits.MemoryMaxStreamBytes, _ = r.size(item)
		case "disk_max_stream_bytes", "store_max_stream_bytes":
			limits.StoreMaxStreamBytes, _ = r.size(item)
		case "cluster_traffic":
			if s, ok := r.str(item); ok {
				switch strings.ToLower(s) {
				case "system", "owner":
					limits.ClusterTraffic = strings.ToLower(s)
				default:
					r.fail(item.KeyPos, "unknown cluster traffic type %q", s)
				}
			}
		default:
			r.unknown(item)
		}
	}
	return limits, true
}

// size reads an integer size, or a string with a K, M, G or T suffix (powers of 1024),
// as the reference's getStorageSize does.
func (r *reader) size(e *conf.Entry) (int64, bool) {
	switch e.Value.Kind {
	case conf.KindInteger:
		return e.Value.Integer, true
	case conf.KindString:
		s := e.Value.String
		if s == "" {
			return 0, true
		}
		shifts := map[byte]uint{'K': 10, 'M': 20, 'G': 30, 'T': 40}
		shift, ok := shifts[s[len(s)-1]]
		if !ok {
			r.fail(e.KeyPos, "%s sizes defined as strings must end in K, M, G, T", e.Key)
			return 0, false
		}
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		if err != nil || n > (1<<63-1)>>shift {
			r.fail(e.KeyPos, "Expected a parseable size for %q, got %v", e.Key, s)
			return 0, false
		}
		return n << shift, true
	}
	r.fail(e.KeyPos, "Expected a parseable size for %q, got %s", e.Key, e.Value.Kind)
	return 0, false
}

// exports reads an account's exports array.
func (r *reader) exports(e *conf.Entry) []*Export {
	if e.Value.Kind != conf.KindArray {
		r.fail(e.KeyPos, "Exports should be an array, got %s", e.Value.Kind)
		return nil
	}
	var out []*Export
	for _, element := range e.Value.Array {
		if x := r.export(element); x != nil {
			out = append(out, x)
		}
	}
	return out
}

func (r *reader) export(v *conf.Value) *Export {
	if v.Kind != conf.KindMap {
		r.fail(v.Pos, "Export Items should be a map with type entry, got %s", v.Kind)
		return nil
	}
	x := &Export{}
	sawStream, sawService := false, false
	var responseEntry, latencyEntry, thresholdEntry *conf.Entry
	for _, item := range v.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "stream":
			if sawService {
				r.fail(item.KeyPos, "Detected stream %q but already saw a service", item.Value.Text)
				continue
			}
			if s, ok := r.str(item); ok {
				sawStream, x.Subject = true, s
			}
		case "service":
			if sawStream {
				r.fail(item.KeyPos, "Detected service %q but already saw a stream", item.Value.Text)
				continue
			}
			if s, ok := r.str(item); ok {
				sawService, x.Subject, x.Service = true, s, true
			}
		case "response", "response_type":
			if responseEntry != nil {
				r.fail(item.KeyPos, "Duplicate response type definition")
				continue
			}
			responseEntry = item
			if s, ok := r.str(item); ok {
				switch strings.ToLower(s) {
				case "single", "singleton":
					x.ResponseType = ResponseTypeSingleton
				case "stream":
					x.ResponseType = ResponseTypeStream
				case "chunk", "chunked":
					x.ResponseType = ResponseTypeChunked
				default:
					r.fail(item.KeyPos, "Unknown response type: %q", s)
				}
			}
		case "threshold", "response_threshold", "response_max_time", "response_time":
			if thresholdEntry != nil {
				r.fail(item.KeyPos, "Duplicate response threshold detected")
				continue
			}
			thresholdEntry = item
			if item.Value.Kind != conf.KindString {
				r.fail(item.KeyPos, "Expected response threshold to be a parseable time duration, got %s", item.Value.Kind)
				continue
			}
			if d, ok := r.strictDuration(item); ok {
				x.ResponseThreshold = d
			}
		case "accounts":
			x.Accounts, _ = r.stringList(item)
		case "latency":
			latencyEntry = item
			x.Latency = r.latency(item)
		case "account_token_position":
			if n, ok := r.integer(item); ok {
				x.AccountTokenPosition = uint(n)
			}
		case "allow_trace":
			x.AllowTrace, _ = r.boolean(item)
		default:
			r.unknown(item)
		}
	}
	if sawStream {
		for _, directive := range []*conf.Entry{responseEntry, thresholdEntry} {
			if directive != nil {
				r.fail(directive.KeyPos, "Detected response directive on non-service")
			}
		}
		if latencyEntry != nil {
			r.fail(latencyEntry.KeyPos, "Detected latency directive on non-service")
		}
	}
	if !sawStream && !sawService {
		r.fail(v.Pos, "Export Items should be a map with type entry, got no stream or service")
		return nil
	}
	if x.Service && x.ResponseType == "" {
		x.ResponseType = ResponseTypeSingleton
	}
	return x
}

func (r *reader) latency(e *conf.Entry) *ServiceLatency {
	const defaultSampling = 100
	if e.Value.Kind == conf.KindString {
		return &ServiceLatency{SamplingPercent: defaultSampling, Subject: e.Value.String}
	}
	if e.Value.Kind != conf.KindMap {
		r.fail(e.KeyPos, "Expected latency entry to be a map/struct or string, got %s", e.Value.Kind)
		return nil
	}
	latency := &ServiceLatency{SamplingPercent: defaultSampling}
	for _, item := range e.Value.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "sampling":
			switch item.Value.Kind {
			case conf.KindInteger:
				latency.SamplingPercent = int(item.Value.Integer)
			case conf.KindString:
				text := strings.TrimSpace(item.Value.String)
				if strings.EqualFold(text, "headers") {
					latency.SamplingHeaders, latency.SamplingPercent = true, 0
					continue
				}
				n, err := strconv.Atoi(strings.TrimSuffix(text, "%"))
				if err != nil {
					r.fail(item.KeyPos, "Failed to parse latency sample: %v", err)
					return nil
				}
				latency.SamplingPercent = n
			default:
				r.fail(item.KeyPos, "Expected latency sample to be a string or map/struct, got %s", item.Value.Kind)
				return nil
			}
			if !latency.SamplingHeaders && (latency.SamplingPercent < 1 || latency.SamplingPercent > 100) {
				r.fail(item.KeyPos, "sampling value should be in range [1..100]")
				return nil
			}
		case "subject":
			latency.Subject, _ = r.str(item)
		default:
			r.unknown(item)
		}
	}
	if latency.Subject == "" {
		r.fail(e.KeyPos, "Latency subject required, but missing")
		return nil
	}
	return latency
}

// imports reads an account's imports array.
func (r *reader) imports(e *conf.Entry) []*Import {
	if e.Value.Kind != conf.KindArray {
		r.fail(e.KeyPos, "Imports should be an array, got %s", e.Value.Kind)
		return nil
	}
	var out []*Import
	services := map[string]*Import{}
	for _, element := range e.Value.Array {
		im := r.importEntry(element)
		if im == nil {
			continue
		}
		if im.Service {
			if previous := services[im.To]; previous != nil {
				r.fail(element.Pos, "Duplicate service import subject %q, previously used in import for account %q, subject %q", im.To, previous.Account, previous.Subject)
				continue
			}
			services[im.To] = im
		}
		out = append(out, im)
	}
	return out
}

func (r *reader) importEntry(v *conf.Value) *Import {
	if v.Kind != conf.KindMap {
		r.fail(v.Pos, "Import Items should be a map with type entry, got %s", v.Kind)
		return nil
	}
	im := &Import{}
	sawStream, sawService := false, false
	for _, item := range v.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "stream", "service":
			isService := strings.EqualFold(item.Key, "service")
			if isService && sawStream {
				r.fail(item.KeyPos, "Detected service but already saw a stream")
				continue
			}
			if !isService && sawService {
				r.fail(item.KeyPos, "Detected stream but already saw a service")
				continue
			}
			if item.Value.Kind != conf.KindMap {
				what := "Stream"
				if isService {
					what = "Service"
				}
				r.fail(item.KeyPos, "%s entry should be an account map, got %s", what, item.Value.Kind)
				continue
			}
			for _, field := range item.Value.Map.Entries {
				switch strings.ToLower(field.Key) {
				case "account":
					im.Account, _ = r.str(field)
				case "subject":
					im.Subject, _ = r.str(field)
				default:
					r.unknown(field)
				}
			}
			if im.Account == "" || im.Subject == "" {
				r.fail(item.KeyPos, "Expect an account name and a subject")
				continue
			}
			im.Service = isService
			sawStream, sawService = sawStream || !isService, sawService || isService
		case "prefix":
			im.Prefix, _ = r.str(item)
		case "to":
			im.To, _ = r.str(item)
		case "share":
			im.Share, _ = r.boolean(item)
		case "allow_trace":
			im.AllowTrace, _ = r.boolean(item)
		default:
			r.unknown(item)
		}
	}
	if !sawStream && !sawService {
		return nil
	}
	if sawStream && im.Prefix != "" && im.To != "" {
		r.fail(v.Pos, "Stream import can not have a 'prefix' and a 'to' property")
		return nil
	}
	if im.Service && im.To == "" {
		im.To = im.Subject
	}
	return im
}

// mappings reads a mappings block: `subject: destination`, or weighted destinations
// `subject: [{destination: x, weight: 50%}, ...]`.
func (r *reader) mappings(e *conf.Entry) ([]*Mapping, bool) {
	m, ok := r.block(e, "mappings")
	if !ok {
		return nil, false
	}
	var out []*Mapping
	for _, item := range m.Entries {
		if !isValidSubject(item.Key) {
			r.fail(item.KeyPos, "Subject %q is not a valid subject", item.Key)
			continue
		}
		mapping := &Mapping{Source: item.Key}
		switch item.Value.Kind {
		case conf.KindString:
			mapping.Destinations = []*MappingDestination{{Subject: item.Value.String, Weight: 100}}
		case conf.KindArray:
			for _, element := range item.Value.Array {
				if d := r.mappingDestination(element); d != nil {
					mapping.Destinations = append(mapping.Destinations, d)
				}
			}
		case conf.KindMap:
			if d := r.mappingDestination(item.Value); d != nil {
				mapping.Destinations = append(mapping.Destinations, d)
			}
		default:
			r.fail(item.KeyPos, "Unknown type %s for mapping destination", item.Value.Kind)
			continue
		}
		total := 0
		for _, d := range mapping.Destinations {
			total += int(d.Weight)
		}
		if total > 100 {
			r.fail(item.KeyPos, "Error adding mapping for %q: total weight of %d%% exceeds 100%%", item.Key, total)
			continue
		}
		out = append(out, mapping)
	}
	return out, true
}

func (r *reader) mappingDestination(v *conf.Value) *MappingDestination {
	if v.Kind != conf.KindMap {
		r.fail(v.Pos, "Expected an entry for the mapping destination")
		return nil
	}
	d := &MappingDestination{}
	sawWeight := false
	for _, item := range v.Map.Entries {
		switch strings.ToLower(item.Key) {
		case "dest", "destination":
			d.Subject, _ = r.str(item)
		case "weight":
			var weight int64
			switch item.Value.Kind {
			case conf.KindString:
				text := strings.TrimSuffix(item.Value.String, "%")
				n, err := strconv.Atoi(text)
				if err != nil {
					r.fail(item.KeyPos, "Invalid weight %q for mapping destination", text)
					return nil
				}
				weight = int64(n)
			case conf.KindInteger:
				weight = item.Value.Integer
			default:
				r.fail(item.KeyPos, "Unknown entry type for weight of %v", item.Value.Text)
				return nil
			}
			if weight > 100 || weight < 0 {
				r.fail(item.KeyPos, "Invalid weight %d for mapping destination", weight)
				return nil
			}
			d.Weight, sawWeight = uint8(weight), true
		case "cluster":
			d.Cluster, _ = r.str(item)
		default:
			r.fail(item.KeyPos, "Unknown field %q for mapping destination", item.Key)
			return nil
		}
	}
	if !sawWeight {
		r.fail(v.Pos, "Missing weight for mapping destination %q", d.Subject)
		return nil
	}
	return d
}

// processResolver reads the account resolver: "MEMORY", "URL(<url>)" or a map.
func (o *Options) processResolver(r *reader, e *conf.Entry) {
	switch e.Value.Kind {
	case conf.KindString:
		text := strings.TrimSpace(e.Value.String)
		upper := strings.ToUpper(text)
		switch {
		case upper == "MEM" || upper == "MEMORY":
			o.AccountResolver = &ResolverOpts{Type: "MEMORY"}
		case strings.HasPrefix(upper, "URL(") && strings.HasSuffix(text, ")"):
			url := strings.Trim(strings.TrimSpace(text[4:len(text)-1]), `"`)
			o.AccountResolver = &ResolverOpts{Type: "URL", URL: url}
		default:
			r.fail(e.KeyPos, "error parsing account resolver, should be MEM or  URL(\"url\") or a map containing dir and type state=[FULL|CACHE])")
		}
	case conf.KindMap:
		resolver := &ResolverOpts{}
		for _, item := range e.Value.Map.Entries {
			switch strings.ToLower(item.Key) {
			case "type":
				if s, ok := r.str(item); ok {
					resolver.Type = strings.ToLower(s)
				}
			case "dir":
				resolver.Dir, _ = r.str(item)
			case "allow_delete":
				resolver.AllowDelete, _ = r.boolean(item)
			case "hard_delete":
				resolver.HardDelete, _ = r.boolean(item)
			case "limit":
				resolver.Limit, _ = r.integer(item)
			case "ttl":
				resolver.TTL, _ = r.strictDuration(item)
			case "interval":
				resolver.Interval, _ = r.strictDuration(item)
			case "timeout":
				resolver.Timeout, _ = r.strictDuration(item)
			default:
				r.unknown(item)
			}
		}
		if resolver.Dir == "" {
			r.fail(e.KeyPos, "dir has no value and needs to point to a directory")
			return
		}
		if resolver.Type != "full" && resolver.Type != "cache" {
			r.fail(e.KeyPos, "error parsing account resolver, should be MEM or  URL(\"url\") or a map containing dir and type state=[FULL|CACHE])")
			return
		}
		o.AccountResolver = resolver
	default:
		r.fail(e.KeyPos, "error parsing operator resolver, wrong type %s", e.Value.Kind)
	}
}

// processResolverPreload reads resolver_preload: account public keys to account
// JWTs. A value that is not an account JWT fails the configuration, as in the
// reference; whether the JWT is trusted is decided when the server starts.
func (o *Options) processResolverPreload(r *reader, e *conf.Entry) {
	if e.Value.Kind != conf.KindMap {
		r.fail(e.KeyPos, "error parsing resolver_preload, expected a map")
		return
	}
	preloads := make(map[string]string, len(e.Value.Map.Entries))
	for _, item := range e.Value.Map.Entries {
		token, ok := r.str(item)
		if !ok {
			return
		}
		if _, err := jwt.DecodeAccountClaims(token); err != nil {
			r.fail(item.KeyPos, "invalid account JWT")
			return
		}
		preloads[item.Key] = token
	}
	o.ResolverPreloads = preloads
}

// Validate checks the cross-key rules the reference enforces when a server starts
// (validateOptions): trusted keys and operators are not both given, and no_auth_user
// names a configured user or nkey.
func (o *Options) Validate() error {
	if len(o.TrustedKeys) > 0 && len(o.TrustedOperators) > 0 {
		return fmt.Errorf("conflicting options for 'TrustedKeys' and 'TrustedOperators'")
	}
	if o.NoAuthUser == "" {
		return nil
	}
	if len(o.TrustedOperators) > 0 {
		return fmt.Errorf("no_auth_user not compatible with Trusted Operator")
	}
	if o.Nkeys == nil && o.Users == nil {
		return fmt.Errorf("no_auth_user: %q present, but users/nkeys are not defined", o.NoAuthUser)
	}
	for _, u := range o.Users {
		if u.Username == o.NoAuthUser {
			return nil
		}
	}
	for _, u := range o.Nkeys {
		if u.Nkey == o.NoAuthUser {
			return nil
		}
	}
	return fmt.Errorf("no_auth_user: %q not present as user or nkey in authorization block or account configuration", o.NoAuthUser)
}

// AccountNames returns the configured account names, sorted.
func (o *Options) AccountNames() []string {
	names := make([]string, 0, len(o.Accounts))
	for _, a := range o.Accounts {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return names
}
