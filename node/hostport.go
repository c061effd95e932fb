package node

import (
	"strconv"
	"strings"
)

// joinHostPort is net.JoinHostPort without importing net (which node/ must not use).
func joinHostPort(host string, port int) string {
	p := strconv.Itoa(port)
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]:" + p
	}
	return host + ":" + p
}

// splitHostPort splits "host:port" or "[v6]:port"; ok is false when there is no port.
func splitHostPort(address string) (host string, port int, ok bool) {
	i := strings.LastIndexByte(address, ':')
	if i < 0 {
		return "", 0, false
	}
	host = address[:i]
	port, err := strconv.Atoi(address[i+1:])
	if err != nil {
		return "", 0, false
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return host, port, true
}
