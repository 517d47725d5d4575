package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"runtime"
	"strings"
	"time"
)

// WriteHTML writes one self-contained page of the experiment's results:
// per workload a bar chart of wall times (braid, and Python beside it),
// the verdict, and a timeline of a sample of tasks under each model,
// showing when each task waited and when it ran, as the articles' figures
// of interleaved tasks do. Inline SVG and CSS only: no script, no font or
// anything else from the network.
func WriteHTML(w io.Writer, results []*ExpResult, when time.Time) error {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>braid bench: the articles' experiment</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin: 1em 0 0.2em; }
.verdict { background: #f3f7ee; border-left: 4px solid #6a3; padding: 0.5em 1em; }
.note { color: #a40; }
svg text { font-family: system-ui, sans-serif; font-size: 12px; fill: #222; }
.legend span { display: inline-block; margin-right: 1.5em; }
.sw { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin-right: 4px; }
.timelines { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 0.5em 1.5em; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 2px 8px; text-align: right; } td:first-child, th:first-child { text-align: left; }
</style></head><body>
`)
	fmt.Fprintf(&b, "<h1>braid bench: the articles' experiment</h1>\n<p>%s, %d cores (GOMAXPROCS %d), %s/%s, %s. Each figure is the median of the rounds; the whisker spans their range.</p>\n",
		html.EscapeString(when.UTC().Format("2006-01-02 15:04 UTC")), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	b.WriteString(`<p class="legend"><span><i class="sw" style="background:#3b7dd8"></i>braid</span><span><i class="sw" style="background:#e0a030"></i>Python</span>` +
		`<span>timelines: <i class="sw" style="background:#ccc"></i>queued</span><span><i class="sw" style="background:#8ec1f0"></i>waiting for the network</span><span><i class="sw" style="background:#d9534f"></i>computing</span></p>` + "\n")
	for _, r := range results {
		fmt.Fprintf(&b, "<section id=%q>\n<h2>%s</h2>\n<p>%s", r.Workload, html.EscapeString(r.Workload), html.EscapeString(r.Title))
		if r.PyTitle != "" && len(r.measured("python")) > 0 {
			fmt.Fprintf(&b, "<br>%s", html.EscapeString(r.PyTitle))
		}
		b.WriteString("</p>\n")
		barChart(&b, r)
		b.WriteString(`<div class="verdict">`)
		for _, v := range r.Verdict {
			fmt.Fprintf(&b, "<p>%s</p>", html.EscapeString(v))
		}
		b.WriteString("</div>\n")
		for _, n := range []string{r.Busy, r.PyNote} {
			if n != "" {
				fmt.Fprintf(&b, "<p class=\"note\">note: %s</p>\n", html.EscapeString(n))
			}
		}
		for _, impl := range []string{"braid", "python"} {
			if len(r.measured(impl)) == 0 {
				continue
			}
			fmt.Fprintf(&b, "<h3>A sample of tasks under each model (%s, the median round; each on its own time scale)</h3>\n<div class=\"timelines\">\n", impl)
			for _, m := range r.Models {
				if m.Impl != impl || len(m.Timeline) == 0 {
					continue
				}
				end := 0.0
				for _, t := range m.Timeline {
					for _, s := range t.Segments {
						end = math.Max(end, s.To)
					}
				}
				timeline(&b, r.Workload, m, end)
			}
			b.WriteString("</div>\n")
		}
		b.WriteString("</section>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// barChart draws one horizontal bar per model and implementation, the
// length its median wall time, a whisker over its range, and the
// speed-up as a label.
func barChart(b *strings.Builder, r *ExpResult) {
	var braid []*ModelStats
	for i := range r.Models {
		if r.Models[i].Impl == "braid" {
			braid = append(braid, &r.Models[i])
		}
	}
	hasPy := len(r.measured("python")) > 0
	maxV := 0.0
	for i := range r.Models {
		if s := r.Models[i].WallStat(); s.N > 0 {
			maxV = math.Max(maxV, s.Max)
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	const left, width, barH = 150.0, 560.0, 14.0
	per := barH + 6
	if hasPy {
		per = 2*barH + 8
	}
	height := float64(len(braid))*per + 30
	fmt.Fprintf(b, `<svg class="chart" role="img" aria-label="wall time per model, %s" width="%d" height="%.0f" viewBox="0 0 %d %.0f">`+"\n",
		html.EscapeString(r.Workload), int(left+width+190), height, int(left+width+190), height)
	y := 4.0
	bar := func(m *ModelStats, y float64, color string) {
		if m == nil {
			return
		}
		s := m.WallStat()
		if s.N == 0 {
			return
		}
		wpx := s.Median / maxV * width
		fmt.Fprintf(b, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s %s: %.3f s (%.3f-%.3f)</title></rect>`+"\n",
			left, y, math.Max(wpx, 1), barH, color, m.Impl, html.EscapeString(m.Name), s.Median, s.Min, s.Max)
		x0, x1 := left+s.Min/maxV*width, left+s.Max/maxV*width
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#222"/>`+"\n", x0, x1, y+barH/2, y+barH/2)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s s, %.2fx</text>`+"\n", math.Max(left+wpx, x1)+6, y+barH-3, fmtWall(s), r.Speedup(m).Median)
	}
	for _, m := range braid {
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+barH-3, html.EscapeString(m.Name))
		bar(m, y, "#3b7dd8")
		if hasPy {
			bar(r.Model("python", m.Name), y+barH+2, "#e0a030")
		}
		y += per
	}
	fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="#888"/>`+"\n", left, left+width, y+2, y+2)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f">0</text><text x="%.0f" y="%.0f" text-anchor="end">%.3f s</text>`+"\n", left, y+16, left+width, y+16, maxV)
	b.WriteString("</svg>\n")
}

// timeline draws the sampled tasks of one model, one row each, on a
// common time axis of end seconds.
func timeline(b *strings.Builder, workload string, m ModelStats, end float64) {
	if end <= 0 {
		end = 1
	}
	const left, width, rowH = 30.0, 260.0, 8.0
	height := float64(len(m.Timeline))*(rowH+2) + 34
	fmt.Fprintf(b, `<div><h3>%s</h3><svg class="timeline" role="img" aria-label="timeline of %s under %s (%s)" width="%d" height="%.0f" viewBox="0 0 %d %.0f">`+"\n",
		html.EscapeString(m.Name), html.EscapeString(workload), html.EscapeString(m.Name), m.Impl, int(left+width+10), height, int(left+width+10), height)
	colors := map[string]string{SegQueued: "#ccc", SegIO: "#8ec1f0", SegRun: "#d9534f"}
	y := 4.0
	for _, t := range m.Timeline {
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" text-anchor="end" style="font-size:8px">%d</text>`, left-4, y+rowH-1, t.Task)
		for _, s := range t.Segments {
			x := left + s.From/end*width
			wpx := math.Max((s.To-s.From)/end*width, 0.5)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>task %d %s %.1f-%.1f ms</title></rect>`,
				x, y, wpx, rowH, colors[s.Kind], t.Task, s.Kind, s.From*1e3, s.To*1e3)
		}
		b.WriteString("\n")
		y += rowH + 2
	}
	fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="#888"/>`, left, left+width, y+2, y+2)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f">0</text><text x="%.0f" y="%.0f" text-anchor="end">%s</text>`+"\n", left, y+16, left+width, y+16, html.EscapeString(fmtDur(end)))
	b.WriteString("</svg></div>\n")
}
