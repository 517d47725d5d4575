package aio_test

// Tests of the event loop itself and of the runner, written from CPython's
// Lib/test/test_asyncio (test_events.py, test_base_events.py,
// test_runners.py, test_tasks.py). Behaviours that asyncio has no test for
// (the virtual clock, waiting from a callback, waiting from a plain
// goroutine) say so. Every test ends with no goroutine left behind
// (TestMain in main_test.go).

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
	"go.uber.org/goleak"
)

// ---- helpers shared by the test files of this package ----

// errBoom and errZero stand for Python's exceptions in the mirrored tests
// (ValueError, ZeroDivisionError...).
var (
	errBoom = errors.New("boom")
	errZero = errors.New("division by zero")
)

// myError is a typed error, for errors.As.
type myError struct{ n int }

func (e *myError) Error() string { return "my error" }

// vrun runs main with aio.Run on a loop with a virtual clock and returns
// Run's error.
func vrun(main func(ctx context.Context) error, opts ...aio.Option) error {
	return aio.Run(context.Background(), main, append([]aio.Option{aio.WithVirtualClock()}, opts...)...)
}

// mustRun is vrun that fails the test when Run returns an error.
func mustRun(t *testing.T, main func(ctx context.Context) error, opts ...aio.Option) {
	t.Helper()
	if err := vrun(main, opts...); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// now is the loop's clock, for the virtual-clock assertions.
func now(ctx context.Context) time.Time { return aio.CurrentLoop(ctx).Time() }

// elapsed returns the loop time elapsed since start.
func elapsed(ctx context.Context, start time.Time) time.Duration { return now(ctx).Sub(start) }

// sleeper returns a task function that sleeps d and returns v.
func sleeper[T any](d time.Duration, v T) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		if err := aio.Sleep(ctx, d); err != nil {
			var zero T
			return zero, err
		}
		return v, nil
	}
}

// failer returns a task function that sleeps d and fails with err.
func failer[T any](d time.Duration, err error) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		var zero T
		if e := aio.Sleep(ctx, d); e != nil {
			return zero, e
		}
		return zero, err
	}
}

