package classify

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
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
		got = append(got, m2.OpenEvents()...)
		if g, w := summary(got), summary(want); !slices.Equal(g, w) {
			t.Fatalf("cut at %d: events differ\n got %q\nwant %q", cut, g, w)
		}
		if m2.Stats().Events != int64(len(want)-len(m2.OpenEvents())) {
			t.Fatalf("cut at %d: stats say %d events, want %d", cut, m2.Stats().Events, len(want))
		}
	}
}
