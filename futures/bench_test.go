package futures

// Benchmarks of the goroutine pool. Run them one at a time on a shared machine:
//
//	flock /tmp/braid-bench.lock go test -run '^$' -bench . -benchtime 3x -count 3 ./futures
//
// BenchmarkCPUBound: one op = 8 tasks of recursive fib(35), sequential, on a
// ThreadPool(GOMAXPROCS) and on plain goroutines. BenchmarkSubmit and
// BenchmarkMap: one op = one trivial task, submitted and its result read;
// the Peer benchmarks run the same trivial task on plain goroutines with a
// WaitGroup, conc's pool and ants, for comparison in the same run.

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/panjf2000/ants/v2"
	"github.com/sourcegraph/conc/pool"
)

// fib is the CPU-bound task of the benchmarks: deliberately exponential.
func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

var sink atomic.Int64

const (
	cpuTasks = 8
	cpuFib   = 35
	batch    = 1024 // tasks in flight in the batch benchmarks
)

func BenchmarkCPUBound(b *testing.B) {
	workers := runtime.GOMAXPROCS(0)
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			s := 0
			for range cpuTasks {
				s += fib(cpuFib)
			}
			sink.Store(int64(s))
		}
	})
	b.Run("pool", func(b *testing.B) {
		p := NewThreadPool(WithMaxWorkers(workers))
		defer p.Shutdown(bg)
		fs := make([]*Future[int], cpuTasks)
		for b.Loop() {
			for i := range fs {
				f, err := Submit(bg, p, func(context.Context) (int, error) { return fib(cpuFib), nil })
				if err != nil {
					b.Fatal(err)
				}
				fs[i] = f
			}
			s := 0
			for _, f := range fs {
				v, _ := f.Result(bg)
				s += v
			}
			sink.Store(int64(s))
		}
	})
	// Peer: plain goroutines, one per task.
	b.Run("goroutines", func(b *testing.B) {
		res := make([]int, cpuTasks)
		for b.Loop() {
			var wg sync.WaitGroup
			for i := range res {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[i] = fib(cpuFib)
				}()
			}
			wg.Wait()
			s := 0
			for _, v := range res {
				s += v
			}
			sink.Store(int64(s))
		}
	})
}

func trivial(context.Context) (int, error) { return 1, nil }

// BenchmarkSubmit: one op = Submit + Result of a trivial task. "batch"
// submits 1024 tasks, then reads their results (throughput, the figure of
// the goal); "serial" submits one and waits for it (round-trip latency).
func BenchmarkSubmit(b *testing.B) {
	b.Run("batch", func(b *testing.B) {
		p := NewThreadPool()
		defer p.Shutdown(bg)
		fs := make([]*Future[int], 0, batch)
		b.ReportAllocs()
		b.ResetTimer()
		for done := 0; done < b.N; {
			n := min(batch, b.N-done)
			fs = fs[:0]
			for range n {
				f, err := Submit(bg, p, trivial)
				if err != nil {
					b.Fatal(err)
				}
				fs = append(fs, f)
			}
			s := 0
			for _, f := range fs {
				v, _ := f.Result(bg)
				s += v
			}
			sink.Add(int64(s))
			done += n
		}
	})
	b.Run("serial", func(b *testing.B) {
		p := NewThreadPool()
		defer p.Shutdown(bg)
		b.ReportAllocs()
		for b.Loop() {
			f, err := Submit(bg, p, trivial)
			if err != nil {
				b.Fatal(err)
			}
			v, _ := f.Result(bg)
			sink.Add(int64(v))
		}
	})
}

// BenchmarkMap: one op = one item of a Map over a lazy input of b.N items.
func BenchmarkMap(b *testing.B) {
	for _, tc := range []struct {
		name  string
		chunk int
	}{{"chunk=1", 1}, {"chunk=16", 16}, {"chunk=256", 256}} {
		b.Run(tc.name, func(b *testing.B) {
			p := NewThreadPool()
			defer p.Shutdown(bg)
			in := func(yield func(int) bool) {
				for i := 0; i < b.N; i++ {
					if !yield(i) {
						return
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			s := 0
			for v, err := range Map(bg, p, func(_ context.Context, x int) (int, error) { return x, nil }, in, WithChunkSize(tc.chunk)) {
				if err != nil {
					b.Fatal(err)
				}
				s += v
			}
			sink.Add(int64(s))
		})
	}
}

// BenchmarkPeerGoroutines: one op = one trivial task on its own goroutine,
// 1024 at a time, with a WaitGroup; the result is written to a slice.
func BenchmarkPeerGoroutines(b *testing.B) {
	res := make([]int, batch)
	b.ReportAllocs()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		var wg sync.WaitGroup
		wg.Add(n)
		for i := range n {
			go func() {
				defer wg.Done()
				res[i], _ = trivial(bg)
			}()
		}
		wg.Wait()
		done += n
	}
}

// BenchmarkPeerConc: one op = one trivial task on a conc pool of GOMAXPROCS
// goroutines, 1024 tasks per pool.Wait (a conc pool ends at Wait).
func BenchmarkPeerConc(b *testing.B) {
	res := make([]int, batch)
	workers := runtime.GOMAXPROCS(0)
	b.ReportAllocs()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		p := pool.New().WithMaxGoroutines(workers)
		for i := range n {
			p.Go(func() { res[i], _ = trivial(bg) })
		}
		p.Wait()
		done += n
	}
}

// BenchmarkPeerAnts: one op = one trivial task on an ants pool of GOMAXPROCS
// workers, 1024 at a time with a WaitGroup.
func BenchmarkPeerAnts(b *testing.B) {
	p, err := ants.NewPool(runtime.GOMAXPROCS(0))
	if err != nil {
		b.Fatal(err)
	}
	defer p.ReleaseTimeout(10e9)
	res := make([]int, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		var wg sync.WaitGroup
		wg.Add(n)
		for i := range n {
			if err := p.Submit(func() {
				defer wg.Done()
				res[i], _ = trivial(bg)
			}); err != nil {
				b.Fatal(err)
			}
		}
		wg.Wait()
		done += n
	}
}
