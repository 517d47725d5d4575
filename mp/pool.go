package mp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
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

// Execute accepts a job built by Func.Submit or Func.Map, or any other
// futures.RemoteJob whose Function is a registered name. It returns
// ErrNotRemote for a closure job, an error wrapping ErrUnregistered for an
// unknown function, one wrapping ErrEncode for an argument over the frame
// limit, futures.ErrShutdown after Shutdown, and the *futures.BrokenError
// of a broken pool.
func (p *Pool) Execute(job futures.Job) error {
	var pj poolJob
	switch j := job.(type) {
	case poolJob:
		pj = j
	case futures.RemoteJob:
		name := j.Function()
		batch := strings.HasSuffix(name, batchSuffix)
		name = strings.TrimSuffix(name, batchSuffix)
		if lookup(name) == nil {
			return fmt.Errorf("%w: %q; register it with mp.Register at package level", ErrUnregistered, name)
		}
		fj := &foreignJob{RemoteJob: j}
		fj.e.name, fj.e.batch, fj.e.payload, fj.e.foreign = name, batch, j.Payload(), true
		fj.e.items, fj.e.avg = 1, lookup(name).runStats()
		if fj.e.payload == nil {
			return fmt.Errorf("%w: job for %q has no payload", ErrEncode, name)
		}
		pj = fj
	case nil:
		return errors.New("mp: nil job")
	default:
		return ErrNotRemote
	}
	e := pj.ent()
	if e.payload == nil {
		return fmt.Errorf("%w: job for %q has no payload", ErrEncode, e.name)
	}
	if len(e.payload) > p.cfg.maxFrame {
		return fmt.Errorf("%w the argument of %s: %d bytes encoded, over the pool's frame limit of %d (mp.WithMaxFrameBytes)", ErrEncode, e.name, len(e.payload), p.cfg.maxFrame)
	}
	ctx := pj.Context()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken != nil {
		return p.broken
	}
	if p.shut {
		return futures.ErrShutdown
	}
	if e.state != stateNew {
		return errors.New("mp: job submitted twice")
	}
	if ctx != nil && ctx.Err() != nil {
		// Ended already: the job fails at once, without a worker.
		e.state = stateDone
		p.mu.Unlock()
		pj.Fail(context.Cause(ctx))
		p.mu.Lock()
		return nil
	}
	e.state = stateQueued
	p.queue.Push(pj)
	p.queued++
	if ctx != nil && ctx.Done() != nil {
		// Registered under p.mu: if ctx is already done, the callback
		// runs in its own goroutine and waits for p.mu.
		e.stop = context.AfterFunc(ctx, func() { p.contextDone(pj, ctx) })
	}
	p.dispatchLocked()
	return nil
}

// dispatchLocked wakes a worker that can take the queued work, and starts
// workers when those alive cannot take it all.
func (p *Pool) dispatchLocked() {
	p.wakeLocked()
	p.ensureWorkersLocked()
}

// wakeLocked wakes one waiting writer that can take queued work. Its
// waiting flag drops at once, so that the next call wakes another.
func (p *Pool) wakeLocked() {
	for _, w := range p.workers {
		if w.waiting && w.canTakeLocked() {
			w.signalLocked()
			return
		}
	}
}

// Pipelining: a worker is sent tasks ahead while the expected run time of
// what it has in flight stays under budgetNs, from the moving average of
// each function's run time (see runStats). That keeps the pipe full for
// trivial tasks and sends a long task only to a worker that is free, so
// that work never waits behind a long task while another worker idles. A
// function with no history counts as long.
const (
	budgetNs         = 200_000
	unknownNs        = 1_000_000
	taskOverheadNs   = 1_000
	maxDepth         = 128
	maxInflightBytes = 4 << 20
)

// expectedNs is the expected run time of a job.
func expectedNs(e *entry) int64 {
	avg := e.avg.Load()
	if avg == 0 {
		return unknownNs
	}
	return avg*int64(e.items) + taskOverheadNs
}

// headLocked returns the first job of the queue still queued, dropping the
// ones failed or cancelled meanwhile.
func (p *Pool) headLocked() (poolJob, bool) {
	for {
		j, ok := p.queue.Peek()
		if !ok {
			return nil, false
		}
		if j.ent().state == stateQueued {
			return j, true
		}
		p.queue.Pop()
	}
}

