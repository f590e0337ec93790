package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"
	"github.com/sshwhy/sshwhy/cause"

	"github.com/sshwhy/sshwhy/classify"
)

// runCmd runs the sshwhy command line in-process.
func runCmd(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

const hostile = "Nov 23 10:00:00 srv sshd[600]: Invalid user \x1b]0;owned\x07x from 6.6.6.6 port 22 from 203.0.113.7 port 40040\n" +
	"Nov 23 10:00:01 srv sshd[600]: Connection closed by invalid user \x1b]0;owned\x07x from 6.6.6.6 port 22 203.0.113.7 port 40040 [preauth]\n" +
	"Nov 23 10:00:02 srv sshd[601]: something sshd never wrote\n" +
	"Nov 23 10:00:03 srv CRON[7]: pam_unix(cron:session): session opened for user root\n" +
	"\xff\xfe binary junk \x00\n"

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClassifyTableEscapes(t *testing.T) {
	out, errOut, err := runCmd(t, "", "classify", writeTemp(t, "auth.log", hostile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("raw control characters reached the table:\n%q", out)
	}
	// The user is escaped, and cut at the USER column's width.
	if !strings.Contains(out, `\x1b]0;owned\ax from 6.6.6.6 po…`) || !strings.Contains(out, "203.0.113.7:40040") {
		t.Errorf("table lost the escaped user or the real source:\n%s", out)
	}
	for _, want := range []string{"5 lines", "1 events", "2 sshd/ssh lines matched, 1 unmatched", "1 lines of other programs", "1 lines without a log header"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("summary lacks %q: %s", want, errOut)
		}
	}
}

func TestClassifyJSON(t *testing.T) {
	out, errOut, err := runCmd(t, hostile, "classify", "--format", "json", "--unmatched", "-")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 event, got %d:\n%s", len(lines), out)
	}
	var ev classify.Event
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.SrcIP != "203.0.113.7" || ev.SrcPort != 40040 || ev.User != "\x1b]0;owned\x07x from 6.6.6.6 port 22" || ev.Cause != cause.AuthFailure {
		t.Errorf("event %+v", ev)
	}
	if len(ev.Lines) != 2 || !strings.HasPrefix(ev.Lines[0], "Nov 23 10:00:00 srv sshd[600]: Invalid user") {
		t.Errorf("evidence lines %q", ev.Lines)
	}
	if !strings.Contains(errOut, "unmatched: Nov 23 10:00:02 srv sshd[601]: something sshd never wrote") {
		t.Errorf("--unmatched did not print the line: %s", errOut)
	}
}

func TestClassifyErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.log")
	_, _, err := runCmd(t, "", "classify", missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: err = %v", err)
	}
	_, _, err = runCmd(t, "", "classify", "--format", "xml", "-")
	if err == nil || exitCode(err) != 2 {
		t.Errorf("bad format: err = %v", err)
	}
	bad := writeTemp(t, "auth.log.gz", "\x1f\x8b\x08\x00garbage")
	if _, _, err = runCmd(t, "", "classify", bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt gz: err = %v", err)
	}
}

func TestRulesTest(t *testing.T) {
	out, _, err := runCmd(t, "", "rules", "test", writeTemp(t, "auth.log", hostile))
	if err == nil || !strings.Contains(err.Error(), "1 line(s) matched no rule") || exitCode(err) != 3 {
		t.Errorf("err = %v (exit %d), want 1 unmatched line, exit 3", err, exitCode(err))
	}
	if _, _, err := runCmd(t, "", "rules", "test", filepath.Join(t.TempDir(), "nope.log")); err == nil || exitCode(err) != 1 {
		t.Errorf("missing file: err = %v (exit %d), want exit 1", err, exitCode(err))
	}
	if _, _, err := runCmd(t, "", "rules", "test", writeTemp(t, "ok.log", "Nov 23 10:00:00 srv sshd[1]: Connection closed by 203.0.113.7 port 5 [preauth]\n")); err != nil {
		t.Errorf("all lines matched: err = %v", err)
	}
	for _, want := range []string{"invalid-user ", "closed-invalid-user ", "UNMATCHED ", "# 5 lines: 2 matched, 1 unmatched"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules test output lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Error("rules test printed raw control characters")
	}
	out, _, err = runCmd(t, "", "rules", "list")
	if err != nil || !strings.Contains(out, "client-alive-timeout") {
		t.Errorf("rules list: %v\n%s", err, out)
	}
}

// A rule file with an unknown cause, a rule whose example does not match
// its own pattern, or a postauth rule with a preauth cause is refused by
// every command that loads rules, with the file named.
func TestBadRulesRejectedEverywhere(t *testing.T) {
	for name, body := range map[string]string{
		"cause.yaml":   "programs: [sshd]\nrules:\n- id: x\n  match: 'a {text}'\n  cause: client_timout\n",
		"example.yaml": "programs: [sshd]\nrules:\n- id: x\n  match: 'Connection closed by {ip}'\n  examples:\n  - 'Connection reset by 1.2.3.4'\n",
		"phase.yaml":   "programs: [sshd]\nrules:\n- id: x\n  match: 'a {text}'\n  phase: postauth\n  cause: user_logout\n  cause_preauth: probe\n",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		log := writeTemp(t, "auth.log", "Nov 23 10:00:00 srv sshd[1]: a b\n")
		for _, args := range [][]string{
			{"rules", "list", "--rules", dir},
			{"rules", "test", "--rules", dir, log},
			{"classify", "--rules", dir, log},
			{"index", "--data", t.TempDir(), "--rules", dir, log},
		} {
			_, _, err := runCmd(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), name) || exitCode(err) != 1 {
				t.Errorf("%s: %v: err = %v", name, args[:2], err)
			}
		}
	}
}