// logBuf is a goroutine-safe buffer for a slog handler.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLogger returns a logger that writes text records to the returned
// buffer.
func newLogger() (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

func isCancel(err error) bool { return errors.Is(err, context.Canceled) }

func isTimeout(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// newLoop makes a loop for the tests that drive it by hand and closes it
// at the end of the test.
func newLoop(t *testing.T, opts ...aio.Option) *aio.Loop {
	t.Helper()
	l, err := aio.NewLoop(opts...)
	if err != nil {
		t.Fatalf("NewLoop: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// ---- callbacks ----

// Mirrors test_events.py: test_call_soon (and the FIFO order asyncio
// guarantees for call_soon).
func TestCallSoonFIFO(t *testing.T) {
	l := newLoop(t)
	var got []int
	for i := range 10 {
		l.CallSoon(func() { got = append(got, i) })
	}
	l.CallSoon(l.Stop)
	if err := l.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// Mirrors test_events.py: test_call_soon_threadsafe_same_thread (a
// thread-safe call and a plain one keep the order they were made in), and
// a cancelled handle does not run.
func TestCallSoonHandleCancel(t *testing.T) {
	l := newLoop(t)
	var got []string
	l.CallSoon(func() { got = append(got, "a") })
	h := l.CallSoon(func() { got = append(got, "cancelled") })
	l.CallSoon(func() { got = append(got, "b") })
	h.Cancel()
	if !h.Cancelled() {
		t.Error("Cancelled() = false after Cancel")
	}
	l.CallSoon(l.Stop)
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Mirrors test_events.py: test_call_later and test_base_events.py:
// test_time_and_call_at: timers fire in the order of their times, timers
// due at the same instant in the order they were scheduled, and the loop's
// clock reads the time of the timer.
func TestCallLaterCallAtOrder(t *testing.T) {
	l := newLoop(t, aio.WithVirtualClock())
	start := l.Time()
	type fired struct {
		name string
		at   time.Duration
	}
	var got []fired
	rec := func(name string) func() {
		return func() { got = append(got, fired{name, l.Time().Sub(start)}) }
	}
	l.CallLater(3*time.Second, rec("c"))
	l.CallAt(start.Add(1*time.Second), rec("a"))
	l.CallLater(2*time.Second, rec("b1"))
	l.CallAt(start.Add(2*time.Second), rec("b2"))
	l.CallLater(-time.Second, rec("now")) // a negative delay is "as soon as possible"
	l.CallLater(3*time.Second, l.Stop)
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	want := []fired{{"now", 0}, {"a", time.Second}, {"b1", 2 * time.Second}, {"b2", 2 * time.Second}, {"c", 3 * time.Second}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Mirrors test_events.py: TimerTests (a cancelled timer never runs, and
// Cancel reports whether it stopped the timer).
func TestTimerCancel(t *testing.T) {
	l := newLoop(t, aio.WithVirtualClock())
	ran := false
	tm := l.CallLater(time.Second, func() { ran = true })
	if !tm.Cancel() {
		t.Error("first Cancel() = false")
	}
	if tm.Cancel() {
		t.Error("second Cancel() = true")
	}
	if !tm.Cancelled() {
		t.Error("Cancelled() = false")
	}
	fired := l.CallLater(time.Second, func() {})
	l.CallLater(2*time.Second, l.Stop)
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("a cancelled timer ran")
	}
	if fired.Cancel() {
		t.Error("Cancel() of a timer that has fired = true")
	}
	// Many cancelled timers (enough to compact the heap) leave the live
	// ones in order.
	var got []int
	var live []int
	for i := range 500 {
		tm := l.CallLater(time.Duration(500-i)*time.Millisecond, func() { got = append(got, i) })
		if i%5 != 0 {
			tm.Cancel()
		} else {
			live = append([]int{i}, live...)
		}
	}
	l.CallLater(time.Second, l.Stop)
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, live) {
		t.Fatalf("after compaction got %v, want %v", got, live)
	}
}

// Mirrors test_events.py: test_call_soon_threadsafe, from many goroutines
// at once: every callback runs, on the loop, each goroutine's in its
// order.
func TestCallSoonThreadsafeFromGoroutines(t *testing.T) {
	l := newLoop(t)
	const goroutines, each = 8, 200
	seen := make([][]int, goroutines) // touched only by loop callbacks
	total := 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				if err := l.CallSoonThreadsafe(func() {
					seen[g] = append(seen[g], i)
					total++
					if total == goroutines*each {
						l.Stop()
					}
				}); err != nil {
					t.Errorf("CallSoonThreadsafe: %v", err)
					return
				}
			}
		}()
	}
	l.CallSoon(func() { close(start) })
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for g := range goroutines {
		if len(seen[g]) != each || !slices.IsSorted(seen[g]) {
			t.Fatalf("goroutine %d: %d callbacks, sorted %v", g, len(seen[g]), slices.IsSorted(seen[g]))
		}
	}
}

// Mirrors test_events.py: test_run_until_complete_nesting and test_close,
// and test_runners.py: RunnerTests.test_double_close: the errors of a
// running, a stopped and a closed loop.
func TestLoopStopCloseErrors(t *testing.T) {
	l, err := aio.NewLoop(aio.WithVirtualClock())
	if err != nil {
		t.Fatal(err)
	}
	var nested, closeWhileRunning error
	running := false
	l.CallSoon(func() {
		running = l.IsRunning()
		nested = l.Run()
		closeWhileRunning = l.Close()
		l.Stop()
	})
	if err := l.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !running {
		t.Error("IsRunning() = false inside a callback")
	}
	if l.IsRunning() {
		t.Error("IsRunning() = true after Run returned")
	}
	if !errors.Is(nested, aio.ErrLoopRunning) {
		t.Errorf("Run inside Run: %v, want ErrLoopRunning", nested)
	}
	if !errors.Is(closeWhileRunning, aio.ErrLoopRunning) {
		t.Errorf("Close while running: %v, want ErrLoopRunning", closeWhileRunning)
	}
	// The loop can run again after Stop.
	ran := false
	l.CallSoon(func() { ran = true; l.Stop() })
	if err := l.Run(); err != nil || !ran {
		t.Fatalf("second Run: %v, ran %v", err, ran)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !l.IsClosed() {
		t.Error("IsClosed() = false after Close")
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if err := l.Run(); !errors.Is(err, aio.ErrLoopClosed) {
		t.Errorf("Run after Close: %v, want ErrLoopClosed", err)
	}
	if err := l.CallSoonThreadsafe(func() {}); !errors.Is(err, aio.ErrLoopClosed) {
		t.Errorf("CallSoonThreadsafe after Close: %v, want ErrLoopClosed", err)
	}
	task := aio.Spawn(l.Context(), func(ctx context.Context) (int, error) { return 1, nil })
	if _, err := task.Result(); !errors.Is(err, aio.ErrLoopClosed) {
		t.Errorf("Spawn on a closed loop: %v, want ErrLoopClosed", err)
	}
	if err := l.RunUntilComplete(task); !errors.Is(err, aio.ErrLoopClosed) {
		t.Errorf("RunUntilComplete after Close: %v, want ErrLoopClosed", err)
	}
}

// Mirrors test_tasks.py: test_stop_while_run_in_complete (and
// test_events.py: test_run_until_complete_stopped): Stop inside
// RunUntilComplete returns an error and leaves the task pending; it can
// then be cancelled and run to its end.
func TestStopWhileRunUntilComplete(t *testing.T) {
	l := newLoop(t, aio.WithVirtualClock())
	x := 0
	task := aio.Spawn(l.Context(), func(ctx context.Context) (int, error) {
		for x < 10 {
			if err := aio.Sleep(ctx, 100*time.Millisecond); err != nil {
				return x, err
			}
			x++
			if x == 2 {
				l.Stop()
			}
		}
		return x, nil
	})
	start := l.Time()
	if err := l.RunUntilComplete(task); err == nil {
		t.Fatal("RunUntilComplete after Stop: nil error")
	}
	if task.Done() || x != 2 {
		t.Fatalf("done %v, x %d; want pending task, x 2", task.Done(), x)
	}
	if d := l.Time().Sub(start); d != 200*time.Millisecond {
		t.Errorf("loop time %v, want 200ms", d)
	}
	task.Cancel()
	if err := l.RunUntilComplete(task); !isCancel(err) {
		t.Fatalf("after Cancel: %v, want a cancellation", err)
	}
	if !task.Cancelled() {
		t.Error("Cancelled() = false")
	}
}

// Mirrors test_base_events.py: test_run_until_complete_loop:
// RunUntilComplete of a future of another loop is an error.
func TestRunUntilCompleteOtherLoop(t *testing.T) {
	l1 := newLoop(t)
	l2 := newLoop(t)
	f := aio.NewFuture[int](l2.Context())
	if err := l1.RunUntilComplete(f); !errors.Is(err, aio.ErrOtherLoop) {
		t.Fatalf("got %v, want ErrOtherLoop", err)
	}
}

// ---- the virtual clock and Sleep ----

// No CPython counterpart (asyncio has no virtual clock; trio's autojump
// clock): an hour of sleep passes at once, and the loop's clock reads
// exactly one hour later.
func TestVirtualClockJumpsAnHour(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		if err := aio.Sleep(ctx, time.Hour); err != nil {
			return err
		}
		if d := elapsed(ctx, start); d != time.Hour {
			t.Errorf("loop clock moved %v, want 1h", d)
		}
		// Two sleepers of different lengths wake in order and the clock
		// stops at each.
		var order []time.Duration
		a := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := aio.Sleep(ctx, 3*time.Hour)
			order = append(order, elapsed(ctx, start))
			return 0, err
		})
		b := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := aio.Sleep(ctx, 2*time.Hour)
			order = append(order, elapsed(ctx, start))
			return 0, err
		})
		if _, err := aio.Gather(ctx, a, b); err != nil {
			return err
		}
		if want := []time.Duration{3 * time.Hour, 4 * time.Hour}; !slices.Equal(order, want) {
			t.Errorf("wake times %v, want %v", order, want)
		}
		return nil
	})
}

// Mirrors test_tasks.py: SleepTests.test_sleep_zero: Sleep(ctx, 0) yields
// exactly one iteration of the loop: callbacks scheduled before it have
// run when it returns, callbacks they schedule in turn have not.
func TestSleepZeroYieldsOneIteration(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		first, second := 0, 0
		l.CallSoon(func() {
			first++
			l.CallSoon(func() { second++ })
		})
		if first != 0 {
			t.Fatal("CallSoon ran a callback at once")
		}
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		if first != 1 || second != 0 {
			t.Errorf("after one Sleep(0): first %d second %d, want 1 0", first, second)
		}
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		if second != 1 {
			t.Errorf("after two Sleep(0): second %d, want 1", second)
		}
		return nil
	})
}

