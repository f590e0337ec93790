package report

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	s, ok, err := ParseSchedule([]byte("[agent]\nfile = \"/var/log/auth.log\"\n\n[report]\ntime = \"06:30\"\ndir = \"/tmp/r\"\ncommand = \"sendmail -t\"\nto = \"root\"\nformat = \"html\"\n"))
	if err != nil || !ok || s.Time != "06:30" || s.Format != "html" || s.Days != 1 || s.To != "root" {
		t.Fatalf("%+v %v %v", s, ok, err)
	}
	if _, ok, err := ParseSchedule([]byte("[agent]\nx = 1\n")); ok || err != nil {
		t.Errorf("no [report]: ok %v err %v", ok, err)
	}
	for _, tc := range []struct{ toml, want string }{
		{"[report]\ntime = \"6h\"\ndir = \"/x\"", "HH:MM"},
		{"[report]\ntime = \"25:00\"\ndir = \"/x\"", "HH:MM"},
		{"[report]\ntime = \"06:30\"", "dir, command"},
		{"[report]\ntime = \"06:30\"\ndir = \"/x\"\nformat = \"pdf\"", "format"},
		{"[report]\ntime = \"06:30\"\ndir = \"/x\"\nto = \"root\"", "needs a command"},
		{"[report]\ntime = \"06:30\"\ndir = \"/x\"\nmail = \"root\"", "unknown key report.mail"},
		{"[report]\ntime = \"06:30\"\ncommand = \"x\"\nto = \"a\\nBcc: evil\"", "one line"},
		{"[report\n", "bad [report]"},
	} {
		_, _, err := ParseSchedule([]byte(tc.toml))
		if !errors.Is(err, ErrSchedule) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.toml, err, tc.want)
		}
	}
}

// TestDue walks a fake clock across days, a DST change and downtime.
func TestDue(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	s := Schedule{Time: "06:30", Dir: "/x"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, paris) }
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, paris) }
	for _, tc := range []struct {
		name      string
		now, last time.Time
		wantDay   time.Time
		due       bool
	}{
		{"first start, after the time", at(2026, 11, 30, 7, 0), time.Time{}, day(2026, 11, 29), true},
		{"first start, before the time", at(2026, 11, 30, 6, 0), time.Time{}, day(2026, 11, 28), true},
		{"done today", at(2026, 11, 30, 9, 0), day(2026, 11, 29), day(2026, 11, 29), false},
		{"next morning, a minute early", at(2026, 12, 1, 6, 29), day(2026, 11, 29), day(2026, 11, 29), false},
		{"next morning, on time", at(2026, 12, 1, 6, 30), day(2026, 11, 29), day(2026, 11, 30), true},
		{"after a week down: the latest day only", at(2026, 12, 8, 10, 0), day(2026, 11, 29), day(2026, 12, 7), true},
		{"DST ends (25-hour day)", at(2026, 10, 25, 6, 30), day(2026, 10, 23), day(2026, 10, 24), true},
		{"DST starts (23-hour day)", at(2026, 3, 29, 6, 31), day(2026, 3, 27), day(2026, 3, 28), true},
	} {
		d, due := s.Due(tc.now, tc.last)
		if !d.Equal(tc.wantDay) || due != tc.due {
			t.Errorf("%s: day %s due %v, want %s %v", tc.name, d.Format(time.DateOnly), due, tc.wantDay.Format(time.DateOnly), tc.due)
		}
	}
	if n := s.Next(at(2026, 11, 30, 6, 0)); !n.Equal(at(2026, 11, 30, 6, 30)) {
		t.Errorf("Next before the time: %s", n)
	}
	if n := s.Next(at(2026, 11, 30, 7, 0)); !n.Equal(at(2026, 12, 1, 6, 30)) {
		t.Errorf("Next after the time: %s", n)
	}
	week := Schedule{Time: "07:00", Dir: "/x", Days: 7}
	_ = week.Validate()
	if d, due := week.Due(at(2026, 12, 7, 8, 0), time.Time{}); !due || !d.Equal(day(2026, 11, 30)) {
		t.Errorf("weekly: %s %v", d, due)
	}
}

// TestDeliver writes the file and pipes the mail through a real shell
// command that stands in for sendmail -t (it saves its input).
func TestDeliver(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "mail.txt")
	s := Schedule{Time: "06:30", Dir: filepath.Join(dir, "reports"), Command: "cat > " + got, To: "root", Format: FormatHTML}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if err := s.Deliver(context.Background(), day, []byte("<html>report</html>")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, "sshwhy-report-2026-11-30.html"))
	if err != nil || string(b) != "<html>report</html>" {
		t.Errorf("file: %q %v", b, err)
	}
	mail, _ := os.ReadFile(got)
	if !strings.HasPrefix(string(mail), "To: root\r\nSubject: sshwhy report for 2026-11-30 on ") ||
		!strings.Contains(string(mail), "Content-Type: text/html; charset=utf-8\r\n") ||
		!strings.HasSuffix(string(mail), "\r\n\r\n<html>report</html>") {
		t.Errorf("mail:\n%s", mail)
	}
	bad := Schedule{Time: "06:30", Command: "echo no mail here >&2; exit 3"}
	_ = bad.Validate()
	if err := bad.Deliver(context.Background(), day, []byte("x")); err == nil || !strings.Contains(err.Error(), "no mail here") {
		t.Errorf("failing command: %v", err)
	}
}
