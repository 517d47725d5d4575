package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/braid-go/braid/mp"
)

// The locked counters are right.
func TestRaceFixes(t *testing.T) {
	for _, mode := range []string{"mutex", "atomic"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"-mode", mode, "-goroutines", "8", "-increments", "5000"}, &out, &errOut); code != 0 {
			t.Fatalf("%s: exit code %d, stderr:\n%s", mode, code, errOut.String())
		}
		re := regexp.MustCompile(`^8 goroutines x 5000 increments = 40000, on \d+ CPUs
` + mode + ` +40000  right +\S+
$`)
		if !re.MatchString(out.String()) {
			t.Errorf("%s: output:\n%s", mode, out.String())
		}
	}
}

// The unlocked counter, built with the race detector, is reported: the
// report names the racing function, and the program exits with the
// detector's code 66. (It cannot run in this test binary: the detector
// would fail the test.)
func TestRaceDetected(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the program with:", err)
	}
	bin := filepath.Join(t.TempDir(), "race")
	if out, err := exec.Command(gobin, "build", "-race", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -race: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-mode", "unsafe", "-goroutines", "4", "-increments", "1000")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 66 {
		t.Errorf("the racy program ended with %v; want exit code 66 from the race detector", err)
	}
	for _, want := range []string{"WARNING: DATA RACE", "main.unsafeCount.func1()"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("the race report has no %q:\n%s", want, errOut.String())
		}
	}
	if !strings.HasPrefix(out.String(), "4 goroutines x 1000 increments = 4000") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRaceBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-mode", "locked"}, {"-goroutines", "0"}, {"-increments", "x"}, {"extra"},
		{"-processes", "0"}, {"-proc-increments", "-1"}, {"-mode", "value"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// The shared counter under its lock and with its atomic add is exact
// across processes.
func TestRaceProcessFixes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mp's shared Value is implemented on Linux only")
	}
	for _, mode := range []string{"value-lock", "value-add"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"-mode", mode, "-processes", "3", "-proc-increments", "5000"}, &out, &errOut); code != 0 {
			t.Fatalf("%s: exit code %d, stderr:\n%s", mode, code, errOut.String())
		}
		re := regexp.MustCompile(`^3 processes x 5000 increments = 15000, on \d+ CPUs \(counting time, process start excluded\)
` + mode + ` +15000  right +\S+
$`)
		if !re.MatchString(out.String()) {
			t.Errorf("%s: output:\n%s", mode, out.String())
		}
	}
}

// The unlocked shared counter may lose increments or not; what the program
// says about it is what happened: the count and the loss add up to the
// total, and "right, by luck" only when nothing was lost.
func TestRaceProcessUnsafeHonest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mp's shared Value is implemented on Linux only")
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-mode", "value-unsafe", "-processes", "3", "-proc-increments", "5000"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	re := regexp.MustCompile(`^3 processes x 5000 increments = 15000, on \d+ CPUs \(counting time, process start excluded\)
value-unsafe +(\d+)  (right, by luck \(no update was lost\)|(\d+) increments lost) +\S+
$`)
	m := re.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output:\n%s", out.String())
	}
	got, _ := strconv.Atoi(m[1])
	lost := 0
	if m[3] != "" {
		lost, _ = strconv.Atoi(m[3])
		if lost == 0 {
			t.Errorf("claims a loss of 0:\n%s", out.String())
		}
	}
	if got+lost != 15000 || got < 1 {
		t.Errorf("count %d and loss %d do not make 15000:\n%s", got, lost, out.String())
	}
	t.Logf("%d of 15000 increments lost on this run", lost)
}

// TestMain: the counting processes are this test binary; and the run fails
// if a goroutine of the program outlives it.
func TestMain(m *testing.M) {
	mp.Main()
	if _, set := os.LookupEnv("GORACE"); !set {
		// Children built with -race would otherwise sleep a second as they exit.
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	goleak.VerifyTestMain(m)
}
