package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/lab"
	"github.com/sshwhy/sshwhy/internal/loggen"
	"github.com/sshwhy/sshwhy/pipeline"
	"github.com/sshwhy/sshwhy/rules"
)

// The live tests drive `sshwhy agent` (the binary) the way a machine does:
// a writer appends a realistic auth.log at about 5,000 lines a second
// while Debian's logrotate rotates it and the agent is stopped, started
// and killed. At the end the index must hold exactly the events one
// classification of everything written gives, each once, and the agent's
// open connections must be exactly the ones still open.

// realisticLog is n lines of a generated auth.log (several hosts, OpenSSH
// 9.2 and 10.0), stamped from now on: the log runs ahead of the wall
// clock, so the agent's clock never ends a connection a later line
// continues.
func realisticLog(t *testing.T, n int, seed uint64) []string {
	t.Helper()
	cfg := loggen.DefaultConfig()
	cfg.Lines, cfg.Seed, cfg.Format, cfg.Modern = n, seed, loggen.RFC3339, 0.3
	cfg.Start = time.Now().UTC()
	var b bytes.Buffer
	if _, err := loggen.Generate(&b, nil, cfg); err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(strings.TrimSuffix(b.String(), "\n"), "\n")
}

// reference classifies lines in one pass, as the agent would without
// stopping: the ended events by id, and the ids still open.
func reference(t *testing.T, grace time.Duration, lines []string) (map[string]*classify.Event, map[string]bool) {
	t.Helper()
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	ended := map[string]*classify.Event{}
	p, err := pipeline.New(pipeline.Config{Rules: rs, Classify: classify.Options{LoginGraceTime: grace},
		Sinks: []pipeline.Sink{pipeline.SinkFunc(func(e *classify.Event) error {
			if _, dup := ended[e.ID]; dup {
				t.Fatalf("the reference has event %s twice", e.ID)
			}
			ended[e.ID] = e
			return nil
		})}})
	if err != nil {
		t.Fatal(err)
	}
	var parser ingest.Parser
	for _, s := range lines {
		l := parser.Parse(strings.TrimSuffix(s, "\n"))
		if err := p.Feed(&l); err != nil {
			t.Fatal(err)
		}
	}
	open := map[string]bool{}
	for e := range p.Machine().OpenEvents() {
		open[e.ID] = true
	}
	return ended, open
}

// writer appends lines to path at about rate lines a second, in small
// batches, each under an flock on lock (logrotate runs under the same
// lock, so its copy and truncate fall between two batches, as they would
// between two writes of a logger that reopens its file).
type writer struct {
	path, lock string
	lines      []string
	rate       int
	done       chan error
}

func (w *writer) start() {
	w.done = make(chan error, 1)
	go func() { w.done <- w.run() }()
}