// freeLocked estimates how many more jobs like the queue's head the worker
// could take now.
func (w *worker) freeLocked(head poolJob) int {
	n := w.inflight.Len()
	if !w.accepting || w.dead || n >= maxDepth || (n > 0 && w.inflightBytes >= maxInflightBytes) {
		return 0
	}
	exp := expectedNs(head.ent())
	free := int((budgetNs - w.inflightNs) / exp)
	if n == 0 {
		free = max(free, 1)
	}
	return min(max(free, 0), maxDepth-n)
}

// ensureWorkersLocked starts workers while the queue holds more than the
// workers alive can take, up to MaxWorkers.
func (p *Pool) ensureWorkersLocked() {
	if p.terminating || p.broken != nil || p.queued == 0 {
		return
	}
	head, ok := p.headLocked()
	if !ok {
		return
	}
	for {
		accepting, free, live := 0, 0, 0
		for _, w := range p.workers {
			if w.dead {
				continue
			}
			live++
			if w.accepting {
				accepting++
				free += w.freeLocked(head)
			}
		}
		if accepting >= p.cfg.maxWorkers || live >= 2*p.cfg.maxWorkers || p.queued <= free {
			return
		}
		p.spawnLocked()
	}
}

func (p *Pool) spawnLocked() {
	w := &worker{
		p:          p,
		n:          p.spawned,
		accepting:  true,
		writerDone: make(chan struct{}),
		readerDone: make(chan struct{}),
		stderrDone: make(chan struct{}),
		exitCh:     make(chan struct{}),
	}
	w.cond.L = &p.mu
	p.spawned++
	p.stats.Started++
	p.workers = append(p.workers, w)
	go w.run()
}

// contextDone handles the end of a job's context: a queued job fails, a job
// queued in a worker is cancelled there, a running job's worker is killed.
func (p *Pool) contextDone(pj poolJob, ctx context.Context) {
	e := pj.ent()
	cause := context.Cause(ctx)
	p.mu.Lock()
	var err error
	switch e.state {
	case stateQueued:
		e.state = stateDone
		p.queued--
		err = cause
	case stateInflight:
		e.state = stateDone
		w := e.w
		if front, _ := w.inflight.Peek(); front == pj {
			// Running, or about to run (the worker may still be starting):
			// it fails all the same, and killing is the only sure stop.
			if !w.killedRunning {
				w.killedRunning = true
				p.stats.Killed++
				w.killLocked()
			}
			err = &KilledError{Function: e.name, PID: w.pid, Cause: cause}
		} else {
			// Queued in the worker: it drops the task, or exits if the
			// task started meanwhile.
			w.cancels = append(w.cancels, e.id)
			w.signalLocked()
			err = cause
		}
	default:
		p.mu.Unlock()
		return
	}
	p.checkFinishedLocked()
	p.mu.Unlock()
	pj.Fail(err)
}

// breakLocked marks the pool broken and returns the queued jobs to fail.
func (p *Pool) breakLocked(reason string, cause error) []poolJob {
	if p.broken == nil {
		p.broken = &futures.BrokenError{Executor: p.name, Reason: reason, Cause: cause}
	}
	for _, w := range p.workers {
		w.accepting = false
		w.signalLocked()
	}
	return p.takeQueuedLocked()
}

// cancelJobs cancels jobs taken off the queue (by takeQueuedLocked), as
// Close and Terminate do. Call it without p.mu.
func cancelJobs(jobs []poolJob) {
	for _, j := range jobs {
		stopWatch(j)
		futures.CancelJob(j)
	}
}

