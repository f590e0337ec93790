package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Schedule is the `[report]` section of the agent's configuration: when
// to make the daily report of the day before, and where it goes.
//
//	[report]
//	time    = "06:30"            # local time, every day
//	dir     = "/var/lib/sshwhy/reports"   # keep each report as a file
//	command = "sendmail -t"      # and/or pipe it to a command
//	to      = "root"             # with mail headers first (needs command)
//	format  = "text"             # text, markdown, json or html
//
// At least one of dir and command is needed.
type Schedule struct {
	Time    string `toml:"time"`
	Dir     string `toml:"dir"`
	Command string `toml:"command"`
	To      string `toml:"to"`
	Subject string `toml:"subject"`
	Format  string `toml:"format"`
	Days    int    `toml:"days"` // the period, in days; default 1

	hour, minute int
}

// ErrSchedule is wrapped by every error about a Schedule.
var ErrSchedule = errors.New("bad [report] schedule")

// ParseSchedule reads the [report] table of a TOML configuration; ok is
// false when there is none.
func ParseSchedule(config []byte) (s Schedule, ok bool, err error) {
	var file struct {
		Report *Schedule `toml:"report"`
	}
	md, err := toml.Decode(string(config), &file)
	if err != nil {
		return s, false, fmt.Errorf("%w: %v", ErrSchedule, err)
	}
	for _, k := range md.Undecoded() {
		if len(k) > 0 && k[0] == "report" {
			return s, false, fmt.Errorf("%w: unknown key %s (keys: time, dir, command, to, subject, format, days)", ErrSchedule, k)
		}
	}
	if file.Report == nil {
		return s, false, nil
	}
	s = *file.Report
	return s, true, s.Validate()
}

// Validate checks s and fills in the defaults.
func (s *Schedule) Validate() error {
	if s.Format == "" {
		s.Format = FormatText
	}
	if err := checkFormat(s.Format); err != nil {
		return fmt.Errorf("%w: format: %v", ErrSchedule, err)
	}
	if s.Days == 0 {
		s.Days = 1
	}
	if s.Days < 0 || s.Days > 366 {
		return fmt.Errorf("%w: days must be 1 to 366, not %d", ErrSchedule, s.Days)
	}
	t, err := time.Parse("15:04", strings.TrimSpace(s.Time))
	if err != nil {
		return fmt.Errorf("%w: time must be HH:MM (24-hour, local), not %q", ErrSchedule, s.Time)
	}
	s.hour, s.minute = t.Hour(), t.Minute()
	if s.Dir == "" && s.Command == "" {
		return fmt.Errorf("%w: give dir, command, or both", ErrSchedule)
	}
	if s.To != "" && s.Command == "" {
		return fmt.Errorf("%w: to needs a command to mail through (e.g. sendmail -t)", ErrSchedule)
	}
	if strings.ContainsAny(s.To+s.Subject, "\r\n") {
		return fmt.Errorf("%w: to and subject must be one line each", ErrSchedule)
	}
	return nil
}

// Due tells whether a report is due at now, given the first day of the
// last report made (zero: none yet), and for which day. A report of day D
// is due from the scheduled time on D+Days; a report missed while the
// agent was down is made when it runs again, for the latest day only (a
// week of downtime gives one report, not seven mails).
func (s Schedule) Due(now, last time.Time) (day time.Time, due bool) {
	loc := now.Location()
	today := time.Date(now.Year(), now.Month(), now.Day(), s.hour, s.minute, 0, 0, loc)
	if now.Before(today) {
		today = today.AddDate(0, 0, -1) // today's time has not come: the last slot was yesterday's
	}
	day = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -max(s.Days, 1))
	if !last.IsZero() && !midnight(last, loc).Before(day) {
		return day, false
	}
	return day, true
}

// Next is the next time at or after now when a report becomes due, for
// the agent's timer.
func (s Schedule) Next(now time.Time) time.Time {
	t := time.Date(now.Year(), now.Month(), now.Day(), s.hour, s.minute, 0, 0, now.Location())
	if t.Before(now) {
		t = time.Date(now.Year(), now.Month(), now.Day()+1, s.hour, s.minute, 0, 0, now.Location())
	}
	return t
}

// Deliver sends one rendered report: into s.Dir as a file named after its
// first day (written atomically), and piped to s.Command (run by /bin/sh,
// as a cron line would be), with mail headers first when s.To is set.
func (s Schedule) Deliver(ctx context.Context, day time.Time, report []byte) error {
	var errs []error
	if s.Dir != "" {
		if err := writeAtomic(s.Dir, reportName(day, s.Format), report); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Command != "" {
		in := report
		if s.To != "" {
			in = append(mailHeader(s, day), report...)
		}
		if err := pipe(ctx, s.Command, in); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func reportName(day time.Time, format string) string {
	ext := map[string]string{FormatText: "txt", FormatMarkdown: "md", FormatJSON: "json", FormatHTML: "html"}[format]
	return "sshwhy-report-" + day.Format(time.DateOnly) + "." + ext
}

// mailHeader is the RFC 5322 header `sendmail -t` reads.
func mailHeader(s Schedule, day time.Time) []byte {
	subject := s.Subject
	if subject == "" {
		host, _ := os.Hostname()
		subject = "sshwhy report for " + day.Format(time.DateOnly) + " on " + host
	}
	ctype := "text/plain"
	if s.Format == FormatHTML {
		ctype = "text/html"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "To: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", s.To, subject, ctype)
	return b.Bytes()
}

// pipe runs command with in on its standard input; its error names the
// command and carries the first line of what it wrote on stderr.
func pipe(ctx context.Context, command string, in []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("report: %s: %v: %s", command, err, firstLine(stderr.String()))
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func writeAtomic(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o640)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}
