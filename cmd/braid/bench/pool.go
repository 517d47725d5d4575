package bench

// The process pool (package mp) against Python's ProcessPoolExecutor and
// multiprocessing.Pool: its start, throughput, latency, big arguments and CPU speed-up, each with 2 workers.
//
//	pool-startup    pool start to first result (new pool each time)
//	pool-submit     20,000 trivial tasks, one Submit each
//	pool-map1       20,000 trivial tasks, Map chunksize 1
//	pool-map100     20,000 trivial tasks, Map chunksize 100
//	pool-roundtrip  one trivial task on a warm pool, p50 / p99
//	pool-bigarg     a 10 MB []byte argument returned unchanged
//	pool-fib        8 x fib(35), sequential vs the pool (speed-up)
//
// With --pool-peer (the embedded python/peers.py), the same measures of
// the Python pools run in the same invocation and come out as rows beside
// braid's. The process pool is also a model of the cpu workload.
//
// The braid binary is its own pool worker: cmd/braid calls mp.Main first
// thing, and the functions below are registered at package level.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

var (
	poolInc = mp.Register("bench.pool.inc", func(ctx context.Context, x int) (int, error) {
		return x + 1, nil
	})
	poolEcho = mp.Register("bench.pool.echo", func(ctx context.Context, b []byte) ([]byte, error) {
		return b, nil
	})
	poolCPU = mp.Register("bench.cpu", func(ctx context.Context, t CPUTask) (int64, error) {
		return RunCPUTask(t)
	})
)

var poolOpts struct {
	peer bool
}

const poolWorkers = 2

// poolFlagSet registers the pool workload's flag.
func poolFlagSet(fs *flag.FlagSet) {
	fs.BoolVar(&poolOpts.peer, "pool-peer", false, "pool: also measure ProcessPoolExecutor and multiprocessing.Pool in the same run, with --python-exe (default off)")
}

