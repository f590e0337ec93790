package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/internal/escape"
)

//go:embed html.tmpl
var htmlSource string

// htmlPage is parsed once; html/template escapes every value for its
// context (text, attribute), after the functions below have escaped
// terminal controls and cut attacker-written values.
var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"period":  periodTitle,
	"summary": summaryLine,
	"hosts":   hostsText,
	"made":    func(r *Report) string { return r.Generated.In(r.Since.Location()).Format("2006-01-02 15:04") },
	"num":     num,
	"avg":     avg,
	"change":  changeText,
	"dur":     durPtr,
	"inc":     func(i int) int { return i + 1 },
	"join":    func(s []string, sep string) string { return escape.Terminal(strings.Join(s, sep)) },
	"term":    escape.Terminal,
	"lines": func(s []string) string {
		out := make([]string, len(s))
		for i, v := range s {
			out[i] = escape.Terminal(v)
		}
		return strings.Join(out, "\n")
	},
	"v":    safe,
	"long": func(s string) string { return cut(escape.Terminal(s), 4*maxValue) },
	"list": func(vs []string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = safe(v)
		}
		return strings.Join(out, ", ")
	},
	"buckets": bucketsText,
	"byCause": func(by map[cause.Cause]int) string { return byCauseText(by, 6) },
	"event":   func(r *Report, e *EventRef) string { return eventText(r, e) },
	"when":    func(r *Report, t time.Time) string { return timeText(r, t) },
	"colour": func(c cause.Cause) template.CSS {
		for _, g := range groups() {
			for _, x := range g.causes {
				if x == c {
					return template.CSS(g.colour) // from our table, "#rrggbb"
				}
			}
		}
		return "#7f8c8d"
	},
	"groups": func() []struct{ Name, Colour template.CSS } {
		var out []struct{ Name, Colour template.CSS }
		for _, g := range groups() {
			out = append(out, struct{ Name, Colour template.CSS }{template.CSS(g.name), template.CSS(g.colour)})
		}
		return out
	},
	"weightClass": func(w int) string {
		switch {
		case w >= 90:
			return "w90"
		case w >= 70:
			return "w70"
		case w >= 50:
			return "w50"
		}
		return "w0"
	},
	"prevLabel": func(r *Report) string {
		if r.Days > 1 {
			return fmt.Sprintf("previous %d days", r.Days)
		}
		return "previous day"
	},
	"isDefault": func(string) bool { return false }, // bound per report in renderHTML
	"chart":     func(*Report) template.HTML { return "" },
}).Parse(htmlSource))

func renderHTML(w io.Writer, r *Report) error {
	svg, err := chartSVG(r)
	if err != nil {
		return fmt.Errorf("report: chart: %w", err)
	}
	t, err := htmlPage.Clone()
	if err != nil {
		return err
	}
	t.Funcs(template.FuncMap{
		// The chart is built by gonum/plot from our numbers and labels
		// (hours, days, cause groups): no event text reaches it.
		"chart": func(*Report) template.HTML { return template.HTML(svg) },
		"isDefault": func(k string) bool {
			return r.Server != nil && contains(r.Server.Defaults, k)
		},
	})
	var b bytes.Buffer
	if err := t.Execute(&b, r); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}
