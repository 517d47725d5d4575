// Command race is the articles' race condition and its fixes: a counter
// incremented by many goroutines without a lock loses increments; with a
// sync.Mutex (Python's threading.Lock) or an atomic add it does not. Then
// the same with processes and a counter in shared memory (Python's
// multiprocessing.Value): without its lock, under it, and with its atomic
// add.
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
// sync/atomic.Int64.
//
// The same counter across processes is a multiprocessing.Value in shared
// memory:
//
//	counter = multiprocessing.Value('i', 0)
//	def work(counter, n):
//	    for _ in range(n):
//	        counter.value += 1     # a locked read, then a locked write: still loses updates
//	def safe_work(counter, n):
//	    for _ in range(n):
//	        with counter.get_lock():
//	            counter.value += 1
//	ps = [multiprocessing.Process(target=work, args=(counter, n)) for _ in range(k)]
//
// braid: mp.Register (the worker function, by name, so that the child
// processes, this program started again, have it), mp.Main, mp.NewProcess,
// Process.Start/Join, Func.Result (each process's counting time, which
// Python's Process would drop), mp.NewValue (an int64 here: Value('q', 0)),
// Value.Load/Store (value-unsafe: the read and the write are each atomic,
// the pair is not), Value.Lock (value-lock: get_lock()), Value.Add
// (value-add: one atomic add, which Python's Value does not have), and an
// mp.Barrier so that the processes start counting together. The race
// detector cannot see across processes: the unlocked process counter is
// caught only by its count.
//
//	go run ./examples/race -mode value-unsafe -processes 8
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/mp"
)

func main() {
	mp.Main() // in a child process: run its function, never return
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
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

// IncrementArg is what each counting process is given.
type IncrementArg struct {
	Counter    *mp.Value[int64]
	Increments int
	Mode       string      // value-unsafe, value-lock or value-add
	Ready      *mp.Barrier // all processes start counting at once
}

// Increment runs in a child process: it adds 1 to the shared counter
// Increments times, in the way Mode names, and returns how long it counted
// (the parent reads it with Increment.Result).
var Increment = mp.Register("examples.race.increment", func(ctx context.Context, a IncrementArg) (time.Duration, error) {
	if _, err := a.Ready.Wait(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	v := a.Counter
	switch a.Mode {
	case "value-unsafe":
		for range a.Increments {
			v.Store(v.Load() + 1) // counter.value += 1: another process can store between
		}
	case "value-lock":
		lock := v.Lock()
		for range a.Increments {
			if err := lock.Lock(ctx); err != nil { // with counter.get_lock():
				return 0, err
			}
			v.Store(v.Load() + 1)
			if err := lock.Unlock(); err != nil {
				return 0, err
			}
		}
	case "value-add":
		for range a.Increments {
			v.Add(1)
		}
	default:
		return 0, fmt.Errorf("unknown mode %q", a.Mode)
	}
	return time.Since(start), nil
})

// processCount runs the counter in processes; the time it returns is the
// longest counting time of one process, from the moment they all start
// counting (process start excluded).
func processCount(ctx context.Context, mode string, processes, increments int) (int64, time.Duration, error) {
	counter, err := mp.NewValue[int64](0)
	if err != nil {
		return 0, 0, err
	}
	defer counter.Close()
	ready, err := mp.NewBarrier(processes)
	if err != nil {
		return 0, 0, err
	}
	defer ready.Close()

	var started []*mp.Process
	defer func() {
		if err != nil { // stop what was started: no child outlives the run
			ready.Abort()
			for _, p := range started {
				p.Kill()
				p.Join(context.Background())
			}
		}
	}()
	for range processes {
		var p *mp.Process
		arg := IncrementArg{Counter: counter, Increments: increments, Mode: mode, Ready: ready}
		if p, err = mp.NewProcess(Increment, arg); err != nil {
			return 0, 0, err
		}
		if err = p.Start(); err != nil {
			return 0, 0, err
		}
		started = append(started, p)
	}
	var longest time.Duration
	for _, p := range started {
		if err = p.Join(ctx); err != nil {
			return 0, 0, err
		}
		counting, rerr := Increment.Result(p) // the function's result and error, sent back by the child
		if rerr != nil {
			err = fmt.Errorf("%v: %w", p, rerr)
			return 0, 0, err
		}
		longest = max(longest, counting)
	}
	return counter.Load(), longest, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("race", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "all", "unsafe, mutex, atomic (goroutines), value-unsafe, value-lock, value-add (processes) or all")
	goroutines := fs.Int("goroutines", 8, "goroutines incrementing the counter")
	increments := fs.Int("increments", 1_000_000, "increments by each goroutine")
	processes := fs.Int("processes", 4, "processes incrementing the shared counter")
	procIncrements := fs.Int("proc-increments", 1_000_000, "increments by each process")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	counters := map[string]func(int, int) int64{"unsafe": unsafeCount, "mutex": mutexCount, "atomic": atomicCount}
	isProcess := map[string]bool{"value-unsafe": true, "value-lock": true, "value-add": true}
	modes := []string{"unsafe", "mutex", "atomic", "value-unsafe", "value-lock", "value-add"}
	if *mode != "all" {
		if counters[*mode] == nil && !isProcess[*mode] {
			fmt.Fprintf(stderr, "race: -mode %q: want unsafe, mutex, atomic, value-unsafe, value-lock, value-add or all\n", *mode)
			return 2
		}
		modes = []string{*mode}
	}
	if *goroutines < 1 || *increments < 0 || *processes < 1 || *procIncrements < 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "race: -goroutines and -processes must be >= 1, -increments and -proc-increments >= 0, and there are no arguments")
		return 2
	}
	wrong := false
	header := ""
	for _, m := range modes {
		var (
			got, want int64
			elapsed   time.Duration
		)
		if isProcess[m] {
			want = int64(*processes) * int64(*procIncrements)
			if header != "processes" {
				header = "processes"
				fmt.Fprintf(stdout, "%d processes x %d increments = %d, on %d CPUs (counting time, process start excluded)\n", *processes, *procIncrements, want, runtime.NumCPU())
			}
			var err error
			got, elapsed, err = processCount(ctx, m, *processes, *procIncrements)
			if errors.Is(err, mp.ErrNotSupported) && *mode == "all" {
				fmt.Fprintln(stdout, "(the shared counter needs Linux: the process modes are skipped here)")
				break
			}
			if err != nil {
				fmt.Fprintf(stderr, "race: %s: %v\n", m, err)
				return 1
			}
		} else {
			want = int64(*goroutines) * int64(*increments)
			if header != "goroutines" {
				header = "goroutines"
				fmt.Fprintf(stdout, "%d goroutines x %d increments = %d, on %d CPUs\n", *goroutines, *increments, want, runtime.NumCPU())
			}
			start := time.Now()
			got = counters[m](*goroutines, *increments)
			elapsed = time.Since(start)
		}
		verdict := "right"
		switch m {
		case "unsafe":
			verdict = "right, by luck (-race finds the bug)"
		case "value-unsafe":
			verdict = "right, by luck (no update was lost)"
		}
		if got != want {
			verdict = fmt.Sprintf("%d increments lost", want-got)
			if m != "unsafe" && m != "value-unsafe" {
				wrong = true
			}
		}
		fmt.Fprintf(stdout, "%-12s %12d  %-38s %9v\n", m, got, verdict, elapsed.Round(time.Microsecond))
	}
	if wrong {
		fmt.Fprintln(stderr, "race: a locked counter lost increments")
		return 1
	}
	return 0
}
