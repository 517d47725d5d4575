package mp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/internal/ring"
)

// Pool is a pool of worker processes: Python's ProcessPoolExecutor and
// multiprocessing.Pool, implementing futures.Executor. Submit calls of
// registered functions to it with Func.Submit and Func.Map; Execute refuses
// Go closures, which cannot cross a process boundary.
//
// Workers are this binary started again (see Main), on demand, up to
// MaxWorkers; each runs one task at a time. Unlike Python's pools:
//
//   - a worker that dies (a crash, os.Exit, kill -9, out of memory) fails
//     only the task it was running, with a *WorkerError naming its exit
//     code or signal and its last lines of stderr; a replacement starts and
//     the pool goes on (no BrokenProcessPool, no hang);
//   - a task whose context ends while it runs is stopped by killing its
//     worker (*KilledError), which no goroutine-based pool can do;
//   - workers never outlive the pool's process, even when it is killed
//     with SIGKILL: a worker exits when its task pipe closes;
//   - programs a task starts die with it: each worker leads a process
//     group, which the pool kills with the worker (see docs/PYTHON.md for
//     macOS and the BSDs);
//   - WithMemoryLimit holds while a task runs: a worker over it is killed
//     and its task fails with a *MemoryError.
//
// All methods are safe from any goroutine. A done callback of a future runs
// in the pool's goroutine that read the result: keep it short, and do not
// wait for the pool in it.
type Pool struct {
	cfg     config
	name    string
	exe     string // the executable, for argv[0] and messages
	exePath string // what to start: the running image itself where possible
	log     *slog.Logger

	mu          sync.Mutex
	queue       ring.Ring[poolJob] // accepted jobs not sent to a worker (may hold dropped ones)
	queued      int                // jobs in queue in stateQueued
	workers     []*worker          // started and not yet reaped
	nextID      uint64
	spawned     int
	shut        bool
	terminating bool
	broken      *futures.BrokenError
	startFails  int // consecutive workers that died before saying hello
	stats       Stats
	finished    chan struct{} // closed when shut down and every worker is gone
	finClosed   bool
}

// Stats counts what a pool did, for monitoring and tests.
type Stats struct {
	// Workers is the number of worker processes serving the pool now:
	// started and taking tasks. It never exceeds MaxWorkers.
	Workers int
	// Retiring is the number of worker processes on their way out, not
	// counted in Workers: replaced (max tasks reached, memory limit,
	// idle timeout) and finishing the tasks they were sent or exiting, or
	// dead and not yet reaped. Their replacements start at once, so for
	// a moment Workers+Retiring may exceed MaxWorkers (by at most
	// MaxWorkers): the operating system then has more worker processes
	// than MaxWorkers, but no more than MaxWorkers of them take tasks. (A
	// worker killed to stop a task whose context ended counts in Workers
	// until it is reaped: its replacement starts then.)
	Retiring int
	// Started counts the worker processes ever started.
	Started int
	// Crashed counts workers that died unexpectedly (crash, exit, signal).
	Crashed int
	// Killed counts workers the pool killed to stop a task whose context
	// ended, or because they passed the memory limit (WithMemoryLimit).
	Killed int
	// Recycled counts workers replaced on purpose: max tasks reached,
	// memory limit passed, idle timeout.
	Recycled int
	// Completed counts tasks that got an answer from a worker.
	Completed int
	// Retried counts tasks run again after their worker died.
	Retried int
	// Queued is the number of tasks waiting for a worker now.
	Queued int
	// InFlight is the number of tasks sent to workers and not answered
	// yet (running, or queued in a worker behind the running one).
	InFlight int
}

// Option configures NewPool.
type Option func(*config)

type config struct {
	maxWorkers int
	initFunc   string
	initArg    []byte
	initErr    error
	maxTasks   int
	memLimit   int64
	idle       time.Duration
	maxFrame   int
	stderr     io.Writer
	name       string
	logger     *slog.Logger
}

