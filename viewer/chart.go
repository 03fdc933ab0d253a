package viewer

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// point is one value of a chart's series at a step.
type point struct {
	Step  int
	Value float64
}

// series is one line of a chart.
type series struct {
	Name   string
	Class  string // the CSS class that colours it: s0, s1, ...
	Points []point
}

// Chart size, in SVG user units.
const (
	chartW, chartH         = 560, 200
	padL, padR, padT, padB = 56, 12, 10, 28
	maxDots                = 400 // more points are drawn as a line only
)

// drawChart draws the series as an SVG line chart, steps on the x axis. Each
// point is a <circle> with its step and exact value in data- attributes and
// a <title> (shown on hover); NaN values are left out.
func drawChart(id, title string, ss []series) template.HTML {
	var minX, maxX = math.MaxInt, math.MinInt
	minY, maxY := math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range ss {
		for _, p := range s.Points {
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				continue
			}
			n++
			minX, maxX = min(minX, p.Step), max(maxX, p.Step)
			minY, maxY = min(minY, p.Value), max(maxY, p.Value)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart" id="%s"><figcaption>%s</figcaption>`, html.EscapeString(id), html.EscapeString(title))
	if n == 0 {
		b.WriteString(`<p class="empty">no values</p></figure>`)
		return template.HTML(b.String())
	}
	if minX == maxX {
		minX, maxX = minX-1, maxX+1
	}
	if minY == maxY {
		minY, maxY = minY-0.5, maxY+0.5
	}
	x := func(step int) float64 {
		return padL + float64(step-minX)/float64(maxX-minX)*(chartW-padL-padR)
	}
	y := func(v float64) float64 {
		return padT + (maxY-v)/(maxY-minY)*(chartH-padT-padB)
	}
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, chartW, chartH, chartW, chartH, html.EscapeString(title))
	// Axes, with the range of each.
	fmt.Fprintf(&b, `<path class="axis" d="M%d %d V%d H%d"/>`, padL, padT, chartH-padB, chartW-padR)
	for _, v := range []float64{maxY, (minY + maxY) / 2, minY} {
		fmt.Fprintf(&b, `<text class="ylabel" x="%d" y="%.1f">%s</text>`, padL-4, y(v)+4, fmtNum(v))
		fmt.Fprintf(&b, `<path class="grid" d="M%d %.1f H%d"/>`, padL, y(v), chartW-padR)
	}
	fmt.Fprintf(&b, `<text class="xlabel" x="%d" y="%d">%d</text>`, padL, chartH-8, minX)
	fmt.Fprintf(&b, `<text class="xlabel end" x="%d" y="%d">step %d</text>`, chartW-padR, chartH-8, maxX)
	for _, s := range ss {
		var d strings.Builder
		dots := 0
		for _, p := range s.Points {
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				continue
			}
			if d.Len() == 0 {
				d.WriteByte('M')
			} else {
				d.WriteByte('L')
			}
			fmt.Fprintf(&d, "%.1f %.1f", x(p.Step), y(p.Value))
			dots++
		}
		fmt.Fprintf(&b, `<path class="line %s" d="%s"/>`, s.Class, d.String())
		if dots > maxDots {
			continue
		}
		for _, p := range s.Points {
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				continue
			}
			v := strconv.FormatFloat(p.Value, 'g', -1, 64)
			fmt.Fprintf(&b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="3" data-series="%s" data-step="%d" data-value="%s"><title>%s step %d: %s</title></circle>`,
				s.Class, x(p.Step), y(p.Value), html.EscapeString(s.Name), p.Step, v, html.EscapeString(s.Name), p.Step, v)
		}
	}
	b.WriteString(`</svg>`)
	if len(ss) > 1 {
		b.WriteString(`<ul class="legend">`)
		for _, s := range ss {
			fmt.Fprintf(&b, `<li class="%s">%s</li>`, s.Class, html.EscapeString(s.Name))
		}
		b.WriteString(`</ul>`)
	}
	b.WriteString(`</figure>`)
	return template.HTML(b.String())
}

// fmtNum formats a number for a label: short, and exact for small integers.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case v == 0:
		return "0"
	case a >= 1e5 || a < 1e-3:
		return strconv.FormatFloat(v, 'e', 2, 64)
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}
