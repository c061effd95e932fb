package websocket

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// acceptGUID is the fixed GUID of RFC 6455 4.2.2 hashed with the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// RequestHeaderFieldsMax bounds the header lines of an upgrade request.
const RequestHeaderFieldsMax = 256

// Errors of upgrade request parsing.
var (
	// ErrRequestIncomplete: the blank line ending the request head has not arrived.
	ErrRequestIncomplete = errors.New("websocket: request incomplete")
	// ErrRequestTooLarge: the head is longer than the caller's bound.
	ErrRequestTooLarge = errors.New("websocket: request head too large")
	// ErrRequestMalformed: not an HTTP/1.x request head.
	ErrRequestMalformed = errors.New("websocket: malformed request")
)

// HeaderField is one request header line.
type HeaderField struct {
	Name  string
	Value string
}

// Request is the head of an HTTP/1.x request.
type Request struct {
	Method string
	Target string
	Proto  string
	Fields []HeaderField
}

// Header returns the first value of the named field (case-insensitive), "" if none.
func (r *Request) Header(name string) string {
	for _, field := range r.Fields {
		if strings.EqualFold(field.Name, name) {
			return field.Value
		}
	}
	return ""
}

// Values returns every value of the named field, in order.
func (r *Request) Values(name string) []string {
	var values []string
	for _, field := range r.Fields {
		if strings.EqualFold(field.Name, name) {
			values = append(values, field.Value)
		}
	}
	return values
}

// Cookie returns the value of the named cookie from the Cookie fields.
func (r *Request) Cookie(name string) (string, bool) {
	for _, line := range r.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && key == name {
				return strings.Trim(value, `"`), true
			}
		}
	}
	return "", false
}

// ParseRequest parses the request head at the start of b, returning it with the bytes
// it took (the head and its blank line). It returns ErrRequestIncomplete until the
// blank line has arrived, and ErrRequestTooLarge when none comes within bytesMax.
func ParseRequest(b []byte, bytesMax int) (*Request, int, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > bytesMax {
			return nil, 0, ErrRequestTooLarge
		}
		return nil, 0, ErrRequestIncomplete
	}
	if end+4 > bytesMax {
		return nil, 0, ErrRequestTooLarge
	}
	lines := strings.Split(string(b[:end]), "\r\n")
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return nil, 0, ErrRequestMalformed
	}
	request := &Request{Method: parts[0], Target: parts[1], Proto: parts[2]}
	if len(lines)-1 > RequestHeaderFieldsMax {
		return nil, 0, ErrRequestTooLarge
	}
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, 0, ErrRequestMalformed
		}
		request.Fields = append(request.Fields, HeaderField{Name: name, Value: strings.TrimSpace(value)})
	}
	return request, end + 4, nil
}

