package opts

import (
	"flag"
	"reflect"
	"strings"
	"testing"
)

// TestParseFlagsEachFlag proves every flag of PARITY.md section 5 sets its option, in
// its short and long forms.
func TestParseFlagsEachFlag(t *testing.T) {
	cases := []struct {
		args  []string
		check func(o *Options, f *Flags) bool
	}{
		{[]string{"-p", "4333"}, func(o *Options, f *Flags) bool { return o.Port == 4333 }},
		{[]string{"--port", "4334"}, func(o *Options, f *Flags) bool { return o.Port == 4334 }},
		{[]string{"-p", "-1"}, func(o *Options, f *Flags) bool { return o.Port == RandomPort }},
		{[]string{"-a", "127.0.0.1"}, func(o *Options, f *Flags) bool { return o.Host == "127.0.0.1" }},
		{[]string{"--addr", "h1"}, func(o *Options, f *Flags) bool { return o.Host == "h1" }},
		{[]string{"--net", "h2"}, func(o *Options, f *Flags) bool { return o.Host == "h2" }},
		{[]string{"-n", "s1"}, func(o *Options, f *Flags) bool { return o.ServerName == "s1" }},
		{[]string{"--name", "s2"}, func(o *Options, f *Flags) bool { return o.ServerName == "s2" }},
		{[]string{"--server_name", "s3"}, func(o *Options, f *Flags) bool { return o.ServerName == "s3" }},
		{[]string{"-m", "8222"}, func(o *Options, f *Flags) bool { return o.HTTPPort == 8222 }},
		{[]string{"-m", "-1"}, func(o *Options, f *Flags) bool { return o.HTTPPort == RandomPort }},
		{[]string{"--http_port", "8223"}, func(o *Options, f *Flags) bool { return o.HTTPPort == 8223 }},
		{[]string{"-ms", "8443"}, func(o *Options, f *Flags) bool { return o.HTTPSPort == 8443 }},
		{[]string{"-c", "x.conf"}, func(o *Options, f *Flags) bool { return f.ConfigFile == "x.conf" }},
		{[]string{"--config", "y.conf"}, func(o *Options, f *Flags) bool { return f.ConfigFile == "y.conf" }},
		{[]string{"-t"}, func(o *Options, f *Flags) bool { return o.CheckConfig }},
		{[]string{"-js"}, func(o *Options, f *Flags) bool { return o.JetStream }},
		{[]string{"--jetstream"}, func(o *Options, f *Flags) bool { return o.JetStream }},
		{[]string{"-sd", "/data"}, func(o *Options, f *Flags) bool { return o.StoreDir == "/data" }},
		{[]string{"--store_dir", "/d2"}, func(o *Options, f *Flags) bool { return o.StoreDir == "/d2" }},
		{[]string{"--user", "u", "--pass", "p"}, func(o *Options, f *Flags) bool { return o.Username == "u" && o.Password == "p" }},
		{[]string{"--auth", "tok"}, func(o *Options, f *Flags) bool { return o.Authorization == "tok" }},
		{[]string{"-D"}, func(o *Options, f *Flags) bool { return o.Debug && !o.Trace }},
		{[]string{"--debug"}, func(o *Options, f *Flags) bool { return o.Debug }},
		{[]string{"-V"}, func(o *Options, f *Flags) bool { return o.Trace && !o.Debug }},
		{[]string{"--trace"}, func(o *Options, f *Flags) bool { return o.Trace }},
		{[]string{"-DV"}, func(o *Options, f *Flags) bool { return o.Debug && o.Trace && !o.TraceVerbose }},
		{[]string{"-VV"}, func(o *Options, f *Flags) bool { return o.Trace && o.TraceVerbose && !o.Debug }},
		{[]string{"-DVV"}, func(o *Options, f *Flags) bool { return o.Debug && o.Trace && o.TraceVerbose }},
		{[]string{"-l", "n.log"}, func(o *Options, f *Flags) bool { return o.LogFile == "n.log" }},
		{[]string{"--log", "m.log"}, func(o *Options, f *Flags) bool { return o.LogFile == "m.log" }},
		{[]string{"-P", "n.pid"}, func(o *Options, f *Flags) bool { return o.PidFile == "n.pid" }},
		{[]string{"--pid", "m.pid"}, func(o *Options, f *Flags) bool { return o.PidFile == "m.pid" }},
		{[]string{"--ports_file_dir", "/tmp"}, func(o *Options, f *Flags) bool { return o.PortsFileDir == "/tmp" }},
		{[]string{}, func(o *Options, f *Flags) bool { return o.Logtime }},
		{[]string{"-T=false"}, func(o *Options, f *Flags) bool { return !o.Logtime }},
		{[]string{"--logtime_utc"}, func(o *Options, f *Flags) bool { return o.LogtimeUTC }},
		{[]string{"-s"}, func(o *Options, f *Flags) bool { return o.Syslog }},
		{[]string{"-r", "udp://h:514"}, func(o *Options, f *Flags) bool { return o.RemoteSyslog == "udp://h:514" }},
		{[]string{"--log_size_limit", "1000"}, func(o *Options, f *Flags) bool { return o.LogSizeLimit == 1000 }},
		{[]string{"--max_traced_msg_len", "10"}, func(o *Options, f *Flags) bool { return o.MaxTracedMsgLen == 10 }},
		{[]string{"--client_advertise", "h:1"}, func(o *Options, f *Flags) bool { return o.ClientAdvertise == "h:1" }},
		{[]string{"-v"}, func(o *Options, f *Flags) bool { return f.ShowVersion }},
		{[]string{"--version"}, func(o *Options, f *Flags) bool { return f.ShowVersion }},
		{[]string{"-h"}, func(o *Options, f *Flags) bool { return f.ShowHelp }},
		{[]string{"--help"}, func(o *Options, f *Flags) bool { return f.ShowHelp }},
		{[]string{"--help_tls"}, func(o *Options, f *Flags) bool { return f.ShowTLSHelp }},
		{[]string{"-sl", "reload=/run/n.pid"}, func(o *Options, f *Flags) bool { return f.Signal == "reload=/run/n.pid" }},
		{[]string{"--profile", "6060"}, func(o *Options, f *Flags) bool { return o.ProfPort == 6060 }},
		{[]string{"--tls", "--tlscert", "c", "--tlskey", "k", "--tlsverify", "--tlscacert", "ca"}, func(o *Options, f *Flags) bool {
			return o.TLS && o.TLSConfig != nil && o.TLSConfig.CertFile == "c" && o.TLSConfig.KeyFile == "k" && o.TLSConfig.CaFile == "ca" && o.TLSConfig.Verify
		}},
		{[]string{"--cluster", "nats://u:p@127.0.0.1:6222", "--routes", "nats://a:1, nats://b:2", "--cluster_name", "C"}, func(o *Options, f *Flags) bool {
			return o.Cluster.Host == "127.0.0.1" && o.Cluster.Port == 6222 && o.Cluster.Username == "u" && o.Cluster.Password == "p" &&
				reflect.DeepEqual(o.Routes, []string{"nats://a:1", "nats://b:2"}) && o.Cluster.Name == "C"
		}},
		{[]string{"--cluster", "nats://0.0.0.0:-1"}, func(o *Options, f *Flags) bool { return o.Cluster.Port == RandomPort }},
		{[]string{"--cluster_listen", "nats://h:1", "--no_advertise", "--cluster_advertise", "x:1", "--connect_retries", "4"}, func(o *Options, f *Flags) bool {
			return o.Cluster.Port == 1 && o.Cluster.NoAdvertise && o.Cluster.Advertise == "x:1" && o.Cluster.ConnectRetries == 4
		}},
	}
	for _, c := range cases {
		o, f, err := ParseFlags(c.args)
		if err != nil {
			t.Errorf("ParseFlags(%q): %v", c.args, err)
			continue
		}
		if !c.check(o, f) {
			t.Errorf("ParseFlags(%q) gave %+v", c.args, o)
		}
	}
}

