package aio_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
)

func TestToThreadReturnsValueWhileLoopRuns(t *testing.T) {
	run(t, func(ctx context.Context) error {
		release := make(chan struct{})
		var ticks atomic.Int32
		ticker := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			// The loop keeps running other tasks while the thread blocks.
			for i := 0; i < 3; i++ {
				if err := aio.Sleep(ctx, 0); err != nil {
					return 0, err
				}
				ticks.Add(1)
			}
			close(release)
			return 0, nil
		})
		v, err := aio.ToThread(ctx, func(ctx context.Context) (int, error) {
			<-release
			return 7, nil
		})
		if err != nil || v != 7 {
			t.Errorf("ToThread = %v, %v; want 7, nil", v, err)
		}
		if ticks.Load() != 3 {
			t.Errorf("the loop ran %d ticks while the thread blocked, want 3", ticks.Load())
		}
		_, err = ticker.Await(ctx)
		return err
	})
}

// The virtual clock must not jump while work is pending outside the loop.
func TestVirtualClockWaitsForThreads(t *testing.T) {
	run(t, func(ctx context.Context) error {
		release := make(chan struct{})
		worker := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return aio.ToThread(ctx, func(ctx context.Context) (int, error) {
				<-release
				return 1, nil
			})
		})
		go close(release)
		if err := aio.Sleep(ctx, time.Hour); err != nil {
			return err
		}
		if !worker.Done() {
			t.Error("an hour of virtual time passed while a thread was still working")
		}
		_, err := worker.Await(ctx)
		return err
	})
}

func TestRunInExecutorCancelsPendingFuture(t *testing.T) {
	pool := futures.NewThreadPool(futures.WithMaxWorkers(1))
	defer pool.Shutdown(context.Background())
	block := make(chan struct{})
	run(t, func(ctx context.Context) error {
		// Occupy the only worker so that the next job stays pending.
		busy, err := futures.Submit(ctx, pool, func(context.Context) (int, error) { <-block; return 0, nil })
		if err != nil {
			return err
		}
		ran := atomic.Bool{}
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return aio.RunInExecutor(ctx, pool, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
		})
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		task.Cancel()
		_, err = task.Await(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled task returned %v, want context.Canceled", err)
		}
		close(block)
		if _, err := aio.AwaitFuture(ctx, busy); err != nil {
			return err
		}
		pool.Shutdown(context.Background())
		if ran.Load() {
			t.Error("the job of a cancelled task ran anyway")
		}
		return nil
	})
}

func TestRunCoroutineThreadsafe(t *testing.T) {
	l, err := aio.NewLoop(aio.WithVirtualClock())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	result := make(chan error, 1)
	go func() {
		f, err := aio.RunCoroutineThreadsafe(l, func(ctx context.Context) (string, error) {
			if err := aio.Sleep(ctx, time.Minute); err != nil {
				return "", err
			}
			return "hi", nil
		})
		if err != nil {
			result <- err
			return
		}
		v, err := f.Result(context.Background())
		if err == nil && v != "hi" {
			err = errors.New("wrong value " + v)
		}
		result <- err
		l.Stop()
	}()
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	if err := <-result; err != nil {
		t.Fatal(err)
	}
}

func TestRunCoroutineThreadsafeCancelCancelsTask(t *testing.T) {
	l, err := aio.NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	started := make(chan struct{})
	var got atomic.Value
	f, err := aio.RunCoroutineThreadsafe(l, func(ctx context.Context) (int, error) {
		close(started)
		err := aio.Sleep(ctx, time.Hour)
		got.Store(err)
		l.Stop()
		return 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-started
		f.Cancel()
	}()
	if err := l.Run(); err != nil {
		t.Fatal(err)
	}
	if err, _ := got.Load().(error); !errors.Is(err, context.Canceled) {
		t.Fatalf("task saw %v, want context.Canceled", err)
	}
}
