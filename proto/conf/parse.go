package conf

import (
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
)

// Source gives the parser the outside world it may read. Both callbacks are optional:
// without ReadFile an include is an error, without LookupEnv a variable that no
// enclosing block defines is an error.
type Source struct {
	// ReadFile returns the contents of an included file. The name is the include path
	// joined to the directory of the including file (slash-separated), or the include
	// path itself when it is absolute.
	ReadFile func(name string) ([]byte, error)
	// LookupEnv returns the value of an environment variable, like os.LookupEnv.
	LookupEnv func(name string) (string, bool)
}

// Limits that keep hostile input from recursing without bound.
const (
	// nestingDepthMax bounds how deeply maps and arrays may nest.
	nestingDepthMax = 100
	// includeDepthMax bounds include chains; a file that includes itself hits it.
	includeDepthMax = 16
	// environmentDepthMax bounds environment variables whose values reference other
	// environment variables; a variable that references itself hits it.
	environmentDepthMax = 8
)

// environmentKey is the key under which an environment variable's value is parsed,
// as the reference does (`pk=<value>`), so the value gets the language's typing.
const environmentKey = "pk"

// endOfInput is what peek returns past the last byte.
const endOfInput = -1

// Parse parses one configuration file. The name is used in positions and to resolve
// relative includes; it may be empty. The result is the top-level map.
func Parse(data []byte, name string, source Source) (*Map, error) {
	return parseDocument(data, name, source, 0, 0)
}

// ParseValue parses a single value written in the configuration language, such as an
// environment variable's contents or a command-line override: `4222`, `1MB`, `[a, b]`.
func ParseValue(text string, source Source) (*Value, error) {
	m, err := parseDocument([]byte(environmentKey+"="+text), "", source, 0, 0)
	if err != nil {
		return nil, err
	}
	e := m.Get(environmentKey)
	if e == nil {
		return nil, &Error{Pos: Position{Line: 1, Column: 1}, Message: "no value"}
	}
	return e.Value, nil
}

func parseDocument(data []byte, name string, source Source, includeDepth, environmentDepth int) (*Map, error) {
	p := &parser{
		data:             data,
		file:             name,
		line:             1,
		source:           source,
		includeDepth:     includeDepth,
		environmentDepth: environmentDepth,
	}
	// A UTF-8 byte order mark is not part of the first key.
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		p.pos = 3
		p.lineStart = 3
	}
	root := NewMap()
	p.scopes = append(p.scopes, root)
	p.skipBlank()
	if p.peek() == '{' {
		// The whole file may be wrapped in braces, JSON style.
		p.advance()
		if err := p.parseEntries(root, '}', 1); err != nil {
			return nil, err
		}
		p.skipBlank()
		if c := p.peek(); c != endOfInput {
			return nil, p.errorf("Unexpected '%s' after the closing '}' of the top-level block.", describe(c))
		}
		return root, nil
	}
	if err := p.parseEntries(root, endOfInput, 0); err != nil {
		return nil, err
	}
	return root, nil
}

type parser struct {
	data      []byte
	file      string
	pos       int
	line      int
	lineStart int
	source    Source
	// scopes are the maps being filled, outermost first; `$NAME` looks NAME up in them
	// from the innermost outwards, as the reference does (arrays are not scopes).
	scopes           []*Map
	includeDepth     int
	environmentDepth int
}

func (p *parser) peek() int {
	if p.pos >= len(p.data) {
		return endOfInput
	}
	return int(p.data[p.pos])
}

func (p *parser) peekAt(offset int) int {
	if p.pos+offset >= len(p.data) {
		return endOfInput
	}
	return int(p.data[p.pos+offset])
}

func (p *parser) advance() {
	if p.pos >= len(p.data) {
		return
	}
	if p.data[p.pos] == '\n' {
		p.line++
		p.lineStart = p.pos + 1
	}
	p.pos++
}

func (p *parser) position() Position {
	return Position{File: p.file, Line: p.line, Column: p.pos - p.lineStart + 1}
}

func (p *parser) errorf(format string, args ...any) error {
	return &Error{Pos: p.position(), Message: fmt.Sprintf(format, args...)}
}

func errorAt(pos Position, format string, args ...any) error {
	return &Error{Pos: pos, Message: fmt.Sprintf(format, args...)}
}

