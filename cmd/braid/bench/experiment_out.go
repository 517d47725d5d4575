package bench

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxWidth is the width that the default output fits.
const MaxWidth = 100

// thousands formats n with commas: 150,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtDur formats seconds for a sentence: 12 ms, 1.4 s.
func fmtDur(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1e3)
	}
	return fmt.Sprintf("%.1f s", s)
}

// fmtX formats a speed-up: 1.93x, 45x.
func fmtX(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0fx", v)
	}
	return fmt.Sprintf("%.1fx", v)
}

// fmtPct formats how much slower a ratio > 1 is: 12%, or 3.4x past 2.
func fmtPct(r float64) string {
	if r >= 2 {
		return fmtX(r)
	}
	return fmt.Sprintf("%.0f%%", (r-1)*100)
}

// measured returns the models of impl that have at least one round.
func (r *ExpResult) measured(impl string) []*ModelStats {
	var out []*ModelStats
	for i := range r.Models {
		m := &r.Models[i]
		if m.Impl == impl && m.WallStat().N > 0 {
			out = append(out, m)
		}
	}
	return out
}

// ranked returns the measured models of impl, fastest first.
func (r *ExpResult) ranked(impl string) []*ModelStats {
	ms := r.measured(impl)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].WallStat().Median < ms[j].WallStat().Median })
	return ms
}

// clearGain reports whether a speed-up is a gain beyond the noise: above
// 1 in every round, and by at least 20% in the median.
func clearGain(s Stat) bool { return s.N > 0 && s.Min > 1 && s.Median >= 1.2 }

// clearlyFaster reports whether a beat b in every round both ran: the
// spread of the paired ratios does not reach 1.
func clearlyFaster(a, b *ModelStats) bool {
	r := ratio(b.Wall, a.Wall)
	return r.N > 0 && r.Min > 1
}

func (r *ExpResult) byKind(impl, kind string, size int) *ModelStats {
	for _, m := range r.measured(impl) {
		if m.Kind == kind && (size == 0 || m.Size == size) {
			return m
		}
	}
	return nil
}

