package aio

import (
	"context"
	"sync/atomic"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/internal/loopthread"
)

// Bridges between the loop and executors (loop.run_in_executor,
// asyncio.to_thread, asyncio.wrap_future, run_coroutine_threadsafe).

// AwaitFuture waits for a futures.Future (the result of an executor)
// from a task without blocking the loop: the task is suspended and the
// result comes back through the loop's thread-safe path. If ctx is done
// first, the future is cancelled if it has not started yet (as asyncio's
// wrap_future does) and ctx's error is returned. A future already done
// gives its outcome at once. From a goroutine that is not a task, it is
// f.Result(ctx). (f.Result itself, called in a task on a future not yet
// done, returns futures.ErrBlockingOnLoop instead of stopping the loop.)
func AwaitFuture[T any](ctx context.Context, f *futures.Future[T]) (T, error) {
	handled, err := awaitDone(ctx, f)
	if !handled {
		return f.Result(ctx)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return f.Result(context.Background())
}

// awaitDone suspends the calling task of the loop that ctx carries until
// a is done. handled=false: the caller is a plain goroutine (or ctx
// carries no loop) and must wait as it would without a loop. With
// handled=true, err is nil once a is done, ctx's error if ctx ended first
// (a is then cancelled if it has not started), or the misuse error of a
// loop callback or a task of another loop. It is also the hook through
// which packages below aio (mp's Func.Await) suspend a task.
func awaitDone(ctx context.Context, a loopthread.Awaitable) (handled bool, err error) {
	l := loopOf(ctx)
	if l == nil {
		return false, nil
	}
	t, err := l.callerTask()
	if err != nil {
		return true, err
	}
	if t == nil {
		return false, nil
	}
	if s, ok := a.(interface{ State() futures.State }); ok && s.State().Done() {
		return true, nil // already done: its outcome wins over ctx
	}
	// The callback runs at once, here, if a is already done: the state
	// tells that apart from a later call from the completing goroutine,
	// which must go through the loop's thread-safe queue.
	st := &bridgeWait{l: l, t: t}
	a.AddDoneCallback(func() {
		if st.reg.CompareAndSwap(regPending, regInline) {
			return
		}
		if l.CallSoonThreadsafe(st.arrived) != nil {
			return // the loop is closed; nobody waits any more
		}
	})
	if !st.reg.CompareAndSwap(regPending, regDone) {
		return true, nil // already done: its outcome wins over ctx
	}
	if err := ctxErr(ctx); err != nil {
		st.gone = true
		a.Cancel()
		return true, err
	}
	// While the future is pending outside the loop, a virtual clock must
	// not jump: the work may end at any real instant.
	st.counted = true
	l.external++
	st.a = a
	err = park(ctx, t, st, parkOpts{})
	st.gone = true
	st.release()
	return true, err
}

// States of bridgeWait.reg.
const (
	regPending = iota // AddDoneCallback has not returned
	regInline         // the callback ran inside AddDoneCallback: done
	regDone           // registered: the callback comes through the loop
)

// bridgeWait is the loop-side state of a wait on something outside the
// loop. Its methods run on the loop.
type bridgeWait struct {
	l       *Loop
	t       *taskCore
	reg     atomic.Int32 // a reg* state
	done    bool
	gone    bool // the waiter returned: an arrival wakes nobody
	counted bool // counted in l.external
	a       loopthread.Awaitable
}

// A bridgeWait is the parkCond of its task; a wait given up cancels what
// it waited for (if it has not started).
func (b *bridgeWait) ready() bool        { return b.done }
func (b *bridgeWait) register(*taskCore) {}
func (b *bridgeWait) abort(*taskCore)    { b.a.Cancel() }

func (b *bridgeWait) arrived() {
	b.done = true
	b.release()
	if !b.gone {
		b.l.wake(b.t)
	}
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
//
// ex is any futures.Executor. A process pool (mp.Pool) runs only
// registered functions, not closures: it refuses fn with mp.ErrNotRemote;
// there, asyncio's await loop.run_in_executor(pool, fn, arg) is
// Fn.Await(ctx, pool, arg) on the mp.Func of a registered function, which
// suspends the task in the same way.
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
		l.defaultExec.Shutdown(context.Background())
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
