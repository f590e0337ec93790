package loggen

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
)

func testConfig(lines int) Config {
	cfg := DefaultConfig()
	cfg.Lines = lines
	cfg.Rate = 5
	return cfg
}

func generate(t *testing.T, cfg Config) (string, []Truth) {
	t.Helper()
	var log, truth bytes.Buffer
	st, err := Generate(&log, &truth, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lines != cfg.Lines && (cfg.OpenSSH != "6.6" || st.Lines > cfg.Lines || st.Lines != strings.Count(log.String(), "\n")) {
		t.Fatalf("stats say %d lines, want %d", st.Lines, cfg.Lines)
	}
	var recs []Truth
	dec := json.NewDecoder(&truth)
	for dec.More() {
		var r Truth
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("truth record %d: %v", len(recs)+1, err)
		}
		recs = append(recs, r)
	}
	if len(recs) != st.Connections {
		t.Fatalf("%d truth records, stats say %d", len(recs), st.Connections)
	}
	return log.String(), recs
}

func TestDeterministic(t *testing.T) {
	cfg := testConfig(20000)
	cfg.Modern = 0.2
	log1, truth1 := generate(t, cfg)
	log2, truth2 := generate(t, cfg)
	if log1 != log2 {
		t.Fatal("same seed, different logs")
	}
	if len(truth1) != len(truth2) {
		t.Fatal("same seed, different truth")
	}
	for i := range truth1 {
		if truth1[i] != truth2[i] {
			t.Fatalf("truth record %d differs: %+v vs %+v", i, truth1[i], truth2[i])
		}
	}
	cfg.Seed++
	log3, _ := generate(t, cfg)
	if log3 == log1 {
		t.Fatal("different seeds, same log")
	}
}

func TestExactLineCount(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100, 4321} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			log, _ := generate(t, testConfig(n))
			if got := strings.Count(log, "\n"); got != n {
				t.Fatalf("%d lines written, want %d", got, n)
			}
		})
	}
}

// parsed is a generated line split into its header fields.
type parsed struct {
	t          time.Time
	host, prog string
	pid        int
	msg        string
}

func parseRFC3339(t *testing.T, log string) []parsed {
	t.Helper()
	var out []parsed
	for i, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		m := rfc3339Hdr.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %d: bad header: %q", i+1, l)
		}
		ts, err := time.Parse(time.RFC3339Nano, l[:strings.IndexByte(l, ' ')])
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		pid, _ := strconv.Atoi(m[3])
		out = append(out, parsed{t: ts, host: m[1], prog: m[2], pid: pid, msg: m[4]})
	}
	return out
}

func TestTimeOrder(t *testing.T) {
	cfg := testConfig(50000)
	cfg.Format = RFC3339
	cfg.Modern = 0.2
	log, _ := generate(t, cfg)
	lines := parseRFC3339(t, log)
	for i := 1; i < len(lines); i++ {
		if lines[i].t.Before(lines[i-1].t) {
			t.Fatalf("line %d (%v) is earlier than line %d (%v)", i+1, lines[i].t, i, lines[i-1].t)
		}
	}
	if !lines[0].t.Equal(cfg.Start) && lines[0].t.Before(cfg.Start) {
		t.Fatalf("first line %v before start %v", lines[0].t, cfg.Start)
	}
}

// TestPIDWrapAndReuse uses the smallest pid space: pids must wrap, be
// reused, and never be shared by two connections alive at the same time.
func TestPIDWrapAndReuse(t *testing.T) {
	cfg := testConfig(100000)
	cfg.PIDMax = 1000
	cfg.Format = RFC3339
	log, truth := generate(t, cfg)
	for _, l := range parseRFC3339(t, log) {
		if l.prog != "sudo" && (l.pid < firstPID || l.pid >= cfg.PIDMax) {
			t.Fatalf("pid %d outside [%d, %d): %s", l.pid, firstPID, cfg.PIDMax, l.msg)
		}
	}
	type span struct{ start, end time.Time }
	live := make(map[string][]span) // host/pid → spans of connections using it
	reused := 0
	for _, r := range truth {
		if r.Cause == causeRateLimited {
			continue // the listener's pid
		}
		for _, pid := range []int{r.PID, r.ChildPID} {
			if pid == 0 {
				continue
			}
			k := r.Host + "/" + strconv.Itoa(pid)
			for _, s := range live[k] {
				if r.Start.Before(s.end) && s.start.Before(r.End) {
					t.Fatalf("pid %s used by two connections alive at once: %v–%v and %+v", k, s.start, s.end, r)
				}
			}
			if len(live[k]) > 0 {
				reused++
			}
			live[k] = append(live[k], span{r.Start, r.End})
		}
	}
	if reused < len(truth)/2 {
		t.Fatalf("only %d pid reuses among %d connections with pid-max %d", reused, len(truth), cfg.PIDMax)
	}
}

