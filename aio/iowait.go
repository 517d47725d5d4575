package aio

import (
	"context"
	"os"
	"time"
)

// waitCond is what a task in parkUntil waits for.
type waitCond interface {
	// ready reports whether the wait is over.
	ready() bool
	// register asks for a wake-up of t when ready may have changed.
	register(t *taskCore)
}

// funcCond is a waitCond made of two functions, for the waits that are
// not on a hot path.
type funcCond struct {
	done func() bool
	reg  func(t *taskCore)
}

func (c funcCond) ready() bool { return c.done() }
func (c funcCond) register(t *taskCore) {
	if c.reg != nil {
		c.reg(t)
	}
}

// externalGrace is how long, in real time, a wait on a socket or a pipe
// keeps a virtual clock from jumping. A peer outside the loop (another
// goroutine's server, a child process) answers within it, so its answer
// is not overtaken by a jump to a timeout; a peer that is silent, or that
// is a task of the same loop asleep on the virtual clock, does not hold
// the clock for ever.
const externalGraceTime = 100 * time.Millisecond

// externalGrace is one wait's hold on a virtual clock.
type externalGrace struct {
	l       *Loop
	counted bool
	timer   *time.Timer
}

func startGrace(l *Loop) *externalGrace {
	g := &externalGrace{l: l, counted: true}
	g.timer = time.AfterFunc(externalGraceTime, func() {
		_ = l.CallSoonThreadsafe(g.release)
	})
	return g
}

// release stops counting the wait as outside work (on the loop).
func (g *externalGrace) release() {
	if g.counted {
		g.counted = false
		g.l.external--
	}
}

// end is called on the loop when the wait is over.
func (g *externalGrace) end() {
	g.timer.Stop()
	g.release()
}

// parkUntil suspends the task t until c is ready, ctx is done, or the
// deadline *deadline (if deadline is not nil and *deadline not zero)
// passes on the loop's clock. The deadline is read again after every
// wake-up, so that a net.Conn's deadline can move while a call waits.
// c.register is called before every suspension (wake-ups may be
// spurious: c.ready is checked again after each). With external set, the
// wait counts as work outside the loop, so that a virtual clock does not
// jump over the answer of a real socket or process.
//
// It returns nil when c is ready, ctx's error, os.ErrDeadlineExceeded,
// or errAbandoned when the loop closes.
func parkUntil(ctx context.Context, t *taskCore, deadline *time.Time, external bool, c waitCond) error {
	if c.ready() {
		return nil
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	l := t.loop
	var armed time.Time // the deadline the task's timer is set for
	stop := t.watch(ctx)
	var grace *externalGrace
	if external {
		l.external++
		if l.virtual {
			grace = startGrace(l)
		}
	}
	var err error
	for !c.ready() {
		if err = ctxErr(ctx); err != nil {
			break
		}
		if deadline != nil && !deadline.IsZero() {
			if !deadline.Equal(armed) || t.timerSeq == 0 {
				d := deadline.Sub(l.Time())
				if d <= 0 {
					err = os.ErrDeadlineExceeded
					break
				}
				armed = *deadline
				l.startTaskTimer(t, d)
			}
		} else if !armed.IsZero() {
			armed = time.Time{}
			l.stopTaskTimer(t)
		}
		c.register(t)
		if !t.park() {
			err = errAbandoned
			break
		}
	}
	if external {
		if grace != nil {
			grace.end()
		} else {
			l.external--
		}
	}
	if !armed.IsZero() {
		l.stopTaskTimer(t)
	}
	if stop != nil {
		stop()
	}
	return err
}
