// Package loopthread lets the packages below aio (futures, mp) tell whether
// the calling goroutine runs an event loop's code, and suspend the calling
// task instead of blocking, without importing aio (which imports them).
//
// Package aio installs its hooks when it is initialised; a program that
// does not link aio has no event loop, and then OnLoop is always false and
// Await never applies. The check costs one atomic load and, with aio
// linked, a scan of the running loops (a few nanoseconds); its callers
// make it only on the way to an actual block.
//
// Goroutines are told apart through the runtime's goroutine record, which
// aio reads with a few instructions of assembly on amd64 and arm64. On
// other architectures aio cannot identify the caller: OnLoop is then
// always false, blocking calls from a task block the loop as they would
// in plain Go, and Await blocks like a plain wait.
package loopthread

import (
	"context"
	"sync/atomic"
)

// Awaitable is what Await waits for: *futures.Future[T] has these methods.
type Awaitable interface {
	// AddDoneCallback runs fn once the awaitable is done, at once if it
	// already is.
	AddDoneCallback(fn func())
	// Cancel cancels the awaitable if it has not started.
	Cancel() bool
}

// Hooks are the functions aio installs.
type Hooks struct {
	// OnLoop reports whether the calling goroutine is running a task or
	// a callback of a running event loop.
	OnLoop func() bool
	// Await suspends the calling task until a is done, and returns
	// handled=true with nil, or with ctx's error if ctx ended first (a is
	// then cancelled if it has not started). It returns handled=false
	// when the caller is not a task of the loop that ctx carries (a plain
	// goroutine): the caller then waits as it would without a loop. err
	// may be set with handled=true for misuse (a loop callback, a task of
	// another loop).
	Await func(ctx context.Context, a Awaitable) (handled bool, err error)
}

var hooks atomic.Pointer[Hooks]

// Install sets the hooks. Package aio calls it from an init function; a
// second call replaces the first.
func Install(h Hooks) { hooks.Store(&h) }

// OnLoop reports whether the calling goroutine is running a task or a
// callback of a running event loop, where a blocking wait would stop
// every other task of that loop.
func OnLoop() bool {
	if h := hooks.Load(); h != nil && h.OnLoop != nil {
		return h.OnLoop()
	}
	return false
}

// Await suspends the calling task until a is done (see Hooks.Await). It
// returns handled=false, doing nothing, when no hook is installed or the
// caller is not a task.
func Await(ctx context.Context, a Awaitable) (handled bool, err error) {
	if h := hooks.Load(); h != nil && h.Await != nil {
		return h.Await(ctx, a)
	}
	return false, nil
}
