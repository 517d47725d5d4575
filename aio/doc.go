// Package aio is braid's asyncio: a single-threaded event loop over epoll
// (kqueue on macOS and the BSDs) that runs many tasks, each a stackful
// coroutine suspended at its waits while the loop runs the others, with
// Futures, Tasks and asyncio's combinators, coordination primitives and
// queues for tasks, and network and process I/O. Its HTTP client
// (aiohttp's ClientSession) is package aio/aiohttp, so that aio alone
// links neither net/http nor crypto/tls.
//
// # The loop and its promise
//
// A Loop runs callbacks (CallSoon, CallLater, CallAt) and task steps one at
// a time, on one goroutine: code of one loop never runs in parallel with
// other code of the same loop, so tasks share state without locks. Other
// goroutines reach a loop only through CallSoonThreadsafe (and the bridges
// built on it); every other method says on its doc whether it is safe from
// other goroutines. Run is the analog of asyncio.run.
//
// # Tasks
//
// Spawn starts a function as a task. A task is a coroutine made with the
// runtime's coroutine switch (iter.Pull): it has its own stack, so any
// function can wait, with no async/await colouring, yet only the loop ever
// resumes it. Waiting (Sleep, Future.Await, Gather, Queue.Get, ...) takes a
// context.Context first: cancelling the task cancels its context, and the
// wait returns an error matching context.Canceled; the cancellation or
// deadline of any context, from any goroutine, wakes the waiting task.
//
// # Cancellation, timeouts and errors
//
// Errors are values. A cancelled wait returns an error matching
// context.Canceled; a timeout (WithTimeout, WaitFor) one matching
// context.DeadlineExceeded. A deadline cancels: a task that its context's
// deadline stopped ends cancelled, its error matching both, so a TaskGroup
// under an expired deadline returns the deadline, not its children's
// cancellations. A panic in a task becomes a *PanicError on it;
// a TaskGroup's failures come together in a *GroupError that errors.Is and
// errors.As look into. docs/PYTHON.md maps each asyncio construct to its
// braid counterpart and explains each deliberate difference.
//
// # Tests
//
// WithVirtualClock gives a loop a clock that jumps to the next timer
// whenever nothing is ready and nothing outside the loop is pending: hours
// of Sleep and every timeout run in microseconds, deterministically.
package aio
