package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"

	"github.com/sshwhy/sshwhy/internal/lab"
)

// TestE2E runs real ssh clients against Debian's real sshd, logging through
// a real journald and rsyslog (internal/lab), then classifies each captured
// form with the sshwhy binary and checks every connection's event against
// testdata/e2e/expected.txt. Needs root and no systemd as PID 1; takes about
// a minute. -short skips it; -artifacts keeps the captured logs.
func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: runs real daemons for about a minute; not in -short mode")
	}
	want := loadExpected(t, filepath.Join("..", "..", "testdata", "e2e", "expected.txt"))
	bin := buildSshwhy(t)
	for _, level := range []string{"info", "verbose"} {
		t.Run(level, func(t *testing.T) {
			// The agent follows the lab's journal live while the scenarios run.
			var live *liveAgent
			before := func(l *lab.Logs) { live = startLiveAgent(t, bin, l.JournalDir, lab.DefaultLoginGraceTime) }
			// With `go test -artifacts`, the captures (logs, ports.json) are kept.
			res := lab.Run(t, lab.RunConfig{LogLevel: level, Out: t.ArtifactDir(), Before: before})
			if res.Err != nil {
				t.Errorf("lab scenarios misbehaved (their expectations may not hold): %v", res.Err)
			}
			checkTableCoversRun(t, want, res.Conns, level)
			grace := res.LoginGraceTime.String()
			forms := []struct {
				name string
				args []string
				prec int // fractional-second digits the source gives
			}{
				{"bsd", []string{filepath.Join(res.Dir, lab.CaptureBSD)}, 0},
				{"rfc3339", []string{filepath.Join(res.Dir, lab.CaptureRFC3339)}, 6},
				{"export", []string{filepath.Join(res.Dir, lab.CaptureExport)}, 6},
				{"journal-dir", []string{"--journal-dir", res.JournalDir}, 6},
			}
			for _, f := range forms {
				t.Run(f.name, func(t *testing.T) {
					args := append([]string{"classify", "--format", "json", "--login-grace-time", grace}, f.args...)
					events := runClassifyJSON(t, bin, args...)
					checkEvents(t, events, res.Conns, want, level, f.prec)
					if f.name == "journal-dir" {
						live.check(t, events, res.JournalDir)
					}
					if f.name == "rfc3339" {
						checkIndexRoundTrip(t, bin, append([]string{"--login-grace-time", grace}, f.args...), events)
						checkReport(t, bin, append([]string{"--login-grace-time", grace}, f.args...), events)
					}
				})
			}
		})
	}
}

// expectation is one row of testdata/e2e/expected.txt.
type expectation struct {
	cause, confidence, phase, user string
	line                           int
}

// loadExpected reads the table: key (scenario[/role]) → level → row.
func loadExpected(t *testing.T, path string) map[string]map[string]expectation {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]expectation{}
	for i, line := range strings.Split(string(b), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e := expectation{line: i + 1}
		switch {
		case len(f) == 3 && f[2] == "-":
		case len(f) == 6:
			e.cause, e.confidence, e.phase, e.user = f[2], f[3], f[4], f[5]
			if !cause.Cause(e.cause).Valid() ||
				!cause.Confidence(e.confidence).Valid() ||
				!cause.Phase(e.phase).Valid() {
				t.Fatalf("%s:%d: unknown cause, confidence or phase in %q", path, i+1, line)
			}
			if e.user == "-" {
				e.user = ""
			}
		default:
			t.Fatalf("%s:%d: want 6 columns (or 3 with cause -), got %q", path, i+1, line)
		}
		levels := []string{f[1]}
		if f[1] == "*" {
			levels = []string{"info", "verbose"}
		}
		for _, lv := range levels {
			if lv != "info" && lv != "verbose" {
				t.Fatalf("%s:%d: level %q", path, i+1, lv)
			}
			if out[f[0]] == nil {
				out[f[0]] = map[string]expectation{}
			}
			if _, dup := out[f[0]][lv]; dup {
				t.Fatalf("%s:%d: second row for %s at %s", path, i+1, f[0], lv)
			}
			out[f[0]][lv] = e
		}
	}
	return out
}

// checkTableCoversRun fails when a connection has no row or a row names no
// connection (a renamed scenario must not silently drop its check).
func checkTableCoversRun(t *testing.T, want map[string]map[string]expectation, conns []lab.Conn, level string) {
	t.Helper()
	made := map[string]bool{}
	for _, c := range conns {
		made[c.Key()] = true
		if _, ok := want[c.Key()][level]; !ok {
			t.Errorf("expected.txt has no row for %s at %s", c.Key(), level)
		}
	}
	for key, byLevel := range want {
		if _, ok := byLevel[level]; ok && !made[key] {
			t.Errorf("expected.txt names %s, which the lab did not run", key)
		}
	}
}

// event is the part of a classify JSON line the test checks.
type event struct {
	ID         string   `json:"id"`
	Start      string   `json:"start"`
	End        string   `json:"end"`
	SrcIP      string   `json:"src_ip"`
	SrcPort    int      `json:"src_port"`
	User       string   `json:"user"`
	Cause      string   `json:"cause"`
	Confidence string   `json:"confidence"`
	Phase      string   `json:"phase"`
	Lines      []string `json:"lines"`
	raw        string
}