// Connections still open at the end of the input come after the ended
// ones, marked open, with no cause.
func TestClassifyPrintsOpen(t *testing.T) {
	log := "Nov 23 10:00:00 srv sshd[700]: Accepted publickey for alice from 203.0.113.7 port 40001 ssh2\n" +
		"Nov 23 10:00:01 srv sshd[701]: Connection closed by 198.51.100.9 port 40002 [preauth]\n"
	out, errOut, err := runCmd(t, "", "classify", "--format", "json", writeTemp(t, "auth.log", log))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"cause":"probe"`) || !strings.Contains(lines[1], `"open":true`) ||
		strings.Contains(lines[1], `"cause"`) || strings.Contains(lines[1], `"confidence"`) {
		t.Errorf("json:\n%s", out)
	}
	if !strings.Contains(errOut, "1 events (probe 1), 1 still open") {
		t.Errorf("summary: %s", errOut)
	}
	out, _, err = runCmd(t, "", "classify", writeTemp(t, "auth.log", log))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 3 || !strings.Contains(rows[2], "alice") || !strings.Contains(rows[2], " open ") {
		t.Errorf("table:\n%s", out)
	}
}

// TestTableAlignment: colour codes take no room, attacker-long values are
// cut to their column, open connections say so.
func TestTableAlignment(t *testing.T) {
	for _, colour := range []bool{false, true} {
		var b strings.Builder
		tw := newTableWriter(&b, colour)
		end := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		for _, ev := range []*classify.Event{
			{End: end, Host: "vm", SrcIP: "203.0.113.7", SrcPort: 40000, User: "alice", Cause: cause.UserLogout, Confidence: cause.Certain, Phase: cause.Postauth, DurationS: 5, Detail: "bye"},
			{End: end, Host: "vm", SrcIP: "2001:db8::1", SrcPort: 22, User: strings.Repeat("x", 10000), Cause: cause.NegotiationFailure, Confidence: cause.Certain, Phase: cause.Preauth},
			{End: end, Host: "vm", Remote: "UNKNOWN", Open: true, User: "日本語ユーザー", Phase: cause.Postauth, StartUnknown: true},
		} {
			if err := tw.write(ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.flush(); err != nil {
			t.Fatal(err)
		}
		out := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(b.String(), "")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("colour %v: %d lines:\n%s", colour, len(lines), out)
		}
		// Every row's CONFIDENCE column starts where the header's does.
		at := uniseg.StringWidth(lines[0][:strings.Index(lines[0], "CONFIDENCE")])
		for _, l := range lines[1:] {
			cut := strings.Index(l, "certain")
			if cut < 0 {
				cut = strings.Index(l, " -  ") + 1
			}
			if w := uniseg.StringWidth(l[:cut]); w != at {
				t.Errorf("colour %v: CONFIDENCE at column %d, header at %d:\n%s", colour, w, at, out)
			}
			if uniseg.StringWidth(l) > 200 {
				t.Errorf("colour %v: a row %d columns wide", colour, uniseg.StringWidth(l))
			}
		}
		if !strings.Contains(lines[3], "open") || !strings.Contains(lines[3], "UNKNOWN") {
			t.Errorf("open connection row: %q", lines[3])
		}
		if colour != strings.Contains(b.String(), "\x1b[32muser_logout\x1b[0m") {
			t.Errorf("colour %v: %q", colour, b.String())
		}
	}
}

// TestErrorsEscaped: a hostile file name cannot reach the terminal raw.
func TestErrorsEscaped(t *testing.T) {
	if os.Getenv("SSHWHY_MAIN") == "1" {
		os.Args = []string{"sshwhy", "classify", "/nonexistent/\x1b]0;owned\x07"}
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestErrorsEscaped$")
	cmd.Env = append(os.Environ(), "SSHWHY_MAIN=1")
	out, err := cmd.CombinedOutput()
	if exitCode := cmd.ProcessState.ExitCode(); err == nil || exitCode != 1 {
		t.Fatalf("exit %d, %v: %s", exitCode, err, out)
	}
	if strings.ContainsAny(string(out), "\x1b\x07") || !strings.Contains(string(out), `\x1b]0;owned\a`) {
		t.Errorf("stderr: %q", out)
	}
}

// TestExplain: --explain gives every ended event its remedy, from the
// cause table, in JSON and in the table.
func TestExplain(t *testing.T) {
	out, _, err := runCmd(t, "", "classify", "--explain", "-o", "json", sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Cause  cause.Cause `json:"cause"`
			Open   bool        `json:"open"`
			Remedy string      `json:"remedy"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if ev.Open != (ev.Remedy == "") || !ev.Open && !strings.HasPrefix(ev.Remedy, ev.Cause.Info().Remedy) {
			t.Errorf("%s: remedy %q", ev.Cause, ev.Remedy)
		}
		n++
	}
	table, _, err := runCmd(t, "", "classify", "--explain", sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(table, "\n    → "); got < n-5 {
		t.Errorf("%d remedy lines in the table for %d events", got, n)
	}
}
