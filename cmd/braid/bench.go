package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/braid-go/braid/cmd/braid/bench"
)

type benchFlags struct {
	json, quick, list, quiet, wide, python bool
	pythonExe, html                        string
	rounds                                 int
	roundsGiven                            bool // --rounds was on the command line
}

const benchLong = `With no workload named, runs the articles' experiment: which concurrency model fits
CPU-bound, I/O-bound and mixed work, on this machine, in under a minute on 2 cores.

  cpu-bound  tasks of recursive fib and prime counting
  io-bound   HTTP GETs from a server that braid starts on 127.0.0.1 with a set latency
  mixed      a GET, then a CPU-heavy parse of the page, per task

each under every model that applies: sequential; the loop alone (aio); the loop with a
semaphore; the goroutine pool (futures.ThreadPool) at two sizes; the process pool (mp.Pool);
the loop handing the computation to the process pool (the articles' hybrid). Every figure
is the median of --rounds rounds that alternate the models' order, with its spread; each
table ends with a verdict, which calls a difference inside the spread no difference.

With --python, the same workloads written the articles' way in Python (asyncio + aiohttp,
ThreadPoolExecutor + requests, ProcessPoolExecutor, run_in_executor; shipped inside braid)
run beside braid's, with a python3 that has aiohttp and requests.

Named workloads run instead of the default set; the micro workloads (loop, echo,
idle-conns, pool, ...) are listed by --list.

` + exitCodesHelp

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [flags] [WORKLOAD...]",
		Short: "Measure the concurrency models on this machine (the articles' experiment)",
		Long:  benchLong,
		Example: `  braid bench                      the three workloads, every model, with verdicts
  braid bench --python --html r.html   beside Python's, and a page of charts and timelines
  braid bench cpu-bound --json     one workload, as JSON rows
  braid bench loop pool            micro workloads by name`,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			for _, n := range allWorkloadNames() {
				if !slices.Contains(args, n) {
					names = append(names, n)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f.roundsGiven = cmd.Flags().Changed("rounds")
			if !f.roundsGiven && f.quick {
				f.rounds = 2
			}
			if f.rounds < 1 {
				return usageError{fmt.Errorf("--rounds must be at least 1, got %d", f.rounds)}
			}
			return runBench(cmd.Context(), f, args, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.BoolVar(&f.json, "json", false, "print one JSON array of rows instead of tables (default off)")
	fl.BoolVar(&f.wide, "wide", false, "wider tables: speed-up ranges, and the micro workloads' notes in a column (default off)")
	fl.IntVar(&f.rounds, "rounds", 5, "rounds of every model; each figure is their median (--quick: 2; echo: rounds over every server, default 3)")
	fl.BoolVar(&f.python, "python", false, "run the same workloads in Python beside braid's (default off)")
	fl.StringVar(&f.pythonExe, "python-exe", "", "the Python interpreter for --python and the --*-peer flags (default /usr/bin/python3 if present, else python3)")
	fl.StringVar(&f.html, "html", "", "also write a self-contained HTML page of charts, verdicts and task timelines to this file (default none)")
	fl.BoolVar(&f.quick, "quick", false, "tiny sizes: a smoke test of the command, not a measurement (default off)")
	fl.BoolVar(&f.list, "list", false, "list the workloads and exit (default off)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar (default off; there is none when stderr is not a terminal or with --json)")
	gofs := flag.NewFlagSet("workloads", flag.ContinueOnError)
	for _, w := range bench.All() {
		if w.Flags != nil {
			w.Flags(gofs)
		}
	}
	fl.AddGoFlagSet(gofs)
	return cmd
}

// microRounds is the --rounds that the micro workloads get: the value
// when it was given, else 0 (each keeps its own default).
func (f benchFlags) microRounds() int {
	if f.roundsGiven {
		return f.rounds
	}
	return 0
}

// allWorkloadNames lists the experiment's workloads, then the micro ones.
func allWorkloadNames() []string {
	names := slices.Clone(bench.ExperimentWorkloads)
	for _, w := range bench.All() {
		names = append(names, w.Name)
	}
	return names
}

// progress is the progress bar on stderr, or nothing.
type progress struct {
	bar *progressbar.ProgressBar
}

func (p *progress) start(stderr io.Writer, total int) {
	if p == nil || total <= 0 {
		return
	}
	file, ok := stderr.(*os.File)
	if !ok {
		return
	}
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(file),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetDescription("starting"),
	)
}

func (p *progress) step(done int, what string) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(what)
	if done >= 0 {
		p.bar.Set(done)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
		p.bar = nil
	}
}