// takeQueuedLocked empties the queue and returns the jobs still queued.
func (p *Pool) takeQueuedLocked() []poolJob {
	var out []poolJob
	for _, j := range p.queue.Drain() {
		if e := j.ent(); e.state == stateQueued {
			e.state = stateDone
			out = append(out, j)
		}
	}
	p.queued = 0
	return out
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

func writeAll(f *os.File, b []byte) error {
	_, err := f.Write(b)
	return err
}

func stopWatch(j poolJob) {
	if e := j.ent(); e.stop != nil {
		e.stop()
	}
}

// worker is the parent's side of one worker process.
type worker struct {
	p    *Pool
	n    int
	cond sync.Cond // on p.mu: wakes the writer

	// Set before the goroutines start, read-only after.
	proc    *os.Process
	pid     int
	tasksW  *os.File
	resultR *os.File
	stderrR *os.File
	tail    tailBuffer

	// Guarded by p.mu.
	inflight      ring.Ring[poolJob]
	inflightBytes int
	inflightNs    int64 // expected run time of the tasks in flight
	sent          int
	cancels       []uint64
	dropped       []poolJob // jobs whose context ended, taken off the queue by takeLocked
	acks          int       // acks owed to the worker (statusAckBit)
	accepting     bool      // takes new tasks
	waiting       bool      // the writer waits on cond
	dead          bool      // the process was reaped
	hello         bool
	helloErr      *wireError
	retired       bool // said it exceeded its memory limit
	memKilled     bool // killed by the pool for passing its memory limit
	memRSS        int64
	exited        bool // the process has exited: kill it no more
	killedRunning bool // killed by the pool to stop its running task
	protoErr      error
	idleTimer     *time.Timer
	idleArmed     bool
	idleSince     time.Time

	exitState  *os.ProcessState
	startErr   error
	writerDone chan struct{}
	readerDone chan struct{}
	stderrDone chan struct{}
	exitCh     chan struct{} // closed when the process is reaped
}

// signalLocked wakes the worker's writer (its only waiter). waiting is true
// only while the writer is blocked, so that wakeLocked never counts a
// writer that is already awake.
func (w *worker) signalLocked() {
	w.waiting = false
	w.cond.Signal()
}

// canTakeLocked reports whether the writer should take queued jobs now.
// With tasks in flight it waits until half the budget and half the depth
// are free, so that tasks go in batches rather than one write each.
func (w *worker) canTakeLocked() bool {
	p := w.p
	if !w.accepting || w.dead || p.queued == 0 {
		return false
	}
	head, ok := p.headLocked()
	if !ok || w.freeLocked(head) == 0 {
		return false
	}
	n := w.inflight.Len()
	return n == 0 || (w.inflightNs <= budgetNs/2 && n <= maxDepth/2) || p.queued <= w.freeLocked(head)
}

// closeDueLocked reports whether the worker should be told to exit: it
// takes no more work and has none in flight.
func (w *worker) closeDueLocked() bool {
	p := w.p
	if w.inflight.Len() > 0 {
		return false
	}
	return !w.accepting || (p.shut && p.queued == 0)
}

// run starts the worker process and supervises it until it is reaped.
func (w *worker) run() {
	p := w.p
	// Pdeathsig (Linux) is tied to the thread that started the process:
	// this goroutine keeps its thread until the worker is reaped, and the
	// thread ends with it. The task pipe is the other guard: a worker exits
	// when it closes, which the kernel does when the parent dies.
	runtime.LockOSThread()
	if err := w.start(); err != nil {
		close(w.writerDone)
		close(w.readerDone)
		close(w.stderrDone)
		w.startErr = err
		p.mu.Lock()
		w.dead = true
		p.mu.Unlock()
		w.finish()
		return
	}
	p.mu.Lock()
	if p.terminating {
		w.killLocked()
	}
	p.mu.Unlock()
	go w.writeLoop()
	go w.readLoop()
	go w.stderrLoop()
	var memDone chan struct{}
	if p.cfg.memLimit > 0 {
		if path := statmPath(w.pid); path != "" {
			// Opened now, before the worker can be reaped: the file is
			// this process's for good.
			if f, err := os.Open(path); err == nil {
				memDone = make(chan struct{})
				go w.watchMemory(f, memDone)
			}
		}
	}
	if awaitExit(w.pid) {
		// The worker has exited and is not reaped: its process group id
		// is still its own. Kill what its tasks started and left running.
		p.mu.Lock()
		w.exited = true
		killGroup(w.pid)
		p.mu.Unlock()
	}
	st, err := w.proc.Wait()
	p.mu.Lock()
	w.exited = true
	p.mu.Unlock()
	close(w.exitCh)
	if memDone != nil {
		<-memDone
	}
	if err != nil {
		// Cannot happen for our own child; treat it as a death.
		w.startErr = err
	}
	w.exitState = st
	// A grandchild may hold the worker's stderr open: stop reading soon.
	_ = w.stderrR.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	<-w.readerDone
	<-w.stderrDone
	p.mu.Lock()
	w.dead = true
	w.signalLocked()
	p.mu.Unlock()
	<-w.writerDone
	w.finish()
}

// start creates the pipes and the process.
func (w *worker) start() (err error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			for _, f := range []*os.File{w.tasksW, w.resultR, w.stderrR} {
				if f != nil {
					f.Close()
				}
			}
		}
	}()
	tasksR, tasksW, err := os.Pipe()
	if err != nil {
		return err
	}
	files = append(files, tasksR)
	w.tasksW = tasksW
	resultR, resultW, err := os.Pipe()
	if err != nil {
		return err
	}
	files = append(files, resultW)
	w.resultR = resultR
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		return err
	}
	files = append(files, stderrW)
	w.stderrR = stderrR
	setPipeSize(tasksW, 1<<20)
	setPipeSize(resultW, 1<<20)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	files = append(files, devnull)
	attr := &os.ProcAttr{
		Env:   append(os.Environ(), envWorker+"="+protoVersion),
		Files: []*os.File{devnull, os.Stdout, stderrW, tasksR, resultW},
		Sys:   workerSysProcAttr(),
	}
	proc, err := os.StartProcess(w.p.exePath, []string{w.p.exe, workerArg}, attr)
	if err != nil {
		return fmt.Errorf("mp: starting a worker (%s): %w", w.p.exe, err)
	}
	w.p.mu.Lock()
	w.proc, w.pid = proc, proc.Pid
	w.p.mu.Unlock()
	return nil
}

