package aio_test

import (
	"context"
	"iter"
	"testing"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/cmd/braid/bench"
)

// The workloads live in cmd/braid/bench, shared with `braid bench`.

// runBench runs body as the main task of a fresh loop (real clock).
func runBench(b *testing.B, body func(ctx context.Context) error) {
	b.Helper()
	if err := aio.Run(context.Background(), body); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSpawnGather: one op = spawn 100,000 tasks that each yield
// once, then gather them (peer: ../shared/peers/a_loop.py a1).
func BenchmarkSpawnGather(b *testing.B) {
	runBench(b, func(ctx context.Context) error {
		tasks := make([]*aio.Task[int], 100_000)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := bench.SpawnGatherOn(ctx, tasks); err != nil {
				return err
			}
		}
		b.StopTimer() // closing the loop (ending its idle coroutines) is not part of an op
		return nil
	})
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
}

// BenchmarkSpawnGatherBarePull is the floor under BenchmarkSpawnGather:
// 100,000 bare iter.Pull coroutines that yield once, resumed in order,
// with no loop, no futures and no scheduling.
func BenchmarkSpawnGatherBarePull(b *testing.B) {
	nexts := make([]func() (int, bool), 100_000)
	for i := 0; i < b.N; i++ {
		for j := range nexts {
			nexts[j], _ = iter.Pull(func(yield func(int) bool) { yield(0) })
		}
		for _, next := range nexts {
			next()
		}
		for _, next := range nexts {
			next()
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
}

// BenchmarkSleepingTasks: 100,000 tasks asleep at once; reports what each
// costs (heap and stacks in use per task), measured in a fresh child
// process as the Python peer is (peer: a_loop.py a3). In a process that
// has run other work, the runtime may start goroutines with larger
// stacks: it sizes them from the stacks it saw at the last collection.
func BenchmarkSleepingTasks(b *testing.B) {
	var perTask, rss float64
	for i := 0; i < b.N; i++ {
		var err error
		if perTask, rss, err = bench.SleepingTasksFresh(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perTask, "bytes/task")
	b.ReportMetric(rss, "rss-bytes/task")
}

// BenchmarkTimers: one op = 1,000,000 CallLater callbacks with random
// delays in [0, 1 s], until all have fired, in a fresh child process;
// reports that process's peak RSS (VmHWM) (peer: a_loop.py a4).
func BenchmarkTimers(b *testing.B) {
	var secs, peak float64
	for i := 0; i < b.N; i++ {
		var err error
		if secs, peak, err = bench.TimersFresh(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(peak, "peak-rss-MB")
	b.ReportMetric(secs, "s/op")
}
