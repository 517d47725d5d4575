package mp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

type report struct {
	Name  string
	Count int
}

// Tally returns a report, an error for a negative count, and panics for
// 13; it writes a line to its standard error first.
var Tally = mp.Register("test.process.tally", func(ctx context.Context, n int) (report, error) {
	fmt.Fprintf(os.Stderr, "tally %d on stderr\n", n)
	switch {
	case n < 0:
		return report{}, fmt.Errorf("bad count %d: want >= 0", n)
	case n == 13:
		panic("unlucky")
	}
	return report{Name: mp.CurrentProcessName(), Count: n * 2}, nil
})

// runProcess starts f(arg) in a Process with its stderr in a buffer and
// joins it.
func runProcess[A, R any](t *testing.T, f mp.Func[A, R], arg A, opts ...mp.ProcessOption) (*mp.Process, *bytes.Buffer) {
	t.Helper()
	var stderr bytes.Buffer
	p, err := mp.NewProcess(f, arg, append([]mp.ProcessOption{mp.ProcessStderr(&stderr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p, &stderr
}

func TestProcessResult(t *testing.T) {
	p, stderr := runProcess(t, Tally, 21, mp.ProcessName("tally-1"))
	if code, exited := p.ExitCode(); code != 0 || !exited {
		t.Fatalf("exit code %d, %v", code, exited)
	}
	if err := p.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	if r, err := Tally.Result(p); err != nil || r != (report{Name: "tally-1", Count: 42}) {
		t.Fatalf("Result: %+v, %v", r, err)
	}
	if got := stderr.String(); got != "tally 21 on stderr\n" {
		t.Errorf("stderr %q", got)
	}
	if _, err := Tally.Result(nil); err == nil || !strings.Contains(err.Error(), "nil *Process") {
		t.Errorf("Result(nil): %v, want an error naming the nil *Process", err)
	}
}

// The function's error crosses with its message; the exit code stays 1
// and the report still goes to the child's stderr (here, the writer).
func TestProcessErr(t *testing.T) {
	p, stderr := runProcess(t, Tally, -3)
	if code, _ := p.ExitCode(); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	err := p.Err()
	var re *mp.RemoteError
	if !errors.As(err, &re) || err.Error() != "bad count -3: want >= 0" || re.Function != Tally.Name() || re.PID != p.Pid() || re.Panicked() {
		t.Fatalf("Err: %#v", err)
	}
	if r, rerr := Tally.Result(p); rerr == nil || rerr.Error() != err.Error() || r != (report{}) {
		t.Fatalf("Result: %+v, %v; want the zero value and Err's error", r, rerr)
	}
	out := stderr.String()
	if !strings.HasPrefix(out, "tally -3 on stderr\n") || !strings.Contains(out, "returned an error: bad count -3") {
		t.Errorf("stderr %q: want the function's line and the error report", out)
	}
}

func TestProcessErrPanic(t *testing.T) {
	p, stderr := runProcess(t, Tally, 13)
	if code, _ := p.ExitCode(); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	var re *mp.RemoteError
	var pe *futures.PanicError
	if err := p.Err(); !errors.As(err, &re) || !re.Panicked() || !errors.As(err, &pe) || !strings.Contains(err.Error(), "unlucky") {
		t.Fatalf("Err: %v", err)
	}
	if !strings.Contains(stderr.String(), "panicked: unlucky") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// A process that ends without reporting (killed) has a *WorkerError with
// its signal; before it exits, Err says so.
func TestProcessErrKilled(t *testing.T) {
	p, err := mp.NewProcess(Hang, 0, mp.ProcessStderr(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("Err before Start: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "not exited") {
		t.Fatalf("Err while running: %v", err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := p.ExitCode(); code != -9 {
		t.Fatalf("exit code %d, want -9", code)
	}
	var we *mp.WorkerError
	if err := p.Err(); !errors.Is(err, mp.ErrWorkerDied) || !errors.As(err, &we) || we.Signal != "killed" || we.PID != p.Pid() {
		t.Fatalf("Err after a kill: %v", err)
	}
	if _, err := Square.Result(p); err == nil || !strings.Contains(err.Error(), "not "+Square.Name()) {
		t.Fatalf("Result with another Func: %v", err)
	}
}

// A Func's run timeout bounds a Process too: a function that ignores it is
// killed, one that stops when its context ends reports it, and one that
// finishes in time is untouched.
func TestProcessRunTimeout(t *testing.T) {
	p, _ := runProcess(t, Hang.WithRunTimeout(50*time.Millisecond), 0)
	err := p.Err()
	var killed *mp.KilledError
	if !errors.Is(err, mp.ErrRunTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &killed) || killed.PID != p.Pid() || !strings.Contains(err.Error(), "run timeout of 50ms exceeded (process pid") {
		t.Fatalf("Err of a process past its run timeout: %v; want a *mp.KilledError matching ErrRunTimeout", err)
	}
	if code, _ := p.ExitCode(); code != -9 {
		t.Fatalf("exit code %d, want -9", code)
	}

	p, _ = runProcess(t, Polite.WithRunTimeout(50*time.Millisecond), 0)
	if err := p.Err(); !errors.Is(err, mp.ErrRunTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err of a process whose function returned at its run timeout: %v", err)
	}

	p, _ = runProcess(t, Tally.WithRunTimeout(time.Minute), 4)
	if r, err := Tally.Result(p); err != nil || r.Count != 8 {
		t.Fatalf("Result within the run timeout: %+v, %v", r, err)
	}
}
