package report

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/sshdconfig"
	"github.com/sshwhy/sshwhy/unmatched"
)

// The fixture: a day (2026-11-30, UTC) on two hosts with something for
// every finding, the week before it, hostile user names and lines.
var (
	fixDay = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	fixNow = time.Date(2026, 12, 1, 6, 30, 0, 0, time.UTC)
)

// Hostile values: terminal escapes, markup, markdown, a bidi override,
// invalid UTF-8 and a huge name.
var hostile = []string{
	"x\x1b[31mred\x1b[0m",
	"<script>alert(1)</script>",
	"<img src=http://127.0.0.1:9/x>",
	"a|b*c_[d](e)",
	"bidi\u202egnp.exe",
	"bad\xffutf8",
	strings.Repeat("L", 10000),
}

type fixture struct {
	events, open []*classify.Event
	n            int
}

func (f *fixture) add(c cause.Cause, end time.Time, ip, user, host string, phase cause.Phase, dur time.Duration) *classify.Event {
	f.n++
	start := end.Add(-dur)
	e := &classify.Event{
		Start: start, End: end, Host: host, Program: "sshd", PID: 1000 + f.n, SrcIP: ip, SrcPort: 40000 + f.n,
		User: user, Cause: c, Confidence: cause.Certain, Phase: phase, DurationS: dur.Seconds(),
		Lines: []string{fmt.Sprintf("%s %s sshd[%d]: line", end.Format(time.RFC3339), host, 1000+f.n)},
	}
	e.ID = classify.EventID(e.Host, e.PID, e.SrcPort, e.Start)
	f.events = append(f.events, e)
	return e
}

func newFixture() *fixture {
	f := &fixture{}
	at := func(day, h, m int) time.Time {
		return fixDay.AddDate(0, 0, day).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	// The week before: a few logouts and failures a day, no timeouts.
	for d := -7; d < 0; d++ {
		for i := 0; i < 3; i++ {
			f.add(cause.UserLogout, at(d, 9+i, 0), "192.0.2.10", "alice", "vm", cause.Postauth, time.Duration(20+i)*time.Minute)
		}
		for i := 0; i < 4; i++ {
			f.add(cause.AuthFailure, at(d, 2, i), fmt.Sprintf("45.33.%d.%d", d+10, i), "root", "vm", cause.Preauth, 2*time.Second)
		}
	}
	// The day.
	for i := 0; i < 6; i++ {
		f.add(cause.UserLogout, at(0, 8+i, 5), "192.0.2.10", "alice", "vm", cause.Postauth, time.Duration(10+5*i)*time.Minute)
	}
	f.add(cause.UserLogout, at(0, 15, 0), "2001:db8:1:2::7", "carol", "web1", cause.Postauth, 3*time.Hour)
	// A NAT that forgets idle connections after about 5 minutes.
	for i, u := range []string{"alice", "bob", "bob", "dave"} {
		e := f.add(cause.ClientTimeout, at(0, 10+i, 30), fmt.Sprintf("203.0.113.%d", 20+i), u, "web1", cause.Postauth, 5*time.Minute+time.Duration(i)*time.Second)
		e.Detail = "ClientAliveInterval x ClientAliveCountMax without an answer"
	}
	f.add(cause.NetworkReset, at(0, 14, 2), "203.0.113.21", "bob", "web1", cause.Postauth, 4*time.Minute)
	// The server's key changed: a client that logged in before refuses it.
	hk := f.add(cause.HostKeyMismatch, at(0, 7, 1), "192.0.2.10", "", "vm", cause.Preauth, 0)
	hk.Confidence = cause.Inferred
	f.add(cause.PacketCorruption, at(0, 12, 0), "198.51.100.77", "erin", "web1", cause.Postauth, 90*time.Second)
	// MaxStartups drops, one of them from an address that logged in.
	for i := 0; i < 3; i++ {
		f.add(cause.RateLimited, at(0, 3, i), "192.0.2.10", "", "vm", cause.Preauth, 0)
	}
	// A brute force from one /24, hostile user names among the guesses.
	for i := 0; i < 30; i++ {
		u := []string{"root", "admin", "oracle"}[i%3]
		if i < 3*len(hostile) {
			u = hostile[i%len(hostile)] // the top users: shown in every format
		}
		f.add(cause.AuthFailure, at(0, 2, i), fmt.Sprintf("45.33.99.%d", 1+i%4), u, "vm", cause.Preauth, 3*time.Second)
	}
	for i := 0; i < 12; i++ {
		f.add(cause.Probe, at(0, 1+i, 44), fmt.Sprintf("2001:db8:bad:%x::1", i%2), "", "vm", cause.Preauth, time.Second)
	}
	g := f.add(cause.GraceTimeout, at(0, 5, 0), "198.51.100.3", "", "vm", cause.Preauth, 120*time.Second)
	g.Confidence = cause.Inferred
	lost := f.add(cause.ConnectionLost, at(0, 18, 0), "192.0.2.10", "alice", "vm", cause.Postauth, 2*time.Hour)
	lost.Confidence = cause.Inferred
	// A login from an address never seen before, with a hostile name.
	f.add(cause.UserLogout, at(0, 20, 0), "198.51.100.200", hostile[1], "web1", cause.Postauth, 7*time.Minute)
	// Still open at the end.
	f.open = append(f.open, &classify.Event{ID: "open1", Start: at(0, 23, 0), Host: "vm", SrcIP: "192.0.2.10", User: "alice", Cause: cause.Unknown, Phase: cause.Postauth})
	return f
}

// fixtureUnmatched records two shapes, one with hostile bytes.
func fixtureUnmatched() *unmatched.Recorder {
	r := unmatched.NewRecorder()
	for i := 0; i < 3; i++ {
		t := fixDay.Add(time.Duration(9+i) * time.Hour)
		msg := fmt.Sprintf("Brand new message from 192.0.2.%d port %d", i, 5000+i)
		r.Add(&ingest.Line{Raw: t.Format(time.RFC3339) + " vm sshd[9]: " + msg, Time: t, Host: "vm", Program: "sshd", Message: msg})
	}
	t := fixDay.Add(16 * time.Hour)
	msg := "odd <b>bold</b> \x1b]0;title\x07 'quoted x from 6.6.6.6'"
	r.Add(&ingest.Line{Raw: t.Format(time.RFC3339) + " vm sshd[9]: " + msg, Time: t, Host: "vm", Program: "sshd", Message: msg})
	return r
}

func fixtureSettings(t *testing.T) *sshdconfig.Config {
	t.Helper()
	c, err := sshdconfig.ReadFile(filepath.Join("testdata", "sshd_config"), "9.2")
	if err != nil {
		t.Fatal(err)
	}
	c.Files = []string{"testdata/sshd_config"} // stable in the golden files
	return c
}

func fixtureOptions(t *testing.T) Options {
	rec := fixtureUnmatched()
	return Options{
		Day: fixDay, Loc: time.UTC, Now: fixNow, Source: "test fixture", Top: 10,
		Settings:  fixtureSettings(t),
		Unmatched: func(s, u time.Time) (unmatched.Summary, error) { return rec.Summary(s, u), nil },
	}
}