func runClassifyJSON(t *testing.T, bin string, args ...string) []event {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sshwhy %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	t.Logf("sshwhy %s: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	var events []event
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("output line is not JSON (%v): %s", err, sc.Text())
		}
		e.raw = sc.Text()
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

var fraction = regexp.MustCompile(`T\d\d:\d\d:\d\d(?:\.(\d+))?`)

func checkEvents(t *testing.T, events []event, conns []lab.Conn, want map[string]map[string]expectation, level string, prec int) {
	t.Helper()
	byPort := map[int][]event{}
	for _, e := range events {
		byPort[e.SrcPort] = append(byPort[e.SrcPort], e)
		for name, ts := range map[string]string{"start": e.Start, "end": e.End} {
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Errorf("port %d: %s %q is not RFC 3339: %v", e.SrcPort, name, ts, err)
			} else if m := fraction.FindStringSubmatch(ts); m == nil || len(m[1]) != prec {
				t.Errorf("port %d: %s %q should carry the source's %d fractional digits", e.SrcPort, name, ts, prec)
			}
		}
		if len(e.Lines) == 0 {
			t.Errorf("port %d: event has no evidence lines: %s", e.SrcPort, e.raw)
		}
	}
	for port, es := range byPort {
		if len(es) > 1 {
			t.Errorf("%d events claim source port %d:\n%s", len(es), port, joinRaw(es))
		}
	}
	ours := map[int]bool{}
	for _, c := range conns {
		ours[c.Port] = true
		exp, ok := want[c.Key()][level]
		if !ok {
			continue // reported by checkTableCoversRun
		}
		got := byPort[c.Port]
		if exp.cause == "" {
			if len(got) > 0 {
				t.Errorf("%s (port %d): sshd logs nothing for it at %s (expected.txt:%d), yet got:\n%s", c.Key(), c.Port, level, exp.line, joinRaw(got))
			}
			continue
		}
		if len(got) == 0 {
			t.Errorf("%s (port %d): no event, want %s (expected.txt:%d)", c.Key(), c.Port, exp.cause, exp.line)
			continue
		}
		e := got[0]
		var diffs []string
		for _, d := range []struct{ field, got, want string }{
			{"cause", e.Cause, exp.cause},
			{"confidence", e.Confidence, exp.confidence},
			{"phase", e.Phase, exp.phase},
			{"user", e.User, exp.user},
			{"src_ip", e.SrcIP, "127.0.0.1"},
		} {
			if d.got != d.want {
				diffs = append(diffs, fmt.Sprintf("%s %q, want %q", d.field, d.got, d.want))
			}
		}
		if !mentionsPort(e.Lines, c.Port) {
			diffs = append(diffs, "no evidence line names the port")
		}
		if len(diffs) > 0 {
			t.Errorf("%s (port %d, expected.txt:%d): %s\n  event: %s", c.Key(), c.Port, exp.line, strings.Join(diffs, "; "), e.raw)
		}
	}
	for _, e := range events {
		if !ours[e.SrcPort] {
			t.Errorf("event for a connection no scenario made (port %d): %s", e.SrcPort, e.raw)
		}
	}
}

func mentionsPort(lines []string, port int) bool {
	p := strconv.Itoa(port)
	re := regexp.MustCompile(`(port ` + p + `|\]:` + p + `)\b`)
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

func joinRaw(es []event) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString("  " + e.raw + "\n")
	}
	return b.String()
}

// buildSshwhy builds this command into a temporary directory.
func buildSshwhy(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("e2e needs the go tool on PATH to build sshwhy: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sshwhy")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// checkIndexRoundTrip indexes the same input twice and finds every event
// back by cause + address + user + its time range, and by free text; the
// counts by cause equal the classifier's, and re-indexing adds nothing.
func checkIndexRoundTrip(t *testing.T, bin string, inputArgs []string, events []event) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	for i := 0; i < 2; i++ {
		cmd := exec.Command(bin, append([]string{"index", "--data", data}, inputArgs...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sshwhy index: %v\n%s", err, out)
		}
	}
	search := func(args ...string) []event {
		return runClassifyJSON(t, bin, append([]string{"search", "--data", data, "--format", "json", "--limit", "0"}, args...)...)
	}
	all := search("--since", "2000-01-01")
	if len(all) != len(events) {
		t.Fatalf("index holds %d events after indexing twice, classify gave %d", len(all), len(events))
	}
	want, got := map[string]int{}, map[string]int{}
	for _, e := range events {
		want[e.Cause]++
	}
	for _, e := range all {
		got[e.Cause]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts by cause: index %v, classify %v", got, want)
	}
	for _, e := range events {
		args := []string{"--cause", e.Cause, "--ip", e.SrcIP + "/32", "--since", e.End, "--until", e.End}
		if e.User != "" {
			args = append(args, "--user", e.User)
		}
		if !hasID(search(args...), e.ID) {
			t.Errorf("event %s (%s port %d) not found by %q", e.ID, e.Cause, e.SrcPort, args)
		}
		if e.SrcPort != 0 {
			// The port as a word of the evidence ("port N", or "[IP]:N" in a MaxStartups drop).
			if q := fmt.Sprint(e.SrcPort); !hasID(search("--since", "2000-01-01", q), e.ID) {
				t.Errorf("event %s not found by free text %s", e.ID, q)
			}
		}
	}
}

func hasID(es []event, id string) bool {
	for _, e := range es {
		if e.ID == id {
			return true
		}
	}
	return false
}
