package mp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/braid-go/braid/futures"
)

// Dispatch: accepting jobs, queueing them, handing them to workers (with
// pipelining), starting workers, and taking jobs back from the queue.

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
		stopRunLocked(e)
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

// armRunLocked starts the run timeout (Func.WithRunTimeout) of the job the
// worker runs now: the head of its in-flight list, once the worker has
// started (its start-up and initializer do not count). It is called
// wherever the head can change: a job sent to an idle worker, a result
// read, the worker's hello. Each run is armed once (by its id): a job sent
// again after a worker death gets a new id and a new run timeout.
func (w *worker) armRunLocked() {
	if !w.hello {
		return
	}
	j, ok := w.inflight.Peek()
	if !ok {
		return
	}
	e := j.ent()
	if e.runTimeout <= 0 || e.state != stateInflight || e.runArmed == e.id {
		return
	}
	if e.runTimer != nil {
		e.runTimer.Stop()
	}
	id := e.id
	e.runArmed = id
	e.runTimer = time.AfterFunc(e.runTimeout, func() { w.p.runTimedOut(j, w, id) })
}

// stopRunLocked stops the run timer of a job whose run ended.
func stopRunLocked(e *entry) {
	if e.runTimer != nil {
		e.runTimer.Stop()
		e.runTimer = nil
	}
}

// runTimedOut handles the end of a run timeout: if the run it was armed
// for is still running, its worker is killed, as for a context's deadline,
// and the job fails with a *KilledError naming the run timeout.
func (p *Pool) runTimedOut(pj poolJob, w *worker, id uint64) {
	e := pj.ent()
	p.mu.Lock()
	if e.state != stateInflight || e.w != w || e.id != id {
		p.mu.Unlock()
		return
	}
	if front, _ := w.inflight.Peek(); front != pj {
		p.mu.Unlock()
		return
	}
	e.state = stateDone
	e.runTimer = nil
	if !w.killedRunning {
		w.killedRunning = true
		p.stats.Killed++
		w.killLocked()
	}
	err := &KilledError{Function: e.name, PID: w.pid, Cause: &runTimeoutError{e.runTimeout}}
	p.checkFinishedLocked()
	p.mu.Unlock()
	stopWatch(pj)
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

func stopWatch(j poolJob) {
	if e := j.ent(); e.stop != nil {
		e.stop()
	}
}
