package main

import (
	"bytes"
	"context"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a goroutine of the program outlives it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The CPU-bound function is found CPU-bound, the sleeping one I/O-bound,
// waiting on a timer, and the one making 5 requests to a server that takes
// 20 ms over each I/O-bound too (100 ms of waiting against a few ms of CPU:
// neither the sampler's cost with the sockets open nor the run-queue waits
// of its threads on a loaded machine may make it look CPU-bound); the
// mixed one gets a verdict, whichever (it depends on the machine's load).
// It samples every 10 ms: on a loaded machine the run-queue waits of the
// process's threads add up past the time fib(33) did not compute, and
// with fewer than 5 samples that sum cannot be attributed (see
// profile.Classify).
func TestMeasure(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the wait states are sampled from /proc")
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-fib", "33", "-sleep", "300ms", "-requests", "5", "-latency", "20ms",
		"-mixed-fib", "20", "-interval", "10ms"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{
		"fib(33): verdict cpu-bound\n",
		"sleep(300ms): verdict io-bound\n",
		"  waited on sleep/timer\n",
		"fetch x 5: verdict io-bound\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the output:\n%s", want, text)
		}
	}
	for _, name := range []string{`fetch \+ fib\(20\) x 5`} {
		if !regexp.MustCompile(`(?m)^` + name + `: verdict (cpu-bound|io-bound|mixed)\n  wall [0-9.]+ s, CPU `).MatchString(text) {
			t.Errorf("no verdict for %s:\n%s", name, text)
		}
	}
	if n := strings.Count(text, "  model: "); n != 4 {
		t.Errorf("%d models printed, want 4:\n%s", n, text)
	}
	if strings.Contains(text, "  | ") {
		t.Errorf("whole reports printed without -v:\n%s", text)
	}
}

// -v adds each whole report.
func TestMeasureVerbose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the wait states are sampled from /proc")
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-v", "-fib", "10", "-sleep", "1ms", "-requests", "1", "-latency", "0s",
		"-mixed-fib", "1", "-interval", "10ms"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	if n := strings.Count(out.String(), "  | braid profile: function\n"); n != 4 {
		t.Errorf("%d whole reports, want 4:\n%s", n, out.String())
	}
}

func TestMeasureBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-fib", "-1"}, {"-fib", "51"}, {"-sleep", "x"}, {"-requests", "0"},
		{"-interval", "0s"}, {"-mixed-fib", "99"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

func TestFib(t *testing.T) {
	for n := range 25 {
		if got, want := fibLoop(n), fib(n); got != want {
			t.Errorf("fibLoop(%d) = %d, fib = %d", n, got, want)
		}
	}
}