// Mirrors test_tasks.py: test_sleep (and the round-robin of tasks that
// yield with sleep(0)): two tasks that yield with Sleep(0) alternate.
func TestSleepZeroInterleavesTasks(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var trace []string
		step := func(name string) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				for i := range 3 {
					trace = append(trace, name+string(rune('0'+i)))
					if err := aio.Sleep(ctx, 0); err != nil {
						return 0, err
					}
				}
				return 0, nil
			}
		}
		a := aio.Spawn(ctx, step("a"))
		b := aio.Spawn(ctx, step("b"))
		if _, err := aio.Gather(ctx, a, b); err != nil {
			return err
		}
		want := []string{"a0", "b0", "a1", "b1", "a2", "b2"}
		if !slices.Equal(trace, want) {
			t.Errorf("trace %v, want %v", trace, want)
		}
		return nil
	})
}

// ---- panics ----

// Mirrors test_base_events.py: test_default_exc_handler_callback: a panic
// in a callback is logged with its stack and the loop goes on.
func TestPanicInCallbackIsLoggedAndLoopContinues(t *testing.T) {
	logger, logs := newLogger()
	l := newLoop(t, aio.WithLogger(logger))
	after := false
	l.CallSoon(func() { panic("zero division in callback") })
	l.CallSoon(func() { after = true })
	l.CallSoon(l.Stop)
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	if !after {
		t.Error("the callback after the panicking one did not run")
	}
	out := logs.String()
	if !strings.Contains(out, "zero division in callback") || !strings.Contains(out, "loop_test.go") {
		t.Errorf("log lacks the panic value or its stack:\n%s", out)
	}
}

