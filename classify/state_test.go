package classify

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/rules"
)

// Stopping after any line, saving the state as JSON and resuming in a new
// Machine gives exactly the events of an uninterrupted run, and leaves the
// same connections open, with the same ids.
func TestStateResume(t *testing.T) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.cases")
	var lines []string
	for _, f := range files {
		for _, c := range readCases(t, f) {
			lines = append(lines, c.lines...)
		}
	}
	summary := func(evs []*Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, fmt.Sprint(ev.ID, " ", ev.Cause, " ", ev.Confidence, " ", ev.User, " ", ev.End, " open=", ev.Open,
				" ", ev.Phase, " ", ev.AuthFailures, " ", len(ev.Lines), " ", ev.Detail))
		}
		return out
	}
	want, _ := run(t, lines, Options{})
	for cut := 0; cut <= len(lines); cut++ {
		var got []*Event
		emit := func(ev *Event) { got = append(got, ev) }
		p := ingest.Parser{Ref: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Loc: time.UTC}
		m1, _ := New(rs, Options{}, emit)
		for _, s := range lines[:cut] {
			l := p.Parse(s)
			m1.Feed(&l)
		}
		b, err := json.Marshal(m1.State())
		if err != nil {
			t.Fatal(err)
		}
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		m2, _ := New(rs, Options{}, emit)
		m2.Restore(st)
		for _, s := range lines[cut:] {
			l := p.Parse(s)
			m2.Feed(&l)
		}
		m2.Flush()
		got = append(got, slices.Collect(m2.OpenEvents())...)
		if g, w := summary(got), summary(want); !slices.Equal(g, w) {
			t.Fatalf("cut at %d: events differ\n got %q\nwant %q", cut, g, w)
		}
		if m2.Stats().Events != int64(len(want)-len(slices.Collect(m2.OpenEvents()))) {
			t.Fatalf("cut at %d: stats say %d events, want %d", cut, m2.Stats().Events, len(want))
		}
	}
}

// feedAll parses and feeds lines to m.
func feedAll(m *Machine, lines ...string) {
	p := ingest.Parser{Ref: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Loc: time.UTC}
	for _, s := range lines {
		l := p.Parse(s)
		m.Feed(&l)
	}
}

// An open connection keeps its id: reported open in one run, saved,
// restored and ended in the next, it is the same event.
func TestOpenIDStableAcrossRuns(t *testing.T) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ended []*Event
	m1, _ := New(rs, Options{}, func(ev *Event) { ended = append(ended, ev) })
	feedAll(m1,
		"Nov 23 10:00:00 srv sshd[100]: Accepted password for alice from 203.0.113.7 port 40001 ssh2",
		"Nov 23 10:00:00 srv sshd[100]: pam_unix(sshd:session): session opened for user alice by (uid=0)")
	m1.Flush()
	open := slices.Collect(m1.OpenEvents())
	if len(ended) != 0 || len(open) != 1 || !open[0].Open || open[0].Cause != "" {
		t.Fatalf("after run 1: ended %v, open %+v", ended, open)
	}
	b, _ := json.Marshal(m1.State())
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	m2, _ := New(rs, Options{}, func(ev *Event) { ended = append(ended, ev) })
	m2.Restore(st)
	// pre-7.2: the post-auth child names no port; the monitor's PAM line
	// names the session.
	feedAll(m2,
		"Nov 23 12:00:00 srv sshd[102]: Received disconnect from 203.0.113.7: 11: disconnected by user",
		"Nov 23 12:00:00 srv sshd[100]: pam_unix(sshd:session): session closed for user alice")
	m2.Flush()
	if len(ended) != 1 || ended[0].ID != open[0].ID || ended[0].Cause != "user_logout" || ended[0].DurationS != 7200 ||
		ended[0].Confidence != "certain" || len(slices.Collect(m2.OpenEvents())) != 0 {
		t.Fatalf("after run 2: %+v (open id %s)", ended, open[0].ID)
	}
}

