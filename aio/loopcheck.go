package aio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
)

// onLoop reports whether the calling goroutine may touch state of loop l:
// the running task of l, a callback of l, or anyone while l is not running
// (before Run, after Close). Where goroutines cannot be identified it
// takes the caller at its word.
func onLoop(l *Loop) bool {
	if !canIdentifyGoroutine || l == nil {
		return true
	}
	g := getg()
	if l.taskOf(g) != nil {
		return true
	}
	lg := l.g.Load()
	return lg == 0 || lg == g
}

// offLoop is the panic value (or error) of a primitive's method called
// from a goroutine that does not run its loop (l): an error matching
// ErrOtherLoop from a task or callback of another loop, ErrNotInTask
// from a plain goroutine.
func offLoop(l *Loop, what string) error {
	if callerLoop(l) != nil {
		return &callerError{
			msg: "aio: " + what + " called from a task or callback of another event loop; " +
				"the object is bound to the loop it was first used on (make one per loop, or reach its loop with Loop.CallSoonThreadsafe)",
			kind: ErrOtherLoop,
		}
	}
	return &callerError{
		msg: "aio: " + what + " called from a goroutine that is not running the object's event loop; " +
			"call it from a task of that loop (aio.Spawn), or reach the loop with Loop.CallSoonThreadsafe",
		kind: ErrNotInTask,
	}
}

// loopCheck returns nil when the caller may use an object of loop l:
// from l's own goroutine (a task or a callback), or from any goroutine
// while l is not running; otherwise offLoop's error. It costs little on
// l's goroutine.
func loopCheck(l *Loop, what string) error {
	if onLoop(l) {
		return nil
	}
	return offLoop(l, what)
}

// otherLoopCheck is loopCheck for reads that a plain goroutine may make
// once it synchronised with the loop (a future's Result after Await from
// a goroutine): only a task or callback of another loop is refused.
func otherLoopCheck(l *Loop, what string) error {
	if onLoop(l) || callerLoop(l) == nil {
		return nil
	}
	return offLoop(l, what)
}

// loopRef is the loop a primitive is bound to: none until its first use,
// then the loop of that use; again another only once that loop is
// closed. Binding is a compare-and-swap, so that two loops using a fresh
// primitive at the same moment agree on one winner, and the loser is
// refused before it touches the primitive's state.
type loopRef struct{ p atomic.Pointer[Loop] }

// get returns the bound loop, or nil.
func (r *loopRef) get() *Loop { return r.p.Load() }

// bind binds r to the loop of ctx if it has none yet (or only a closed
// one) and returns the loop it is bound to now: ctx's, or the one another
// caller bound it to first.
func (r *loopRef) bind(ctx context.Context) *Loop {
	for {
		l := r.p.Load()
		if l != nil && !l.closed.Load() {
			return l
		}
		nl := loopOf(ctx)
		if nl == nil {
			return l
		}
		if r.p.CompareAndSwap(l, nl) {
			return nl
		}
	}
}

// claim binds r as bind does and returns nil when the caller may use the
// primitive's state: from the bound loop's goroutine, or from anyone while
// that loop is not running (or while nothing is bound); otherwise
// offLoop's error. Methods with a context call it first, before reading
// any state.
func (r *loopRef) claim(ctx context.Context, what string) error {
	if l := r.bind(ctx); l != nil && !onLoop(l) {
		return offLoop(l, what)
	}
	return nil
}

// bindCaller binds a primitive that has no loop yet to the loop whose
// task or callback is calling: the first use of a method without a
// context binds it, as Wait or Acquire would. (Binding again after the
// loop closed is left to the methods that take a context.) It returns the
// bound loop.
func (r *loopRef) bindCaller() *Loop {
	if l := r.p.Load(); l != nil {
		return l
	}
	cl := callerLoop(nil)
	if cl == nil || r.p.CompareAndSwap(nil, cl) {
		return cl
	}
	return r.p.Load() // another caller bound it first
}

func mustOnLoop(l *Loop, what string) {
	if l != nil && !onLoop(l) {
		panic(offLoop(l, what))
	}
}

// waitCaller returns the running task that is about to wait on a
// primitive bound (or now bound) to a loop: misuse is an error that says
// what to do.
func waitCaller(bound *loopRef, ctx context.Context, what string) (*taskCore, error) {
	l := bound.bind(ctx)
	if l == nil {
		return nil, ErrNoLoop
	}
	t, err := l.enterTask(what)
	if errors.Is(err, ErrOtherLoop) {
		return nil, fmt.Errorf("aio: %s: the primitive is bound to another event loop (the loop it was first used on): %w", what, ErrOtherLoop)
	}
	return t, err
}

func waitersSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return ", waiters:" + strconv.Itoa(n)
}
