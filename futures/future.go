package futures

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// closed is the channel Done returns once a future is done and nobody asked
// for a channel before: no allocation for futures completed before anyone
// waits.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Future is the result of work submitted to an executor: a value of type T
// or an error, delivered once. All methods are safe from any goroutine.
//
// Executors create futures with NewFuture, call SetRunning before the work
// and Complete after it. Users wait with Result (or Done, Wait, AsCompleted)
// and may Cancel a future while it is still pending, as in Python's
// concurrent.futures: a running future cannot be cancelled (a goroutine
// cannot be stopped from outside; the work may watch its context instead).
//
// The zero Future is a valid pending future, but it must not be copied
// after first use.
type Future[T any] struct {
	state atomic.Int32 // a State

	mu        sync.Mutex
	done      chan struct{} // made on demand by Done; closed on completion
	callbacks []func()
	waiters   []waiterRef // Wait and AsCompleted calls waiting for this future
	val       T
	err       error
}

// NewFuture returns a pending future. It is for executor implementers and
// tests; users get futures from Submit.
func NewFuture[T any]() *Future[T] { return &Future[T]{} }

// State returns the current state.
func (f *Future[T]) State() State { return State(f.state.Load()) }

// String describes the future and its state, for logs.
func (f *Future[T]) String() string {
	return fmt.Sprintf("Future[%T](%s)", *new(T), f.State())
}

// SetRunning moves the future from Pending to Running and returns true; the
// executor then runs the work. It returns false if the future was cancelled
// or already completed: the executor must skip the work. (Python's
// set_running_or_notify_cancel.)
func (f *Future[T]) SetRunning() bool {
	return f.state.CompareAndSwap(int32(Pending), int32(Running))
}

// Complete sets the outcome, wakes every waiter and runs the done callbacks
// in this goroutine. It returns false, changing nothing, if the future was
// already finished or cancelled. It may be called on a pending future (work
// failed before it started).
func (f *Future[T]) Complete(v T, err error) bool {
	f.mu.Lock()
	if State(f.state.Load()).Done() {
		f.mu.Unlock()
		return false
	}
	f.val, f.err = v, err
	f.state.Store(int32(Finished)) // after val and err: readers load state first
	return f.finishLocked()
}

// Cancel cancels the future if it is pending and returns true; it also
// returns true if the future was already cancelled. It returns false if the
// work is running or finished (Python's Future.cancel). Waiters wake with
// ErrCancelled and the done callbacks run in this goroutine.
func (f *Future[T]) Cancel() bool {
	if f.State() == Cancelled {
		return true
	}
	f.mu.Lock()
	if !f.state.CompareAndSwap(int32(Pending), int32(Cancelled)) {
		cancelled := f.State() == Cancelled
		f.mu.Unlock()
		return cancelled
	}
	return f.finishLocked()
}

// finishLocked wakes waiters and runs callbacks after a final state was
// stored; f.mu is held on entry and released.
func (f *Future[T]) finishLocked() bool {
	if f.done != nil {
		close(f.done)
	}
	cbs, ws := f.callbacks, f.waiters
	f.callbacks, f.waiters = nil, nil
	f.mu.Unlock()
	for _, w := range ws {
		w.w.notify(w.i)
	}
	for _, cb := range cbs {
		runCallback(cb)
	}
	return true
}

// runCallback runs a done callback; a panic in it is logged, as Python's
// concurrent.futures logs exceptions from callbacks, and does not stop the
// other callbacks or the completing goroutine.
func runCallback(cb func()) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("futures: done callback panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	cb()
}

// Done returns a channel that is closed when the future is finished or
// cancelled.
func (f *Future[T]) Done() <-chan struct{} {
	if f.State().Done() {
		return closed
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.State().Done() {
		return closed
	}
	if f.done == nil {
		f.done = make(chan struct{})
	}
	return f.done
}

// Err returns nil while the future is not done, ErrCancelled if it was
// cancelled, and the work's error otherwise.
func (f *Future[T]) Err() error {
	switch f.State() {
	case Finished:
		return f.err
	case Cancelled:
		return ErrCancelled
	}
	return nil
}

// Result waits until the future is done and returns its value and error
// (ErrCancelled if it was cancelled). If ctx ends first, Result returns the
// context's error and the zero value; the future and its work go on (call
// Cancel to cancel a pending future).
//
// In a task or a callback of a running aio event loop, Result on a future
// that is not done yet does not wait: waiting would stop the whole loop.
// It returns a *BlockingError matching ErrBlockingOnLoop that names
// aio.AwaitFuture(ctx, f), which suspends only the task. On a done future
// Result returns its outcome anywhere (as asyncio's future.result()).
func (f *Future[T]) Result(ctx context.Context) (T, error) {
	if v, err, ok := f.outcome(); ok {
		return v, err
	}
	if err := refuseOnLoop("futures: Future.Result", insteadResult); err != nil {
		var zero T
		return zero, err
	}
	done := f.Done()
	if ctx.Done() == nil {
		<-done
	} else {
		select {
		case <-done:
		case <-ctx.Done():
			// A future done at the same moment wins: prefer its outcome.
			if v, err, ok := f.outcome(); ok {
				return v, err
			}
			var zero T
			return zero, context.Cause(ctx)
		}
	}
	v, err, _ := f.outcome()
	return v, err
}

// outcome returns the value and error if the future is done.
func (f *Future[T]) outcome() (T, error, bool) {
	var zero T
	switch f.State() {
	case Finished:
		return f.val, f.err, true
	case Cancelled:
		return zero, ErrCancelled, true
	}
	return zero, nil, false
}

// AddDoneCallback arranges for fn to run once the future is done: at once,
// in this goroutine, if it already is; otherwise in the goroutine that
// completes or cancels it. Callbacks run in the order they were added. A
// panic in fn is logged (log/slog) and otherwise ignored. fn should be
// quick: it delays the executor's worker.
func (f *Future[T]) AddDoneCallback(fn func()) {
	if !f.State().Done() {
		f.mu.Lock()
		if !f.State().Done() {
			f.callbacks = append(f.callbacks, fn)
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
	}
	runCallback(fn)
}

// addWaiter registers w to be notified with index i when f is done. It
// returns false, registering nothing, if f is already done.
func (f *Future[T]) addWaiter(w *waiter, i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.State().Done() {
		return false
	}
	f.waiters = append(f.waiters, waiterRef{w, i})
	return true
}

// removeWaiter forgets w, so that a Wait that returned early leaves nothing
// behind on futures that stay pending.
func (f *Future[T]) removeWaiter(w *waiter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.waiters {
		if r.w == w {
			last := len(f.waiters) - 1
			f.waiters[i] = f.waiters[last]
			f.waiters[last] = waiterRef{}
			f.waiters = f.waiters[:last]
			return
		}
	}
}
