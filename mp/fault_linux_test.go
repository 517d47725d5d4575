package mp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/mp"
	"go.uber.org/goleak"
)

// Fault tests: in each, hundreds of other tasks complete with their right
// results, and the pool leaves no child process behind (newPool checks).

var (
	// GoPanic crashes its worker from another goroutine: no recover can
	// catch that.
	GoPanic = mp.Register("test.gopanic", func(ctx context.Context, msg string) (int, error) {
		go func() { panic("crash from a goroutine: " + msg) }()
		time.Sleep(time.Hour)
		return 0, nil
	})
	// OOM caps its worker's address space a little above what it uses,
	// then allocates past the cap: the Go runtime dies out of memory.
	OOM = mp.Register("test.oom", func(ctx context.Context, _ int) (int, error) {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return 0, err
		}
		var vm uint64
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmSize:" {
				vm, _ = strconv.ParseUint(f[1], 10, 64)
			}
		}
		lim := syscall.Rlimit{Cur: vm<<10 + 256<<20, Max: vm<<10 + 256<<20}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
			return 0, err
		}
		hog := make([]byte, 2<<30)
		for i := 0; i < len(hog); i += 4096 {
			hog[i] = 1
		}
		return len(hog), nil
	})
	// SelfInterrupt sends SIGINT (Ctrl-C) to its own worker.
	SelfInterrupt = mp.Register("test.selfint", func(ctx context.Context, _ int) (string, error) {
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			return "", err
		}
		return "alive", nil
	})
	// MaybeGate returns at once without a gate, or waits at one: the pool
	// learns from the quick calls that it is a short function.
	MaybeGate = mp.Register("test.maybegate", func(ctx context.Context, g gate) (int, error) {
		if g.Ready == "" {
			return os.Getpid(), nil
		}
		return gateWait(g)
	})
)

func gateWait(g gate) (int, error) {
	announce(g.Ready)
	f, err := os.Open(g.Release)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, f)
	f.Close()
	return os.Getpid(), nil
}