// writeLoop sends the init frame, then tasks and cancellations, batching
// what is ready into one write. Closing the task pipe tells the worker to
// exit; the writer does that when the worker is to take no more work.
func (w *worker) writeLoop() {
	defer close(w.writerDone)
	defer w.tasksW.Close()
	p := w.p
	buf := make([]byte, 0, 64<<10)
	buf, off := beginFrame(buf, kindInit)
	initEnc, err := encMode.Marshal(&initMsg{MaxFrame: p.cfg.maxFrame, MemoryLimit: p.cfg.memLimit, InitFunc: p.cfg.initFunc, InitArg: p.cfg.initArg})
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	buf = append(buf, initEnc...)
	endFrame(buf, off, 0)
	if _, err := w.tasksW.Write(buf); err != nil {
		return
	}
	var batch []poolJob
	var cancels []uint64
	for {
		batch, cancels = batch[:0], cancels[:0]
		p.mu.Lock()
		for {
			if w.dead {
				p.mu.Unlock()
				return
			}
			if len(w.cancels) > 0 || w.acks > 0 || w.canTakeLocked() {
				break
			}
			if w.closeDueLocked() {
				p.mu.Unlock()
				// Say goodbye: the end of the pipe without it means to the
				// worker that this process died.
				buf, off = beginFrame(buf[:0], kindBye)
				endFrame(buf, off, 0)
				_, _ = w.tasksW.Write(buf)
				return
			}
			w.waiting = true
			w.cond.Wait()
		}
		cancels = append(cancels, w.cancels...)
		w.cancels = w.cancels[:0]
		acks := w.acks
		w.acks = 0
		batch = w.takeLocked(batch)
		dropped := w.dropped
		w.dropped = nil
		p.mu.Unlock()
		for _, j := range dropped {
			stopWatch(j)
			j.Fail(context.Cause(j.Context()))
		}

		buf = buf[:0]
		for ; acks > 0; acks-- {
			buf, off = beginFrame(buf, kindAck)
			endFrame(buf, off, 0)
		}
		for _, id := range cancels {
			buf, off = beginFrame(buf, kindCancel)
			buf = binary.AppendUvarint(buf, id)
			endFrame(buf, off, 0)
		}
		for _, j := range batch {
			e := j.ent()
			if len(buf) > 0 && len(buf)+len(e.payload) > 256<<10 {
				if _, err := w.tasksW.Write(buf); err != nil {
					return
				}
				buf = buf[:0]
			}
			kind := kindTask
			if e.batch {
				kind = kindBatch
			}
			buf, off = beginFrame(buf, kind)
			buf = binary.AppendUvarint(buf, e.id)
			var deadline int64
			if d, ok := j.Context().Deadline(); ok {
				deadline = d.UnixNano()
			}
			buf = binary.AppendVarint(buf, deadline)
			buf = binary.AppendUvarint(buf, uint64(len(e.name)))
			buf = append(buf, e.name...)
			if len(e.payload) >= bigFrame {
				endFrame(buf, off, len(e.payload))
				if _, err := w.tasksW.Write(buf); err != nil {
					return
				}
				write := writeBulk // the payload stays unmodified while the job lives
				if e.foreign {
					write = writeAll
				}
				if err := write(w.tasksW, e.payload); err != nil {
					return
				}
				buf = buf[:0]
				continue
			}
			buf = append(buf, e.payload...)
			endFrame(buf, off, 0)
		}
		if len(buf) > 0 {
			if _, err := w.tasksW.Write(buf); err != nil {
				return
			}
		}
		if cap(buf) > 1<<20 {
			buf = make([]byte, 0, 64<<10)
		}
	}
}

