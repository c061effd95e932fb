package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/natsim/natsim/env"
)

// httpRequestBytesMax bounds a monitoring request's head; a longer one is refused.
const httpRequestBytesMax = 16 * 1024

// startMonitoring opens the monitoring listener: a minimal HTTP/1.1 server of GET
// requests over env.Network (net/http is for cmd/ and env/osenv only).
func (s *Server) startMonitoring() error {
	s.mu.Lock()
	o := s.options
	port := o.HTTPPort
	if port < 0 {
		port = 0
	}
	address := joinHostPort(o.HTTPHost, port)
	s.mu.Unlock()
	listener, err := s.env.Net.Listen(address, s.acceptMonitor)
	if err != nil {
		return fmt.Errorf("node: monitoring listen on %s: %w", address, err)
	}
	s.mu.Lock()
	s.monitor = listener
	s.mu.Unlock()
	s.logger.Noticef("Starting http monitor on %s", listener.Addr())
	return nil
}

// MonitorAddr returns the monitoring listener's "host:port", or "".
func (s *Server) MonitorAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.monitor == nil {
		return ""
	}
	return s.monitor.Addr()
}

func (s *Server) stopMonitoring() {
	s.mu.Lock()
	listener := s.monitor
	s.monitor = nil
	s.mu.Unlock()
	if listener != nil {
		_ = listener.Close()
	}
}

// httpIdleTimeout closes a monitoring connection that sends nothing for this long.
const httpIdleTimeout = 30 * time.Second

// httpConn is one monitoring connection: it reads request heads and answers each.
type httpConn struct {
	server *Server
	conn   env.Conn
	mu     sync.Mutex
	buffer []byte
	idle   env.Timer
}

func (s *Server) acceptMonitor(conn env.Conn) {
	h := &httpConn{server: s, conn: conn}
	h.idle = s.env.Clock.AfterFunc(httpIdleTimeout, func() { _ = conn.Close() })
	conn.Start(h)
}

// OnData collects a request head and answers it; bodies are not read (GET only).
func (h *httpConn) OnData(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.idle.Reset(httpIdleTimeout)
	h.buffer = append(h.buffer, b...)
	for {
		end := bytes.Index(h.buffer, []byte("\r\n\r\n"))
		if end < 0 {
			if len(h.buffer) > httpRequestBytesMax {
				h.respond(431, "text/plain", []byte("request header too large"), true)
			}
			return
		}
		head := string(h.buffer[:end])
		h.buffer = h.buffer[end+4:]
		lineEnd := strings.Index(head, "\r\n")
		requestLine := head
		if lineEnd >= 0 {
			requestLine = head[:lineEnd]
		}
		closeAfter := strings.Contains(strings.ToLower(head), "connection: close")
		fields := strings.Fields(requestLine)
		if len(fields) != 3 {
			h.respond(400, "text/plain", []byte("bad request"), true)
			return
		}
		status, contentType, body := h.server.handleMonitor(fields[0], fields[1])
		h.respond(status, contentType, body, closeAfter)
		if closeAfter {
			return
		}
	}
}

func (h *httpConn) OnClose(error) { h.idle.Stop() }

func (h *httpConn) respond(status int, contentType string, body []byte, closeAfter bool) {
	var out []byte
	out = fmt.Appendf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", status, statusText(status), contentType, len(body))
	if closeAfter {
		out = append(out, "Connection: close\r\n"...)
	}
	out = append(out, "\r\n"...)
	out = append(out, body...)
	_, _ = h.conn.Write(out)
	h.conn.Flush()
	if closeAfter {
		_ = h.conn.Close()
	}
}

func statusText(status int) string {
	switch status {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 431:
		return "Request Header Fields Too Large"
	case 503:
		return "Service Unavailable"
	}
	return "Error"
}

