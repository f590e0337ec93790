package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/agent"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/index"
)

// liveAgent is `sshwhy agent` following a lab's journal while its
// scenarios run, and a poller that notes when each event first became
// searchable through the API.
type liveAgent struct {
	bin, sock, data string
	cmd             *exec.Cmd
	stderr          *strings.Builder
	client          *agent.Client

	mu    sync.Mutex
	seen  map[string]time.Time // event id → when the API first returned it
	stop  chan struct{}
	wg    sync.WaitGroup
	grace time.Duration
}

func startLiveAgent(t *testing.T, bin, journalDir string, grace time.Duration) *liveAgent {
	t.Helper()
	dir := t.TempDir()
	a := &liveAgent{bin: bin, sock: filepath.Join(dir, "sshwhy.sock"), data: filepath.Join(dir, "data"),
		seen: map[string]time.Time{}, stop: make(chan struct{}), stderr: &strings.Builder{}, grace: grace}
	a.cmd = exec.Command(bin, "agent", "--journal-dir", journalDir, "--from-start", "--data", a.data,
		"--socket", a.sock, "--login-grace-time", grace.String(), "--config", filepath.Join(dir, "none.toml"))
	os.WriteFile(filepath.Join(dir, "none.toml"), nil, 0o644)
	a.cmd.Stderr = a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(a.stop)
		a.wg.Wait()
		a.cmd.Process.Signal(syscall.SIGTERM)
		a.cmd.Wait()
		if t.Failed() {
			t.Logf("agent stderr:\n%s", a.stderr.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := agent.Dial(a.sock)
		if err == nil {
			a.client = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not open its socket: %v\n%s", err, a.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.wg.Add(1)
	go a.poll()
	return a
}

// poll searches every 100 ms and notes new events.
func (a *liveAgent) poll() {
	defer a.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		a.client.Search(context.Background(), index.Query{}, index.SearchOptions{}, func(e *classify.Event) error {
			a.mu.Lock()
			if _, ok := a.seen[e.ID]; !ok {
				a.seen[e.ID] = now
			}
			a.mu.Unlock()
			return nil
		})
	}
}

// check compares what the agent indexed live with what classify makes of
// the same journal afterwards (want): the same events with the same ids
// and causes, and every event whose end a line stated searchable within
// 2 s of that line; `sshwhy search` through the socket agrees.
func (a *liveAgent) check(t *testing.T, want []event, journalDir string) {
	t.Helper()
	var ended []event
	for _, e := range want {
		if !strings.Contains(e.raw, `"open":true`) {
			ended = append(ended, e)
		}
	}
	// Connections the journal leaves unauthenticated and silent end by
	// the agent's wall clock, LoginGraceTime (+ its slack) after they began.
	deadline := time.Now().Add(a.grace + 20*time.Second)
	for {
		a.mu.Lock()
		n := len(a.seen)
		a.mu.Unlock()
		if n >= len(ended) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := runClassifyJSON(t, a.bin, "search", "--socket", a.sock, "-o", "json", "--limit", "0")
	byID := map[string]event{}
	for _, e := range got {
		byID[e.ID] = e
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range ended {
		g, ok := byID[w.ID]
		if !ok {
			t.Errorf("the agent has no event %s (port %d, %s): classify has\n%s", w.ID, w.SrcPort, w.Cause, w.raw)
			continue
		}
		if g.Cause != w.Cause || g.Confidence != w.Confidence || g.Phase != w.Phase || g.User != w.User || g.End != w.End {
			t.Errorf("port %d: the agent says %s/%s/%s user %q end %s; classify %s/%s/%s user %q end %s",
				w.SrcPort, g.Cause, g.Confidence, g.Phase, g.User, g.End, w.Cause, w.Confidence, w.Phase, w.User, w.End)
		}
		end, err := time.Parse(time.RFC3339Nano, w.End)
		if err != nil {
			t.Fatal(err)
		}
		if lag := a.seen[w.ID].Sub(end); !silentEnd(w) && lag > 2*time.Second {
			t.Errorf("port %d (%s): searchable %v after its last line, want ≤ 2s", w.SrcPort, w.Cause, lag.Round(time.Millisecond))
		}
	}
	if len(got) != len(ended) {
		t.Errorf("the agent indexed %d events, classify ends %d", len(got), len(ended))
	}
	open, err := a.client.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(open)+len(got) < len(want) {
		t.Errorf("the agent follows %d open connections and indexed %d events; classify has %d in all", len(open), len(got), len(want))
	}
	t.Logf("agent: %d events, %d open", len(got), len(open))
	// The report through the agent counts what classify counts.
	a.mu.Unlock()
	checkReportSources(t, a.bin, []string{"--login-grace-time", a.grace.String(), "--journal-dir", journalDir}, ended, a.sock)
	a.mu.Lock()
}

// silentEnd tells an event the wall clock ended (no line states its
// end): its latency is LoginGraceTime, not the pipeline's.
func silentEnd(e event) bool {
	return e.Cause == "grace_timeout" && e.Confidence == "inferred"
}
