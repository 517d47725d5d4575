package futures

import (
	"context"
	"errors"
	"fmt"
)

// This file holds the API shared by every executor (the goroutine pool
// here, mp.Pool) and by package aio: states, the interfaces, the sentinel
// errors and the error types. Package aio declares aliases of PanicError,
// ErrCancelled and ReturnWhen, so that the whole module has one of each.

// State is the lifecycle state of a Future. A future starts Pending, moves to
// Running when an executor starts its work, and ends Finished (with a value or
// an error) or Cancelled (only possible while Pending).
type State int32

const (
	// Pending: accepted by an executor, not started yet; Cancel succeeds.
	Pending State = iota
	// Running: the work has started; Cancel fails, the work runs to the end.
	Running
	// Finished: the work completed with a value or an error.
	Finished
	// Cancelled: Cancel was called while the future was Pending.
	Cancelled
)

// String returns the lower-case name of the state, as Python's
// concurrent.futures prints it ("pending", "running", "finished",
// "cancelled").
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Running:
		return "running"
	case Finished:
		return "finished"
	case Cancelled:
		return "cancelled"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Done reports whether s is a final state (Finished or Cancelled).
func (s State) Done() bool { return s == Finished || s == Cancelled }

// Waitable is the untyped view of any *Future[T] (and of other future types,
// such as aio's tasks), used by Wait and AsCompleted.
//
// Types that also have an AddDoneCallback(func()) method, as *Future[T] does,
// are waited for through that callback; others cost one goroutine each while
// they are waited for.
type Waitable interface {
	// Done returns a channel closed when the future is finished or cancelled.
	Done() <-chan struct{}
	// Err returns the future's error once it is done, nil before.
	Err() error
	// State returns the current state.
	State() State
	// Cancel cancels the future if it is still pending.
	Cancel() bool
}

// Job is one unit of work handed to an executor. Implementations come from
// this package (the closures of Submit and Map) and from package mp
// (registered functions). An executor calls Start, and Run only if Start
// returned true; or it calls Fail instead when it cannot run the job.
type Job interface {
	// Context returns the submitter's context. Executors honour it while
	// the job waits to be accepted (a full queue).
	Context() context.Context
	// Start moves the job's future from Pending to Running. It returns
	// false if the future was cancelled (or already completed): do not run.
	Start() bool
	// Run runs the job in this process and completes its future. It never
	// panics for the executor: a panic in the work becomes a *PanicError
	// on the future.
	Run()
	// Fail completes the job's future with err without running it
	// (shutdown, broken pool, crashed worker). It does nothing if the
	// future is already done.
	Fail(err error)
}

// RemoteJob is a Job that can cross a process or machine boundary: a
// registered function name and an encoded argument instead of a Go closure.
// Executors that run work outside this process (mp.Pool) accept only
// RemoteJobs.
type RemoteJob interface {
	Job
	// Function returns the registered function name.
	Function() string
	// Payload returns the encoded argument.
	Payload() []byte
	// CompleteRemote decodes result and completes the future with it, or
	// with err when err is not nil.
	CompleteRemote(result []byte, err error)
}

// Executor runs jobs. It is implemented by *ThreadPool (this package) and
// *mp.Pool. All methods are safe from any goroutine.
//
// Stopping has the shape of net/http.Server's: Shutdown is the graceful
// stop that waits, bounded by its context; Close is the quick stop that
// cancels what has not started and does not wait. Python's
// shutdown(wait=True) is Shutdown(ctx); shutdown(wait=False,
// cancel_futures=True) is Close(); shutdown(wait=True,
// cancel_futures=True) is Close() then Shutdown(ctx).
type Executor interface {
	// Execute accepts job or returns an error at once (ErrShutdown,
	// ErrBroken, a job kind this executor cannot run). An accepted job is
	// always completed or failed, never dropped. Executors with a bounded
	// queue may block until there is room or job.Context() ends (then the
	// job is not accepted and the context's error is returned).
	Execute(job Job) error
	// Shutdown stops accepting work and waits until every accepted job
	// (queued or running) is done and the executor's workers have exited,
	// or until ctx ends: then the work goes on, and an error wrapping
	// ctx's error is returned (call Close to cancel what is still queued).
	// Shutdown may be called again, and after Close.
	Shutdown(ctx context.Context) error
	// Close stops accepting work and cancels every job not yet started
	// (its future ends Cancelled, or fails with ErrCancelled); running
	// jobs run to their end. It does not wait: Shutdown waits. Close may
	// be called again, and after Shutdown.
	Close() error
}