// Mirrors test_tasks.py: test_exception_traceback: a panic in a task
// becomes a *PanicError on the task, with the value and the stack; the
// loop and the other tasks keep running.
func TestPanicInTaskBecomesPanicError(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		other := aio.Spawn(ctx, sleeper(time.Second, "still running"))
		bad := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := aio.Sleep(ctx, 0); err != nil {
				return 0, err
			}
			panicHere()
			return 1, nil
		}, aio.WithName("panicker"))
		_, err := bad.Await(ctx)
		var pe *aio.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T), want *aio.PanicError", err, err)
		}
		if pe.Value != "kaboom" || pe.Task != "panicker" {
			t.Errorf("PanicError value %v task %q", pe.Value, pe.Task)
		}
		if !strings.Contains(string(pe.Stack), "panicHere") {
			t.Errorf("stack does not show where it panicked:\n%s", pe.Stack)
		}
		if bad.Cancelled() {
			t.Error("a panicked task reports Cancelled")
		}
		v, err := other.Await(ctx)
		if err != nil || v != "still running" {
			t.Errorf("other task: %q, %v", v, err)
		}
		// A panic with an error value unwraps to it.
		e := aio.Spawn(ctx, func(ctx context.Context) (int, error) { panic(errBoom) })
		if _, err := e.Await(ctx); !errors.Is(err, errBoom) {
			t.Errorf("panic(errBoom): %v does not match errBoom", err)
		}
		return nil
	})
}

