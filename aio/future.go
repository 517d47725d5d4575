package aio

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/braid-go/braid/futures"
)

type futureState uint8

const (
	statePending futureState = iota
	stateDone
	stateCancelled
)

// Errors about futures and awaiting.
var (
	// ErrNotDone is returned by Result on a future that is still pending
	// (asyncio's InvalidStateError).
	ErrNotDone = errors.New("aio: the future is not done yet")
	// ErrAlreadyDone is returned when setting the outcome of a future that
	// already has one (asyncio's InvalidStateError).
	ErrAlreadyDone = errors.New("aio: the future is already done")
	// ErrOtherLoop is returned when a task awaits a future of another loop.
	ErrOtherLoop = errors.New("aio: the future belongs to another event loop; await it from a task of its own loop, or bridge with RunCoroutineThreadsafe")
	// ErrNotInTask is matched (errors.Is) by the error of every call that
	// suspends the calling task, or belongs to the loop, made where it
	// cannot: from a plain goroutine or from a loop callback (ErrInCallback
	// matches it too). The error of each call says which call it was and
	// what to do instead.
	ErrNotInTask = errors.New("aio: this call suspends the calling task: call it from a task of the loop (aio.Spawn), not from a loop callback or another goroutine")
	// ErrInCallback is returned when code running as a plain loop
	// callback tries to wait: it would block the loop forever. It matches
	// ErrNotInTask.
	ErrInCallback error = &callerError{
		msg:  "aio: cannot wait inside a loop callback (it would block the loop); spawn a task with aio.Spawn and wait there",
		kind: ErrNotInTask,
	}
	// ErrAwaitSelf is returned when a task awaits its own result: it
	// would wait forever.
	ErrAwaitSelf = errors.New("aio: a task cannot await itself")
	// ErrNoLoop is returned when a context carries no event loop: pass
	// the context your task received, or the loop's Context().
	ErrNoLoop = errors.New("aio: the context carries no event loop; pass the ctx your task function received (or Loop.Context())")
)

// callerError is the error of a call made from the wrong place: its own
// message, matching its kind (ErrNotInTask or ErrOtherLoop) with
// errors.Is.
type callerError struct {
	msg  string
	kind error
}

func (e *callerError) Error() string        { return e.msg }
func (e *callerError) Is(target error) bool { return target == e.kind }

// errNotInTask is the error of what, a call that suspends the calling
// task, made from a plain goroutine. It matches ErrNotInTask.
func errNotInTask(what string) error {
	return &callerError{
		msg:  "aio: " + what + " must be called from a task of the loop (aio.Spawn); from another goroutine use RunCoroutineThreadsafe or Future.Await",
		kind: ErrNotInTask,
	}
}

// callerLoop returns the running loop other than l whose task or
// callback the calling goroutine is running, or nil.
func callerLoop(l *Loop) *Loop {
	if !canIdentifyGoroutine {
		return nil
	}
	g := getg()
	for _, ol := range *runningLoops.Load() {
		if ol != l && (ol.taskOf(g) != nil || g == ol.g.Load()) {
			return ol
		}
	}
	return nil
}

// cancelledError is the error of a cancelled task, naming it. It matches
// context.Canceled and ErrCancelled with errors.Is.
type cancelledError struct{ what string }

func (e *cancelledError) Error() string { return "aio: " + e.what + " was cancelled" }
func (e *cancelledError) Is(target error) bool {
	return target == context.Canceled || target == futures.ErrCancelled
}

// ErrCancelled is the error of a cancelled Future. It is
// futures.ErrCancelled, the one cancellation sentinel of the module;
// errors.Is(err, ErrCancelled) and errors.Is(err, context.Canceled) are
// true for it and for every cancellation error of a task.
var ErrCancelled = futures.ErrCancelled

// deadlineCancelledError is the error of a task that ended with its
// context's deadline error after that deadline passed: the deadline
// cancelled it (asyncio's timeout() cancels; only the scope's exit turns
// the cancellation into TimeoutError). It keeps the task's own error and
// message, and matches context.Canceled as well as what that error
// matches (context.DeadlineExceeded).
type deadlineCancelledError struct{ err error }

func (e *deadlineCancelledError) Error() string        { return e.err.Error() }
func (e *deadlineCancelledError) Unwrap() error        { return e.err }
func (e *deadlineCancelledError) Is(target error) bool { return target == context.Canceled }

// asCancellation classifies err, the error that ends work done under ctx
// (a task's function, a task group's body): it returns the error to
// record and whether it is a cancellation rather than a failure. An
// error matching context.Canceled is a cancellation; so is one matching
// context.DeadlineExceeded once ctx is done with a deadline error (the
// deadline of ctx or of one of its parents, aio's or the context
// package's, cancelled the work), and it is then wrapped so that it
// matches context.Canceled too. A deadline error while ctx is not done
// (an inner WaitFor or Timeout scope ran out) is a failure. This is the
// one rule of "cancelled or failed" in the package: everything else
// looks at Cancelled() or errors.Is(err, context.Canceled).
func asCancellation(err error, ctx *loopCtx) (error, bool) {
	if err == nil {
		return nil, false
	}
	if errors.Is(err, context.Canceled) {
		return err, true
	}
	if cerr := ctx.Err(); cerr != nil && errors.Is(cerr, context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) {
		return &deadlineCancelledError{err: err}, true
	}
	return err, false
}