// TestParseFlagsErrors proves bad command lines are errors, with the reference's text.
func TestParseFlagsErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-p", "abc"}, "invalid value"},
		{[]string{"--nope"}, "flag provided but not defined: -nope"},
		{[]string{"--tls"}, "TLS Server certificate must be present and valid"},
		{[]string{"--tls", "--tlscert", "c"}, "TLS Server private key must be present and valid"},
		{[]string{"--routes", "nats://a:1"}, "solicited routes require cluster capabilities, e.g. --cluster"},
		{[]string{"--cluster", "nats://u@h:1"}, "expected cluster password to be set"},
	}
	for _, c := range cases {
		_, _, err := ParseFlags(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFlags(%q) error = %v; want %q", c.args, err, c.want)
		}
	}
	_, _, err := ConfigureOptions([]string{"-t"}, nil, nil)
	if err == nil || err.Error() != "must specify [-c, --config] option to check configuration file syntax" {
		t.Errorf("-t without -c: %v", err)
	}
	_, _, err = ConfigureOptions([]string{"-c", "missing.conf"}, mapFiles(nil), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "error opening config file: ") {
		t.Errorf("missing file: %v", err)
	}
	_, _, err = ConfigureOptions([]string{"-c", "bad.conf"}, mapFiles(map[string]string{"bad.conf": "port: 1\nbogus: 2\n"}), nil)
	if err == nil || err.Error() != `bad.conf:2:1: unknown field "bogus"` {
		t.Errorf("bad file: %v", err)
	}
}

