package aio

import "github.com/braid-go/braid/internal/loopthread"

// The packages below aio (futures, mp) learn through these hooks whether
// a blocking wait is called on a loop's thread (they then refuse it with
// futures.ErrBlockingOnLoop), and suspend the calling task instead of
// blocking (mp's Func.Await). Nothing is added to the loop's hot paths:
// the check reads what the loop records anyway (its goroutine, the
// running task's coroutine), and only on the way to an actual block.
func init() {
	loopthread.Install(loopthread.Hooks{
		OnLoop: insideRunningLoop,
		Await:  awaitDone,
	})
}
