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