// describe prints a byte for an error message, escaping the invisible ones.
func describe(c int) string {
	switch c {
	case endOfInput:
		return "EOF"
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf(`\x%02x`, c)
	}
	return string(rune(c))
}

func isSpace(c int) bool { return c == ' ' || c == '\t' }

func isNewline(c int) bool { return c == '\n' || c == '\r' }

func isBlank(c int) bool { return isSpace(c) || isNewline(c) || c == '\v' || c == '\f' }

func isDigit(c int) bool { return c >= '0' && c <= '9' }

func isSizeSuffix(c int) bool {
	switch c {
	case 'k', 'K', 'm', 'M', 'g', 'G', 't', 'T', 'p', 'P', 'e', 'E':
		return true
	}
	return false
}

// endsNumber reports whether c ends a number literal; anything else turns the
// literal into a bare string ("10s", "4222abc"), as in the reference.
func endsNumber(c int) bool {
	return c == endOfInput || isSpace(c) || isNewline(c) || c == '}' || c == ']' || c == ';' || c == ','
}

// endsBareString reports whether c ends an unquoted string.
func endsBareString(c int) bool {
	return c == endOfInput || isSpace(c) || isNewline(c) || c == ';' || c == ',' || c == ']' || c == '}'
}

// startsComment reports whether a comment (`#` or `//`) starts at the cursor.
func (p *parser) startsComment() bool {
	c := p.peek()
	return c == '#' || (c == '/' && p.peekAt(1) == '/')
}

func (p *parser) skipComment() {
	for c := p.peek(); c != endOfInput && !isNewline(c); c = p.peek() {
		p.advance()
	}
}

// skipBlank skips spaces, new lines and comments.
func (p *parser) skipBlank() {
	for {
		switch c := p.peek(); {
		case isBlank(c):
			p.advance()
		case p.startsComment():
			p.skipComment()
		default:
			return
		}
	}
}

// skipSpaces skips spaces and tabs, not new lines.
func (p *parser) skipSpaces() {
	for isSpace(p.peek()) {
		p.advance()
	}
}

// parseEntries reads `key value` entries into m until closing ('}' or endOfInput).
func (p *parser) parseEntries(m *Map, closing int, depth int) error {
	top := closing == endOfInput || depth == 1 && len(p.scopes) == 1
	for {
		p.skipBlank()
		c := p.peek()
		if c == closing {
			p.advance()
			return nil
		}
		switch c {
		case endOfInput:
			return p.errorf("Unexpected EOF processing map.")
		case '=', ':':
			return p.errorf("Unexpected key separator '%s'", describe(c))
		case ';', ',', ']', '}', '{', '[':
			return p.errorf("Unexpected '%s' where a key was expected", describe(c))
		}
		keyPos := p.position()
		key, quoted, err := p.parseKey()
		if err != nil {
			return err
		}
		if !quoted && strings.EqualFold(key, "include") && isBlank(p.peek()) {
			if err := p.parseInclude(m, keyPos); err != nil {
				return err
			}
		} else if err := p.parseAssignment(m, key, keyPos, depth); err != nil {
			return err
		}
		if err := p.parseEntryEnd(closing, top); err != nil {
			return err
		}
	}
}

// parseAssignment reads the optional separator and the value of key, and stores it.
func (p *parser) parseAssignment(m *Map, key string, keyPos Position, depth int) error {
	// The reference lets new lines sit between a key and its separator or value.
	p.skipBlank()
	switch c := p.peek(); c {
	case endOfInput, '}':
		return errorAt(keyPos, "config is invalid: key '%s' has no value", key)
	case '=', ':':
		p.advance()
		p.skipSpaces()
	}
	value, err := p.parseValue(depth + 1)
	if err != nil {
		return err
	}
	m.Set(&Entry{Key: key, KeyPos: keyPos, Value: value})
	return nil
}

// parseEntryEnd checks what follows a value in a map: a comment, a new line, ';', ','
// or the closing brace (left for parseEntries).
func (p *parser) parseEntryEnd(closing int, top bool) error {
	p.skipSpaces()
	if p.startsComment() {
		p.skipComment()
	}
	c := p.peek()
	switch {
	case isNewline(c) || c == ';' || c == ',':
		p.advance()
		return nil
	case c == closing || c == endOfInput:
		return nil
	}
	if top {
		return p.errorf("Expected a top-level value to end with a new line, comment or EOF, but got '%s' instead.", describe(c))
	}
	return p.errorf("Expected a map value terminator ',' or a map terminator '}', but got '%s' instead.", describe(c))
}