// WithMaxWorkers sets the number of worker processes (default
// runtime.NumCPU()). It panics if n < 1.
func WithMaxWorkers(n int) Option {
	if n < 1 {
		panic("mp: WithMaxWorkers needs n >= 1, got " + strconv.Itoa(n))
	}
	return func(c *config) { c.maxWorkers = n }
}

// WithInitializer makes every worker call f(arg) when it starts, before its
// first task (Python's initializer and initargs); f's result is dropped.
// If it fails (an error, a panic), the pool is broken, as in Python: queued
// and later tasks fail with a *futures.BrokenError that unwraps to the
// initializer's error.
func WithInitializer[A, R any](f Func[A, R], arg A) Option {
	return func(c *config) {
		if f.f == nil {
			c.initErr = fmt.Errorf("mp.WithInitializer: %w", errZeroFunc)
			return
		}
		p, err := encodeValue(f.f.rawA, arg)
		if err != nil {
			c.initErr = fmt.Errorf("mp.WithInitializer: %w the argument of %s: %v", ErrEncode, f.f.name, err)
			return
		}
		c.initFunc, c.initArg = f.f.name, p
	}
}

// WithMaxTasksPerWorker replaces a worker after it has run n tasks
// (Python's max_tasks_per_child), to bound leaks in long-running pools.
// The default, 0, keeps workers.
func WithMaxTasksPerWorker(n int) Option {
	return func(c *config) { c.maxTasks = n }
}

// WithMemoryLimit bounds the resident memory of each worker process to
// bytes, while a task runs as well as between tasks. On Linux the pool
// reads each worker's resident set size (/proc/PID/statm) every few
// milliseconds and kills a worker over the limit at once, whatever it is
// doing (a runaway allocation its garbage collector cannot stop
// included): the task it was running fails with a *MemoryError ("exceeded
// memory limit N MiB"), is not retried even if Idempotent, and a
// replacement takes the worker's place. Inside the worker, the Go
// runtime's soft memory limit (debug.SetMemoryLimit) is set to 7/8 of
// bytes, so that the garbage collector works to keep a task with garbage
// under the hard line. After each task, a worker over the limit (after
// returning freed memory to the system) is also replaced, its task having
// succeeded. Elsewhere (macOS, BSD) there is no sampling: only the
// runtime's soft limit and the check between tasks hold. The default, 0,
// sets no limit.
func WithMemoryLimit(bytes int64) Option {
	return func(c *config) { c.memLimit = bytes }
}

// WithIdleTimeout stops a worker that has had no task for d; a new one
// starts when work comes. The default, 0, keeps idle workers.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) { c.idle = d }
}

// WithMaxFrameBytes limits the size of one encoded argument or result
// (default DefaultMaxFrameBytes, 256 MiB). A larger argument is refused at
// submit time; a larger result fails its task; a worker that sends a larger
// frame is killed. This bounds the memory a broken or hostile worker can
// make the pool allocate.
func WithMaxFrameBytes(n int) Option {
	return func(c *config) { c.maxFrame = n }
}

// WithStderr sets where the workers' standard error goes (default
// os.Stderr; nil or io.Discard drops it). The pool also keeps the last
// lines of each worker's stderr for the *WorkerError of a worker that dies.
// Workers share the parent's standard output.
func WithStderr(w io.Writer) Option {
	return func(c *config) {
		if w == nil {
			w = io.Discard
		}
		c.stderr = w
	}
}

// WithName names the pool in errors and logs (default "ProcessPool-<n>").
func WithName(name string) Option {
	return func(c *config) { c.name = name }
}

// WithLogger sets the logger for events that are no task's error: a worker
// replaced for its memory, an idle worker that died (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

var poolCounter atomic.Int64

