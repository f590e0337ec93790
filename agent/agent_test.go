package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/report"
)

// now-ish lines: the agent's wall clock must not end them early.
func stamp(d time.Duration) string {
	return time.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// running is an agent started by start, stopped at the end of the test.
type running struct {
	a      *Agent
	cancel context.CancelFunc
	done   chan error
	client *Client
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	a, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{a: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := Dial(cfg.Socket)
		if err == nil {
			if _, err := c.Health(context.Background()); err == nil {
				r.client = c
				break
			}
		}
		select {
		case err := <-r.done:
			t.Fatalf("agent stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's socket did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("agent: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not stop")
	}
}

// eventually polls f until it returns true.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func indexed(t *testing.T, dir string) []*classify.Event {
	t.Helper()
	r, err := index.OpenReader(dir, index.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*classify.Event
	if _, err := r.Search(context.Background(), index.Query{}, index.SearchOptions{Sort: "end"}, func(e *classify.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAgentFile follows a log file: events reach the index and the API,
// open connections are served and survive a restart, the API is
// read-only, a second agent on the same data directory fails clearly.
func TestAgentFile(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	appendLines(t, log, stamp(-time.Minute)+" vm sshd[10]: Connection closed by 192.0.2.1 port 4000 [preauth]")
	cfg := Config{Files: []string{log}, Data: filepath.Join(dir, "data"), Socket: filepath.Join(dir, "sshwhy.sock"),
		Commit: Duration{50 * time.Millisecond}, Listen: "127.0.0.1:0"}
	r := start(t, cfg)
	ctx := context.Background()

	// The first start begins at the end: the old line is not read.
	appendLines(t, log,
		stamp(0)+" vm sshd[20]: Accepted publickey for alice from 203.0.113.7 port 40000 ssh2: ED25519 SHA256:x",
		stamp(0)+" vm sshd[21]: Connection closed by 198.51.100.4 port 4001 [preauth]")
	var open []*classify.Event
	eventually(t, "the session open in /v1/open", func() bool {
		open, _ = r.client.Open(ctx)
		return len(open) == 1 && open[0].User == "alice" && open[0].Open
	})
	eventually(t, "the probe in the metrics", func() bool {
		return strings.Contains(get(t, r.a.Addr(), "/metrics"), `sshwhy_connection_ends_total{cause="probe",host="vm"} 1`)
	})
	openID := open[0].ID
	eventually(t, "health counting the lines", func() bool {
		st, err := r.client.Health(ctx)
		return err == nil && st.Sources[log].Lines == 2 && st.Open == 1 && !st.LastCommit.IsZero()
	})

	// Read-only: every method but GET and HEAD is refused.
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, "http://"+r.a.Addr()+"/v1/events", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %s, want 405", m, resp.Status)
		}
	}
	// Go's profiles are there, read-only like the rest.
	if heap := get(t, r.a.Addr(), "/debug/pprof/heap?debug=1"); !strings.Contains(heap, "heap profile:") {
		t.Errorf("/debug/pprof/heap: %.200q", heap)
	}
	// The socket is 0660.
	if fi, err := os.Stat(cfg.Socket); err != nil || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket %v, %v", fi.Mode(), err)
	}

	// A second agent on the same data directory fails clearly.
	second := cfg
	second.Socket, second.Listen = filepath.Join(dir, "second.sock"), ""
	a2, err := New(second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a2.Run(ctx); err == nil || !strings.Contains(err.Error(), "another sshwhy agent") {
		t.Errorf("a second agent on the same data: %v", err)
	}

	// Stop, write the session's end while stopped, start again: it ends
	// as one event, found once.
	r.stop(t)
	if evs := indexed(t, cfg.Data); len(evs) != 1 || evs[0].Cause != cause.Probe || evs[0].SrcPort != 4001 {
		t.Fatalf("indexed after the first run: %v", evs)
	}
	appendLines(t, log,
		stamp(time.Second)+" vm sshd[22]: Received disconnect from 203.0.113.7 port 40000:11: disconnected by user",
		stamp(time.Second)+" vm sshd[22]: Disconnected from user alice 203.0.113.7 port 40000")
	r = start(t, cfg)
	eventually(t, "the session ended", func() bool {
		open, _ = r.client.Open(ctx)
		return len(open) == 0
	})
	r.stop(t)
	evs := indexed(t, cfg.Data)
	if len(evs) != 2 || evs[1].Cause != cause.UserLogout || evs[1].User != "alice" || evs[1].ID != openID {
		t.Errorf("indexed after the restart: %v", evs)
	}
}

func get(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sshwhy.toml")
	os.WriteFile(p, []byte("files = [\"/var/log/auth.log\"]\ncommit_interval = \"250ms\"\nretain = \"90d\"\n"), 0o644)
	c, err := LoadConfig(p, false)
	if err != nil || len(c.Files) != 1 || c.Commit.Duration != 250*time.Millisecond || c.Retain.Duration != 90*24*time.Hour {
		t.Errorf("%+v, %v", c, err)
	}
	os.WriteFile(p, []byte("fils = [\"/var/log/auth.log\"]\n"), 0o644)
	if _, err := LoadConfig(p, false); err == nil || !strings.Contains(err.Error(), "unknown setting(s) fils") {
		t.Errorf("a typo: %v", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.toml"), false); err == nil {
		t.Error("a missing file named explicitly is no error")
	}
	if c, err := LoadConfig(filepath.Join(dir, "missing.toml"), true); err != nil || len(c.Files) != 0 {
		t.Errorf("the default file missing: %+v, %v", c, err)
	}
	for _, bad := range []Config{
		{Files: []string{"auth.log"}, Data: "/x"},
		{Journal: true, JournalDir: "/x", Data: "/x"},
		{Data: ""},
		{Data: "/x", LogLevel: "loud"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v is valid", bad)
		}
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	if _, err := listenLoopback("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "not a loopback") {
		t.Errorf("0.0.0.0: %v", err)
	}
	ln, err := listenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestSocketInUse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := listenUnix(p, ""); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a live socket: %v", err)
	}
}

// TestAgentReport: with a [report] schedule the agent writes the report
// of the day before once, and not again after a restart.
func TestAgentReport(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	appendLines(t, log, "")
	sched := &report.Schedule{Time: "00:00", Dir: filepath.Join(dir, "reports"), Format: report.FormatJSON}
	if err := sched.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Files: []string{log}, Data: filepath.Join(dir, "data"), Socket: filepath.Join(dir, "s.sock"),
		Commit: Duration{50 * time.Millisecond}, Report: sched}
	r := start(t, cfg)
	yesterday := time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	var files []string
	eventually(t, "the report of "+yesterday, func() bool {
		files, _ = filepath.Glob(filepath.Join(sched.Dir, "*"))
		return len(files) == 1
	})
	b, err := os.ReadFile(files[0])
	if err != nil || !strings.Contains(filepath.Base(files[0]), yesterday) || !strings.Contains(string(b), `"version"`) {
		t.Fatalf("report %s: %.200s, %v", files[0], b, err)
	}
	r.stop(t)
	start(t, cfg) // stopped by its cleanup
	time.Sleep(300 * time.Millisecond)
	if files, _ := filepath.Glob(filepath.Join(sched.Dir, "*")); len(files) != 1 {
		t.Errorf("after a restart: %v", files)
	}
}

// TestExampleConfig: the packaged, commented configuration loads, and so
// does the same file with every setting uncommented.
func TestExampleConfig(t *testing.T) {
	if _, err := LoadConfig("../packaging/sshwhy.toml", false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../packaging/sshwhy.toml")
	if err != nil {
		t.Fatal(err)
	}
	var on []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") && len(l) > 1 && l[1] != ' ' && l[1] != '#' {
			l = l[1:]
		}
		on = append(on, l)
	}
	p := filepath.Join(t.TempDir(), "on.toml")
	os.WriteFile(p, []byte(strings.Join(on, "\n")), 0o644)
	c, err := LoadConfig(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Report == nil || c.Report.Time != "06:30" || c.Retain.Duration != 90*24*time.Hour || len(c.Files) != 1 {
		t.Errorf("uncommented example: %+v", c)
	}
}