// parseKey reads a quoted or bare key.
func (p *parser) parseKey() (key string, quoted bool, err error) {
	c := p.peek()
	if c == '"' || c == '\'' {
		p.advance()
		start := p.pos
		for {
			switch p.peek() {
			case endOfInput:
				return "", true, p.errorf("Unexpected EOF processing quoted map key.")
			case c:
				key := string(p.data[start:p.pos])
				p.advance()
				return key, true, nil
			}
			p.advance()
		}
	}
	start := p.pos
	for {
		c := p.peek()
		if c == endOfInput || isBlank(c) || c == '=' || c == ':' || c == '{' || c == '[' || c == '}' || c == ';' || c == ',' {
			break
		}
		p.advance()
	}
	return string(p.data[start:p.pos]), false, nil
}

// parseInclude reads `include path ["digest"]` (the keyword is consumed) and merges the
// included file's top-level entries into m.
func (p *parser) parseInclude(m *Map, keyPos Position) error {
	p.skipSpaces()
	pathPos := p.position()
	name, err := p.parseIncludePath()
	if err != nil {
		return err
	}
	// Newer references accept a quoted digest after the path; it is read and not checked.
	p.skipSpaces()
	if c := p.peek(); c == '"' || c == '\'' {
		if _, err := p.parseQuotedRaw(byte(c)); err != nil {
			return err
		}
	}
	if p.source.ReadFile == nil {
		return errorAt(keyPos, "error parsing include file '%s', includes are not available here", name)
	}
	if p.includeDepth >= includeDepthMax {
		return errorAt(keyPos, "error parsing include file '%s', includes nest deeper than %d", name, includeDepthMax)
	}
	full := name
	if !path.IsAbs(name) && p.file != "" {
		full = path.Join(path.Dir(p.file), name)
	}
	data, err := p.source.ReadFile(full)
	if err != nil {
		return errorAt(pathPos, "error parsing include file '%s', %v", name, err)
	}
	included, err := parseDocument(data, full, p.source, p.includeDepth+1, p.environmentDepth)
	if err != nil {
		return errorAt(pathPos, "error parsing include file '%s', %v", name, err)
	}
	for _, e := range included.Entries {
		m.Set(e)
	}
	return nil
}

func (p *parser) parseIncludePath() (string, error) {
	c := p.peek()
	switch {
	case c == '"' || c == '\'':
		return p.parseQuotedRaw(byte(c))
	case c == '[':
		return "", p.errorf("Expected include value but found start of an array")
	case c == '{':
		return "", p.errorf("Expected include value but found start of a map")
	case c == '(':
		return "", p.errorf("Expected include value but found start of a block")
	case isDigit(c) || c == '-':
		return "", p.errorf("Expected include value but found start of a number")
	case c == '\\':
		return "", p.errorf("Expected include value but found escape sequence")
	case isBlank(c):
		return "", p.errorf("Expected include value but found new line")
	case c == endOfInput:
		return "", p.errorf("Expected include value but found EOF")
	}
	start := p.pos
	for c := p.peek(); c != endOfInput && !isBlank(c) && c != ';' && c != '}'; c = p.peek() {
		p.advance()
	}
	return string(p.data[start:p.pos]), nil
}

// parseQuotedRaw reads a string between quote characters, without escapes.
func (p *parser) parseQuotedRaw(quote byte) (string, error) {
	p.advance()
	start := p.pos
	for {
		switch c := p.peek(); c {
		case endOfInput:
			return "", p.errorf("Unexpected EOF.")
		case int(quote):
			s := string(p.data[start:p.pos])
			p.advance()
			return s, nil
		}
		p.advance()
	}
}