//go:noinline
func panicHere() { panic("kaboom") }

// ---- where one may wait ----

// No CPython counterpart (asyncio cannot await outside a coroutine):
// waiting inside a plain loop callback fails at once with ErrInCallback
// instead of blocking the loop.
func TestAwaitInCallbackIsAnError(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		f := aio.NewFuture[int](ctx)
		done := aio.NewFuture[[3]error](ctx)
		l.CallSoon(func() {
			_, e1 := f.Await(l.Context())
			e2 := aio.Sleep(l.Context(), time.Second)
			task := aio.Spawn(l.Context(), sleeper(0, 1))
			_, e3 := task.Await(l.Context())
			done.SetResult([3]error{e1, e2, e3})
		})
		errs, err := done.Await(ctx)
		if err != nil {
			return err
		}
		for i, e := range errs {
			if !errors.Is(e, aio.ErrInCallback) {
				t.Errorf("wait %d in a callback: %v, want ErrInCallback", i, e)
			}
		}
		return nil
	})
}

// Mirrors test_tasks.py: test_other_loop_future: a task that awaits a
// future of another loop gets ErrOtherLoop instead of a deadlock.
func TestAwaitOtherLoopFuture(t *testing.T) {
	other := newLoop(t)
	mustRun(t, func(ctx context.Context) error {
		f := aio.NewFuture[int](other.Context())
		if _, err := f.Await(ctx); !errors.Is(err, aio.ErrOtherLoop) {
			t.Errorf("Await: %v, want ErrOtherLoop", err)
		}
		if _, err := aio.WaitFor(ctx, time.Second, f); !errors.Is(err, aio.ErrOtherLoop) {
			t.Errorf("WaitFor: %v, want ErrOtherLoop", err)
		}
		if _, err := aio.Gather(ctx, f); !errors.Is(err, aio.ErrOtherLoop) {
			t.Errorf("Gather: %v, want ErrOtherLoop", err)
		}
		return nil
	})
}

// No CPython counterpart (asyncio's run_coroutine_threadsafe future is the
// nearest): Await from a goroutine that is not a task blocks that
// goroutine until the loop completes the future.
func TestAwaitFromPlainGoroutine(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		f := aio.NewFuture[int](ctx)
		task := aio.Spawn(ctx, sleeper(time.Minute, "task value"))
		// Let the task start before the goroutine looks at the loop (see
		// TestPendingAwaitFromGoroutineRace).
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		got := aio.NewFuture[string](ctx)
		go func() {
			v, err := f.Await(context.Background())
			s, terr := task.Await(context.Background())
			_ = l.CallSoonThreadsafe(func() {
				if err != nil || terr != nil || v != 42 {
					got.SetError(errors.Join(err, terr, errors.New("wrong value")))
					return
				}
				got.SetResult(s)
			})
		}()
		if err := aio.Sleep(ctx, time.Second); err != nil {
			return err
		}
		f.SetResult(42)
		s, err := got.Await(ctx)
		if err != nil || s != "task value" {
			t.Errorf("goroutine got %q, %v", s, err)
		}
		// A goroutine's wait ends with its own context.
		never := aio.NewFuture[int](ctx)
		cctx, cancel := context.WithCancel(context.Background())
		res := aio.NewFuture[error](ctx)
		go func() {
			_, err := never.Await(cctx)
			_ = l.CallSoonThreadsafe(func() { res.SetResult(err) })
		}()
		cancel()
		if e, _ := res.Await(ctx); !errors.Is(e, context.Canceled) {
			t.Errorf("goroutine wait with a cancelled context: %v", e)
		}
		never.Cancel()
		return nil
	})
}

