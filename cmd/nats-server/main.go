// Command nats-server runs the server on the real machine: flags and the config file
// (through node/opts) become options, env/osenv provides sockets, clock and
// randomness, and signals drive shutdown (SIGTERM, SIGINT), reload (SIGHUP), lame
// duck mode (SIGUSR2) and log reopening (SIGUSR1).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/natsim/natsim/env/osenv"
	"github.com/natsim/natsim/node"
	"github.com/natsim/natsim/node/opts"
)

const executable = "nats-server"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	options, flags, err := loadOptions(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, opts.Usage)
			return 0
		}
		fmt.Fprintf(stderr, "%s: %s\n", executable, err)
		return 1
	}
	switch {
	case flags.ShowHelp, flags.ShowTLSHelp:
		fmt.Fprint(stdout, opts.Usage)
		return 0
	case flags.ShowVersion:
		fmt.Fprintf(stdout, "%s: v%s\n", executable, node.Version)
		return 0
	case flags.Signal != "":
		fmt.Fprintf(stderr, "%s: --signal is not supported; send the signal with kill\n", executable)
		return 1
	case options.CheckConfig:
		fmt.Fprintf(stderr, "%s: configuration file %s is valid (%s)\n", executable, options.ConfigFile, options.ConfigDigest)
		return 0
	}
	if options.JetStream && options.StoreDir == "" {
		// The reference's default store directory: <temp>/nats.
		options.StoreDir = filepath.Join(os.TempDir(), "nats")
	}
	limits := applyJetStreamLimits(options, nil)
	startupLimits = &limits
	log, err := newLogger(options.LogFile, options.Logtime, options.LogtimeUTC, options.Debug, options.Trace)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", executable, err)
		return 1
	}
	world := osenv.New()
	world.Net = stallingNetwork{osenv.NewNetwork(osenv.NetworkOptions{WriteDeadline: options.WriteDeadline})}
	server, err := node.New(world, options, log)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", executable, err)
		return 1
	}
	// Signals are caught before the server starts, as the reference does, so that a
	// SIGHUP or SIGTERM sent as soon as the server is ready reaches the handler instead
	// of killing the process.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT)
	defer signal.Stop(signals)
	if err := server.Start(); err != nil {
		log.Fatalf("%v", err)
		return 1
	}
	if options.PidFile != "" {
		if err := os.WriteFile(options.PidFile, []byte(strconv.Itoa(os.Getpid())), 0o660); err != nil {
			log.Errorf("Could not write pidfile: %v", err)
		}
	}
	if options.ProfPort != 0 {
		startProfiling(options.Host, options.ProfPort, log)
	}
	portsFile := writePortsFile(server, options.PortsFileDir, log)
	waitForSignals(server, signals, args, log)
	if portsFile != "" {
		_ = os.Remove(portsFile)
	}
	if options.PidFile != "" {
		_ = os.Remove(options.PidFile)
	}
	return 0
}

// waitForSignals serves signals until the server shuts down.
func waitForSignals(server *node.Server, signals <-chan os.Signal, args []string, log *logger) {
	for {
		select {
		case <-server.ShutdownDone():
			return
		case sig := <-signals:
			switch sig {
			case syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT:
				log.Noticef("Trapped %q signal", sig.String())
				server.Shutdown()
				return
			case syscall.SIGHUP:
				reload(server, args, log)
			case syscall.SIGUSR1:
				log.reopen()
			case syscall.SIGUSR2:
				server.LameDuckMode()
			}
		}
	}
}

// startupLimits are the JetStream limits worked out from the machine at startup.
var startupLimits *machineLimits

// reload re-reads the config file, re-applies the flags and hands the result to the
// server.
func reload(server *node.Server, args []string, log *logger) {
	options, _, err := loadOptions(args)
	if err != nil {
		log.Errorf("Failed to reload server configuration: %s", err)
		return
	}
	if options.JetStream && options.StoreDir == "" {
		options.StoreDir = filepath.Join(os.TempDir(), "nats")
	}
	applyJetStreamLimits(options, startupLimits)
	log.configure(options.Logtime, options.LogtimeUTC, options.Debug, options.Trace)
	if err := server.Reload(options); err != nil {
		log.Errorf("Failed to reload server configuration: %s", err)
	}
}

// ports is the ports file's JSON, as the reference writes it.
type ports struct {
	Nats       []string `json:"nats,omitempty"`
	Monitoring []string `json:"monitoring,omitempty"`
	Cluster    []string `json:"cluster,omitempty"`
	Profile    []string `json:"profile,omitempty"`
	WebSocket  []string `json:"websocket,omitempty"`
}

// writePortsFile writes <exe>_<pid>.ports into dir and returns its path.
func writePortsFile(server *node.Server, dir string, log *logger) string {
	if dir == "" {
		return ""
	}
	info := ports{Nats: listenerURLs("nats", server.ClientAddr())}
	if address := server.MonitorAddr(); address != "" {
		info.Monitoring = listenerURLs("http", address)
	}
	data, _ := json.Marshal(info)
	path := filepath.Join(dir, fmt.Sprintf("%s_%d.ports", filepath.Base(os.Args[0]), os.Getpid()))
	if err := os.WriteFile(path, data, 0o666); err != nil {
		log.Errorf("Error writing ports file (%s): %v", path, err)
		return ""
	}
	return path
}

// listenerURLs lists the URLs of a listener; an unspecified host expands to the
// machine's addresses, as the reference does.
func listenerURLs(scheme, address string) []string {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsUnspecified() {
		return []string{scheme + "://" + net.JoinHostPort(host, port)}
	}
	var urls []string
	addresses, _ := net.InterfaceAddrs()
	for _, a := range addresses {
		network, ok := a.(*net.IPNet)
		if !ok || network.IP.To4() == nil && ip.To4() != nil {
			continue
		}
		urls = append(urls, scheme+"://"+net.JoinHostPort(network.IP.String(), port))
	}
	if len(urls) == 0 {
		urls = []string{scheme + "://" + net.JoinHostPort("127.0.0.1", port)}
	}
	return urls
}

// loadOptions parses the flags, reads the config file they name and lets the flags
// given on the command line override it (node/opts does all three), then fills in the
// defaults.
func loadOptions(args []string) (*opts.Options, *opts.Flags, error) {
	options, flags, err := opts.ConfigureOptions(args, os.ReadFile, os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	options.SetDefaults()
	return options, flags, nil
}
