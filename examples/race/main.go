// Command race is the articles' race condition and its fixes: a counter
// incremented by many goroutines without a lock loses increments; with a
// sync.Mutex (Python's threading.Lock) or an atomic add it does not.
//
// Python:
//
//	counter = 0
//	def work(n):
//	    global counter
//	    for _ in range(n):
//	        counter += 1           # read, add, write: not atomic
//	threads = [threading.Thread(target=work, args=(n,)) for _ in range(k)]
//	...
//	lock = threading.Lock()
//	def safe_work(n):
//	    global counter
//	    for _ in range(n):
//	        with lock:
//	            counter += 1
//
// In Python the GIL makes the lost update rare and hard to see; Go runs
// the goroutines truly in parallel, so the unlocked counter usually comes
// out short, and the race detector names the bug on any run that has it:
//
//	go run -race ./examples/race -mode unsafe   # WARNING: DATA RACE, exit code 66
//	go run ./examples/race                      # all three, with their counts
//
// Go: sync.WaitGroup (Thread.join), sync.Mutex (threading.Lock),
// sync/atomic.Int64. The same counter across processes needs mp's shared
// Value, which is not written yet.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// unsafeCount is the bug: counter++ is a load, an add and a store, and two
// goroutines can interleave them.
func unsafeCount(goroutines, increments int) int64 {
	var counter int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // all at once, not one after the other as they are created
			for range increments {
				counter++ // a data race
			}
		}()
	}
	close(start)
	wg.Wait()
	return counter
}

// mutexCount is the fix with a lock.
func mutexCount(goroutines, increments int) int64 {
	var (
		mu      sync.Mutex
		counter int64
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // all at once, not one after the other as they are created
			for range increments {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return counter
}

// atomicCount is the fix with one atomic instruction per increment.
func atomicCount(goroutines, increments int) int64 {
	var counter atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // all at once, not one after the other as they are created
			for range increments {
				counter.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return counter.Load()
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("race", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "all", "unsafe, mutex, atomic or all")
	goroutines := fs.Int("goroutines", 8, "goroutines incrementing the counter")
	increments := fs.Int("increments", 1_000_000, "increments by each goroutine")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	counters := map[string]func(int, int) int64{"unsafe": unsafeCount, "mutex": mutexCount, "atomic": atomicCount}
	modes := []string{"unsafe", "mutex", "atomic"}
	if *mode != "all" {
		if counters[*mode] == nil {
			fmt.Fprintf(stderr, "race: -mode %q: want unsafe, mutex, atomic or all\n", *mode)
			return 2
		}
		modes = []string{*mode}
	}
	if *goroutines < 1 || *increments < 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "race: -goroutines must be >= 1, -increments >= 0, and there are no arguments")
		return 2
	}
	want := int64(*goroutines) * int64(*increments)
	fmt.Fprintf(stdout, "%d goroutines x %d increments = %d, on %d CPUs\n", *goroutines, *increments, want, runtime.NumCPU())
	wrong := false
	for _, m := range modes {
		start := time.Now()
		got := counters[m](*goroutines, *increments)
		elapsed := time.Since(start)
		verdict := "right"
		if m == "unsafe" {
			verdict = "right, by luck (-race finds the bug)"
		}
		if got != want {
			verdict = fmt.Sprintf("%d increments lost", want-got)
			if m != "unsafe" {
				wrong = true
			}
		}
		fmt.Fprintf(stdout, "%-7s %12d  %-38s %9v\n", m, got, verdict, elapsed.Round(time.Microsecond))
	}
	if wrong {
		fmt.Fprintln(stderr, "race: a locked counter lost increments")
		return 1
	}
	return 0
}