// No CPython counterpart: CurrentTask is the running task in a task, and
// nil in a callback and in a plain goroutine. Mirrors test_tasks.py:
// test_current_task_with_interleaving_tasks for the tasks.
func TestCurrentTask(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		f1 := aio.NewFuture[bool](ctx)
		f2 := aio.NewFuture[bool](ctx)
		var t1, t2 *aio.Task[int]
		t1 = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if aio.CurrentTask(ctx) != aio.AnyTask(t1) {
				t.Error("CurrentTask in t1 is not t1")
			}
			if _, err := f1.Await(ctx); err != nil {
				return 0, err
			}
			if aio.CurrentTask(ctx) != aio.AnyTask(t1) {
				t.Error("CurrentTask in t1 after a wait is not t1")
			}
			f2.SetResult(true)
			return 0, nil
		})
		t2 = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if aio.CurrentTask(ctx) != aio.AnyTask(t2) {
				t.Error("CurrentTask in t2 is not t2")
			}
			f1.SetResult(true)
			if _, err := f2.Await(ctx); err != nil {
				return 0, err
			}
			if aio.CurrentTask(ctx) != aio.AnyTask(t2) {
				t.Error("CurrentTask in t2 after a wait is not t2")
			}
			return 0, nil
		})
		if _, err := aio.Gather(ctx, t1, t2); err != nil {
			return err
		}
		inCallback := aio.NewFuture[aio.AnyTask](ctx)
		l.CallSoon(func() { inCallback.SetResult(aio.CurrentTask(l.Context())) })
		if ct, _ := inCallback.Await(ctx); ct != nil {
			t.Errorf("CurrentTask in a callback = %v, want nil", ct)
		}
		inGoroutine := make(chan aio.AnyTask)
		go func() { inGoroutine <- aio.CurrentTask(ctx) }()
		// Receiving blocks the loop for a moment only; the goroutine does
		// not need the loop.
		if ct := <-inGoroutine; ct != nil {
			t.Errorf("CurrentTask in a goroutine = %v, want nil", ct)
		}
		return nil
	})
}

// ---- cancellation by any context ----

// No CPython counterpart (Go contexts): cancelling a context.WithCancel
// derived from the task's context, from another goroutine, wakes the task
// suspended on it; so does the deadline of a context.WithTimeout.
func TestForeignContextCancelWakesTask(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		never := aio.NewFuture[int](ctx)
		defer never.Cancel()

		cctx, cancel := context.WithCancel(ctx)
		go cancel()
		if _, err := never.Await(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Await with a context cancelled from a goroutine: %v", err)
		}

		// A context unrelated to the loop.
		bctx, bcancel := context.WithCancel(context.Background())
		go bcancel()
		if _, err := never.Await(bctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Await with a background context cancelled from a goroutine: %v", err)
		}

		// A deadline on the real clock.
		dctx, dcancel := context.WithTimeout(ctx, time.Millisecond)
		defer dcancel()
		if _, err := never.Await(dctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Await with a real-clock deadline: %v", err)
		}

		// The task itself is still fine.
		if err := ctx.Err(); err != nil {
			t.Errorf("task context: %v", err)
		}
		// Cancelling the task's context from a goroutine (through the
		// loop) wakes it too.
		child := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			_, err := never.Await(ctx)
			return 0, err
		})
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		l := aio.CurrentLoop(ctx)
		go l.CallSoonThreadsafe(func() { child.Cancel() })
		if _, err := child.Await(ctx); !isCancel(err) || !child.Cancelled() {
			t.Errorf("child: %v, cancelled %v", err, child.Cancelled())
		}
		return nil
	})
}

// ---- the runner ----

