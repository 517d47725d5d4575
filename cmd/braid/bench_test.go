package main

import (
	"flag"
	"io"
	"testing"

	"github.com/braid-go/braid/cmd/braid/bench"
)

// A workload flag named like one of the command's own is dropped by cobra
// (AddGoFlagSet keeps the first), and the value then reaches only the
// command: echo's --rounds was lost that way. Every workload flag must be
// on the command line as itself.
func TestWorkloadFlagsAreNotShadowedByTheCommands(t *testing.T) {
	cmd := newBenchCmd(io.Discard, io.Discard)
	gofs := flag.NewFlagSet("workloads", flag.ContinueOnError)
	for _, w := range bench.All() {
		if w.Flags != nil {
			w.Flags(gofs)
		}
	}
	n := 0
	gofs.VisitAll(func(g *flag.Flag) {
		n++
		c := cmd.Flags().Lookup(g.Name)
		if c == nil || c.Usage != g.Usage {
			t.Errorf("workload flag --%s (%q) is not on the command line as itself", g.Name, g.Usage)
		}
	})
	if n == 0 {
		t.Fatal("no workload flags at all: the check saw nothing")
	}
}

// --rounds reaches the micro workloads only when it was given; otherwise
// each keeps its own default.
func TestMicroRoundsOnlyWhenGiven(t *testing.T) {
	if got := (benchFlags{rounds: 10, roundsGiven: true}).microRounds(); got != 10 {
		t.Errorf("--rounds 10 given: micro workloads get %d, want 10", got)
	}
	if got := (benchFlags{rounds: 5}).microRounds(); got != 0 {
		t.Errorf("--rounds not given (default 5): micro workloads get %d, want 0 (their own default)", got)
	}
}