// takeLocked moves queued jobs to the worker while its budget allows.
func (w *worker) takeLocked(batch []poolJob) []poolJob {
	p := w.p
	for w.accepting {
		j, ok := p.headLocked()
		if !ok {
			break
		}
		e := j.ent()
		n := w.inflight.Len()
		exp := expectedNs(e)
		if n > 0 && (n >= maxDepth || w.inflightBytes >= maxInflightBytes || w.inflightNs+exp > budgetNs) {
			break
		}
		p.queue.Pop()
		p.queued--
		if ctx := j.Context(); ctx != nil && ctx.Err() != nil {
			// Its context ended and the pool has not yet heard: it fails
			// here (by the writer, outside the lock), costing no worker.
			e.state = stateDone
			w.dropped = append(w.dropped, j)
			continue
		}
		if !e.started {
			if !j.Start() {
				// Cancelled by its future's Cancel: drop it.
				e.state = stateDone
				if e.stop != nil {
					e.stop()
				}
				continue
			}
			e.started = true
		}
		p.nextID++
		e.id = p.nextID
		e.state = stateInflight
		e.w = w
		e.attempts++
		e.expNs = exp
		w.inflight.Push(j)
		w.inflightBytes += len(e.payload)
		w.inflightNs += exp
		w.sent++
		batch = append(batch, j)
		if p.cfg.maxTasks > 0 && w.sent >= p.cfg.maxTasks {
			// Recycle: this worker takes nothing more; start its
			// replacement now so that it is ready in time.
			w.accepting = false
			p.stats.Recycled++
		}
	}
	if p.queued > 0 {
		p.wakeLocked()
		p.ensureWorkersLocked()
	}
	p.checkFinishedLocked()
	return batch
}

// delivery is a result read from a worker, delivered outside the lock.
type delivery struct {
	j       poolJob
	status  byte
	payload []byte
	owned   bool
}

// readLoop reads the worker's frames and completes jobs. It ends at the
// end of the result pipe (the worker exited) or at a broken frame (then it
// kills the worker).
func (w *worker) readLoop() {
	defer close(w.readerDone)
	p := w.p
	fr := newFrameReader(w.resultR, p.cfg.maxFrame)
	var batch []delivery
	for {
		kind, body, owned, err := fr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				w.protocolError(err)
			}
			w.resultR.Close()
			return
		}
		batch = batch[:0]
		p.mu.Lock()
		for {
			batch, err = w.frameLocked(kind, body, owned, batch)
			if err != nil || !fr.buffered() {
				break
			}
			kind, body, owned, err = fr.next()
			if err != nil {
				break
			}
		}
		if w.inflight.Len() == 0 && p.cfg.idle > 0 && w.accepting {
			w.armIdleLocked()
		}
		if w.waiting && (len(w.cancels) > 0 || w.acks > 0 || w.canTakeLocked() || w.closeDueLocked()) {
			w.signalLocked()
		}
		p.mu.Unlock()
		for _, d := range batch {
			stopWatch(d.j)
			switch d.status {
			case statusOK:
				d.j.deliver(d.payload, d.owned, nil, w.pid)
			case statusError:
				var werr wireError
				if err := decMode.Unmarshal(d.payload, &werr); err != nil {
					werr = wireError{Kind: errPlain, Msg: fmt.Sprintf("%v: undecodable error from worker pid %d: %v", ErrProtocol, w.pid, err)}
				}
				d.j.deliver(nil, false, &werr, w.pid)
			}
		}
		if err != nil {
			w.protocolError(err)
			w.resultR.Close()
			return
		}
	}
}

