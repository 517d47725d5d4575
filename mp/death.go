package mp

import (
	"errors"
	"fmt"
)

// What happens when a worker process ends: how its death is classified, and
// how the jobs it held are settled.

// deathFacts is what the pool knows about a worker process once it is
// reaped: the input of classifyDeath.
type deathFacts struct {
	terminating    bool // the pool is being terminated
	retired        bool // the pool asked it to exit (recycled, idle, shut down)
	killedRunning  bool // killed to stop a task whose context ended
	memKilled      bool // killed over the memory limit
	hello          bool // it said hello: it was ready
	initFailed     bool // its hello carried an initializer error
	exitedOK       bool // it exited with status 0
	oldestInflight bool // its oldest job in flight had been sent (the one it ran)
	retryable      bool // that job has retries left and its context is alive
}

// deathKind is how a worker's death is settled.
type deathKind int

const (
	// deathTerminated: the pool is terminating; every job in flight
	// fails with errTerminated.
	deathTerminated deathKind = iota
	// deathKilledForCancel: killed to stop a task that already failed;
	// what is left in flight never started and is queued again.
	deathKilledForCancel
	// deathMemAtStart: over the memory limit before it was ready; the
	// jobs are queued again and it counts as a worker that cannot start
	// (a limit below what a worker needs breaks the pool).
	deathMemAtStart
	// deathMemRunning: killed over its memory limit while running a
	// task: that task fails with a *MemoryError (not retried: it would
	// pass the limit again), the rest never started.
	deathMemRunning
	// deathMemIdle: killed over its memory limit with no task running;
	// logged, the jobs are queued again.
	deathMemIdle
	// deathInitFailed: its initializer failed; the pool breaks.
	deathInitFailed
	// deathNoStart: it died before it was ready; a few in a row mean it
	// never will (no mp.Main, a missing executable), and break the pool.
	deathNoStart
	// deathCrashRetry: it died running its oldest task, whose function
	// is idempotent with retries left: that task runs again.
	deathCrashRetry
	// deathCrashFail: it died running its oldest task: that task alone
	// fails with a *WorkerError.
	deathCrashFail
	// deathIdleCrash: it died unexpectedly with nothing running: counted
	// as a crash and logged, the jobs are queued again.
	deathIdleCrash
	// deathExpected: nothing ran, or the pool knows why it ended: what
	// is left in flight never started and is queued again.
	deathExpected
)

// classifyDeath says how the death of a worker with facts f is settled.
// It is a pure function: finish acts on its answer.
func classifyDeath(f deathFacts) deathKind {
	expected := f.retired || f.killedRunning || f.memKilled || (f.exitedOK && !f.oldestInflight)
	switch {
	case f.terminating:
		return deathTerminated
	case f.killedRunning:
		return deathKilledForCancel
	case f.memKilled && !f.hello:
		return deathMemAtStart
	case f.memKilled && f.oldestInflight:
		return deathMemRunning
	case f.memKilled:
		return deathMemIdle
	case f.initFailed:
		return deathInitFailed
	case !f.hello:
		return deathNoStart
	case f.oldestInflight && !expected && f.retryable:
		return deathCrashRetry
	case f.oldestInflight && !expected:
		return deathCrashFail
	case !expected:
		return deathIdleCrash
	}
	return deathExpected
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
	for _, j := range jobs {
		stopRunLocked(j.ent())
	}
	w.inflightBytes, w.inflightNs = 0, 0
	var requeue []poolJob
	var broke []poolJob
	facts := deathFacts{
		terminating:    p.terminating,
		retired:        w.retired,
		killedRunning:  w.killedRunning,
		memKilled:      w.memKilled,
		hello:          w.hello,
		initFailed:     w.helloErr != nil,
		exitedOK:       w.exitState != nil && w.exitState.Success(),
		oldestInflight: len(jobs) > 0 && jobs[0].ent().state == stateInflight,
	}
	if facts.oldestInflight {
		facts.retryable = jobs[0].ent().retries > 0 && jobs[0].Context().Err() == nil
	}
	switch classifyDeath(facts) {
	case deathTerminated:
		for _, j := range jobs {
			if j.ent().state == stateInflight {
				fail = append(fail, j)
				failErr = append(failErr, errTerminated)
			}
		}
	case deathMemAtStart:
		requeue = jobs
		p.startFails++
		if p.startFails >= 3 {
			broke = p.breakLocked("workers pass the memory limit as they start", fmt.Errorf("mp: %d workers in a row passed the memory limit of %s MiB (mp.WithMemoryLimit) before they were ready (the last one at %.1f MiB resident): raise the limit", p.startFails, mib(p.cfg.memLimit), float64(w.memRSS)/(1<<20)))
		}
	case deathMemRunning:
		e := jobs[0].ent()
		fail = append(fail, jobs[0])
		failErr = append(failErr, &MemoryError{Function: e.name, PID: w.pid, Limit: p.cfg.memLimit, Resident: w.memRSS})
		requeue = jobs[1:]
	case deathMemIdle:
		logMem = true
		requeue = jobs
	case deathInitFailed:
		requeue = jobs
		broke = p.breakLocked("worker initializer failed", w.helloErr.toError(p.cfg.initFunc, w.pid))
	case deathNoStart:
		requeue = jobs
		p.startFails++
		if p.startFails >= 3 {
			broke = p.breakLocked("workers cannot start", w.startCause())
		}
	case deathCrashRetry:
		p.stats.Crashed++
		jobs[0].ent().retries--
		p.stats.Retried++
		requeue = jobs
	case deathCrashFail:
		p.stats.Crashed++
		fail = append(fail, jobs[0])
		failErr = append(failErr, w.deathError(jobs[0].ent()))
		requeue = jobs[1:]
	case deathIdleCrash:
		p.stats.Crashed++
		logDeath = true
		requeue = jobs
	default: // deathKilledForCancel, deathExpected
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
