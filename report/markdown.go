package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/sshwhy/sshwhy/internal/escape"
)

// md makes s safe as markdown text: terminal controls escaped, markdown's
// punctuation backslash-escaped, HTML's special characters as entities
// (markdown renderers pass HTML through).
func md(s string) string {
	s = escape.Terminal(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '`', '*', '_', '[', ']', '|', '#', '~', '!', '(', ')', '{', '}', '+', '-', '.', '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdv is an attacker-written value in markdown: escaped and cut.
func mdv(s string) string { return md(cut(s, maxValue)) }

func mdBuckets(bs []Bucket) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%s (%s)", mdv(b.Value), num(b.Count))
	}
	return strings.Join(parts, ", ")
}

func renderMarkdown(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	var err error
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(bw, format+"\n", args...)
		}
	}
	p("# SSH connection report, %s, %s", md(periodTitle(r)), md(r.Zone))
	p("")
	p("Source: %s%s; made %s.", md(r.Source), md(hostsText(r)), r.Generated.In(r.Since.Location()).Format("2006-01-02 15:04"))
	if r.Partial {
		p("The period is not over: the numbers are so far.")
	}
	p("")
	p("%s", md(summaryLine(r)))
	p("")
	p("## Findings")
	p("")
	if len(r.Findings) == 0 {
		p("Nothing stands out.")
	}
	for i, f := range r.Findings {
		p("%d. **%s**", i+1, md(f.Title))
		for _, e := range f.Evidence {
			p("   - %s", md(e))
		}
		p("")
		p("   *Do:* %s", md(f.Remedy))
		if len(f.Networks) > 0 {
			p("")
			p("   Networks: %s", md(strings.Join(f.Networks, " ")))
		}
		if len(f.IPs) > 0 {
			p("")
			p("   ```")
			for _, ip := range f.IPs[:min(len(f.IPs), maxShownIPs)] {
				p("   %s", ip) // parsed addresses: safe in a code block
			}
			p("   ```")
			if len(f.IPs) > maxShownIPs {
				p("")
				p("   %s", md(fmt.Sprintf("... and %d more (all of them: --format json or html)", len(f.IPs)-maxShownIPs)))
			}
		}
		if f.Example != nil {
			p("")
			p("   Example: %s", md(eventText(r, f.Example)))
		}
		p("")
	}
	if !r.Empty {
		p("## Connection ends by cause")
		p("")
		prev := "previous day"
		if r.Days > 1 {
			prev = fmt.Sprintf("previous %d days", r.Days)
		}
		p("| cause | count | %s | change | 7-day average |", prev)
		p("|---|---:|---:|---:|---:|")
		for _, c := range r.Causes {
			p("| %s | %s | %s | %s | %s |", md(string(c.Cause)), num(c.Count), num(c.Previous), md(changeText(c.ChangePct)), avg(c.Avg7))
		}
		p("| **total** | **%s** | %s | %s | %s |", num(r.Total.Count), num(r.Total.Previous), md(changeText(r.Total.ChangePct)), avg(r.Total.Avg7))
		p("")
		if r.Days == 1 {
			p("## Hours (%s)", md(r.Zone))
			p("")
			p("| hour | ends | top causes |")
			p("|---|---:|---|")
			for _, h := range r.Hourly {
				p("| %s | %s | %s |", h.Start.Format("15:00"), num(h.Count), md(byCauseText(h.ByCause, 3)))
			}
		} else {
			p("## Days")
			p("")
			p("| day | ends | top causes |")
			p("|---|---:|---|")
			for _, d := range r.Daily {
				p("| %s | %s | %s |", d.Day, num(d.Count), md(byCauseText(d.ByCause, 3)))
			}
		}
		p("")
		p("## Sessions")
		p("")
		s := r.Sessions
		if s.Count == 0 {
			p("No authenticated session ended in this period.")
		} else {
			p("%s sessions ended: %s. Duration median %s, p95 %s.", num(s.Count), md(byCauseText(s.ByCause, 6)), durPtr(s.MedianS), durPtr(s.P95S))
			p("")
			for _, e := range s.Longest {
				p("- longest: %s", md(eventText(r, &e)))
			}
		}
		p("")
		p("## Logins from new addresses")
		p("")
		n := r.NewLogins
		switch {
		case r.Sessions.Count == 0:
			p("No login in this period.")
		case n.Count == 0:
			p("Every address that logged in had logged in before.")
		default:
			msg := fmt.Sprintf("%s address(es) logged in that never had before", num(n.Count))
			if !n.Checked {
				msg += " (the source holds nothing older than this period, so every address is new)"
			}
			p("%s.", md(msg))
			p("")
			p("| address | sessions | users | hosts | first |")
			p("|---|---:|---|---|---|")
			for _, l := range n.Logins {
				p("| %s | %s | %s | %s | %s |", mdv(l.IP), num(l.Sessions), mdList(l.Users), mdList(l.Hosts), timeText(r, l.First))
			}
		}
		p("")
		p("## Still open")
		p("")
		switch o := r.Open; {
		case !o.Available:
			p("Not known for this source.")
		case o.Count == 0:
			p("No connection was open.")
		default:
			p("%s connection(s) open, the oldest first:", num(o.Count))
			p("")
			for _, e := range o.Sessions {
				p("- since %s: %s from %s on %s", timeText(r, e.Start), mdv(e.User), mdv(e.SrcIP), mdv(e.Host))
			}
		}
		p("")
		if len(r.PerHost) > 1 {
			p("## Per host")
			p("")
			p("| host | ends | top causes |")
			p("|---|---:|---|")
			for _, h := range r.PerHost {
				p("| %s | %s | %s |", mdv(h.Host), num(h.Count), md(byCauseText(h.ByCause, 4)))
			}
			p("")
		}
		p("## Sources per cause")
		for _, c := range r.Causes {
			if c.Count == 0 {
				continue
			}
			p("")
			p("### %s (%s)", md(string(c.Cause)), num(c.Count))
			p("")
			p("%s.", md(c.Summary))
			p("")
			if len(c.Networks) > 0 {
				p("- networks: %s", mdBuckets(c.Networks))
			}
			if len(c.IPs) > 0 {
				p("- addresses: %s; %s distinct", mdBuckets(c.IPs), num(c.Sources))
			}
			if len(c.Users) > 0 {
				p("- users: %s; no user %s", mdBuckets(c.Users), num(c.NoUser))
			}
			if len(r.PerHost) > 1 && len(c.Hosts) > 0 {
				p("- hosts: %s", mdBuckets(c.Hosts))
			}
			p("- remedy: %s", md(c.Remedy))
			if c.Advice != "" {
				p("- on this server: %s", md(c.Advice))
			}
		}
		p("")
	}
	p("## sshd lines no rule knows")
	p("")
	switch u := r.Unmatched; {
	case !u.Recorded:
		p("Not recorded for this period.")
	case u.Total == 0:
		p("None: every sshd line was understood.")
	default:
		p("%s line(s) of %d shape(s).", num(u.Total), len(u.Shapes))
		p("")
		p("| count | program | shape | sample |")
		p("|---:|---|---|---|")
		for _, s := range u.Shapes {
			sample := ""
			if len(s.Samples) > 0 {
				sample = md(cut(s.Samples[0].Line, 4*maxValue))
			}
			p("| %s | %s | %s | %s |", num(s.Count), mdv(s.Program), md(cut(s.Shape, 3*maxValue)), sample)
		}
	}
	if s := r.Server; s != nil {
		p("")
		head := "## Server settings (" + s.From
		if s.Version != "" {
			head += ", OpenSSH " + s.Version
		}
		p("%s)", md(head))
		p("")
		for _, k := range sortedKeys(s.Settings) {
			d := ""
			if contains(s.Defaults, k) {
				d = " (default)"
			}
			p("- %s %s%s", md(k), md(s.Settings[k]), d)
		}
		if len(s.Matches) > 0 {
			p("- Match blocks (not applied above): %s", md(strings.Join(s.Matches, "; ")))
		}
		for _, n := range s.Notes {
			p("- note: %s", md(n))
		}
	}
	if len(r.Notes) > 0 {
		p("")
		p("## Notes")
		p("")
		for _, n := range r.Notes {
			p("- %s", md(n))
		}
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func mdList(vs []string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = mdv(v)
	}
	return strings.Join(out, ", ")
}
