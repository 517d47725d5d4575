package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/braid-go/braid/mp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main() // the process pool's workers are this test binary
	if _, set := os.LookupEnv("GORACE"); !set {
		// Workers built with -race would otherwise sleep a second as they exit.
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	goleak.VerifyTestMain(m) // and no goroutine of the program outlives it
}

// Every model computes the right value, and the program prints one timing
// line for each.
func TestFib(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-n", "15", "-tasks", "4", "-workers", "2"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	re := regexp.MustCompile(`^fib\(15\) x 4, 2 workers, \d+ CPUs
sequential +\S+ +1\.0x  
event loop +\S+ +[0-9.]+x  one thread: Python's threads under the GIL
goroutine pool +\S+ +[0-9.]+x  no GIL: Python cannot do this
process pool +\S+ +[0-9.]+x  Python's ProcessPoolExecutor, pool start included
fib\(15\) = 610
$`)
	if !re.MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestFibBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "-1"}, {"-n", "51"}, {"-tasks", "0"}, {"-workers", "x"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

func TestFibLoop(t *testing.T) {
	for n := range 25 {
		if got, want := fibLoop(n), fib(n); got != want {
			t.Errorf("fibLoop(%d) = %d, fib = %d", n, got, want)
		}
	}
}
