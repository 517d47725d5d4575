package aio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// Task.Cancel and Future.Cancel from a plain goroutine and from a task of
// another loop: the cancellation is scheduled on the owner's loop (as
// loop.call_soon_threadsafe(task.cancel)), Cancel reports it scheduled,
// and the task ends cancelled. Under -race, a Cancel that touched the
// task's state off its loop would be reported.
func TestCancelFromOtherGoroutines(t *testing.T) {
	fromGoroutine := func(f func() bool) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			return aio.ToThread(ctx, func(context.Context) (bool, error) { return f(), nil })
		}
	}
	fromOtherLoop := func(f func() bool) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			return aio.ToThread(ctx, func(context.Context) (bool, error) {
				var got bool
				err := aio.Run(context.Background(), func(context.Context) error { got = f(); return nil })
				return got, err
			})
		}
	}
	for _, c := range []struct {
		name string
		from func(func() bool) func(context.Context) (bool, error)
	}{{"goroutine", fromGoroutine}, {"other loop", fromOtherLoop}} {
		t.Run(c.name, func(t *testing.T) {
			err := aio.Run(context.Background(), func(ctx context.Context) error {
				task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
					return 0, aio.Sleep(ctx, time.Hour) // a real clock: only the cancel ends it
				})
				fut := aio.NewFuture[int](ctx)
				for what, cancel := range map[string]func() bool{"Task": task.Cancel, "Future": fut.Cancel} {
					scheduled, err := c.from(cancel)(ctx)
					if err != nil {
						return err
					}
					if !scheduled {
						t.Errorf("%s.Cancel from a %s: false, want true (scheduled)", what, c.name)
					}
				}
				if _, err := task.Await(ctx); !errors.Is(err, context.Canceled) || !task.Cancelled() {
					t.Errorf("task after Cancel from a %s: %v (cancelled: %v)", c.name, err, task.Cancelled())
				}
				if _, err := fut.Await(ctx); !errors.Is(err, aio.ErrCancelled) || !fut.Cancelled() {
					t.Errorf("future after Cancel from a %s: %v (cancelled: %v)", c.name, err, fut.Cancelled())
				}
				// A done task ignores a cancellation scheduled from elsewhere.
				done := aio.Spawn(ctx, func(context.Context) (int, error) { return 7, nil })
				if _, err := done.Await(ctx); err != nil {
					return err
				}
				if _, err := c.from(done.Cancel)(ctx); err != nil {
					return err
				}
				if err := aio.Sleep(ctx, 0); err != nil { // the scheduled cancel runs
					return err
				}
				if v, err := done.Result(); v != 7 || err != nil || done.Cancelled() {
					t.Errorf("a done task after a late Cancel: %v, %v (cancelled: %v)", v, err, done.Cancelled())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Once the loop is closed, Cancel changes nothing and says so.
func TestCancelAfterLoopClosed(t *testing.T) {
	var task *aio.Task[int]
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		task = aio.Spawn(ctx, func(context.Context) (int, error) { return 1, nil })
		_, err := task.Await(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if task.Cancel() {
		t.Fatal("Cancel of a done task of a closed loop returned true")
	}
}
