// Package conf parses the nats-server configuration language: `key: value`,
// `key = value` and `key value` assignments; maps `{}` and arrays `[]`; `#` and `//`
// comments; `include` directives; `$VARIABLE` references resolved in the enclosing
// blocks or else in the environment; size suffixes (1k, 1KB, 1MiB, ...); quoted and
// bare strings; booleans, integers, floats, ISO 8601 dates and IP-like bare values.
//
// The package is pure: it reads included files and environment variables only through
// the callbacks of Source, so it works the same in production and in the simulator.
// It must not import anything outside the standard library. The output is a tree of
// values that remember where they came from (file, line, column), so that whoever
// interprets the tree (node/opts) can report errors as `file.conf:12:3: message`.
//
// The language follows the reference parser (nats-server's conf package), including
// its quirks: "1k" is 1000 and "1KB" or "1Ki" is 1024; "2m" is the integer 2000000,
// not two minutes ("10s" and "1h" are strings, so durations should be quoted); an
// included file is parsed on its own and does not see the including file's variables;
// a later assignment of a key replaces the earlier one. Where the reference misbehaves,
// this parser is stricter or kinder, never different on input the reference accepts
// and handles sensibly:
//   - columns are 1-based on every line;
//   - a key without a value is an error instead of being dropped;
//   - `[1]` holds the integer 1 (the reference reads "1]" as a string and fails);
//   - a bare key ends at '{' or '[' as well as at white space and separators;
//   - an absolute include path is used as is; include chains, nesting and
//     environment variables that reference themselves are bounded;
//   - "$2b$" and "$2y$" bcrypt hashes are strings, like "$2a$" ones.
package conf

import (
	"fmt"
	"time"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of values the configuration language has.
const (
	KindString Kind = iota + 1
	KindInteger
	KindFloat
	KindBool
	KindDatetime
	KindArray
	KindMap
)

// String names the kind the way error messages do.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInteger:
		return "integer"
	case KindFloat:
		return "float"
	case KindBool:
		return "boolean"
	case KindDatetime:
		return "datetime"
	case KindArray:
		return "array"
	case KindMap:
		return "map"
	}
	return "unknown"
}

// Position is where a key or a value starts: the file name as the caller gave it (or
// the include path joined to the including file's directory), a 1-based line and a
// 1-based column counted in bytes.
type Position struct {
	File   string
	Line   int
	Column int
}

// String formats the position as `file:line:column`, or `line:column` without a file.
func (p Position) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Column)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Value is one node of the parsed tree. Exactly the field that matches Kind is
// meaningful, except Text, which every scalar has.
type Value struct {
	Kind Kind
	// Pos is where the value starts; for a variable reference, where the reference is.
	Pos Position
	// Text is the source text of a scalar: the decoded string for strings, the literal
	// for numbers ("1KB", "-3", "2.5"), booleans ("yes") and dates.
	Text string
	// String is the value of a KindString.
	String string
	// Integer is the value of a KindInteger, with any size suffix applied.
	Integer int64
	// Float is the value of a KindFloat.
	Float float64
	// Bool is the value of a KindBool.
	Bool bool
	// Datetime is the value of a KindDatetime (always UTC).
	Datetime time.Time
	// Array holds the elements of a KindArray.
	Array []*Value
	// Map holds the entries of a KindMap.
	Map *Map
	// Variable is the name of the variable this value was substituted for, if any.
	Variable string
}

// Map is an ordered map: entries keep the order in which their keys first appeared.
// A key assigned twice keeps its first place and takes the last value, as in the
// reference parser where the later assignment wins.
type Map struct {
	Entries []*Entry
	index   map[string]int
}

// Entry is one key of a map.
type Entry struct {
	Key string
	// KeyPos is where the key starts; errors about the entry point here.
	KeyPos Position
	Value  *Value
	// UsedAsVariable is true when a `$Key` reference somewhere read this entry. The
	// reference server does not report such entries as unknown fields, so a config
	// may define variables at the top level.
	UsedAsVariable bool
}

// NewMap returns an empty map.
func NewMap() *Map { return &Map{index: map[string]int{}} }

// Get returns the entry for key (case-sensitive), or nil.
func (m *Map) Get(key string) *Entry {
	if m == nil {
		return nil
	}
	if m.index != nil {
		if i, ok := m.index[key]; ok {
			return m.Entries[i]
		}
		return nil
	}
	for i := len(m.Entries) - 1; i >= 0; i-- {
		if m.Entries[i].Key == key {
			return m.Entries[i]
		}
	}
	return nil
}

// Set assigns key, keeping the key's first place if it already exists.
func (m *Map) Set(e *Entry) {
	if m.index == nil {
		m.index = make(map[string]int, len(m.Entries))
		for i, old := range m.Entries {
			m.index[old.Key] = i
		}
	}
	if i, ok := m.index[e.Key]; ok {
		m.Entries[i] = e
		return
	}
	m.index[e.Key] = len(m.Entries)
	m.Entries = append(m.Entries, e)
}

// Len returns the number of distinct keys.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.Entries)
}

// Interface converts the value to plain Go values the way the reference parser
// returns them: string, int64, float64, bool, time.Time, []any and map[string]any.
// Tests use it to compare trees.
func (v *Value) Interface() any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case KindString:
		return v.String
	case KindInteger:
		return v.Integer
	case KindFloat:
		return v.Float
	case KindBool:
		return v.Bool
	case KindDatetime:
		return v.Datetime
	case KindArray:
		out := make([]any, 0, len(v.Array))
		for _, element := range v.Array {
			out = append(out, element.Interface())
		}
		return out
	case KindMap:
		return v.Map.Interface()
	}
	return nil
}

// Interface converts the map to a map[string]any (see Value.Interface).
func (m *Map) Interface() map[string]any {
	out := make(map[string]any, m.Len())
	if m == nil {
		return out
	}
	for _, e := range m.Entries {
		out[e.Key] = e.Value.Interface()
	}
	return out
}

// Error is a syntax error or an unresolved reference, with the position it concerns.
type Error struct {
	Pos     Position
	Message string
}

// Error formats the error as `file:line:column: message`.
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Message }
