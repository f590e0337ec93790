package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/internal/escape"
)

// width is the text report's line length: it goes out by mail.
const width = 80

// textWriter writes the text report; the first write error sticks.
type textWriter struct {
	w   *bufio.Writer
	err error
}

func (t *textWriter) line(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format+"\n", args...)
	}
}

// wrap writes text in lines of at most width runes, the first starting
// with first and the rest with rest. Words longer than a line are cut.
func (t *textWriter) wrap(first, rest, text string) {
	prefix := first
	line := ""
	flush := func() {
		t.line("%s", strings.TrimRight(prefix+line, " "))
		prefix, line = rest, ""
	}
	for _, word := range strings.Fields(text) {
		room := width - utf8.RuneCountInString(prefix)
		for utf8.RuneCountInString(word) > room {
			if line != "" {
				flush()
				room = width - utf8.RuneCountInString(prefix)
			}
			r := []rune(word)
			line = string(r[:room])
			flush()
			word = string(r[room:])
			room = width - utf8.RuneCountInString(prefix)
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(prefix+line)+1+utf8.RuneCountInString(word) > width:
			flush()
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" || prefix == first {
		flush()
	}
}

func (t *textWriter) heading(s string) {
	t.line("")
	t.line("%s", s)
	t.line("%s", strings.Repeat("-", utf8.RuneCountInString(s)))
}

func renderText(w io.Writer, r *Report) error {
	t := &textWriter{w: bufio.NewWriter(w)}
	title := "SSH connection report, " + periodTitle(r) + ", " + r.Zone
	t.wrap("", "  ", title)
	t.wrap("", "  ", "Source: "+escape.Terminal(r.Source)+hostsText(r)+"; made "+r.Generated.In(r.Since.Location()).Format("2006-01-02 15:04"))
	if r.Partial {
		t.line("The period is not over: the numbers are so far.")
	}
	t.line("")
	t.wrap("", "", summaryLine(r))

	t.heading("FINDINGS")
	if len(r.Findings) == 0 {
		t.line("Nothing stands out.")
	}
	for i, f := range r.Findings {
		t.wrap(fmt.Sprintf("%2d. ", i+1), "    ", escape.Terminal(f.Title))
		for _, e := range f.Evidence {
			t.wrap("    - ", "      ", escape.Terminal(e))
		}
		t.wrap("    Do: ", "        ", escape.Terminal(f.Remedy))
		if len(f.Networks) > 0 {
			t.wrap("    networks: ", "      ", strings.Join(f.Networks, " "))
		}
		if len(f.IPs) > 0 {
			t.wrap("    ips: ", "      ", ipsText(f.IPs))
		}
		if e := f.Example; e != nil {
			t.wrap("    e.g. ", "      ", eventText(r, e))
		}
	}
	if r.Empty {
		t.line("")
		t.line("No connection ended in this period, so there is nothing more to show.")
		textUnmatched(t, r)
		textServer(t, r)
		textNotes(t, r)
		return t.flush()
	}

	t.heading("CONNECTION ENDS BY CAUSE")
	prev := "prev day"
	if r.Days > 1 {
		prev = fmt.Sprintf("prev %dd", r.Days)
	}
	t.line("  %-22s %9s %9s %7s %9s", "cause", "count", prev, "change", "7d avg")
	for _, c := range r.Causes {
		t.line("  %-22s %9s %9s %7s %9s", c.Cause, num(c.Count), num(c.Previous), changeText(c.ChangePct), avg(c.Avg7))
	}
	t.line("  %-22s %9s %9s %7s %9s", "total", num(r.Total.Count), num(r.Total.Previous), changeText(r.Total.ChangePct), avg(r.Total.Avg7))

	textChart(t, r)
	textSessions(t, r)
	textNewLogins(t, r)
	textOpen(t, r)
	if len(r.PerHost) > 1 {
		t.heading("PER HOST")
		for _, h := range r.PerHost {
			t.wrap(fmt.Sprintf("  %-20s %7s  ", safe(h.Host), num(h.Count)), strings.Repeat(" ", 32), byCauseText(h.ByCause, 4))
		}
	}
	t.heading("SOURCES PER CAUSE")
	for _, c := range r.Causes {
		if c.Count == 0 {
			continue
		}
		t.line("")
		t.wrap("", "  ", fmt.Sprintf("%s: %s, %s", c.Cause, num(c.Count), c.Summary))
		if len(c.Networks) > 0 {
			t.wrap("  networks  ", "            ", bucketsText(c.Networks))
		}
		if len(c.IPs) > 0 {
			t.wrap("  addresses ", "            ", bucketsText(c.IPs)+fmt.Sprintf("; %s distinct", num(c.Sources)))
		}
		if len(c.Users) > 0 {
			u := bucketsText(c.Users)
			if c.NoUser > 0 {
				u += fmt.Sprintf("; no user %s", num(c.NoUser))
			}
			t.wrap("  users     ", "            ", u)
		}
		if len(r.PerHost) > 1 && len(c.Hosts) > 0 {
			t.wrap("  hosts     ", "            ", bucketsText(c.Hosts))
		}
		t.wrap("  remedy    ", "            ", c.Remedy)
		if c.Advice != "" {
			t.wrap("  here      ", "            ", escape.Terminal(c.Advice))
		}
	}
	textUnmatched(t, r)
	textServer(t, r)
	textNotes(t, r)
	return t.flush()
}

func (t *textWriter) flush() error {
	if t.err != nil {
		return t.err
	}
	return t.w.Flush()
}

func bucketsText(bs []Bucket) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%s (%s)", safe(b.Value), num(b.Count))
	}
	return strings.Join(parts, ", ")
}