// Mirrors test_runners.py: test_asyncio_run_return and
// test_asyncio_run_raises.
func TestRunReturnsMainError(t *testing.T) {
	if err := vrun(func(ctx context.Context) error { return aio.Sleep(ctx, 0) }); err != nil {
		t.Errorf("Run: %v", err)
	}
	err := vrun(func(ctx context.Context) error {
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Run: %v, want errBoom", err)
	}
	// Cancelling Run's context cancels the main task.
	cctx, cancel := context.WithCancel(context.Background())
	err = aio.Run(cctx, func(ctx context.Context) error {
		never := aio.NewFuture[int](ctx)
		go cancel()
		_, err := never.Await(ctx)
		return err
	}, aio.WithVirtualClock())
	if !isCancel(err) {
		t.Errorf("Run with a cancelled context: %v", err)
	}
}

// Mirrors test_runners.py: test_asyncio_run_cancels_hanging_tasks: after
// main, the runner cancels the tasks still alive and waits for them (their
// deferred calls run), and leaves no goroutine behind.
func TestRunCancelsLeftoverTasks(t *testing.T) {
	var leftover *aio.Task[int]
	cleanedUp := false
	err := vrun(func(ctx context.Context) error {
		leftover = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			defer func() { cleanedUp = true }()
			return 0, aio.Sleep(ctx, time.Hour)
		})
		// A task that never started is cancelled too.
		aio.Spawn(ctx, sleeper(time.Hour, 0))
		return aio.Sleep(ctx, 0)
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !leftover.Done() || !leftover.Cancelled() || !cleanedUp {
		t.Errorf("leftover done %v cancelled %v cleaned up %v", leftover.Done(), leftover.Cancelled(), cleanedUp)
	}
	goleak.VerifyNone(t)
}

// Mirrors test_runners.py: test_asyncio_run_reports_hanging_tasks_errors:
// a leftover task that fails while being cancelled at shutdown is
// reported in the log.
func TestRunReportsLeftoverTaskErrors(t *testing.T) {
	logger, logs := newLogger()
	err := vrun(func(ctx context.Context) error {
		aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := aio.Sleep(ctx, time.Hour); err != nil {
				return 0, errZero
			}
			return 0, nil
		}, aio.WithName("leftover"))
		return aio.Sleep(ctx, 0)
	}, aio.WithLogger(logger))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "leftover") || !strings.Contains(out, errZero.Error()) {
		t.Errorf("the leftover's error is not logged:\n%s", out)
	}
}

// Mirrors test_tasks.py: test_log_destroyed_pending_task's sibling for
// errors (Future "exception was never retrieved"): the error of a task
// that nobody awaited is logged when the loop closes; a retrieved error
// and a cancellation are not.
func TestUnretrievedErrorLoggedAtClose(t *testing.T) {
	logger, logs := newLogger()
	var keep []*aio.Task[int]
	err := vrun(func(ctx context.Context) error {
		lost := aio.Spawn(ctx, failer[int](0, errZero), aio.WithName("lost-task"))
		seen := aio.Spawn(ctx, failer[int](0, errBoom), aio.WithName("seen-task"))
		cancelled := aio.Spawn(ctx, sleeper(time.Hour, 0), aio.WithName("cancelled-task"))
		keep = append(keep, lost, seen, cancelled)
		if err := aio.Sleep(ctx, time.Second); err != nil {
			return err
		}
		cancelled.Cancel()
		if _, err := seen.Result(); !errors.Is(err, errBoom) {
			t.Errorf("seen: %v", err)
		}
		return aio.Sleep(ctx, 0)
	}, aio.WithLogger(logger))
	runtime.KeepAlive(keep)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "lost-task") || !strings.Contains(out, "never retrieved") {
		t.Errorf("the lost task's error is not logged:\n%s", out)
	}
	if strings.Contains(out, "seen-task") || strings.Contains(out, "cancelled-task") {
		t.Errorf("a retrieved error or a cancellation is logged:\n%s", out)
	}
	if n := strings.Count(out, "never retrieved"); n != 1 {
		t.Errorf("%d reports, want 1:\n%s", n, out)
	}
}

// Mirrors test_runners.py: test_interrupt_wait: SIGINT while the runner
// runs cancels the main task; Run returns an error matching both
// ErrInterrupted and context.Canceled, and the program goes on.
func TestRunInterruptedBySIGINT(t *testing.T) {
	cleanedUp := false
	err := vrun(func(ctx context.Context) error {
		defer func() { cleanedUp = true }()
		never := aio.NewFuture[int](ctx)
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Errorf("kill: %v", err)
			return err
		}
		_, err := never.Await(ctx)
		return err
	})
	if !errors.Is(err, aio.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want ErrInterrupted and context.Canceled", err)
	}
	if !cleanedUp {
		t.Error("main's deferred calls did not run")
	}
}