// TestInterleaving checks that connections overlap in time on one host,
// so their lines interleave in the log.
func TestInterleaving(t *testing.T) {
	cfg := testConfig(30000)
	cfg.Format = RFC3339
	log, truth := generate(t, cfg)
	overlaps := 0
	lastEnd := make(map[string]time.Time)
	for _, r := range truth {
		if r.Start.Before(lastEnd[r.Host]) {
			overlaps++
		}
		if r.End.After(lastEnd[r.Host]) {
			lastEnd[r.Host] = r.End
		}
	}
	if overlaps < len(truth)/10 {
		t.Fatalf("only %d of %d connections overlap an earlier one", overlaps, len(truth))
	}
	// In the log itself: some monitor pid logs, another sshd pid logs, and
	// the first one logs again.
	lines := parseRFC3339(t, log)
	lastIdx := make(map[string]int)
	interleaved := 0
	for i, l := range lines {
		if l.prog != "sshd" {
			continue
		}
		k := l.host + "/" + strconv.Itoa(l.pid)
		if j, ok := lastIdx[k]; ok && j < i-1 {
			for _, m := range lines[j+1 : i] {
				if m.prog == "sshd" && m.host == l.host && m.pid != l.pid {
					interleaved++
					break
				}
			}
		}
		lastIdx[k] = i
	}
	if interleaved < 100 {
		t.Fatalf("only %d interleaved sshd lines", interleaved)
	}
}

// TestTruthMatchesLog checks every truth record against the lines: its
// pid logged at its start time and its address appears in its lines.
func TestTruthMatchesLog(t *testing.T) {
	cfg := testConfig(40000)
	cfg.Format = RFC3339
	cfg.Modern = 0.3
	log, truth := generate(t, cfg)
	byPID := make(map[string][]parsed)
	for _, l := range parseRFC3339(t, log) {
		if l.prog == "sshd" || l.prog == "sshd-session" {
			k := l.host + "/" + strconv.Itoa(l.pid)
			byPID[k] = append(byPID[k], l)
		}
	}
	causes := make(map[string]int)
	for _, r := range truth {
		if !cause.Cause(r.Cause).Valid() {
			t.Fatalf("invalid cause %q in %+v", r.Cause, r)
		}
		causes[r.Cause]++
		if r.End.Before(r.Start) {
			t.Fatalf("end before start: %+v", r)
		}
		found := false
		for _, pid := range []int{r.PID, r.ChildPID} {
			for _, l := range byPID[r.Host+"/"+strconv.Itoa(pid)] {
				if strings.Contains(l.msg, r.SrcIP) && !l.t.Before(r.Start) && !l.t.After(r.End) {
					found = true
				}
			}
		}
		if !found && strings.HasPrefix(r.Scenario, "stall/") {
			// 10.0: only the listener's line, naming the monitor's pid
			found = strings.Contains(log, "pid = "+strconv.Itoa(r.PID)+"\n")
		}
		if !found && r.Cause == causeUserLogout {
			t.Fatalf("no line of %+v", r)
		}
		if !found && r.Scenario != "stall/grace" && !strings.HasPrefix(r.Scenario, "session/") {
			t.Fatalf("no line with the address of %+v", r)
		}
	}
	for _, c := range []string{causeAuthFailure, causeAccessDenied, causeProbe, causeNegotiation, causeProtocolError, causeUserLogout, causeGraceTimeout, causeRateLimited} {
		if causes[c] == 0 {
			t.Errorf("no %s connection in %d lines", c, cfg.Lines)
		}
	}
}

