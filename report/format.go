package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/internal/escape"
)

// Formats Render writes.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
	FormatHTML     = "html"
)

// Formats lists the formats.
var Formats = []string{FormatText, FormatMarkdown, FormatJSON, FormatHTML}

// Render writes r in format.
func Render(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatText:
		return renderText(w, r)
	case FormatMarkdown:
		return renderMarkdown(w, r)
	case FormatJSON:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil { // escapes <, > and & too: safe to paste into HTML
			return err
		}
		_, err := w.Write(escapeFormatChars(b.Bytes()))
		return err
	case FormatHTML:
		return renderHTML(w, r)
	}
	return fmt.Errorf("%w: unknown format %q (formats: %s)", ErrOptions, format, strings.Join(Formats, ", "))
}

// escapeFormatChars writes the Unicode format characters (bidi overrides
// and the like, which encoding/json leaves as they are) of a JSON text as
// \u escapes: the same JSON value, but safe to print on a terminal. They
// can only occur inside strings.
func escapeFormatChars(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
		return b
	}
	var out bytes.Buffer
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case unicode.Is(unicode.Cf, r) && r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&out, "\\u%04x\\u%04x", r1, r2)
		case unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&out, "\\u%04x", r)
		default:
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.Bytes()
}

// maxValue is the most runes of one attacker-written value shown in text
// and markdown (a 10,000-character user name must not fill the page).
const maxValue = 48

// safe is s escaped for a terminal (controls, bidi overrides, invalid
// UTF-8 written as Go escapes) and cut to maxValue runes.
func safe(s string) string { return cut(escape.Terminal(s), maxValue) }

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// num writes n with thousands separators.
func num(n int) string {
	s := strconv.Itoa(abs(n))
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func avg(f float64) string {
	if f == math.Trunc(f) {
		return num(int(f))
	}
	return num(int(f)) + "." + strconv.Itoa(int(math.Round(math.Abs(f)*10))%10)
}

func changeText(p *float64) string {
	if p == nil {
		return "new"
	}
	if *p == 0 {
		return "±0%"
	}
	return fmt.Sprintf("%+.0f%%", *p)
}

// dur writes seconds for people: "42s", "5m2s", "3h4m", "2d3h".
func dur(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

func durPtr(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return dur(*p)
}

// periodTitle names the period: "2026-11-30 (Monday)" or "2026-11-01 to
// 2026-11-30 (30 days)".
func periodTitle(r *Report) string {
	first := r.Since.Format("2006-01-02")
	if r.Days == 1 {
		return first + " (" + r.Since.Weekday().String() + ")"
	}
	last := r.Until.Add(-time.Nanosecond).Format("2006-01-02")
	return fmt.Sprintf("%s to %s (%d days)", first, last, r.Days)
}

// timeText writes a time of the report in its zone, the date only when
// the period spans several days or t is outside it.
func timeText(r *Report, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.In(r.Since.Location())
	if r.Days == 1 && !t.Before(r.Since) && t.Before(r.Until) {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

// summaryLine is the report's first sentence.
func summaryLine(r *Report) string {
	if r.Empty {
		return fmt.Sprintf("No SSH connection ended in this period (%s%s).", periodTitle(r), hostsText(r))
	}
	prev := "the day before"
	if r.Days > 1 {
		prev = fmt.Sprintf("the %d days before", r.Days)
	}
	s := fmt.Sprintf("%s connection ends", num(r.Total.Count))
	if r.Total.ChangePct != nil {
		s += fmt.Sprintf(", %s on %s (%s)", changeText(r.Total.ChangePct), prev, num(r.Total.Previous))
	} else {
		s += fmt.Sprintf(", none on %s", prev)
	}
	return s + fmt.Sprintf("; the week before averaged %s a day.", avg(r.Total.Avg7))
}

func hostsText(r *Report) string {
	if len(r.Hosts) == 0 {
		return ""
	}
	hs := make([]string, len(r.Hosts))
	for i, h := range r.Hosts {
		hs[i] = safe(h)
	}
	return ", host " + strings.Join(hs, ", ")
}

// group is the colour of a cause, the unit of the charts.
type group struct {
	name, colour string // colour as #rrggbb
	causes       []cause.Cause
}

// groups are the causes by their colour in causes.yaml.
func groups() []group {
	defs := []group{
		{name: "refused (red)", colour: "#c0392b"},
		{name: "network, timeouts (yellow)", colour: "#e0a800"},
		{name: "normal (green)", colour: "#2e8b57"},
		{name: "bots, scanners, incompatible (magenta)", colour: "#9b59b6"},
		{name: "other", colour: "#7f8c8d"},
	}
	idx := map[string]int{"red": 0, "yellow": 1, "green": 2, "magenta": 3, "none": 4}
	for _, c := range cause.All() {
		i, ok := idx[c.Info().Colour]
		if !ok {
			i = 4
		}
		defs[i].causes = append(defs[i].causes, c)
	}
	return defs
}

func sumCauses(by map[cause.Cause]int, cs []cause.Cause) int {
	n := 0
	for _, c := range cs {
		n += by[c]
	}
	return n
}

func sortBuckets(bs []Bucket) {
	slices.SortStableFunc(bs, func(x, y Bucket) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Value, y.Value))
	})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
