package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/braid-go/braid/aio"
)

// The event-loop workloads of `braid bench` and of aio's go test
// benchmarks (which call these functions, so both measure the same code).

func runLoop(ctx context.Context, cfg Config, report func(Row)) error {
	n, timers := 100_000, 1_000_000
	if cfg.Quick {
		n, timers = 2_000, 20_000
	}
	// Four rounds on one loop: the first creates the loop's coroutines,
	// the others reuse them; the median of those is the figure.
	rounds, err := SpawnGather(ctx, n, 4)
	if err != nil {
		return err
	}
	warm := slices.Clone(rounds[1:])
	slices.Sort(warm)
	med := warm[len(warm)/2]
	report(cfg.withGoal(Row{Workload: "loop/spawn-gather", Model: "braid-aio", Seconds: med.Seconds(),
		NsPerOp: float64(med.Nanoseconds()) / float64(n),
		Note:    fmt.Sprintf("%d tasks, yield once, gather; median of 3 rounds on a warm loop (a fresh loop's first: %.3f s)", n, rounds[0].Seconds())},
		"<= 0.15 s", med.Seconds() <= 0.15))

	msgs := 1_000_000
	if cfg.Quick {
		msgs = 20_000
	}
	var pp time.Duration
	if err := aio.Run(ctx, func(ctx context.Context) error {
		var err error
		pp, err = PingPongOn(ctx, msgs/2, nil)
		return err
	}); err != nil {
		return err
	}
	report(cfg.withGoal(Row{Workload: "loop/ping-pong", Model: "braid-aio", Seconds: pp.Seconds(), NsPerOp: float64(pp.Nanoseconds()) / float64(msgs),
		Note: fmt.Sprintf("%d messages between two tasks through two Queue(1)", msgs)}, "<= 250 ns/msg", float64(pp.Nanoseconds())/float64(msgs) <= 250))

	where := ", fresh process"
	if cfg.Quick {
		where = " (quick: in this process)"
	}
	var perTask, rssPerTask float64
	if cfg.Quick {
		perTask, rssPerTask, err = SleepingTasks(n, time.Second)
	} else {
		perTask, rssPerTask, err = SleepingTasksFresh()
	}
	if err != nil {
		return err
	}
	report(cfg.withGoal(Row{Workload: "loop/sleeping-tasks", Model: "braid-aio", BytesPerTask: perTask,
		Note: fmt.Sprintf("%d tasks asleep%s; heap+stacks in use (RSS: %.0f B)", n, where, rssPerTask)}, "<= 3200 B", perTask <= 3200))

	if ctx.Err() != nil {
		return ctx.Err()
	}
	var wall, peak float64
	if cfg.Quick {
		var d time.Duration
		d, peak, err = Timers(timers)
		wall = d.Seconds()
	} else {
		wall, peak, err = TimersFresh()
	}
	if err != nil {
		return err
	}
	report(cfg.withGoal(Row{Workload: "loop/timers", Model: "braid-aio", Seconds: wall, PeakRSSMB: peak,
		Note: fmt.Sprintf("%d CallLater, random delays in [0,1s]%s", timers, where)}, "<= 2.0 s and <= 200 MB", wall <= 2 && peak <= 200))
	return nil
}

// SpawnGather runs rounds rounds on one fresh loop, each spawning n tasks
// that yield once and gathering them, and returns the time of each round
// from its first spawn to the gathered result.
func SpawnGather(ctx context.Context, n, rounds int) ([]time.Duration, error) {
	var took []time.Duration
	err := aio.Run(ctx, func(ctx context.Context) error {
		tasks := make([]*aio.Task[int], n)
		for range rounds {
			d, err := SpawnGatherOn(ctx, tasks)
			if err != nil {
				return err
			}
			took = append(took, d)
		}
		return nil
	})
	return took, err
}

