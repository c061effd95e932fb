// Package header is the NATS message header block as pure functions over bytes:
//
//	NATS/1.0[ <code>[ <description>]]\r\n
//	<key>: <value>\r\n
//	...
//	\r\n
//
// Build appends a block, Parse validates one and exposes its status and fields
// without copying, and Get looks one key up without parsing the rest. Keys compare
// exactly, as the reference server does; GetFold compares them without regard to
// letter case, as clients do. It imports only the standard library.
package header

import (
	"bytes"
	"errors"
	"strconv"
)

// Version is the first token of every header block.
const Version = "NATS/1.0"

// Line endings and the empty block.
const (
	lineEnd = "\r\n"
	// Empty is a block with no status and no fields.
	Empty = Version + "\r\n\r\n"
)

// FieldsMax bounds how many fields Parse accepts, so a hostile block cannot make a
// caller build an unbounded index.
const FieldsMax = 1024

// Errors Parse reports.
var (
	ErrNoVersion     = errors.New("header: missing NATS/1.0 version")
	ErrBadStatus     = errors.New("header: malformed status line")
	ErrUnterminated  = errors.New("header: block does not end with an empty line")
	ErrBadField      = errors.New("header: malformed field line")
	ErrTooManyFields = errors.New("header: too many fields")
	ErrTrailingBytes = errors.New("header: bytes after the end of the block")
)

// Field is one "key: value" line; both slices alias the parsed block.
type Field struct {
	Key   []byte
	Value []byte
}

// Header is a parsed block. Description and the fields alias the bytes given to Parse.
type Header struct {
	// Status is the status code, 0 when the block has none.
	Status      int
	Description []byte
	Fields      []Field
}

// Get returns the first value of key (exact match), and whether it was present.
func (h *Header) Get(key string) ([]byte, bool) {
	for _, field := range h.Fields {
		if string(field.Key) == key {
			return field.Value, true
		}
	}
	return nil, false
}

// Values returns every value of key (exact match), in order.
func (h *Header) Values(key string) [][]byte {
	var values [][]byte
	for _, field := range h.Fields {
		if string(field.Key) == key {
			values = append(values, field.Value)
		}
	}
	return values
}

// Parse validates a complete header block and returns its status and fields. The
// block must end exactly at its empty line. Values are trimmed of surrounding spaces
// and tabs; a line without a colon, or with an empty key, is an error.
func Parse(block []byte) (Header, error) {
	var h Header
	line, rest, ok := cutLine(block)
	if !ok {
		return Header{}, ErrUnterminated
	}
	status, description, err := parseStatusLine(line)
	if err != nil {
		return Header{}, err
	}
	h.Status, h.Description = status, description
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return Header{}, ErrUnterminated
		}
		if len(line) == 0 {
			break
		}
		if len(h.Fields) == FieldsMax {
			return Header{}, ErrTooManyFields
		}
		field, err := parseField(line)
		if err != nil {
			return Header{}, err
		}
		h.Fields = append(h.Fields, field)
	}
	if len(rest) != 0 {
		return Header{}, ErrTrailingBytes
	}
	return h, nil
}

// cutLine splits b at its first CRLF.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	index := bytes.Index(b, []byte(lineEnd))
	if index < 0 {
		return nil, nil, false
	}
	return b[:index], b[index+len(lineEnd):], true
}

// parseStatusLine reads "NATS/1.0[ <code>[ <description>]]".
func parseStatusLine(line []byte) (int, []byte, error) {
	rest, ok := bytes.CutPrefix(line, []byte(Version))
	if !ok {
		return 0, nil, ErrNoVersion
	}
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' {
		return 0, nil, ErrNoVersion
	}
	rest = trimSpace(rest)
	if len(rest) == 0 {
		return 0, nil, nil
	}
	// Status codes run from 100 to 999, so a leading zero is malformed.
	if len(rest) < 3 || rest[0] < '1' || rest[0] > '9' || !isDigit(rest[1]) || !isDigit(rest[2]) ||
		(len(rest) > 3 && rest[3] != ' ' && rest[3] != '\t') {
		return 0, nil, ErrBadStatus
	}
	status := int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	return status, trimSpace(rest[3:]), nil
}