// A post-auth child's ending without a port that several open sessions
// from its address could own, and that no PAM line claims, is reported on
// its own and counted as unjoined; the sessions stay open.
func TestUnjoinedEnding(t *testing.T) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ended []*Event
	m, _ := New(rs, Options{}, func(ev *Event) { ended = append(ended, ev) })
	feedAll(m,
		"Nov 23 10:00:00 srv sshd[100]: Accepted password for alice from 203.0.113.7 port 40001 ssh2",
		"Nov 23 10:00:01 srv sshd[110]: Accepted password for bob from 203.0.113.7 port 40002 ssh2",
		"Nov 23 10:05:00 srv sshd[112]: Received disconnect from 203.0.113.7: 11: disconnected by user",
		"Nov 23 10:05:30 srv sshd[200]: Did not receive identification string from 198.51.100.1")
	if len(ended) != 2 || ended[0].PID != 112 || !ended[0].StartUnknown || ended[0].Confidence != "inferred" ||
		ended[0].Cause != "user_logout" || !strings.Contains(ended[0].Detail, "2 sessions from 203.0.113.7") {
		t.Fatalf("events %+v", ended)
	}
	if st := m.Stats(); st.Unjoined != 1 {
		t.Errorf("Unjoined = %d, want 1", st.Unjoined)
	}
	if open := slices.Collect(m.OpenEvents()); len(open) != 2 {
		t.Errorf("%d open sessions, want 2", len(open))
	}
}

// Advance moves the clock without a line: a silent unauthenticated
// connection ends as a grace timeout once the clock passes its deadline,
// also in a Machine restored from a state saved before; an ended
// connection stops absorbing trailing lines once its linger is over; and
// an authenticated session has no deadline at all.
func TestAdvance(t *testing.T) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, restore := range []bool{false, true} {
		var evs []*Event
		emit := func(ev *Event) { evs = append(evs, ev) }
		m, _ := New(rs, Options{LoginGraceTime: 20 * time.Second}, emit)
		feedAll(m,
			"Nov 23 10:00:00 srv sshd[330]: Connection from 203.0.113.7 port 40026 on 192.0.2.1 port 22 rdomain \"\"",
			"Nov 23 10:00:00 srv sshd[331]: Accepted password for alice from 203.0.113.8 port 40027 ssh2",
			"Nov 23 10:00:01 srv sshd[332]: Connection closed by 198.51.100.9 port 40028 [preauth]")
		if restore {
			b, _ := json.Marshal(m.State())
			var st State
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			m, _ = New(rs, Options{LoginGraceTime: 20 * time.Second}, emit)
			m.Restore(st)
		}
		m.Advance(t0.Add(20 * time.Second)) // not past grace + margin yet
		if len(evs) != 1 {
			t.Fatalf("restore=%v: %d events at +20s, want the probe only", restore, len(evs))
		}
		m.Advance(t0.Add(30 * time.Second))
		if len(evs) != 2 || evs[1].SrcPort != 40026 || evs[1].Cause != "grace_timeout" || evs[1].Confidence != "inferred" {
			t.Fatalf("restore=%v: after Advance: %+v", restore, evs)
		}
		m.Advance(t0.Add(300 * time.Hour))
		// The probe's linger is over: a line of its pid is a new connection.
		feedAll(m, "Nov 23 10:00:01 srv sshd[332]: Connection closed by 198.51.100.9 port 40028 [preauth]")
		if len(evs) != 3 {
			t.Fatalf("restore=%v: a line after the linger was absorbed: %d events", restore, len(evs))
		}
		if open := slices.Collect(m.OpenEvents()); len(open) != 1 || open[0].User != "alice" || m.host("srv").deadlines.len() != 0 {
			t.Fatalf("restore=%v: open %+v, %d deadlines", restore, open, m.host("srv").deadlines.len())
		}
	}
}

