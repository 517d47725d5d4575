package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/braid-go/braid/vet"
)

const vetUsage = `Usage: braid vet [go vet flags] [packages]

Reports the red flags of Python's concurrency checklists in Go code that
uses braid, before it runs (docs/VET.md lists each rule, its Python
counterpart, an example and the fix):

%s
braid vet runs "go vet -vettool=<this braid binary>" on the packages, so it
takes go vet's flags and package patterns (./... for the whole module), and
prints each report as file:line:col: message. go vet's own analyzers do not
run; use plain go vet for them. One analyzer is switched off with
-NAME=false (e.g. -mptinyio=false), and -fix applies the suggested fixes.
The braid binary is itself a vettool:

  go vet -vettool=$(command -v braid) ./...

Exit status: 0 no reports, 1 reports (or the packages did not build),
2 bad command line or go not found.
`

// vetHelp returns the help text of braid vet, with the analyzers listed.
func vetHelp() string {
	var b strings.Builder
	for _, a := range vet.Analyzers() {
		summary, _, _ := strings.Cut(a.Doc, "\n")
		fmt.Fprintf(&b, "  %-13s %s\n", a.Name, summary)
	}
	return fmt.Sprintf(vetUsage, b.String())
}

// isVetToolInvocation reports whether the process was started by go vet
// as its -vettool: "-V=full", "-flags", or flags followed by one *.cfg file
// (the unitchecker protocol).
func isVetToolInvocation(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if args[0] == "-V=full" || args[0] == "-flags" {
		return true
	}
	last := args[len(args)-1]
	if !strings.HasSuffix(last, ".cfg") {
		return false
	}
	for _, a := range args[:len(args)-1] {
		if !strings.HasPrefix(a, "-") {
			return false
		}
	}
	return true
}

// runVetTool serves go vet when it runs this binary as its vettool. It
// does not return.
func runVetTool() {
	unitchecker.Main(vet.Analyzers()...)
}

// runVet runs go vet with this binary as the vettool and returns the exit
// status.
func runVet(args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "--" {
			break
		}
		switch a {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, vetHelp())
			return 0
		}
		if strings.HasPrefix(a, "-vettool") || strings.HasPrefix(a, "--vettool") {
			fmt.Fprintf(stderr, "braid vet: %s: braid vet is the vettool; run go vet -vettool=... yourself to use another\n", a)
			return 2
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "braid vet: cannot find this binary to give to go vet as its vettool: %v\n", err)
		return 2
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(stderr, "braid vet: the go command is needed (braid vet runs go vet): %v\n", err)
		return 2
	}
	cmd := exec.Command(goTool, append([]string{"vet", "-vettool=" + self}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return 1
	default:
		fmt.Fprintf(stderr, "braid vet: running go vet: %v\n", err)
		return 2
	}
}

// newVetCmd returns the cobra command of braid vet. Its flags are go
// vet's, passed through unparsed.
func newVetCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "vet [go vet flags] [packages]",
		Short:              "report braid's concurrency red flags in Go code (go/analysis analyzers)",
		Long:               vetHelp(),
		DisableFlagParsing: true,
		SilenceUsage:       true,
		SilenceErrors:      true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := runVet(args, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return exitError{code} // runVet printed its reports and errors
			}
			return nil
		},
	}
}
