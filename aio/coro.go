package aio

import (
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
)

// coro is a stackful coroutine (made with iter.Pull) that runs tasks one
// after another: when its task ends, it waits in its loop's idle pool for
// the next one instead of exiting. Starting a task on an idle coroutine
// costs no goroutine creation and no allocation, which is most of the
// price of a short task. Only the loop resumes a coroutine, so no two of
// them ever run at once.
type coro struct {
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	g     uintptr
	task  *taskCore // the task it runs; nil while idle
	dead  bool      // its goroutine has ended
	// exiting: its task called runtime.Goexit; the coroutine handed
	// control back and waits for the loop to let the exit finish.
	exiting bool
}

// Idle coroutines kept per loop, at most. Each holds a goroutine and its
// stack (about 2.5 KB). After every garbage collection the pool is cut to
// what the loop's peak over the last two intervals could need (trimIdle),
// so the coroutines of a burst are given back within three collections of
// its end (the runtime collects at least every two minutes).
const maxIdleCoroutines = 1 << 17

// coroutine returns an idle coroutine of the loop, or a new one.
func (l *Loop) coroutine() *coro {
	if l.gcSeen != gcEpoch.Load() {
		l.trimIdle()
	}
	l.coroBusy++
	l.coroPeak = max(l.coroPeak, l.coroBusy)
	if n := len(l.idle); n > 0 {
		c := l.idle[n-1]
		l.idle[n-1] = nil
		l.idle = l.idle[:n-1]
		return c
	}
	c := &coro{}
	c.next, c.stop = iter.Pull(c.run)
	return c
}

// run is the body of the coroutine: tasks, one after another.
func (c *coro) run(yield func(struct{}) bool) {
	c.yield = yield
	c.g = getg()
	c.task.g.Store(c.g) // a new coroutine's first task learns its goroutine here
	for c.task != nil {
		l := c.task.loop
		c.task.impl.runBody()
		c.task = nil
		l.coroBusy--
		if l.closed.Load() || len(l.idle) >= maxIdleCoroutines {
			return
		}
		l.idle = append(l.idle, c)
		if !yield(struct{}{}) {
			return
		}
	}
}

// goexiting is called by a task's runBody when the task called
// runtime.Goexit (a test's t.FailNow, say), after the task has failed with
// an error saying so. Instead of letting the exit reach the loop's
// goroutine through iter.Pull, the coroutine hands control back, and the
// loop lets the exit finish on a goroutine of its own (finishExit).
func (c *coro) goexiting() {
	c.exiting = true
	c.task = nil
	c.yield(struct{}{})
}

// finishExit lets the Goexit of an exiting coroutine complete on a
// throwaway goroutine; the loop waits, so nothing of it runs beside the
// loop's code.
func (c *coro) finishExit() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.stop()
	}()
	<-done
	c.dead = true
}

// trimIdle cuts the idle pool after a garbage collection to what the
// peak of busy coroutines over the last two intervals between cuts could
// need beside the ones busy now (two, so that a collection in the middle
// of a fan-out does not take the coroutines its second half needs).
func (l *Loop) trimIdle() {
	l.gcSeen = gcEpoch.Load()
	n := len(l.idle)
	keep := min(n, max(l.coroPeak, l.coroPrevPeak)-l.coroBusy)
	l.coroPrevPeak, l.coroPeak = l.coroPeak, l.coroBusy
	for i := keep; i < n; i++ {
		c := l.idle[i]
		l.idle[i] = nil
		c.stop()
		c.dead = true
	}
	l.idle = l.idle[:keep]
	if cap(l.idle) > 1024 && keep < cap(l.idle)/4 {
		l.idle = append([]*coro(nil), l.idle...)
	}
}

// stopIdle ends every idle coroutine (at Close).
func (l *Loop) stopIdle() {
	for i, c := range l.idle {
		l.idle[i] = nil
		c.stop()
		c.dead = true
	}
	l.idle = nil
}

// gcEpoch counts garbage collections, as seen by a sentinel object whose
// cleanup re-arms itself.
var (
	gcEpoch      atomic.Uint64
	gcSentinelOn sync.Once
)

func armGCSentinel() {
	runtime.AddCleanup(new(int64), func(struct{}) {
		gcEpoch.Add(1)
		armGCSentinel()
	}, struct{}{})
}
