package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if !strings.Contains(out, `\x1b]0;owned\ax from 6.6.6.6 port 22`) || !strings.Contains(out, "203.0.113.7:40040") {
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
	if err == nil || !strings.Contains(err.Error(), "1 line(s) matched no rule") {
		t.Errorf("err = %v", err)
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
