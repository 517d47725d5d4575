package mp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// The benchmarks of the process pool, each with 2 workers, comparable with
// braid bench's pool workload against Python's ProcessPoolExecutor and
// multiprocessing.Pool (--pool-peer):
//
//	flock /tmp/braid-bench.lock go test -run '^$' -bench . -benchtime 20000x ./mp

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

var Fib = mp.Register("test.fib", func(ctx context.Context, n int) (int, error) {
	return fib(n), nil
})

func warmPool(b *testing.B, opts ...mp.Option) *mp.Pool {
	b.Helper()
	p, err := mp.NewPool(append([]mp.Option{mp.WithMaxWorkers(2)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Shutdown(context.Background()) })
	ctx := context.Background()
	// Start both workers and let them run something.
	fs := make([]*futures.Future[int], 8)
	for i := range fs {
		if fs[i], err = Inc.Submit(ctx, p, i); err != nil {
			b.Fatal(err)
		}
	}
	for _, f := range fs {
		if _, err := f.Result(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// BenchmarkStartup: one op = a new pool, its first result, its shutdown.
func BenchmarkStartup(b *testing.B) {
	ctx := context.Background()
	var first time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		p, err := mp.NewPool(mp.WithMaxWorkers(2))
		if err != nil {
			b.Fatal(err)
		}
		f, err := Inc.Submit(ctx, p, 1)
		if err != nil {
			b.Fatal(err)
		}
		if v, err := f.Result(ctx); err != nil || v != 2 {
			b.Fatal(v, err)
		}
		first += time.Since(t0)
		if err := p.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(first.Microseconds())/float64(b.N)/1000, "first-result-ms")
}

// BenchmarkSubmit: one op = one trivial task, one Submit each.
func BenchmarkSubmit(b *testing.B) {
	p := warmPool(b)
	ctx := context.Background()
	fs := make([]*futures.Future[int], b.N)
	b.ResetTimer()
	for i := range fs {
		f, err := Inc.Submit(ctx, p, i)
		if err != nil {
			b.Fatal(err)
		}
		fs[i] = f
	}
	for i, f := range fs {
		if v, err := f.Result(ctx); err != nil || v != i+1 {
			b.Fatal(v, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

func benchMap(b *testing.B, chunk int) {
	p := warmPool(b)
	ctx := context.Background()
	b.ResetTimer()
	i := 0
	for v, err := range Inc.Map(ctx, p, count(b.N), futures.WithChunkSize(chunk)) {
		if err != nil || v != i+1 {
			b.Fatal(v, err)
		}
		i++
	}
	b.StopTimer()
	if i != b.N {
		b.Fatal(i, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkMapChunk1: one op = one trivial task, Map with chunksize 1.
func BenchmarkMapChunk1(b *testing.B) { benchMap(b, 1) }

// BenchmarkMapChunk100: one op = one trivial task, Map with chunksize 100.
func BenchmarkMapChunk100(b *testing.B) { benchMap(b, 100) }

// BenchmarkRoundTrip: one op = one trivial task on a warm pool, waited for
// before the next; reports the p50 and p99 latency.
func BenchmarkRoundTrip(b *testing.B) {
	p := warmPool(b)
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		f, _ := Inc.Submit(ctx, p, i)
		f.Result(ctx)
	}
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range lat {
		t0 := time.Now()
		f, err := Inc.Submit(ctx, p, i)
		if err != nil {
			b.Fatal(err)
		}
		if v, err := f.Result(ctx); err != nil || v != i+1 {
			b.Fatal(v, err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(pct(0.5), "p50-us")
	b.ReportMetric(pct(0.99), "p99-us")
}

// BenchmarkBigArg: one op = a 10 MB []byte argument returned unchanged.
func BenchmarkBigArg(b *testing.B) {
	p := warmPool(b)
	ctx := context.Background()
	payload := make([]byte, 10<<20)
	rand.Read(payload)
	call := func() []byte {
		f, err := Echo.Submit(ctx, p, payload)
		if err != nil {
			b.Fatal(err)
		}
		back, err := f.Result(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return back
	}
	if !bytes.Equal(call(), payload) {
		b.Fatal("bad echo")
	}
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		back := call()
		// Checked outside the timing, as d_pool.py does.
		b.StopTimer()
		if !bytes.Equal(back, payload) {
			b.Fatal("bad echo")
		}
		b.StartTimer()
	}
}

// BenchmarkCPUBound: one op = 8 x fib(35) (~50 ms each), sequential in
// this process, or on a warm pool of 2 workers.
func BenchmarkCPUBound(b *testing.B) {
	const n, tasks = 35, 8
	want := fib(n)
	b.Run("sequential", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j := 0; j < tasks; j++ {
				if fib(n) != want {
					b.Fatal("fib")
				}
			}
		}
	})
	b.Run("pool", func(b *testing.B) {
		p := warmPool(b)
		ctx := context.Background()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for v, err := range Fib.Map(ctx, p, slices.Values(slices.Repeat([]int{n}, tasks))) {
				if err != nil || v != want {
					b.Fatal(v, err)
				}
			}
		}
	})
}