// ---- Close without the runner ----

// Mirrors test_tasks.py: test_log_destroyed_pending_task (a task still
// pending when its loop goes away): Close resumes suspended tasks one last
// time with their waits failing, so their deferred calls run and no
// goroutine is left.
func TestCloseAbandonsSuspendedTasks(t *testing.T) {
	l, err := aio.NewLoop(aio.WithVirtualClock())
	if err != nil {
		t.Fatal(err)
	}
	cleanedUp := false
	var waitErr error
	never := aio.NewFuture[int](l.Context())
	task := aio.Spawn(l.Context(), func(ctx context.Context) (int, error) {
		defer func() { cleanedUp = true }()
		_, waitErr = never.Await(ctx)
		return 0, waitErr
	})
	second := aio.Spawn(l.Context(), sleeper(time.Hour, 0))
	l.CallSoon(l.Stop)
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !cleanedUp || !errors.Is(waitErr, aio.ErrLoopClosed) || !errors.Is(waitErr, context.Canceled) {
		t.Errorf("cleaned up %v, wait error %v", cleanedUp, waitErr)
	}
	if !task.Done() || !second.Done() {
		t.Errorf("tasks done %v %v after Close", task.Done(), second.Done())
	}
	goleak.VerifyNone(t)
}

// ---- debug mode ----

// Mirrors test_base_events.py: test_log_slow_callbacks and
// test_events.py: test_debug_slow_task_callbacks: in debug mode a callback
// or a task step that holds the loop longer than the slow-callback
// duration is logged, naming the task. The duration is 1ns and the work
// is a busy loop until the loop's real clock has moved: no timing
// assertion.
func TestDebugSlowCallbackWarning(t *testing.T) {
	logger, logs := newLogger()
	busy := func(l *aio.Loop) {
		start := l.Time()
		for !l.Time().After(start) {
		}
	}
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		if !l.Debug() {
			t.Error("Debug() = false with WithDebug(true)")
		}
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			busy(l)
			return 0, nil
		}, aio.WithName("blocking-task"))
		if _, err := task.Await(ctx); err != nil {
			return err
		}
		done := aio.NewFuture[int](ctx)
		l.CallSoon(func() { busy(l); done.SetResult(0) })
		_, err := done.Await(ctx)
		return err
	}, aio.WithDebug(true), aio.WithSlowCallbackDuration(time.Nanosecond), aio.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "blocking-task") || !strings.Contains(out, "duration=") {
		t.Errorf("no slow-step warning naming the task:\n%s", out)
	}
	if !strings.Contains(out, "a callback held the event loop") {
		t.Errorf("no slow-callback warning:\n%s", out)
	}

	// Without debug mode, nothing is logged.
	logger2, logs2 := newLogger()
	err = aio.Run(context.Background(), func(ctx context.Context) error {
		busy(aio.CurrentLoop(ctx))
		return nil
	}, aio.WithDebug(false), aio.WithSlowCallbackDuration(time.Nanosecond), aio.WithLogger(logger2))
	if err != nil {
		t.Fatal(err)
	}
	if out := logs2.String(); out != "" {
		t.Errorf("debug off, yet logged:\n%s", out)
	}
}

// Mirrors test_tasks.py: GatherTestsBase.test_env_var_debug:
// BRAID_DEBUG=1 turns debug mode on, and an option overrides it.
func TestDebugFromEnvironment(t *testing.T) {
	t.Setenv("BRAID_DEBUG", "1")
	if l := newLoop(t); !l.Debug() {
		t.Error("BRAID_DEBUG=1: Debug() = false")
	}
	if l := newLoop(t, aio.WithDebug(false)); l.Debug() {
		t.Error("BRAID_DEBUG=1 with WithDebug(false): Debug() = true")
	}
	t.Setenv("BRAID_DEBUG", "")
	if l := newLoop(t); l.Debug() {
		t.Error("BRAID_DEBUG unset: Debug() = true")
	}
}
