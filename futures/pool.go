package futures

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/braid-go/braid/internal/ring"
)

// ThreadPool is the goroutine pool: Python's ThreadPoolExecutor without the
// GIL, so CPU-bound work runs in parallel on every core. It implements
// Executor; use it with Submit, Map, AsCompleted and Wait. All methods are
// safe from any goroutine.
//
// Workers are started on demand, one per submission until MaxWorkers run,
// and then live until Shutdown. A worker that is free takes the next job
// at once; jobs wait in a FIFO queue while every worker is busy. The queue
// is unbounded unless WithQueueSize sets a bound (then Execute blocks: see
// Execute).
//
// Worker goroutines carry pprof labels braid.executor=<pool name> and
// braid.worker=<pool name>_<n>, so goroutine profiles and debuggers show
// which pool runs what.
type ThreadPool struct {
	name       string
	maxWorkers int
	queueSize  int // 0: unbounded
	init       func(context.Context) error
	initCtx    context.Context
	initCancel context.CancelFunc

	// slots bounds the queue: a submitter that must queue a job first puts
	// a token in slots; the token leaves when the job leaves the queue.
	// nil when the queue is unbounded.
	slots chan struct{}

	mu         sync.Mutex
	queue      ring.Ring[Job]
	idle       []chan Job // parked workers, most recent last
	workers    int        // live worker goroutines
	started    int        // workers ever started, for names
	shut       bool
	broken     *BrokenError
	stopped    chan struct{} // closed at shutdown or when broken: wakes blocked submitters
	stopClosed bool
	terminated chan struct{} // closed when shut and no worker is left
}

// PoolOption configures NewThreadPool.
type PoolOption func(*ThreadPool)

// WithMaxWorkers sets the number of worker goroutines (default
// runtime.GOMAXPROCS(0), the right size for CPU-bound work; blocking I/O
// wants more). It panics if n < 1.
func WithMaxWorkers(n int) PoolOption {
	if n < 1 {
		panic("futures: WithMaxWorkers needs at least 1 worker, got " + strconv.Itoa(n))
	}
	return func(p *ThreadPool) { p.maxWorkers = n }
}

// WithQueueSize bounds the number of jobs waiting for a free worker (jobs
// being run do not count). When the queue is full, Execute and Submit block
// until there is room, the job's context ends, or the pool shuts down: that
// is the back-pressure. The default, 0, is an unbounded queue, as in
// Python. It panics if n < 0.
func WithQueueSize(n int) PoolOption {
	if n < 0 {
		panic("futures: WithQueueSize needs a size >= 0, got " + strconv.Itoa(n))
	}
	return func(p *ThreadPool) { p.queueSize = n }
}

// WithInitializer sets a function that each worker runs once when it starts,
// before its first job (Python's initializer). If it returns an error or
// panics, the pool is broken: the job that started the worker and every
// queued job fail with a *BrokenError (errors.Is(err, ErrBroken), unwrapping
// to the cause), later submissions are refused with it, and the other
// workers stop after their current job. Its context carries the worker's
// pprof labels and is cancelled by Close, and when Shutdown gives up
// waiting.
func WithInitializer(fn func(ctx context.Context) error) PoolOption {
	return func(p *ThreadPool) { p.init = fn }
}

// WithName names the pool for diagnostics: errors, logs, pprof labels and
// worker names (<name>_<n>). The default is "ThreadPool-<n>".
func WithName(name string) PoolOption {
	return func(p *ThreadPool) { p.name = name }
}

var poolCounter atomic.Int64

// NewThreadPool returns a running pool. No goroutine starts before the first
// submission. Shut it down with Shutdown when done with it.
func NewThreadPool(opts ...PoolOption) *ThreadPool {
	p := &ThreadPool{
		maxWorkers: runtime.GOMAXPROCS(0),
		stopped:    make(chan struct{}),
		terminated: make(chan struct{}),
	}
	for _, o := range opts {
		o(p)
	}
	if p.name == "" {
		p.name = "ThreadPool-" + strconv.FormatInt(poolCounter.Add(1)-1, 10)
	}
	if p.queueSize > 0 {
		p.slots = make(chan struct{}, p.queueSize)
	}
	p.initCtx, p.initCancel = context.WithCancel(context.Background())
	return p
}

// Name returns the pool's name.
func (p *ThreadPool) Name() string { return p.name }

// MaxWorkers returns the maximum number of worker goroutines. Map uses it to
// size its default window.
func (p *ThreadPool) MaxWorkers() int { return p.maxWorkers }

// String returns the pool's name and size, for logs.
func (p *ThreadPool) String() string {
	return fmt.Sprintf("ThreadPool(%q, max %d workers)", p.name, p.maxWorkers)
}

