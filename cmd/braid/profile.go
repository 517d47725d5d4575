package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/braid-go/braid/profile"
)

const profileLong = `Runs COMMAND with its arguments, passing its input, output and exit code
through, samples it and every process it starts from /proc while it runs,
and prints the figures and a verdict on stderr (with --json, one JSON object
on stdout after the command's own output):

  CPU-bound, I/O-bound or mixed, with the numbers that decided it (the share
  of the wall time the work wanted a CPU: >= 2/3 CPU-bound, <= 1/3
  I/O-bound), what the I/O waited on (disk, network, local sockets,
  pipes/terminal, sleep/timers, child processes, locks), and the braid model
  the decision tree recommends, with the questions measuring cannot answer.

Exit codes: the command's own; 128+N when signal N ended it; 127 command not
found; 126 cannot execute; 130 interrupted (SIGINT/SIGTERM are forwarded to
the command, then what was measured is reported); 2 bad command line.

Put -- before COMMAND when COMMAND has flags of its own.`

// newProfileCmd is the `braid profile` command. A non-zero exit code (the
// command's own, or 2, 126, 127, 130) is returned as an exitError, which
// the root turns into the process's exit code.
func newProfileCmd() *cobra.Command {
	var asJSON bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:                   "profile [--json] [--interval D] -- COMMAND [ARGS...]",
		Short:                 "Measure a command: CPU-bound, I/O-bound or mixed, and which model fits",
		Long:                  profileLong,
		SilenceErrors:         true,
		SilenceUsage:          true,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := runProfile(args, asJSON, interval, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return exitError{code} // runProfile printed what happened
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object on stdout")
	cmd.Flags().DurationVar(&interval, "interval", profile.DefaultInterval, "how often to sample the process tree (e.g. 20ms)")
	cmd.Flags().SetInterspersed(false) // everything after COMMAND is COMMAND's
	return cmd
}

func runProfile(args []string, asJSON bool, interval time.Duration, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "braid profile: no command given\n\nUsage: braid profile [--json] [--interval D] -- COMMAND [ARGS...]\n")
		return 2
	}
	if interval < time.Millisecond {
		fmt.Fprintf(stderr, "braid profile: --interval %v is too short: give 1ms or more (e.g. 50ms)\n", interval)
		return 2
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	rep, err := profile.Command(context.Background(), args,
		profile.WithInterval(interval),
		profile.WithStdio(os.Stdin, stdout, stderr),
		profile.WithSignals(sigs))
	var startErr *profile.StartError
	if errors.As(err, &startErr) {
		fmt.Fprintf(stderr, "braid profile: %v\n", startErr)
		return startErr.ExitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "braid profile: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "braid profile: %v\n", err)
			return 1
		}
	} else {
		fmt.Fprint(stderr, rep.String())
	}
	if rep.Interrupted {
		return 130
	}
	return rep.ExitCode
}

// runProfileCmd runs `braid profile ARGS` through the root command and
// returns its exit code (for tests).
func runProfileCmd(args []string, stdout, stderr io.Writer) int {
	return run(append([]string{"profile"}, args...), stdout, stderr)
}
