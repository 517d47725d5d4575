// Command primes tests every number below a limit for primality on a
// process pool with a chunked Map, and the same on the goroutine pool: the
// articles' CPU-bound example, Python's
//
//	def is_prime(n): ...
//	with ProcessPoolExecutor() as ex:
//	    count = sum(ex.map(is_prime, range(limit), chunksize=20_000))
//
// The chunk size matters on a process pool: every call crosses a pipe, so
// items go in chunks (one job, one round trip, per chunk). On the goroutine
// pool the same registered function runs in-process, with nothing encoded.
// It prints both against the sequential loop.
//
// braid: mp.Register, mp.Main, mp.NewPool, futures.NewThreadPool,
// Func.Map with futures.WithChunkSize, Func on both executors.
//
//	go run ./examples/primes -limit 20000000 -chunk 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := 3; d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// IsPrime is registered at package level, so that the worker processes
// have it too.
var IsPrime = mp.Register("examples.is_prime", func(ctx context.Context, n int) (bool, error) {
	return isPrime(n), nil
})

func main() {
	mp.Main() // in a worker process: serve the pool, never return
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// numbers is range(limit), read lazily by Map.
func numbers(limit int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for n := range limit {
			if !yield(n) {
				return
			}
		}
	}
}

// count sums a Map's results; the first error ends it.
func count(results iter.Seq2[bool, error]) (int, error) {
	c := 0
	for prime, err := range results {
		if err != nil {
			return c, err
		}
		if prime {
			c++
		}
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("primes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", 5_000_000, "test the numbers below this")
	chunk := fs.Int("chunk", 20_000, "numbers per chunk (Python's chunksize)")
	workers := fs.Int("workers", runtime.NumCPU(), "goroutines of the goroutine pool, processes of the process pool")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *limit < 0 || *chunk < 1 || *workers < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "primes: -limit must be >= 0, -chunk and -workers >= 1, and there are no arguments")
		return 2
	}
	fmt.Fprintf(stdout, "numbers below %d, chunks of %d, %d workers, %d CPUs\n", *limit, *chunk, *workers, runtime.NumCPU())

	start := time.Now()
	want := 0
	for n := range *limit {
		if isPrime(n) {
			want++
		}
	}
	base := time.Since(start)
	fmt.Fprintf(stdout, "%-15s %6d primes %9v  1.0x\n", "sequential", want, base.Round(time.Millisecond))

	threads := futures.NewThreadPool(futures.WithMaxWorkers(*workers))
	defer threads.Shutdown(ctx)
	procs, err := mp.NewPool(mp.WithMaxWorkers(*workers))
	if err != nil {
		fmt.Fprintln(stderr, "primes:", err)
		return 1
	}
	defer procs.Shutdown(ctx)

	for _, ex := range []struct {
		name string
		ex   futures.Executor
	}{{"goroutine pool", threads}, {"process pool", procs}} {
		start := time.Now()
		got, err := count(IsPrime.Map(ctx, ex.ex, numbers(*limit), futures.WithChunkSize(*chunk)))
		elapsed := time.Since(start)
		if err != nil {
			fmt.Fprintf(stderr, "primes: %s: %v\n", ex.name, err)
			return 1
		}
		if got != want {
			fmt.Fprintf(stderr, "primes: %s counted %d primes, the sequential loop %d\n", ex.name, got, want)
			return 1
		}
		fmt.Fprintf(stdout, "%-15s %6d primes %9v  %.1fx\n", ex.name, got, elapsed.Round(time.Millisecond), base.Seconds()/elapsed.Seconds())
	}
	return 0
}
