// Package fixture opens sockets and serves HTTP itself.
package fixture

import (
	"net"              // want
	"net/http"         // want
	_ "net/http/pprof" // want
	"net/netip"
	"net/url"
)

// Serve listens on addr.
func Serve(addr string) error {
	_ = netip.MustParseAddr("127.0.0.1")
	_, _ = url.Parse("nats://localhost:4222")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return http.Serve(l, nil)
}