// headerHasToken reports whether a comma-separated field lists token
// (case-insensitive), as the Upgrade and Connection checks need.
func headerHasToken(values []string, token string) bool {
	for _, value := range values {
		for part := range strings.SplitSeq(value, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// CheckUpgrade validates a websocket upgrade request as the reference does, in the
// same order; it returns 0 when the request is acceptable, or the HTTP status and
// reason text the reference answers with.
func CheckUpgrade(r *Request) (status int, reason string) {
	switch {
	case r.Method != "GET":
		return 405, "request method must be GET"
	case r.Header("Host") == "":
		return 400, "'Host' missing in request"
	case !headerHasToken(r.Values("Upgrade"), "websocket"):
		return 400, "invalid value for header 'Upgrade'"
	case !headerHasToken(r.Values("Connection"), "Upgrade"):
		return 400, "invalid value for header 'Connection'"
	case r.Header("Sec-WebSocket-Key") == "":
		return 400, "key missing"
	case r.Header("Sec-WebSocket-Version") != "13":
		return 400, "invalid version"
	}
	return 0, ""
}

// OffersCompression reports whether the client offers permessage-deflate.
func OffersCompression(r *Request) bool {
	for _, value := range r.Values("Sec-WebSocket-Extensions") {
		for extension := range strings.SplitSeq(value, ",") {
			name, _, _ := strings.Cut(extension, ";")
			if strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
				return true
			}
		}
	}
	return false
}

// Origin errors, with the reference's texts (after "origin not allowed: ").
var (
	ErrNotSameOrigin    = errors.New("not same origin")
	ErrNotAllowedOrigin = errors.New("not in the allowed list")
)

// OriginPolicy is the websocket block's origin checking.
type OriginPolicy struct {
	// SameOrigin requires the Origin's host and port to be the request's Host.
	SameOrigin bool
	// Allowed lists the origins ("scheme://host[:port]") that may connect; empty
	// allows any.
	Allowed []string
	// TLS tells the default port of a Host without one (443 rather than 80).
	TLS bool
}

// hostAndPort splits "host[:port]", filling in the scheme's default port.
func hostAndPort(secure bool, hostPort string) (string, string) {
	host, port := hostPort, ""
	if i := strings.LastIndexByte(hostPort, ':'); i >= 0 && !strings.Contains(hostPort[i:], "]") {
		host, port = hostPort[:i], hostPort[i+1:]
	}
	if port == "" {
		port = "80"
		if secure {
			port = "443"
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.ToLower(host), port
}

// CheckOrigin applies the policy to the request's Origin; a request without one
// passes, as non-browser clients send none.
func (p OriginPolicy) CheckOrigin(r *Request) error {
	origin := r.Header("Origin")
	if origin == "" {
		origin = r.Header("Sec-WebSocket-Origin")
	}
	if origin == "" || (!p.SameOrigin && len(p.Allowed) == 0) {
		return nil
	}
	parsed, err := url.ParseRequestURI(origin)
	if err != nil {
		return err
	}
	originHost, originPort := hostAndPort(parsed.Scheme == "https", parsed.Host)
	if p.SameOrigin {
		requestHost, requestPort := hostAndPort(p.TLS, r.Header("Host"))
		if originHost != requestHost || originPort != requestPort {
			return ErrNotSameOrigin
		}
	}
	if len(p.Allowed) > 0 {
		allowed := slices.ContainsFunc(p.Allowed, func(entry string) bool {
			u, err := url.ParseRequestURI(entry)
			if err != nil {
				return false
			}
			host, port := hostAndPort(u.Scheme == "https", u.Host)
			return u.Scheme == parsed.Scheme && host == originHost && port == originPort
		})
		if !allowed {
			return ErrNotAllowedOrigin
		}
	}
	return nil
}

// AcceptKey computes Sec-WebSocket-Accept from the client's Sec-WebSocket-Key.
func AcceptKey(key string) string {
	digest := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(digest[:])
}

// compressionExtension is the answer to a permessage-deflate offer: the server keeps
// no compression context between messages, and asks the client not to either.
const compressionExtension = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// AppendUpgradeResponse appends the 101 answer to an accepted upgrade; extra are
// additional "Name: value" header lines (the websocket block's headers).
func AppendUpgradeResponse(dst []byte, key string, compression bool, extra []HeaderField) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = append(dst, AcceptKey(key)...)
	dst = append(dst, "\r\n"...)
	if compression {
		dst = append(dst, "Sec-WebSocket-Extensions: "+compressionExtension+"\r\n"...)
	}
	for _, field := range extra {
		dst = append(dst, field.Name+": "+field.Value+"\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// statusTexts are the reason phrases of the statuses an upgrade is refused with.
var statusTexts = map[int]string{
	400: "Bad Request",
	403: "Forbidden",
	405: "Method Not Allowed",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error",
}

// StatusText returns the reason phrase of status ("" when unknown here).
func StatusText(status int) string { return statusTexts[status] }

// AppendErrorResponse appends a refused upgrade's answer as the reference's HTTP
// server writes it: a plain text body of reason and a newline, with the
// Sec-WebSocket-Version the server speaks.
func AppendErrorResponse(dst []byte, status int, reason string) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(status)...)
	dst = append(dst, "\r\nContent-Type: text/plain; charset=utf-8\r\nSec-Websocket-Version: 13\r\nX-Content-Type-Options: nosniff\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(reason)+1), 10)
	dst = append(dst, "\r\nConnection: close\r\n\r\n"...)
	dst = append(dst, reason...)
	return append(dst, '\n')
}

// AppendMalformedResponse appends the answer of the reference's HTTP server to a
// request it cannot parse.
func AppendMalformedResponse(dst []byte, status int) []byte {
	text := strconv.Itoa(status) + " " + StatusText(status)
	return append(dst, "HTTP/1.1 "+text+"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"+text...)
}
