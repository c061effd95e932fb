package opts

import (
	"fmt"
	"strings"
	"time"

	"github.com/natsim/natsim/proto/conf"
)

// ConfigError is a problem with one key or value of a config file.
type ConfigError struct {
	Pos    conf.Position
	Reason string
}

// Error formats the error as the reference does: `file:line:column: reason`.
func (e *ConfigError) Error() string { return e.Pos.String() + ": " + e.Reason }

// UnknownFieldError is a key the reference does not know at that place.
type UnknownFieldError struct {
	Pos   conf.Position
	Field string
}

// Error formats the error as the reference does: `file:line:column: unknown field "x"`.
func (e *UnknownFieldError) Error() string {
	return fmt.Sprintf("%s: unknown field %q", e.Pos, e.Field)
}

// ConfigWarning is a deprecated but accepted form, such as a duration given as seconds.
type ConfigWarning struct {
	Pos    conf.Position
	Field  string
	Reason string
}

// Error formats the warning as the reference does:
// `file:line:column: invalid use of field "x": reason`.
func (e *ConfigWarning) Error() string {
	return fmt.Sprintf("%s: invalid use of field %q: %s", e.Pos, e.Field, e.Reason)
}

// ProcessConfigError gathers every error of a config file, so that one run reports them
// all; warnings are listed first, as in the reference.
type ProcessConfigError struct {
	Errors   []error
	Warnings []error
}

// Error lists the warnings then the errors, one per line.
func (e *ProcessConfigError) Error() string {
	lines := make([]string, 0, len(e.Warnings)+len(e.Errors))
	for _, w := range e.Warnings {
		lines = append(lines, w.Error())
	}
	for _, err := range e.Errors {
		lines = append(lines, err.Error())
	}
	return strings.Join(lines, "\n")
}

// reader turns config values into option values, collecting errors and warnings
// instead of stopping at the first one.
type reader struct {
	errors   []error
	warnings []error
}

func (r *reader) fail(pos conf.Position, format string, args ...any) {
	r.errors = append(r.errors, &ConfigError{Pos: pos, Reason: fmt.Sprintf(format, args...)})
}

func (r *reader) warn(pos conf.Position, field, reason string) {
	r.warnings = append(r.warnings, &ConfigWarning{Pos: pos, Field: field, Reason: reason})
}

// unknown reports an unknown key, unless a `$key` reference used it as a variable.
func (r *reader) unknown(e *conf.Entry) {
	if e.UsedAsVariable {
		return
	}
	r.errors = append(r.errors, &UnknownFieldError{Pos: e.KeyPos, Field: e.Key})
}

func (r *reader) wrongType(pos conf.Position, key string, want string, v *conf.Value) {
	r.fail(pos, "error parsing %q: expected %s, got %s", key, want, v.Kind)
}

// str reads a string value.
func (r *reader) str(e *conf.Entry) (string, bool) {
	return r.stringValue(e.KeyPos, e.Key, e.Value)
}

func (r *reader) stringValue(pos conf.Position, key string, v *conf.Value) (string, bool) {
	if v.Kind != conf.KindString {
		r.wrongType(pos, key, "a string", v)
		return "", false
	}
	return v.String, true
}

// integer reads an integer value (size suffixes already applied by the parser).
func (r *reader) integer(e *conf.Entry) (int64, bool) {
	if e.Value.Kind != conf.KindInteger {
		r.wrongType(e.KeyPos, e.Key, "an integer", e.Value)
		return 0, false
	}
	return e.Value.Integer, true
}

// intRange reads an integer that must fit between lowest and highest.
func (r *reader) intRange(e *conf.Entry, lowest, highest int64) (int64, bool) {
	n, ok := r.integer(e)
	if !ok {
		return 0, false
	}
	if n > highest {
		r.fail(e.KeyPos, "%s value is too big", e.Key)
		return 0, false
	}
	if n < lowest {
		r.fail(e.KeyPos, "%s value is too small", e.Key)
		return 0, false
	}
	return n, true
}

// boolean reads a boolean value.
func (r *reader) boolean(e *conf.Entry) (bool, bool) {
	if e.Value.Kind != conf.KindBool {
		r.wrongType(e.KeyPos, e.Key, "a boolean", e.Value)
		return false, false
	}
	return e.Value.Bool, true
}

