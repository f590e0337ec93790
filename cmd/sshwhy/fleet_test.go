package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/internal/loggen"
	"github.com/sshwhy/sshwhy/victorialogs/vltest"
)

// fleetLog writes a loggen log: several hosts, bots from IPv4 and IPv6,
// RFC 3339 timestamps, and an OpenSSH 10 host; plus the hostile lines.
func fleetLog(t *testing.T, lines int, seed uint64) string {
	t.Helper()
	cfg := loggen.DefaultConfig()
	cfg.Lines, cfg.Seed, cfg.Hosts, cfg.Modern, cfg.Rate = lines, seed, 3, 0.1, 20
	cfg.Format = loggen.RFC3339
	var b bytes.Buffer
	if _, err := loggen.Generate(&b, nil, cfg); err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "fleet.log", b.String())
}

// classifyEvents returns the ended events of a classify run (open
// connections are not indexed or shipped until they end).
func classifyEvents(t *testing.T, logs ...string) []classify.Event {
	t.Helper()
	out, _, err := runCmd(t, "", append([]string{"classify", "--format", "json"}, logs...)...)
	if err != nil {
		t.Fatal(err)
	}
	var evs []classify.Event
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev classify.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if !ev.Open {
			evs = append(evs, ev)
		}
	}
	return evs
}

// fleetExtra are connections the generated logs lack: sources that are
// no address (a host name, an address with a zone, logged IPv4-mapped),
// an upper-case user, and sessions whose start is not in the log.
const fleetExtra = "Nov 23 11:00:00 srv2 sshd[700]: Connection closed by gw.example.net port 50000 [preauth]\n" +
	"Nov 23 11:00:01 srv2 sshd[701]: Connection closed by fe80::1%eth0 port 50001 [preauth]\n" +
	"Nov 23 11:00:02 srv2 sshd[702]: Connection closed by ::ffff:198.51.100.9 port 50002 [preauth]\n" +
	"Nov 23 11:00:03 srv2 sshd[703]: Connection closed by authenticating user ROOT 198.51.100.10 port 50003 [preauth]\n" +
	"Nov 23 11:00:04 srv2 sshd[704]: Received disconnect from 198.51.100.11 port 50004:11: disconnected by user\n" +
	"Nov 23 11:00:04 srv2 sshd[704]: Disconnected from user alice 198.51.100.11 port 50004\n" +
	"Nov 23 11:00:05 srv2 sshd[705]: pam_unix(sshd:session): session closed for user bob\n"

// fleetCase is one search: its arguments, and whether it is meant to
// match nothing (every other case must match something, or it proves
// little).
type fleetCase struct {
	args []string
	none bool
}

