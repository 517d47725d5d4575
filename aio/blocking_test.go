//go:build amd64 || arm64

// Goroutines are identified only on these architectures (getg); elsewhere
// the blocking calls block, as documented, and these tests would hang.

package aio_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
)

// doneFuture returns a future already finished with v.
func doneFuture(v int) *futures.Future[int] {
	f := futures.NewFuture[int]()
	f.SetRunning()
	f.Complete(v, nil)
	return f
}

// wantBlocking fails t unless err is the refusal of a blocking call on the
// loop's thread, naming call and the awaitable replacement.
func wantBlocking(t *testing.T, what string, err error, call, instead string) {
	t.Helper()
	if !errors.Is(err, futures.ErrBlockingOnLoop) {
		t.Errorf("%s = %v, want an error matching futures.ErrBlockingOnLoop", what, err)
		return
	}
	var be *futures.BlockingError
	if !errors.As(err, &be) {
		t.Errorf("%s: %T is not a *futures.BlockingError", what, err)
		return
	}
	if msg := err.Error(); !strings.Contains(msg, call) || !strings.Contains(msg, instead) {
		t.Errorf("%s: message %q does not name %q and %q", what, msg, call, instead)
	}
}

func TestFutureResultInTaskIsRefusedNotBlocking(t *testing.T) {
	run(t, func(ctx context.Context) error {
		if !futures.OnLoop() {
			t.Error("futures.OnLoop() = false in a task")
		}
		pending := futures.NewFuture[int]()
		_, err := pending.Result(ctx)
		wantBlocking(t, "Result of a pending future in a task", err, "futures: Future.Result", "aio.AwaitFuture(ctx, f)")
		_, err = pending.Result(context.Background())
		wantBlocking(t, "Result(Background) of a pending future in a task", err, "Future.Result", "aio.AwaitFuture")

		// A done future is no block: its outcome comes back, as with
		// asyncio's future.result().
		if v, err := doneFuture(5).Result(ctx); v != 5 || err != nil {
			t.Errorf("Result of a done future in a task = %v, %v; want 5, nil", v, err)
		}
		failed := futures.NewFuture[int]()
		failed.Complete(0, errors.New("boom"))
		if _, err := failed.Result(ctx); err == nil || err.Error() != "boom" {
			t.Errorf("Result of a failed future in a task = %v, want boom", err)
		}

		// The replacement suspends the task instead.
		go func() {
			pending.SetRunning()
			pending.Complete(42, nil)
		}()
		if v, err := aio.AwaitFuture(ctx, pending); v != 42 || err != nil {
			t.Errorf("AwaitFuture = %v, %v; want 42, nil", v, err)
		}
		if v, err := aio.AwaitFuture(ctx, doneFuture(6)); v != 6 || err != nil {
			t.Errorf("AwaitFuture of a done future = %v, %v; want 6, nil", v, err)
		}
		return nil
	})
}

func TestFutureResultInLoopCallbackIsRefused(t *testing.T) {
	run(t, func(ctx context.Context) error {
		pending := futures.NewFuture[int]()
		got := aio.NewFuture[error](ctx)
		onLoop := false
		aio.CurrentLoop(ctx).CallSoon(func() {
			onLoop = futures.OnLoop()
			_, err := pending.Result(context.Background())
			got.SetResult(err)
		})
		err, _ := got.Await(ctx)
		if !onLoop {
			t.Error("futures.OnLoop() = false in a loop callback")
		}
		wantBlocking(t, "Result in a loop callback", err, "Future.Result", "aio.AwaitFuture")
		return nil
	})
}

// Off the loop, the same calls block and work: a goroutine started by a
// task is not the loop's thread.
func TestBlockingWaitsWorkOffTheLoop(t *testing.T) {
	if futures.OnLoop() {
		t.Error("futures.OnLoop() = true outside any loop")
	}
	run(t, func(ctx context.Context) error {
		pending := futures.NewFuture[int]()
		type outcome struct {
			onLoop bool
			v      int
			err    error
			waited []*futures.Future[int]
			werr   error
		}
		out := make(chan outcome, 1)
		entered := make(chan struct{})
		go func() {
			var o outcome
			o.onLoop = futures.OnLoop()
			close(entered)
			o.v, o.err = pending.Result(context.Background())
			o.waited, _, o.werr = futures.Wait(context.Background(), []*futures.Future[int]{pending}, futures.AllCompleted)
			out <- o
		}()
		if _, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) { <-entered; return struct{}{}, nil }); err != nil {
			return err
		}
		pending.SetRunning()
		pending.Complete(7, nil)
		o, err := aio.ToThread(ctx, func(context.Context) (outcome, error) { return <-out, nil })
		if err != nil {
			return err
		}
		if o.onLoop {
			t.Error("futures.OnLoop() = true in a plain goroutine")
		}
		if o.v != 7 || o.err != nil {
			t.Errorf("Result in a plain goroutine = %v, %v; want 7, nil", o.v, o.err)
		}
		if len(o.waited) != 1 || o.werr != nil {
			t.Errorf("Wait in a plain goroutine = %v, %v", o.waited, o.werr)
		}
		return nil
	})
}