// byCauseText lists the n largest causes of a count map.
func byCauseText(by map[cause.Cause]int, n int) string {
	var bs []Bucket
	for _, c := range cause.All() {
		if k := by[c]; k > 0 {
			bs = append(bs, Bucket{string(c), k})
		}
	}
	sortBuckets(bs)
	var parts []string
	for i, b := range bs {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(bs)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s", b.Value, num(b.Count)))
	}
	return strings.Join(parts, ", ")
}

func eventText(r *Report, e *EventRef) string {
	s := fmt.Sprintf("%s %s", timeText(r, e.End), e.Cause)
	if e.User != "" {
		s += " " + safe(e.User)
	}
	if e.SrcIP != "" {
		s += " from " + safe(e.SrcIP)
	}
	if e.Host != "" {
		s += " on " + safe(e.Host)
	}
	return s + fmt.Sprintf(" after %s (id %s)", dur(e.DurationS), safe(e.ID))
}

// textChart draws the hours of a one-day report, or the days of a longer
// one, as bars stacked by cause colour: R refused, Y network/timeouts,
// G normal, M bots/scanners, . other.
func textChart(t *textWriter, r *Report) {
	type bar struct {
		label string
		by    map[cause.Cause]int
		n     int
	}
	var bars []bar
	if r.Days == 1 {
		t.heading("HOURS (" + r.Zone + ")")
		for _, h := range r.Hourly {
			bars = append(bars, bar{h.Start.Format("15"), h.ByCause, h.Count})
		}
	} else {
		t.heading("DAYS")
		for _, d := range r.Daily {
			bars = append(bars, bar{d.Day[5:], d.ByCause, d.Count})
		}
	}
	most := 1
	for _, b := range bars {
		most = max(most, b.n)
	}
	const room = 60
	letters := []string{"R", "Y", "G", "M", "."}
	gs := groups()
	for _, b := range bars {
		var s strings.Builder
		used := 0
		for i, g := range gs {
			k := sumCauses(b.by, g.causes)
			cells := k * room / most
			if k > 0 && cells == 0 {
				cells = 1
			}
			cells = min(cells, room-used)
			s.WriteString(strings.Repeat(letters[i], cells))
			used += cells
		}
		t.line("  %-5s %-*s %s", b.label, room, s.String(), num(b.n))
	}
	t.line("  R refused  Y network, timeouts  G normal  M bots, scanners  . other")
}

func textSessions(t *textWriter, r *Report) {
	s := r.Sessions
	t.heading("SESSIONS (connections that authenticated)")
	if s.Count == 0 {
		t.line("No authenticated session ended in this period.")
		return
	}
	t.wrap("", "  ", fmt.Sprintf("%s ended: %s. Duration median %s, p95 %s.", num(s.Count), byCauseText(s.ByCause, 6), durPtr(s.MedianS), durPtr(s.P95S)))
	for i, e := range s.Longest {
		label := "  longest "
		if i > 0 {
			label = "          "
		}
		t.wrap(label, "            ", eventText(r, &e))
	}
}

