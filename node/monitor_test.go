package node

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestFormatUptime proves durations render as the reference renders them.
func TestFormatUptime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                   "0s",
		59 * time.Second:                    "59s",
		61 * time.Second:                    "1m1s",
		3*time.Hour + 2*time.Minute:         "3h2m0s",
		49 * time.Hour:                      "2d1h0m0s",
		(366*24 + 1) * time.Hour:            "1y1d1h0m0s",
		1500 * time.Millisecond:             "1s",
		24*time.Hour - time.Nanosecond:      "23h59m59s",
		time.Duration(400) * 24 * time.Hour: "1y35d0h0m0s",
	} {
		if got := formatUptime(d); got != want {
			t.Errorf("formatUptime(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestSortConnInfos proves each /connz sort key orders as the reference does
// (counters descending, cid and start ascending) and unknown keys are refused.
func TestSortConnInfos(t *testing.T) {
	base := time.Unix(1000, 0)
	infos := func() []*ConnInfo {
		return []*ConnInfo{
			{CID: 1, Start: base.Add(2 * time.Second), OutMsgs: 5, InMsgs: 1, NumSubs: 2},
			{CID: 2, Start: base, OutMsgs: 9, InMsgs: 3, NumSubs: 1},
			{CID: 3, Start: base.Add(time.Second), OutMsgs: 1, InMsgs: 2, NumSubs: 3},
		}
	}
	for key, want := range map[string][]uint64{
		"":          {1, 2, 3},
		"cid":       {1, 2, 3},
		"start":     {2, 3, 1},
		"msgs_to":   {2, 1, 3},
		"msgs_from": {2, 3, 1},
		"subs":      {3, 1, 2},
	} {
		list := infos()
		if err := sortConnInfos(list, key, "open"); err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, info := range list {
			got = append(got, info.CID)
		}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("sort %q: %v want %v", key, got, want)
		}
	}
	if err := sortConnInfos(infos(), "bogus", "open"); err == nil {
		t.Error("unknown sort key accepted")
	}
	if err := sortConnInfos(infos(), "stop", "open"); err == nil {
		t.Error("sort by stop accepted on open connections")
	}
}

// TestTransformSubject proves import subject mapping carries wildcard tokens over in
// order and keeps literal destinations.
func TestTransformSubject(t *testing.T) {
	cases := []struct{ pattern, destination, published, want string }{
		{"foo.*", "bar.*", "foo.x", "bar.x"},
		{"foo.>", "bar.>", "foo.x.y", "bar.x.y"},
		{"a.*.b.*", "c.*.*", "a.1.b.2", "c.1.2"},
		{"foo", "bar", "foo", "bar"},
		{"svc.*", "local", "svc.x", "local"},
	}
	for _, c := range cases {
		if got := transformSubject(c.pattern, c.destination, c.published); got != c.want {
			t.Errorf("transform(%q,%q,%q) = %q want %q", c.pattern, c.destination, c.published, got, c.want)
		}
	}
	si := &streamImport{subject: "news.>", prefix: "imported"}
	if got := si.mapSubject("news.today"); got != "imported.news.today" {
		t.Errorf("prefix mapping %q", got)
	}
}

// TestHandleMonitor proves the HTTP routing: JSON endpoints, JSONP callbacks, bad
// queries and unknown paths.
func TestHandleMonitor(t *testing.T) {
	s := startTestServer(t, nil)
	status, contentType, body := s.handleMonitor("GET", "/varz")
	var varz map[string]any
	if status != 200 || contentType != "application/json" || json.Unmarshal(body, &varz) != nil || varz["server_id"] != s.ID() {
		t.Fatalf("varz %d %s %s", status, contentType, body)
	}
	for _, field := range []string{"max_payload", "max_connections", "ping_interval", "in_msgs", "out_bytes", "uptime", "http_req_stats"} {
		if _, ok := varz[field]; !ok {
			t.Errorf("varz lacks %q", field)
		}
	}
	if status, _, body := s.handleMonitor("GET", "/connz?callback=cb"); status != 200 || !strings.HasPrefix(string(body), "cb(") {
		t.Fatalf("jsonp %d %s", status, body)
	}
	if status, _, _ := s.handleMonitor("GET", "/connz?sort=bogus"); status != 400 {
		t.Fatalf("bad sort gave %d", status)
	}
	if status, _, _ := s.handleMonitor("GET", "/nothing"); status != 404 {
		t.Fatalf("unknown path gave %d", status)
	}
	if status, _, _ := s.handleMonitor("POST", "/varz"); status != 405 {
		t.Fatalf("POST gave %d", status)
	}
	if status, _, body := s.handleMonitor("GET", "/accountz?acc=$G"); status != 200 || !strings.Contains(string(body), `"account_name": "$G"`) {
		t.Fatalf("accountz %d %s", status, body)
	}
	// The reference writes /healthz without indentation.
	if status, _, body := s.handleMonitor("GET", "/healthz"); status != 200 || string(body) != `{"status":"ok"}` {
		t.Fatalf("healthz %d %s", status, body)
	}
}

// TestParseQuery proves query decoding: escapes, plus signs, first value wins, and
// malformed escapes are skipped.
func TestParseQuery(t *testing.T) {
	q := parseQuery("acc=%24G&subs=1&subs=2&name=a+b&bad=%zz&&x")
	if q.Get("acc") != "$G" || q.Get("subs") != "1" || q.Get("name") != "a b" || q.Get("bad") != "" || q.Get("x") != "" {
		t.Fatalf("%v", q)
	}
	if _, ok := unescape("%4"); ok {
		t.Fatal("truncated escape accepted")
	}
}
