package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// The locked counters are right.
func TestRaceFixes(t *testing.T) {
	for _, mode := range []string{"mutex", "atomic"} {
		var out, errOut bytes.Buffer
		if code := run([]string{"-mode", mode, "-goroutines", "8", "-increments", "5000"}, &out, &errOut); code != 0 {
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
	for _, args := range [][]string{{"-mode", "locked"}, {"-goroutines", "0"}, {"-increments", "x"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// TestMain fails the run if a goroutine of the program outlives it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