// TestFleetSameAnswers: the same events, indexed locally and shipped to
// VictoriaLogs (a single node, and two storage nodes behind a front
// node), each stored twice there, give the same answers to the same
// search — stdout and stderr, byte for byte — for every filter, kind of
// query-text clause, sort and format; and a query the index refuses is
// refused for --remote with the same message and exit status 2.
func TestFleetSameAnswers(t *testing.T) {
	single := vltest.Start(t, vltest.Options{})
	front, storage := vltest.StartCluster(t, 2, vltest.Options{})
	logs := []string{fleetLog(t, 12000, 7), sampleLog, writeTemp(t, "hostile.log", hostile), writeTemp(t, "extra.log", fleetExtra)}
	data := filepath.Join(t.TempDir(), "data")
	args := append([]string{"index", "--data", data, "--ship", "victorialogs=" + single.URL, "--ship", "victorialogs=" + front.URL}, logs...)
	_, summary, err := runCmd(t, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	evs := classifyEvents(t, logs...)
	n := len(evs)
	for _, u := range []string{single.URL, front.URL} {
		if !strings.Contains(summary, fmt.Sprintf("shipped %d events to %s\n", n, u)) {
			t.Fatalf("summary does not say %d events were shipped to %s:\n%s", n, u, summary)
		}
	}
	if got := single.WaitRows(`{app="sshwhy"}`, n, 10*time.Second); got != n {
		t.Fatalf("single node holds %d rows, want %d", got, n)
	}
	if got := front.WaitRows(`{app="sshwhy"}`, n, 10*time.Second, storage...); got != n {
		t.Fatalf("cluster holds %d rows, want %d", got, n)
	}
	for _, s := range storage {
		if s.Rows(`{app="sshwhy"}`) == 0 {
			t.Errorf("storage node %s holds no rows: the front node did not spread them", s.Addr)
		}
	}
	// Ship the same logs again (--from-start: the checkpoint says they
	// were read): every row is now stored twice, and the answers must
	// not change.
	if _, _, err := runCmd(t, "", append(args, "--from-start")...); err != nil {
		t.Fatal(err)
	}
	if got := single.WaitRows(`{app="sshwhy"}`, 2*n, 10*time.Second); got != 2*n {
		t.Fatalf("single node holds %d rows after shipping twice, want %d", got, 2*n)
	}
	if got := front.WaitRows(`{app="sshwhy"}`, 2*n, 10*time.Second, storage...); got != 2*n {
		t.Fatalf("cluster holds %d rows after shipping twice, want %d", got, 2*n)
	}

	// Query values taken from the data.
	var v4, v6, user, host, rule, method string
	unknownStart := 0
	for _, ev := range evs {
		switch {
		case v4 == "" && strings.Count(ev.SrcIP, ".") == 3 && !strings.Contains(ev.SrcIP, ":"):
			v4 = ev.SrcIP
		case v6 == "" && strings.Contains(ev.SrcIP, ":") && !strings.Contains(ev.SrcIP, "."):
			v6 = ev.SrcIP
		}
		if user == "" && len(ev.User) > 3 && ev.User != "root" {
			user = ev.User
		}
		if host == "" && len(ev.Host) > 2 {
			host = ev.Host
		}
		if rule == "" && strings.Contains(ev.Rule, "-") {
			rule = ev.Rule
		}
		if method == "" && len(ev.AuthMethods) > 0 {
			method = ev.AuthMethods[0]
		}
		if ev.StartUnknown {
			unknownStart++
		}
	}
	if v4 == "" || v6 == "" || user == "" || method == "" || unknownStart < 2 {
		t.Fatalf("the test data lacks IPv4 (%q) or IPv6 (%q) sources, a user (%q), an auth method (%q) or sessions without a start (%d)", v4, v6, user, method, unknownStart)
	}
	v4net := v4[:strings.LastIndex(v4, ".")] + ".0/24"
	v6net := v6[:strings.Index(v6, ":")] + "::/16"
	mid := evs[len(evs)/2].End.UTC().Format(time.RFC3339Nano)
	since := evs[len(evs)/3].End.UTC().Format(time.RFC3339)
	start := evs[len(evs)/4].Start.UTC().Format(time.RFC3339Nano)
	day := evs[len(evs)/2].End.UTC().Format(time.DateOnly)
	hour := evs[len(evs)/2].End.UTC().Format("2006-01-02T15")
	// A user one edit away (a letter dropped), and one with two letters
	// swapped.
	dropped := user[:1] + user[2:]
	swapped := user[:1] + user[2:3] + user[1:2] + user[3:]

	json0 := []string{"--limit", "0", "--format", "json"}
	text := func(q string) []string { return append(slices.Clone(json0), "--", q) }
	cases := []fleetCase{
		{args: []string{}},
		{args: json0},
		{args: []string{"--limit", "7", "--format", "csv"}},
		{args: []string{"--sort", "end", "--limit", "9", "--format", "json"}},
		{args: []string{"--sort", "-end", "--limit", "9"}},
		{args: []string{"--sort", "-duration_s", "--limit", "25", "--format", "csv"}},
		{args: []string{"--sort", "duration_s", "--limit", "25", "--format", "json"}},
		{args: []string{"--sort", "-auth_failures", "--limit", "25", "--format", "json"}},
		{args: []string{"--sort", "auth_failures", "--limit", "0", "--format", "csv", "--cause", "auth_failure"}},
		{args: []string{"--since", since, "--until", mid, "--format", "json", "--limit", "0"}},
		{args: []string{"--since", mid, "--format", "json", "--limit", "0"}},
		{args: []string{"--until", since}},
		{args: []string{"--cause", "auth_failure,probe", "--format", "json", "--limit", "50"}},
		{args: []string{"--ip", v4, "--format", "json", "--limit", "0"}},
		{args: []string{"--ip", "::ffff:" + v4, "--format", "json", "--limit", "0"}},
		{args: []string{"--ip", v4net, "--format", "json", "--limit", "0"}},
		{args: []string{"--ip", v6, "--format", "json", "--limit", "0"}},
		{args: []string{"--ip", v6net, "--format", "json", "--limit", "0"}},
		{args: []string{"--ip", "::ffff:0:0/96", "--count-by", "cause"}},
		{args: []string{"--ip", "::/0", "--count-by", "cause"}},
		{args: []string{"--ip", "::/1", "--count-by", "cause"}},
		{args: []string{"--ip", "0.0.0.0/0", "--count-by", "cause"}},
		{args: []string{"--ip", "fe80::/10", "--format", "json"}},
		{args: []string{"--ip", "198.51.100.4", "--format", "json"}, none: true},
		{args: []string{"--user", "root", "--format", "json", "--limit", "0"}},
		{args: []string{"--user", user, "--user", "\x1b]0;owned\x07x from 6.6.6.6 port 22", "--format", "json", "--limit", "0"}},
		{args: []string{"--user", ""}, none: true},
		{args: []string{"--host", host, "--phase", "postauth", "--format", "csv", "--limit", "0"}},
		{args: []string{"--format", "ips"}},
		{args: []string{"--format", "ips", "--cause", "auth_failure", "--limit", "5"}},
		{args: []string{"--count-by", "cause"}},
		{args: []string{"--count-by", "src_ip", "--limit", "5"}},
		{args: []string{"--count-by", "src_ip", "--limit", "0", "--format", "csv", "--host", "srv2"}},
		{args: []string{"--count-by", "user", "--format", "json", "--limit", "0"}},
		{args: []string{"--count-by", "host", "--format", "csv"}},
		{args: []string{"--count-by", "hour", "--limit", "0", "--since", since}},
		{args: []string{"--cause", "grace_timeout", "--host", "srv2", "--format", "json"}, none: true},
		// The query text: signs and alternatives.
		{args: text("cause:probe -user:root")},
		{args: text("+cause:auth_failure +user:root")},
		{args: text("-cause:probe -cause:auth_failure")},
		{args: text("cause:client_timeout cause:user_logout")},
		{args: text("cause:client_timeout user:nosuchuser")},
		{args: text("+cause:client_timeout +user:nosuchuser"), none: true},
		{args: text("-user:*")},
		{args: text("+user:* -src_ip:*")},
		// Keywords: values, wildcards, regexps, fuzzy.
		{args: text("user:" + user[:2] + "*")},
		{args: text("user:" + user[:1] + "?" + user[2:])},
		{args: text("user:/" + user[:1] + ".+/")},
		{args: text("user:/(?i)root/")},
		{args: text("user:/r[^o].*/ user:/.*\\x07.*/")},
		{args: text("user:" + dropped + "~1")},
		{args: text("user:" + swapped + "~1")},
		{args: text("user:" + swapped[:len(swapped)-1] + "~2")},
		{args: text("user:admin1~1 -user:admin1")},
		{args: text("host:" + host[:len(host)-1] + "*")},
		{args: text("src_ip:" + v4)},
		{args: text("src_ip:::ffff:198.51.100.9")},
		{args: text("src_ip:" + v6[:4] + "*")},
		{args: text("remote:*")},
		{args: text("remote:gw.example.net")},
		{args: text("+remote:* -src_ip:*")},
		{args: text("rule:" + rule)},
		{args: text("rule:*timeout*")},
		{args: text("confidence:inferred rule:client-alive-timeout")},
		{args: text("program:sshd-session")},
		{args: text("program:sshd*")},
		{args: text("auth_method:" + method)},
		{args: text("phase:postauth -cause:user_logout")},
		{args: []string{"--count-by", "cause", "source:*fleet.log"}},
		// Numbers, times, hours.
		{args: text("duration_s:>60")},
		{args: text("duration_s:<=2 auth_failures:>=1")},
		{args: text("+duration_s:0 +phase:preauth")},
		{args: text("+duration_s:0 +phase:postauth")},
		{args: text("duration_s:>=1.5 -duration_s:>100")},
		{args: text("+auth_failures:>=3 +auth_failures:<6")},
		{args: text("auth_failures:2")},
		{args: text("pid:<2000")},
		{args: text("src_port:>60000")},
		{args: text(`+end:>="` + mid + `"`)},
		{args: text(`end:<"` + since + `"`)},
		{args: text("end:" + day)},
		{args: text("end:>" + day)},
		{args: text("start:>=" + start)},
		{args: text("+start:<" + mid + " +cause:probe")},
		{args: text("start:" + day)},
		{args: text("+cause:user_logout -start:<9999-12-31")},
		{args: text("hour:" + hour)},
		{args: text("hour:>" + hour)},
		{args: text("hour:<=" + hour)},
		{args: text("hour:" + hour[:len(hour)-1] + "*")},
		{args: text(`ip:"` + v6net + `"`)},
		{args: text("ip:" + v4net + " ip:::/0")},
		{args: []string{"--count-by", "user", "hour:" + evs[0].End.UTC().Format("2006-01-02T15")}},
	}
	// What the index refuses, --remote refuses with the same words.
	refused := [][]string{
		{"+cause:auth_failure user:root"},
		{"+pid:1.5 +cause:probe"},
		{"cause:timeout"},
		{"user:root AND user:admin"},
		{"(user:root)"},
		{"user:root^2"},
		{"hour:2026"},
		{"user:/(/"},
		{"nosuchfield:x"},
		{"--ip", "10.0.0.0/33"},
		{"--ip", "fe80::1%eth0"},
		{"--cause", "timeout"},
		{"--sort", "nosuch"},
	}
	remotes := map[string]string{"single": single.URL, "cluster": front.URL}
	for _, c := range cases {
		local := append([]string{"search", "--data", data}, c.args...)
		wantOut, wantErr, err := runCmd(t, "", local...)
		if err != nil {
			t.Errorf("local %q: %v", c.args, err)
			continue
		}
		if empty := wantOut == "" || strings.Contains(wantOut, "no events match"); empty != c.none {
			t.Errorf("local %q: matches nothing: %v, want %v", c.args, empty, c.none)
		}
		for name, u := range remotes {
			remote := append([]string{"search", "--remote", "victorialogs=" + u}, c.args...)
			out, errOut, err := runCmd(t, "", remote...)
			if err != nil {
				t.Errorf("%s %q: %v", name, c.args, err)
				continue
			}
			if out != wantOut || errOut != wantErr {
				t.Errorf("%s %q differs from the local index:\n%s", name, c.args, lineDiff(out+errOut, wantOut+wantErr))
			}
		}
	}
	checkFleetReport(t, data, evs, remotes)
	for _, c := range refused {
		_, _, want := runCmd(t, "", append([]string{"search", "--data", data}, c...)...)
		if want == nil || exitCode(want) != 2 {
			t.Errorf("local %q: %v, want a usage error", c, want)
			continue
		}
		_, _, err := runCmd(t, "", append([]string{"search", "--remote", "victorialogs=" + single.URL}, c...)...)
		if err == nil || exitCode(err) != 2 || err.Error() != want.Error() {
			t.Errorf("remote %q: %v, want %v (exit 2)", c, err, want)
		}
	}
}

// checkFleetReport: `report --remote` over the shipped events (stored
// twice) equals the report of the local index, per host too, but for
// what only a host has: the connections still open on it and the sshd
// lines no rule knows (and the finding about them).
func checkFleetReport(t *testing.T, data string, evs []classify.Event, remotes map[string]string) {
	t.Helper()
	first, last := evs[0].End.UTC(), evs[0].End.UTC()
	for _, e := range evs {
		if e.End.Before(first) {
			first = e.End.UTC()
		}
		if e.End.After(last) {
			last = e.End.UTC()
		}
	}
	days := int(last.Truncate(24*time.Hour).Sub(first.Truncate(24*time.Hour)).Hours()/24) + 1
	period := []string{"--tz", "UTC", "--day", first.Format(time.DateOnly), "--days", fmt.Sprint(days), "--no-server-config", "--format", "json"}
	report := func(args ...string) map[string]any {
		t.Helper()
		out, _, err := runCmd(t, "", append(append([]string{"report"}, args...), period...)...)
		if err != nil {
			t.Fatalf("report %q: %v", args, err)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"generated", "source", "open", "unmatched"} {
			delete(r, k)
		}
		// And the finding about the unmatched lines.
		fs, _ := r["findings"].([]any)
		r["findings"] = slices.DeleteFunc(fs, func(f any) bool { return f.(map[string]any)["id"] == "unmatched_lines" })
		return r
	}
	want := report("--data", data)
	total, _ := want["total"].(map[string]any)["count"].(float64)
	sessions, _ := want["sessions"].(map[string]any)["median_s"].(float64)
	if hosts, _ := want["per_host"].([]any); len(hosts) < 3 || int(total) != len(evs) || sessions == 0 {
		t.Fatalf("the local report has %d hosts in per_host, %v events (want %d), a session median of %vs", len(hosts), total, len(evs), sessions)
	}
	wantJSON, _ := json.MarshalIndent(want, "", " ")
	for name, u := range remotes {
		got, _ := json.MarshalIndent(report("--remote", "victorialogs="+u), "", " ")
		if string(got) != string(wantJSON) {
			t.Errorf("%s: report --remote differs from the local report:\n%s", name, lineDiff(string(got), string(wantJSON)))
		}
	}
}

// lineDiff shows the first differing line of got and want.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d (of %d, want %d):\n got %q\nwant %q", i+1, len(g), len(w), a, b)
		}
	}
	return "(same)"
}

