package bench

// The articles' CPU-bound workload: N identical tasks of pure computation
// (recursive fib, a prime count by trial division), run sequentially and
// then by every concurrency model of the cpuModels table (workloads.go),
// with the speed-up over sequential. Python gets ~1.0x from threads (the
// GIL) and ~1.9x from 2 processes on 2 cores; braid's goroutine pool gets
// the cores in one process.
//
// The models: sequential, futures.ThreadPool and plain goroutines (a
// peer) below, in this file; the event loop alone (package aio, one
// thread: expected ~1.0x) in cpu_loop.go; the process pool (package mp) in
// pool.go. CPUTask is plain data and RunCPUTask is exported so that a
// worker process can run the same computation by name.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/braid-go/braid/futures"
)

// CPUTask is one task of the cpu workload. It is plain data so that process
// executors can send it to a worker.
type CPUTask struct {
	// Kind is "fib" (recursive Fibonacci of N) or "primes" (the number of
	// primes below N, by trial division).
	Kind string
	N    int
}

// RunCPUTask computes t. Every model must return exactly what it returns.
func RunCPUTask(t CPUTask) (int64, error) {
	switch t.Kind {
	case "fib":
		return int64(fib(t.N)), nil
	case "primes":
		return int64(countPrimes(t.N)), nil
	}
	return 0, fmt.Errorf("bench: unknown cpu task kind %q", t.Kind)
}

// fib is deliberately exponential: the articles' CPU-bound function.
func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// countPrimes counts the primes below n by trial division.
func countPrimes(n int) int {
	count := 0
	for i := 2; i < n; i++ {
		prime := true
		for d := 2; d*d <= i; d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return count
}

// CPUModel is one way of running the cpu workload's tasks: one row per task
// kind in the table.
type CPUModel struct {
	// Name is the row's model column, e.g. "futures.ThreadPool(2)".
	Name string
	// Note is added to the row's note (how the model runs, its size).
	Note string
	// Run runs every task and returns the results in task order. It must
	// return when ctx ends.
	Run func(ctx context.Context, tasks []CPUTask) ([]int64, error)
}

// cpuTaskCount is the number of tasks per kind: the 8 x fib(35).
const cpuTaskCount = 8

func runCPU(ctx context.Context, cfg Config, report func(Row)) error {
	fibN, primesN, repeats := 35, 500_000, 3
	if cfg.Quick {
		fibN, primesN, repeats = 27, 20_000, 1
	}
	kinds := []struct {
		workload, note string
		task           CPUTask
	}{
		{"cpu-fib", fmt.Sprintf("%d tasks of recursive fib(%d)", cpuTaskCount, fibN), CPUTask{"fib", fibN}},
		{"cpu-primes", fmt.Sprintf("%d tasks counting primes below %d", cpuTaskCount, primesN), CPUTask{"primes", primesN}},
	}
	models := cpuModels
	for _, k := range kinds {
		tasks := make([]CPUTask, cpuTaskCount)
		for i := range tasks {
			tasks[i] = k.task
		}
		want, err := RunCPUTask(k.task)
		if err != nil {
			return err
		}
		var base float64
		for _, m := range models {
			best, err := timeCPUModel(ctx, cfg, m, tasks, want, repeats)
			if err != nil {
				return fmt.Errorf("%s / %s: %w", k.workload, m.Name, err)
			}
			row := Row{Workload: k.workload, Model: m.Name, Seconds: best, Note: k.note}
			if m.Note != "" {
				row.Note += "; " + m.Note
			}
			if base == 0 {
				base = best
			}
			row.Speedup = base / best
			report(row)
		}
	}
	return nil
}

// timeCPUModel runs the tasks repeats times and returns the best wall time
// in seconds (the least disturbed by other work on a shared machine),
// checking every result.
func timeCPUModel(ctx context.Context, cfg Config, m CPUModel, tasks []CPUTask, want int64, repeats int) (float64, error) {
	best := 0.0
	for r := 0; r < repeats; r++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		start := time.Now()
		got, err := m.Run(ctx, tasks)
		secs := time.Since(start).Seconds()
		if err != nil {
			return 0, err
		}
		if len(got) != len(tasks) {
			return 0, fmt.Errorf("%d results for %d tasks", len(got), len(tasks))
		}
		for i, v := range got {
			if v != want {
				return 0, fmt.Errorf("task %d returned %d, want %d", i, v, want)
			}
		}
		cfg.Progress("  %s run %d/%d: %.3fs", m.Name, r+1, repeats, secs)
		if best == 0 || secs < best {
			best = secs
		}
	}
	return best, nil
}

func runCPUSequential(ctx context.Context, tasks []CPUTask) ([]int64, error) {
	out := make([]int64, len(tasks))
	for i, t := range tasks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, err := RunCPUTask(t)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func runCPUThreadPool(ctx context.Context, tasks []CPUTask) ([]int64, error) {
	pool := futures.NewThreadPool(futures.WithName("bench-cpu"))
	defer closePool(pool)
	return submitAll(ctx, len(tasks), func(i int) (*futures.Future[int64], error) {
		return futures.Submit(ctx, pool, func(context.Context) (int64, error) { return RunCPUTask(tasks[i]) })
	})
}

func runCPUGoroutines(ctx context.Context, tasks []CPUTask) ([]int64, error) {
	out := make([]int64, len(tasks))
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = RunCPUTask(t)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, ctx.Err()
}
