package report

import (
	"bytes"
	"fmt"
	"image/color"
	"regexp"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// chartSVG draws the hours of a one-day report (the days of a longer one)
// as bars stacked by cause colour, with gonum/plot's SVG backend. The
// result is an <svg> element for inline use: no XML prolog, no external
// reference (fonts are named, not loaded; there are no images).
func chartSVG(r *Report) ([]byte, error) {
	var labels []string
	var by []func(g group) float64
	if r.Days == 1 {
		for _, h := range r.Hourly {
			h := h
			labels = append(labels, h.Start.Format("15"))
			by = append(by, func(g group) float64 { return float64(sumCauses(h.ByCause, g.causes)) })
		}
	} else {
		for _, d := range r.Daily {
			d := d
			labels = append(labels, d.Day[5:])
			by = append(by, func(g group) float64 { return float64(sumCauses(d.ByCause, g.causes)) })
		}
	}
	p := plot.New()
	p.Title.Text = "Connection ends per hour (" + r.Zone + ")"
	if r.Days > 1 {
		p.Title.Text = "Connection ends per day"
	}
	p.Y.Label.Text = "ends"
	p.Y.Min = 0
	barWidth := vg.Points(360 / float64(max(len(labels), 1)))
	var below *plotter.BarChart
	for _, g := range groups() {
		vals := make(plotter.Values, len(by))
		total := 0.0
		for i, f := range by {
			vals[i] = f(g)
			total += vals[i]
		}
		if total == 0 {
			continue
		}
		bc, err := plotter.NewBarChart(vals, barWidth)
		if err != nil {
			return nil, err
		}
		bc.Color = hexColour(g.colour)
		bc.LineStyle.Width = 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc) // the legend is the page's, below the chart
	}
	if below == nil {
		p.Y.Max = 1
	}
	step := 1
	if len(labels) > 16 {
		step = (len(labels) + 11) / 12
	}
	shown := make([]string, len(labels))
	for i := range labels {
		if i%step == 0 {
			shown[i] = labels[i]
		}
	}
	p.NominalX(shown...)
	p.Add(plotter.NewGrid())
	wt, err := p.WriterTo(18*vg.Centimeter, 7*vg.Centimeter, "svg")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return inlineSVG(b.Bytes()), nil
}

var (
	xmlProlog = regexp.MustCompile(`(?s)^<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)
	svgSize   = regexp.MustCompile(`<svg width="([0-9.]+)pt" height="([0-9.]+)pt"`)
)

// inlineSVG makes gonum's SVG document an element that scales with the
// page.
func inlineSVG(b []byte) []byte {
	b = xmlProlog.ReplaceAll(b, nil)
	return svgSize.ReplaceAll(b, []byte(`<svg role="img" aria-label="chart" style="max-width:100%;height:auto" width="${1}pt" height="${2}pt"`))
}

func hexColour(s string) color.Color {
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		panic(fmt.Sprintf("report: colour %q", s))
	}
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}
