//go:build (amd64 || arm64) && unix

// Goroutines are identified only on these architectures: elsewhere the
// blocking calls are not refused on a loop's thread (documented), and the
// refusal tests would hang.

package mp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// cpuJob is a CPU job that, once computed, waits until the test releases
// it by opening its FIFO: the job's end is caused by the releasing code.
type cpuJob struct {
	N    int
	Seed int
	FIFO string
}

// crunch is the job's CPU work, also run by the test to check results.
func crunch(n, seed int) int {
	s := seed
	for k := range n {
		s = (s*31 + k*k) % 1_000_003
	}
	return s
}

var CrunchGated = mp.Register("test.await.crunch-gated", func(ctx context.Context, j cpuJob) (int, error) {
	v := crunch(j.N, j.Seed)
	f, err := os.Open(j.FIFO) // waits for the test to open the other end
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := io.Copy(io.Discard, f); err != nil {
		return 0, err
	}
	return v, nil
})

// tryRelease opens fifo for writing without waiting and closes it, which
// lets a job blocked opening it for reading read EOF and return. It
// reports false when no job has the FIFO open yet (ENXIO).
func tryRelease(t *testing.T, fifo string) bool {
	fd, err := syscall.Open(fifo, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ENXIO) {
		return false
	}
	if err != nil {
		t.Errorf("open %s: %v", fifo, err)
		return false
	}
	syscall.Close(fd)
	return true
}