// doneCB is one registration on a future: something to notify (a task
// to wake, a multi-future waiter, or a callback to schedule), and the id
// that removes a callback.
type doneCB struct {
	n  notifier
	id uint64
}

// notify wakes a task waiting on a future.
func (t *taskCore) notify(*futureCore) { t.loop.wake(t) }

// callbackCB is a done callback: notifying it schedules it on the loop.
type callbackCB func()

func (fn callbackCB) notify(f *futureCore) { f.loop.soon(fn) }

// futureCore is the untyped state shared by Future[T] and Task[T].
type futureCore struct {
	loop  *Loop
	state futureState
	// tracked: a failure nobody retrieved yet, in loop.failures under the
	// future's address (a flag here rather than a pointer keeps every
	// future and task 8 bytes smaller).
	tracked bool
	err     error
	cbs     []doneCB
}

func (f *futureCore) core() *futureCore { return f }

// Loop returns the loop the future belongs to.
func (f *futureCore) Loop() *Loop { return f.loop }

// Done reports whether the future is done: it has a value, an error, or
// was cancelled.
func (f *futureCore) Done() bool { return f.state != statePending }

// Cancelled reports whether the future was cancelled.
func (f *futureCore) Cancelled() bool { return f.state == stateCancelled }

// Err returns the error of a done future (nil if it has a value), or
// ErrNotDone.
func (f *futureCore) Err() error {
	if err := otherLoopCheck(f.loop, "Err"); err != nil {
		return err
	}
	if f.state == statePending {
		return ErrNotDone
	}
	f.retrieved()
	return f.err
}

// AddDoneCallback schedules fn on the loop when the future is done (at
// once if it is already). The returned function removes fn if it has not
// been scheduled yet, and reports whether it did.
func (f *futureCore) AddDoneCallback(fn func()) (remove func() bool) {
	id := f.addCallback(fn)
	return func() bool { return id != 0 && f.removeCallback(id) }
}

// finish moves the future to its final state and schedules its callbacks
// and waiters. Loop-only.
func (f *futureCore) finish(st futureState, err error) {
	f.state = st
	f.err = err
	cbs := f.cbs
	f.cbs = nil
	for _, cb := range cbs {
		cb.n.notify(f)
	}
}

func (f *futureCore) addWaiter(t *taskCore) {
	f.cbs = append(f.cbs, doneCB{n: t})
}

func (f *futureCore) removeWaiter(t *taskCore) {
	for i := range f.cbs {
		if f.cbs[i].n == notifier(t) {
			f.cbs = append(f.cbs[:i], f.cbs[i+1:]...)
			return
		}
	}
}

func (f *futureCore) addCallback(fn func()) uint64 {
	if f.state != statePending {
		f.loop.soon(fn)
		return 0
	}
	f.loop.cbSeq++
	f.cbs = append(f.cbs, doneCB{n: callbackCB(fn), id: f.loop.cbSeq})
	return f.loop.cbSeq
}

func (f *futureCore) removeCallback(id uint64) bool {
	for i := range f.cbs {
		if id != 0 && f.cbs[i].id == id {
			f.cbs = append(f.cbs[:i], f.cbs[i+1:]...)
			return true
		}
	}
	return false
}

// retrieved marks the outcome as seen, so it is not reported as lost.
func (f *futureCore) retrieved() {
	if f.tracked {
		f.tracked = false
		key := uintptr(unsafe.Pointer(f))
		if r := f.loop.failures[key]; r != nil {
			r.retrieved.Store(true)
			delete(f.loop.failures, key)
		}
	}
}

// Waitable is any future or task of a loop, whatever its result type:
// what Wait, AsCompleted and RunUntilComplete accept. Only braid's
// futures and tasks implement it.
type Waitable interface {
	// Done reports whether the future has a result, an error, or was
	// cancelled.
	Done() bool
	// Cancelled reports whether the future was cancelled.
	Cancelled() bool
	// Cancel cancels the future (a task: cancels its context). It reports
	// false if it was already done.
	Cancel() bool
	// Err returns the error of a done future (nil for a result); ErrNotDone
	// while pending.
	Err() error
	core() *futureCore
}

// Awaitable is a future or task whose result is a T: what Gather, WaitFor
// and Shield accept.
type Awaitable[T any] interface {
	Waitable
	// Result returns the outcome of a done future without waiting.
	Result() (T, error)
	// Await waits for the outcome.
	Await(ctx context.Context) (T, error)
	// result is Result for the package's combinators, which already
	// know they run on the future's loop.
	result() (T, error)
}

// Future is a result that will be set later, on one loop (asyncio.Future).
// Its methods belong to the loop, except Await, which also works from any
// goroutine.
type Future[T any] struct {
	futureCore
	value T
}