func TestWaitAndAsCompletedInTaskAreRefusedNotBlocking(t *testing.T) {
	run(t, func(ctx context.Context) error {
		pending := futures.NewFuture[int]()
		done := doneFuture(1)
		fs := []*futures.Future[int]{pending, done}

		d, p, err := futures.Wait(ctx, fs, futures.AllCompleted)
		wantBlocking(t, "Wait(ALL_COMPLETED) in a task", err, "futures: Wait", "aio.AwaitFuture")
		if len(d) != 1 || d[0] != done || len(p) != 1 || p[0] != pending {
			t.Errorf("refused Wait: done %v, pending %v; want the lists as they are", d, p)
		}
		// A condition already met is no block.
		d, p, err = futures.Wait(ctx, fs, futures.FirstCompleted)
		if err != nil || len(d) != 1 || len(p) != 1 {
			t.Errorf("Wait(FIRST_COMPLETED) with one done in a task = %v, %v, %v", d, p, err)
		}

		var got []*futures.Future[int]
		var last error
		for f, err := range futures.AsCompleted(ctx, fs) {
			if err != nil {
				last = err
				continue
			}
			got = append(got, f)
		}
		if len(got) != 1 || got[0] != done {
			t.Errorf("AsCompleted in a task yielded %v before the refusal, want the done future", got)
		}
		wantBlocking(t, "AsCompleted in a task", last, "futures: AsCompleted", "aio.AwaitFuture")

		// All done: AsCompleted never needs to wait.
		n := 0
		for _, err := range futures.AsCompleted(ctx, []*futures.Future[int]{done, doneFuture(2)}) {
			if err != nil {
				t.Errorf("AsCompleted of done futures in a task: %v", err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("AsCompleted of 2 done futures yielded %d", n)
		}
		return nil
	})
}

func TestMapInTaskIsRefusedAndRunsNothing(t *testing.T) {
	pool := futures.NewThreadPool(futures.WithMaxWorkers(2))
	defer pool.Shutdown(context.Background())
	var calls atomic.Int32
	run(t, func(ctx context.Context) error {
		n := 0
		for _, err := range futures.Map(ctx, pool, func(_ context.Context, x int) (int, error) {
			calls.Add(1)
			return x, nil
		}, func(yield func(int) bool) {
			for i := range 10 {
				if !yield(i) {
					return
				}
			}
		}) {
			n++
			wantBlocking(t, "Map in a task", err, "futures: Map", "aio.ToThread")
		}
		if n != 1 {
			t.Errorf("Map in a task yielded %d pairs, want the refusal only", n)
		}
		return nil
	})
	if c := calls.Load(); c != 0 {
		t.Errorf("a refused Map ran the function %d times", c)
	}
}

func TestThreadPoolWaitsInTaskAreRefused(t *testing.T) {
	pool := futures.NewThreadPool(futures.WithMaxWorkers(1), futures.WithQueueSize(1))
	release := make(chan struct{})
	started := make(chan struct{})
	run(t, func(ctx context.Context) error {
		busy, err := futures.Submit(ctx, pool, func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil
		})
		if err != nil {
			return err
		}
		if _, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) { <-started; return struct{}{}, nil }); err != nil {
			return err
		}
		queued, err := futures.Submit(ctx, pool, func(context.Context) (int, error) { return 2, nil })
		if err != nil {
			return err
		}
		// The queue (1) is full: waiting for room would stop the loop.
		_, err = futures.Submit(ctx, pool, func(context.Context) (int, error) { return 3, nil })
		wantBlocking(t, "Submit to a full queue in a task", err, "ThreadPool.Execute on a full queue", "TryExecute")

		// Shutdown: the pool is shut down, the wait refused.
		err = pool.Shutdown(ctx)
		wantBlocking(t, "Shutdown in a task with work running", err, "ThreadPool.Shutdown", "Terminated()")
		if _, err := futures.Submit(ctx, pool, func(context.Context) (int, error) { return 4, nil }); !errors.Is(err, futures.ErrShutdown) {
			t.Errorf("Submit after a refused Shutdown = %v, want ErrShutdown", err)
		}
		close(release)
		for i, f := range []*futures.Future[int]{busy, queued} {
			if v, err := aio.AwaitFuture(ctx, f); v != i+1 || err != nil {
				t.Errorf("job %d = %v, %v; accepted work must still run", i+1, v, err)
			}
		}
		if _, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) { <-pool.Terminated(); return struct{}{}, nil }); err != nil {
			return err
		}
		// Terminated: nothing left to wait for, so no refusal.
		if err := pool.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown of a terminated pool in a task = %v", err)
		}
		return nil
	})
}

// The price of the check a blocking wait makes before it blocks: from a
// task of a running loop (refused) and from a plain goroutine while that
// loop runs (allowed).
func BenchmarkBlockingCheck(b *testing.B) {
	b.Run("task", func(b *testing.B) {
		err := aio.Run(context.Background(), func(ctx context.Context) error {
			for b.Loop() {
				if !futures.OnLoop() {
					b.Fatal("not on the loop in a task")
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	})
	b.Run("goroutine", func(b *testing.B) {
		err := aio.Run(context.Background(), func(ctx context.Context) error {
			_, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) {
				for b.Loop() {
					if futures.OnLoop() {
						b.Fatal("on the loop in a goroutine")
					}
				}
				return struct{}{}, nil
			})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	})
}