// TestFleetErrors: what --remote cannot translate exactly is a usage
// error naming --logsql; bad targets and credentials are usage errors;
// --logsql adds a raw filter.
func TestFleetErrors(t *testing.T) {
	srv := vltest.Start(t, vltest.Options{})
	data := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCmd(t, "", "index", "--data", data, "--ship", "victorialogs="+srv.URL, sampleLog); err != nil {
		t.Fatal(err)
	}
	if n, got := len(classifyEvents(t, sampleLog)), srv.WaitRows(`{app="sshwhy"}`, 1, 10*time.Second); got != n {
		t.Fatalf("VictoriaLogs holds %d rows, want %d", got, n)
	}
	remote := "victorialogs=" + srv.URL
	world := writeTemp(t, "auth", "user=a\npassword=b\n")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--remote", remote, `"Too many authentication failures"`}, 2, "free text"},
		{[]string{"--remote", remote, "lines:closed"}, 2, "--logsql"},
		{[]string{"--remote", remote, "+cause:probe +lines:clo*"}, 2, "free text"},
		{[]string{"--remote", remote, "detail:timeout"}, 2, "text in detail"},
		{[]string{"--remote", remote, "auth_method:pass*"}, 2, "a pattern over auth_method"},
		{[]string{"--remote", remote, "nosuchfield:x"}, 2, `unknown field "nosuchfield"`},
		{[]string{"--remote", remote, "--sort", "user"}, 2, "sorts by end, duration_s or auth_failures"},
		{[]string{"--remote", remote, "--logsql", "x | stats count()"}, 2, "400 Bad Request"},
		{[]string{"--remote", remote, "--cause", "timeout"}, 2, `unknown cause "timeout"`},
		{[]string{"--remote", "elastic=http://x"}, 2, "want victorialogs="},
		{[]string{"--remote", "victorialogs=ftp://x"}, 2, "want http://HOST:PORT"},
		{[]string{"--remote", "victorialogs=http://u:p@127.0.0.1:1"}, 2, "credentials do not belong in the URL"},
		{[]string{"--remote", remote, "--remote-auth-file", world}, 2, "readable by others"},
		{[]string{"--logsql", "x"}, 2, "need --remote"},
		{[]string{"--remote", "victorialogs=http://127.0.0.1:1"}, 1, "connection refused"},
	}
	os.Chmod(world, 0o644)
	for _, tt := range tests {
		_, _, err := runCmd(t, "", append([]string{"search"}, tt.args...)...)
		if err == nil {
			t.Errorf("%q: no error, want exit %d %q", tt.args, tt.code, tt.want)
		} else if exitCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: exit %d %v, want %d %q", tt.args, exitCode(err), err, tt.code, tt.want)
		}
	}
	// --logsql narrows the flags' query with a raw LogsQL filter: free
	// text, case-insensitive, in the evidence.
	out, _, err := runCmd(t, "", "search", "--remote", remote, "--format", "json", "--cause", "access_denied", "--logsql", `lines:i("not listed in allowusers")`)
	if err != nil || strings.Count(out, "\n") == 0 || strings.Contains(out, `"cause":"probe"`) {
		t.Errorf("--logsql: %v\n%s", err, out)
	}
	local, _, _ := runCmd(t, "", "search", "--data", data, "--format", "json", "--cause", "access_denied", `"not listed in AllowUsers"`)
	if out != local {
		t.Errorf("--logsql free text found other events than the local free text:\n%s\nlocal:\n%s", out, local)
	}
	if _, _, err := runCmd(t, "", "index", "--data", data, "--ship", "victorialogs="+srv.URL, "--spool-max", "lots", sampleLog); exitCode(err) != 2 {
		t.Errorf("--spool-max lots: %v", err)
	}
}

