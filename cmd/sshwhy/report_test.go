package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportUsageErrors(t *testing.T) {
	sample := filepath.Join("..", "..", "testdata", "sample", "auth.log")
	for _, args := range [][]string{
		{"report", "--days", "0"},
		{"report", "--day", "last week"},
		{"report", "--format", "pdf"},
		{"report", sample},   // a file without --from
		{"report", "--from"}, // --from without input
		{"report", "--top", "0", "--from", sample},
	} {
		_, _, err := runCmd(t, "", args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("%q: %v (exit %d), want a usage error", args, err, exitCode(err))
		}
	}
}

// TestReportFromSample reports the bundled capture of the lab's sshd and
// compares its counts with classify's on the same file.
func TestReportFromSample(t *testing.T) {
	sample := filepath.Join("..", "..", "testdata", "sample", "auth.log")
	out, _, err := runCmd(t, "", "report", "--from", "--tz", "UTC", "--day", "2026-11-23", "--format", "json", "--login-grace-time", "20s", "--no-server-config", sample)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Total  struct{ Count int }
		Causes []struct {
			Cause string
			Count int
		}
		Unmatched struct{ Recorded bool }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	cl, _, err := runCmd(t, "", "classify", "--format", "json", "--login-grace-time", "20s", sample)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(cl), "\n") {
		var e struct{ Cause string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		want[e.Cause]++
		n++
	}
	got := map[string]int{}
	for _, c := range r.Causes {
		if c.Count > 0 {
			got[c.Cause] = c.Count
		}
	}
	if r.Total.Count != n || len(got) != len(want) || !r.Unmatched.Recorded {
		t.Fatalf("report total %d by cause %v; classify %d %v", r.Total.Count, got, n, want)
	}
	for c, k := range want {
		if got[c] != k {
			t.Errorf("%s: report %d, classify %d", c, got[c], k)
		}
	}
}

// TestReportIndexUnmatchedAndOpen: sshwhy index keeps the sshd lines no
// rule knows per day and the connections still open; the report from the
// index shows both, as the report --from the same log does.
func TestReportIndexUnmatchedAndOpen(t *testing.T) {
	log := writeTemp(t, "auth.log", ""+
		"2026-11-20T10:00:00.000000+00:00 vm sshd[100]: Accepted publickey for carol from 203.0.113.5 port 50000 ssh2: ED25519 SHA256:abc\n"+
		"2026-11-20T10:00:01.000000+00:00 vm sshd[200]: A message no OpenSSH writes from 198.51.100.9 port 4242\n"+
		"2026-11-20T10:00:02.000000+00:00 vm sshd[201]: Connection closed by 198.51.100.9 port 4243 [preauth]\n")
	data := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCmd(t, "", "index", "--data", data, log); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"report", "--socket", "-", "--data", data, "--day", "2026-11-20", "--tz", "UTC", "-o", "json", "--no-server-config"},
		{"report", "--from", "--day", "2026-11-20", "--tz", "UTC", "-o", "json", "--no-server-config", log},
	} {
		out, _, err := runCmd(t, "", args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var r struct {
			Unmatched struct {
				Total  int `json:"total"`
				Shapes []struct {
					Count int `json:"count"`
				} `json:"shapes"`
			} `json:"unmatched"`
			Open struct {
				Count    int `json:"count"`
				Sessions []struct {
					User string `json:"user"`
				} `json:"sessions"`
			} `json:"open"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if r.Unmatched.Total != 1 || r.Open.Count != 1 || len(r.Open.Sessions) != 1 || r.Open.Sessions[0].User != "carol" {
			t.Errorf("%v: unmatched %+v, open %+v", args[1:3], r.Unmatched, r.Open)
		}
	}
}
