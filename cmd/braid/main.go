// Command braid measures braid's concurrency models on this machine.
//
//	braid bench [--json] [--quick] [WORKLOAD...]
//	braid bench --list
//	braid profile [--json] [--interval D] -- COMMAND [ARGS...]
//
// Exit codes: 0 success, 1 a workload failed, 2 bad command line,
// 130 interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/braid-go/braid/internal/bench"
	"github.com/braid-go/braid/mp"
)

const usage = `braid: Python's concurrency models (asyncio, threads, processes) in Go.

Usage:
  braid bench [--json] [--quick] [WORKLOAD...]   measure the models on this machine
  braid bench --list                             list the workloads
  braid profile [--json] -- COMMAND [ARGS...]    measure a command: CPU- or I/O-bound, which model
  braid help                                     this text

Run "braid bench --help" for the options of bench.
`

func main() {
	mp.Main()         // a process pool worker (braid bench pool) serves tasks here and never returns
	bench.ChildMain() // a measuring child (fresh-process figures) measures here and exits
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case bench.ChildCommand: // a workload's helper process (echo's server)
		return bench.RunChild(args[1:])
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "profile":
		return runProfileCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "braid: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("braid bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print a JSON array of rows instead of a table")
	quick := fs.Bool("quick", false, "smaller runs (a smoke test, not a measurement)")
	list := fs.Bool("list", false, "list the workloads and exit")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	for _, w := range bench.All() {
		if w.Flags != nil {
			w.Flags(fs)
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: braid bench [flags] [WORKLOAD...]\n\nRuns every workload, or the named ones, and prints a table.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nWorkloads:\n")
		for _, w := range bench.All() {
			fmt.Fprintf(stderr, "  %-12s %s\n", w.Name, w.Description)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *list {
		for _, w := range bench.All() {
			fmt.Fprintf(stdout, "%-12s %s\n", w.Name, w.Description)
		}
		return 0
	}
	selected, err := bench.Select(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "braid bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := bench.Config{Quick: *quick, Progress: func(format string, a ...any) {
		if !*quiet {
			fmt.Fprintf(stderr, "braid bench: "+format+"\n", a...)
		}
	}}
	var rows []bench.Row
	failed := false
	for _, w := range selected {
		cfg.Progress("%s: %s", w.Name, w.Description)
		err := w.Run(ctx, cfg, func(r bench.Row) {
			if r.Workload == "" {
				r.Workload = w.Name
			}
			rows = append(rows, r)
			cfg.Progress("  %s / %s done", r.Workload, r.Model)
		})
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "braid bench: interrupted")
			return 130
		}
		if err != nil {
			failed = true
			fmt.Fprintf(stderr, "braid bench: workload %s failed: %v\n", w.Name, err)
		}
	}
	if *asJSON {
		err = bench.WriteJSON(stdout, rows)
	} else {
		err = bench.WriteTable(stdout, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "braid bench: %v\n", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}
