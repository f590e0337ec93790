package ingest_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/lab"
)

// TestRsyslogFilesIntegration reads the auth files a real rsyslog wrote
// (fed by a real journald, as on Debian 12; internal/lab starts both) with
// Open: BSD and RFC 3339 forms, every header field, microsecond timestamps.
func TestRsyslogFilesIntegration(t *testing.T) {
	logs := lab.StartLogs(t)
	host := shortHostname(t)
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	var sent []string
	for i := 0; i < 10; i++ {
		sent = append(sent, fmt.Sprintf("%s %02d: Connection closed by invalid user x 6.6.6.6 port 22 127.0.0.1 port %d [preauth]", token, i, 50000+i))
	}
	pid := mustLog(t, "sshd", sent...)
	if err := logs.Sync(); err != nil {
		t.Fatal(err)
	}

	rfc := ours(t, readAll(t, logs.RFC3339File), token)
	bsd := ours(t, readAll(t, logs.BSDFile), token)
	if len(rfc) != len(sent) || len(bsd) != len(sent) {
		t.Fatalf("found %d RFC 3339 and %d BSD lines, want %d each", len(rfc), len(bsd), len(sent))
	}
	for i := range sent {
		r, b := rfc[i], bsd[i]
		for _, c := range []struct {
			l    ingest.Line
			form ingest.Format
			prec int8
		}{{r, ingest.FormatRFC3339, 6}, {b, ingest.FormatBSD, 0}} {
			l := c.l
			if l.Format != c.form || l.Prec != c.prec || l.Host != host || l.Program != "sshd" || l.PID != pid || l.Message != sent[i] {
				t.Errorf("line %d: %+v\nwant format %v, Prec %d, host %q, program sshd, pid %d, message %q", i, l, c.form, c.prec, host, pid, sent[i])
			}
		}
		// The RFC 3339 stamp has microseconds and must be read exactly.
		stamp, _, _ := strings.Cut(r.Raw, " ")
		want, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			t.Fatalf("line %d: rsyslog wrote %q: %v", i, stamp, err)
		}
		if m := micros.FindStringSubmatch(stamp); m == nil || len(m[1]) != 6 {
			t.Errorf("line %d: rsyslog stamp %q lacks microseconds", i, stamp)
		}
		if !r.Time.Equal(want) {
			t.Errorf("line %d: Time %s, the file says %s", i, r.Time.Format(time.RFC3339Nano), stamp)
		}
		// rsyslog stamps a message once; the BSD form is the same instant
		// cut to the second, in local time.
		if !b.Time.Equal(want.Truncate(time.Second)) {
			t.Errorf("line %d: BSD Time %s, RFC 3339 file says %s", i, b.Time.Format(time.RFC3339Nano), stamp)
		}
	}
}