// TestFleetAuthAndTLS: VictoriaLogs' own basic auth (-httpAuth.*) with
// credentials from a file, for shipping and searching; a missing
// password leaves events spooled, not lost; https with --ca.
func TestFleetAuthAndTLS(t *testing.T) {
	srv := vltest.Start(t, vltest.Options{Username: "fleet", Password: "s3cret"})
	auth := writeTemp(t, "auth", "# fleet credentials\nuser=fleet\npassword=s3cret\n")
	os.Chmod(auth, 0o600)
	data := filepath.Join(t.TempDir(), "data")
	remote := "victorialogs=" + srv.URL
	_, summary, err := runCmd(t, "", "index", "--data", data, "--ship", remote, "--ship-wait", "1s", sampleLog)
	if err != nil || !strings.Contains(summary, "shipped 0 events") || !strings.Contains(summary, "401") || !strings.Contains(summary, "stay spooled") {
		t.Fatalf("without credentials: %v\n%s", err, summary)
	}
	// The next run with credentials sends what the first one spooled (and
	// reads nothing new: the checkpoint says the file was read).
	n := len(classifyEvents(t, sampleLog))
	_, summary, err = runCmd(t, "", "index", "--data", data, "--ship", remote, "--ship-auth-file", auth, sampleLog)
	if err != nil || !strings.Contains(summary, fmt.Sprintf("shipped %d events", n)) {
		t.Fatalf("with credentials: %v\n%s", err, summary)
	}
	srv.WaitRows(`{app="sshwhy"}`, n, 10*time.Second)
	if _, _, err := runCmd(t, "", "search", "--remote", remote, "--count-by", "cause"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("search without credentials: %v", err)
	}
	out, _, err := runCmd(t, "", "search", "--remote", remote, "--remote-auth-file", auth, "--count-by", "cause", "--format", "json")
	want, _, _ := runCmd(t, "", "search", "--data", data, "--count-by", "cause", "--format", "json")
	if err != nil || out != want {
		t.Errorf("search with credentials: %v\n%s\nwant\n%s", err, out, want)
	}

	// https: a certificate of our own CA (and compressed batches).
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key)
	tls := vltest.Start(t, vltest.Options{CertFile: cert, KeyFile: key})
	if !strings.HasPrefix(tls.URL, "https://") {
		t.Fatalf("TLS server at %s", tls.URL)
	}
	// (--from-start: the data directory's checkpoint says the log was read.)
	_, summary, err = runCmd(t, "", "index", "--data", data, "--from-start", "--ship", "victorialogs="+tls.URL, "--ship-ca", cert, "--ship-compress", sampleLog)
	if err != nil || !strings.Contains(summary, fmt.Sprintf("shipped %d events", n)) {
		t.Fatalf("https with --ship-ca: %v\n%s", err, summary)
	}
	tlsRows(t, tls.URL, cert, n)
	out, _, err = runCmd(t, "", "search", "--remote", "victorialogs="+tls.URL, "--ca", cert, "--count-by", "cause", "--format", "json")
	if err != nil || out != want {
		t.Errorf("search over https: %v\n%s", err, out)
	}
	if _, _, err := runCmd(t, "", "search", "--remote", "victorialogs="+tls.URL, "--count-by", "cause"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("https without --ca: %v", err)
	}
}