// verdict writes the workload's conclusion in the articles' terms: which
// model, by how much, and why. A difference inside the spread of the
// rounds is called no difference.
func verdict(r *ExpResult, p ExpParams) []string {
	ranked := r.ranked("braid")
	if len(ranked) == 0 {
		return []string{fmt.Sprintf("verdict (%s): nothing was measured", r.Workload)}
	}
	best := ranked[0]
	first := fmt.Sprintf("verdict (%s): %s is fastest, %s over sequential", r.Workload, best.Name, fmtX(r.Speedup(best).Median))
	noGain := false
	if best.Kind == "sequential" {
		first = fmt.Sprintf("verdict (%s): no model beats sequential here", r.Workload)
	} else if s := r.Speedup(best); !clearGain(s) {
		// The fastest median is inside the noise of sequential: naming it
		// the winner would be reading the noise.
		noGain = true
		first = fmt.Sprintf("verdict (%s): no model is clearly faster than sequential on this machine (the best median, %s, is %s, %.2f-%.2fx by round)",
			r.Workload, best.Name, fmtX(s.Median), s.Min, s.Max)
	}
	if len(ranked) > 1 && !noGain {
		next := ranked[1]
		if clearlyFaster(best, next) {
			first += fmt.Sprintf(", %s ahead of %s", fmtPct(ratio(next.Wall, best.Wall).Median), next.Name)
		} else {
			first += fmt.Sprintf("; no clear difference on this machine from %s (%.1fx)", next.Name, r.Speedup(next).Median)
		}
	}
	out := []string{first + "."}
	sp := func(m *ModelStats) float64 { return r.Speedup(m).Median }
	ncpu := runtime.GOMAXPROCS(0)
	start := statOf(r.PoolStart["braid"]).Median
	loop := r.byKind("braid", "loop", 0)
	small := r.byKind("braid", "threads", p.SmallPool)
	big := r.byKind("braid", "threads", p.BigPool)
	procs := r.byKind("braid", "processes", 0)
	hybrid := r.byKind("braid", "hybrid", 0)
	seq := r.byKind("braid", "sequential", 0)
	switch r.Workload {
	case ExpCPU:
		if loop != nil {
			if s := r.Speedup(loop); !clearGain(s) {
				out = append(out, fmt.Sprintf("The loop gains nothing on CPU work: one thread (%.2fx).", s.Median))
			} else {
				out = append(out, fmt.Sprintf("The loop gained %.2fx on CPU work, more than one thread should: a noisy run.", s.Median))
			}
		}
		if small != nil {
			if s := r.Speedup(small); clearGain(s) {
				out = append(out, fmt.Sprintf("Go threads scale on CPU work: no GIL (%s: %.1fx on %d cores).", small.Name, s.Median, ncpu))
			} else if r.Busy != "" {
				out = append(out, fmt.Sprintf("%s gained no clear speed-up here (%.2fx, %.2f-%.2f by round): the cores were busy with other work.",
					small.Name, s.Median, s.Min, s.Max))
			} else {
				out = append(out, fmt.Sprintf("%s gained no clear speed-up here (%.2fx, %.2f-%.2f by round).", small.Name, s.Median, s.Min, s.Max))
			}
		}
		if procs != nil && small != nil && seq != nil {
			work := seq.WallStat().Median
			if clearlyFaster(small, procs) {
				out = append(out, fmt.Sprintf("Processes cost %s to start and copy every task and result, so for %s of work they lose to threads by %s.",
					fmtDur(start), fmtDur(work), fmtPct(ratio(procs.Wall, small.Wall).Median)))
			} else {
				out = append(out, fmt.Sprintf("Processes match threads here: their %s start is small beside %s of work.", fmtDur(start), fmtDur(work)))
			}
		}
	case ExpIO:
		if loop != nil {
			out = append(out, fmt.Sprintf("Waiting overlaps: the loop waits on all %d GETs at once in one thread (%s, %s CPU).",
				p.Fetches, fmtX(sp(loop)), fmtDur(loop.CPUStat().Median)))
		}
		if small != nil && big != nil {
			out = append(out, fmt.Sprintf("Threads wait as many at a time as there are threads: %s %s, %s %s.", small.Name, fmtX(sp(small)), big.Name, fmtX(sp(big))))
		}
		if procs != nil {
			out = append(out, fmt.Sprintf("Processes cost %s to start and wait %d at a time, so for I/O they lose (%.1fx).", fmtDur(start), procs.Size, sp(procs)))
		}
	case ExpMixed:
		if loop != nil {
			out = append(out, fmt.Sprintf("The loop alone fetches together but parses one page at a time on its one thread (%.1fx).", sp(loop)))
		}
		if hybrid != nil {
			out = append(out, fmt.Sprintf("The articles' hybrid fetches on the loop and parses in %d processes (%.1fx; the pool's start: %s).",
				hybrid.Size, sp(hybrid), fmtDur(start)))
		}
		if big != nil {
			out = append(out, fmt.Sprintf("Go threads do both at once, fetching and parsing on every core (%s: %.1fx).", big.Name, sp(big)))
		}
	}
	if py := r.ranked("python"); len(py) > 0 {
		pb := py[0]
		line := fmt.Sprintf("Python: %s is fastest, %s over its sequential", pb.Name, fmtX(r.Speedup(pb).Median))
		if pb.Kind == "sequential" {
			line = "Python: no model beats its sequential here"
		}
		if len(py) > 1 && !clearlyFaster(pb, py[1]) {
			line += fmt.Sprintf(" (no clear difference from %s)", py[1].Name)
		}
		line += "."
		pySmall := r.byKind("python", "threads", p.SmallPool)
		switch {
		case r.Workload == ExpCPU && pySmall != nil && small != nil && !clearGain(r.Speedup(pySmall)) && !clearGain(r.Speedup(small)):
			line += fmt.Sprintf(" Neither its threads (%.2fx) nor Go's (%.2fx) gained here: the cores were taken by other work.", sp(pySmall), sp(small))
		case r.Workload == ExpCPU && pySmall != nil && small != nil && !clearGain(r.Speedup(pySmall)):
			line += fmt.Sprintf(" Its threads gain nothing on CPU work (%s: %.2fx, the GIL) where Go's give %.1fx:"+
				" in Go, threads do the CPU work that Python needs processes for.", pySmall.Name, sp(pySmall), sp(small))
		case r.Workload == ExpCPU && pySmall != nil && small != nil:
			line += fmt.Sprintf(" Its threads gained %.2fx on CPU work (%s), against Go's %.1fx: more than a GIL allows, so a noisy run (or a free-threaded Python).", sp(pySmall), pySmall.Name, sp(small))
		case r.Workload == ExpMixed && pySmall != nil && big != nil:
			pyBig := r.byKind("python", "threads", p.BigPool)
			if pyBig != nil {
				line += fmt.Sprintf(" Its threads(%d) parse one page at a time (the GIL: %.1fx) where Go's parse on every core (%.1fx).",
					p.BigPool, sp(pyBig), sp(big))
			}
		case r.Workload == ExpIO:
			if pl := r.byKind("python", "loop", 0); pl != nil && loop != nil {
				line += fmt.Sprintf(" On waiting the conclusion holds in both: asyncio %s, braid's loop %s.", fmtX(sp(pl)), fmtX(sp(loop)))
			}
		}
		out = append(out, line)
	}
	return out
}

// wrap breaks s into lines of at most width columns, the later ones
// starting with indent.
func wrap(s string, width int, indent string) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
			if len(lines) > 0 {
				line = indent + w
			}
		case len(line)+1+len(w) > width:
			lines = append(lines, line)
			line = indent + w
		default:
			line += " " + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// pad right-aligns s in w columns (runes, not bytes: "±" is two bytes).