func runBench(parent context.Context, f benchFlags, names []string, stdout, stderr io.Writer) error {
	if f.list {
		fmt.Fprintln(stdout, "The articles' experiment (the default run):")
		for _, d := range [][2]string{
			{bench.ExpCPU, "CPU-bound: tasks of recursive fib and prime counting"},
			{bench.ExpIO, "I/O-bound: HTTP GETs from a local server with a set latency"},
			{bench.ExpMixed, "mixed: a GET, then a CPU-heavy parse of the page"},
		} {
			fmt.Fprintf(stdout, "  %-12s %s\n", d[0], d[1])
		}
		fmt.Fprintln(stdout, "Micro workloads (run by name):")
		for _, w := range bench.All() {
			for i, l := range wrapText(w.Description, bench.MaxWidth-17) {
				if i == 0 {
					fmt.Fprintf(stdout, "  %-12s %s\n", w.Name, l)
				} else {
					fmt.Fprintf(stdout, "  %-12s %s\n", "", l)
				}
			}
		}
		return nil
	}
	var expNames, microNames []string
	for _, n := range names {
		if slices.Contains(bench.ExperimentWorkloads, n) {
			if !slices.Contains(expNames, n) {
				expNames = append(expNames, n)
			}
		} else {
			microNames = append(microNames, n)
		}
	}
	if len(names) == 0 {
		expNames = bench.ExperimentWorkloads
	}
	micro, err := bench.Select(microNames)
	if err != nil {
		return usageError{fmt.Errorf("%v, %s", err, strings.Join(bench.ExperimentWorkloads, ", "))}
	}
	if len(microNames) == 0 {
		micro = nil
	}
	if f.html != "" && len(expNames) == 0 {
		return usageError{errors.New("--html draws the articles' experiment: name cpu-bound, io-bound or mixed, or no workload")}
	}
	if f.python && len(expNames) == 0 {
		return usageError{errors.New("--python runs the articles' experiment in Python: name cpu-bound, io-bound or mixed, or no workload")}
	}
	if f.html != "" {
		// Fail now rather than after a minute of measuring.
		fh, err := os.OpenFile(f.html, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return usageError{fmt.Errorf("--html: %v", err)}
		}
		fh.Close()
	}

	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer bench.RemovePeerFiles()
	var prog *progress // nil: no bar
	if file, ok := stderr.(*os.File); ok && !f.json && !f.quiet && term.IsTerminal(int(file.Fd())) {
		prog = &progress{}
	}

	var results []*bench.ExpResult
	var runErr error
	if len(expNames) > 0 {
		p := bench.DefaultParams(f.quick)
		started := false
		results, runErr = bench.RunExperiment(ctx, bench.ExpOptions{
			Params: p, Rounds: f.rounds, Workloads: expNames, Python: f.python, PythonExe: f.pythonExe,
			Step: func(done, total int, what string) {
				if prog == nil {
					return
				}
				if !started {
					prog.start(stderr, total+len(micro))
					started = true
				}
				prog.step(done, what)
			},
		})
	}
	var rows []bench.Row
	failed := false
	if runErr == nil || ctx.Err() == nil {
		if runErr != nil {
			failed = true
			fmt.Fprintf(stderr, "braid bench: %v\n", runErr)
		}
		if prog != nil && len(expNames) == 0 && len(micro) > 0 {
			prog.start(stderr, len(micro))
		}
		for i, w := range micro {
			if ctx.Err() != nil {
				break
			}
			cfg := bench.Config{Quick: f.quick, PythonExe: f.pythonExe, Rounds: f.microRounds(), Progress: func(format string, a ...any) {
				if prog != nil {
					prog.step(-1, fmt.Sprintf(format, a...))
				}
			}}
			if prog != nil {
				prog.step(i, w.Name)
			}
			err := w.Run(ctx, cfg, func(r bench.Row) {
				if r.Workload == "" {
					r.Workload = w.Name
				}
				rows = append(rows, r)
			})
			if err != nil && ctx.Err() == nil {
				failed = true
				fmt.Fprintf(stderr, "braid bench: workload %s failed: %v\n", w.Name, err)
			}
		}
	}
	if prog != nil {
		prog.finish()
	}
	interrupted := ctx.Err() != nil && parent.Err() == nil
	if interrupted {
		fmt.Fprintln(stderr, "braid bench: interrupted; what was measured so far:")
	}
	if err := writeOutput(f, results, rows, stdout); err != nil {
		return err
	}
	if f.html != "" && len(results) > 0 {
		if err := writeHTML(f.html, results); err != nil {
			return err
		}
		if !f.json {
			fmt.Fprintf(stdout, "\nwrote %s\n", f.html)
		}
	}
	switch {
	case interrupted:
		return exitError{exitInterrupted}
	case failed:
		return exitError{exitFailed}
	}
	return nil
}

func writeOutput(f benchFlags, results []*bench.ExpResult, rows []bench.Row, stdout io.Writer) error {
	if f.json {
		return bench.WriteJSON(stdout, append(bench.ExperimentRows(results), rows...))
	}
	if len(results) > 0 {
		if err := bench.WriteExperiment(stdout, results, f.wide); err != nil {
			return err
		}
	}
	if len(rows) > 0 {
		if len(results) > 0 {
			fmt.Fprintln(stdout)
		}
		return bench.WriteTable(stdout, rows, f.wide)
	}
	return nil
}

func writeHTML(path string, results []*bench.ExpResult) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := bench.WriteHTML(fh, results, time.Now()); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// wrapText breaks s into lines of at most width columns.
func wrapText(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
