package opts

import (
	"fmt"
	"reflect"
	"sort"
)

// ChangeKind says which part of a running server a reloadable change touches.
type ChangeKind uint8

// The kinds of reloadable changes.
const (
	// ChangeLogging: the logger must be reconfigured.
	ChangeLogging ChangeKind = iota + 1
	// ChangeAuth: users, accounts and permissions must be rebuilt and every client
	// re-checked against them.
	ChangeAuth
	// ChangeLimits: connection limits, pings and deadlines; applied to new and
	// existing connections.
	ChangeLimits
	// ChangeTLS: the client TLS configuration; applied to new connections.
	ChangeTLS
	// ChangeInformational: values only reported (tags, metadata, advertise, files).
	ChangeInformational
)

// String names the kind.
func (k ChangeKind) String() string {
	switch k {
	case ChangeLogging:
		return "logging"
	case ChangeAuth:
		return "auth"
	case ChangeLimits:
		return "limits"
	case ChangeTLS:
		return "tls"
	case ChangeInformational:
		return "informational"
	}
	return "unknown"
}

// Change is one option that differs between two configurations and can be applied to a
// running server.
type Change struct {
	// Field is the Options field name, as in the reference's reload messages.
	Field string
	Kind  ChangeKind
	Old   any
	New   any
}

// reloadable maps each Options field that can change on reload to its kind; every
// other field, when it changes, makes the reload fail.
var reloadable = map[string]ChangeKind{
	"Trace": ChangeLogging, "TraceVerbose": ChangeLogging, "TraceHeaders": ChangeLogging,
	"Debug": ChangeLogging, "Logtime": ChangeLogging, "LogtimeUTC": ChangeLogging,
	"LogFile": ChangeLogging, "LogSizeLimit": ChangeLogging, "LogMaxFiles": ChangeLogging,
	"Syslog": ChangeLogging, "RemoteSyslog": ChangeLogging, "MaxTracedMsgLen": ChangeLogging,
	"NoLog": ChangeLogging,

	"Username": ChangeAuth, "Password": ChangeAuth, "Authorization": ChangeAuth,
	"AuthTimeout": ChangeAuth, "Users": ChangeAuth, "Nkeys": ChangeAuth,
	"Accounts": ChangeAuth, "DefaultPermissions": ChangeAuth, "Mappings": ChangeAuth,
	"DefaultSentinel": ChangeAuth, "NoAuthUser": ChangeAuth, "SystemAccount": ChangeAuth,

	"MaxConn": ChangeLimits, "MaxSubs": ChangeLimits, "MaxSubTokens": ChangeLimits,
	"MaxControlLine": ChangeLimits, "MaxPayload": ChangeLimits, "MaxPending": ChangeLimits,
	"PingInterval": ChangeLimits, "MaxPingsOut": ChangeLimits, "WriteDeadline": ChangeLimits,
	"WriteTimeout": ChangeLimits, "MaxClosedClients": ChangeLimits,
	"ConnectErrorReports": ChangeLimits, "ReconnectErrorReports": ChangeLimits,
	"LameDuckDuration": ChangeLimits, "LameDuckGracePeriod": ChangeLimits,
	"NoFastProducerStall": ChangeLimits,

	"TLS": ChangeTLS, "TLSVerify": ChangeTLS, "TLSMap": ChangeTLS, "TLSCert": ChangeTLS,
	"TLSKey": ChangeTLS, "TLSCaCert": ChangeTLS, "TLSTimeout": ChangeTLS,
	"TLSConfig": ChangeTLS, "TLSHandshakeFirst": ChangeTLS,

	"ServerTags": ChangeInformational, "ServerMetadata": ChangeInformational,
	"ClientAdvertise": ChangeInformational, "PidFile": ChangeInformational,
	"PortsFileDir": ChangeInformational,
}

// ignoredOnReload are fields that describe the load itself, not the server.
var ignoredOnReload = map[string]bool{"ConfigFile": true, "ConfigDigest": true, "CheckConfig": true, "Warnings": true, "NoSigs": true}

// Diff compares the running configuration with a reloaded one (both with SetDefaults
// applied; on SIGHUP, build the new one with ConfigureOptions and the original command
// line, so flags keep overriding the file). It returns the changes a running server can
// apply, in field order, or the reference's error for the first change it cannot:
// "config reload not supported for <Field>: old=<v>, new=<v>".
func Diff(old, new *Options) ([]Change, error) {
	oldValue, newValue := reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem()
	structType := oldValue.Type()
	var changes []Change
	for i := 0; i < structType.NumField(); i++ {
		field := structType.Field(i)
		if !field.IsExported() || ignoredOnReload[field.Name] {
			continue
		}
		before, after := oldValue.Field(i).Interface(), newValue.Field(i).Interface()
		if reflect.DeepEqual(before, after) {
			continue
		}
		if field.Name == "Deferred" {
			if err := diffDeferred(old, new); err != nil {
				return nil, err
			}
			continue
		}
		kind, ok := reloadable[field.Name]
		if ok {
			ok = reloadAllowed(field.Name, old, new)
		}
		if isRandomPortField(field.Name, new) {
			// A random port is not a change of port: the running server keeps the
			// one it picked.
			continue
		}
		if !ok {
			return nil, fmt.Errorf("config reload not supported for %s: old=%v, new=%v", field.Name, before, after)
		}
		changes = append(changes, Change{Field: field.Name, Kind: kind, Old: before, New: after})
	}
	return changes, nil
}

func isRandomPortField(field string, o *Options) bool {
	switch field {
	case "Port":
		return o.Port == RandomPort
	case "HTTPPort":
		return o.HTTPPort == RandomPort
	case "HTTPSPort":
		return o.HTTPSPort == RandomPort
	}
	return false
}

// reloadAllowed applies the reference's extra conditions on some auth fields.
func reloadAllowed(field string, old, new *Options) bool {
	switch field {
	case "NoAuthUser":
		// Clearing no_auth_user is allowed only if that user is gone too.
		if old.NoAuthUser == "" || new.NoAuthUser != "" {
			return false
		}
		for _, u := range new.Users {
			if u.Username == old.NoAuthUser {
				return false
			}
		}
		return true
	case "SystemAccount":
		// Only dropping an explicit default system account is not a change.
		return old.SystemAccount == DefaultSystemAccount && new.SystemAccount == ""
	}
	return true
}

// diffDeferred fails on any change of a key kept for a later issue, naming the key.
func diffDeferred(old, new *Options) error {
	keys := map[string]bool{}
	for k := range old.Deferred {
		keys[k] = true
	}
	for k := range new.Deferred {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		before, after := old.Deferred[k].Interface(), new.Deferred[k].Interface()
		if !reflect.DeepEqual(before, after) {
			return fmt.Errorf("config reload not supported for %s: old=%v, new=%v", k, before, after)
		}
	}
	return nil
}
