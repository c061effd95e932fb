package opts

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/natsim/natsim/proto/conf"
)

// Usage is the help text `-h` prints, laid out as the reference's.
const Usage = `
Usage: nats-server [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -ms,--https_port <port>          Use port for https monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl,--signal <signal>[=<pid>]    Send signal to nats-server process (ldm, stop, quit, term, reopen, reload)
                                     pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/nats-server.pid)
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
        --logtime_utc                Timestamps in UTC instead of local timezone
    -s, --syslog                     Log to syslog or windows event log
    -r, --remote_syslog <addr>       Syslog server addr (udp://localhost:514)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace (traces system account as well)
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace (traces system account as well)
        --log_size_limit <limit>     Logfile size limit (default: auto)
        --max_traced_msg_len <len>   Maximum printable length for traced messages (default: unlimited)

JetStream Options:
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries

Profiling Options:
        --profile <port>             Profiling HTTP port

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
        --help_tls                   TLS help
`

// Flags are the parsed command line: the options the flags set, plus what the flags
// ask for besides options (a config file, help, version, a signal).
type Flags struct {
	// Set is the underlying flag set, named "nats-server".
	Set *flag.FlagSet
	// ConfigFile is -c/--config.
	ConfigFile string
	// ShowVersion, ShowHelp and ShowTLSHelp are -v, -h and --help_tls.
	ShowVersion bool
	ShowHelp    bool
	ShowTLSHelp bool
	// Signal is -sl/--signal: a command ("stop", "reload", ...) and optionally "=pid".
	Signal string

	debugAndTrace           bool
	traceAndVerbose         bool
	debugAndTraceAndVerbose bool
	options                 *Options
	explicitlySet           map[string]bool
}