// PoolStats is a snapshot of a pool, for diagnostics and tests.
type PoolStats struct {
	Workers  int  // live worker goroutines
	Idle     int  // of them, waiting for work
	Queued   int  // jobs waiting for a worker
	Shutdown bool // Shutdown was called
	Broken   bool // an initializer failed
}

// Stats returns a snapshot of the pool's state.
func (p *ThreadPool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{
		Workers:  p.workers,
		Idle:     len(p.idle),
		Queued:   p.queue.Len(),
		Shutdown: p.shut,
		Broken:   p.broken != nil,
	}
}

// Execute accepts job: a free worker takes it at once, else it waits in the
// queue. It returns an error, without accepting the job, if the pool was
// shut down (ErrShutdown) or is broken (a *BrokenError).
//
// With a bounded queue (WithQueueSize) that is full, Execute blocks until
// there is room; it returns early, without accepting the job, when
// job.Context() ends (with the context's error) or the pool shuts down or
// breaks. Use TryExecute not to block. An accepted job is always run,
// cancelled or failed; never dropped. In a task or a callback of a running
// aio event loop, Execute on a full queue does not wait (that would stop
// the loop): it returns a *BlockingError matching ErrBlockingOnLoop.
func (p *ThreadPool) Execute(job Job) error { return p.execute(job, true) }

// TryExecute is Execute that never blocks: with a full bounded queue it
// returns ErrQueueFull.
func (p *ThreadPool) TryExecute(job Job) error { return p.execute(job, false) }

func (p *ThreadPool) execute(job Job, block bool) error {
	if job == nil {
		return errors.New("futures: Execute of a nil Job")
	}
	p.mu.Lock()
	if err := p.refusalLocked(); err != nil {
		p.mu.Unlock()
		return err
	}
	if p.dispatchLocked(job) {
		return nil
	}
	if p.slots == nil {
		p.queue.Push(job)
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()

	// Bounded queue: take a slot first, waiting for one if need be.
	select {
	case p.slots <- struct{}{}:
	default:
		if !block {
			return fmt.Errorf("futures: %s: %w (%d jobs waiting)", p.name, ErrQueueFull, p.queueSize)
		}
		if err := refuseOnLoop("futures: ThreadPool.Execute on a full queue", insteadRoom); err != nil {
			return err
		}
		ctx := job.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("futures: %s: gave up waiting for room in the full queue: %w", p.name, context.Cause(ctx))
		case <-p.stopped:
			p.mu.Lock()
			err := p.refusalLocked()
			p.mu.Unlock()
			return err
		}
	}
	p.mu.Lock()
	if err := p.refusalLocked(); err != nil {
		p.mu.Unlock()
		<-p.slots
		return err
	}
	if p.dispatchLocked(job) {
		<-p.slots
		return nil
	}
	p.queue.Push(job)
	p.mu.Unlock()
	return nil
}

// refusalLocked returns why the pool refuses work, or nil.
func (p *ThreadPool) refusalLocked() error {
	if p.broken != nil {
		return p.broken
	}
	if p.shut {
		return fmt.Errorf("futures: %s: %w", p.name, ErrShutdown)
	}
	return nil
}

// dispatchLocked hands job to an idle worker or to a new one and returns
// true, releasing p.mu; or returns false, still holding p.mu, when every
// worker is busy and the pool is at its size.
func (p *ThreadPool) dispatchLocked(job Job) bool {
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		ch <- job // buffered, and its worker waits on it: never blocks
		return true
	}
	if p.workers < p.maxWorkers {
		p.workers++
		id := p.started
		p.started++
		p.mu.Unlock()
		go p.worker(id, job)
		return true
	}
	return false
}

// worker is one worker goroutine. first is the job that started it (nil
// for a replacement worker).
func (p *ThreadPool) worker(id int, first Job) {
	name := p.name + "_" + strconv.Itoa(id)
	ctx := pprof.WithLabels(p.initCtx, pprof.Labels("braid.executor", p.name, "braid.worker", name))
	pprof.SetGoroutineLabels(ctx)

	if p.init != nil {
		if err := runInit(ctx, p.init); err != nil {
			p.breakPool(name, err, first)
			return
		}
	}
	ch := make(chan Job, 1)
	job := first
	for {
		if job != nil {
			p.runJob(job)
		}
		job = p.next(ch)
		if job == nil {
			return
		}
	}
}

func runInit(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(r)
		}
	}()
	return fn(ctx)
}

// runJob runs one job. A panic escaping Job.Run fails the job and the
// worker goes on. If the job calls runtime.Goexit, this goroutine cannot
// be saved: the job fails and a replacement worker takes its place.
func (p *ThreadPool) runJob(job Job) {
	normal := false
	defer func() {
		if normal {
			return
		}
		if r := recover(); r != nil {
			job.Fail(newPanicError(r))
			return
		}
		job.Fail(newPanicError("runtime.Goexit called by a task"))
		p.mu.Lock()
		id := p.started
		p.started++
		p.mu.Unlock()
		go p.worker(id, nil) // keeps this worker's place in p.workers
	}()
	if job.Start() {
		job.Run()
	}
	normal = true
}