// frameLocked handles one frame from the worker.
func (w *worker) frameLocked(kind byte, body []byte, owned bool, batch []delivery) ([]delivery, error) {
	p := w.p
	switch kind {
	case kindResult:
		r, err := parseResult(body)
		if err != nil {
			return batch, err
		}
		j, ok := w.inflight.Pop()
		if !ok || j.ent().id != r.id {
			return batch, fmt.Errorf("%w: result for task %d, expected another", ErrProtocol, r.id)
		}
		e := j.ent()
		w.inflightBytes -= len(e.payload)
		w.inflightNs -= e.expNs
		p.stats.Completed++
		if r.status&statusAckBit != 0 {
			r.status &^= statusAckBit
			w.acks++
		}
		if r.status == statusOK {
			// Moving average of the run time of one call (shared by every
			// pool: it is the function's).
			x := int64(r.runNs) / int64(e.items)
			if old := e.avg.Load(); old == 0 {
				e.avg.Store(max(x, 1))
			} else {
				e.avg.Store(max(old+(x-old)/8, 1))
			}
		}
		if e.state == stateInflight {
			e.state = stateDone
			e.w = nil
			if r.status == statusSkipped {
				// Only cancelled tasks are skipped, and those are done.
				return batch, fmt.Errorf("%w: task %d skipped but not cancelled", ErrProtocol, r.id)
			}
			batch = append(batch, delivery{j: j, status: r.status, payload: r.payload, owned: owned})
		}
		return batch, nil
	case kindHello:
		pid, rest, err := uvarint(body)
		if err != nil || len(rest) < 1 {
			return batch, fmt.Errorf("%w: bad hello", ErrProtocol)
		}
		if int(pid) != w.pid {
			return batch, fmt.Errorf("%w: hello from pid %d, started pid %d", ErrProtocol, pid, w.pid)
		}
		if rest[0] != statusOK {
			var werr wireError
			if err := decMode.Unmarshal(rest[1:], &werr); err != nil {
				werr = wireError{Kind: errPlain, Msg: "undecodable initializer error: " + err.Error()}
			}
			w.helloErr = &werr
			w.accepting = false
			return batch, nil
		}
		w.hello = true
		p.startFails = 0
		return batch, nil
	case kindRetire:
		rss, _, err := uvarint(body)
		if err != nil {
			return batch, err
		}
		w.retired = true
		if w.accepting {
			w.accepting = false
			p.stats.Recycled++
		}
		p.log.Info("mp: worker over its memory limit is replaced", "pool", p.name, "pid", w.pid, "rss_bytes", rss, "limit_bytes", p.cfg.memLimit)
		p.ensureWorkersLocked()
		return batch, nil
	}
	return batch, fmt.Errorf("%w: frame of unknown kind %d", ErrProtocol, kind)
}

// protocolError kills a worker that broke the protocol.
func (w *worker) protocolError(err error) {
	p := w.p
	p.mu.Lock()
	if w.protoErr == nil {
		w.protoErr = err
	}
	w.accepting = false
	w.killLocked()
	p.mu.Unlock()
}

// killLocked kills the worker and the programs its tasks started (its
// process group), unless it has exited already: then its pid, reaped or
// about to be, may name another process.
func (w *worker) killLocked() {
	if w.proc == nil || w.exited {
		return
	}
	killGroup(w.pid)
	_ = w.proc.Kill()
}

