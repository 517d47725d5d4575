package aio_test

// Regression tests for bugs found by the CPython-mirrored suite and
// fixed since; each names the CPython test it mirrors as in the other
// files.

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// Mirrors test_tasks.py: test_as_completed: AsCompleted yields every
// future, in completion order, also when they complete in different
// iterations of the loop.
func TestRegressionAsCompleted(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		a := aio.Spawn(ctx, sleeper(10*time.Millisecond, "a"))
		b := aio.Spawn(ctx, sleeper(10*time.Millisecond, "b"))
		c := aio.Spawn(ctx, sleeper(150*time.Millisecond, "c"))
		var got []string
		for f, err := range aio.AsCompleted(ctx, []*aio.Task[string]{b, c, a}) {
			if err != nil {
				return err
			}
			v, _ := f.Result()
			got = append(got, v)
		}
		if len(got) != 3 || !slices.Contains(got[:2], "a") || !slices.Contains(got[:2], "b") || got[2] != "c" {
			t.Errorf("yielded %v, want a and b, then c", got)
		}
		if d := elapsed(ctx, start); d != 150*time.Millisecond {
			t.Errorf("loop time %v, want 150ms", d)
		}
		// One at a time.
		var ts []*aio.Task[int]
		for i := range 4 {
			ts = append(ts, aio.Spawn(ctx, sleeper(time.Duration(4-i)*time.Second, i)))
		}
		var order []int
		for f, err := range aio.AsCompleted(ctx, ts) {
			if err != nil {
				return err
			}
			v, _ := f.Result()
			order = append(order, v)
		}
		if want := []int{3, 2, 1, 0}; !slices.Equal(order, want) {
			t.Errorf("completion order %v, want %v", order, want)
		}
		return nil
	})
}

// Mirrors test_tasks.py: test_as_completed_resume_iterator (the Go
// shape): breaking out of the range and ranging the same sequence again
// yields every future again, the done ones first.
func TestRegressionAsCompletedBreakAndRangeAgain(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var ts []*aio.Task[int]
		for i := range 4 {
			ts = append(ts, aio.Spawn(ctx, sleeper(time.Duration(i)*time.Second, i)))
		}
		seq := aio.AsCompleted(ctx, ts)
		var first []int
		for f, err := range seq {
			if err != nil {
				return err
			}
			v, _ := f.Result()
			first = append(first, v)
			if len(first) == 2 {
				break
			}
		}
		var second []int
		for f, err := range seq {
			if err != nil {
				return err
			}
			v, _ := f.Result()
			second = append(second, v)
		}
		if !slices.Equal(first, []int{0, 1}) || !slices.Equal(second, []int{0, 1, 2, 3}) {
			t.Errorf("first range %v, second range %v", first, second)
		}
		return nil
	})
}

// The body of ExampleAsCompleted, which has no "Output:" line until
// AsCompleted is fixed; this test checks what it prints.
func TestRegressionExampleAsCompleted(t *testing.T) {
	var b strings.Builder
	asCompletedExample(&b)
	if want := "fast\nmedium\nslow\n"; b.String() != want {
		t.Errorf("printed %q, want %q", b.String(), want)
	}
}

// No CPython counterpart: a task that calls runtime.Goexit (t.FailNow in
// a test) fails with an error; the loop and the goroutine running it go
// on.
func TestRegressionGoexitInTask(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		})
		if _, err := task.Await(ctx); err == nil || !strings.Contains(err.Error(), "Goexit") {
			t.Errorf("got %v, want an error naming Goexit", err)
		}
		return nil
	})
}

// Mirrors test_tasks.py: CoroutineGatherTests.test_exception_marking: when
// two children fail, Gather returns the first error and the second one is
// not reported as never retrieved.
func TestRegressionGatherExceptionMarking(t *testing.T) {
	logger, logs := newLogger()
	var keep []*aio.Task[int]
	mustRun(t, func(ctx context.Context) error {
		a, b := aio.NewFuture[int](ctx), aio.NewFuture[int](ctx)
		inner := func(f *aio.Future[int], err error) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				if _, e := f.Await(ctx); e != nil {
					return 0, e
				}
				return 0, err
			}
		}
		ta := aio.Spawn(ctx, inner(a, errBoom), aio.WithName("first"))
		tb := aio.Spawn(ctx, inner(b, errZero), aio.WithName("second"))
		keep = append(keep, ta, tb)
		outer := aio.Spawn(ctx, func(ctx context.Context) ([]int, error) { return aio.Gather(ctx, ta, tb) })
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		a.SetResult(0)
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		b.SetResult(0)
		if _, err := outer.Await(ctx); !errors.Is(err, errBoom) {
			t.Errorf("outer: %v, want errBoom", err)
		}
		return aio.Sleep(ctx, time.Second)
	}, aio.WithLogger(logger))
	runtime.KeepAlive(keep)
	if out := logs.String(); strings.Contains(out, "never retrieved") {
		t.Errorf("a gathered error was reported as never retrieved:\n%s", out)
	}
}