// TestConfigureOptionsFlagsOverrideFile proves the command line wins over the file,
// the file wins over flag defaults, and the file's other keys are kept.
func TestConfigureOptionsFlagsOverrideFile(t *testing.T) {
	files := map[string]string{"n.conf": `
port: 4222
host: 10.0.0.1
logtime: false
debug: true
max_payload: 2MB
authorization { user: fileuser, password: filepass }
jetstream { store_dir: /file }
`}
	o, f, err := ConfigureOptions([]string{"-c", "n.conf", "-p", "-1", "--user", "flaguser", "-D=false", "-sd", "/flag"}, mapFiles(files), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.ConfigFile != "n.conf" || o.ConfigFile != "n.conf" {
		t.Errorf("config file %q %q", f.ConfigFile, o.ConfigFile)
	}
	if o.Port != RandomPort || o.Username != "flaguser" || o.Password != "filepass" || o.Debug || o.StoreDir != "/flag" {
		t.Errorf("flags did not override: port %d user %q pass %q debug %v store %q", o.Port, o.Username, o.Password, o.Debug, o.StoreDir)
	}
	if o.Host != "10.0.0.1" || o.Logtime || o.MaxPayload != 2<<20 || !o.JetStream {
		t.Errorf("file values lost: host %q logtime %v payload %d js %v", o.Host, o.Logtime, o.MaxPayload, o.JetStream)
	}
	if !f.ExplicitlySet("p") || f.ExplicitlySet("a") || o.inCmdLine["Debug"] != false || !o.inConfig["Debug"] {
		t.Errorf("explicit tracking: p %v a %v cmd %v cfg %v", f.ExplicitlySet("p"), f.ExplicitlySet("a"), o.inCmdLine, o.inConfig)
	}

	// -t checks the file and returns without applying the command line again.
	o, _, err = ConfigureOptions([]string{"-t", "-c", "n.conf"}, mapFiles(files), nil)
	if err != nil || !o.CheckConfig || o.Port != 4222 {
		t.Errorf("-t: %v %+v", err, o)
	}
	// help and version stop before the file is read.
	for _, args := range [][]string{{"-h", "-c", "missing"}, {"version"}, {"help"}} {
		_, f, err := ConfigureOptions(args, mapFiles(nil), nil)
		if err != nil || !(f.ShowHelp || f.ShowVersion) {
			t.Errorf("%q: %v %+v", args, err, f)
		}
	}
	if _, _, err := ConfigureOptions([]string{"bogus"}, nil, nil); err == nil || err.Error() != `unrecognized command: "bogus"` {
		t.Errorf("bogus command: %v", err)
	}
}

// TestMergeOptions proves MergeOptions takes every set flag value over the file's.
func TestMergeOptions(t *testing.T) {
	file := &Options{Port: 4222, Host: "h", Username: "fu", Password: "fp", Debug: false, LogFile: "f.log", HTTPPort: 8222, MaxPayload: 10}
	flags := &Options{Port: 5222, Username: "cu", Debug: true, RoutesStr: "nats://a:1,nats://b:2", StoreDir: "/s"}
	merged := MergeOptions(file, flags)
	if merged.Port != 5222 || merged.Host != "h" || merged.Username != "cu" || merged.Password != "fp" || !merged.Debug ||
		merged.LogFile != "f.log" || merged.HTTPPort != 8222 || merged.MaxPayload != 10 || len(merged.Routes) != 2 || merged.StoreDir != "/s" {
		t.Errorf("merged %+v", merged)
	}
	if file.Port != 4222 {
		t.Error("MergeOptions modified its input")
	}
	if MergeOptions(nil, flags) != flags || MergeOptions(file, nil) != file {
		t.Error("nil handling")
	}
}

// TestUsageListsEveryFlag proves the help text mentions each flag the set defines.
func TestUsageListsEveryFlag(t *testing.T) {
	_, f, err := ParseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Set.VisitAll(func(fl *flag.Flag) {
		if fl.Name == "cluster_listen" {
			return // an alias of --cluster the reference does not list either
		}
		if !strings.Contains(Usage, "-"+fl.Name+" ") && !strings.Contains(Usage, "-"+fl.Name+",") && !strings.Contains(Usage, "-"+fl.Name+"\n") {
			t.Errorf("Usage does not mention -%s", fl.Name)
		}
	})
}