// next returns the worker's next job, parking it while there is none, or
// nil when the worker must exit (shutdown or broken pool).
func (p *ThreadPool) next(ch chan Job) Job {
	p.mu.Lock()
	if job, ok := p.queue.Pop(); ok {
		p.mu.Unlock()
		if p.slots != nil {
			<-p.slots
		}
		return job
	}
	if p.shut || p.broken != nil {
		p.exitLocked()
		p.mu.Unlock()
		return nil
	}
	p.idle = append(p.idle, ch)
	p.mu.Unlock()
	if job, ok := <-ch; ok {
		return job
	}
	p.mu.Lock()
	p.exitLocked()
	p.mu.Unlock()
	return nil
}

// exitLocked accounts for a worker that exits.
func (p *ThreadPool) exitLocked() {
	p.workers--
	if p.shut && p.workers == 0 {
		close(p.terminated)
		p.initCancel()
	}
}

// stopLocked wakes blocked submitters and releases parked workers; it
// returns the parked workers' channels to close once p.mu is released.
func (p *ThreadPool) stopLocked() []chan Job {
	if !p.stopClosed {
		p.stopClosed = true
		close(p.stopped)
	}
	idle := p.idle
	p.idle = nil
	return idle
}

// breakPool marks the pool broken after worker name's initializer failed,
// fails first and every queued job, and ends the worker.
func (p *ThreadPool) breakPool(name string, cause error, first Job) {
	p.mu.Lock()
	if p.broken == nil {
		p.broken = &BrokenError{Executor: p.name, Reason: "initializer of worker " + name + " failed", Cause: cause}
	}
	broken := p.broken
	jobs := p.queue.Drain()
	idle := p.stopLocked()
	p.exitLocked()
	p.mu.Unlock()

	slog.Error("futures: worker initializer failed; the pool is broken", "pool", p.name, "worker", name, "error", cause)
	for _, ch := range idle {
		close(ch)
	}
	if first != nil {
		first.Fail(broken)
	}
	for _, j := range jobs {
		if p.slots != nil {
			<-p.slots
		}
		j.Fail(broken)
	}
}

// Shutdown stops the pool accepting work and waits until every accepted
// job, queued or running, is done and every worker has exited (Python's
// shutdown(wait=True)). If ctx ends first, Shutdown returns an error
// wrapping ctx's error and the work goes on; Close then cancels what is
// still queued. Submitters blocked on a full queue return ErrShutdown.
// Shutdown may be called again, and after Close.
//
// In a task or a callback of a running aio event loop, Shutdown still
// shuts the pool down, but if workers are still running it does not wait
// for them, which would stop the loop: it returns a *BlockingError
// matching ErrBlockingOnLoop.
func (p *ThreadPool) Shutdown(ctx context.Context) error {
	p.stop(false)
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case <-p.terminated:
		return nil
	default:
	}
	if err := refuseOnLoop("futures: ThreadPool.Shutdown", insteadPool); err != nil {
		return err
	}
	select {
	case <-p.terminated:
		return nil
	case <-ctx.Done():
		p.initCancel()
		return fmt.Errorf("futures: %s: shutdown stopped waiting for running work: %w", p.name, context.Cause(ctx))
	}
}

// Close stops the pool accepting work and cancels the jobs still in the
// queue (their futures end Cancelled); running jobs run to their end, and
// the workers exit after them (Python's shutdown(wait=False,
// cancel_futures=True)). Close does not wait: Shutdown, or Terminated,
// does. Submitters blocked on a full queue return ErrShutdown. Close may
// be called again, and after Shutdown; it returns nil.
func (p *ThreadPool) Close() error {
	p.stop(true)
	return nil
}

// stop shuts the pool down and, with cancel, cancels the queued jobs.
func (p *ThreadPool) stop(cancel bool) {
	p.mu.Lock()
	var idle []chan Job
	if !p.shut {
		p.shut = true
		idle = p.stopLocked()
		if p.workers == 0 {
			close(p.terminated)
			p.initCancel()
		}
	}
	var jobs []Job
	if cancel {
		jobs = p.queue.Drain()
		p.initCancel()
	}
	p.mu.Unlock()

	for _, ch := range idle {
		close(ch)
	}
	for _, j := range jobs {
		if p.slots != nil {
			<-p.slots
		}
		CancelJob(j)
	}
}

// Terminated returns a channel closed once the pool was shut down and every
// worker has exited.
func (p *ThreadPool) Terminated() <-chan struct{} { return p.terminated }
