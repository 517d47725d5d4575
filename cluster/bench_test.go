package cluster_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/braid-go/braid/cluster"
	"github.com/braid-go/braid/futures"
)

// The benchmarks of the cluster executor: an embedded server and 2 worker
// processes on this machine, comparable with Dask distributed's
// LocalCluster of 2 single-thread worker processes
// (../shared/peers/f_dask.py, see docs/PERFORMANCE.md):
//
//	flock /tmp/braid-bench.lock go test -run '^$' -bench Cluster -benchtime 5000x ./cluster

// benchCluster starts a client with an embedded server and 2 worker
// processes of one task at a time, warmed up.
func benchCluster(b *testing.B, workerArgs []string, opts ...cluster.Option) (*cluster.Client, *workers) {
	b.Helper()
	ctx := context.Background()
	c, err := cluster.New(ctx, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Shutdown(context.Background()) })
	w := startWorkers(b, c.URL(), 2, nil, append([]string{"--concurrency", "1"}, workerArgs...)...)
	// Warm up until both workers have run tasks: a worker still starting
	// when the measurement begins would leave its first rounds to the
	// other one (8 fibs on one worker instead of 4 on each).
	for round := 0; ; round++ {
		if round == 100 {
			b.Fatalf("after %d warm-up rounds, tasks ran on %d worker(s), not 2", round, len(ranOn(c)))
		}
		fs := make([]*futures.Future[int], 200)
		for i := range fs {
			if fs[i], err = Inc.Submit(ctx, c, i); err != nil {
				b.Fatal(err)
			}
		}
		for _, f := range fs {
			if _, err := f.Result(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if len(ranOn(c)) >= 2 {
			return c, w
		}
	}
}

// ranOn returns the workers that ran the client's tasks.
func ranOn(c *cluster.Client) map[string]bool {
	m := map[string]bool{}
	for _, st := range c.Tasks() {
		if st.Worker != "" {
			m[st.Worker] = true
		}
	}
	return m
}

// BenchmarkClusterThroughput: b.N trivial tasks submitted at once, one
// task each (as f_dask.py's client.map), then all results.
func BenchmarkClusterThroughput(b *testing.B) {
	c, _ := benchCluster(b, []string{"--prefetch", "64"})
	ctx := context.Background()
	fs := make([]*futures.Future[int], b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range fs {
		f, err := Inc.Submit(ctx, c, i)
		if err != nil {
			b.Fatal(err)
		}
		fs[i] = f
	}
	for i, f := range fs {
		if r, err := f.Result(ctx); err != nil || r != i+1 {
			b.Fatalf("task %d: %d, %v", i, r, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
}

// BenchmarkClusterMapThroughput: b.N trivial items through Map in chunks
// of 100 (one task per chunk), the way to send many small items.
func BenchmarkClusterMapThroughput(b *testing.B) {
	c, _ := benchCluster(b, []string{"--prefetch", "8"})
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	i := 0
	for r, err := range Inc.Map(ctx, c, func(yield func(int) bool) {
		for j := 0; j < b.N && yield(j); j++ {
		}
	}, futures.WithChunkSize(100)) {
		if err != nil || r != i+1 {
			b.Fatalf("item %d: %d, %v", i, r, err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "items/s")
}

// BenchmarkClusterRoundTrip: one trivial task at a time, submit to result.
func BenchmarkClusterRoundTrip(b *testing.B) {
	c, _ := benchCluster(b, nil)
	ctx := context.Background()
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range lat {
		t0 := time.Now()
		if r, err := Inc.Call(ctx, c, i); err != nil || r != i+1 {
			b.Fatalf("task %d: %d, %v", i, r, err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// BenchmarkClusterStart: one op = cluster.New with its embedded server, 2
// worker processes started, the first result; then everything stopped
// (not timed). The same span as f_dask.py's cluster_start_secs plus a
// first task.
func BenchmarkClusterStart(b *testing.B) {
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		c, err := cluster.New(ctx)
		if err != nil {
			b.Fatal(err)
		}
		w := &workers{t: b}
		w.add(c.URL(), nil)
		w.add(c.URL(), nil)
		if _, err := Inc.Call(ctx, c, 1); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		b.StopTimer()
		w.stop()
		c.Shutdown(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "first-result-ms")
}

// BenchmarkClusterFib: 8 x fib(35) over the 2 workers (with the default
// prefetch of 1, a worker's next task waits in its pool, so that it starts
// as soon as the previous one ends), against the same 8 calls in sequence
// in this process. Metric: speedup.
func BenchmarkClusterFib(b *testing.B) {
	const n, tasks = 35, 8
	c, _ := benchCluster(b, nil)
	ctx := context.Background()
	var seq, par time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		want := 0
		for j := 0; j < tasks; j++ {
			want = fib(n)
		}
		seq += time.Since(t0)
		t0 = time.Now()
		got := 0
		for r, err := range Fib.Map(ctx, c, slices.Values(slices.Repeat([]int{n}, tasks))) {
			if err != nil || r != want {
				b.Fatalf("fib: %d, %v", r, err)
			}
			got++
		}
		if got != tasks {
			b.Fatalf("%d results", got)
		}
		par += time.Since(t0)
	}
	b.ReportMetric(seq.Seconds()/par.Seconds(), "speedup")
	b.ReportMetric(par.Seconds()/float64(b.N), "cluster-s")
}

// BenchmarkClusterKilled: 200 tasks of 20 ms (f_dask.py's slow_inc) over
// the 2 workers; once 50 are done (f_dask.py kills after 0.5 s, when about
// 50 are done), one worker is SIGKILLed and started again at once, as its
// supervisor (systemd, Kubernetes; Dask's nanny) would. Metric: seconds
// from the kill until every task is done; the killed worker's tasks run
// again after the ack wait, 1 s here.
func BenchmarkClusterKilled(b *testing.B) {
	ctx := context.Background()
	var after time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c, w := benchCluster(b, nil, cluster.WithAckWait(time.Second))
		b.StartTimer()
		fs := make([]*futures.Future[int], 200)
		for j := range fs {
			f, err := Slow.Submit(ctx, c, 20)
			if err != nil {
				b.Fatal(err)
			}
			fs[j] = f
		}
		for _, f := range fs[:50] {
			if _, err := f.Result(ctx); err != nil {
				b.Fatal(err)
			}
		}
		t0 := time.Now()
		w.kill(w.pids()[0])
		w.add(c.URL(), nil, "--concurrency", "1")
		for j, f := range fs {
			if r, err := f.Result(ctx); err != nil || r != 20 {
				b.Fatalf("task %d: %d, %v", j, r, err)
			}
		}
		after += time.Since(t0)
		b.StopTimer()
		w.stop()
		c.Shutdown(ctx)
		b.StartTimer()
	}
	b.ReportMetric(after.Seconds()/float64(b.N), "secs-after-kill")
}
