package aio_test

// Tests of the Timeout scope (aio.WithTimeout, aio.WithDeadline), written
// from CPython's Lib/test/test_asyncio/test_timeouts.py. asyncio's
// "async with timeout(d) as cm:" is braid's
//
//	tctx, cm := aio.WithTimeout(ctx, d)
//	defer cm.Stop()
//
// and asyncio's TimeoutError is an error matching context.DeadlineExceeded
// from every wait done with tctx. All times are on a virtual clock.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// Mirrors test_timeouts.py: test_timeout_basic: a wait longer than the
// scope fails with a deadline error at the deadline, and the scope says
// it expired.
func TestTimeoutBasic(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		tctx, cm := aio.WithTimeout(ctx, 10*time.Millisecond)
		defer cm.Stop()
		err := aio.Sleep(tctx, 10*time.Second)
		if !isTimeout(err) {
			t.Errorf("Sleep: %v, want context.DeadlineExceeded", err)
		}
		if !cm.Expired() {
			t.Error("Expired() = false")
		}
		if d := elapsed(ctx, start); d != 10*time.Millisecond {
			t.Errorf("loop time %v, want 10ms", d)
		}
		if !errors.Is(tctx.Err(), context.DeadlineExceeded) {
			t.Errorf("tctx.Err() = %v", tctx.Err())
		}
		// The task's own context is untouched.
		return ctx.Err()
	})
}