// SpawnGatherOn is one round of SpawnGather in a running task, with room
// for len(tasks) tasks.
func SpawnGatherOn(ctx context.Context, tasks []*aio.Task[int]) (time.Duration, error) {
	start := time.Now()
	for j := range tasks {
		tasks[j] = aio.Spawn(ctx, yieldOnce)
	}
	res, err := aio.Gather(ctx, tasks...)
	took := time.Since(start)
	if err != nil {
		return took, err
	}
	if len(res) != len(tasks) {
		return took, fmt.Errorf("gathered %d results of %d", len(res), len(tasks))
	}
	return took, nil
}

func yieldOnce(ctx context.Context) (int, error) {
	if err := aio.Sleep(ctx, 0); err != nil {
		return 0, err
	}
	return 1, nil
}

// SleepingTasks puts n tasks asleep for d at once and returns what each
// costs: the growth of heap and stacks in use per task, and the growth of
// the process's RSS per task (noisier: the runtime keeps freed memory).
func SleepingTasks(n int, d time.Duration) (perTask, rssPerTask float64, err error) {
	err = aio.Run(context.Background(), func(ctx context.Context) error {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rss0 := ProcStatusKiB("VmRSS")
		tasks := make([]*aio.Task[struct{}], n)
		for j := range tasks {
			tasks[j] = aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, aio.Sleep(ctx, d)
			})
		}
		// Let every task reach its Sleep.
		if err := aio.Sleep(ctx, d/5); err != nil {
			return err
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		rss1 := ProcStatusKiB("VmRSS")
		inuse := func(m *runtime.MemStats) float64 { return float64(m.HeapInuse + m.StackInuse) }
		perTask = (inuse(&after) - inuse(&before)) / float64(n)
		rssPerTask = float64(rss1-rss0) * 1024 / float64(n)
		_, err := aio.Gather(ctx, tasks...)
		return err
	})
	return perTask, rssPerTask, err
}

// Timers schedules n CallLater callbacks with random delays in [0, 1 s)
// on a fresh loop and returns the wall time until the last has fired and
// the process's peak RSS in MB over that time (the peak is reset first
// where Linux allows it).
func Timers(n int) (time.Duration, float64, error) {
	rnd := rand.New(rand.NewPCG(42, 42))
	delays := make([]time.Duration, n)
	for i := range delays {
		delays[i] = time.Duration(rnd.Int64N(int64(time.Second)))
	}
	runtime.GC()
	ResetPeakRSS()
	var took time.Duration
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		var err error
		took, err = TimersOn(ctx, delays)
		return err
	})
	return took, float64(ProcStatusKiB("VmHWM")) / 1024, err
}

// TimersOn schedules one CallLater per delay on the loop of ctx and waits
// until all have fired.
func TimersOn(ctx context.Context, delays []time.Duration) (time.Duration, error) {
	l := aio.CurrentLoop(ctx)
	done := aio.NewFuture[struct{}](ctx)
	left := len(delays)
	cb := func() {
		left--
		if left == 0 {
			done.SetResult(struct{}{})
		}
	}
	start := time.Now()
	for _, d := range delays {
		l.CallLater(d, cb)
	}
	_, err := done.Await(ctx)
	return time.Since(start), err
}

// PingPongOn runs rounds round trips between the calling task and a task
// it spawns, through two Queue[int] of size 1 (two messages per round
// trip), and returns the time they took. started, if not nil, is called
// just before the first message (a benchmark resets its timer there).
func PingPongOn(ctx context.Context, rounds int, started func()) (time.Duration, error) {
	q1, q2 := aio.NewQueue[int](1), aio.NewQueue[int](1)
	pong := aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
		for range rounds {
			v, err := q1.Get(ctx)
			if err != nil {
				return struct{}{}, err
			}
			if err := q2.Put(ctx, v); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	if started != nil {
		started()
	}
	start := time.Now()
	for i := range rounds {
		if err := q1.Put(ctx, i); err != nil {
			return 0, err
		}
		if _, err := q2.Get(ctx); err != nil {
			return 0, err
		}
	}
	took := time.Since(start)
	_, err := pong.Await(ctx)
	return took, err
}
