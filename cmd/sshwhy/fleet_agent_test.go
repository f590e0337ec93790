package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/victorialogs/vltest"
)

// TestFleetAgentLive: `sshwhy agent --ship` (the binary) follows a log
// file as it grows and ships to a real VictoriaLogs; it is killed with
// SIGKILL four times mid-stream, and the engine is stopped for two
// seconds while lines keep coming and brought back. The agent's metrics
// show the outage (retries, bytes spooled) and the recovery. Afterwards
// `search --remote` finds every connection of the reference exactly once
// (though some rows are stored twice), and the remote counts equal the
// local index's.
func TestFleetAgentLive(t *testing.T) {
	bin := buildSshwhy(t)
	srv := vltest.Start(t, vltest.Options{})
	dir := t.TempDir()
	log, lock, data := filepath.Join(dir, "auth.log"), filepath.Join(dir, "rotate.lock"), filepath.Join(dir, "data")
	lines := realisticLog(t, 30000, 23)
	ended, open := reference(t, 120*time.Second, lines)
	os.WriteFile(log, nil, 0o644)
	// Shipping configured in the file, as on a server.
	conf := filepath.Join(dir, "sshwhy.toml")
	os.WriteFile(conf, []byte("ship = [\"victorialogs="+srv.URL+"\"]\nspool_max = \"256MiB\"\n"), 0o644)
	api := freeAddr(t)
	args := []string{"--file", log, "--data", data, "--socket", "-", "--listen", api, "--config", conf,
		"--from-start", "--login-grace-time", "120s"}
	w := &writer{path: log, lock: lock, lines: lines, rate: 5000}
	a := runAgentBinary(t, bin, args...)
	w.start()
	begin := time.Now()
	at := func(d time.Duration) { time.Sleep(time.Until(begin.Add(d))) }
	kill := func() {
		a.stop(t, syscall.SIGKILL)
		a = runAgentBinary(t, bin, args...)
	}
	at(800 * time.Millisecond)
	kill()
	at(1600 * time.Millisecond)
	kill()
	at(2200 * time.Millisecond)
	srv.Stop()
	at(3800 * time.Millisecond)
	down := scrape(t, api)
	srv.Restart()
	at(4600 * time.Millisecond)
	kill()
	at(5300 * time.Millisecond)
	kill()
	if err := <-w.done; err != nil {
		t.Fatal(err)
	}
	// The agent reads the rest and ships what is spooled.
	var remote uint64
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		srv.Flush()
		if remote = uniqueIDs(t, srv); remote >= uint64(len(ended)) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The last acknowledgement may follow the rows becoming searchable.
	up := scrape(t, api)
	for i := 0; i < 50 && up["sshwhy_ship_spooled_bytes"] != 0; i++ {
		time.Sleep(100 * time.Millisecond)
		up = scrape(t, api)
	}
	a.stop(t, syscall.SIGTERM)
	if t.Failed() {
		t.Logf("agent stderr:\n%s", a.stderr.String())
	}

	// The outage shows in the metrics, and so does the recovery.
	if down["sshwhy_ship_retries_total"] == 0 || down["sshwhy_ship_spooled_bytes"] == 0 {
		t.Errorf("while VictoriaLogs was down the agent's metrics show %v retries and %v bytes spooled", down["sshwhy_ship_retries_total"], down["sshwhy_ship_spooled_bytes"])
	}
	if up["sshwhy_ship_events_total"] == 0 || up["sshwhy_ship_spooled_bytes"] != 0 || up["sshwhy_ship_dropped_events_total"] != 0 ||
		up["sshwhy_ship_last_success_timestamp_seconds"] < float64(begin.Unix()) {
		t.Errorf("after the recovery the agent's metrics show %v", up)
	}
	compare(t, data, ended, open, nil)
	rows := srv.Rows(`{app="sshwhy"}`)
	t.Logf("%d events, %d rows stored (%d stored more than once), %d unique ids remote", len(ended), rows, rows-len(ended), remote)
	if rows < len(ended) {
		t.Fatalf("VictoriaLogs holds %d rows, fewer than the %d events", rows, len(ended))
	}
	// Every connection exactly once, the reference's and no other.
	out, _, err := runCmd(t, "", "search", "--remote", "victorialogs="+srv.URL, "--limit", "0", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		seen[l[strings.LastIndexByte(l, ',')+1:]]++
	}
	missing, twice := 0, 0
	for id := range ended {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
		delete(seen, id)
	}
	if missing > 0 || twice > 0 || len(seen) > 0 {
		t.Errorf("search --remote: %d connections missing, %d found more than once, %d not in the reference", missing, twice, len(seen))
	}
	local, _, err := runCmd(t, "", "search", "--data", data, "--socket", "-", "--limit", "0", "--format", "csv")
	if err != nil || local != out {
		t.Errorf("search --remote and the local index list different events (%v)", err)
	}
	for _, by := range []string{"cause", "host", "src_ip"} {
		l, _, err := runCmd(t, "", "search", "--data", data, "--socket", "-", "--count-by", by, "--limit", "0", "--format", "json")
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := runCmd(t, "", "search", "--remote", "victorialogs="+srv.URL, "--count-by", by, "--limit", "0", "--format", "json")
		if err != nil || r != l {
			t.Errorf("--count-by %s: remote differs from local (%v)\n%s", by, err, lineDiff(r, l))
		}
	}
}