// parseField reads "key: value".
func parseField(line []byte) (Field, error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return Field{}, ErrBadField
	}
	key := line[:colon]
	if bytes.ContainsAny(key, " \t\r\n") {
		return Field{}, ErrBadField
	}
	return Field{Key: key, Value: trimSpace(line[colon+1:])}, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// Get returns the value of the first field named key (exact match) in a header block,
// without parsing or copying the rest: the returned slice aliases block. It scans field
// lines only, so a status description that looks like a field is never matched.
func Get(block []byte, key string) ([]byte, bool) {
	return lookup(block, key, false)
}

// GetFold is Get with keys compared without regard to ASCII letter case.
func GetFold(block []byte, key string) ([]byte, bool) {
	return lookup(block, key, true)
}

func lookup(block []byte, key string, fold bool) ([]byte, bool) {
	if key == "" {
		return nil, false
	}
	_, rest, ok := cutLine(block)
	if !ok {
		return nil, false
	}
	for {
		var line []byte
		line, rest, ok = cutLine(rest)
		if !ok || len(line) == 0 {
			return nil, false
		}
		colon := bytes.IndexByte(line, ':')
		if colon != len(key) {
			continue
		}
		name := line[:colon]
		if string(name) == key || (fold && bytes.EqualFold(name, []byte(key))) {
			return trimSpace(line[colon+1:]), true
		}
	}
}

// Status returns a block's status code and description without parsing its fields;
// code is 0 when the block has none or is malformed.
func Status(block []byte) (code int, description []byte) {
	line, _, ok := cutLine(block)
	if !ok {
		return 0, nil
	}
	code, description, err := parseStatusLine(line)
	if err != nil {
		return 0, nil
	}
	return code, description
}

// AppendStatus starts a block: "NATS/1.0\r\n", or with a status code (and a
// description when not empty) "NATS/1.0 404 No Messages\r\n". A code of 0 writes no status.
func AppendStatus(dst []byte, code int, description string) []byte {
	dst = append(dst, Version...)
	if code > 0 {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(code), 10)
		if description != "" {
			dst = append(dst, ' ')
			dst = append(dst, description...)
		}
	}
	return append(dst, lineEnd...)
}

// AppendField appends one "key: value\r\n" line.
func AppendField(dst []byte, key, value string) []byte {
	dst = append(dst, key...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, lineEnd...)
}

// AppendIntField appends one "key: <decimal>\r\n" line.
func AppendIntField(dst []byte, key string, value int64) []byte {
	dst = append(dst, key...)
	dst = append(dst, ": "...)
	dst = strconv.AppendInt(dst, value, 10)
	return append(dst, lineEnd...)
}

// AppendEnd ends a block with its empty line.
func AppendEnd(dst []byte) []byte { return append(dst, lineEnd...) }

// Build returns a whole block: the status line, then keyValues as key, value pairs
// (a trailing odd key is ignored), then the empty line.
func Build(code int, description string, keyValues ...string) []byte {
	size := len(Version) + 8 + len(description) + 2
	for _, s := range keyValues {
		size += len(s) + 4
	}
	block := AppendStatus(make([]byte, 0, size), code, description)
	for i := 0; i+1 < len(keyValues); i += 2 {
		block = AppendField(block, keyValues[i], keyValues[i+1])
	}
	return AppendEnd(block)
}

// Set returns block with key's fields replaced by one "key: value" line at the end
// (or added when absent). It builds a new block and leaves block untouched; block must
// parse.
func Set(block []byte, key, value string) ([]byte, error) {
	h, err := Parse(block)
	if err != nil {
		return nil, err
	}
	out := AppendStatus(make([]byte, 0, len(block)+len(key)+len(value)+4), h.Status, string(h.Description))
	for _, field := range h.Fields {
		if string(field.Key) == key {
			continue
		}
		out = AppendField(out, string(field.Key), string(field.Value))
	}
	out = AppendField(out, key, value)
	return AppendEnd(out), nil
}

// Remove returns block without the fields named key (exact match); block must parse.
func Remove(block []byte, key string) ([]byte, error) {
	h, err := Parse(block)
	if err != nil {
		return nil, err
	}
	out := AppendStatus(make([]byte, 0, len(block)), h.Status, string(h.Description))
	for _, field := range h.Fields {
		if string(field.Key) != key {
			out = AppendField(out, string(field.Key), string(field.Value))
		}
	}
	return AppendEnd(out), nil
}
