package aio_test

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

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
	const n = 100_000
	runBench(b, func(ctx context.Context) error {
		tasks := make([]*aio.Task[int], n)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for j := range tasks {
				tasks[j] = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
					if err := aio.Sleep(ctx, 0); err != nil {
						return 0, err
					}
					return 1, nil
				})
			}
			res, err := aio.Gather(ctx, tasks...)
			if err != nil || len(res) != n {
				b.Fatalf("gather: %d results, %v", len(res), err)
			}
		}
		b.StopTimer()
		return nil
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9, "s/op")
}

// BenchmarkSleepingTasks: 100,000 tasks asleep at once; reports the
// memory each costs (heap and stacks in use, per task) (peer: a_loop.py a3).
func BenchmarkSleepingTasks(b *testing.B) {
	const n = 100_000
	runBench(b, func(ctx context.Context) error {
		var perTask, rssPerTask float64
		for i := 0; i < b.N; i++ {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rss0 := procStatusKiB("VmRSS")
			tasks := make([]*aio.Task[struct{}], n)
			for j := range tasks {
				tasks[j] = aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
					return struct{}{}, aio.Sleep(ctx, time.Second)
				})
			}
			if err := aio.Sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			rss1 := procStatusKiB("VmRSS")
			inuse := func(m *runtime.MemStats) float64 { return float64(m.HeapInuse + m.StackInuse) }
			perTask = (inuse(&after) - inuse(&before)) / n
			rssPerTask = float64(rss1-rss0) * 1024 / n
			if _, err := aio.Gather(ctx, tasks...); err != nil {
				return err
			}
		}
		b.ReportMetric(perTask, "bytes/task")
		b.ReportMetric(rssPerTask, "rss-bytes/task")
		return nil
	})
}

// BenchmarkTimers: one op = 1,000,000 CallLater callbacks with random
// delays in [0, 1 s], until all have fired; reports the process's peak
// RSS (VmHWM), meaningful when the benchmark runs alone (peer: a_loop.py a4).
func BenchmarkTimers(b *testing.B) {
	const n = 1_000_000
	rnd := rand.New(rand.NewPCG(42, 42))
	delays := make([]time.Duration, n)
	for i := range delays {
		delays[i] = time.Duration(rnd.Int64N(int64(time.Second)))
	}
	runBench(b, func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		for i := 0; i < b.N; i++ {
			done := aio.NewFuture[struct{}](ctx)
			left := n
			cb := func() {
				left--
				if left == 0 {
					done.SetResult(struct{}{})
				}
			}
			for _, d := range delays {
				l.CallLater(d, cb)
			}
			if _, err := done.Await(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportMetric(float64(procStatusKiB("VmHWM"))/1024, "peak-rss-MB")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9, "s/op")
}

func procStatusKiB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}