// TestRootChild checks the process model: on 9.2 root's session has no
// post-auth child, other users' do; on 10.0 everyone's does.
func TestRootChild(t *testing.T) {
	cfg := testConfig(200000)
	cfg.Modern = 0.3
	cfg.Users = 5
	_, truth := generate(t, cfg)
	n := 0
	for _, r := range truth {
		if r.Phase != "postauth" {
			continue
		}
		n++
		wantChild := r.User != "root" || r.Program == "sshd-session"
		if (r.ChildPID != 0) != wantChild {
			t.Fatalf("child pid %d for %s on %s", r.ChildPID, r.User, r.Program)
		}
	}
	if n == 0 {
		t.Fatal("no sessions")
	}
}

func TestNoiseShare(t *testing.T) {
	for _, share := range []float64{0, 0.2, 0.5} {
		cfg := testConfig(30000)
		cfg.Noise = share
		var log bytes.Buffer
		st, err := Generate(&log, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := 1 - float64(st.SSHDLines)/float64(st.Lines)
		if got < share-0.03 || got > share+0.03 {
			t.Errorf("noise share %.3f, want about %.2f", got, share)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"negative lines", func(c *Config) { c.Lines = -1 }},
		{"no hosts", func(c *Config) { c.Hosts = 0 }},
		{"modern 1", func(c *Config) { c.Modern = 1 }},
		{"small pid-max", func(c *Config) { c.PIDMax = 999 }},
		{"zero rate", func(c *Config) { c.Rate = 0 }},
		{"noise 0.95", func(c *Config) { c.Noise = 0.95 }},
		{"no start", func(c *Config) { c.Start = time.Time{} }},
		{"unknown openssh", func(c *Config) { c.OpenSSH = "7.4" }},
		{"openssh 6.6 with a modern host", func(c *Config) { c.OpenSSH, c.Modern = "6.6", 0.1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(10)
			tc.mod(&cfg)
			if _, err := Generate(&bytes.Buffer{}, nil, cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"bsd": BSD, "rfc3339": RFC3339} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("json"); err == nil {
		t.Error("ParseFormat(json): no error")
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "ctl\x01\x1b", "caf\xc3\xa9", "bad\xff"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want {
			t.Errorf("%q: round trip gave %q", s, got)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Lines = 100000
	for b.Loop() {
		if _, err := Generate(io.Discard, nil, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cfg.Lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// Open sessions come first, on their own host, and leave the rest of the
// log as it is without them.
func TestOpenSessions(t *testing.T) {
	cfg := testConfig(5000)
	base, _ := generate(t, cfg)
	cfg.Open = 7
	var log bytes.Buffer
	st, err := Generate(&log, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(log.String(), "\n")
	if st.Lines != 5000+14 || len(lines) != 5000+14+1 {
		t.Fatalf("%d lines (stats %d), want %d", len(lines)-1, st.Lines, 5000+14)
	}
	for i, l := range lines[:14] {
		want := "session opened for user u"
		if i%2 == 0 {
			want = "Accepted publickey for u"
		}
		if !strings.Contains(l, " bastion1 sshd[") || !strings.Contains(l, want) {
			t.Fatalf("prefix line %d: %q", i, l)
		}
	}
	if strings.Join(lines[14:], "") != base {
		t.Fatal("the lines after the open sessions differ from a log without them")
	}
}

// TestDense checks the event-dense mix: a connection ends every 4 to 5
// lines, every line is sshd's, and no long connection (burst, stall) is
// among them.
func TestDense(t *testing.T) {
	cfg := testConfig(30000)
	cfg.Dense, cfg.Noise, cfg.Users = true, 0, 0
	_, truth := generate(t, cfg)
	per := float64(cfg.Lines) / float64(len(truth))
	if per < 4 || per > 5 {
		t.Errorf("%.2f lines per connection, want 4 to 5", per)
	}
	for _, r := range truth {
		switch r.Cause {
		case causeRateLimited, causeGraceTimeout, causeUserLogout:
			t.Fatalf("a %s connection in the dense mix: %+v", r.Cause, r)
		}
	}
}