// memSampleEvery is how often the parent reads the resident memory of a
// worker, under a memory limit.
const memSampleEvery = 5 * time.Millisecond

// watchMemory samples the worker's resident memory from f (its statm) and
// kills it when it passes the pool's memory limit, whatever it is doing:
// a task that allocates without bound is stopped, and fails with a
// *MemoryError. It ends when the worker exits.
func (w *worker) watchMemory(f *os.File, done chan struct{}) {
	defer close(done)
	defer f.Close()
	p := w.p
	t := time.NewTicker(memSampleEvery)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-w.exitCh:
				return
			case <-t.C:
			}
		}
		rss, err := readResident(f)
		if err != nil {
			return // the worker is gone
		}
		if rss <= p.cfg.memLimit {
			continue
		}
		p.mu.Lock()
		if !w.exited && !w.memKilled {
			w.memKilled = true
			w.memRSS = rss
			w.accepting = false
			p.stats.Killed++
			w.killLocked()
		}
		p.mu.Unlock()
		return
	}
}

func (w *worker) armIdleLocked() {
	w.idleSince = time.Now()
	if w.idleArmed {
		return
	}
	w.idleArmed = true
	if w.idleTimer == nil {
		w.idleTimer = time.AfterFunc(w.p.cfg.idle, w.idleCheck)
	} else {
		w.idleTimer.Reset(w.p.cfg.idle)
	}
}

func (w *worker) idleCheck() {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	w.idleArmed = false
	if w.dead || !w.accepting || w.inflight.Len() > 0 {
		return
	}
	if left := p.cfg.idle - time.Since(w.idleSince); left > 0 {
		w.idleArmed = true
		w.idleTimer.Reset(left)
		return
	}
	w.accepting = false
	p.stats.Recycled++
	w.signalLocked()
}

