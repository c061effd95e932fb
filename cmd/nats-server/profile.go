package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
)

// startProfiling serves Go's runtime profiles (/debug/pprof/) on host:port, as the
// reference does for prof_port (or --profile). It runs for the life of the process;
// a port that cannot be bound is logged and the server runs on without profiling.
func startProfiling(host string, port int, log *logger) {
	if host == "" {
		host = "0.0.0.0"
	}
	address := net.JoinHostPort(host, strconv.Itoa(port))
	listener, err := net.Listen("tcp", address)
	if err != nil {
		log.Errorf("Error starting profiler: %v", err)
		return
	}
	log.Noticef("profiling port: %d", listener.Addr().(*net.TCPAddr).Port)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.Serve(listener, mux) }()
}