// parseValue reads any value at the cursor.
func (p *parser) parseValue(depth int) (*Value, error) {
	if depth > nestingDepthMax {
		return nil, p.errorf("maps and arrays nest deeper than %d", nestingDepthMax)
	}
	pos := p.position()
	c := p.peek()
	switch {
	case c == '[':
		return p.parseArray(pos, depth)
	case c == '{':
		p.advance()
		m := NewMap()
		p.scopes = append(p.scopes, m)
		err := p.parseEntries(m, '}', depth)
		p.scopes = p.scopes[:len(p.scopes)-1]
		if err != nil {
			return nil, err
		}
		return &Value{Kind: KindMap, Pos: pos, Map: m}, nil
	case c == '\'':
		s, err := p.parseQuotedRaw('\'')
		if err != nil {
			return nil, err
		}
		return &Value{Kind: KindString, Pos: pos, Text: s, String: s}, nil
	case c == '"':
		p.advance()
		return p.parseString(pos, p.pos, true)
	case c == '(':
		return p.parseBlock(pos)
	case c == '-':
		return p.parseNegativeNumber(pos)
	case isDigit(c):
		return p.parseNumber(pos)
	case c == '.':
		return nil, p.errorf("Floats must start with a digit")
	case isNewline(c):
		return nil, p.errorf("Expected value but found new line")
	case c == endOfInput:
		return nil, p.errorf("Expected value but found EOF")
	}
	return p.parseString(pos, p.pos, false)
}

func (p *parser) parseArray(pos Position, depth int) (*Value, error) {
	p.advance()
	v := &Value{Kind: KindArray, Pos: pos, Array: []*Value{}}
	for {
		p.skipBlank()
		switch c := p.peek(); c {
		case endOfInput:
			return nil, p.errorf("Unexpected EOF processing array.")
		case ']':
			p.advance()
			return v, nil
		case ',':
			return nil, p.errorf("Unexpected array value terminator ','.")
		}
		element, err := p.parseValue(depth + 1)
		if err != nil {
			return nil, err
		}
		v.Array = append(v.Array, element)
		p.skipSpaces()
		if p.startsComment() {
			p.skipComment()
		}
		switch c := p.peek(); {
		case c == ',' || isNewline(c):
			p.advance()
		case c == ']' || c == endOfInput:
		default:
			return nil, p.errorf("Expected an array value terminator ',' or an array terminator ']', but got '%s' instead.", describe(c))
		}
	}
}

// parseString reads a double-quoted string (quoted: the opening quote is consumed) or
// a bare string starting at start. A bare string ends at white space, a new line,
// ';', ',', ']' or '}' (or a single quote, which is consumed); it may turn out to be a
// boolean or a variable reference.
func (p *parser) parseString(pos Position, start int, quoted bool) (*Value, error) {
	var decoded []byte
	escaped := false
	for {
		c := p.peek()
		if quoted && c == endOfInput {
			return nil, p.errorf("Unexpected EOF.")
		}
		if quoted && c == '"' || !quoted && (endsBareString(c) || c == '\'') {
			break
		}
		if c == '\\' {
			if !escaped {
				decoded = append(decoded, p.data[start:p.pos]...)
				escaped = true
			}
			p.advance()
			b, err := p.parseEscape()
			if err != nil {
				return nil, err
			}
			decoded = append(decoded, b...)
			continue
		}
		if escaped {
			decoded = append(decoded, byte(c))
		}
		p.advance()
	}
	text := string(p.data[start:p.pos])
	if escaped {
		text = string(decoded)
	}
	if c := p.peek(); c == '"' || c == '\'' {
		p.advance()
	}
	if quoted || escaped {
		return &Value{Kind: KindString, Pos: pos, Text: text, String: text}, nil
	}
	switch strings.ToLower(text) {
	case "true", "yes", "on":
		return &Value{Kind: KindBool, Pos: pos, Text: text, Bool: true}, nil
	case "false", "no", "off":
		return &Value{Kind: KindBool, Pos: pos, Text: text, Bool: false}, nil
	}
	if strings.HasPrefix(text, "$") {
		return p.lookupVariable(pos, text[1:])
	}
	return &Value{Kind: KindString, Pos: pos, Text: text, String: text}, nil
}

// parseEscape reads the character after a backslash.
func (p *parser) parseEscape() ([]byte, error) {
	c := p.peek()
	switch c {
	case 't':
		p.advance()
		return []byte{'\t'}, nil
	case 'n':
		p.advance()
		return []byte{'\n'}, nil
	case 'r':
		p.advance()
		return []byte{'\r'}, nil
	case '"':
		p.advance()
		return []byte{'"'}, nil
	case '\\':
		p.advance()
		return []byte{'\\'}, nil
	case 'x':
		p.advance()
		if isNewline(p.peek()) || isNewline(p.peekAt(1)) || p.peekAt(1) == endOfInput {
			return nil, p.errorf("Expected two hexadecimal digits after '\\x', but hit end of line")
		}
		digits := string(p.data[p.pos : p.pos+2])
		b, err := hex.DecodeString(digits)
		if err != nil {
			return nil, p.errorf("Expected two hexadecimal digits after '\\x', but got '%s'", digits)
		}
		p.advance()
		p.advance()
		return b, nil
	}
	return nil, p.errorf("Invalid escape character '%s'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.", describe(c))
}

