// Command braid measures Python's concurrency models (asyncio, threads,
// processes) as braid implements them, on this machine.
//
//	braid bench [flags] [WORKLOAD...]   the articles' experiment, or named workloads
//	braid profile [flags] -- COMMAND    measure a command: CPU-bound, I/O-bound or mixed
//	braid vet [go vet flags] [PKGS]     report concurrency red flags in Go code
//	braid cluster status --server URL   a cluster's workers and queue depth
//	braid version                       the version of braid and of Go
//	braid help [COMMAND]                help
//	braid completion SHELL              a shell completion script
//
// Exit codes: 0 success, 1 a workload failed, 2 bad command line,
// 130 interrupted (Ctrl-C; what was measured is printed).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/braid-go/braid/cmd/braid/bench"
	"github.com/braid-go/braid/mp"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0    success
  1    a workload failed (the error is printed; what was measured is printed too)
  2    bad command line (an unknown flag, workload or command; a bad value)
  130  interrupted by Ctrl-C (what was measured so far is printed)`

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries an exit code other than 0, 1 or 2, after its message
// has been printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	mp.Main()         // a process pool worker (braid bench's process models) serves tasks here and never returns
	bench.ChildMain() // a measuring child or the article server runs here and exits
	if isVetToolInvocation(os.Args[1:]) {
		runVetTool() // go vet -vettool=braid: serve go vet and exit
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == bench.ChildCommand { // a workload's helper process (echo's server)
		return bench.RunChild(args[1:])
	}
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	name := "braid"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintf(stderr, "%s: %v (see '%s --help')\n", name, err, name)
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return exitFailed
}

// isCobraUsage recognises cobra's own errors about the command line
// (unknown command, wrong number of arguments).
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "braid",
		Short: "Python's concurrency models (asyncio, threads, processes) in Go, measured",
		Long: `braid brings Python's concurrency system (asyncio, threading, multiprocessing,
concurrent.futures) to Go. This command measures which model fits which work on this machine.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		// With no subcommand: the help, and exit code 2.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q", args[0])}
			}
			cmd.SetOut(stderr)
			cmd.Help()
			return exitError{exitUsage}
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newBenchCmd(stdout, stderr), newProfileCmd(), newVetCmd(), newClusterCmd(stdout), newVersionCmd(stdout))
	return root
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of braid and of the Go that built it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(stdout, "braid %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// version is the module version braid was built at: a tag for `go
// install ...@vX`, else the VCS revision, else "(devel)".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && (v == "" || v == "(devel)") {
			v = "(devel) " + s.Value[:min(12, len(s.Value))]
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}