// seconds reads a timeout given as seconds (integer or float) or as a duration string,
// the way the reference reads auth and TLS timeouts.
func (r *reader) seconds(e *conf.Entry) (float64, bool) {
	switch e.Value.Kind {
	case conf.KindInteger:
		return float64(e.Value.Integer), true
	case conf.KindFloat:
		return e.Value.Float, true
	case conf.KindString:
		d, err := time.ParseDuration(e.Value.String)
		if err != nil {
			r.fail(e.KeyPos, "error parsing %s: %v", e.Key, err)
			return 0, false
		}
		return d.Seconds(), true
	}
	r.wrongType(e.KeyPos, e.Key, "a number of seconds or a duration", e.Value)
	return 0, false
}

// duration reads a duration string ("2m"); a bare integer is accepted as seconds with
// the reference's warning.
func (r *reader) duration(e *conf.Entry) (time.Duration, bool) {
	switch e.Value.Kind {
	case conf.KindString:
		d, err := time.ParseDuration(e.Value.String)
		if err != nil {
			r.fail(e.KeyPos, "error parsing %s: %v", e.Key, err)
			return 0, false
		}
		return d, true
	case conf.KindInteger:
		r.warn(e.KeyPos, e.Key, e.Key+" should be converted to a duration")
		return time.Duration(e.Value.Integer) * time.Second, true
	}
	r.wrongType(e.KeyPos, e.Key, "a duration", e.Value)
	return 0, false
}

// strictDuration reads a duration that must be a string.
func (r *reader) strictDuration(e *conf.Entry) (time.Duration, bool) {
	if e.Value.Kind != conf.KindString {
		r.wrongType(e.KeyPos, e.Key, "a duration string", e.Value)
		return 0, false
	}
	d, err := time.ParseDuration(e.Value.String)
	if err != nil {
		r.fail(e.KeyPos, "error parsing %s: %v", e.Key, err)
		return 0, false
	}
	return d, true
}

// block reads a map value.
func (r *reader) block(e *conf.Entry, what string) (*conf.Map, bool) {
	if e.Value.Kind != conf.KindMap {
		r.fail(e.KeyPos, "Expected map to define %s, got %s", what, e.Value.Kind)
		return nil, false
	}
	return e.Value.Map, true
}

// stringList reads a string or an array of strings.
func (r *reader) stringList(e *conf.Entry) ([]string, bool) {
	switch e.Value.Kind {
	case conf.KindString:
		return []string{e.Value.String}, true
	case conf.KindArray:
		out := make([]string, 0, len(e.Value.Array))
		for _, element := range e.Value.Array {
			s, ok := r.stringValue(element.Pos, e.Key, element)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	r.wrongType(e.KeyPos, e.Key, "a string or an array of strings", e.Value)
	return nil, false
}

// hostPort is a parsed `listen` value.
type hostPort struct {
	host string
	port int
}

// listen reads `listen: port` or `listen: host:port`.
func (r *reader) listen(e *conf.Entry) (hostPort, bool) {
	switch e.Value.Kind {
	case conf.KindInteger:
		return hostPort{port: int(e.Value.Integer)}, true
	case conf.KindString:
		host, port, ok := splitHostPort(e.Value.String)
		if !ok {
			r.fail(e.KeyPos, "could not parse address string %q", e.Value.String)
			return hostPort{}, false
		}
		n, err := parsePort(port)
		if err != nil {
			r.fail(e.KeyPos, "could not parse port %q", port)
			return hostPort{}, false
		}
		return hostPort{host: host, port: n}, true
	}
	r.fail(e.KeyPos, "expected port or host:port, got %s", e.Value.Kind)
	return hostPort{}, false
}

// splitHostPort splits "host:port", "[v6]:port" or ":port" without the net package.
func splitHostPort(s string) (host, port string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	host, port = s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", "", false
		}
		host = host[1 : len(host)-1]
	} else if strings.ContainsAny(host, ":[]") {
		return "", "", false
	}
	return host, port, true
}

func parsePort(s string) (int, error) {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil || fmt.Sprint(n) != s {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}
