package aio_test

// Tests of WaitFor, written from CPython's
// Lib/test/test_asyncio/test_waitfor.py. asyncio's wait_for takes a
// coroutine and wraps it in a task; braid's WaitFor takes the task (or
// future), so the tests spawn it first. All times are on a virtual clock.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// slowTask runs for a fixed time on the loop's clock and ignores
// cancellation (it keeps sleeping on a context that is not cancelled),
// like test_waitfor.py's SlowTask.
type slowTask struct {
	d      time.Duration
	exited bool
}

func (s *slowTask) run(ctx context.Context) (int, error) {
	exitAt := now(ctx).Add(s.d)
	for {
		left := exitAt.Sub(now(ctx))
		if left <= 0 {
			break
		}
		aio.Sleep(context.WithoutCancel(ctx), left)
	}
	s.exited = true
	return 0, nil
}

// Mirrors test_waitfor.py: test_asyncio_wait_for_cancelled: cancelling
// the task that waits in WaitFor cancels the inner task and waits for it
// to end, even when the inner task takes its time.
func TestAsyncioWaitForCancelled(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		s := &slowTask{d: 200 * time.Millisecond}
		waitForTask := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return aio.WaitFor(ctx, 2*s.d, aio.Spawn(ctx, s.run))
		})
		// Two iterations: the waiter starts and spawns the inner task, then
		// the inner task starts (asyncio's wait_for runs the coroutine in
		// the waiter's own task, so it has started when the test cancels).
		for range 2 {
			if err := aio.Sleep(ctx, 0); err != nil {
				return err
			}
		}
		waitForTask.Cancel()
		if _, _, err := aio.Wait(ctx, []*aio.Task[int]{waitForTask}, aio.AllCompleted); err != nil {
			return err
		}
		if !s.exited {
			t.Error("WaitFor ended before the inner task")
		}
		// The inner task swallowed the cancellation and returned a value:
		// like asyncio's wait_for, WaitFor may return it.
		if _, err := waitForTask.Result(); err != nil && !isCancel(err) {
			t.Errorf("WaitFor: %v, want nil or a cancellation", err)
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_asyncio_wait_for_timeout: on timeout
// WaitFor waits for the inner task to finish before it returns. The slow
// task ignores the cancellation and returns normally, so, as with
// asyncio's wait_for since 3.12, its value wins over the timeout (the
// CPython test accepts both).
func TestAsyncioWaitForTimeout(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		s := &slowTask{d: 200 * time.Millisecond}
		_, err := aio.WaitFor(ctx, s.d/2, aio.Spawn(ctx, s.run))
		if err != nil && !errors.Is(err, aio.ErrTimeout) {
			t.Errorf("WaitFor: %v, want nil or ErrTimeout", err)
		}
		if !s.exited {
			t.Error("WaitFor reported the timeout before the inner task ended")
		}
		if d := elapsed(ctx, start); d != s.d {
			t.Errorf("loop time %v, want %v", d, s.d)
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_timeout_less_then_0_or_0_future_done:
// a done future is returned even with a zero timeout.
func TestWaitForTimeoutZeroFutureDone(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		fut := aio.NewFuture[string](ctx)
		fut.SetResult("done")
		t0 := now(ctx)
		v, err := aio.WaitFor(ctx, 0, fut)
		if err != nil || v != "done" || !now(ctx).Equal(t0) {
			t.Errorf("WaitFor: %q, %v", v, err)
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started:
// with a zero timeout a task that has not started is cancelled and never
// runs.
func TestWaitForTimeoutZeroNotStarted(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		started := false
		foo := aio.Spawn(ctx, func(ctx context.Context) (int, error) { started = true; return 0, nil })
		t0 := now(ctx)
		if _, err := aio.WaitFor(ctx, 0, foo); !errors.Is(err, aio.ErrTimeout) {
			t.Errorf("WaitFor: %v, want ErrTimeout", err)
		}
		if started || !foo.Cancelled() || !now(ctx).Equal(t0) {
			t.Errorf("started %v, cancelled %v", started, foo.Cancelled())
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_timeout_less_then_0_or_0: with
// a zero or negative timeout a running task is cancelled, waited for, and
// the timeout reported at once.
func TestWaitForTimeoutLessThanOrZero(t *testing.T) {
	for _, timeout := range []time.Duration{0, -time.Second} {
		mustRun(t, func(ctx context.Context) error {
			running := false
			started := aio.NewFuture[int](ctx)
			fut := aio.Spawn(ctx, func(ctx context.Context) (string, error) {
				running = true
				started.SetResult(0)
				defer func() { running = false }()
				if err := aio.Sleep(ctx, 10*time.Second); err != nil {
					return "", err
				}
				return "done", nil
			})
			if _, err := started.Await(ctx); err != nil {
				return err
			}
			t0 := now(ctx)
			if _, err := aio.WaitFor(ctx, timeout, fut); !errors.Is(err, aio.ErrTimeout) {
				t.Errorf("timeout %v: %v, want ErrTimeout", timeout, err)
			}
			if !fut.Done() || !fut.Cancelled() || running || !now(ctx).Equal(t0) {
				t.Errorf("timeout %v: done %v cancelled %v running %v", timeout, fut.Done(), fut.Cancelled(), running)
			}
			return nil
		})
	}
}

// Mirrors test_waitfor.py: test_wait_for: the timeout cancels the inner
// task, whose cleanup has run when WaitFor returns.
func TestWaitFor(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		running := false
		fut := aio.Spawn(ctx, func(ctx context.Context) (string, error) {
			running = true
			defer func() { running = false }()
			if err := aio.Sleep(ctx, 10*time.Second); err != nil {
				return "", err
			}
			return "done", nil
		})
		t0 := now(ctx)
		if _, err := aio.WaitFor(ctx, 100*time.Millisecond, fut); !errors.Is(err, aio.ErrTimeout) {
			t.Errorf("WaitFor: %v, want ErrTimeout", err)
		}
		if !fut.Done() || !fut.Cancelled() || running {
			t.Errorf("done %v cancelled %v running %v", fut.Done(), fut.Cancelled(), running)
		}
		if d := elapsed(ctx, t0); d != 100*time.Millisecond {
			t.Errorf("loop time %v, want 100ms", d)
		}
		// ErrTimeout is a timeout in net.Error's sense too.
		var te interface{ Timeout() bool }
		if !errors.As(aio.ErrTimeout, &te) || !te.Timeout() {
			t.Error("ErrTimeout has no Timeout() true")
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_race_condition: a future set
// before the timeout is returned.
func TestWaitForRaceCondition(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		fut := aio.NewFuture[string](ctx)
		aio.CurrentLoop(ctx).CallLater(100*time.Millisecond, func() { fut.SetResult("ok") })
		v, err := aio.WaitFor(ctx, 200*time.Millisecond, fut)
		if err != nil || v != "ok" {
			t.Errorf("WaitFor: %q, %v", v, err)
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_cancellation_race_condition and
// test_wait_for_cancel_suppressed: if the inner task completes with a
// value anyway when cancelled by the timeout, the value wins.
func TestWaitForValueWinsOverTimeout(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		inner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := aio.Sleep(ctx, time.Second); !isCancel(err) {
				t.Errorf("inner sleep: %v, want a cancellation", err)
			}
			return 1, nil
		})
		v, err := aio.WaitFor(ctx, 10*time.Millisecond, inner)
		if err != nil || v != 1 {
			t.Errorf("WaitFor: %d, %v; want 1", v, err)
		}
		return42 := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := aio.Sleep(ctx, 10*time.Second); isCancel(err) {
				return 42, nil
			}
			return 0, nil
		})
		v, err = aio.WaitFor(ctx, 100*time.Millisecond, return42)
		if err != nil || v != 42 {
			t.Errorf("WaitFor: %d, %v; want 42", v, err)
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_waits_for_task_cancellation:
// WaitFor reports the timeout only after the inner task's cleanup, which
// takes loop time, has finished.
func TestWaitForWaitsForTaskCancellation(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		taskDone := false
		inner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			defer func() { taskDone = true }()
			err := aio.Sleep(ctx, 10*time.Second)
			if isCancel(err) {
				aio.Sleep(context.WithoutCancel(ctx), time.Millisecond)
			}
			return 0, err
		})
		start := now(ctx)
		_, err := aio.WaitFor(ctx, time.Millisecond, inner)
		if !errors.Is(err, aio.ErrTimeout) {
			t.Errorf("WaitFor: %v, want ErrTimeout", err)
		}
		if !taskDone {
			t.Error("WaitFor returned before the inner task's cleanup")
		}
		if d := elapsed(ctx, start); d != 2*time.Millisecond {
			t.Errorf("loop time %v, want 2ms", d)
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_waits_for_task_cancellation_w_timeout_0.
func TestWaitForWaitsForTaskCancellationTimeout0(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		taskDone := false
		inner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			defer func() { taskDone = true }()
			err := aio.Sleep(ctx, 10*time.Second)
			if isCancel(err) {
				aio.Sleep(context.WithoutCancel(ctx), time.Millisecond)
			}
			return 0, err
		})
		if err := aio.Sleep(ctx, time.Millisecond); err != nil {
			return err
		}
		if _, err := aio.WaitFor(ctx, 0, inner); !errors.Is(err, aio.ErrTimeout) {
			t.Errorf("WaitFor: %v, want ErrTimeout", err)
		}
		if !taskDone {
			t.Error("WaitFor returned before the inner task's cleanup")
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_reraises_exception_during_cancellation:
// an error the inner task returns while being cancelled replaces the
// timeout.
func TestWaitForReraisesErrorDuringCancellation(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		inner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			aio.Sleep(ctx, 200*time.Millisecond)
			return 0, &myError{1}
		})
		_, err := aio.WaitFor(ctx, time.Millisecond, inner)
		var me *myError
		if !errors.As(err, &me) || errors.Is(err, aio.ErrTimeout) {
			t.Errorf("WaitFor: %v, want *myError", err)
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_self_cancellation: a task in
// WaitFor that is cancelled before it starts never waits; the inner task,
// which holds up cancellations, goes on to its value.
func TestWaitForSelfCancellation(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		inner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			nc := context.WithoutCancel(ctx)
			if err := aio.Sleep(ctx, 300*time.Millisecond); isCancel(err) {
				if err := aio.Sleep(nc, 300*time.Millisecond); isCancel(err) {
					aio.Sleep(nc, 300*time.Millisecond)
				}
			}
			return 42, nil
		})
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return aio.WaitFor(ctx, 100*time.Millisecond, inner)
		})
		task.Cancel()
		if _, err := task.Await(ctx); !isCancel(err) {
			t.Errorf("WaitFor task: %v, want a cancellation", err)
		}
		if v, err := inner.Await(ctx); err != nil || v != 42 {
			t.Errorf("inner: %d, %v; want 42", v, err)
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_cancel_wait_for (Python issue #23219):
// cancelling the task in WaitFor cancels the inner task too.
func TestCancelWaitFor(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		blocking := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return aio.NewFuture[int](ctx).Await(ctx)
		})
		wait := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return aio.WaitFor(ctx, 60*time.Second, blocking)
		})
		aio.CurrentLoop(ctx).CallSoon(func() { wait.Cancel() })
		if _, err := wait.Await(ctx); !isCancel(err) || errors.Is(err, aio.ErrTimeout) {
			t.Errorf("wait: %v, want a cancellation", err)
		}
		if !blocking.Cancelled() {
			t.Error("the inner task was not cancelled")
		}
		return nil
	})
}

// Mirrors test_waitfor.py: test_wait_for_issue86296: after WaitFor of a
// task that finished at once, a cancellation of the waiting task still
// reaches its next wait.
func TestWaitForIssue86296(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		reachedEnd := false
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			inner := aio.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, nil })
			if _, err := aio.WaitFor(ctx, 100*time.Second, inner); err != nil {
				return 0, err
			}
			if err := aio.Sleep(ctx, time.Second); err != nil {
				return 0, err
			}
			reachedEnd = true
			return 0, nil
		})
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		if task.Done() {
			t.Fatal("task done too early")
		}
		task.Cancel()
		if _, err := task.Await(ctx); !isCancel(err) {
			t.Errorf("task: %v", err)
		}
		if reachedEnd {
			t.Error("the cancelled task reached its end")
		}
		return nil
	})
}

// No CPython counterpart: if the waiter's context is done first, WaitFor
// cancels the inner task, waits for it, and returns the context's error,
// not a timeout.
func TestWaitForContextDone(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		cleanedUp := false
		inner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			defer func() { cleanedUp = true }()
			return 0, aio.Sleep(ctx, time.Hour)
		})
		sctx, scope := aio.WithDeadline(ctx, time.Time{})
		aio.CurrentLoop(ctx).CallLater(time.Second, scope.Stop)
		_, err := aio.WaitFor(sctx, time.Minute, inner)
		if !isCancel(err) || errors.Is(err, aio.ErrTimeout) {
			t.Errorf("WaitFor: %v, want the context's cancellation", err)
		}
		if !inner.Cancelled() || !cleanedUp {
			t.Errorf("inner cancelled %v, cleaned up %v", inner.Cancelled(), cleanedUp)
		}
		// And an error of the inner task is returned as is.
		failing := aio.Spawn(ctx, failer[int](time.Second, errBoom))
		if _, err := aio.WaitFor(ctx, time.Minute, failing); !errors.Is(err, errBoom) {
			t.Errorf("WaitFor of a failing task: %v", err)
		}
		return nil
	})
}
