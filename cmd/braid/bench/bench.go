// Package bench holds the workloads that `braid bench` runs and the table
// and JSON output they share. workloads.go lists every workload in one
// table; each lives in its own file (loop.go, cpu.go, pool.go, echo.go,
// ...); the CLI only selects and prints.
//
// The package sits beside the command that runs it (cmd/braid), above
// aio, futures and mp. It is not under an internal/ folder because aio's
// go test benchmarks call the same functions, so that both measure the
// same code; it is not an API of braid.
package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Row is one measured line of the table. Figures that do not apply to a
// workload stay zero and are omitted from the JSON output. The JSON names
// are a stable contract: scripts read them.
type Row struct {
	Workload    string  `json:"workload"`
	Model       string  `json:"model"`
	Seconds     float64 `json:"seconds,omitempty"`
	NsPerOp     float64 `json:"ns_per_op,omitempty"`
	Speedup     float64 `json:"speedup,omitempty"`
	RPS         float64 `json:"rps,omitempty"`
	P50us       float64 `json:"p50_us,omitempty"`
	P99us       float64 `json:"p99_us,omitempty"`
	CPUusPerReq float64 `json:"cpu_us_per_req,omitempty"`
	// SysUsPerReq is the part of CPUusPerReq spent in the kernel (the
	// process's system time): what no user-space work can win back.
	SysUsPerReq float64 `json:"sys_us_per_req,omitempty"`
	// CPUvsBest is CPUusPerReq over the best peer's (echo: the --against
	// server using the least), as the median of per-round ratios.
	CPUvsBest    float64 `json:"cpu_vs_best_peer,omitempty"`
	PeakRSSMB    float64 `json:"peak_rss_mb,omitempty"`
	BytesPerTask float64 `json:"bytes_per_task,omitempty"`
	// The articles' experiment (the default run) adds these: the
	// implementation ("braid" or "python"; a Python row's model also
	// starts with "python "), the spread of the rounds (half the range of
	// seconds), the range of seconds and of the speed-up, the CPU time in
	// seconds, the number of rounds, and on the fastest braid model of a
	// workload its verdict; busy names what disturbed the machine.
	Impl       string  `json:"impl,omitempty"`
	Spread     float64 `json:"spread,omitempty"`
	SecondsMin float64 `json:"seconds_min,omitempty"`
	SecondsMax float64 `json:"seconds_max,omitempty"`
	SpeedupMin float64 `json:"speedup_min,omitempty"`
	SpeedupMax float64 `json:"speedup_max,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	Rounds     int     `json:"rounds,omitempty"`
	Verdict    string  `json:"verdict,omitempty"`
	Busy       string  `json:"busy,omitempty"`
	// Goal is the target a micro workload's figure is held to (e.g.
	// "p50 <= 5 ms") and GoalMet whether this run met it.
	Goal    string `json:"goal,omitempty"`
	GoalMet *bool  `json:"goal_met,omitempty"`
	// Note is a short human remark (the size of the run, a goal); it is
	// printed in the table and kept in JSON.
	Note string `json:"note,omitempty"`
}

// Config is what the command line passes to every workload.
type Config struct {
	// Quick asks for a smaller run (used by tests of the command itself).
	Quick bool
	// Progress receives one line per step of a long run; never nil.
	Progress func(format string, args ...any)
	// PythonExe is the interpreter of the Python peers ("": the default,
	// /usr/bin/python3 if present, else python3).
	PythonExe string
	// Rounds is the command's --rounds when it was given, else 0: a
	// workload measured in rounds (echo) then runs that many instead of
	// its own default.
	Rounds int
}

// Workload is one named measurement.
type Workload struct {
	Name        string
	Description string
	// Run measures and reports its rows through report. It must end when
	// ctx is cancelled.
	Run func(ctx context.Context, cfg Config, report func(Row)) error
	// Flags, if set, registers the workload's own flags (e.g. echo's
	// --conns) on the bench command's flag set before it is parsed.
	Flags func(fs *flag.FlagSet)
}

// WriteJSON writes rows as one JSON array.
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// WriteTable writes rows as an aligned table with only the columns that
// some row uses and a goal column (met or MISSED) where a row has a goal.
// The notes follow the table, wrapped to MaxWidth columns, unless wide
// puts them in a last column.
func WriteTable(w io.Writer, rows []Row, wide bool) error {
	type col struct {
		name string
		get  func(Row) float64
		fmt  string
	}
	cols := []col{
		{"seconds", func(r Row) float64 { return r.Seconds }, "%.3f"},
		{"ns/op", func(r Row) float64 { return r.NsPerOp }, "%.0f"},
		{"speed-up", func(r Row) float64 { return r.Speedup }, "%.2fx"},
		{"req/s", func(r Row) float64 { return r.RPS }, "%.0f"},
		{"p50 us", func(r Row) float64 { return r.P50us }, "%.1f"},
		{"p99 us", func(r Row) float64 { return r.P99us }, "%.1f"},
		{"cpu us/req", func(r Row) float64 { return r.CPUusPerReq }, "%.2f"},
		{"sys us/req", func(r Row) float64 { return r.SysUsPerReq }, "%.2f"},
		{"vs best", func(r Row) float64 { return r.CPUvsBest }, "%.3fx"},
		{"peak MB", func(r Row) float64 { return r.PeakRSSMB }, "%.1f"},
		{"B/task", func(r Row) float64 { return r.BytesPerTask }, "%.0f"},
	}
	var used []col
	for _, c := range cols {
		for _, r := range rows {
			if c.get(r) != 0 {
				used = append(used, c)
				break
			}
		}
	}
	goals := false
	for _, r := range rows {
		goals = goals || r.GoalMet != nil
	}
	header := []string{"workload", "model"}
	for _, c := range used {
		header = append(header, c.name)
	}
	if goals {
		header = append(header, "goal")
	}
	if wide {
		header = append(header, "note")
	}
	table := [][]string{header}
	var notes []string
	for i, r := range rows {
		model := r.Model
		if !wide && len(model) > 24 {
			model = model[:23] + "~"
		}
		cells := []string{r.Workload, model}
		for _, c := range used {
			v := c.get(r)
			if v == 0 {
				cells = append(cells, "-")
			} else {
				cells = append(cells, fmt.Sprintf(c.fmt, v))
			}
		}
		if goals {
			switch {
			case r.GoalMet == nil:
				cells = append(cells, "")
			case *r.GoalMet:
				cells = append(cells, "met")
			default:
				cells = append(cells, "MISSED")
			}
		}
		note := r.Note
		if r.Goal != "" {
			note = strings.TrimSuffix(note, "; ") + "; goal " + r.Goal
		}
		if wide {
			cells = append(cells, note)
		} else if note != "" {
			cells[0] = fmt.Sprintf("%s [%d]", r.Workload, i+1)
			notes = append(notes, fmt.Sprintf("[%d] %s", i+1, note))
		}
		table = append(table, cells)
	}
	// Text columns (workload, model, goal, note) left-aligned, numbers
	// right-aligned.
	widths := make([]int, len(header))
	for _, row := range table {
		for j, c := range row {
			widths[j] = max(widths[j], len(c))
		}
	}
	text := func(j int) bool { return j < 2 || header[j] == "goal" || header[j] == "note" }
	for _, row := range table {
		var line strings.Builder
		for j, c := range row {
			if j > 0 {
				line.WriteString("  ")
			}
			if text(j) {
				fmt.Fprintf(&line, "%-*s", widths[j], c)
			} else {
				fmt.Fprintf(&line, "%*s", widths[j], c)
			}
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(line.String(), " ")); err != nil {
			return err
		}
	}
	for _, n := range notes {
		for _, l := range wrap(n, MaxWidth, "    ") {
			if _, err := fmt.Fprintln(w, l); err != nil {
				return err
			}
		}
	}
	return nil
}

// withGoal sets the row's goal and whether it was met; a quick run's
// sizes are not the goal's, so it sets neither.
func (c Config) withGoal(r Row, goal string, met bool) Row {
	if !c.Quick {
		r.Goal, r.GoalMet = goal, &met
	}
	return r
}
