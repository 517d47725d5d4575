package mp

import (
	"errors"
	"fmt"
)

// What happens when a worker process ends: how its death is classified, and
// how the jobs it held are settled.

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
