package classify

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/loggen"
	"github.com/sshwhy/sshwhy/rules"
)

// TestLegacyBruteForce classifies a generated Ubuntu 14.04 auth.log
// (OpenSSH 6.6: endings without ports, the post-auth child's logout, and
// rsyslog's repeated-message lines) of a few thousand connections, mostly
// brute force, and compares every event with the generator's truth: each
// connection ends with what its own lines say, and a grace timeout is
// inferred only for the connections that really hung until LoginGraceTime.
func TestLegacyBruteForce(t *testing.T) {
	cfg := loggen.DefaultConfig()
	cfg.OpenSSH = "6.6"
	cfg.Lines, cfg.Rate, cfg.Seed = 40000, 5, 11
	var log, truth bytes.Buffer
	gst, err := loggen.Generate(&log, &truth, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "message repeated "); n == 0 {
		t.Fatal("the generated log has no repeated-message line")
	}
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	var events []byte
	var graceWrong int
	m, _ := New(rs, Options{}, func(ev *Event) {
		events = AppendJSON(events, ev)
		events = append(events, '\n')
	})
	feedGenerated(m, &log, cfg)
	st := m.Stats()
	if st.Unmatched != 0 || st.Unjoined != 0 {
		t.Errorf("%d unmatched lines, %d unjoined endings", st.Unmatched, st.Unjoined)
	}
	rep, err := loggen.Score(&truth, bytes.NewReader(events))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Truth < 3000 || rep.Truth != gst.Connections {
		t.Fatalf("%d truth records (%d connections)", rep.Truth, gst.Connections)
	}
	for _, c := range rep.Confusions {
		if c.Got == string(cause.GraceTimeout) {
			graceWrong += c.Count
		}
		t.Errorf("truth %s, sshwhy %s: %d times (%s), e.g.\n%s", c.Truth, c.Got, c.Count, c.Rule, c.Example)
	}
	if rep.Correct != rep.Truth || len(rep.Spurious) > 0 || len(rep.Missed) > 0 {
		t.Errorf("%d of %d connections right; spurious %v, missed %v", rep.Correct, rep.Truth, rep.Spurious, rep.Missed)
	}
	if graceWrong > 0 {
		t.Errorf("%d connections taken for grace timeouts", graceWrong)
	}
	if s := rep.ByCause[string(cause.AuthFailure)]; s == nil || s.Correct < rep.Truth/2 {
		t.Errorf("not a brute-force log: %+v", s)
	}
}

// Reusing forgotten connections changes no event: generated logs of every
// shape (OpenSSH 9.2 and 10.0 hosts with sessions, child processes and
// grace timeouts; 6.6 without ports; sessions that stay open) give the
// same events, open ones included, as a Machine that never reuses one.
func TestRecycle(t *testing.T) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	run := func(cfg loggen.Config, spare int) (string, int) {
		defer func(n int) { maxSpareConns = n }(maxSpareConns)
		maxSpareConns = spare
		var log bytes.Buffer
		if _, err := loggen.Generate(&log, nil, cfg); err != nil {
			t.Fatal(err)
		}
		var out []byte
		m, _ := New(rs, Options{}, func(ev *Event) { out = append(AppendJSON(out, ev), '\n') })
		feedGenerated(m, &log, cfg)
		for ev := range m.OpenEvents() {
			out = append(AppendJSON(out, ev), '\n')
		}
		return string(out), m.recycled
	}
	for _, mod := range []func(*loggen.Config){
		func(c *loggen.Config) {},
		func(c *loggen.Config) { c.Modern, c.Seed = 0.3, 2 },
		func(c *loggen.Config) { c.OpenSSH, c.Rate, c.Seed = "6.6", 5, 3 },
		func(c *loggen.Config) { c.Dense, c.Noise, c.Users, c.Seed = true, 0, 0, 4 },
		func(c *loggen.Config) { c.Open, c.PIDMax, c.Seed = 2000, 1<<22, 5 },
	} {
		cfg := loggen.DefaultConfig()
		cfg.Lines = 30000
		mod(&cfg)
		want, _ := run(cfg, 0)
		got, recycled := run(cfg, 4096)
		if recycled == 0 {
			t.Errorf("%+v: no connection was reused", cfg)
		}
		if got != want {
			t.Errorf("%+v: the events differ when connections are reused", cfg)
		}
	}
}

// feedGenerated feeds m a log loggen wrote with cfg, then flushes it.
func feedGenerated(m *Machine, log io.Reader, cfg loggen.Config) {
	p := ingest.Parser{Ref: cfg.Start.Add(48 * time.Hour), Loc: time.UTC}
	sc := bufio.NewScanner(log)
	for sc.Scan() {
		l := p.Parse(sc.Text())
		m.Feed(&l)
	}
	m.Flush()
}