func TestKillBusyWorker(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	ctx := context.Background()
	fifo := newFIFO(t, "ready")
	blocked, _ := Block.Submit(ctx, p, fifo)
	pid := readPIDs(t, fifo, 1)[0]
	check := submitSquares(t, p, 300)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err := blocked.Result(ctx)
	var we *mp.WorkerError
	if !errors.As(err, &we) || !errors.Is(err, mp.ErrWorkerDied) || we.PID != pid || we.Signal != "killed" || we.ExitCode != -1 {
		t.Fatalf("%#v", err)
	}
	if !strings.Contains(err.Error(), "signal: killed") {
		t.Fatalf("the error does not name the signal: %v", err)
	}
	check()
	submitSquares(t, p, 100)() // the replacement serves
	if s := p.Stats(); s.Crashed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOsExitInTask(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	ctx := context.Background()
	check1 := submitSquares(t, p, 300)
	exit, _ := Exit.Submit(ctx, p, 3)
	check2 := submitSquares(t, p, 300)
	_, err := exit.Result(ctx)
	var we *mp.WorkerError
	if !errors.As(err, &we) || we.ExitCode != 3 || we.Signal != "" || we.Function != "test.exit" {
		t.Fatalf("%#v", err)
	}
	if !strings.Contains(we.Stderr, "test.exit: leaving with code 3") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("stderr tail missing from the error: %v", err)
	}
	check1()
	check2()
	if s := p.Stats(); s.Crashed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPanicInGoroutineKillsOnlyItsTask(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	ctx := context.Background()
	check := submitSquares(t, p, 300)
	crash, _ := GoPanic.Submit(ctx, p, "oops")
	check2 := submitSquares(t, p, 300)
	_, err := crash.Result(ctx)
	var we *mp.WorkerError
	if !errors.As(err, &we) || we.ExitCode != 2 {
		t.Fatalf("%#v", err)
	}
	if !strings.HasPrefix(we.Stderr, "panic: crash from a goroutine: oops") || !strings.Contains(we.Stderr, "goroutine") {
		t.Fatalf("stderr excerpt should start at the panic:\n%s", we.Stderr)
	}
	check()
	check2()
}

func TestOutOfMemoryKillsOnlyItsTask(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	ctx := context.Background()
	check := submitSquares(t, p, 300)
	oom, _ := OOM.Submit(ctx, p, 0)
	check2 := submitSquares(t, p, 300)
	_, err := oom.Result(ctx)
	var we *mp.WorkerError
	if !errors.As(err, &we) || we.ExitCode == 0 {
		t.Fatalf("%#v", err)
	}
	if !raceEnabled && !strings.Contains(we.Stderr, "fatal error: out of memory") {
		t.Fatalf("stderr excerpt:\n%s", we.Stderr)
	}
	check()
	check2()
	submitSquares(t, p, 100)()
}

func TestWorkersSurviveCtrlC(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	f, _ := SelfInterrupt.Submit(ctx, p, 0)
	if v, err := f.Result(ctx); err != nil || v != "alive" {
		t.Fatalf("%q, %v", v, err)
	}
	submitSquares(t, p, 50)()
	if s := p.Stats(); s.Crashed != 0 || s.Started != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDeadlineKillsRunawayTask(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	// Workers up first, so that the deadline runs out while the task runs
	// even on a slow machine.
	submitSquares(t, p, 100)()
	fifo := newFIFO(t, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	spin, err := Spin.Submit(ctx, p, fifo)
	if err != nil {
		t.Fatal(err)
	}
	check := submitSquares(t, p, 300)
	pid := readPIDs(t, fifo, 1)[0]
	_, err = spin.Result(context.Background())
	var ke *mp.KilledError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ke) || ke.PID != pid {
		t.Fatalf("%#v", err)
	}
	check()
	submitSquares(t, p, 100)()
	if s := p.Stats(); s.Killed != 1 || s.Crashed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCallDeadlineReportsTheKill(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	submitSquares(t, p, 20)()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	fifo := newFIFO(t, "ready")
	done := make(chan error, 1)
	go func() {
		_, err := Spin.Call(ctx, p, fifo)
		done <- err
	}()
	readPIDs(t, fifo, 1)
	err := <-done
	var ke *mp.KilledError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ke) {
		t.Fatalf("%#v", err)
	}
}

func TestCancelKillsRunningTask(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	fifo := newFIFO(t, "ready")
	ctx, cancel := context.WithCancel(context.Background())
	spin, _ := Spin.Submit(ctx, p, fifo)
	check := submitSquares(t, p, 300)
	readPIDs(t, fifo, 1)
	cancel()
	_, err := spin.Result(context.Background())
	var ke *mp.KilledError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ke) {
		t.Fatalf("%#v", err)
	}
	check()
}

func TestCancelTaskQueuedInWorker(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	// Quick calls of both functions first: the pool pipelines a task
	// behind a running one only when both have a history of short runs (a
	// function never run counts as long), so without the squares this test
	// passed only after another test of the process had run Square.
	for range MaybeGate.Map(ctx, p, func(yield func(gate) bool) {
		for i := 0; i < 50 && yield(gate{}); i++ {
		}
	}) {
	}
	for _, err := range Square.Map(ctx, p, count(50)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	g := gate{Ready: newFIFO(t, "ready"), Release: newFIFO(t, "release")}
	running, _ := MaybeGate.Submit(ctx, p, g)
	pid := readPIDs(t, g.Ready, 1)[0]
	cctx, cancel := context.WithCancel(ctx)
	queued, _ := Square.Submit(cctx, p, 5)
	for start := time.Now(); p.Stats().InFlight < 2; time.Sleep(time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the square was not sent behind the running task: %+v", p.Stats())
		}
	}
	cancel()
	_, err := queued.Result(ctx)
	var ke *mp.KilledError
	if !errors.Is(err, context.Canceled) || errors.As(err, &ke) {
		t.Fatalf("a task not started must fail without a kill: %v", err)
	}
	release(t, g.Release)
	if v, err := running.Result(ctx); err != nil || v != pid {
		t.Fatal(v, err)
	}
	f, _ := PID.Submit(ctx, p, struct{}{})
	if v, err := f.Result(ctx); err != nil || v != pid {
		t.Fatalf("the worker was replaced: pid %d, was %d (%v)", v, pid, err)
	}
	if s := p.Stats(); s.Killed != 0 || s.Crashed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMemoryLimitStopsALeak(t *testing.T) {
	// A function that keeps 64 MiB more at each call: under a 256 MiB
	// limit, its worker is stopped within a few calls, either while a call
	// runs (the call fails with a *MemoryError) or right after one (the
	// worker retires, the call having succeeded); the pool goes on.
	p := newPool(t, mp.WithMaxWorkers(1), mp.WithMemoryLimit(256<<20), mp.WithLogger(discardLogger()))
	ctx := context.Background()
	hogPID, err := PID.Call(ctx, p, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	for i := 0; i < 8 && !stopped; i++ {
		_, err := Hog.Call(ctx, p, 64)
		var me *mp.MemoryError
		switch {
		case errors.As(err, &me):
			if me.PID != hogPID || me.Limit != 256<<20 || !strings.Contains(err.Error(), "exceeded memory limit 256 MiB") {
				t.Fatalf("%v", err)
			}
			stopped = true
		case err != nil:
			t.Fatal(err)
		}
		if s := p.Stats(); s.Recycled > 0 {
			stopped = true
		}
	}
	if !stopped {
		t.Fatalf("512 MiB kept under a 256 MiB limit: %+v", p.Stats())
	}
	if v, err := PID.Call(ctx, p, struct{}{}); err != nil || v == hogPID {
		t.Fatalf("pid %d (hog %d), %v: the worker over its limit still serves", v, hogPID, err)
	}
	submitSquares(t, p, 100)()
	if s := p.Stats(); s.Crashed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestIdempotentRetried(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	ctx := context.Background()
	check := submitSquares(t, p, 300)
	f, _ := Flaky.Submit(ctx, p, t.TempDir()+"/marker")
	g, _ := FlakyOnce.Submit(ctx, p, t.TempDir()+"/marker")
	if v, err := f.Result(ctx); err != nil || v != "ok" {
		t.Fatalf("idempotent task: %q, %v", v, err)
	}
	_, err := g.Result(ctx)
	var we *mp.WorkerError
	if !errors.As(err, &we) || we.ExitCode != 7 {
		t.Fatalf("task without retries: %v", err)
	}
	check()
	if s := p.Stats(); s.Retried != 1 || s.Crashed != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBrokenFrameFromWorker(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	ctx := context.Background()
	check := submitSquares(t, p, 300)
	bad, _ := Garbage.Submit(ctx, p, 0)
	_, err := bad.Result(ctx)
	var we *mp.WorkerError
	if !errors.As(err, &we) || !errors.Is(err, mp.ErrProtocol) {
		t.Fatalf("%v", err)
	}
	check()
}

// orphanParent is the test binary as a pool's parent, to be killed with
// SIGKILL by TestOrphanedWorkersExit. It never returns.
func orphanParent() {
	if os.Getenv("MP_TEST_PDEATHSIG") == "off" {
		mp.SetPdeathsig(false)
	}
	p, err := mp.NewPool(mp.WithMaxWorkers(2))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	fifo := os.Getenv("MP_TEST_FIFO")
	for i := 0; i < 2; i++ {
		// Each worker starts a program, which must not outlive it.
		if _, err := Parent.Submit(ctx, p, fifo); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for {
		time.Sleep(time.Hour)
	}
}

func TestOrphanedWorkersExit(t *testing.T) {
	for _, pdeathsig := range []string{"on", "off"} {
		t.Run("pdeathsig="+pdeathsig, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			fifo := newFIFO(t, "ready")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "MP_TEST_ROLE=orphan-parent", "MP_TEST_FIFO="+fifo, "MP_TEST_PDEATHSIG="+pdeathsig)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pids := readPIDs(t, fifo, 4) // two workers and their children
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			// The workers exit by themselves.
			for _, pid := range pids {
				waitGone(t, pid)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// deletedExeMain deletes this binary, then runs a task on a new pool: the
// workers must still start (as after a deploy replaced the program).
func deletedExeMain() int {
	exe, err := os.Executable()
	if err == nil {
		err = os.Remove(exe)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p, err := mp.NewPool(mp.WithMaxWorkers(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.Shutdown(context.Background())
	f, err := Square.Submit(context.Background(), p, 7)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	v, err := f.Result(context.Background())
	fmt.Println(v, err)
	return 0
}

func TestWorkersStartAfterTheBinaryIsDeleted(t *testing.T) {
	defer goleak.VerifyNone(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	cp := t.TempDir() + "/mp.test.copy"
	if err := os.WriteFile(cp, data, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cp, "-test.run=^$")
	cmd.Env = append(os.Environ(), "MP_TEST_ROLE=deleted-exe")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "49 <nil>" {
		t.Fatalf("%v: %s", err, out)
	}
}