// TestFleetAgentConfig: the agent's ship settings, from its flags or its
// configuration file, are checked before anything starts: a bad one is a
// usage error naming it.
func TestFleetAgentConfig(t *testing.T) {
	dir := t.TempDir()
	conf := func(body string) string {
		p := filepath.Join(t.TempDir(), "sshwhy.toml")
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	base := []string{"agent", "--data", filepath.Join(dir, "data"), "--socket", "-", "--file", filepath.Join(dir, "auth.log")}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--ship", "elastic=http://127.0.0.1:9200"}, "want victorialogs="},
		{[]string{"--ship", "victorialogs=http://127.0.0.1:9428", "--spool-max", "lots"}, "--spool-max"},
		{[]string{"--ship-auth-file", "/nonexistent"}, "need --ship"},
		{[]string{"--config", conf("ship = [\"victorialogs=http://u:p@127.0.0.1:9428\"]\n")}, "credentials do not belong in the URL"},
		{[]string{"--config", conf("ship = [\"victorialogs=http://127.0.0.1:9428\"]\nship_ca = \"/etc/ssl/certs/ca-certificates.crt\"\n")}, "a CA file is for https"},
		{[]string{"--config", conf("ship = [\"victorialogs=http://127.0.0.1:9428\"]\nspool_max = \"-1\"\n")}, "--spool-max"},
		{[]string{"--config", conf("ship_wait = \"5s\"\n")}, "unknown setting(s) ship_wait"},
		// The flag replaces the file's targets.
		{[]string{"--config", conf("ship = [\"victorialogs=http://127.0.0.1:9428\"]\n"), "--ship", "victorialogs=ftp://x"}, "want http://HOST:PORT"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(t, "", append(slices.Clone(base), tt.args...)...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}

// freeAddr is a free loopback TCP address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape reads the agent's sshwhy_ship_* metrics (one target), retrying
// while the agent starts.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			if i == 50 {
				t.Fatalf("metrics: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		defer resp.Body.Close()
		out := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, rest, ok := strings.Cut(sc.Text(), "{")
			if !ok || !strings.HasPrefix(name, "sshwhy_ship_") {
				continue
			}
			v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metrics line %q", sc.Text())
			}
			out[name] = v
		}
		if len(out) == 0 {
			t.Fatalf("the agent exports no sshwhy_ship_ metrics")
		}
		return out
	}
}

// uniqueIDs counts the event ids VictoriaLogs holds (0 while it cannot
// answer).
func uniqueIDs(t *testing.T, srv *vltest.Server) uint64 {
	t.Helper()
	resp, err := http.PostForm(srv.URL+"/select/logsql/query", map[string][]string{"query": {`{app="sshwhy"} | stats count_uniq(id) n`}})
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct{ N string }
	if json.Unmarshal(b, &r) != nil {
		return 0
	}
	n, _ := strconv.ParseUint(r.N, 10, 64)
	return n
}
