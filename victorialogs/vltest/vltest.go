// Package vltest starts real VictoriaLogs servers for tests: a single node,
// or a cluster of storage nodes behind a front node, on ephemeral loopback
// ports with a temporary data directory each.
//
// The binary is the one `make deps-test` installs (pinned in the Makefile)
// into $(go env GOPATH)/bin; $VICTORIA_LOGS overrides the path. A test that
// needs it and does not find it fails and names the make target: it never
// skips.
package vltest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options shape one server; zero values are a plain single node.
type Options struct {
	// StorageNodes makes the server a front node for these storage
	// nodes (host:port, their HTTP addresses): -storageNode=A,B.
	StorageNodes []string
	// Username and Password enable the server's own basic auth
	// (-httpAuth.username, -httpAuth.password).
	Username, Password string
	// CertFile and KeyFile serve https (-tls).
	CertFile, KeyFile string
	// Addr is the address to listen on; default 127.0.0.1:0 (a free port).
	Addr string
	// Args are extra command-line flags.
	Args []string
}

// Server is a running victoria-logs process.
type Server struct {
	URL  string // http://127.0.0.1:PORT (https:// with TLS)
	Addr string // 127.0.0.1:PORT
	Dir  string // -storageDataPath

	t       testing.TB
	opt     Options
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
	mu      sync.Mutex
	stopped bool
}

// Binary is the path of victoria-logs, or a test failure naming the make
// target that installs it.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VICTORIA_LOGS"); p != "" {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, p := range []string{filepath.Join(gopath, "bin", "victoria-logs")} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("victoria-logs"); err == nil {
		return p
	}
	t.Fatalf("victoria-logs not found in $(go env GOPATH)/bin or $PATH: run `make deps-test` (it installs the pinned VictoriaLogs), or set $VICTORIA_LOGS")
	return ""
}

// Start starts one server and stops it when the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s := &Server{t: t, opt: opt, Dir: t.TempDir()}
	addr := opt.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s.start(addr)
	t.Cleanup(s.Stop)
	return s
}

// StartCluster starts n storage nodes and a front node for them; the front
// node's options are opt (StorageNodes is set here).
func StartCluster(t testing.TB, n int, opt Options) (front *Server, storage []*Server) {
	t.Helper()
	var addrs []string
	for i := 0; i < n; i++ {
		s := Start(t, Options{})
		storage = append(storage, s)
		addrs = append(addrs, s.Addr)
	}
	opt.StorageNodes = addrs
	return Start(t, opt), storage
}

var startedRE = regexp.MustCompile(`started server at (https?)://([0-9.]+:[0-9]+)/`)

func (s *Server) start(listen string) {
	s.t.Helper()
	args := []string{
		"-httpListenAddr=" + listen,
		"-storageDataPath=" + s.Dir,
		// Test events are years old or in the future; keep them all.
		"-retentionPeriod=100y",
		"-futureRetention=100y",
		"-memory.allowedPercent=20",
	}
	if len(s.opt.StorageNodes) > 0 {
		args = append(args, "-storageNode="+strings.Join(s.opt.StorageNodes, ","))
	}
	if s.opt.Username != "" {
		args = append(args, "-httpAuth.username="+s.opt.Username, "-httpAuth.password="+s.opt.Password)
	}
	if s.opt.CertFile != "" {
		args = append(args, "-tls", "-tlsCertFile="+s.opt.CertFile, "-tlsKeyFile="+s.opt.KeyFile)
	}
	args = append(args, s.opt.Args...)
	cmd := exec.Command(Binary(s.t), args...)
	s.logPath = filepath.Join(s.Dir, "..", filepath.Base(s.Dir)+".log")
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatalf("vltest: %v", err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout = logf
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("vltest: start %s: %v", cmd.Path, err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	s.stopped = false
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := startedRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- [2]string{m[1], m[2]}:
				default:
				}
			}
		}
		_, _ = io.Copy(logf, pr)
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		logf.Close()
		close(s.done)
	}()
	select {
	case m := <-found:
		s.Addr = m[1]
		s.URL = m[0] + "://" + m[1]
	case <-s.done:
		s.t.Fatalf("vltest: victoria-logs exited at start; its log:\n%s", s.Log())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		s.t.Fatalf("vltest: victoria-logs did not start in 30s; its log:\n%s", s.Log())
	}
}

// Log is what the server wrote so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// Stop stops the server gracefully (SIGTERM: it flushes what it holds)
// and waits for it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.cmd == nil {
		return
	}
	s.stopped = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Restart starts a stopped server again on the same address and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.t.Fatalf("vltest: Restart of a running server")
	}
	s.start(s.Addr)
}

// Client is an http.Client for s (its own CA is not added: tests with TLS
// use their own transport).
var Client = &http.Client{Timeout: 30 * time.Second}

// Flush makes every row the server (and, for a front node, each storage
// node) received searchable now, instead of within about a second.
func (s *Server) Flush(storage ...*Server) {
	s.t.Helper()
	for _, n := range append([]*Server{s}, storage...) {
		req, _ := http.NewRequest("GET", n.URL+"/internal/force_flush", nil)
		if n.opt.Username != "" {
			req.SetBasicAuth(n.opt.Username, n.opt.Password)
		}
		if resp, err := Client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// Query runs a LogsQL query and returns the JSON lines of the answer.
func (s *Server) Query(ctx context.Context, q string) ([]string, error) {
	form := url.Values{"query": {q}}
	req, err := http.NewRequestWithContext(ctx, "POST", s.URL+"/select/logsql/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.opt.Username != "" {
		req.SetBasicAuth(s.opt.Username, s.opt.Password)
	}
	resp, err := Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("query %q: %s: %s", q, resp.Status, b)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// Rows is the number of stored rows (duplicates included) matching the
// LogsQL filter f.
func (s *Server) Rows(f string) int {
	s.t.Helper()
	lines, err := s.Query(context.Background(), f+" | stats count() n")
	if err != nil {
		s.t.Fatalf("vltest: %v", err)
	}
	if len(lines) == 0 {
		return 0
	}
	var n int
	if _, err := fmt.Sscanf(strings.TrimPrefix(lines[0], `{"n":"`), "%d", &n); err != nil {
		s.t.Fatalf("vltest: count answer %q", lines[0])
	}
	return n
}

// WaitRows polls until at least n rows match f, or fails after timeout.
func (s *Server) WaitRows(f string, n int, timeout time.Duration, storage ...*Server) int {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.Flush(storage...)
		got := s.Rows(f)
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}