// parseBlock reads `( ... )` where the closing parenthesis stands alone on its line;
// the text in between is a string, taken verbatim.
func (p *parser) parseBlock(pos Position) (*Value, error) {
	p.advance()
	start := p.pos
	for {
		c := p.peek()
		if c == endOfInput {
			return nil, p.errorf("Unexpected EOF processing block.")
		}
		if c == ')' && p.pos > start && p.data[p.pos-1] == '\n' {
			if next := p.peekAt(1); next == '\n' || next == endOfInput {
				text := string(p.data[start:p.pos])
				p.advance()
				return &Value{Kind: KindString, Pos: pos, Text: text, String: text}, nil
			}
		}
		p.advance()
	}
}

func (p *parser) skipDigits() {
	for isDigit(p.peek()) {
		p.advance()
	}
}

// parseNumber reads what starts with a digit: an integer (maybe with a size suffix), a
// float, a date, an IP-like string ("127.0.0.1:4222") or a bare string ("10s").
func (p *parser) parseNumber(pos Position) (*Value, error) {
	start := p.pos
	p.skipDigits()
	c := p.peek()
	switch {
	case c == '-':
		if p.pos-start != 4 {
			return nil, p.errorf("All ISO8601 dates must be in full Zulu form.")
		}
		return p.parseDatetime(pos, start)
	case c == '.':
		return p.parseFloat(pos, start)
	case isSizeSuffix(c):
		p.advance()
		for c := p.peek(); c == 'b' || c == 'B' || c == 'i' || c == 'I'; c = p.peek() {
			p.advance()
		}
		if endsNumber(p.peek()) {
			return p.integer(pos, string(p.data[start:p.pos]))
		}
		return p.parseString(pos, start, false)
	case endsNumber(c):
		return p.integer(pos, string(p.data[start:p.pos]))
	}
	return p.parseString(pos, start, false)
}

func (p *parser) parseNegativeNumber(pos Position) (*Value, error) {
	start := p.pos
	p.advance()
	if c := p.peek(); !isDigit(c) {
		if c == '.' {
			return nil, p.errorf("Floats must start with a digit, not '.'.")
		}
		return nil, p.errorf("Expected a digit but got '%s'.", describe(c))
	}
	p.skipDigits()
	switch c := p.peek(); {
	case c == '.':
		return p.parseFloat(pos, start)
	case isSizeSuffix(c):
		p.advance()
		for c := p.peek(); c == 'b' || c == 'B' || c == 'i' || c == 'I'; c = p.peek() {
			p.advance()
		}
	}
	return p.integer(pos, string(p.data[start:p.pos]))
}

// parseFloat reads the fraction of a float whose integer part starts at start; a
// second '.' makes it an IP-like string.
func (p *parser) parseFloat(pos Position, start int) (*Value, error) {
	p.advance()
	if c := p.peek(); !isDigit(c) {
		return nil, p.errorf("Floats must have a digit after the '.', but got '%s' instead.", describe(c))
	}
	p.skipDigits()
	if p.peek() == '.' {
		for c := p.peek(); isDigit(c) || c == '.' || c == ':' || c == '-'; c = p.peek() {
			p.advance()
		}
		text := string(p.data[start:p.pos])
		return &Value{Kind: KindString, Pos: pos, Text: text, String: text}, nil
	}
	text := string(p.data[start:p.pos])
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, errorAt(pos, "float '%s' is out of the range", text)
	}
	return &Value{Kind: KindFloat, Pos: pos, Text: text, Float: f}, nil
}

