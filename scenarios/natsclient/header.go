package natsclient

import (
	"bytes"
	"strings"
)

// headerVersionLine opens every header block.
const headerVersionLine = "NATS/1.0"

// AppendHeader appends a header block: the version line, then each key and value of
// pairs (key, value, key, value ...), then the blank line that ends the block. A
// trailing key without a value is ignored.
func AppendHeader(dst []byte, pairs ...string) []byte {
	dst = append(dst, headerVersionLine+"\r\n"...)
	for i := 0; i+1 < len(pairs); i += 2 {
		dst = append(dst, pairs[i]...)
		dst = append(dst, ": "...)
		dst = append(dst, pairs[i+1]...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// HeaderStatus returns the status code of a header block's version line ("503" for
// "NATS/1.0 503"), or "" when it has none.
func HeaderStatus(header []byte) string {
	line, _, _ := bytes.Cut(header, []byte("\r\n"))
	rest, ok := bytes.CutPrefix(line, []byte(headerVersionLine))
	if !ok {
		return ""
	}
	fields := strings.Fields(string(rest))
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

// HeaderValue returns the first value of key in a header block (keys compare
// case-sensitively, as the protocol does), and whether it was present.
func HeaderValue(header []byte, key string) (string, bool) {
	lines := strings.Split(string(header), "\r\n")
	for _, line := range lines[min(1, len(lines)):] {
		name, value, found := strings.Cut(line, ":")
		if found && name == key {
			return strings.TrimSpace(value), true
		}
	}
	return "", false
}
