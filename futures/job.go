package futures

import (
	"context"
	"errors"
	"runtime/debug"
)

// task is the Job of a Go closure: the future, the submitter's context and
// the function, in one allocation.
type task[T any] struct {
	Future[T]
	ctx context.Context
	fn  func(context.Context) (T, error)
}

// NewJob returns a Job that runs fn(ctx) in the executor's goroutine, and
// its future. Submit is NewJob followed by Execute; NewJob is for code that
// hands jobs to an executor itself.
//
// If ctx has ended when a worker picks the job up, fn is not called and the
// future finishes with the context's error. A panic in fn becomes a
// *PanicError on the future.
func NewJob[T any](ctx context.Context, fn func(context.Context) (T, error)) (Job, *Future[T]) {
	if ctx == nil {
		ctx = context.Background()
	}
	t := &task[T]{ctx: ctx, fn: fn}
	return t, &t.Future
}

func (t *task[T]) Context() context.Context { return t.ctx }

func (t *task[T]) Start() bool { return t.SetRunning() }

func (t *task[T]) Fail(err error) {
	var zero T
	t.Complete(zero, err)
}

func (t *task[T]) Run() {
	if t.ctx.Done() != nil {
		if err := t.ctx.Err(); err != nil {
			var zero T
			t.Complete(zero, context.Cause(t.ctx))
			return
		}
	}
	v, err := call(t.ctx, t.fn)
	t.Complete(v, err)
}

// call runs fn and turns a panic into a *PanicError.
func call[T any](ctx context.Context, fn func(context.Context) (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(r)
		}
	}()
	return fn(ctx)
}

func newPanicError(r any) *PanicError {
	return &PanicError{Value: r, Stack: debug.Stack()}
}

// errNilExecutor is returned by Submit and Map given a nil executor.
var errNilExecutor = errors.New("futures: nil Executor")

// Submit runs fn(ctx) on ex and returns its future (Python's
// executor.submit). ctx is passed to fn and bounds the wait for room in a
// bounded queue; if the executor refuses the work (ErrShutdown, ErrBroken,
// ctx ended while the queue was full, an executor that cannot run
// closures), Submit returns a nil future and the error.
//
// If ctx has ended by the time a worker picks the work up, fn is not called
// and the future finishes with the context's error. A panic in fn becomes a
// *PanicError on the future; the worker goes on.
func Submit[T any](ctx context.Context, ex Executor, fn func(context.Context) (T, error)) (*Future[T], error) {
	if ex == nil {
		return nil, errNilExecutor
	}
	job, f := NewJob(ctx, fn)
	if err := ex.Execute(job); err != nil {
		return nil, err
	}
	return f, nil
}