func pad(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return " " + s
}

// fmtWall formats a median with its spread in 12 columns: 0.412±0.010.
func fmtWall(s Stat) string {
	if s.N == 0 {
		return "-"
	}
	prec := 3
	if s.Median >= 10 {
		prec = 2
	}
	v := fmt.Sprintf("%.*f", prec, s.Median)
	if s.N > 1 {
		v += fmt.Sprintf("±%.*f", prec, s.Spread())
	}
	return v
}

func fmtNum(v float64, prec int, suffix string) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.*f%s", prec, v, suffix)
}

// WriteExperiment prints one table per workload, each ending with its
// verdict. The default fits MaxWidth columns; wide adds the spread of the
// speed-ups, CPU times and peaks.
func WriteExperiment(w io.Writer, results []*ExpResult, wide bool) error {
	var b strings.Builder
	for i, r := range results {
		if i > 0 {
			b.WriteString("\n")
		}
		writeExpTable(&b, r, wide)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeExpTable(b *strings.Builder, r *ExpResult, wide bool) {
	hasPy := len(r.measured("python")) > 0
	line := func(s string) {
		for _, l := range wrap(s, MaxWidth, "  ") {
			b.WriteString(l + "\n")
		}
	}
	line(fmt.Sprintf("%s: %s", r.Workload, r.Title))
	rounds := fmt.Sprintf("median of %d rounds", r.Rounds)
	if r.Interrupted {
		rounds = fmt.Sprintf("interrupted in round %d: medians of what was measured", r.Rounds)
	}
	line(fmt.Sprintf("  %s (± half their range); speed-up over sequential, paired by round", rounds))
	if hasPy && r.PyTitle != "" {
		line("  " + r.PyTitle)
	}
	const mw = 17
	type colset struct{ wall, sp, cpu, peak int }
	c := colset{12, 10, 7, 8}
	block := func(m *ModelStats) string {
		if m == nil || m.WallStat().N == 0 {
			return pad("-", c.wall) + strings.Repeat(" ", c.sp+c.cpu+c.peak)
		}
		s := pad(fmtWall(m.WallStat()), c.wall) + pad(fmtNum(r.Speedup(m).Median, 2, "x"), c.sp) +
			pad(fmtNum(m.CPUStat().Median, 2, ""), c.cpu) + pad(fmtNum(m.PeakStat().Median, 0, ""), c.peak)
		if wide {
			sp := r.Speedup(m)
			s += fmt.Sprintf("  %-13s", fmt.Sprintf("(%.2f-%.2f)", sp.Min, sp.Max))
		}
		return s
	}
	head := pad("wall s", c.wall) + pad("speed-up", c.sp) + pad("CPU s", c.cpu) + pad("peak MB", c.peak)
	if wide {
		head += fmt.Sprintf("  %-13s", "speed-up range")
	}
	if hasPy {
		bw := len(head)
		fmt.Fprintf(b, "%-*s  %-*s  %s\n", mw, "", bw, "braid", "python")
		fmt.Fprintf(b, "%-*s  %s  %s\n", mw, "model", head, head)
	} else {
		fmt.Fprintf(b, "%-*s  %s\n", mw, "model", head)
	}
	for _, m := range r.Models {
		if m.Impl != "braid" {
			continue
		}
		mm := m
		row := fmt.Sprintf("%-*s  %s", mw, m.Name, block(&mm))
		if hasPy {
			row += "  " + block(r.Model("python", m.Name))
		}
		b.WriteString(strings.TrimRight(row, " ") + "\n")
	}
	if r.Busy != "" {
		line("note: " + r.Busy)
	}
	if r.PyNote != "" {
		line("note: " + r.PyNote)
	}
	line(strings.Join(r.Verdict, " "))
}

// ExperimentRows turns the results into JSON rows (the contract of
// `braid bench --json`, with the experiment's added fields).
func ExperimentRows(results []*ExpResult) []Row {
	var rows []Row
	for _, r := range results {
		best := ""
		if rk := r.ranked("braid"); len(rk) > 0 {
			best = rk[0].Name
		}
		for i := range r.Models {
			m := &r.Models[i]
			ws := m.WallStat()
			if ws.N == 0 {
				continue
			}
			sp := r.Speedup(m)
			row := Row{Workload: r.Workload, Model: m.Name, Impl: m.Impl, Seconds: ws.Median, Spread: ws.Spread(),
				SecondsMin: ws.Min, SecondsMax: ws.Max, Speedup: sp.Median, SpeedupMin: sp.Min, SpeedupMax: sp.Max,
				CPUSeconds: m.CPUStat().Median, PeakRSSMB: m.PeakStat().Median, Rounds: ws.N, Busy: r.Busy}
			if m.Impl == "python" {
				row.Model = "python " + m.Name
			}
			if m.Impl == "braid" && m.Name == best {
				row.Verdict = strings.Join(r.Verdict, " ")
			}
			rows = append(rows, row)
		}
	}
	return rows
}