// TestRsyslogFollowIntegration follows the RFC 3339 file while rsyslog
// appends to it, across a logrotate-style rotation (rename, SIGHUP, rsyslog
// creates the file again).
func TestRsyslogFollowIntegration(t *testing.T) {
	logs := lab.StartLogs(t)
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	mustLog(t, "sshd", "before "+token) // already in the file: Follow starts after it
	if err := logs.Sync(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(logs.RFC3339File)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ingest.Follow(logs.RFC3339File, ingest.FollowOptions{Offset: fi.Size()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := make(chan ingest.Line, 100)
	errc := make(chan error, 1)
	go func() {
		for {
			l, err := next(f)
			if err != nil {
				errc <- err
				return
			}
			lines <- l
		}
	}()
	await := func(want []string) {
		t.Helper()
		var got []string
		timeout := time.After(20 * time.Second)
		for len(got) < len(want) {
			select {
			case l := <-lines:
				if !strings.Contains(l.Message, token) {
					continue // the lab's barrier lines
				}
				if l.Format != ingest.FormatRFC3339 || l.Prec != 6 || l.Program != "sshd" || l.Source != logs.RFC3339File || l.Offset <= 0 {
					t.Errorf("followed line %+v: want RFC 3339 with µs, program sshd, source %s, an offset", l, logs.RFC3339File)
				}
				got = append(got, l.Message)
			case err := <-errc:
				t.Fatalf("following: %v", err)
			case <-timeout:
				t.Fatalf("following: got %q in 20s, want %q", got, want)
			}
		}
		if !equal(got, want) {
			t.Errorf("followed %q, want %q", got, want)
		}
	}

	// Appends in several writes.
	var want []string
	for i := 0; i < 3; i++ {
		batch := []string{fmt.Sprintf("%s live %d a", token, i), fmt.Sprintf("%s live %d b", token, i)}
		mustLog(t, "sshd", batch...)
		want = append(want, batch...)
		time.Sleep(100 * time.Millisecond)
	}
	await(want)

	// Offsets point just after each line: check the last one against the file.
	b, err := os.ReadFile(logs.RFC3339File)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimRight(string(b), "\n"), want[len(want)-1]) {
		t.Fatalf("file does not end with the last line sent")
	}

	// Rotation: rename, HUP, and rsyslog starts a new file at the next line.
	if err := os.Rename(logs.RFC3339File, logs.RFC3339File+".1"); err != nil {
		t.Fatal(err)
	}
	if err := logs.ReopenFiles(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let rsyslog process the HUP before the next line
	rotated := []string{token + " after rotation 1", token + " after rotation 2"}
	mustLog(t, "sshd", rotated...)
	await(rotated)

	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Next after Close: %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Close did not end Next")
	}
}

// TestFollowOffsetsIntegration checks Line.Offset on a file rsyslog wrote:
// Follow(path, l.Offset) resumes exactly after l.
func TestFollowOffsetsIntegration(t *testing.T) {
	logs := lab.StartLogs(t)
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	var sent []string
	for i := 0; i < 6; i++ {
		sent = append(sent, fmt.Sprintf("%s offset %d", token, i))
	}
	mustLog(t, "sshd", sent...)
	if err := logs.Sync(); err != nil {
		t.Fatal(err)
	}
	all := ours(t, readAll(t, logs.RFC3339File), token)
	if len(all) != len(sent) {
		t.Fatalf("found %d lines, want %d", len(all), len(sent))
	}
	content, err := os.ReadFile(logs.RFC3339File)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range all {
		end := int(l.Offset)
		if end > len(content) || !strings.HasSuffix(string(content[:end]), l.Raw+"\n") {
			t.Errorf("line %d: Offset %d is not just after %q", i, l.Offset, l.Raw)
		}
	}
	// Resume after the third line: the next line Follow returns is the fourth.
	f, err := ingest.Follow(logs.RFC3339File, ingest.FollowOptions{ID: *all[2].File, Offset: all[2].Offset})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fourth := make(chan ingest.Line, 1)
	go func() {
		if l, err := next(f); err == nil {
			fourth <- l
		}
	}()
	select {
	case l := <-fourth:
		if l.Message != sent[3] {
			t.Errorf("resumed at %q, want %q", l.Message, sent[3])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow from an offset returned nothing")
	}
}

var micros = regexp.MustCompile(`T\d\d:\d\d:\d\d\.(\d+)(?:Z|[+-]\d\d:\d\d)$`)

func readAll(t *testing.T, path string) []ingest.Line {
	t.Helper()
	f, err := ingest.Open(path, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ingest.Line
	for {
		l, err := next(f)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if l.Format == ingest.FormatUnknown {
			t.Errorf("%s: line without a recognised header: %q", path, l.Raw)
		}
		out = append(out, l)
	}
}

// ours keeps the lines whose message carries token.
func ours(t *testing.T, ls []ingest.Line, token string) []ingest.Line {
	t.Helper()
	var out []ingest.Line
	for _, l := range ls {
		if strings.Contains(l.Message, token) {
			out = append(out, l)
		}
	}
	return out
}

// shortHostname is the host name as rsyslog writes it (up to the first dot).
func shortHostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

// next is r.Next into a new Line.
func next(r ingest.Reader) (ingest.Line, error) {
	var l ingest.Line
	err := r.Next(&l)
	return l, err
}
