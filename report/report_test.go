package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/cause"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it; review the diff):\n%s", name, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n want " + w + "\n  got " + g
		}
	}
	return ""
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonNum(n)) }

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

func build(t *testing.T, opt Options) *Report {
	t.Helper()
	f := newFixture()
	r, err := Build(context.Background(), NewMemory(f.events, f.open), opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func render(t *testing.T, r *Report, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, format); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	r := build(t, fixtureOptions(t))
	for _, tc := range []struct{ format, file string }{
		{FormatText, "day.txt"}, {FormatMarkdown, "day.md"}, {FormatJSON, "day.json"},
	} {
		golden(t, tc.file, render(t, r, tc.format))
	}
	empty := fixtureOptions(t)
	empty.Day = fixDay.AddDate(0, 0, 30)
	empty.Now = empty.Day.AddDate(0, 0, 1)
	e := build(t, empty)
	golden(t, "empty.txt", render(t, e, FormatText))
	golden(t, "empty.json", render(t, e, FormatJSON))
}

func TestTextFitsEightyColumns(t *testing.T) {
	for _, line := range strings.Split(string(render(t, build(t, fixtureOptions(t)), FormatText)), "\n") {
		if n := len([]rune(line)); n > width {
			t.Errorf("%d columns: %q", n, line)
		}
	}
}

// TestCounts checks the report's numbers against the fixture's events.
func TestCounts(t *testing.T) {
	f := newFixture()
	r := build(t, fixtureOptions(t))
	want := map[cause.Cause]int{}
	total := 0
	for _, e := range f.events {
		if !e.End.Before(fixDay) && e.End.Before(fixDay.AddDate(0, 0, 1)) {
			want[e.Cause]++
			total++
		}
	}
	if r.Total.Count != total || r.Empty {
		t.Errorf("total %d (empty %v), want %d", r.Total.Count, r.Empty, total)
	}
	for _, c := range r.Causes {
		if c.Count != want[c.Cause] {
			t.Errorf("%s: %d, want %d", c.Cause, c.Count, want[c.Cause])
		}
	}
	hours := 0
	for _, h := range r.Hourly {
		hours += h.Count
	}
	if hours != total || len(r.Hourly) != 24 {
		t.Errorf("hours add up to %d over %d hours, want %d over 24", hours, len(r.Hourly), total)
	}
	if r.Total.Previous != 7 || r.Total.Avg7 != 7 {
		t.Errorf("previous %d avg7 %v, want 7 and 7", r.Total.Previous, r.Total.Avg7)
	}
	if r.Sessions.Count != 15 || r.Sessions.MedianS == nil || *r.Sessions.MedianS != 600 || *r.Sessions.P95S != 10800 {
		t.Errorf("sessions %+v", r.Sessions)
	}
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID)
	}
	wantIDs := "host_key_changed packet_corruption idle_cut_network rate_limited spike brute_force loglevel_hides unmatched_lines"
	if strings.Join(ids, " ") != wantIDs {
		t.Errorf("findings %v\nwant %s", ids, wantIDs)
	}
	if r.NewLogins.Count != 7 || !r.NewLogins.Checked {
		t.Errorf("new logins %+v", r.NewLogins)
	}
	if len(r.PerHost) != 2 || r.Open.Count != 1 || r.Unmatched.Total != 4 {
		t.Errorf("per host %d, open %d, unmatched %d", len(r.PerHost), r.Open.Count, r.Unmatched.Total)
	}
}

// TestHostileEscaped renders the fixture, whose user names and unmatched
// lines carry terminal escapes, markup and invalid UTF-8, in every format.
func TestHostileEscaped(t *testing.T) {
	r := build(t, fixtureOptions(t))
	for _, format := range Formats {
		out := string(render(t, r, format))
		bad := []string{"\x1b", "\x07", "\u202e", "\xff"}
		if format != FormatJSON { // JSON carries the data whole, escaped
			bad = append(bad, strings.Repeat("L", 200))
		}
		if format != FormatText { // markup means nothing to a terminal
			bad = append(bad, "<script", "<img", "<b>bold")
		}
		for _, bad := range bad {
			if strings.Contains(out, bad) {
				t.Errorf("%s output contains %q unescaped", format, bad)
			}
		}
		if format == FormatJSON && !json.Valid([]byte(out)) {
			t.Errorf("JSON output is not valid JSON")
		}
	}
	text := string(render(t, r, FormatText))
	for _, want := range []string{`x\x1b[31mred`, `bidi\u202egnp.exe`, `bad\xffutf8`, "<script>alert(1)</script>"} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks the escaped form %q", want)
		}
	}
	html := string(render(t, r, FormatHTML))
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `x\x1b[31mred`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, ref := range []string{` src="`, ` href="`, "url(", "<script", "<img", "<link", "<iframe", "<object", "@import"} {
		if strings.Contains(html, ref) {
			t.Errorf("HTML holds %q: it must load and run nothing", ref)
		}
	}
	md := string(render(t, r, FormatMarkdown))
	if !strings.Contains(md, `a\|b\*c\_\[d\]\(e\)`) || !strings.Contains(md, "&lt;script&gt;") {
		t.Errorf("markdown does not escape its syntax in user names")
	}
}

func TestEmptyDaySaysSo(t *testing.T) {
	opt := fixtureOptions(t)
	opt.Day = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := build(t, opt)
	for _, format := range []string{FormatText, FormatMarkdown, FormatHTML} {
		if out := string(render(t, r, format)); !strings.Contains(out, "No SSH connection ended in this period") || !strings.Contains(out, "2025") {
			t.Errorf("%s of an empty day does not say so:\n%.400s", format, out)
		}
	}
	if !r.Empty {
		t.Error("Empty not set")
	}
}

func TestRemedy(t *testing.T) {
	f := newFixture()
	cfg := fixtureSettings(t)
	for _, e := range f.events {
		if e.Cause == cause.ConnectionLost {
			got := Remedy(e, cfg)
			if !strings.Contains(got, "the client was killed") || !strings.Contains(got, "ClientAliveInterval is 0") || !strings.Contains(got, "LogLevel is INFO") {
				t.Errorf("Remedy = %q", got)
			}
			if plain := Remedy(e, nil); plain != cause.ConnectionLost.Info().Remedy {
				t.Errorf("Remedy without settings = %q", plain)
			}
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	f := newFixture()
	if _, err := Build(context.Background(), NewMemory(f.events, nil), Options{Days: 400}); err == nil {
		t.Error("400 days accepted")
	}
	if err := Write(context.Background(), NewMemory(f.events, nil), Options{}, "pdf", &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "markdown") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestMultiDay(t *testing.T) {
	opt := fixtureOptions(t)
	opt.Day, opt.Days = fixDay.AddDate(0, 0, -1), 2
	r := build(t, opt)
	if len(r.Daily) != 2 || len(r.Hourly) != 48 || r.Daily[1].Count != 62 || r.Daily[0].Count != 7 {
		t.Fatalf("daily %+v, %d hours", r.Daily, len(r.Hourly))
	}
	sum := 0
	for _, h := range r.Hourly {
		sum += h.Count
	}
	if sum != 69 || r.Total.Count != 69 {
		t.Errorf("hours add up to %d, total %d, want 69", sum, r.Total.Count)
	}
	if text := string(render(t, r, FormatText)); !strings.Contains(text, "\nDAYS\n") || !strings.Contains(text, "2026-11-29 to 2026-11-30 (2 days)") {
		t.Errorf("multi-day text:\n%.600s", text)
	}
	render(t, r, FormatHTML)
}
