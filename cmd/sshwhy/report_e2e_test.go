package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkReport is the report's part of TestE2E: from the real sshd's
// capture, `sshwhy report` counts per cause must equal the classifier's
// events, read straight from the logs (--from) and from an index of them;
// and a day without data must say so.
func checkReport(t *testing.T, bin string, inputArgs []string, events []event) {
	t.Helper()
	checkReportSources(t, bin, inputArgs, events, "")
}

// checkReportSources compares the report's counts with events, from the
// logs (inputArgs), from an index of them, and through a running agent's
// socket when sock is set.
func checkReportSources(t *testing.T, bin string, inputArgs []string, events []event, sock string) {
	t.Helper()
	if len(events) == 0 {
		t.Fatal("no events to report")
	}
	want := map[string]int{}
	first, last := time.Time{}, time.Time{}
	for _, e := range events {
		want[e.Cause]++
		end, err := time.Parse(time.RFC3339Nano, e.End)
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() || end.Before(first) {
			first = end
		}
		if end.After(last) {
			last = end
		}
	}
	day := first.UTC().Format(time.DateOnly)
	days := int(last.UTC().Truncate(24*time.Hour).Sub(first.UTC().Truncate(24*time.Hour)).Hours()/24) + 1
	period := []string{"--tz", "UTC", "--day", day, "--days", fmt.Sprint(days), "--format", "json"}

	data := filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command(bin, append([]string{"index", "--data", data}, inputArgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("sshwhy index: %v\n%s", err, out)
	}
	sources := []struct {
		name string
		args []string
	}{
		{"--from", append(append([]string{"report", "--from"}, period...), inputArgs...)},
		{"index", append([]string{"report", "--socket", "-", "--data", data}, period...)},
	}
	if sock != "" {
		sources = append(sources, struct {
			name string
			args []string
		}{"the agent", append([]string{"report", "--socket", sock}, period...)})
	}
	for _, src := range sources {
		out, err := exec.Command(bin, src.args...).Output()
		if err != nil {
			t.Fatalf("sshwhy %s: %v", strings.Join(src.args, " "), err)
		}
		var r struct {
			Total  struct{ Count int }
			Causes []struct {
				Cause string
				Count int
			}
			Sessions struct{ Count int }
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("report from %s is not JSON: %v", src.name, err)
		}
		got := map[string]int{}
		for _, c := range r.Causes {
			if c.Count > 0 {
				got[c.Cause] = c.Count
			}
		}
		if r.Total.Count != len(events) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("report from %s: %d ends %v; classify: %d %v", src.name, r.Total.Count, got, len(events), want)
		}
		sessions := 0
		for _, e := range events {
			if e.Phase == "postauth" {
				sessions++
			}
		}
		if r.Sessions.Count != sessions {
			t.Errorf("report from %s: %d sessions, classify %d postauth events", src.name, r.Sessions.Count, sessions)
		}
	}
	out, err := exec.Command(bin, "report", "--socket", "-", "--data", data, "--tz", "UTC", "--day", "2000-01-01").Output()
	if err != nil || !strings.Contains(string(out), "No SSH connection ended in this period (2000-01-01") {
		t.Errorf("a day without data: %v\n%s", err, out)
	}
}