// Canceler is implemented by jobs whose future can be cancelled; *Future[T]
// has this method, so a job type that embeds *Future[T] has it too.
// CancelJob uses it.
type Canceler interface {
	Cancel() bool
}

// CancelJob cancels a job that has not started: through its Cancel method
// when it has one (the future ends Cancelled), otherwise by failing it with
// ErrCancelled. Executors call it in Close. It does
// nothing to a job that already started or finished.
func CancelJob(j Job) {
	if c, ok := j.(Canceler); ok {
		c.Cancel()
		return
	}
	j.Fail(ErrCancelled)
}

// ReturnWhen tells Wait (this package's and aio's) when to return.
type ReturnWhen int

const (
	// AllCompleted returns when every future is done (Python's
	// ALL_COMPLETED).
	AllCompleted ReturnWhen = iota
	// FirstCompleted returns when at least one future is done (finished or
	// cancelled), Python's FIRST_COMPLETED.
	FirstCompleted
	// FirstError returns when a future finishes with an error, or when
	// all are done if none fails (Python's FIRST_EXCEPTION). Cancelled
	// futures do not count as errors.
	FirstError
)

// String returns the Python name of w.
func (w ReturnWhen) String() string {
	switch w {
	case AllCompleted:
		return "ALL_COMPLETED"
	case FirstCompleted:
		return "FIRST_COMPLETED"
	case FirstError:
		return "FIRST_EXCEPTION"
	}
	return fmt.Sprintf("ReturnWhen(%d)", int(w))
}

var (
	// ErrShutdown is returned by Execute, Submit and Map after the executor
	// was shut down (Python: RuntimeError "cannot schedule new futures
	// after shutdown").
	ErrShutdown = errors.New("futures: cannot schedule new work after shutdown")

	// ErrBroken marks an executor that can no longer run work, for example
	// because a worker initializer failed (Python's BrokenExecutor). Errors
	// from a broken executor are *BrokenError values that match ErrBroken
	// with errors.Is and unwrap to the cause.
	ErrBroken = errors.New("futures: executor is broken")

	// ErrCancelled is the error of a cancelled future, of this package
	// and of package aio (Python's CancelledError).
	// errors.Is(ErrCancelled, context.Canceled) is true.
	ErrCancelled error = cancelledError{}

	// ErrQueueFull is returned by ThreadPool.TryExecute when the queue is at
	// its bound.
	ErrQueueFull = errors.New("futures: executor queue is full")
)

type cancelledError struct{}

func (cancelledError) Error() string { return "the future was cancelled" }

func (cancelledError) Is(target error) bool { return target == context.Canceled }

// BrokenError is the error of work refused or failed by a broken executor.
// It matches ErrBroken with errors.Is, and errors.Unwrap gives the cause
// (the initializer's error, or a *PanicError if it panicked).
type BrokenError struct {
	// Executor is the name of the broken executor.
	Executor string
	// Reason says what broke it, for example "worker initializer failed".
	Reason string
	// Cause is the underlying error.
	Cause error
}

// Error describes the executor, the reason and the cause.
func (e *BrokenError) Error() string {
	return fmt.Sprintf("futures: executor %q is broken (%s) and runs no more work: %v", e.Executor, e.Reason, e.Cause)
}

// Is makes errors.Is(err, ErrBroken) true.
func (e *BrokenError) Is(target error) bool { return target == ErrBroken }

// Unwrap returns the cause.
func (e *BrokenError) Unwrap() error { return e.Cause }

// PanicError is the error of work that panicked: the work of an executor
// (this package, mp) or an aio task. It holds the panic value and the stack
// of the goroutine where it happened. Use errors.As to get it; aio.PanicError
// is the same type.
type PanicError struct {
	// Task names the work that panicked: an aio task's name, or "task
	// group body". It is empty for the work of an executor.
	Task string
	// Value is the value passed to panic.
	Value any
	// Stack is the goroutine stack at the panic (runtime/debug.Stack).
	Stack []byte
}

// Error says which task panicked, with what value, and the stack.
func (e *PanicError) Error() string {
	if e.Task != "" {
		return fmt.Sprintf("task %q panicked: %v\n\n%s", e.Task, e.Value, e.Stack)
	}
	return fmt.Sprintf("task panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error, so that errors.Is sees
// through a panic(err).
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