// Mirrors test_taskgroups.py: test_taskgroup_04 (the ExceptionGroup holds
// the child's error, and asyncio logs nothing else): a child's error that
// the group reports is not also logged as never retrieved.
func TestRegressionTaskGroupErrorsNotLoggedAsUnretrieved(t *testing.T) {
	logger, logs := newLogger()
	mustRun(t, func(ctx context.Context) error {
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			return g.Go(func(ctx context.Context) error { return errZero }, aio.WithName("child"))
		})
		if !errors.Is(err, errZero) {
			t.Errorf("Group: %v", err)
		}
		return nil
	}, aio.WithLogger(logger))
	if out := logs.String(); strings.Contains(out, "never retrieved") {
		t.Errorf("a group child's error was reported as never retrieved:\n%s", out)
	}
}

// No CPython counterpart (virtual clock): a Go context cancelled by a
// loop callback at virtual time 1s ends a wait at 1s; the virtual clock
// must not jump past the cancellation while it travels (context.AfterFunc
// runs its function on a new goroutine that then calls
// CallSoonThreadsafe).
func TestRegressionVirtualClockForeignCancel(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		a := aio.Spawn(ctx, sleeper(time.Hour, 0))
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		aio.CurrentLoop(ctx).CallLater(time.Second, cancel)
		done, pending, err := aio.Wait(wctx, []*aio.Task[int]{a}, aio.AllCompleted)
		if !errors.Is(err, context.Canceled) || len(done) != 0 || len(pending) != 1 {
			t.Errorf("Wait: done %v pending %v, %v; want the cancellation at 1s", done, pending, err)
		}
		if d := elapsed(ctx, start); d != time.Second {
			t.Errorf("loop time %v, want 1s", d)
		}
		a.Cancel()
		// The same with Sleep and a child task spawned on such a context.
		for range 20 {
			start = now(ctx)
			sctx, scancel := context.WithCancel(ctx)
			aio.CurrentLoop(ctx).CallLater(time.Second, scancel)
			child := aio.Spawn(sctx, sleeper(time.Hour, 0))
			err := aio.Sleep(sctx, time.Hour)
			_, cerr := child.Await(ctx)
			if !isCancel(err) || !isCancel(cerr) || elapsed(ctx, start) != time.Second {
				t.Fatalf("Sleep: %v, child: %v, after %v; want cancellations at 1s", err, cerr, elapsed(ctx, start))
			}
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_timeout_zero_sleep_zero and
// test_timeout_in_the_past_sleep_zero: a scope whose deadline is now or
// past interrupts even Sleep(ctx, 0). (Go's own context.WithTimeout(ctx,
// 0) is done before it returns.)
func TestRegressionTimeoutZeroSleepZero(t *testing.T) {
	for _, d := range []time.Duration{0, -11 * time.Second} {
		mustRun(t, func(ctx context.Context) error {
			t0 := now(ctx)
			tctx, cm := aio.WithTimeout(ctx, d)
			defer cm.Stop()
			if err := tctx.Err(); !isTimeout(err) {
				t.Errorf("timeout %v: Err() right after WithTimeout = %v, want DeadlineExceeded", d, err)
			}
			if err := aio.Sleep(tctx, 0); !isTimeout(err) {
				t.Errorf("timeout %v: Sleep(0): %v, want DeadlineExceeded", d, err)
			}
			w, _ := cm.When()
			if !cm.Expired() || w.After(now(ctx)) || !now(ctx).Equal(t0) {
				t.Errorf("timeout %v: expired %v, when %v", d, cm.Expired(), w)
			}
			return nil
		})
	}
}

// Mirrors test_waitfor.py: test_wait_for_blocking and
// test_cancel_blocking_wait_for (timeout=None): WaitFor with Forever
// waits without limit, as Wait does with Forever.
func TestRegressionWaitForForever(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		coro := aio.Spawn(ctx, sleeper(time.Hour, "done"))
		v, err := aio.WaitFor(ctx, aio.Forever, coro)
		if err != nil || v != "done" {
			t.Errorf("WaitFor(Forever): %q, %v; want done", v, err)
		}
		blocking := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return aio.NewFuture[int](ctx).Await(ctx)
		})
		wait := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return aio.WaitFor(ctx, aio.Forever, blocking)
		})
		aio.CurrentLoop(ctx).CallSoon(func() { wait.Cancel() })
		if _, err := wait.Await(ctx); !isCancel(err) || errors.Is(err, aio.ErrTimeout) {
			t.Errorf("cancelled WaitFor(Forever): %v, want a cancellation", err)
		}
		if !blocking.Cancelled() {
			t.Error("the inner task was not cancelled")
		}
		return nil
	})
}