func textNewLogins(t *textWriter, r *Report) {
	n := r.NewLogins
	t.heading("LOGINS FROM NEW ADDRESSES")
	switch {
	case len(n.Logins) == 0 && r.Sessions.Count == 0:
		t.line("No login in this period.")
		return
	case n.Count == 0:
		t.line("Every address that logged in had logged in before.")
		return
	}
	msg := fmt.Sprintf("%s address(es) logged in that never had before", num(n.Count))
	if !n.Checked {
		msg += " (the source holds nothing older than this period, so every address is new)"
	}
	t.wrap("", "  ", msg+":")
	for _, l := range n.Logins {
		users := make([]string, len(l.Users))
		for i, u := range l.Users {
			users[i] = safe(u)
		}
		hosts := make([]string, len(l.Hosts))
		for i, h := range l.Hosts {
			hosts[i] = safe(h)
		}
		t.wrap(fmt.Sprintf("  %-18s ", safe(l.IP)), strings.Repeat(" ", 21),
			fmt.Sprintf("%s session(s), user %s, host %s, first %s", num(l.Sessions), strings.Join(users, ", "), strings.Join(hosts, ", "), timeText(r, l.First)))
	}
}

func textOpen(t *textWriter, r *Report) {
	o := r.Open
	t.heading("STILL OPEN")
	switch {
	case !o.Available:
		t.line("Not known for this source.")
		return
	case o.Count == 0:
		t.line("No connection was open.")
		return
	}
	t.line("%s connection(s) open, the oldest first:", num(o.Count))
	for _, e := range o.Sessions {
		s := fmt.Sprintf("since %s", timeText(r, e.Start))
		if e.User != "" {
			s += " " + safe(e.User)
		}
		if e.SrcIP != "" {
			s += " from " + safe(e.SrcIP)
		}
		if e.Host != "" {
			s += " on " + safe(e.Host)
		}
		t.wrap("  ", "    ", s)
	}
}

func textUnmatched(t *textWriter, r *Report) {
	u := r.Unmatched
	t.heading("SSHD LINES NO RULE KNOWS")
	switch {
	case !u.Recorded:
		t.line("Not recorded for this period.")
		return
	case u.Total == 0:
		t.line("None: every sshd line was understood.")
		return
	}
	t.line("%s line(s) of %d shape(s):", num(u.Total), len(u.Shapes))
	for _, s := range u.Shapes {
		t.wrap(fmt.Sprintf("  %7s  ", num(s.Count)), "           ", safe(s.Program)+": "+cut(escape.Terminal(s.Shape), 3*maxValue))
		for _, smp := range s.Samples {
			t.wrap("           e.g. ", "                ", cut(escape.Terminal(smp.Line), 4*maxValue))
		}
	}
}

func textServer(t *textWriter, r *Report) {
	s := r.Server
	if s == nil {
		return
	}
	head := "SERVER SETTINGS (" + s.From
	if s.Version != "" {
		head += ", OpenSSH " + s.Version
	}
	t.heading(head + ")")
	if len(s.Files) > 0 {
		t.wrap("  files: ", "    ", escape.Terminal(strings.Join(s.Files, ", ")))
	}
	var parts []string
	for _, k := range sortedKeys(s.Settings) {
		v := k + " " + escape.Terminal(s.Settings[k])
		if contains(s.Defaults, k) {
			v += " (default)"
		}
		parts = append(parts, v)
	}
	t.wrap("  ", "  ", strings.Join(parts, "; "))
	if len(s.Matches) > 0 {
		t.wrap("  Match blocks (not applied above): ", "    ", escape.Terminal(strings.Join(s.Matches, "; ")))
	}
	for _, n := range s.Notes {
		t.wrap("  note: ", "    ", escape.Terminal(n))
	}
}

func textNotes(t *textWriter, r *Report) {
	if len(r.Notes) == 0 {
		return
	}
	t.heading("NOTES")
	for _, n := range r.Notes {
		t.wrap("  - ", "    ", escape.Terminal(n))
	}
}

// maxShownIPs is the most addresses of a finding the text and markdown
// forms show; the JSON and HTML forms hold the whole list (up to
// maxBlockIPs).
const maxShownIPs = 30

func ipsText(ips []string) string {
	if len(ips) <= maxShownIPs {
		return strings.Join(ips, " ")
	}
	return strings.Join(ips[:maxShownIPs], " ") + fmt.Sprintf(" ... and %d more (all of them: --format json or html)", len(ips)-maxShownIPs)
}
