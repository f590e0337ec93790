//go:build cgo

package ingest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/lab"
)

// TestJournalIntegration reads entries a real systemd-journald stored
// (internal/lab starts one; needs root and no systemd as PID 1) through
// OpenJournal: every field, selection by identifier, resuming after a
// cursor exactly once, and following new entries.
func TestJournalIntegration(t *testing.T) {
	logs := lab.StartLogs(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	msgs := func(prefix string, n int) []string {
		var m []string
		for i := 0; i < n; i++ {
			m = append(m, fmt.Sprintf("%s %s %02d: Failed password for x from 6.6.6.6 port 22 from 127.0.0.1 port %d ssh2", prefix, token, i, 40000+i))
		}
		return m
	}

	before := time.Now()
	first := msgs("first", 12)
	sshdPID := mustLog(t, "sshd", first...)
	sessionPID := mustLog(t, "sshd-session", "session "+token)
	mustLog(t, "CRON", "cron "+token) // not an sshd identifier: never read
	if err := logs.Sync(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	stamps := journalStamps(t, logs.JournalDir)

	type want struct {
		prog string
		pid  int
		msg  string
	}
	var wants []want
	for _, m := range first {
		wants = append(wants, want{"sshd", sshdPID, m})
	}
	wants = append(wants, want{"sshd-session", sessionPID, "session " + token})

	// Read everything.
	got := readJournal(t, ingest.JournalOptions{Dir: logs.JournalDir}, -1)
	if len(got) != len(wants) {
		t.Fatalf("read %d entries, want %d:\n%s", len(got), len(wants), raws(got))
	}
	for i, l := range got {
		w := wants[i]
		if l.Program != w.prog || l.PID != w.pid || l.Message != w.msg || l.Host != host ||
			l.Format != ingest.FormatJournal || l.Source != "journal" || l.Cursor == "" || l.Prec != 6 {
			t.Errorf("entry %d = %+v\nwant program %q pid %d host %q message %q, format journal, source journal, a cursor, Prec 6",
				i, l, w.prog, w.pid, host, w.msg)
		}
		if us, ok := stamps[l.Cursor]; !ok || l.Time.UnixMicro() != us {
			t.Errorf("entry %d: Time %s (%d µs), journal's __REALTIME_TIMESTAMP %d", i, l.Time.Format(time.RFC3339Nano), l.Time.UnixMicro(), us)
		}
		if l.Time.Before(before.Truncate(time.Second)) || l.Time.After(after) {
			t.Errorf("entry %d: Time %s not between %s and %s", i, l.Time, before, after)
		}
		if !strings.Contains(l.Raw, w.msg) {
			t.Errorf("entry %d: Raw %q lacks the message", i, l.Raw)
		}
	}

	// Resume: read 5, reopen after the 5th cursor, get the rest exactly once.
	head := readJournal(t, ingest.JournalOptions{Dir: logs.JournalDir}, 5)
	rest := readJournal(t, ingest.JournalOptions{Dir: logs.JournalDir, Cursor: head[4].Cursor}, -1)
	if m := messages(append(head, rest...)); !equal(m, messages(got)) {
		t.Errorf("read 5 then resumed: got\n%s\nwant\n%s", strings.Join(m, "\n"), strings.Join(messages(got), "\n"))
	}

	// Resume at the end, after more entries were written.
	last := got[len(got)-1].Cursor
	second := msgs("second", 4)
	mustLog(t, "sshd", second...)
	if err := logs.Sync(); err != nil {
		t.Fatal(err)
	}
	more := readJournal(t, ingest.JournalOptions{Dir: logs.JournalDir, Cursor: last}, -1)
	if m := messages(more); !equal(m, second) {
		t.Errorf("resumed after the last entry: got %q, want %q", m, second)
	}

	// A cursor whose entry is gone resumes at the nearest entry and says so.
	gone := regexp.MustCompile(`;i=[0-9a-f]+;`).ReplaceAllString(head[4].Cursor, ";i=fffffff0;")
	var warned []string
	if rest := readJournal(t, ingest.JournalOptions{Dir: logs.JournalDir, Cursor: gone, Warn: func(m string) { warned = append(warned, m) }}, -1); len(warned) != 1 || !strings.Contains(warned[0], "no longer in the journal") {
		t.Errorf("cursor of a missing entry %q: warnings %q, read %d entries", gone, warned, len(rest))
	}

	// AtEnd starts after the newest entry.
	atEnd, err := ingest.OpenJournal(ingest.JournalOptions{Dir: logs.JournalDir, AtEnd: true, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	fourth := msgs("fourth", 1)
	mustLog(t, "sshd", fourth...)
	if l, err := next(atEnd); err != nil || l.Message != fourth[0] {
		t.Errorf("AtEnd: first entry %q, %v; want %q", l.Message, err, fourth[0])
	}
	atEnd.Close()
	more = append(more, readJournal(t, ingest.JournalOptions{Dir: logs.JournalDir, Cursor: more[len(more)-1].Cursor}, -1)...)

	// Follow: entries written after opening arrive; Close ends the wait.
	j, err := ingest.OpenJournal(ingest.JournalOptions{Dir: logs.JournalDir, Cursor: more[len(more)-1].Cursor, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan ingest.Line)
	errc := make(chan error, 1)
	go func() {
		for {
			l, err := next(j)
			if err != nil {
				errc <- err
				return
			}
			lines <- l
		}
	}()
	third := msgs("third", 3)
	mustLog(t, "sshd", third...)
	var followed []ingest.Line
	timeout := time.After(20 * time.Second)
	for len(followed) < len(third) {
		select {
		case l := <-lines:
			followed = append(followed, l)
		case err := <-errc:
			t.Fatalf("following: %v", err)
		case <-timeout:
			t.Fatalf("following: got %d of %d entries in 20s: %q", len(followed), len(third), messages(followed))
		}
	}
	if m := messages(followed); !equal(m, third) {
		t.Errorf("followed %q, want %q", m, third)
	}
	j.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Next after Close: %v, want io.EOF", err)
		}
	case l := <-lines:
		t.Errorf("unexpected entry after Close: %q", l.Raw)
	case <-time.After(5 * time.Second):
		t.Error("Close did not end the Follow wait")
	}
}

// readJournal reads up to n entries (all when n < 0) and closes.
func readJournal(t *testing.T, opt ingest.JournalOptions, n int) []ingest.Line {
	t.Helper()
	j, err := ingest.OpenJournal(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var out []ingest.Line
	for n < 0 || len(out) < n {
		l, err := next(j)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// journalStamps maps each entry's cursor to its __REALTIME_TIMESTAMP, as
// journalctl reports them.
func journalStamps(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out, err := exec.Command("journalctl", "--directory", dir, "--no-pager", "-o", "json").Output()
	if err != nil {
		t.Fatalf("journalctl: %v", err)
	}
	m := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e struct {
			Cursor string `json:"__CURSOR"`
			RT     string `json:"__REALTIME_TIMESTAMP"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("journalctl -o json: %v: %s", err, line)
		}
		us, err := strconv.ParseInt(e.RT, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		m[e.Cursor] = us
	}
	return m
}

func messages(ls []ingest.Line) []string {
	var m []string
	for _, l := range ls {
		m = append(m, l.Message)
	}
	return m
}

func raws(ls []ingest.Line) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString("  " + l.Raw + "\n")
	}
	return b.String()
}
