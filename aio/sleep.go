package aio

import (
	"context"
	"time"
)

// Sleep suspends the calling task for d on its loop's clock, or until ctx
// is done, whichever comes first; it returns ctx's error in the second
// case. Sleep(ctx, 0) yields exactly one iteration of the loop to the
// other callbacks and tasks (asyncio.sleep(0)).
//
// In a goroutine that is not a task, Sleep blocks the goroutine for d on
// the loop's clock (the loop must be running). In a loop callback it
// returns ErrInCallback.
func Sleep(ctx context.Context, d time.Duration) error {
	l := loopOf(ctx)
	if l == nil {
		return ErrNoLoop
	}
	t, err := l.callerTask()
	if err != nil {
		return err
	}
	if t == nil {
		return sleepFromGoroutine(ctx, l, d)
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if d <= 0 {
		t.scheduled = true
		l.ready.Push(readyItem{task: t})
		if !t.park() {
			return errAbandoned
		}
		return ctxErr(ctx)
	}
	l.startTaskTimer(t, d)
	return park(ctx, t, (*sleepWait)(t), parkOpts{checked: true})
}

// sleepWait is a sleeping task as its own parkCond: the wait is over when
// its timer has fired.
type sleepWait taskCore

func (s *sleepWait) ready() bool        { return s.timerSeq == 0 }
func (s *sleepWait) register(*taskCore) {}
func (s *sleepWait) abort(t *taskCore)  { t.loop.stopTaskTimer(t) }

func sleepFromGoroutine(ctx context.Context, l *Loop, d time.Duration) error {
	ch := make(chan struct{})
	if err := l.CallSoonThreadsafe(func() { l.CallLater(d, func() { close(ch) }) }); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