// Every host has its own clock: lines of a host whose time runs far ahead
// (a source stamped ahead of the others, in a central syslog or an agent
// following several sources) end none of another host's connections, in
// one run and across a saved state; Advance moves every host's clock but a
// host ahead of it keeps its own.
func TestHostClocks(t *testing.T) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, restore := range []bool{false, true} {
		var evs []*Event
		emit := func(ev *Event) { evs = append(evs, ev) }
		m, _ := New(rs, Options{LoginGraceTime: 20 * time.Second}, emit)
		feedAll(m,
			// srv: a probe says the peer is gone, its end line comes later;
			// a login attempt goes on after a long pause.
			"Nov 23 10:00:00 srv sshd[500]: error: kex_exchange_identification: Connection closed by remote host",
			"Nov 23 10:00:00 srv sshd[501]: Invalid user bob from 203.0.113.9 port 40100",
			// ahead: an hour ahead of srv, with a connection of its own.
			"Nov 23 11:00:00 ahead sshd[900]: Invalid user eve from 198.51.100.4 port 50100",
			"Nov 23 11:00:01 ahead sshd[901]: Connection closed by 198.51.100.5 port 50101 [preauth]")
		if restore {
			b, _ := json.Marshal(m.State())
			var st State
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Hosts) != 2 || st.Hosts[0].Host != "ahead" || st.Hosts[1].Host != "srv" ||
				st.Hosts[1].Now.Hour() != 10 || st.Hosts[0].Now.Hour() != 11 {
				t.Fatalf("saved clocks: %+v", st.Hosts)
			}
			m, _ = New(rs, Options{LoginGraceTime: 20 * time.Second}, emit)
			m.Restore(st)
		}
		feedAll(m,
			"Nov 23 11:00:30 ahead sshd[902]: Connection closed by 198.51.100.6 port 50102 [preauth]",
			"Nov 23 10:00:00 srv sshd[500]: Connection closed by 192.0.2.7 port 40099",
			"Nov 23 10:00:10 srv sshd[501]: Failed password for invalid user bob from 203.0.113.9 port 40100 ssh2",
			"Nov 23 10:00:11 srv sshd[501]: Connection closed by invalid user bob 203.0.113.9 port 40100 [preauth]")
		var got []string
		for _, ev := range evs {
			got = append(got, fmt.Sprintf("%s %d %s %d", ev.Host, ev.PID, ev.Cause, len(ev.Lines)))
		}
		// ahead's 900 is silent past its grace time by ahead's clock (the
		// line at 11:00:30): a grace timeout, ended before 902's event.
		want := []string{"ahead 901 probe 1", "ahead 900 grace_timeout 1", "ahead 902 probe 1",
			"srv 500 probe 2", "srv 501 auth_failure 3"}
		if !slices.Equal(got, want) {
			t.Fatalf("restore=%v: events\n got %q\nwant %q", restore, got, want)
		}
		// The wall clock passes srv's time, not ahead's.
		feedAll(m,
			"Nov 23 10:00:20 srv sshd[502]: Invalid user mallory from 203.0.113.10 port 40200",
			"Nov 23 11:00:40 ahead sshd[903]: Invalid user trudy from 198.51.100.7 port 50103")
		evs = nil
		m.Advance(time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC))
		if len(evs) != 1 || evs[0].PID != 502 || evs[0].Cause != "grace_timeout" {
			t.Fatalf("restore=%v: after Advance: %+v", restore, evs)
		}
		if open := slices.Collect(m.OpenEvents()); len(open) != 1 || open[0].PID != 903 {
			t.Fatalf("restore=%v: open %+v", restore, open)
		}
	}
}

// An ended connection is saved as what it still needs, its pids and
// address until its linger passes, not its evidence or causes: the agent
// saves the state twice a second, with a linger's worth of ended
// connections in it.
func TestStateEndedKeysOnly(t *testing.T) {
	rs, err := rules.Load()
	if err != nil {
		t.Fatal(err)
	}
	var evs []*Event
	m, _ := New(rs, Options{}, func(ev *Event) { evs = append(evs, ev) })
	p := ingest.Parser{Ref: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Loc: time.UTC}
	for _, s := range []string{
		"2026-11-23T10:00:00.000001+00:00 h sshd[7]: Invalid user admin from 198.51.100.7 port 4000",
		"2026-11-23T10:00:01.000001+00:00 h sshd[7]: Connection closed by invalid user admin 198.51.100.7 port 4000 [preauth]",
	} {
		l := p.Parse(s)
		m.Feed(&l)
	}
	if len(evs) != 1 || len(evs[0].Lines) != 2 {
		t.Fatalf("events %d, want one with its 2 lines", len(evs))
	}
	st := m.State()
	if len(st.Conns) != 0 || len(st.Ended) != 1 {
		t.Fatalf("saved %d connections and %d ended, want the ended one", len(st.Conns), len(st.Ended))
	}
	b, err := json.Marshal(st.Ended[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"host":"h","program":"sshd","pid":7,"ip":"198.51.100.7","port":4000,"end":"2026-11-23T10:00:01.000001Z"}`; string(b) != want {
		t.Errorf("saved as\n%s\nwant\n%s", b, want)
	}
	// Restored, it still takes its trailing line without a new event;
	// without the state the same line is a connection of its own.
	trailing := "2026-11-23T10:00:01.500001+00:00 h sshd[7]: Disconnected from invalid user admin 198.51.100.7 port 4000 [preauth]"
	for _, restore := range []bool{true, false} {
		var more []*Event
		m2, _ := New(rs, Options{}, func(ev *Event) { more = append(more, ev) })
		if restore {
			m2.Restore(st)
		}
		l := p.Parse(trailing)
		m2.Feed(&l)
		m2.Flush()
		if got, want := len(more), map[bool]int{true: 0, false: 1}[restore]; got != want {
			t.Errorf("restored %v: the trailing line made %d events, want %d", restore, got, want)
		}
	}
}
