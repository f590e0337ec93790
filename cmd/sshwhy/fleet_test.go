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

// TestFleetSameAnswers: the same events, indexed locally and shipped to
// VictoriaLogs (a single node, and two storage nodes behind a front
// node), give the same answers to the same search — stdout and stderr,
// byte for byte — for every filter, query-string form and format.
func TestFleetSameAnswers(t *testing.T) {
	single := vltest.Start(t, vltest.Options{})
	front, storage := vltest.StartCluster(t, 2, vltest.Options{})
	logs := []string{fleetLog(t, 20000, 7), sampleLog, writeTemp(t, "hostile.log", hostile)}
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
	// Ship the same logs again: every row is now stored twice, and the
	// answers must not change.
	if _, _, err := runCmd(t, "", args...); err != nil {
		t.Fatal(err)
	}
	single.WaitRows(`{app="sshwhy"}`, 2*n, 10*time.Second)
	front.WaitRows(`{app="sshwhy"}`, 2*n, 10*time.Second, storage...)

	// Query values taken from the data.
	var v4, v6, user, host, mid string
	for _, ev := range evs {
		switch {
		case v4 == "" && strings.Count(ev.SrcIP, ".") == 3 && !strings.Contains(ev.SrcIP, ":"):
			v4 = ev.SrcIP
		case v6 == "" && strings.Contains(ev.SrcIP, ":") && !strings.Contains(ev.SrcIP, "."):
			v6 = ev.SrcIP
		}
		if user == "" && ev.User != "" && ev.User != "root" {
			user = ev.User
		}
		if host == "" && ev.Host != "" {
			host = ev.Host
		}
	}
	if v4 == "" || v6 == "" {
		t.Fatalf("the test data lacks IPv4 (%q) or IPv6 (%q) sources", v4, v6)
	}
	v4net := v4[:strings.LastIndex(v4, ".")] + ".0/24"
	v6net := v6[:strings.Index(v6, ":")] + "::/16"
	mid = evs[len(evs)/2].End.UTC().Format(time.RFC3339Nano)
	since := evs[len(evs)/3].End.UTC().Format(time.RFC3339)

	cases := [][]string{
		{},
		{"--limit", "0", "--format", "json"},
		{"--limit", "7", "--format", "csv"},
		{"--sort", "end", "--limit", "9", "--format", "json"},
		{"--sort", "-end", "--limit", "9"},
		{"--since", since, "--until", mid, "--format", "json", "--limit", "0"},
		{"--since", mid, "--format", "json", "--limit", "0"},
		{"--until", since},
		{"--cause", "auth_failure,probe", "--format", "json", "--limit", "50"},
		{"--ip", v4, "--format", "json", "--limit", "0"},
		{"--ip", v4net, "--format", "json", "--limit", "0"},
		{"--ip", v6, "--format", "json", "--limit", "0"},
		{"--ip", v6net, "--format", "json", "--limit", "0"},
		{"--ip", "::ffff:0:0/96", "--count-by", "cause"},
		{"--ip", "::/0", "--count-by", "cause"},
		{"--ip", "0.0.0.0/0", "--count-by", "cause"},
		{"--ip", "198.51.100.4", "--format", "json"},
		{"--user", "root", "--format", "json", "--limit", "0"},
		{"--user", user, "--user", "\x1b]0;owned\x07x from 6.6.6.6 port 22", "--format", "json", "--limit", "0"},
		{"--user", ""},
		{"--host", host, "--phase", "postauth", "--format", "csv", "--limit", "0"},
		{"--format", "ips"},
		{"--format", "ips", "--cause", "auth_failure", "--limit", "5"},
		{"--count-by", "cause"},
		{"--count-by", "src_ip", "--limit", "5"},
		{"--count-by", "user", "--format", "json", "--limit", "0"},
		{"--count-by", "host", "--format", "csv"},
		{"--count-by", "hour", "--limit", "0", "--since", since},
		{"--cause", "grace_timeout", "--format", "json"},
		{"--limit", "0", "--format", "json", "cause:probe -user:root"},
		{"--limit", "0", "--format", "json", "+cause:auth_failure user:root"},
		{"--limit", "0", "--format", "json", "--", "-cause:probe -cause:auth_failure"},
		{"--limit", "0", "--format", "json", "cause:client_timeout cause:user_logout"},
		{"--limit", "0", "--format", "json", "duration_s:>60"},
		{"--limit", "0", "--format", "json", "duration_s:<=2 auth_failures:>=1"},
		{"--limit", "0", "--format", "json", "+duration_s:0 +phase:preauth"},
		{"--limit", "0", "--format", "json", "+auth_failures:>=3 +auth_failures:<6"},
		{"--limit", "0", "--format", "json", "pid:<2000"},
		{"--limit", "0", "--format", "json", "+pid:1.5 +cause:probe"},
		{"--limit", "0", "--format", "json", `+end:>="` + mid + `"`},
		{"--limit", "0", "--format", "json", `end:<"` + since + `"`},
		{"--limit", "0", "--format", "json", `ip:"` + v6net + `"`},
		{"--limit", "0", "--format", "json", "auth_method:publickey"},
		{"--limit", "0", "--format", "json", "confidence:inferred rule:client-alive-timeout"},
		{"--limit", "0", "--format", "json", "program:sshd-session"},
		{"--count-by", "cause", "source:fleet.log"},
		{"--count-by", "user", "hour:" + evs[0].End.UTC().Format("2006-01-02T15")},
	}
	remotes := map[string]string{"single": single.URL, "cluster": front.URL}
	var empty []string
	for _, c := range cases {
		local := append([]string{"search", "--data", data}, c...)
		wantOut, wantErr, err := runCmd(t, "", local...)
		if err != nil {
			t.Errorf("local %q: %v", c, err)
			continue
		}
		if wantOut == "" || strings.Contains(wantOut, "no events match") {
			empty = append(empty, fmt.Sprintf("%q", c))
		}
		for name, u := range remotes {
			remote := append([]string{"search", "--remote", "victorialogs=" + u}, c...)
			out, errOut, err := runCmd(t, "", remote...)
			if err != nil {
				t.Errorf("%s %q: %v", name, c, err)
				continue
			}
			if out != wantOut || errOut != wantErr {
				t.Errorf("%s %q differs from the local index:\n%s", name, c, lineDiff(out+errOut, wantOut+wantErr))
			}
		}
	}
	// Only the cases meant to match nothing may be empty.
	if len(empty) != 3 {
		t.Errorf("%d cases match nothing locally, want 3: %s", len(empty), strings.Join(empty, " "))
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
	srv.WaitRows(`{app="sshwhy"}`, 30, 10*time.Second)
	remote := "victorialogs=" + srv.URL
	world := writeTemp(t, "auth", "user=a\npassword=b\n")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--remote", remote, `"Too many authentication failures"`}, 2, "free text"},
		{[]string{"--remote", remote, "lines:closed"}, 2, "--logsql"},
		{[]string{"--remote", remote, "user:ro*"}, 2, "wildcard"},
		{[]string{"--remote", remote, "user:/ro.t/"}, 2, "regular expression"},
		{[]string{"--remote", remote, "user:root~1"}, 2, "fuzzy"},
		{[]string{"--remote", remote, `start:>"2026-01-01T00:00:00Z"`}, 2, "time range on start"},
		{[]string{"--remote", remote, "nosuchfield:x"}, 2, `field "nosuchfield"`},
		{[]string{"--remote", remote, "--sort", "user"}, 2, "sorts by end only"},
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
		if err == nil || exitCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
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
	_, summary, err = runCmd(t, "", "index", "--data", data, "--ship", "victorialogs="+tls.URL, "--ca", cert, "--ship-compress", sampleLog)
	if err != nil || !strings.Contains(summary, "shipped 30 events") {
		t.Fatalf("https with --ca: %v\n%s", err, summary)
	}
	tlsRows(t, tls.URL, cert, 30)
	out, _, err = runCmd(t, "", "search", "--remote", "victorialogs="+tls.URL, "--ca", cert, "--count-by", "cause", "--format", "json")
	if err != nil || out != want {
		t.Errorf("search over https: %v\n%s", err, out)
	}
	if _, _, err := runCmd(t, "", "search", "--remote", "victorialogs="+tls.URL, "--count-by", "cause"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("https without --ca: %v", err)
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
