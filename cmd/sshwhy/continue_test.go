package main

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshwhy/sshwhy/classify"
)

// A two-hour session that starts in one log file and ends in the next,
// with bot traffic around it.
const (
	splitFirst = `2026-11-20T10:00:00.000000+00:00 vm sshd[100]: Accepted publickey for carol from 203.0.113.5 port 50000 ssh2: ED25519 SHA256:abc
2026-11-20T10:00:00.100000+00:00 vm sshd[100]: pam_unix(sshd:session): session opened for user carol(uid=1000) by (uid=0)
2026-11-20T10:30:00.000000+00:00 vm sshd[200]: Invalid user oracle from 198.51.100.9 port 40000
2026-11-20T10:30:01.000000+00:00 vm sshd[200]: Failed password for invalid user oracle from 198.51.100.9 port 40000 ssh2
2026-11-20T10:30:02.000000+00:00 vm sshd[200]: Connection closed by invalid user oracle 198.51.100.9 port 40000 [preauth]
`
	// Written to the first file after the first run read it.
	splitLate = `2026-11-20T11:00:00.000000+00:00 vm sshd[300]: Connection closed by 198.51.100.10 port 40001 [preauth]
`
	splitSecond = `2026-11-20T12:00:00.000000+00:00 vm sshd[101]: Received disconnect from 203.0.113.5 port 50000:11: disconnected by user
2026-11-20T12:00:00.000000+00:00 vm sshd[101]: Disconnected from user carol 203.0.113.5 port 50000
2026-11-20T12:00:00.100000+00:00 vm sshd[100]: pam_unix(sshd:session): session closed for user carol
`
)

func appendText(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func compress(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	z.Write(b)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Remove(from); err != nil {
		t.Fatal(err)
	}
}

func jsonEvents(t *testing.T, out string) []*classify.Event {
	t.Helper()
	var evs []*classify.Event
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		e := new(classify.Event)
		if err := json.Unmarshal([]byte(l), e); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		evs = append(evs, e)
	}
	return evs
}

// TestIndexContinues indexes a session split over two files in two runs,
// the way cron would: the files as they are, rotated by rename and
// compression in between, or copied and truncated in between. Each time the
// index must hold what one run over all the lines gives: the same events,
// ids and causes, the session one user_logout of two hours; between the
// runs the session is open (search --open), not ended.
func TestIndexContinues(t *testing.T) {
	whole := writeTemp(t, "whole.log", splitFirst+splitLate+splitSecond)
	ref, _, err := runCmd(t, "", "classify", "-o", "json", whole)
	if err != nil {
		t.Fatal(err)
	}
	want := jsonEvents(t, ref)
	if len(want) != 3 {
		t.Fatalf("reference: %d events: %s", len(want), ref)
	}
	for _, tc := range []struct {
		name string
		// between changes the files after the first run; second names the
		// file the second run is given.
		between func(t *testing.T, dir string)
		first   string // the file the first run reads
		second  string
	}{
		{"next file", func(t *testing.T, dir string) {
			appendText(t, dir+"/auth.log", splitLate+splitSecond)
		}, "auth.log.1", "auth.log"},
		{"rotated and compressed", func(t *testing.T, dir string) {
			appendText(t, dir+"/auth.log", splitLate)
			os.Rename(dir+"/auth.log", dir+"/auth.log.1")
			compress(t, dir+"/auth.log.1", dir+"/auth.log.2.gz")
			appendText(t, dir+"/auth.log.1", "") // the next generation, rotated too, empty
			appendText(t, dir+"/auth.log", splitSecond)
		}, "auth.log", "auth.log"},
		{"copytruncate", func(t *testing.T, dir string) {
			appendText(t, dir+"/auth.log", splitLate)
			b, _ := os.ReadFile(dir + "/auth.log")
			os.WriteFile(dir+"/auth.log.1", b, 0o644)
			os.Truncate(dir+"/auth.log", 0)
			appendText(t, dir+"/auth.log", splitSecond)
		}, "auth.log", "auth.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			appendText(t, filepath.Join(dir, tc.first), splitFirst)
			if _, _, err := runCmd(t, "", "index", "--data", data, filepath.Join(dir, tc.first)); err != nil {
				t.Fatal(err)
			}
			open, _, err := runCmd(t, "", "search", "--data", data, "--open", "-o", "json", "--limit", "0")
			if err != nil {
				t.Fatal(err)
			}
			if evs := jsonEvents(t, open); len(evs) != 1 || !evs[0].Open || evs[0].User != "carol" || evs[0].ID != want[2].ID {
				t.Errorf("open between the runs: %s (want carol's session, id %s)", open, want[2].ID)
			}
			tc.between(t, dir)
			if _, _, err := runCmd(t, "", "index", "--data", data, filepath.Join(dir, tc.second)); err != nil {
				t.Fatal(err)
			}
			out, _, err := runCmd(t, "", "search", "--data", data, "-o", "json", "--limit", "0", "--sort", "end")
			if err != nil {
				t.Fatal(err)
			}
			got := jsonEvents(t, out)
			if len(got) != len(want) {
				t.Fatalf("indexed %d events, want %d:\n%s", len(got), len(want), out)
			}
			for i, e := range got {
				w := want[i]
				if e.ID != w.ID || e.Cause != w.Cause || e.User != w.User || e.SrcPort != w.SrcPort || e.DurationS != w.DurationS || len(e.Lines) != len(w.Lines) {
					t.Errorf("event %d: %s %s %s %d %.0fs %d lines; one run over both: %s %s %s %d %.0fs %d lines",
						i, e.ID, e.Cause, e.User, e.SrcPort, e.DurationS, len(e.Lines), w.ID, w.Cause, w.User, w.SrcPort, w.DurationS, len(w.Lines))
				}
			}
			if s := got[2]; s.Cause != "user_logout" || s.DurationS != 7200 || s.Phase != "postauth" {
				t.Errorf("the session: %s %s %.0fs, want user_logout postauth 7200s", s.Cause, s.Phase, s.DurationS)
			}
			if open, _, _ := runCmd(t, "", "search", "--data", data, "--open", "-o", "json"); strings.TrimSpace(open) != "" {
				t.Errorf("still open after the second run: %s", open)
			}
		})
	}
}