// NewFuture returns a pending future of the loop that ctx carries. It
// panics if ctx carries no loop: pass the ctx your task received.
func NewFuture[T any](ctx context.Context) *Future[T] {
	l := loopOf(ctx)
	if l == nil {
		panic(ErrNoLoop)
	}
	return &Future[T]{futureCore: futureCore{loop: l}}
}

// SetResult completes the future with v. It fails with ErrAlreadyDone if
// the future is already done.
func (f *Future[T]) SetResult(v T) error {
	if err := loopCheck(f.loop, "Future.SetResult"); err != nil {
		return err
	}
	if f.state != statePending {
		return ErrAlreadyDone
	}
	f.value = v
	f.finish(stateDone, nil)
	return nil
}

// SetError completes the future with err (which must not be nil). It
// fails with ErrAlreadyDone if the future is already done.
func (f *Future[T]) SetError(err error) error {
	if err == nil {
		return errors.New("aio: SetError needs a non-nil error; use SetResult for a value")
	}
	if err := loopCheck(f.loop, "Future.SetError"); err != nil {
		return err
	}
	if f.state != statePending {
		return ErrAlreadyDone
	}
	f.finish(stateDone, err)
	return nil
}

// Cancel cancels a pending future; it returns false if it was already
// done. Loop-only: called from a goroutine that does not run the future's
// loop, it panics with an error matching ErrOtherLoop or ErrNotInTask and
// changes nothing (use loop.CallSoonThreadsafe).
func (f *Future[T]) Cancel() bool {
	mustOnLoop(f.loop, "Future.Cancel")
	if f.state != statePending {
		return false
	}
	f.finish(stateCancelled, ErrCancelled)
	return true
}

// Result returns the value and error of a done future without waiting,
// or ErrNotDone.
func (f *Future[T]) Result() (T, error) {
	if err := otherLoopCheck(f.loop, "Future.Result"); err != nil {
		var zero T
		return zero, err
	}
	return f.result()
}

func (f *Future[T]) result() (T, error) {
	if f.state == statePending {
		var zero T
		return zero, ErrNotDone
	}
	f.retrieved()
	return f.value, f.err
}

// Await waits until the future is done and returns its outcome, or
// returns ctx's error first if ctx is done.
//
// In a task of the future's loop it suspends the task, not the thread. In
// a goroutine that is not a task of any loop it blocks that goroutine
// (the loop must be running for the future to complete). In a loop
// callback it returns ErrInCallback, and in a task of another loop
// ErrOtherLoop: waiting there would deadlock the loop.
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	if err := awaitCore(ctx, &f.futureCore); err != nil {
		var zero T
		return zero, err
	}
	return f.value, f.err
}

// awaitCore waits for f to be done. A nil result means f is done (and its
// outcome is safe to read); otherwise the wait was abandoned.
func awaitCore(ctx context.Context, f *futureCore) error {
	l := f.loop
	t, err := l.callerTask()
	if err != nil {
		return err
	}
	if t == nil {
		return awaitFromGoroutine(ctx, f)
	}
	if f.state == statePending && t.impl.core() == f {
		return ErrAwaitSelf
	}
	if f.state == statePending {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		f.addWaiter(t)
		if err := park(ctx, t, (*futureWait)(f), parkOpts{checked: true}); err != nil {
			return err
		}
	}
	f.retrieved()
	return nil
}

// futureWait is a future as the parkCond of a task awaiting it.
type futureWait futureCore

func (f *futureWait) ready() bool        { return f.state != statePending }
func (f *futureWait) register(*taskCore) {}
func (f *futureWait) abort(t *taskCore)  { (*futureCore)(f).removeWaiter(t) }

// awaitFromGoroutine waits for f from a goroutine that is not a task,
// blocking it.
func awaitFromGoroutine(ctx context.Context, f *futureCore) error {
	l := f.loop
	ch := make(chan struct{})
	err := l.CallSoonThreadsafe(func() {
		f.addCallback(func() { close(ch) })
	})
	if err != nil {
		return fmt.Errorf("aio: cannot wait for a future of a closed loop: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// callerTask identifies who is calling: the running task of l (t != nil),
// a plain goroutine (nil, nil), or misuse (an error).
func (l *Loop) callerTask() (*taskCore, error) {
	g := getg()
	if t := l.taskOf(g); t != nil {
		return t, nil
	}
	if !canIdentifyGoroutine {
		return nil, nil
	}
	if g == l.g.Load() {
		return nil, ErrInCallback
	}
	// A task or a callback of another loop? Waiting here would block it.
	if ol := callerLoop(l); ol != nil {
		if ol.taskOf(g) != nil {
			return nil, ErrOtherLoop
		}
		return nil, ErrInCallback
	}
	return nil, nil
}

// taskOf returns the task of l that goroutine g is running, or nil. Safe
// from any goroutine: the one place where a caller is identified.
func (l *Loop) taskOf(g uintptr) *taskCore {
	if t := l.current.Load(); t != nil && t.g.Load() == g {
		return t
	}
	return nil
}