// handleMonitor answers one monitoring request: a pure function of the server's state.
func (s *Server) handleMonitor(method, target string) (int, string, []byte) {
	if method != "GET" && method != "HEAD" {
		return 405, "text/plain", []byte("method not allowed")
	}
	rawPath, rawQuery, _ := strings.Cut(target, "?")
	path, ok := unescape(rawPath)
	if !ok {
		return 400, "text/plain", []byte("bad request path")
	}
	s.mu.Lock()
	base := strings.TrimSuffix(s.options.HTTPBasePath, "/")
	s.mu.Unlock()
	path = strings.TrimPrefix(path, base)
	query := parseQuery(rawQuery)
	var value any
	status := 200
	path = strings.TrimSuffix(path, "/")
	s.countHTTPRequest(path)
	switch path {
	case "":
		return 200, "text/html; charset=utf-8", []byte(monitorIndex)
	case "/varz":
		value = s.Varz()
	case "/connz":
		options := ConnzOptions{Sort: query.Get("sort"), State: query.Get("state"),
			User: query.Get("user"), Account: query.Get("acc"),
			Auth: query.Get("auth") == "true" || query.Get("auth") == "1"}
		switch query.Get("subs") {
		case "1", "true":
			options.Subs = connzSubsList
		case "detail":
			options.Subs = connzSubsDetail
		}
		options.Offset, _ = strconv.Atoi(query.Get("offset"))
		options.Limit, _ = strconv.Atoi(query.Get("limit"))
		cid, _ := strconv.ParseUint(query.Get("cid"), 10, 64)
		options.CID = cid
		connz, err := s.Connz(options)
		if err != nil {
			return 400, "text/plain", []byte(err.Error())
		}
		value = connz
	case "/subsz", "/subscriptionsz":
		options := SubszOptions{Test: query.Get("test"), Account: query.Get("acc")}
		options.Subs = query.Get("subs") == "1" || query.Get("subs") == "true" || query.Get("subs") == "detail"
		options.Offset, _ = strconv.Atoi(query.Get("offset"))
		options.Limit, _ = strconv.Atoi(query.Get("limit"))
		value = s.Subsz(options)
	case "/healthz":
		options, err := healthzOptionsFromQuery(query)
		if err != nil {
			return 400, "text/plain", []byte(err.Error())
		}
		health := s.HealthzWith(options)
		// The status code is the HTTP status; the reference leaves it out of the body,
		// which it writes without indentation.
		status, health.StatusCode = health.StatusCode, 0
		value = compactJSON{health}
	case "/jsz":
		options, err := jszOptionsFromQuery(query)
		if err != nil {
			return 400, "text/plain", []byte(err.Error())
		}
		value = s.Jsz(options)
	case "/accountz":
		accountz, err := s.Accountz(query.Get("acc"))
		if err != nil {
			return 400, "text/plain", []byte(err.Error())
		}
		value = accountz
	default:
		return 404, "text/plain", []byte("404 page not found\n")
	}
	var body []byte
	var err error
	if compact, ok := value.(compactJSON); ok {
		body, err = json.Marshal(compact.value)
	} else {
		body, err = json.MarshalIndent(value, "", "  ")
	}
	if err != nil {
		return 500, "text/plain", []byte(err.Error())
	}
	if callback := query.Get("callback"); callback != "" {
		body = []byte(callback + "(" + string(body) + ")")
		return status, "application/javascript", body
	}
	return status, "application/json", body
}

// compactJSON marks a monitoring answer written without indentation.
type compactJSON struct{ value any }

// monitorPaths are the endpoints whose requests /varz counts in http_req_stats.
var monitorPaths = []string{"/", "/varz", "/connz", "/subsz", "/subscriptionsz", "/healthz", "/jsz", "/accountz"}

// countHTTPRequest counts a request to a known endpoint for /varz http_req_stats.
func (s *Server) countHTTPRequest(path string) {
	if path == "" {
		path = "/"
	}
	if !slices.Contains(monitorPaths, path) {
		return
	}
	s.mu.Lock()
	if s.httpRequests == nil {
		s.httpRequests = make(map[string]uint64, len(monitorPaths))
	}
	s.httpRequests[path]++
	s.mu.Unlock()
}

// httpRequestCounts copies the per-endpoint request counts; the caller holds s.mu.
func (s *Server) httpRequestCounts() map[string]uint64 {
	counts := make(map[string]uint64, len(s.httpRequests))
	for path, count := range s.httpRequests {
		counts[path] = count
	}
	return counts
}

const monitorIndex = `<html><body><h1>NATS monitoring</h1><ul>
<li><a href="varz">varz</a></li><li><a href="connz">connz</a></li>
<li><a href="subsz">subsz</a></li><li><a href="accountz">accountz</a></li>
<li><a href="healthz">healthz</a></li></ul></body></html>`

// query is a request's query parameters (the first value of each).
type query map[string]string

// Get returns the parameter's value or "".
func (q query) Get(name string) string { return q[name] }

// parseQuery decodes "a=1&b=x%20y" (net/url is not for node/); malformed pairs are
// skipped and the first value of a repeated name wins.
func parseQuery(raw string) query {
	values := query{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, okName := unescape(strings.ReplaceAll(name, "+", " "))
		value, okValue := unescape(strings.ReplaceAll(value, "+", " "))
		if !okName || !okValue {
			continue
		}
		if _, seen := values[name]; !seen {
			values[name] = value
		}
	}
	return values
}

// unescape decodes %XX escapes; it reports false for a malformed escape.
func unescape(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		high, okHigh := hexValue(s[i+1])
		low, okLow := hexValue(s[i+2])
		if !okHigh || !okLow {
			return "", false
		}
		out.WriteByte(high<<4 | low)
		i += 2
	}
	return out.String(), true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
