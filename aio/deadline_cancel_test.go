package aio_test

// A deadline is a cancellation, not a failure: work under a context whose
// deadline expires ends as asyncio's "async with timeout(): async with
// TaskGroup()" does. The children are cancelled (Cancelled() is true,
// their errors match context.Canceled and context.DeadlineExceeded), and
// the caller sees the deadline, never a *GroupError listing each child's
// cancellation as a failure.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// blocker is a task function that waits for an event nobody sets: it
// ends only when its context is done, and arms no timer (so that a
// virtual clock has nothing to jump to but the deadline under test).
func blocker(ev *aio.Event) func(context.Context) (struct{}, error) {
	return func(ctx context.Context) (struct{}, error) {
		return struct{}{}, ev.Wait(ctx)
	}
}

// syncBuffer is a log sink safe from the loop's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDeadlineIsCancellation(t *testing.T) {
	deadlines := []struct {
		name string
		// with returns a context under ctx whose deadline passes while
		// the combinator waits (or already passed), and its release.
		with func(ctx context.Context) (context.Context, func())
		// foreign: a context package deadline reaches the loop's
		// contexts through another goroutine, so a combinator may see
		// it and cancel the children before the deadline reaches them:
		// their errors then match only context.Canceled.
		foreign bool
	}{
		{"aio.WithTimeout", func(ctx context.Context) (context.Context, func()) {
			dctx, cm := aio.WithTimeout(ctx, 10*time.Second)
			return dctx, cm.Stop
		}, false},
		{"aio.WithDeadline", func(ctx context.Context) (context.Context, func()) {
			dctx, cm := aio.WithDeadline(ctx, aio.CurrentLoop(ctx).Time().Add(time.Minute))
			return dctx, cm.Stop
		}, false},
		// A deadline on the real clock: the waits below arm no timer, so
		// the loop blocks until it passes (the outcome does not depend
		// on when).
		{"context.WithDeadline", func(ctx context.Context) (context.Context, func()) {
			return context.WithDeadline(ctx, time.Now().Add(5*time.Millisecond))
		}, true},
		{"context.WithDeadline in the past", func(ctx context.Context) (context.Context, func()) {
			return context.WithDeadline(ctx, time.Now().Add(-time.Second))
		}, true},
	}
	type outcome struct {
		err      error
		children []aio.AnyTask // must end cancelled
		// outside: the children are not under the deadline; the
		// combinator cancels them (so their errors match only
		// context.Canceled).
		outside bool
		// waitsOnly: the combinator cancels nothing (asyncio.wait), so
		// children it returns may still be on their way to their end
		// (a context package deadline reaches them one loop turn
		// later); the test waits for them before looking.
		waitsOnly bool
	}
	combinators := []struct {
		name string
		run  func(ctx, dctx context.Context, ev *aio.Event) outcome
	}{
		{"Group", func(ctx, dctx context.Context, ev *aio.Event) outcome {
			var o outcome
			o.err = aio.Group(dctx, func(gctx context.Context, g *aio.TaskGroup) error {
				for range 3 {
					c, err := aio.GroupSpawn(g, blocker(ev))
					if err != nil {
						return err
					}
					o.children = append(o.children, c)
				}
				return ev.Wait(gctx) // the body too is cut by the deadline
			})
			return o
		}},
		{"Group body returns", func(ctx, dctx context.Context, ev *aio.Event) outcome {
			var o outcome
			o.err = aio.Group(dctx, func(gctx context.Context, g *aio.TaskGroup) error {
				for range 3 {
					c, err := aio.GroupSpawn(g, blocker(ev))
					if err != nil {
						return err
					}
					o.children = append(o.children, c)
				}
				return nil
			})
			return o
		}},
		{"Gather", func(ctx, dctx context.Context, ev *aio.Event) outcome {
			var o outcome
			var ts []*aio.Task[struct{}]
			for range 3 {
				c := aio.Spawn(dctx, blocker(ev))
				ts = append(ts, c)
				o.children = append(o.children, c)
			}
			_, o.err = aio.Gather(dctx, ts...)
			return o
		}},
		{"Gather of outside tasks", func(ctx, dctx context.Context, ev *aio.Event) outcome {
			var o outcome
			var ts []*aio.Task[struct{}]
			for range 3 {
				c := aio.Spawn(ctx, blocker(ev)) // not under the deadline
				ts = append(ts, c)
				o.children = append(o.children, c)
			}
			o.outside = true
			_, o.err = aio.Gather(dctx, ts...)
			return o
		}},
		{"Wait", func(ctx, dctx context.Context, ev *aio.Event) outcome {
			var o outcome
			var ts []*aio.Task[struct{}]
			for range 3 {
				c := aio.Spawn(dctx, blocker(ev))
				ts = append(ts, c)
				o.children = append(o.children, c)
			}
			_, _, o.err = aio.Wait(dctx, ts, aio.AllCompleted)
			o.waitsOnly = true
			return o
		}},
		{"Shield", func(ctx, dctx context.Context, ev *aio.Event) outcome {
			var o outcome
			_, o.err = aio.Shield(dctx, func(sctx context.Context) (struct{}, error) {
				// Shielded: the deadline does not reach it; it ends
				// when the test sets ev.
				return struct{}{}, ev.Wait(sctx)
			})
			return o
		}},
		{"WaitFor", func(ctx, dctx context.Context, ev *aio.Event) outcome {
			var o outcome
			c := aio.Spawn(dctx, blocker(ev))
			o.children = append(o.children, c)
			_, o.err = aio.WaitFor(dctx, aio.Forever, c)
			return o
		}},
		{"WaitFor of an outside task", func(ctx, dctx context.Context, ev *aio.Event) outcome {
			var o outcome
			c := aio.Spawn(ctx, blocker(ev))
			o.children = append(o.children, c)
			o.outside = true
			_, o.err = aio.WaitFor(dctx, aio.Forever, c)
			return o
		}},
	}
	for _, d := range deadlines {
		for _, c := range combinators {
			t.Run(d.name+"/"+c.name, func(t *testing.T) {
				var logs syncBuffer
				logger := slog.New(slog.NewTextHandler(&logs, nil))
				mustRun(t, func(ctx context.Context) error {
					ev := new(aio.Event)
					dctx, release := d.with(ctx)
					defer release()
					o := c.run(ctx, dctx, ev)
					if !errors.Is(o.err, context.DeadlineExceeded) {
						t.Errorf("err = %v, want one matching context.DeadlineExceeded", o.err)
					}
					var ge *aio.GroupError
					if errors.As(o.err, &ge) {
						t.Errorf("err is a *GroupError listing cancellations as failures: %v", o.err)
					}
					if o.waitsOnly {
						if _, _, err := aio.Wait(ctx, o.children, aio.AllCompleted); err != nil {
							t.Fatalf("waiting for the children: %v", err)
						}
					}
					for i, ch := range o.children {
						if !ch.Done() {
							t.Errorf("child %d still pending after the combinator returned", i)
							continue
						}
						if !ch.Cancelled() {
							t.Errorf("child %d: Cancelled() = false, err %v; a deadline cancels", i, ch.Err())
						}
						err := ch.Err()
						if !errors.Is(err, context.Canceled) || (!o.outside && !d.foreign && !errors.Is(err, context.DeadlineExceeded)) {
							t.Errorf("child %d: err %v, want one matching both context.Canceled and context.DeadlineExceeded", i, err)
						}
					}
					ev.Set() // let shielded work end
					return aio.Sleep(ctx, 0)
				}, aio.WithLogger(logger))
				if s := logs.String(); strings.Contains(s, "never retrieved") || strings.Contains(s, "level=ERROR") {
					t.Errorf("the loop logged a failure for a cancelled task:\n%s", s)
				}
			})
		}
	}
}

// A task that ends with a deadline error of its own (its context is not
// done) failed: asyncio's TimeoutError raised out of a task is an error,
// only the scope's cancellation is not.
func TestOwnDeadlineErrorIsFailure(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		c := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			tctx, cm := aio.WithTimeout(ctx, time.Second)
			defer cm.Stop()
			return 0, aio.Sleep(tctx, time.Hour)
		})
		_, err := c.Await(ctx)
		if c.Cancelled() || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Errorf("Cancelled() = %v, err %v; want a failure matching only context.DeadlineExceeded", c.Cancelled(), err)
		}
		err = aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			return g.Go(func(ctx context.Context) error {
				_, err := aio.WaitFor(ctx, time.Second, aio.Spawn(ctx, sleeper(time.Hour, 0)))
				return err
			})
		})
		var ge *aio.GroupError
		if !errors.As(err, &ge) || !errors.Is(err, aio.ErrTimeout) {
			t.Errorf("Group: %v, want a *GroupError with the child's ErrTimeout", err)
		}
		return nil
	})
}