// ConfigureFlags defines the server's flags on set, writing option values into o. The
// flag defaults (only `-T`, logtime, is true) are applied to o immediately, so o must be
// filled by the config file after this call and before Parse, as the reference does.
func ConfigureFlags(set *flag.FlagSet, o *Options) *Flags {
	f := &Flags{Set: set, options: o}
	set.BoolVar(&f.ShowHelp, "h", false, "Show this message.")
	set.BoolVar(&f.ShowHelp, "help", false, "Show this message.")
	set.IntVar(&o.Port, "port", 0, "Port to listen on.")
	set.IntVar(&o.Port, "p", 0, "Port to listen on.")
	set.StringVar(&o.ServerName, "n", "", "Server name.")
	set.StringVar(&o.ServerName, "name", "", "Server name.")
	set.StringVar(&o.ServerName, "server_name", "", "Server name.")
	set.StringVar(&o.Host, "addr", "", "Network host to listen on.")
	set.StringVar(&o.Host, "a", "", "Network host to listen on.")
	set.StringVar(&o.Host, "net", "", "Network host to listen on.")
	set.StringVar(&o.ClientAdvertise, "client_advertise", "", "Client URL to advertise to other servers.")
	set.BoolVar(&o.Debug, "D", false, "Enable Debug logging.")
	set.BoolVar(&o.Debug, "debug", false, "Enable Debug logging.")
	set.BoolVar(&o.Trace, "V", false, "Enable Trace logging.")
	set.BoolVar(&o.Trace, "trace", false, "Enable Trace logging.")
	set.BoolVar(&f.traceAndVerbose, "VV", false, "Enable Verbose Trace logging. (Traces system account as well)")
	set.BoolVar(&f.debugAndTrace, "DV", false, "Enable Debug and Trace logging.")
	set.BoolVar(&f.debugAndTraceAndVerbose, "DVV", false, "Enable Debug and Verbose Trace logging. (Traces system account as well)")
	set.BoolVar(&o.Logtime, "T", true, "Timestamp log entries.")
	set.BoolVar(&o.Logtime, "logtime", true, "Timestamp log entries.")
	set.BoolVar(&o.LogtimeUTC, "logtime_utc", false, "Timestamps in UTC instead of local timezone.")
	set.StringVar(&o.Username, "user", "", "Username required for connection.")
	set.StringVar(&o.Password, "pass", "", "Password required for connection.")
	set.StringVar(&o.Authorization, "auth", "", "Authorization token required for connection.")
	set.IntVar(&o.HTTPPort, "m", 0, "HTTP Port for /varz, /connz endpoints.")
	set.IntVar(&o.HTTPPort, "http_port", 0, "HTTP Port for /varz, /connz endpoints.")
	set.IntVar(&o.HTTPSPort, "ms", 0, "HTTPS Port for /varz, /connz endpoints.")
	set.IntVar(&o.HTTPSPort, "https_port", 0, "HTTPS Port for /varz, /connz endpoints.")
	set.StringVar(&f.ConfigFile, "c", "", "Configuration file.")
	set.StringVar(&f.ConfigFile, "config", "", "Configuration file.")
	set.BoolVar(&o.CheckConfig, "t", false, "Check configuration and exit.")
	set.StringVar(&f.Signal, "sl", "", "Send signal to nats-server process (ldm, stop, quit, term, reopen, reload).")
	set.StringVar(&f.Signal, "signal", "", "Send signal to nats-server process (ldm, stop, quit, term, reopen, reload).")
	set.StringVar(&o.PidFile, "P", "", "File to store process pid.")
	set.StringVar(&o.PidFile, "pid", "", "File to store process pid.")
	set.StringVar(&o.PortsFileDir, "ports_file_dir", "", "Creates a ports file in the specified directory (<executable_name>_<pid>.ports).")
	set.StringVar(&o.LogFile, "l", "", "File to store logging output.")
	set.StringVar(&o.LogFile, "log", "", "File to store logging output.")
	set.Int64Var(&o.LogSizeLimit, "log_size_limit", 0, "Logfile size limit being auto-rotated")
	set.BoolVar(&o.Syslog, "s", false, "Enable syslog as log method.")
	set.BoolVar(&o.Syslog, "syslog", false, "Enable syslog as log method.")
	set.StringVar(&o.RemoteSyslog, "r", "", "Syslog server addr (udp://127.0.0.1:514).")
	set.StringVar(&o.RemoteSyslog, "remote_syslog", "", "Syslog server addr (udp://127.0.0.1:514).")
	set.BoolVar(&f.ShowVersion, "version", false, "Print version information.")
	set.BoolVar(&f.ShowVersion, "v", false, "Print version information.")
	set.IntVar(&o.ProfPort, "profile", 0, "Profiling HTTP port.")
	set.StringVar(&o.RoutesStr, "routes", "", "Routes to actively solicit a connection.")
	set.StringVar(&o.Cluster.ListenStr, "cluster", "", "Cluster url from which members can solicit routes.")
	set.StringVar(&o.Cluster.ListenStr, "cluster_listen", "", "Cluster url from which members can solicit routes.")
	set.StringVar(&o.Cluster.Advertise, "cluster_advertise", "", "Cluster URL to advertise to other servers.")
	set.BoolVar(&o.Cluster.NoAdvertise, "no_advertise", false, "Advertise known cluster IPs to clients.")
	set.IntVar(&o.Cluster.ConnectRetries, "connect_retries", 0, "For implicit routes, number of connect retries.")
	set.StringVar(&o.Cluster.Name, "cluster_name", "", "Cluster Name, if not set one will be dynamically generated.")
	set.BoolVar(&f.ShowTLSHelp, "help_tls", false, "TLS help.")
	set.BoolVar(&o.TLS, "tls", false, "Enable TLS.")
	set.BoolVar(&o.TLSVerify, "tlsverify", false, "Enable TLS with client verification.")
	set.StringVar(&o.TLSCert, "tlscert", "", "Server certificate file.")
	set.StringVar(&o.TLSKey, "tlskey", "", "Private key for server certificate.")
	set.StringVar(&o.TLSCaCert, "tlscacert", "", "Client certificate CA for verification.")
	set.IntVar(&o.MaxTracedMsgLen, "max_traced_msg_len", 0, "Maximum printable length for traced messages. 0 for unlimited.")
	set.BoolVar(&o.JetStream, "js", false, "Enable JetStream.")
	set.BoolVar(&o.JetStream, "jetstream", false, "Enable JetStream.")
	set.StringVar(&o.StoreDir, "sd", "", "Storage directory.")
	set.StringVar(&o.StoreDir, "store_dir", "", "Storage directory.")
	return f
}

// ParseFlags parses the command line alone (no config file): the options the flags set
// and the Flags. Errors are returned, never printed; `-h` is reported in ShowHelp.
func ParseFlags(args []string) (*Options, *Flags, error) {
	o := &Options{}
	f := ConfigureFlags(newFlagSet(), o)
	if err := f.Set.Parse(args); err != nil {
		return nil, nil, err
	}
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	return o, f, nil
}

