package aio

import (
	"context"

	"github.com/braid-go/braid/futures"
)

// Bridges between the loop and executors (loop.run_in_executor,
// asyncio.to_thread, asyncio.wrap_future, run_coroutine_threadsafe).

// AwaitFuture waits for a futures.Future (the result of an executor)
// from a task without blocking the loop: the task is suspended and the
// result comes back through the loop's thread-safe path. If ctx is done
// first, the future is cancelled if it has not started yet (as asyncio's
// wrap_future does) and ctx's error is returned. From a goroutine that is
// not a task, it is f.Result(ctx).
func AwaitFuture[T any](ctx context.Context, f *futures.Future[T]) (T, error) {
	var zero T
	l := loopOf(ctx)
	if l == nil {
		return f.Result(ctx)
	}
	t, err := l.callerTask()
	if err != nil {
		return zero, err
	}
	if t == nil {
		return f.Result(ctx)
	}
	if f.State().Done() {
		return f.Result(context.Background())
	}
	if err := ctxErr(ctx); err != nil {
		f.Cancel()
		return zero, err
	}
	// While the future is pending outside the loop, a virtual clock must
	// not jump: the work may end at any real instant.
	st := &bridgeWait{l: l, t: t, counted: true}
	l.external++
	f.AddDoneCallback(func() {
		if l.CallSoonThreadsafe(st.arrived) != nil {
			return // the loop is closed; nobody waits any more
		}
	})
	stop := t.watch(ctx)
	defer func() {
		if stop != nil {
			stop()
		}
		st.release()
	}()
	for !st.done {
		if err := ctxErr(ctx); err != nil {
			f.Cancel()
			return zero, err
		}
		if !t.park() {
			f.Cancel()
			return zero, errAbandoned
		}
	}
	return f.Result(context.Background())
}

// bridgeWait is the loop-side state of a wait on something outside the
// loop. Its methods run on the loop.
type bridgeWait struct {
	l       *Loop
	t       *taskCore
	done    bool
	counted bool // counted in l.external
}

func (b *bridgeWait) arrived() {
	b.done = true
	b.release()
	b.l.wake(b.t)
}

func (b *bridgeWait) release() {
	if b.counted {
		b.counted = false
		b.l.external--
	}
}

// RunInExecutor runs fn on ex and suspends the calling task until it
// returns (loop.run_in_executor). fn receives ctx, so cancelling the
// task asks fn to stop; if fn has not started yet it never runs. A nil ex
// means the loop's default executor. From a goroutine that is not a task
// it blocks that goroutine.
func RunInExecutor[T any](ctx context.Context, ex futures.Executor, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if ex == nil {
		l := loopOf(ctx)
		if l == nil {
			return zero, ErrNoLoop
		}
		var err error
		if ex, err = l.DefaultExecutor(); err != nil {
			return zero, err
		}
	}
	f, err := futures.Submit(ctx, ex, fn)
	if err != nil {
		return zero, err
	}
	return AwaitFuture(ctx, f)
}

// ToThread runs blocking fn in the loop's default executor (a goroutine
// pool) and suspends the calling task until it returns
// (asyncio.to_thread). The loop keeps running meanwhile.
func ToThread[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	return RunInExecutor(ctx, nil, fn)
}

// DefaultExecutor returns the executor that ToThread and RunInExecutor
// use when given none: the one set with SetDefaultExecutor, or a
// futures.ThreadPool made on first use and shut down (waiting for its
// work) when Run ends or the loop closes. Loop-only.
func (l *Loop) DefaultExecutor() (futures.Executor, error) {
	if l.closed.Load() {
		return nil, ErrLoopClosed
	}
	if l.defaultExec == nil {
		pool := futures.NewThreadPool(futures.WithName("aio-default"))
		l.defaultExec = pool
		l.ownsDefaultExec = true
	}
	return l.defaultExec, nil
}

// SetDefaultExecutor makes ex the loop's default executor
// (loop.set_default_executor). The loop does not shut down an executor it
// did not make. Loop-only.
func (l *Loop) SetDefaultExecutor(ex futures.Executor) {
	l.shutdownDefaultExecutor()
	l.defaultExec, l.ownsDefaultExec = ex, false
}

func (l *Loop) shutdownDefaultExecutor() {
	if l.defaultExec != nil && l.ownsDefaultExec {
		l.defaultExec.Shutdown(context.Background(), true, false)
	}
	l.defaultExec, l.ownsDefaultExec = nil, false
}

// RunCoroutineThreadsafe starts fn as a task of loop l from any goroutine
// and returns a futures.Future for its outcome
// (asyncio.run_coroutine_threadsafe). Cancelling the returned future
// cancels the task. It fails with ErrLoopClosed on a closed loop.
func RunCoroutineThreadsafe[T any](l *Loop, fn func(context.Context) (T, error), opts ...SpawnOption) (*futures.Future[T], error) {
	out := futures.NewFuture[T]()
	err := l.CallSoonThreadsafe(func() {
		if out.State() == futures.Cancelled {
			return
		}
		t := Spawn(l.root, fn, opts...)
		out.AddDoneCallback(func() {
			if out.State() == futures.Cancelled {
				l.CallSoonThreadsafe(func() { t.Cancel() })
			}
		})
		t.AddDoneCallback(func() {
			v, err := t.Result()
			if out.SetRunning() {
				out.Complete(v, err)
			}
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
