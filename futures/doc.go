// Package futures is braid's concurrent.futures: one Future and Executor API
// shared by every executor, and the goroutine pool.
//
// A Future[T] is the result of work handed to an executor; it is safe from
// any goroutine, waits with a context (Result), can be cancelled while it is
// still pending (Cancel, as in Python) and runs done callbacks.
//
// An Executor runs Jobs. ThreadPool, in this package, is the goroutine pool:
// Python's ThreadPoolExecutor without a GIL, so CPU-bound work runs on every
// core. Package mp's process pool implements the same interface with
// RemoteJobs, and package aio bridges the event loop to any Executor
// (ToThread, RunInExecutor).
//
// The helpers work over any executor that runs Go closures:
//
//   - Submit runs one function and returns its future (executor.submit).
//   - Map runs a function over an iter.Seq and yields the results in order,
//     reading the input lazily with a bounded window of chunks in flight
//     (executor.map with chunksize and buffersize).
//   - AsCompleted yields futures as they complete (as_completed).
//   - Wait returns when the first, the first failing or all futures are done
//     (FirstCompleted, FirstError, AllCompleted: wait with FIRST_COMPLETED,
//     FIRST_EXCEPTION, ALL_COMPLETED).
//
// Differences from Python that follow from Go: every wait takes a
// context.Context instead of a timeout; an executor stops as an
// http.Server does, Shutdown(ctx) waiting for the work and Close cancelling
// what is queued; errors are values (a panic in a task
// becomes a *PanicError with its stack on the task's future, and the worker
// goes on); Map yields (result, error) pairs and can collect errors instead
// of stopping; a ThreadPool's queue can be bounded for back-pressure.
//
// The waits (Result on a future not yet done, Wait, AsCompleted, Map, a
// Shutdown, a full bounded queue) refuse to run in a task or a
// callback of a running aio event loop, where they would stop every other
// task: they return ErrBlockingOnLoop at once, naming the awaitable form
// (aio.AwaitFuture). Python blocks the loop silently there.
package futures