// TestFleetRetain: `index --retain` skips the events older than the
// retention, and ships none of them either: the engine holds what the
// index holds.
func TestFleetRetain(t *testing.T) {
	srv := vltest.Start(t, vltest.Options{})
	var b strings.Builder
	for i, age := range []time.Duration{40 * 24 * time.Hour, 31 * 24 * time.Hour, 20 * 24 * time.Hour, time.Hour} {
		ts := time.Now().Add(-age).UTC().Format(time.RFC3339)
		fmt.Fprintf(&b, "%s srv3 sshd[%d]: Connection closed by 198.51.100.%d port %d [preauth]\n", ts, 800+i, 20+i, 51000+i)
	}
	log := writeTemp(t, "old.log", b.String())
	data := filepath.Join(t.TempDir(), "data")
	_, summary, err := runCmd(t, "", "index", "--data", data, "--retain", "30d", "--ship", "victorialogs="+srv.URL, log)
	if err != nil || !strings.Contains(summary, "skipped 2 events older than --retain") ||
		!strings.Contains(summary, "shipped 2 events") || !strings.Contains(summary, "2 events older than --retain were not shipped") {
		t.Fatalf("index --retain 30d --ship: %v\n%s", err, summary)
	}
	srv.WaitRows(`{app="sshwhy"}`, 2, 10*time.Second)
	local, _, err := runCmd(t, "", "search", "--data", data, "--socket", "-", "--limit", "0", "--format", "csv")
	if err != nil || strings.Count(local, "\n") != 3 {
		t.Fatalf("local: %v\n%s", err, local)
	}
	if remote, _, err := runCmd(t, "", "search", "--remote", "victorialogs="+srv.URL, "--limit", "0", "--format", "csv"); err != nil || remote != local {
		t.Errorf("remote (%v):\n%s\nlocal:\n%s", err, remote, local)
	}
	if n := srv.Rows(`{app="sshwhy"}`); n != 2 {
		t.Errorf("VictoriaLogs holds %d rows, want 2", n)
	}
}

