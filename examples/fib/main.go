// Command fib is the articles' GIL demonstration: the same CPU-bound
// function (a naive recursive Fibonacci) run several times sequentially,
// as tasks on one event loop, on a goroutine pool and on a process pool.
//
// In Python the threads give no speedup (the GIL lets one thread run
// Python code at a time) and only processes use the other cores:
//
//	def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)
//	with ThreadPoolExecutor(4) as ex:  list(ex.map(fib, [32] * 8))   # ~ sequential
//	with ProcessPoolExecutor(4) as ex: list(ex.map(fib, [32] * 8))   # ~ 4x
//
// In Go the event loop plays the GIL's part (its tasks run one at a time,
// on one thread, and a CPU-bound step blocks every other task: in debug
// mode, BRAID_DEBUG=1, the loop logs each step that holds it over 100 ms,
// as asyncio's debug mode does), while the goroutine pool (futures.ThreadPool) has no
// GIL and scales with the cores like the process pool, without starting
// processes or encoding arguments.
//
// braid: mp.Register, mp.Main, mp.NewPool, futures.NewThreadPool,
// Func.Submit (the same registered function on both pools),
// futures.Future.Result, aio.Run, aio.Spawn, aio.Gather.
//
//	go run ./examples/fib -n 35 -tasks 16
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// fibLoop is the fast version, to check the results.
func fibLoop(n int) int {
	a, b := 0, 1
	for range n {
		a, b = b, a+b
	}
	return a
}

// Fib is registered at package level, so that the worker processes (this
// program started again) have it too.
var Fib = mp.Register("examples.fib", func(ctx context.Context, n int) (int, error) {
	return fib(n), nil
})

func main() {
	mp.Main() // in a worker process: serve the pool, never return
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fib", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 35, "compute fib(n)")
	tasks := fs.Int("tasks", 8, "how many times")
	workers := fs.Int("workers", runtime.NumCPU(), "goroutines of the goroutine pool, processes of the process pool")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 0 || *n > 50 || *tasks < 1 || *workers < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "fib: -n must be 0..50, -tasks and -workers >= 1, and there are no arguments")
		return 2
	}
	want := fibLoop(*n)
	fmt.Fprintf(stdout, "fib(%d) x %d, %d workers, %d CPUs\n", *n, *tasks, *workers, runtime.NumCPU())

	models := []struct {
		name, note string
		run        func(ctx context.Context, n, tasks, workers int) ([]int, error)
	}{
		{"sequential", "", sequential},
		{"event loop", "one thread: Python's threads under the GIL", onLoop},
		{"goroutine pool", "no GIL: Python cannot do this", goroutinePool},
		{"process pool", "Python's ProcessPoolExecutor, pool start included", processPool},
	}
	var base time.Duration
	for _, m := range models {
		start := time.Now()
		got, err := m.run(ctx, *n, *tasks, *workers)
		elapsed := time.Since(start)
		if err != nil {
			fmt.Fprintf(stderr, "fib: %s: %v\n", m.name, err)
			return 1
		}
		for _, v := range got {
			if v != want {
				fmt.Fprintf(stderr, "fib: %s computed fib(%d) = %d, want %d\n", m.name, *n, v, want)
				return 1
			}
		}
		if base == 0 {
			base = elapsed
		}
		fmt.Fprintf(stdout, "%-15s %9v  %4.1fx  %s\n", m.name, elapsed.Round(time.Millisecond), base.Seconds()/elapsed.Seconds(), m.note)
	}
	fmt.Fprintf(stdout, "fib(%d) = %d\n", *n, want)
	return 0
}

func sequential(_ context.Context, n, tasks, _ int) ([]int, error) {
	out := make([]int, tasks)
	for i := range out {
		out[i] = fib(n)
	}
	return out, nil
}

// onLoop runs each call as a task of one event loop: asyncio.gather of
// coroutines that never await.
func onLoop(ctx context.Context, n, tasks, _ int) ([]int, error) {
	var out []int
	err := aio.Run(ctx, func(ctx context.Context) error {
		ts := make([]*aio.Task[int], tasks)
		for i := range ts {
			ts[i] = aio.Spawn(ctx, func(context.Context) (int, error) { return fib(n), nil })
		}
		var err error
		out, err = aio.Gather(ctx, ts...)
		return err
	})
	return out, err
}

func goroutinePool(ctx context.Context, n, tasks, workers int) ([]int, error) {
	pool := futures.NewThreadPool(futures.WithMaxWorkers(workers))
	defer pool.Shutdown(ctx)
	return submitAll(ctx, pool, n, tasks)
}

func processPool(ctx context.Context, n, tasks, workers int) ([]int, error) {
	pool, err := mp.NewPool(mp.WithMaxWorkers(workers))
	if err != nil {
		return nil, err
	}
	defer pool.Shutdown(ctx)
	return submitAll(ctx, pool, n, tasks)
}

// submitAll submits every call, then waits for each: executor.submit and
// future.result, on any executor.
func submitAll(ctx context.Context, ex futures.Executor, n, tasks int) ([]int, error) {
	fs := make([]*futures.Future[int], tasks)
	for i := range fs {
		f, err := Fib.Submit(ctx, ex, n)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	out := make([]int, tasks)
	for i, f := range fs {
		v, err := f.Result(ctx)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