// NewPool returns a process pool. No worker starts before the first task.
// It fails with ErrNoMain if the program did not call Main. Shut the pool
// down with Shutdown (or Terminate) when done with it.
func NewPool(opts ...Option) (*Pool, error) {
	if v, ok := os.LookupEnv(envWorker); ok && v != "" {
		return nil, errors.New("mp: this process was started as a pool worker but did not call mp.Main() first thing in main; it must not start pools of its own")
	}
	if !mainCalled.Load() {
		return nil, ErrNoMain
	}
	cfg := config{
		maxWorkers: runtime.NumCPU(),
		maxFrame:   DefaultMaxFrameBytes,
		stderr:     os.Stderr,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.initErr != nil {
		return nil, cfg.initErr
	}
	if cfg.maxFrame < 1 || cfg.maxFrame > 1<<31-1-frameSlack {
		return nil, fmt.Errorf("mp: WithMaxFrameBytes(%d) out of range", cfg.maxFrame)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("mp: cannot find this program's executable to start workers: %w", err)
	}
	p := &Pool{cfg: cfg, exe: exe, exePath: selfExe(exe), name: cfg.name, log: cfg.logger, finished: make(chan struct{})}
	if p.name == "" {
		p.name = "ProcessPool-" + strconv.FormatInt(poolCounter.Add(1)-1, 10)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p, nil
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// String returns the pool's name.
func (p *Pool) String() string { return p.name }

// MaxWorkers returns the largest number of worker processes.
func (p *Pool) MaxWorkers() int { return p.cfg.maxWorkers }

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Queued = p.queued
	for _, w := range p.workers {
		if w.accepting && !w.dead {
			s.Workers++
		} else {
			s.Retiring++
		}
		s.InFlight += w.inflight.Len()
	}
	return s
}

// PIDs returns the process ids of the workers alive now.
func (p *Pool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, w := range p.workers {
		if w.proc != nil && !w.dead {
			pids = append(pids, w.proc.Pid)
		}
	}
	return pids
}

func (p *Pool) checkFinishedLocked() {
	if p.shut && !p.finClosed && len(p.workers) == 0 && p.queued == 0 {
		p.finClosed = true
		close(p.finished)
	}
}

// Shutdown stops accepting work and waits until every accepted task,
// queued or running, is done and every worker process has exited and been
// reaped (Python's executor.shutdown(wait=True)). If ctx ends first, it
// returns ctx's error and the work goes on (Close cancels what is still
// queued; Terminate kills the workers). Workers exit as soon as they have
// nothing left to do. Shutdown may be called again, and after Close. In a
// task or a callback of a running aio event loop, a Shutdown that would
// wait shuts the pool down but returns a *futures.BlockingError matching
// futures.ErrBlockingOnLoop instead of stopping the loop.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.stop(false)
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case <-p.finished:
		return nil
	default:
		if err := refuseOnLoop("mp: Pool.Shutdown", insteadShutdown); err != nil {
			return err
		}
	}
	select {
	case <-p.finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting work and cancels the tasks not yet sent to a
// worker (their futures end Cancelled); running tasks run to their end and
// the workers exit after them (Python's executor.shutdown(wait=False,
// cancel_futures=True)). Close does not wait: Shutdown, or Done, does;
// Terminate kills the workers instead. Close may be called again, and
// after Shutdown; it returns nil.
func (p *Pool) Close() error {
	p.stop(true)
	return nil
}

// stop shuts the pool down and, with cancel, cancels the queued tasks.
func (p *Pool) stop(cancel bool) {
	p.mu.Lock()
	p.shut = true
	var jobs []poolJob
	if cancel {
		jobs = p.takeQueuedLocked()
	}
	for _, w := range p.workers {
		w.signalLocked()
	}
	p.checkFinishedLocked()
	p.mu.Unlock()
	cancelJobs(jobs)
}

// Terminate stops the pool at once (Python's Pool.terminate): queued tasks
// are cancelled, running ones fail with an error wrapping
// futures.ErrShutdown, every worker is killed. It returns when all of
// them are reaped.
func (p *Pool) Terminate() {
	p.mu.Lock()
	p.shut = true
	p.terminating = true
	cancel := p.takeQueuedLocked()
	for _, w := range p.workers {
		w.accepting = false
		w.killLocked()
		w.signalLocked()
	}
	p.checkFinishedLocked()
	p.mu.Unlock()
	cancelJobs(cancel)
	<-p.finished
}

// Done returns a channel closed when the pool is shut down and every worker
// has exited and been reaped.
func (p *Pool) Done() <-chan struct{} { return p.finished }