// TestFleetKill9: `sshwhy index --ship` killed with SIGKILL at several
// points and run again: VictoriaLogs ends up with every event (some
// several times), and the remote answers count each once and equal the
// local index's.
func TestFleetKill9(t *testing.T) {
	bin := buildSshwhy(t)
	srv := vltest.Start(t, vltest.Options{})
	log := fleetLog(t, 150000, 11)
	data := filepath.Join(t.TempDir(), "data")
	killed := 0
	run := func(killAfter time.Duration) {
		cmd := exec.Command(bin, "index", "--data", data, "--no-compact", "--ship", "victorialogs="+srv.URL, log)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if killAfter == 0 {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("final run: %v\n%s", err, errb.String())
			}
			return
		}
		var once sync.Once
		timer := time.AfterFunc(killAfter, func() { once.Do(func() { _ = cmd.Process.Signal(syscall.SIGKILL) }) })
		err := cmd.Wait()
		timer.Stop()
		if err == nil {
			t.Logf("run finished before the kill at %v", killAfter)
		} else {
			killed++
		}
	}
	for _, d := range []time.Duration{300 * time.Millisecond, 900 * time.Millisecond, 1500 * time.Millisecond} {
		run(d)
	}
	run(0)
	want, _, err := runCmd(t, "", "search", "--data", data, "--count-by", "cause", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var total int
	for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
		var b struct{ Count int }
		json.Unmarshal([]byte(l), &b)
		total += b.Count
	}
	rows := srv.WaitRows(`{app="sshwhy"}`, total, 10*time.Second)
	if rows < total {
		t.Fatalf("VictoriaLogs holds %d rows, fewer than the %d events", rows, total)
	}
	t.Logf("%d events, %d rows stored (duplicates from the killed runs: %d)", total, rows, rows-total)
	if killed < 2 || rows == total {
		t.Errorf("%d runs killed, %d duplicate rows: the test did not interrupt shipping", killed, rows-total)
	}
	got, _, err := runCmd(t, "", "search", "--remote", "victorialogs="+srv.URL, "--count-by", "cause", "--format", "json")
	if err != nil || got != want {
		t.Errorf("remote counts (%v):\n%s\nlocal:\n%s", err, got, want)
	}
	ids := func(args ...string) []string {
		out, _, err := runCmd(t, "", append([]string{"search", "--limit", "0", "--format", "csv"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		sort.Strings(lines)
		return lines
	}
	l, r := ids("--data", data), ids("--remote", "victorialogs="+srv.URL)
	if len(r) != total+1 || strings.Join(l, "\n") != strings.Join(r, "\n") {
		t.Errorf("remote search: %d lines, local %d (want %d events + header)", len(r), len(l), total)
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 (its own
// CA) and its key, PEM.
func writeSelfSigned(t *testing.T, certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sshwhy test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsRows waits until the https server at u holds n sshwhy rows (counted
// through sshwhy's own client with the CA).
func tlsRows(t *testing.T, u, ca string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, err := runCmd(t, "", "search", "--remote", "victorialogs="+u, "--ca", ca, "--count-by", "host", "--format", "csv")
		if err == nil && strings.Contains(out, ","+fmt.Sprint(n)+"\n") || time.Now().After(deadline) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
