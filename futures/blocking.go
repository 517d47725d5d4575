package futures

import (
	"errors"

	"github.com/braid-go/braid/internal/loopthread"
)

// ErrBlockingOnLoop is the error of a blocking wait (Future.Result on a
// future not yet done, Wait, AsCompleted, Map, ThreadPool.Shutdown, and
// mp's Call, Map and Pool.Shutdown) called from a task or a
// callback of a running aio event loop. Blocking there would stop every
// other task of the loop: Python lets it happen, silently; braid refuses,
// as asyncio refuses asyncio.run() inside a running loop (RuntimeError
// "cannot be called from a running event loop"). The errors are
// *BlockingError values that match ErrBlockingOnLoop with errors.Is and
// name the call to use instead, such as aio.AwaitFuture.
//
// Only an actual block is refused: a Result on a future that is already
// done, or a Wait whose condition is already met, returns as usual.
// Detection needs the goroutine identity aio reads on amd64 and arm64; on
// other architectures these calls block as they would anywhere.
var ErrBlockingOnLoop = errors.New("futures: a blocking wait would block the event loop's thread")

// BlockingError is the error of a blocking call refused on an event
// loop's thread. It matches ErrBlockingOnLoop with errors.Is.
type BlockingError struct {
	// Call is the refused call, after its package's prefix, for example
	// "futures: Future.Result".
	Call string
	// Instead is what to use in a task, for example
	// "aio.AwaitFuture(ctx, f)".
	Instead string
}

// Error names the call, says why it was refused and what to use instead.
func (e *BlockingError) Error() string {
	return e.Call + " would block the event loop's thread (every other task of the loop would stop); in a task use " + e.Instead
}

// Is makes errors.Is(err, ErrBlockingOnLoop) true.
func (e *BlockingError) Is(target error) bool { return target == ErrBlockingOnLoop }

// OnLoop reports whether the calling goroutine is running a task or a
// callback of a running aio event loop, where a blocking wait would stop
// the whole loop. It is always false in a program that does not use aio,
// and on architectures other than amd64 and arm64.
func OnLoop() bool { return loopthread.OnLoop() }

// refuseOnLoop returns the *BlockingError for call when the caller is on
// a loop's thread, nil otherwise. Callers make the check only on the way
// to an actual block.
func refuseOnLoop(call, instead string) error {
	if loopthread.OnLoop() {
		return &BlockingError{Call: call, Instead: instead}
	}
	return nil
}

// Replacements named by the errors.
const (
	insteadResult = "aio.AwaitFuture(ctx, f)"
	insteadWait   = "aio.AwaitFuture(ctx, f) for each future (in tasks of their own, gathered with aio.Gather), or run the wait through aio.ToThread"
	insteadMap    = "aio.AwaitFuture(ctx, f) on futures from Submit, or run the Map through aio.ToThread"
	insteadPool   = "the pool is shut down already: wait for Terminated() through aio.ToThread, or call Close not to wait"
	insteadRoom   = "TryExecute, an unbounded queue, or aio.ToThread to submit"
)