// Mirrors test_timeouts.py: test_timeout_at_basic: WithDeadline takes an
// instant on the loop's clock; When and the context's Deadline report it.
func TestTimeoutAtBasic(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		deadline := now(ctx).Add(10 * time.Millisecond)
		tctx, cm := aio.WithDeadline(ctx, deadline)
		defer cm.Stop()
		if w, ok := cm.When(); !ok || !w.Equal(deadline) {
			t.Errorf("When() = %v, %v; want %v", w, ok, deadline)
		}
		if d, ok := tctx.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("Deadline() = %v, %v; want %v", d, ok, deadline)
		}
		if err := aio.Sleep(tctx, 10*time.Second); !isTimeout(err) {
			t.Errorf("Sleep: %v", err)
		}
		if !cm.Expired() || !now(ctx).Equal(deadline) {
			t.Errorf("expired %v at %v, deadline %v", cm.Expired(), now(ctx), deadline)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_nested_timeouts: two scopes with the
// same deadline: the wait fails with a deadline error and both scopes
// expired.
func TestNestedTimeouts(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		deadline := now(ctx).Add(10 * time.Millisecond)
		c1, cm1 := aio.WithDeadline(ctx, deadline)
		defer cm1.Stop()
		c2, cm2 := aio.WithDeadline(c1, deadline)
		defer cm2.Stop()
		if err := aio.Sleep(c2, 10*time.Second); !isTimeout(err) {
			t.Errorf("Sleep: %v", err)
		}
		if !cm1.Expired() || !cm2.Expired() {
			t.Errorf("expired: outer %v, inner %v; want both", cm1.Expired(), cm2.Expired())
		}
		if !isTimeout(c1.Err()) || !isTimeout(c2.Err()) {
			t.Errorf("contexts: %v, %v", c1.Err(), c2.Err())
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_waiter_cancelled: the wait inside the
// scope is what gets interrupted, with the deadline error.
func TestTimeoutWaiterCancelled(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		tctx, cm := aio.WithTimeout(ctx, 10*time.Millisecond)
		defer cm.Stop()
		never := aio.NewFuture[int](ctx)
		if _, err := never.Await(tctx); !isTimeout(err) {
			t.Errorf("Await: %v", err)
		}
		if never.Done() {
			t.Error("the future was cancelled by the scope")
		}
		never.Cancel()
		return nil
	})
}

// Mirrors test_timeouts.py: test_timeout_not_called: work shorter than
// the scope is not interrupted, and the scope did not expire.
func TestTimeoutNotCalled(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		tctx, cm := aio.WithTimeout(ctx, 10*time.Second)
		if err := aio.Sleep(tctx, 10*time.Millisecond); err != nil {
			t.Errorf("Sleep: %v", err)
		}
		cm.Stop()
		if cm.Expired() {
			t.Error("Expired() = true")
		}
		if w, ok := cm.When(); !ok || !w.After(now(ctx)) {
			t.Errorf("When() = %v, %v; want after %v", w, ok, now(ctx))
		}
		// Stop released the scope's timer: the clock does not jump to it.
		start := now(ctx)
		if err := aio.Sleep(ctx, time.Millisecond); err != nil {
			return err
		}
		if d := elapsed(ctx, start); d != time.Millisecond {
			t.Errorf("loop time %v, want 1ms", d)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_timeout_disabled and
// test_timeout_at_disabled: a scope without a deadline interrupts
// nothing.
func TestTimeoutDisabled(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		tctx, cm := aio.WithDeadline(ctx, time.Time{})
		defer cm.Stop()
		if err := aio.Sleep(tctx, time.Hour); err != nil {
			t.Errorf("Sleep: %v", err)
		}
		if cm.Expired() {
			t.Error("Expired() = true")
		}
		if _, ok := cm.When(); ok {
			t.Error("When() reports a deadline")
		}
		if _, ok := tctx.Deadline(); ok {
			t.Error("Deadline() reports a deadline")
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_timeout_zero: a zero timeout expires
// before a sleep ends, at once on the loop's clock.
func TestTimeoutZero(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		t0 := now(ctx)
		tctx, cm := aio.WithTimeout(ctx, 0)
		defer cm.Stop()
		if err := aio.Sleep(tctx, 10*time.Second); !isTimeout(err) {
			t.Errorf("Sleep: %v", err)
		}
		t1 := now(ctx)
		w, _ := cm.When()
		if !cm.Expired() || w.Before(t0) || w.After(t1) || !t1.Equal(t0) {
			t.Errorf("expired %v, when %v, t0 %v, t1 %v", cm.Expired(), w, t0, t1)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_foreign_exception_passed: an error of
// the work itself passes through the scope, which did not expire.
func TestTimeoutForeignErrorPassed(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		work := func(ctx context.Context) error {
			tctx, cm := aio.WithTimeout(ctx, 10*time.Millisecond)
			defer cm.Stop()
			defer func() {
				if cm.Expired() {
					t.Error("Expired() = true")
				}
			}()
			_ = tctx
			return errBoom
		}
		if err := work(ctx); !errors.Is(err, errBoom) {
			t.Errorf("work: %v", err)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_foreign_exception_on_timeout: work that
// fails with its own error while being interrupted by the deadline
// reports its own error.
func TestTimeoutForeignErrorOnTimeout(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		crash := func(ctx context.Context) error {
			if err := aio.Sleep(ctx, time.Second); err != nil {
				return errZero
			}
			return nil
		}
		tctx, cm := aio.WithTimeout(ctx, 10*time.Millisecond)
		defer cm.Stop()
		if err := crash(tctx); !errors.Is(err, errZero) || isTimeout(err) {
			t.Errorf("crash: %v, want errZero", err)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_foreign_cancel_doesnt_timeout_if_not_expired:
// cancelling the task inside a scope is a cancellation, not a timeout, and
// the scope did not expire.
func TestTimeoutForeignCancelIsNotTimeout(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var cm *aio.Timeout
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			var tctx context.Context
			tctx, cm = aio.WithTimeout(ctx, 10*time.Second)
			defer cm.Stop()
			aio.CurrentTask(ctx).Cancel()
			return 0, aio.Sleep(tctx, 10*time.Second)
		})
		_, err := task.Await(ctx)
		if !isCancel(err) || isTimeout(err) || !task.Cancelled() {
			t.Errorf("task: %v, cancelled %v", err, task.Cancelled())
		}
		if cm.Expired() {
			t.Error("Expired() = true")
		}
		// The same from outside: the task is cancelled by another one
		// while it waits in the scope.
		var cm2 *aio.Timeout
		task2 := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			var tctx context.Context
			tctx, cm2 = aio.WithTimeout(ctx, 10*time.Second)
			defer cm2.Stop()
			return 0, aio.Sleep(tctx, time.Hour)
		})
		if err := aio.Sleep(ctx, time.Second); err != nil {
			return err
		}
		task2.Cancel()
		if _, err := task2.Await(ctx); !isCancel(err) || isTimeout(err) {
			t.Errorf("task2: %v", err)
		}
		if cm2.Expired() {
			t.Error("task2's scope Expired() = true")
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_outer_task_is_not_cancelled: a task that
// handled its scope's timeout ends normally, not cancelled.
func TestTimeoutOuterTaskIsNotCancelled(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			tctx, cm := aio.WithTimeout(ctx, time.Millisecond)
			defer cm.Stop()
			if err := aio.Sleep(tctx, 10*time.Second); !isTimeout(err) {
				return 0, err
			}
			return 1, nil
		})
		v, err := task.Await(ctx)
		if err != nil || v != 1 || task.Cancelled() || !task.Done() {
			t.Errorf("task: %d, %v, cancelled %v", v, err, task.Cancelled())
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_nested_timeouts_concurrent: an outer
// scope shorter than the inner one interrupts the inner work with the
// deadline error; the inner scope's own deadline has not passed.
func TestNestedTimeoutsConcurrent(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		c1, cm1 := aio.WithTimeout(ctx, 2*time.Millisecond)
		defer cm1.Stop()
		c2, cm2 := aio.WithTimeout(c1, 100*time.Millisecond)
		defer cm2.Stop()
		if err := aio.Sleep(c2, time.Second); !isTimeout(err) {
			t.Errorf("Sleep: %v", err)
		}
		if !cm1.Expired() || cm2.Expired() {
			t.Errorf("outer expired %v, inner expired %v; want true, false", cm1.Expired(), cm2.Expired())
		}
		if d := elapsed(ctx, start); d != 2*time.Millisecond {
			t.Errorf("loop time %v, want 2ms", d)
		}
		if d, _ := c2.Deadline(); !d.Equal(start.Add(2 * time.Millisecond)) {
			t.Errorf("inner Deadline() = %v, want the outer deadline", d)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_nested_timeouts_loop_busy: after an
// inner scope expired and its error was handled, the outer scope still
// interrupts later work at its own deadline.
func TestNestedTimeoutsLoopBusy(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		t0 := now(ctx)
		c1, cm1 := aio.WithTimeout(ctx, 100*time.Millisecond)
		defer cm1.Stop()
		func() {
			c2, cm2 := aio.WithTimeout(c1, 10*time.Millisecond)
			defer cm2.Stop()
			if err := aio.Sleep(c2, time.Second); !isTimeout(err) {
				t.Errorf("inner Sleep: %v", err)
			}
			if !cm2.Expired() || cm1.Expired() {
				t.Errorf("inner expired %v, outer expired %v", cm2.Expired(), cm1.Expired())
			}
		}()
		if err := c1.Err(); err != nil {
			t.Errorf("the outer context ended with the inner scope: %v", err)
		}
		if err := aio.Sleep(c1, 10*time.Second); !isTimeout(err) {
			t.Errorf("outer Sleep: %v", err)
		}
		if !cm1.Expired() {
			t.Error("outer Expired() = false")
		}
		if d := elapsed(ctx, t0); d != 100*time.Millisecond {
			t.Errorf("loop time %v, want 100ms", d)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_reschedule: another task moves the
// deadline, then removes it; cancelling the task is then a plain
// cancellation and the scope did not expire.
func TestTimeoutReschedule(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		deadline1 := now(ctx).Add(10 * time.Second)
		deadline2 := deadline1.Add(20 * time.Second)
		fut := aio.NewFuture[*aio.Timeout](ctx)
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			tctx, cm := aio.WithDeadline(ctx, deadline1)
			defer cm.Stop()
			fut.SetResult(cm)
			return 0, aio.Sleep(tctx, 50*time.Second)
		})
		cm, err := fut.Await(ctx)
		if err != nil {
			return err
		}
		if w, _ := cm.When(); !w.Equal(deadline1) {
			t.Errorf("When() = %v, want %v", w, deadline1)
		}
		if err := cm.Reschedule(deadline2); err != nil {
			t.Errorf("Reschedule: %v", err)
		}
		if w, _ := cm.When(); !w.Equal(deadline2) {
			t.Errorf("When() = %v, want %v", w, deadline2)
		}
		if err := cm.Reschedule(time.Time{}); err != nil {
			t.Errorf("Reschedule(zero): %v", err)
		}
		if _, ok := cm.When(); ok {
			t.Error("When() reports a deadline after Reschedule(zero)")
		}
		// Well past both deadlines, the task still sleeps.
		if err := aio.Sleep(ctx, 40*time.Second); err != nil {
			return err
		}
		if task.Done() {
			t.Fatal("the task was interrupted by a removed deadline")
		}
		task.Cancel()
		if _, err := task.Await(ctx); !isCancel(err) || isTimeout(err) {
			t.Errorf("task: %v", err)
		}
		if cm.Expired() {
			t.Error("Expired() = true")
		}
		return nil
	})
}

// No CPython counterpart beyond test_reschedule: moving the deadline
// earlier fires earlier, moving it later delays the timeout.
func TestTimeoutRescheduleMoves(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		tctx, cm := aio.WithTimeout(ctx, time.Hour)
		defer cm.Stop()
		if err := cm.Reschedule(start.Add(time.Second)); err != nil {
			return err
		}
		if err := aio.Sleep(tctx, time.Minute); !isTimeout(err) {
			t.Errorf("Sleep: %v", err)
		}
		if d := elapsed(ctx, start); d != time.Second {
			t.Errorf("earlier deadline fired at %v, want 1s", d)
		}
		start = now(ctx)
		tctx2, cm2 := aio.WithTimeout(ctx, time.Second)
		defer cm2.Stop()
		if err := aio.Sleep(tctx2, 500*time.Millisecond); err != nil {
			return err
		}
		if err := cm2.Reschedule(now(ctx).Add(time.Minute)); err != nil {
			return err
		}
		if err := aio.Sleep(tctx2, time.Hour); !isTimeout(err) {
			t.Errorf("Sleep: %v", err)
		}
		if d := elapsed(ctx, start); d != time.Minute+500*time.Millisecond {
			t.Errorf("later deadline fired at %v, want 1m0.5s", d)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_nested_timeout_in_finally: cleanup
// after a timeout can run under a scope of its own (on a context that the
// expired one does not cancel).
func TestNestedTimeoutInFinally(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		tctx, cm := aio.WithTimeout(ctx, 10*time.Millisecond)
		defer cm.Stop()
		err := func() (err error) {
			defer func() {
				cctx, ccm := aio.WithTimeout(context.WithoutCancel(tctx), 10*time.Millisecond)
				defer ccm.Stop()
				if e := aio.Sleep(cctx, 10*time.Second); !isTimeout(e) || !ccm.Expired() {
					t.Errorf("cleanup Sleep: %v", e)
				}
			}()
			return aio.Sleep(tctx, time.Second)
		}()
		if !isTimeout(err) {
			t.Errorf("Sleep: %v", err)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_timeout_after_cancellation: a cancelled
// task can still clean up under a timeout scope (on
// context.WithoutCancel), and that scope times out.
func TestTimeoutAfterCancellation(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		task := aio.Spawn(ctx, func(ctx context.Context) (error2, error) {
			aio.CurrentTask(ctx).Cancel()
			werr := aio.Sleep(ctx, time.Second)
			if !isCancel(werr) {
				return error2{werr}, nil
			}
			cctx, cm := aio.WithTimeout(context.WithoutCancel(ctx), 0)
			defer cm.Stop()
			return error2{aio.Sleep(cctx, time.Second)}, werr
		})
		v, err := task.Await(ctx)
		if !isCancel(err) || !isTimeout(v.err) {
			t.Errorf("task: %v; cleanup: %v", err, v.err)
		}
		return nil
	})
}

// error2 carries an error as a task's value.
type error2 struct{ err error }

// Mirrors test_timeouts.py: test_timeout_finished and
// test_timeout_not_entered: a scope that was stopped or that expired
// cannot be rescheduled.
func TestTimeoutFinished(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		_, cm := aio.WithTimeout(ctx, 10*time.Millisecond)
		cm.Stop()
		if err := cm.Reschedule(now(ctx).Add(20 * time.Millisecond)); !errors.Is(err, aio.ErrTimeoutDone) {
			t.Errorf("Reschedule after Stop: %v, want ErrTimeoutDone", err)
		}
		if cm.Expired() {
			t.Error("a stopped scope reports Expired")
		}
		tctx, cm2 := aio.WithTimeout(ctx, 10*time.Millisecond)
		defer cm2.Stop()
		aio.Sleep(tctx, time.Second)
		if err := cm2.Reschedule(now(ctx).Add(time.Second)); !errors.Is(err, aio.ErrTimeoutDone) {
			t.Errorf("Reschedule after expiry: %v, want ErrTimeoutDone", err)
		}
		return nil
	})
}

// Mirrors test_timeouts.py: test_timeout_without_task: a scope needs a
// context that carries a loop; without one WithTimeout panics with
// ErrNoLoop, saying what to pass instead.
func TestTimeoutWithoutLoop(t *testing.T) {
	for name, f := range map[string]func(){
		"WithTimeout":  func() { aio.WithTimeout(context.Background(), time.Second) },
		"WithDeadline": func() { aio.WithDeadline(context.Background(), time.Now()) },
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !errors.Is(p.(error), aio.ErrNoLoop) {
					t.Errorf("%s without a loop: panic %v, want ErrNoLoop", name, p)
				}
			}()
			f()
		}()
	}
}

// No CPython counterpart (asyncio's timeout covers one block of one
// task): tasks spawned with the scope's context are cancelled with the
// deadline error when it passes.
func TestTimeoutCoversSpawnedTasks(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		tctx, cm := aio.WithTimeout(ctx, time.Second)
		defer cm.Stop()
		child := aio.Spawn(tctx, sleeper(time.Hour, 0))
		_, err := child.Await(ctx)
		if !isTimeout(err) {
			t.Errorf("child: %v, want the deadline error", err)
		}
		if !cm.Expired() {
			t.Error("Expired() = false")
		}
		return nil
	})
}
