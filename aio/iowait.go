package aio

import (
	"context"
	"time"
)

// funcCond is a parkCond made of two functions, for the waits that are
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
func (funcCond) abort(*taskCore) {}

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
// passes on the loop's clock: park for the I/O layer. With external set,
// the wait counts as work outside the loop, so that a virtual clock does
// not jump over the answer of a real socket or process.
//
// It returns nil when c is ready, ctx's error, os.ErrDeadlineExceeded,
// or errAbandoned when the loop closes.
func parkUntil(ctx context.Context, t *taskCore, deadline *time.Time, external bool, c parkCond) error {
	return park(ctx, t, c, parkOpts{deadline: deadline, external: external})
}
