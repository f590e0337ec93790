package classify

import (
	"bufio"
	"bytes"
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
	p := ingest.Parser{Ref: cfg.Start.Add(48 * time.Hour), Loc: time.UTC}
	sc := bufio.NewScanner(&log)
	for sc.Scan() {
		l := p.Parse(sc.Text())
		m.Feed(&l)
	}
	m.Flush()
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