// sizeMultipliers are the size suffixes: a bare letter is a power of 1000, with a `b`,
// `i` or `ib` it is a power of 1024 ("1k" is 1000, "1KB" and "1Ki" are 1024).
var sizeMultipliers = map[string]int64{
	"":  1,
	"k": 1e3, "kb": 1 << 10, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1 << 20, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1 << 30, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1 << 40, "ti": 1 << 40, "tib": 1 << 40,
	"p": 1e15, "pb": 1 << 50, "pi": 1 << 50, "pib": 1 << 50,
	"e": 1e18, "eb": 1 << 60, "ei": 1 << 60, "eib": 1 << 60,
}

// integer converts an integer literal with an optional size suffix.
func (p *parser) integer(pos Position, text string) (*Value, error) {
	digits := len(text)
	for i := 0; i < len(text); i++ {
		if !isDigit(int(text[i])) && !(i == 0 && text[i] == '-') {
			digits = i
			break
		}
	}
	n, err := strconv.ParseInt(text[:digits], 10, 64)
	if err != nil {
		return nil, errorAt(pos, "Value '%s' is outside of the integer range", text)
	}
	multiplier, ok := sizeMultipliers[strings.ToLower(text[digits:])]
	if !ok {
		return nil, errorAt(pos, "expected integer, but got '%s'", text)
	}
	if multiplier != 1 && (n > math.MaxInt64/multiplier || n < math.MinInt64/multiplier) {
		return nil, errorAt(pos, "integer '%s' is out of the range", text)
	}
	return &Value{Kind: KindInteger, Pos: pos, Text: text, Integer: n * multiplier}, nil
}

// parseDatetime reads the rest of a `YYYY-MM-DDTHH:MM:SSZ` date; the year is read.
func (p *parser) parseDatetime(pos Position, start int) (*Value, error) {
	const layout = "-00-00T00:00:00Z"
	for i := 0; i < len(layout); i++ {
		c := p.peek()
		if layout[i] == '0' {
			if !isDigit(c) {
				return nil, p.errorf("Expected digit in ISO8601 datetime, but found '%s' instead.", describe(c))
			}
		} else if c != int(layout[i]) {
			return nil, p.errorf("Expected '%c' in ISO8601 datetime, but found '%s' instead.", layout[i], describe(c))
		}
		p.advance()
	}
	text := string(p.data[start:p.pos])
	t, err := time.Parse("2006-01-02T15:04:05Z", text)
	if err != nil {
		return nil, errorAt(pos, "expected Zulu formatted DateTime, but got '%s'", text)
	}
	return &Value{Kind: KindDatetime, Pos: pos, Text: text, Datetime: t}, nil
}

// bcryptPrefixes mark bare values that look like variables but are bcrypt hashes
// ("$2a$11$..."); they stay strings so passwords need no quotes.
var bcryptPrefixes = []string{"2a$", "2b$", "2y$"}

// lookupVariable resolves `$name`: first in the maps being filled, innermost first,
// then in the environment, whose value is parsed as a configuration value.
func (p *parser) lookupVariable(pos Position, name string) (*Value, error) {
	for _, prefix := range bcryptPrefixes {
		if strings.HasPrefix(name, prefix) {
			text := "$" + name
			return &Value{Kind: KindString, Pos: pos, Text: text, String: text}, nil
		}
	}
	for i := len(p.scopes) - 1; i >= 0; i-- {
		if e := p.scopes[i].Get(name); e != nil {
			e.UsedAsVariable = true
			v := *e.Value
			v.Pos = pos
			v.Variable = name
			return &v, nil
		}
	}
	if p.source.LookupEnv != nil {
		if text, ok := p.source.LookupEnv(name); ok {
			if p.environmentDepth >= environmentDepthMax {
				return nil, errorAt(pos, "variable reference for '%s' on line %d could not be parsed: environment variables nest deeper than %d", name, pos.Line, environmentDepthMax)
			}
			m, err := parseDocument([]byte(environmentKey+"="+text), "", p.source, p.includeDepth, p.environmentDepth+1)
			if err != nil {
				return nil, errorAt(pos, "variable reference for '%s' on line %d could not be parsed: %v", name, pos.Line, err)
			}
			e := m.Get(environmentKey)
			if e == nil {
				return nil, errorAt(pos, "variable reference for '%s' on line %d could not be parsed: no value", name, pos.Line)
			}
			v := *e.Value
			v.Pos = pos
			v.Variable = name
			return &v, nil
		}
	}
	return nil, errorAt(pos, "variable reference for '%s' on line %d can not be found", name, pos.Line)
}