// stderrLoop copies the worker's stderr to the pool's and keeps its tail.
func (w *worker) stderrLoop() {
	defer close(w.stderrDone)
	defer w.stderrR.Close()
	buf := make([]byte, 4096)
	for {
		n, err := w.stderrR.Read(buf)
		if n > 0 {
			w.tail.write(buf[:n])
			if w.p.cfg.stderr != io.Discard {
				_, _ = w.p.cfg.stderr.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

// finish runs once the worker process is reaped and its goroutines ended:
// it settles the jobs it had in flight and takes it out of the pool.
func (w *worker) finish() {
	p := w.p
	var fail []poolJob
	var failErr []error
	var logDeath, logMem bool
	p.mu.Lock()
	for i, x := range p.workers {
		if x == w {
			p.workers = append(p.workers[:i], p.workers[i+1:]...)
			break
		}
	}
	if w.idleTimer != nil {
		w.idleTimer.Stop()
	}
	jobs := w.inflight.Drain()
	w.inflightBytes, w.inflightNs = 0, 0
	var requeue []poolJob
	var broke []poolJob
	expected := w.retired || w.killedRunning || w.memKilled ||
		(w.exitState != nil && w.exitState.Success() && (len(jobs) == 0 || jobs[0].ent().state != stateInflight))
	switch {
	case p.terminating:
		for _, j := range jobs {
			if j.ent().state == stateInflight {
				fail = append(fail, j)
				failErr = append(failErr, errTerminated)
			}
		}
	case w.killedRunning:
		// Killed to stop a task that already failed: what is left in
		// flight never started.
		requeue = jobs
	case w.memKilled && !w.hello:
		// Over the limit before it was ready: a limit below what a
		// worker needs to start breaks the pool, as a worker that
		// cannot start does.
		requeue = jobs
		p.startFails++
		if p.startFails >= 3 {
			broke = p.breakLocked("workers pass the memory limit as they start", fmt.Errorf("mp: %d workers in a row passed the memory limit of %s MiB (mp.WithMemoryLimit) before they were ready (the last one at %.1f MiB resident): raise the limit", p.startFails, mib(p.cfg.memLimit), float64(w.memRSS)/(1<<20)))
		}
	case w.memKilled:
		// Killed over its memory limit: the task it was running fails
		// (not retried: it would pass the limit again); the rest never
		// started.
		if len(jobs) > 0 && jobs[0].ent().state == stateInflight {
			e := jobs[0].ent()
			fail = append(fail, jobs[0])
			failErr = append(failErr, &MemoryError{Function: e.name, PID: w.pid, Limit: p.cfg.memLimit, Resident: w.memRSS})
			requeue = jobs[1:]
		} else {
			logMem = true
			requeue = jobs
		}
	case w.helloErr != nil:
		requeue = jobs
		broke = p.breakLocked("worker initializer failed", w.helloErr.toError(p.cfg.initFunc, w.pid))
	case !w.hello:
		// Nothing ran: the worker could not start. A few failures in a
		// row mean it never will (a program without mp.Main, a missing
		// executable).
		requeue = jobs
		p.startFails++
		if p.startFails >= 3 {
			broke = p.breakLocked("workers cannot start", w.startCause())
		}
	case len(jobs) > 0 && jobs[0].ent().state == stateInflight && !expected:
		// The worker died running its oldest task: that task alone fails
		// (or runs again if its function is idempotent).
		p.stats.Crashed++
		first := jobs[0]
		e := first.ent()
		if e.retries > 0 && first.Context().Err() == nil {
			e.retries--
			p.stats.Retried++
			requeue = jobs
		} else {
			fail = append(fail, first)
			failErr = append(failErr, w.deathError(e))
			requeue = jobs[1:]
		}
	default:
		// Nothing was running, or the pool knows why it ended (memory
		// retirement, killed for a cancelled task, asked to exit): what
		// is left in flight never started.
		if !expected {
			p.stats.Crashed++
			logDeath = true
		}
		requeue = jobs
	}
	// Settle the jobs that failed here before requeueing (they leave the
	// inflight state under the lock).
	for _, j := range fail {
		j.ent().state = stateDone
		j.ent().w = nil
	}
	for i := len(requeue) - 1; i >= 0; i-- {
		j := requeue[i]
		e := j.ent()
		if e.state != stateInflight {
			continue
		}
		e.w = nil
		if p.terminating || p.broken != nil {
			e.state = stateDone
			fail = append(fail, j)
			if p.broken != nil {
				failErr = append(failErr, p.broken)
			} else {
				failErr = append(failErr, errTerminated)
			}
			continue
		}
		e.state = stateQueued
		p.queue.PushFront(j)
		p.queued++
	}
	p.dispatchLocked()
	for _, x := range p.workers {
		x.signalLocked()
	}
	p.checkFinishedLocked()
	brokenErr := p.broken
	p.mu.Unlock()

	for i, j := range fail {
		stopWatch(j)
		j.Fail(failErr[i])
	}
	for _, j := range broke {
		stopWatch(j)
		j.Fail(brokenErr)
	}
	if logMem {
		p.log.Info("mp: idle worker over its memory limit was killed and is replaced", "pool", p.name, "pid", w.pid, "rss_bytes", w.memRSS, "limit_bytes", p.cfg.memLimit)
	}
	if logDeath {
		p.log.Warn("mp: idle worker died", "pool", p.name, "pid", w.pid, "how", w.describeExit(), "stderr", w.tail.lines())
	}
}

// deathError describes the death of the worker running e.
func (w *worker) deathError(e *entry) error {
	we := &WorkerError{Function: e.name, PID: w.pid, ExitCode: -1, Stderr: w.tail.lines(), Attempts: e.attempts, Cause: w.protoErr}
	if w.exitState != nil {
		we.ExitCode = w.exitState.ExitCode()
		we.Signal = exitSignal(w.exitState)
	}
	return we
}

func (w *worker) describeExit() string {
	if w.exitState == nil {
		return "unknown"
	}
	return w.exitState.String()
}

// startCause is the error of a worker that never said hello.
func (w *worker) startCause() error {
	if w.startErr != nil {
		return w.startErr
	}
	msg := "the worker exited before it was ready (" + w.describeExit() + ")"
	if w.exitState != nil && w.exitState.ExitCode() == 2 {
		msg += "; does the program call mp.Main() first thing in main (and in TestMain)?"
	}
	if t := w.tail.lines(); t != "" {
		msg += "; last lines of its stderr:\n" + t
	}
	return errors.New(msg)
}
