package mp

import (
	"context"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/internal/loopthread"
)

// Await runs a call of the function with arg on ex and waits for its
// result without blocking an event loop: asyncio's
//
//	await loop.run_in_executor(process_pool, fn, arg)
//
// is
//
//	v, err := Fn.Await(ctx, pool, arg)
//
// In a task of an aio event loop (ctx is the task's context) only the task
// is suspended: the loop runs its other tasks meanwhile, and the result
// comes back through the loop. From a plain goroutine Await is Call. ex is
// any futures.Executor: an mp.Pool runs the call in a worker process, a
// futures.ThreadPool in this process.
//
// ctx is the call's context, as for Submit: when it ends before the call
// starts the call never runs, and when it ends while the call runs in a
// pool worker, that worker is killed. In a task, Await then returns ctx's
// error at once (as aio.AwaitFuture does) instead of the *KilledError that
// Call reports. In a loop callback (not a task) Await returns aio's
// ErrInCallback without waiting; the call has been submitted and goes on.
// An unregistered (zero) Func, an argument that cannot be encoded and a
// refusing executor are errors returned at once, as for Submit.
func (f Func[A, R]) Await(ctx context.Context, ex futures.Executor, arg A) (R, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var zero R
	fut, err := f.Submit(ctx, ex, arg)
	if err != nil {
		return zero, err
	}
	handled, err := loopthread.Await(ctx, fut)
	if !handled {
		return wait(ctx, ex, fut)
	}
	if err != nil {
		return zero, err
	}
	return fut.Result(context.Background())
}

// wait is Call's wait for fut.
func wait[R any](ctx context.Context, ex futures.Executor, fut *futures.Future[R]) (R, error) {
	v, err := fut.Result(ctx)
	if _, isPool := ex.(*Pool); isPool && err != nil && ctx.Err() != nil {
		// The wait ended with ctx; a process pool settles the call at once
		// with the same cause (killing its worker if it ran): report how.
		// (Other executors may run the function on: Call returns now.)
		<-fut.Done()
		_, err = fut.Result(context.Background())
	}
	return v, err
}

// refuseOnLoop returns the *futures.BlockingError of call when the caller
// is a task or a callback of a running aio event loop, nil otherwise.
func refuseOnLoop(call, instead string) error {
	if loopthread.OnLoop() {
		return &futures.BlockingError{Call: call, Instead: instead}
	}
	return nil
}

// Replacements named by the errors of blocking calls refused on a loop.
const (
	insteadCall     = "Func.Await(ctx, ex, arg), or aio.AwaitFuture(ctx, f) on the future of Func.Submit"
	insteadMap      = "Func.Await for each item (in tasks of their own, gathered with aio.Gather), or run the Map through aio.ToThread"
	insteadShutdown = "the pool is shut down already: wait for Done() through aio.ToThread, or call Close not to wait"
)