func newFlagSet() *flag.FlagSet {
	set := flag.NewFlagSet("nats-server", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Usage = func() {}
	return set
}

// ConfigureOptions is the whole command-line pipeline of the reference: it parses the
// flags, reads the config file they name through readFile (lookupEnv resolves
// variables), and lets every flag given on the command line override the file. The
// result has no defaults applied (see SetDefaults). When the flags ask for help or the
// version, the options are returned unprocessed and Flags says what was asked. With
// -t, the config file is checked and the options returned.
func ConfigureOptions(args []string, readFile func(string) ([]byte, error), lookupEnv func(string) (string, bool)) (*Options, *Flags, error) {
	o := &Options{}
	f := ConfigureFlags(newFlagSet(), o)
	if err := f.Set.Parse(args); err != nil {
		return nil, nil, err
	}
	if f.ShowHelp || f.ShowVersion || f.ShowTLSHelp {
		return o, f, nil
	}
	if err := processCommandLineArguments(f); err != nil {
		return nil, nil, err
	}
	if f.ShowHelp || f.ShowVersion {
		return o, f, nil
	}
	if f.ConfigFile == "" {
		if o.CheckConfig {
			return nil, nil, errors.New("must specify [-c, --config] option to check configuration file syntax")
		}
		if err := f.finish(); err != nil {
			return nil, nil, err
		}
		return o, f, nil
	}
	if readFile == nil {
		return nil, nil, errors.New("error opening config file: no file reader")
	}
	data, err := readFile(f.ConfigFile)
	if err != nil {
		return nil, nil, fmt.Errorf("error opening config file: %v", err)
	}
	// The file is applied over the flag defaults, then the command line again, so an
	// explicit flag wins over the file and the file wins over a flag default.
	if err := o.ProcessConfig(data, f.ConfigFile, conf.Source{ReadFile: readFile, LookupEnv: lookupEnv}); err != nil {
		return nil, nil, err
	}
	if o.CheckConfig {
		return o, f, nil
	}
	if err := f.Set.Parse(args); err != nil {
		return nil, nil, err
	}
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	return o, f, nil
}

// processCommandLineArguments handles the non-flag words "version" and "help".
func processCommandLineArguments(f *Flags) error {
	if f.Set.NArg() == 0 {
		return nil
	}
	switch word := f.Set.Arg(0); strings.ToLower(word) {
	case "version":
		f.ShowVersion = true
	case "help":
		f.ShowHelp = true
	default:
		return fmt.Errorf("unrecognized command: %q", word)
	}
	return nil
}

// finish applies the flags whose effect is more than setting a field (-DV, -VV, -DVV,
// --cluster, --routes, the TLS flags) and records which options came from the command
// line.
func (f *Flags) finish() error {
	o := f.options
	f.explicitlySet = map[string]bool{}
	var flagError error
	tlsOverride, tlsDisabled := false, false
	f.Set.Visit(func(fl *flag.Flag) {
		f.explicitlySet[fl.Name] = true
		if flagError != nil {
			return
		}
		switch fl.Name {
		case "VV":
			o.Trace, o.TraceVerbose = f.traceAndVerbose, f.traceAndVerbose
			o.markInCommandLine("Trace", o.Trace)
			o.markInCommandLine("TraceVerbose", o.TraceVerbose)
		case "DVV":
			o.Debug, o.Trace, o.TraceVerbose = f.debugAndTraceAndVerbose, f.debugAndTraceAndVerbose, f.debugAndTraceAndVerbose
			o.markInCommandLine("Debug", o.Debug)
			o.markInCommandLine("Trace", o.Trace)
			o.markInCommandLine("TraceVerbose", o.TraceVerbose)
		case "DV":
			o.Debug, o.Trace = f.debugAndTrace, f.debugAndTrace
			o.markInCommandLine("Debug", o.Debug)
			o.markInCommandLine("Trace", o.Trace)
		case "D", "debug":
			o.markInCommandLine("Debug", o.Debug)
		case "V", "trace":
			o.markInCommandLine("Trace", o.Trace)
		case "T", "logtime":
			o.markInCommandLine("Logtime", o.Logtime)
		case "s", "syslog":
			o.markInCommandLine("Syslog", o.Syslog)
		case "no_advertise":
			o.markInCommandLine("Cluster.NoAdvertise", o.Cluster.NoAdvertise)
		case "cluster", "cluster_listen":
			flagError = overrideCluster(o)
		case "routes":
			o.Routes = RoutesFromString(o.RoutesStr)
			o.Cluster.Routes = o.Routes
		case "tls":
			if !o.TLS {
				// `-tls=false` turns TLS off, whatever the file said.
				o.TLSConfig, tlsDisabled, tlsOverride = nil, true, false
				return
			}
			tlsOverride = true
		case "tlscert", "tlskey", "tlsverify", "tlscacert":
			if !tlsDisabled {
				tlsOverride = true
			}
		}
	})
	if flagError != nil {
		return flagError
	}
	if tlsOverride {
		if err := overrideTLS(o); err != nil {
			return err
		}
	}
	if o.RoutesStr != "" && o.Cluster.ListenStr == "" && o.Cluster.Host == "" && o.Cluster.Port == 0 {
		return errors.New("solicited routes require cluster capabilities, e.g. --cluster")
	}
	return nil
}

// ExplicitlySet reports whether the named flag was given on the command line.
func (f *Flags) ExplicitlySet(name string) bool { return f.explicitlySet[name] }

func (o *Options) markInCommandLine(name string, value bool) {
	if o.inCmdLine == nil {
		o.inCmdLine = make(map[string]bool)
	}
	o.inCmdLine[name] = value
}

// overrideTLS builds the TLS config from the TLS flags.
func overrideTLS(o *Options) error {
	if o.TLSCert == "" {
		return errors.New("TLS Server certificate must be present and valid")
	}
	if o.TLSKey == "" {
		return errors.New("TLS Server private key must be present and valid")
	}
	o.TLS = true
	o.TLSConfig = &TLSConfigOpts{CertFile: o.TLSCert, KeyFile: o.TLSKey, CaFile: o.TLSCaCert, Verify: o.TLSVerify}
	return nil
}

// overrideCluster applies --cluster nats://[user:pass@]host:port; an empty value turns
// clustering off, and port -1 asks for a random port.
func overrideCluster(o *Options) error {
	listen := o.Cluster.ListenStr
	if listen == "" {
		o.Cluster.Port = 0
		return nil
	}
	wantsRandom := strings.HasSuffix(listen, ":-1")
	if wantsRandom {
		listen = listen[:len(listen)-3] + ":0"
	}
	u, err := url.Parse(listen)
	if err != nil {
		return err
	}
	host, port, ok := splitHostPort(u.Host)
	if !ok {
		return fmt.Errorf("address %s: missing port in address", u.Host)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	if wantsRandom {
		n = RandomPort
	}
	o.Cluster.Host, o.Cluster.Port = host, n
	if u.User != nil {
		password, ok := u.User.Password()
		if !ok {
			return errors.New("expected cluster password to be set")
		}
		o.Cluster.Username, o.Cluster.Password = u.User.Username(), password
	} else {
		o.Cluster.Username, o.Cluster.Password = "", ""
	}
	return nil
}

// RoutesFromString splits a comma-separated list of route URLs.
func RoutesFromString(routes string) []string {
	var out []string
	for _, r := range strings.Split(routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// MergeOptions returns fileOpts with every option flagOpts sets (non-zero) taking
// precedence, as the reference's MergeOptions; either may be nil.
func MergeOptions(fileOpts, flagOpts *Options) *Options {
	if fileOpts == nil {
		return flagOpts
	}
	if flagOpts == nil {
		return fileOpts
	}
	merged := *fileOpts
	overrideString := func(target *string, value string) {
		if value != "" {
			*target = value
		}
	}
	overrideInt := func(target *int, value int) {
		if value != 0 {
			*target = value
		}
	}
	overrideInt(&merged.Port, flagOpts.Port)
	overrideString(&merged.Host, flagOpts.Host)
	overrideString(&merged.ServerName, flagOpts.ServerName)
	overrideString(&merged.ClientAdvertise, flagOpts.ClientAdvertise)
	overrideString(&merged.Username, flagOpts.Username)
	overrideString(&merged.Password, flagOpts.Password)
	overrideString(&merged.Authorization, flagOpts.Authorization)
	overrideInt(&merged.HTTPPort, flagOpts.HTTPPort)
	overrideInt(&merged.HTTPSPort, flagOpts.HTTPSPort)
	overrideString(&merged.HTTPBasePath, flagOpts.HTTPBasePath)
	overrideString(&merged.LogFile, flagOpts.LogFile)
	overrideString(&merged.PidFile, flagOpts.PidFile)
	overrideString(&merged.PortsFileDir, flagOpts.PortsFileDir)
	overrideInt(&merged.ProfPort, flagOpts.ProfPort)
	overrideString(&merged.StoreDir, flagOpts.StoreDir)
	overrideString(&merged.Cluster.ListenStr, flagOpts.Cluster.ListenStr)
	overrideString(&merged.Cluster.Advertise, flagOpts.Cluster.Advertise)
	overrideString(&merged.Cluster.Name, flagOpts.Cluster.Name)
	overrideInt(&merged.Cluster.ConnectRetries, flagOpts.Cluster.ConnectRetries)
	if flagOpts.Debug {
		merged.Debug = true
	}
	if flagOpts.Trace {
		merged.Trace = true
	}
	if flagOpts.Logtime {
		merged.Logtime = true
	}
	if flagOpts.JetStream {
		merged.JetStream = true
	}
	if flagOpts.Cluster.NoAdvertise {
		merged.Cluster.NoAdvertise = true
	}
	if flagOpts.RoutesStr != "" {
		merged.RoutesStr = flagOpts.RoutesStr
		merged.Routes = RoutesFromString(flagOpts.RoutesStr)
		merged.Cluster.Routes = merged.Routes
	}
	return &merged
}