// Mirrors test_tasks.py: test_task_awaits_on_itself: a task that awaits
// itself gets an error at once instead of waiting forever.
func TestRegressionTaskAwaitsOnItself(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var task *aio.Task[int]
		task = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return task.Await(ctx)
		})
		// WaitFor bounds the test if the bug is there.
		_, err := aio.WaitFor(ctx, time.Second, task)
		if err == nil || errors.Is(err, aio.ErrTimeout) || isCancel(err) {
			t.Errorf("got %v, want an error saying a task cannot await itself", err)
		}
		return nil
	})
}

// Mirrors test_tasks.py: test_cancel_inner_future: a task whose function
// ends with the cancellation of a future it awaited is a cancelled task
// (in asyncio any CancelledError escaping a task cancels it); a group
// child that ends so is not a failure of the group.
func TestRegressionCancelInnerFuture(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		f := aio.NewFuture[int](ctx)
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if _, err := f.Await(ctx); err != nil {
				return 0, err
			}
			return 12, nil
		})
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		f.Cancel()
		if _, err := task.Await(ctx); !isCancel(err) {
			t.Errorf("Await: %v", err)
		}
		if !f.Cancelled() || !task.Cancelled() {
			t.Errorf("future cancelled %v, task cancelled %v; want both", f.Cancelled(), task.Cancelled())
		}
		g := aio.NewFuture[int](ctx)
		g.Cancel()
		err := aio.Group(ctx, func(ctx context.Context, tg *aio.TaskGroup) error {
			return tg.Go(func(ctx context.Context) error { _, err := g.Await(ctx); return err })
		})
		if err != nil {
			t.Errorf("Group: %v, want nil (a cancelled child is not a failure)", err)
		}
		return nil
	})
}

// Mirrors test_tasks.py: test_wait_errors (return_when=-1): an unknown
// ReturnWhen is an error, not AllCompleted.
func TestRegressionWaitInvalidReturnWhen(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		a := aio.Spawn(ctx, sleeper(time.Second, 0))
		if _, _, err := aio.Wait(ctx, []*aio.Task[int]{a}, aio.ReturnWhen(42)); err == nil {
			t.Error("Wait with ReturnWhen(42): nil error")
		}
		return nil
	})
}

// Mirrors test_tasks.py: FutureGatherTests.test_constructor_heterogenous_futures:
// futures of two loops in one Gather (or Wait, AsCompleted) are an error;
// today only the first one's loop is checked, and the other loop's future
// gets a notifier of this loop that it would call from its own goroutine.
func TestRegressionGatherHeterogeneousLoops(t *testing.T) {
	other := newLoop(t)
	mustRun(t, func(ctx context.Context) error {
		mine := aio.NewFuture[int](ctx)
		mine.SetResult(1)
		theirs := aio.NewFuture[int](other.Context())
		gatherer := aio.Spawn(ctx, func(ctx context.Context) ([]int, error) { return aio.Gather(ctx, mine, theirs) })
		// WaitFor bounds the test if the bug is there.
		_, err := aio.WaitFor(ctx, time.Second, gatherer)
		if !errors.Is(err, aio.ErrOtherLoop) {
			t.Errorf("Gather over two loops: %v, want ErrOtherLoop", err)
		}
		_, _, err = aio.Wait(ctx, []*aio.Future[int]{mine, theirs}, aio.FirstCompleted)
		if !errors.Is(err, aio.ErrOtherLoop) {
			t.Errorf("Wait over two loops: %v, want ErrOtherLoop", err)
		}
		return nil
	})
}

// Mirrors test_runners.py: test_asyncio_run_from_running_loop: Run called
// from a task of a running loop fails instead of running a second loop on
// the task's stack (which blocks the first loop meanwhile).
func TestRegressionRunFromRunningLoop(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		ran := false
		err := aio.Run(ctx, func(ctx context.Context) error { ran = true; return nil })
		if err == nil || ran {
			t.Errorf("nested Run: %v, main ran %v; want an error and no run", err, ran)
		}
		return nil
	})
}

// No CPython counterpart: a plain goroutine may await a future of the
// loop while the loop starts new tasks (the issue: "awaiting in a plain
// goroutine blocks that goroutine"); under the race detector this must not
// report a race.
func TestRegressionAwaitFromGoroutineRace(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		f := aio.NewFuture[int](ctx)
		f.SetResult(1)
		done := aio.NewFuture[int](ctx)
		go func() {
			n := 0
			for range 2000 {
				v, _ := f.Await(context.Background())
				n += v
			}
			l.CallSoonThreadsafe(func() { done.SetResult(n) })
		}()
		for !done.Done() {
			var ts []*aio.Task[int]
			for range 50 {
				ts = append(ts, aio.Spawn(ctx, sleeper(0, 0)))
			}
			if _, err := aio.Gather(ctx, ts...); err != nil {
				return err
			}
		}
		if n, _ := done.Result(); n != 2000 {
			t.Errorf("goroutine saw %d, want 2000", n)
		}
		return nil
	})
}
