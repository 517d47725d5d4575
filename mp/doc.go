// Package mp runs registered Go functions in worker processes: Python's
// multiprocessing and concurrent.futures.ProcessPoolExecutor for Go.
//
// Processes give what goroutines cannot: a task that overruns its deadline
// (or its run timeout, Func.WithRunTimeout, counted from when it starts)
// is stopped by killing its worker, a crash or a leak stays in one process,
// a library that is not thread-safe runs alone, and the pool survives all
// of it.
//
// A function crosses the process boundary by name. Register it at package
// level, call Main first thing in main, and submit calls through the typed
// handle to a Pool (or to any futures.Executor: on a futures.ThreadPool the
// same call runs in-process):
//
//	var Square = mp.Register("square", func(ctx context.Context, x int) (int, error) {
//		return x * x, nil
//	})
//
//	func main() {
//		mp.Main() // in a worker, serves tasks and never returns
//		pool, err := mp.NewPool(mp.WithMaxWorkers(4))
//		...
//		defer pool.Shutdown(context.Background())
//		f, err := Square.Submit(ctx, pool, 7)
//		v, err := f.Result(ctx) // 49
//		for v, err := range Square.Map(ctx, pool, slices.Values(xs), futures.WithChunkSize(100)) {
//			...
//		}
//	}
//
// In a task of an aio event loop, Square.Await(ctx, pool, 7) suspends only
// the task (asyncio's await loop.run_in_executor(pool, square, 7)); the
// blocking Call, Map and Shutdown return futures.ErrBlockingOnLoop
// there instead of stopping the loop.
//
// Beyond the pool, mp has multiprocessing's own pieces. NewProcess runs a
// registered function in a process of its own (Start, Join, ExitCode,
// Terminate, Kill, daemons; after it exits, Process.Err is the function's
// error and Func.Result its typed result, which Python's Process
// discards). The shared objects need Linux (elsewhere their constructors
// return ErrNotSupported): NewQueue, NewJoinableQueue and NewPipe move
// values between processes through shared memory (and JoinableQueue.Join,
// or a Put on a full queue, says when the consumers died:
// ConsumerDiedError); NewValue and NewArray are numbers in a shared
// mapping with atomic operations and a lock of their own; NewLock,
// NewRLock, NewSemaphore, NewEvent, NewCondition and NewBarrier
// synchronise processes, and a lock whose holder died says so
// (HolderDiedError) to the next acquirer. Each is handed to a child as an
// argument of a registered function, or to a pool task; in a loop task
// their waits suspend only the task.
//
// Arguments and results are encoded in CBOR with decoding limits; a []byte
// travels raw. Workers talk to the pool over two pipes with length-prefixed
// frames, batched both ways. See Pool for what happens when workers die,
// overrun or leak.
package mp
