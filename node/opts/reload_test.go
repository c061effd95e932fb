package opts

import (
	"strings"
	"testing"
)

func processForReload(t *testing.T, text string) *Options {
	t.Helper()
	o := mustProcess(t, text)
	o.SetDefaults()
	return o
}

// TestDiffReloadable proves changed auth, limits and logging keys are reported with
// their kind, in field order, and unchanged configs give no changes.
func TestDiffReloadable(t *testing.T) {
	base := "port: 4222\ndebug: false\nmax_payload: 1MB\nauthorization { users: [{user: a, password: a}] }\n"
	old := processForReload(t, base)
	same := processForReload(t, base)
	if changes, err := Diff(old, same); err != nil || len(changes) != 0 {
		t.Fatalf("identical configs: %v %v", changes, err)
	}
	updated := processForReload(t, "port: 4222\ndebug: true\nmax_payload: 2MB\nping_interval: \"1m\"\nlogfile: x.log\n"+
		"authorization { users: [{user: a, password: b}], timeout: 3 }\n")
	changes, err := Diff(old, updated)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Field+":"+c.Kind.String())
	}
	want := "Debug:logging,LogFile:logging,MaxPayload:limits,PingInterval:limits,AuthTimeout:auth,Users:auth"
	if strings.Join(got, ",") != want {
		t.Errorf("changes %s\nwant    %s", strings.Join(got, ","), want)
	}
	if changes[2].Old.(int32) != 1<<20 || changes[2].New.(int32) != 2<<20 {
		t.Errorf("max payload change %+v", changes[2])
	}
}

// TestDiffNotReloadable proves changes a running server cannot take fail with the
// reference's message.
func TestDiffNotReloadable(t *testing.T) {
	cases := []struct {
		old, new string
		want     string
	}{
		{"port: 4222", "port: 4223", "config reload not supported for Port: old=4222, new=4223"},
		{"host: a", "host: b", "config reload not supported for Host: old=a, new=b"},
		{"server_name: a", "server_name: b", "config reload not supported for ServerName: old=a, new=b"},
		{"cluster { port: 1 }", "cluster { port: 2 }", "config reload not supported for Cluster: "},
		{"jetstream: false", "jetstream: true", "config reload not supported for JetStream: old=false, new=true"},
		{"ocsp: false", "ocsp: true", "config reload not supported for ocsp: old=false, new=true"},
		{"accounts { A { users: [{user: u}] } }\nno_auth_user: u", "accounts { A { users: [{user: u}] } }",
			"config reload not supported for NoAuthUser: old=u, new="},
		{"system_account: A\naccounts: [A, B]", "system_account: B\naccounts: [A, B]", "config reload not supported for SystemAccount: old=A, new=B"},
	}
	for _, c := range cases {
		_, err := Diff(processForReload(t, c.old), processForReload(t, c.new))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Diff(%q -> %q) error = %v; want prefix %q", c.old, c.new, err, c.want)
		}
	}
	// Clearing no_auth_user together with its user is allowed.
	changes, err := Diff(processForReload(t, "accounts { A { users: [{user: u}] } }\nno_auth_user: u"),
		processForReload(t, "accounts { A { users: [{user: v}] } }"))
	if err != nil || len(changes) != 3 {
		t.Errorf("no_auth_user removed with its user: %v %v", changes, err)
	}
	// A random port on reload is not a change.
	old, new := Default(), Default()
	new.Port = RandomPort
	if changes, err := Diff(old, new); err != nil || len(changes) != 0 {
		t.Errorf("random port: %v %v", changes, err)
	}
}