func (w *writer) run() error {
	lk, err := os.OpenFile(w.lock, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lk.Close()
	const batch = 50
	every := time.Duration(batch) * time.Second / time.Duration(w.rate)
	next := time.Now()
	for i := 0; i < len(w.lines); i += batch {
		chunk := strings.Join(w.lines[i:min(i+batch, len(w.lines))], "")
		if err := syscall.Flock(int(lk.Fd()), syscall.LOCK_EX); err != nil {
			return err
		}
		f, err := os.OpenFile(w.path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			_, err = f.WriteString(chunk)
			f.Close()
		}
		syscall.Flock(int(lk.Fd()), syscall.LOCK_UN)
		if err != nil {
			return err
		}
		next = next.Add(every)
		time.Sleep(time.Until(next))
	}
	return nil
}

// logrotate rotates path with Debian's logrotate, by create or by
// copytruncate, compressing older generations, under the writer's lock.
func logrotate(t *testing.T, dir, path, lock, mode string) {
	t.Helper()
	conf := filepath.Join(dir, "logrotate-"+mode+".conf")
	body := fmt.Sprintf("%s {\n  rotate 30\n  compress\n  delaycompress\n  missingok\n  %s\n}\n", path, map[string]string{
		"create":       "create 0644 root root",
		"copytruncate": "copytruncate",
	}[mode])
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("flock", lock, "logrotate", "-f", "-s", filepath.Join(dir, "logrotate.state"), conf).CombinedOutput()
	if err != nil {
		t.Fatalf("logrotate (%s): %v\n%s", mode, err, out)
	}
}

// agentProc is one run of the agent binary.
type agentProc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

func runAgentBinary(t *testing.T, bin string, args ...string) *agentProc {
	t.Helper()
	p := &agentProc{cmd: exec.Command(bin, append([]string{"agent"}, args...)...), stderr: &bytes.Buffer{}}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// stop ends the agent with sig and waits; a TERM must end it cleanly.
func (p *agentProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	err := p.cmd.Wait()
	if sig == syscall.SIGTERM && err != nil {
		t.Fatalf("agent after SIGTERM: %v\n%s", err, p.stderr.String())
	}
}

// indexedEvents reads every event of the data directory (no agent runs).
func indexedEvents(t *testing.T, data string) map[string]*classify.Event {
	t.Helper()
	r, err := index.OpenReader(data, index.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]*classify.Event{}
	if _, err := r.Search(context.Background(), index.Query{}, index.SearchOptions{}, func(e *classify.Event) error {
		if _, dup := out[e.ID]; dup {
			t.Errorf("event %s twice in the index", e.ID)
		}
		out[e.ID] = e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// compare checks the index and the checkpoint's open connections against
// the reference.
func compare(t *testing.T, data string, ended map[string]*classify.Event, open map[string]bool, filter func(*classify.Event) bool) {
	t.Helper()
	got := indexedEvents(t, data)
	missing, wrong, extra := 0, 0, 0
	for id, w := range ended {
		g, ok := got[id]
		switch {
		case !ok:
			if missing++; missing <= 5 {
				t.Errorf("not indexed: %s %s %s:%d %s\n  %s", id, w.Host, w.SrcIP, w.SrcPort, w.Cause, strings.Join(w.Lines, "\n  "))
			}
		case g.Cause != w.Cause || g.User != w.User || g.Phase != w.Phase || len(g.Lines) != len(w.Lines) || !g.End.Equal(w.End):
			if wrong++; wrong <= 5 {
				t.Errorf("event %s: indexed %s/%s %q %d lines, want %s/%s %q %d lines", id, g.Cause, g.Phase, g.User, len(g.Lines), w.Cause, w.Phase, w.User, len(w.Lines))
			}
		}
	}
	for id, g := range got {
		if _, ok := ended[id]; !ok && (filter == nil || filter(g)) {
			if extra++; extra <= 5 {
				t.Errorf("indexed but not in the reference: %s %s %s:%d %s\n  %s", id, g.Host, g.SrcIP, g.SrcPort, g.Cause, strings.Join(g.Lines, "\n  "))
			}
		}
	}
	openNow, err := checkpointOpen(data)
	if err != nil {
		t.Fatal(err)
	}
	gotOpen := map[string]bool{}
	for _, e := range openNow {
		if filter == nil || filter(e) {
			gotOpen[e.ID] = true
		}
	}
	var lost, more []string
	for id := range open {
		if !gotOpen[id] {
			lost = append(lost, id)
		}
	}
	for id := range gotOpen {
		if !open[id] {
			more = append(more, id)
		}
	}
	sort.Strings(lost)
	sort.Strings(more)
	if len(lost)+len(more) > 0 {
		t.Errorf("open connections: %d missing (%v), %d more than the reference (%v)", len(lost), lost, len(more), more)
	}
	t.Logf("%d events (%d missing, %d wrong, %d extra), %d open", len(ended), missing, wrong, extra, len(open))
}

// TestAgentRotation: logrotate rotates the log six times, by create and
// by copytruncate, twice while the agent is stopped; every connection is
// indexed exactly once, with the cause one pass over all lines gives.
func TestAgentRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("live agent test: about 20 s")
	}
	bin := buildSshwhy(t)
	dir := t.TempDir()
	log, lock, data := filepath.Join(dir, "auth.log"), filepath.Join(dir, "rotate.lock"), filepath.Join(dir, "data")
	lines := realisticLog(t, 60000, 7)
	ended, open := reference(t, 120*time.Second, lines)
	os.WriteFile(log, nil, 0o644)
	args := []string{"--file", log, "--data", data, "--socket", "-", "--config", filepath.Join(dir, "none.toml"), "--from-start", "--login-grace-time", "120s"}
	os.WriteFile(filepath.Join(dir, "none.toml"), nil, 0o644)
	w := &writer{path: log, lock: lock, lines: lines, rate: 5000}
	a := runAgentBinary(t, bin, args...)
	w.start()
	for i, mode := range []string{"create", "copytruncate", "create", "copytruncate", "create", "copytruncate"} {
		time.Sleep(1500 * time.Millisecond)
		stopped := i == 2 || i == 3
		if stopped {
			a.stop(t, syscall.SIGTERM)
		}
		logrotate(t, dir, log, lock, mode)
		if stopped {
			time.Sleep(300 * time.Millisecond) // lines arrive while it is down
			a = runAgentBinary(t, bin, args...)
		}
	}
	if err := <-w.done; err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the agent reads the rest and commits
	a.stop(t, syscall.SIGTERM)
	if t.Failed() {
		t.Logf("agent stderr:\n%s", a.stderr.String())
	}
	files, _ := filepath.Glob(log + "*")
	t.Logf("files after rotation: %d", len(files))
	compare(t, data, ended, open, nil)
}

// TestAgentCrash kills the agent with SIGKILL ten times at random moments
// while lines keep arriving, in a log file and in a real journal (real
// sshd connections), and starts it again each time. Afterwards the index
// holds each event exactly once and the open connections are the right
// ones.
func TestAgentCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("live agent test: about 30 s")
	}
	bin := buildSshwhy(t)
	logs := lab.StartLogs(t)
	users := lab.CreateUsers(t)
	srv := lab.StartSSHD(t, users, lab.SSHDConfig{})
	dir := t.TempDir()
	log, lock, data := filepath.Join(dir, "auth.log"), filepath.Join(dir, "rotate.lock"), filepath.Join(dir, "data")
	lines := realisticLog(t, 50000, 11)
	ended, open := reference(t, lab.DefaultLoginGraceTime, lines)
	os.WriteFile(log, nil, 0o644)
	os.WriteFile(filepath.Join(dir, "none.toml"), nil, 0o644)
	args := []string{"--file", log, "--journal-dir", logs.JournalDir, "--data", data, "--socket", "-", "--config", filepath.Join(dir, "none.toml"),
		"--from-start", "--login-grace-time", lab.DefaultLoginGraceTime.String()}
	w := &writer{path: log, lock: lock, lines: lines, rate: 4000}
	// Real connections to a real sshd: TCP probes, which journald stores.
	ctx, cancel := context.WithCancel(context.Background())
	probes := make(chan int, 1)
	go func() {
		n := 0
		defer func() { probes <- n }()
		for ctx.Err() == nil {
			c, _, err := lab.Dial(ctx, srv.Addr)
			if err == nil {
				c.Close()
				n++
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	a := runAgentBinary(t, bin, args...)
	w.start()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10; i++ {
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		a.stop(t, syscall.SIGKILL)
		a = runAgentBinary(t, bin, args...)
	}
	if err := <-w.done; err != nil {
		t.Fatal(err)
	}
	cancel()
	t.Logf("%d TCP probes of the real sshd", <-probes)
	if err := logs.Sync(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	a.stop(t, syscall.SIGTERM)
	if t.Failed() {
		t.Logf("agent stderr:\n%s", a.stderr.String())
	}
	host, _ := os.Hostname()
	// The file's events against its reference; the journal's against what
	// classify makes of that journal.
	fromFile := func(e *classify.Event) bool { return e.Host != host }
	compare(t, data, ended, open, fromFile)
	jEvents := runClassifyJSON(t, bin, "classify", "-o", "json", "--login-grace-time", lab.DefaultLoginGraceTime.String(), "--journal-dir", logs.JournalDir)
	jEnded, jOpen := map[string]*classify.Event{}, map[string]bool{}
	for _, e := range jEvents {
		ev := new(classify.Event)
		if err := ev.UnmarshalJSON([]byte(e.raw)); err != nil {
			t.Fatal(err)
		}
		if ev.Open {
			jOpen[ev.ID] = true
		} else {
			jEnded[ev.ID] = ev
		}
	}
	if len(jEnded) < 10 {
		t.Fatalf("the journal holds only %d connection ends", len(jEnded))
	}
	compare(t, data, jEnded, jOpen, func(e *classify.Event) bool { return e.Host == host })
}

// TestAgentService runs the agent binary as systemd would: it tells the
// notify socket READY=1, WATCHDOG=1 and STOPPING=1; SIGHUP rereads the
// configuration (here: one more file to follow); the socket refuses a
// user outside its group; SIGTERM ends it with status 0.
func TestAgentService(t *testing.T) {
	if testing.Short() {
		t.Skip("live agent test")
	}
	bin := buildSshwhy(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // let the unprivileged user reach the socket file
	os.Chmod(filepath.Dir(dir), 0o755)
	first, second := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	os.WriteFile(first, nil, 0o644)
	os.WriteFile(second, nil, 0o644)
	conf := filepath.Join(dir, "sshwhy.toml")
	sock := filepath.Join(dir, "sshwhy.sock")
	writeConf := func(files ...string) {
		q := make([]string, len(files))
		for i, f := range files {
			q[i] = fmt.Sprintf("%q", f)
		}
		body := fmt.Sprintf("files = [%s]\ndata = %q\nsocket = %q\ncommit_interval = \"100ms\"\n", strings.Join(q, ", "), filepath.Join(dir, "data"), sock)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(first)
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	states := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				close(states)
				return
			}
			for _, s := range strings.Split(string(buf[:n]), "\n") {
				states <- s
			}
		}
	}()
	await := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case s := <-states:
				if s == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %s on the notify socket", want)
			}
		}
	}
	cmd := exec.Command(bin, "agent", "--config", conf)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+filepath.Join(dir, "notify"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("agent stderr:\n%s", stderr.String())
		}
	}()
	await("READY=1")
	await("WATCHDOG=1")

	// Someone outside the socket's group (nobody) is refused; the same
	// user in group adm gets an answer.
	asNobody := func(groups string) (string, error) {
		c := exec.Command("setpriv", "--reuid=65534", "--regid=65534", groups, "nc", "-U", "-w", "2", sock)
		c.Stdin = strings.NewReader("GET /healthz HTTP/1.0\r\n\r\n")
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := asNobody("--clear-groups"); err == nil || !strings.Contains(out, "ermission denied") {
		t.Errorf("a user outside group adm reached the socket: %v %s", err, out)
	}
	if out, err := asNobody("--groups=adm"); err != nil || !strings.Contains(out, "200 OK") {
		t.Errorf("a member of adm got no answer: %v %s", err, out)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode: %v %v", fi, err)
	}

	// SIGHUP: the new configuration's second file is followed.
	writeConf(first, second)
	cmd.Process.Signal(syscall.SIGHUP)
	await("RELOADING=1")
	await("READY=1")
	appendText(t, second, stampNow()+" vm sshd[7]: Connection closed by 192.0.2.7 port 4007 [preauth]\n")
	deadline := time.Now().Add(10 * time.Second)
	for {
		found, _, _ := runCmd(t, "", "search", "--socket", sock, "-o", "json", "--limit", "0")
		if strings.Contains(found, `"src_port":4007`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP the second file's line is not searchable: %s", found)
		}
		time.Sleep(50 * time.Millisecond)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	await("STOPPING=1")
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
}

func stampNow() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00") }