// runCPUProcessPool is the cpu workload's process pool model: a pool of
// poolWorkers started for the run (its start is in the time).
func runCPUProcessPool(ctx context.Context, tasks []CPUTask) ([]int64, error) {
	pool, err := mp.NewPool(mp.WithMaxWorkers(poolWorkers), mp.WithName("bench-cpu"))
	if err != nil {
		return nil, err
	}
	defer closePool(pool)
	out := make([]int64, 0, len(tasks))
	for v, err := range poolCPU.Map(ctx, pool, slices.Values(tasks)) {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

const poolModel = "mp.Pool(2)"

// closePool cancels what is still queued on ex and waits for the rest and
// for its workers to exit (Python's shutdown(wait=True,
// cancel_futures=True)).
func closePool(ex futures.Executor) error {
	ex.Close()
	return ex.Shutdown(context.Background())
}

func newBenchPool(ctx context.Context) (*mp.Pool, error) {
	pool, err := mp.NewPool(mp.WithMaxWorkers(poolWorkers), mp.WithName("bench-pool"))
	if err != nil {
		return nil, err
	}
	// Warm: both workers started and through a few tasks.
	fs := make([]*futures.Future[int], 4*poolWorkers)
	for i := range fs {
		if fs[i], err = poolInc.Submit(ctx, pool, i); err != nil {
			pool.Terminate()
			return nil, err
		}
	}
	for _, f := range fs {
		if _, err := f.Result(ctx); err != nil {
			pool.Terminate()
			return nil, err
		}
	}
	return pool, nil
}

func runPool(ctx context.Context, cfg Config, report func(Row)) error {
	starts, n, lat, bigReps, fibN := 50, 20_000, 2_000, 20, 35
	if cfg.Quick {
		starts, n, lat, bigReps, fibN = 5, 2_000, 200, 2, 27
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"startup", func() error { return poolStartup(ctx, cfg, starts, report) }},
		{"throughput", func() error { return poolThroughput(ctx, cfg, n, report) }},
		{"round trip", func() error { return poolRoundTrip(ctx, cfg, lat, report) }},
		{"10 MB argument", func() error { return poolBigArg(ctx, cfg, bigReps, report) }},
		{"fib", func() error { return poolFib(ctx, cfg, fibN, report) }},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		cfg.Progress("pool: %s", s.name)
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if poolOpts.peer {
		return poolPeers(ctx, cfg, n, bigReps, report)
	}
	return nil
}

func poolStartup(ctx context.Context, cfg Config, starts int, report func(Row)) error {
	ts := make([]time.Duration, 0, starts)
	for i := 0; i < starts; i++ {
		t0 := time.Now()
		pool, err := mp.NewPool(mp.WithMaxWorkers(poolWorkers))
		if err != nil {
			return err
		}
		f, err := poolInc.Submit(ctx, pool, 1)
		if err == nil {
			var v int
			v, err = f.Result(ctx)
			if err == nil && v != 2 {
				err = fmt.Errorf("inc(1) = %d", v)
			}
		}
		ts = append(ts, time.Since(t0))
		if serr := closePool(pool); err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
	}
	p50, p99 := percentiles(ts)
	report(cfg.withGoal(Row{Workload: "pool-startup", Model: poolModel, P50us: p50, P99us: p99,
		Note: fmt.Sprintf("new pool to first result, %d runs", starts)}, "p50 <= 5 ms", p50 <= 5000))
	return nil
}

func countTo(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

func poolThroughput(ctx context.Context, cfg Config, n int, report func(Row)) error {
	pool, err := newBenchPool(ctx)
	if err != nil {
		return err
	}
	defer closePool(pool)

	// One Submit each.
	fs := make([]*futures.Future[int], n)
	t0 := time.Now()
	for i := range fs {
		if fs[i], err = poolInc.Submit(ctx, pool, i); err != nil {
			return err
		}
	}
	for i, f := range fs {
		if v, err := f.Result(ctx); err != nil || v != i+1 {
			return fmt.Errorf("inc(%d) = %d, %v", i, v, err)
		}
	}
	secs := time.Since(t0).Seconds()
	report(cfg.withGoal(Row{Workload: "pool-submit", Model: poolModel, Seconds: secs, RPS: float64(n) / secs,
		Note: fmt.Sprintf("%d trivial tasks, one Submit each; req/s = tasks/s", n)}, ">= 100,000 tasks/s", float64(n)/secs >= 100_000))

	for _, chunk := range []int{1, 100} {
		t0 := time.Now()
		i := 0
		for v, err := range poolInc.Map(ctx, pool, countTo(n), futures.WithChunkSize(chunk)) {
			if err != nil || v != i+1 {
				return fmt.Errorf("map inc(%d) = %d, %v", i, v, err)
			}
			i++
		}
		secs := time.Since(t0).Seconds()
		goal := 150_000
		if chunk == 100 {
			goal = 2_500_000
		}
		report(cfg.withGoal(Row{Workload: fmt.Sprintf("pool-map%d", chunk), Model: poolModel, Seconds: secs, RPS: float64(n) / secs,
			Note: fmt.Sprintf("%d trivial tasks, Map chunksize %d; req/s = tasks/s", n, chunk)},
			">= "+thousands(goal)+" tasks/s", float64(n)/secs >= float64(goal)))
	}
	return nil
}

func poolRoundTrip(ctx context.Context, cfg Config, n int, report func(Row)) error {
	pool, err := newBenchPool(ctx)
	if err != nil {
		return err
	}
	defer closePool(pool)
	call := func(i int) error {
		f, err := poolInc.Submit(ctx, pool, i)
		if err != nil {
			return err
		}
		if v, err := f.Result(ctx); err != nil || v != i+1 {
			return fmt.Errorf("inc(%d) = %d, %v", i, v, err)
		}
		return nil
	}
	for i := 0; i < 100; i++ {
		if err := call(i); err != nil {
			return err
		}
	}
	ts := make([]time.Duration, n)
	for i := range ts {
		t0 := time.Now()
		if err := call(i); err != nil {
			return err
		}
		ts[i] = time.Since(t0)
	}
	p50, p99 := percentiles(ts)
	report(cfg.withGoal(Row{Workload: "pool-roundtrip", Model: poolModel, P50us: p50, P99us: p99,
		Note: fmt.Sprintf("one trivial task on a warm pool, %d in a row", n)}, "p50/p99 <= 40/150 us", p50 <= 40 && p99 <= 150))
	return nil
}

func poolBigArg(ctx context.Context, cfg Config, reps int, report func(Row)) error {
	pool, err := newBenchPool(ctx)
	if err != nil {
		return err
	}
	defer closePool(pool)
	payload := make([]byte, 10<<20)
	rand.Read(payload)
	ts := make([]time.Duration, 0, reps)
	for i := 0; i <= reps; i++ {
		t0 := time.Now()
		f, err := poolEcho.Submit(ctx, pool, payload)
		if err != nil {
			return err
		}
		back, err := f.Result(ctx)
		if err != nil {
			return err
		}
		d := time.Since(t0)
		if !bytes.Equal(back, payload) {
			return errors.New("the 10 MB payload came back different")
		}
		if i > 0 { // the first round trip is not timed, as in peers.py
			ts = append(ts, d)
		}
	}
	p50, _ := percentiles(ts)
	cfg.Progress("pool: 10 MB round trips (ms): %s", fmtMillis(ts))
	report(cfg.withGoal(Row{Workload: "pool-bigarg", Model: poolModel, Seconds: p50 / 1e6,
		Note: fmt.Sprintf("10 MB []byte in and back, 1 untimed then median of %d: %.2f ms, %.0f MB/s moved", reps, p50/1e3, 20/(p50/1e6))},
		"<= 10 ms", p50 <= 10_000))
	return nil
}

func poolFib(ctx context.Context, cfg Config, fibN int, report func(Row)) error {
	tasks := make([]CPUTask, cpuTaskCount)
	for i := range tasks {
		tasks[i] = CPUTask{"fib", fibN}
	}
	want, _ := RunCPUTask(tasks[0])
	t0 := time.Now()
	if _, err := runCPUSequential(ctx, tasks); err != nil {
		return err
	}
	seq := time.Since(t0).Seconds()
	pool, err := newBenchPool(ctx)
	if err != nil {
		return err
	}
	defer closePool(pool)
	// Warm the function's run-time estimate as a long one, then measure.
	best := 0.0
	for r := 0; r < 3; r++ {
		t0 := time.Now()
		for v, err := range poolCPU.Map(ctx, pool, slices.Values(tasks)) {
			if err != nil || v != want {
				return fmt.Errorf("fib = %d, %v", v, err)
			}
		}
		if s := time.Since(t0).Seconds(); best == 0 || s < best {
			best = s
		}
	}
	note := fmt.Sprintf("%d x fib(%d), warm pool, best of 3", cpuTaskCount, fibN)
	report(Row{Workload: "pool-fib", Model: "sequential", Seconds: seq, Speedup: 1, Note: note})
	report(cfg.withGoal(Row{Workload: "pool-fib", Model: poolModel, Seconds: best, Speedup: seq / best, Note: note}, ">= 1.85x", seq/best >= 1.85))
	return nil
}

func fmtMillis(ts []time.Duration) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%.1f", float64(t.Microseconds())/1e3)
	}
	return strings.Join(parts, " ")
}

// poolPeers runs peers.py pool for ProcessPoolExecutor ("cf") and
// multiprocessing.Pool ("mp") and reports its figures as rows.
func poolPeers(ctx context.Context, cfg Config, n, bigReps int, report func(Row)) error {
	run := func(args ...string) (map[string]string, error) {
		cfg.Progress("pool: peers.py pool %s", strings.Join(args, " "))
		return runPeer(ctx, cfg.PythonExe, append([]string{"pool"}, args...)...)
	}
	num := func(kv map[string]string, k string) float64 {
		v, _ := strconv.ParseFloat(kv[k], 64)
		return v
	}
	names := map[string]string{"cf": "ProcessPoolExecutor (python)", "mp": "multiprocessing.Pool (python)"}
	for _, impl := range []string{"cf", "mp"} {
		model := names[impl]
		// Start-up: one pool per process run; the median of 5 runs.
		var starts []float64
		for i := 0; i < 5; i++ {
			kv, err := run("startup", "--impl", impl)
			if err != nil {
				return err
			}
			starts = append(starts, num(kv, "first_result_ms"))
		}
		report(Row{Workload: "pool-startup", Model: model, P50us: median(starts) * 1e3, Note: "fork start method, median of 5 runs"})
		for _, how := range []string{"submit", "map1", "map100"} {
			kv, err := run("throughput", "--impl", impl, "--how", how, "--n", strconv.Itoa(n))
			if err != nil {
				return err
			}
			w := "pool-" + how
			if how == "submit" {
				w = "pool-submit"
			}
			report(Row{Workload: w, Model: model, Seconds: num(kv, "secs"), RPS: num(kv, "tasks_per_s"), Note: fmt.Sprintf("%d trivial tasks", n)})
		}
		kv, err := run("latency", "--impl", impl)
		if err != nil {
			return err
		}
		report(Row{Workload: "pool-roundtrip", Model: model, P50us: num(kv, "p50_us"), P99us: num(kv, "p99_us")})
		reps := strconv.Itoa(bigReps)
		kv, err = run("bigarg", "--impl", impl, "--reps", reps)
		if err != nil {
			return err
		}
		report(Row{Workload: "pool-bigarg", Model: model, Seconds: num(kv, "roundtrip_ms") / 1e3,
			Note: fmt.Sprintf("10 MB bytes in and back, 1 untimed then median of %s: %s ms", reps, kv["roundtrip_ms"])})
	}
	// fib(27) is the Python task (~50 ms there); fib(29) is about
	// as long on a faster machine.
	for _, n := range []string{"27", "29"} {
		kv, err := run("fib", "--fib", n)
		if err != nil {
			return err
		}
		report(Row{Workload: "pool-fib", Model: names["cf"], Seconds: num(kv, "procpool_warm_s"), Speedup: num(kv, "speedup_proc_warm"),
			Note: fmt.Sprintf("8 x fib(%s) in Python (%s ms each), warm pool, vs Python sequential %ss", n, kv["one_fib_ms"], kv["seq_s"])})
	}
	return nil
}