// The hybrid of asyncio and a process pool (loop.run_in_executor(ProcessPoolExecutor(),
// cpu_work, page)): many tasks of one loop hand CPU jobs to a process
// pool with Func.Await while a ticker task keeps running. Each job ends
// only when the ticker, a task of the same loop, releases it, so the batch
// can finish only if the loop runs while the jobs are out; and since a
// worker runs one job at a time, at most `workers` jobs are released and
// unfinished at any tick: the completion counts the ticker sees must rise
// in many small steps, not jump from 0 to all.
func TestAwaitKeepsTheLoopRunningDuringAProcessPoolBatch(t *testing.T) {
	const (
		n       = 100
		workers = 2
		work    = 20_000
	)
	pool := newPool(t, mp.WithMaxWorkers(workers))
	dir := t.TempDir()
	fifos := make([]string, n)
	for i := range fifos {
		fifos[i] = fmt.Sprintf("%s/job%d", dir, i)
		if err := syscall.Mkfifo(fifos[i], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound, not a synchronisation
	defer cancel()
	var (
		started, completed int // touched by tasks of the one loop only
		ticks              []int
		maxAwaiting        int
	)
	err := aio.Run(ctx, func(ctx context.Context) error {
		jobs := make([]*aio.Task[int], n)
		for i := range jobs {
			jobs[i] = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
				started++
				v, err := CrunchGated.Await(ctx, pool, cpuJob{N: work, Seed: i, FIFO: fifos[i]})
				completed++
				return v, err
			})
		}
		ticker := aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			released := make([]bool, n)
			for {
				ticks = append(ticks, completed)
				maxAwaiting = max(maxAwaiting, started-completed)
				if completed == n {
					return struct{}{}, nil
				}
				for i, done := range released {
					if !done && tryRelease(t, fifos[i]) {
						released[i] = true
					}
				}
				if err := aio.Sleep(ctx, time.Millisecond); err != nil {
					return struct{}{}, err
				}
			}
		})
		vals, err := aio.Gather(ctx, jobs...)
		if err != nil {
			return err
		}
		for i, v := range vals {
			if want := crunch(work, i); v != want {
				t.Errorf("job %d = %d, want %d", i, v, want)
			}
		}
		_, err = ticker.Await(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if maxAwaiting != n {
		t.Errorf("at most %d tasks were awaiting their jobs at once, want all %d (a blocking wait would hold the loop: 1)", maxAwaiting, n)
	}
	rises := 0
	for i := 1; i < len(ticks); i++ {
		if ticks[i] < ticks[i-1] {
			t.Fatalf("completions seen by the ticker went down: %v", ticks)
		}
		if ticks[i] > ticks[i-1] {
			rises++
		}
	}
	if ticks[0] != 0 || ticks[len(ticks)-1] != n {
		t.Errorf("the ticker saw completions from %d to %d, want 0 to %d", ticks[0], ticks[len(ticks)-1], n)
	}
	if rises < n/(2*workers) {
		t.Errorf("the completions seen by the ticker rose %d times over %d ticks, want at least %d: the loop did not run while the batch was out", rises, len(ticks), n/(2*workers))
	}
	t.Logf("%d ticks, completions rose %d times", len(ticks), rises)
}

// Await from a plain goroutine (no loop) is Call.
func TestAwaitOffTheLoopIsCall(t *testing.T) {
	pool := newPool(t)
	v, err := Square.Await(context.Background(), pool, 9)
	if v != 81 || err != nil {
		t.Fatalf("Await off the loop = %v, %v; want 81, nil", v, err)
	}
	if _, err := (mp.Func[int, int]{}).Await(context.Background(), pool, 1); !errors.Is(err, mp.ErrUnregistered) {
		t.Errorf("Await of the zero Func = %v, want ErrUnregistered", err)
	}
}

func wantRefused(t *testing.T, what string, err error, call, instead string) {
	t.Helper()
	if !errors.Is(err, futures.ErrBlockingOnLoop) {
		t.Errorf("%s = %v, want an error matching futures.ErrBlockingOnLoop", what, err)
		return
	}
	if msg := err.Error(); !strings.Contains(msg, call) || !strings.Contains(msg, instead) {
		t.Errorf("%s: message %q does not name %q and %q", what, msg, call, instead)
	}
}

// In a task, mp's blocking calls return the sentinel at once; Await and
// aio.AwaitFuture on Submit's future are the awaitable forms; a closure
// given to aio.RunInExecutor with a process pool is refused clearly.
func TestBlockingCallsInTaskAreRefused(t *testing.T) {
	pool := newPool(t)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		_, err := Square.Call(ctx, pool, 3)
		wantRefused(t, "Func.Call in a task", err, "mp: Func.Call", "Func.Await(ctx, ex, arg)")

		n := 0
		for _, err := range Square.Map(ctx, pool, func(yield func(int) bool) { yield(1) }) {
			n++
			wantRefused(t, "Func.Map in a task", err, "mp: Func.Map", "Func.Await")
		}
		if n != 1 {
			t.Errorf("Func.Map in a task yielded %d pairs, want the refusal only", n)
		}
		if s := pool.Stats(); s.Started+s.Queued+s.InFlight+s.Completed != 0 {
			t.Errorf("refused calls reached the pool: %+v", s)
		}

		if v, err := Square.Await(ctx, pool, 4); v != 16 || err != nil {
			t.Errorf("Func.Await in a task = %v, %v; want 16, nil", v, err)
		}
		f, err := Square.Submit(ctx, pool, 5)
		if err != nil {
			return err
		}
		if v, err := aio.AwaitFuture(ctx, f); v != 25 || err != nil {
			t.Errorf("aio.AwaitFuture of Func.Submit in a task = %v, %v; want 25, nil", v, err)
		}
		// The future is done now: its Result is no block.
		if v, err := f.Result(ctx); v != 25 || err != nil {
			t.Errorf("Result of a done mp future in a task = %v, %v", v, err)
		}

		_, err = aio.RunInExecutor(ctx, pool, func(context.Context) (int, error) { return 1, nil })
		if !errors.Is(err, mp.ErrNotRemote) {
			t.Errorf("aio.RunInExecutor of a closure on a process pool = %v, want mp.ErrNotRemote", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Shutdown in a task: the pool shuts down, the wait is refused
// while a worker still runs a call.
func TestPoolShutdownWaitInTaskIsRefused(t *testing.T) {
	pool := newPool(t)
	g := gate{Ready: newFIFO(t, "ready"), Release: newFIFO(t, "release")}
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		f, err := Gate.Submit(ctx, pool, g)
		if err != nil {
			return err
		}
		if _, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) {
			readPIDs(t, g.Ready, 1)
			return struct{}{}, nil
		}); err != nil {
			return err
		}
		err = pool.Shutdown(ctx)
		wantRefused(t, "Pool.Shutdown in a task with a call running", err, "mp: Pool.Shutdown", "Done()")
		if _, err := Square.Submit(ctx, pool, 1); !errors.Is(err, futures.ErrShutdown) {
			t.Errorf("Submit after a refused Shutdown = %v, want ErrShutdown", err)
		}
		if _, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) {
			release(t, g.Release)
			return struct{}{}, nil
		}); err != nil {
			return err
		}
		if _, err := aio.AwaitFuture(ctx, f); err != nil {
			t.Errorf("the running call after a refused Shutdown: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Cancelling a task that awaits a call running in a worker ends the wait
// at once with the cancellation, and the pool kills that worker.
func TestAwaitCancelledInTaskKillsTheWorker(t *testing.T) {
	pool := newPool(t)
	fifo := newFIFO(t, "ready")
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return Block.Await(ctx, pool, fifo)
		})
		if _, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) {
			readPIDs(t, fifo, 1)
			return struct{}{}, nil
		}); err != nil {
			return err
		}
		task.Cancel()
		if _, err := task.Await(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Await of a cancelled task = %v, want context.Canceled", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The kill is the pool's; Shutdown (at cleanup) waits for the reaping.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pool.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if s := pool.Stats(); s.Killed != 1 {
		t.Errorf("workers killed = %d, want 1 (the one running the cancelled call)", s.Killed)
	}
}
