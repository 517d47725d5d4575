package aio

import (
	"context"
	"strconv"
)

type barrierState uint8

const (
	barrierFilling barrierState = iota
	barrierDraining
	barrierResetting
	barrierBroken
)

var barrierStateNames = [...]string{"filling", "draining", "resetting", "broken"}

// Barrier makes a fixed number of tasks wait for each other
// (asyncio.Barrier): each calls Wait, and all of them resume once the
// last one arrives. The barrier can then be used again. Abort breaks it
// (every waiter, and every later Wait, fails with ErrBrokenBarrier) and
// Reset fails the current waiters with ErrBrokenBarrier and makes it
// usable again. Make it with NewBarrier. Its methods belong to the loop.
type Barrier struct {
	loop    loopRef
	parties int
	state   barrierState
	count   int // tasks inside Wait, past the entry
	q       waitq
}

// NewBarrier returns a barrier for parties tasks. It panics with
// ErrBarrierParties if parties < 1 (asyncio's ValueError).
func NewBarrier(parties int) *Barrier {
	if parties < 1 {
		panic(ErrBarrierParties)
	}
	return &Barrier{parties: parties}
}

// Wait suspends the task until parties tasks are waiting, then resumes
// them all and returns this task's arrival index, 0 to parties-1 (the
// last to arrive, which does not wait, gets parties-1). While the barrier
// is letting the previous round out (draining) or resetting, Wait first
// waits for that to end.
//
// Wait returns ErrBrokenBarrier if the barrier is broken or is reset or
// aborted while the task waits, and ctx's error if ctx is done first: the
// task then leaves the barrier, which stays usable (as in asyncio, unlike
// threading.Barrier). It waits only in a task of the barrier's loop (see
// Lock.Acquire).
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	if b.parties < 1 {
		return -1, ErrBarrierParties
	}
	// Who calls first: the barrier's state belongs to its loop.
	if err := b.loop.claim(ctx, "Barrier.Wait"); err != nil {
		return -1, err
	}
	var t *taskCore
	for b.state == barrierDraining || b.state == barrierResetting {
		if err := b.park(ctx, &t); err != nil {
			return -1, err
		}
	}
	if b.state == barrierBroken {
		return -1, ErrBrokenBarrier
	}
	if l := b.loop.get(); t == nil && l != nil && !onLoop(l) {
		return -1, offLoop(l, "Barrier.Wait")
	}
	index := b.count
	b.count++
	if index+1 == b.parties {
		b.state = barrierDraining
		b.q.wakeAll()
	} else {
		for b.state == barrierFilling {
			if err := b.park(ctx, &t); err != nil {
				b.exit()
				return -1, err
			}
		}
		if b.state == barrierBroken || b.state == barrierResetting {
			b.exit()
			return -1, ErrBrokenBarrier
		}
	}
	b.exit()
	return index, nil
}

// park waits for the next change of the barrier's state.
func (b *Barrier) park(ctx context.Context, tp **taskCore) error {
	if *tp == nil {
		t, err := waitCaller(&b.loop, ctx, "Barrier.Wait")
		if err != nil {
			return err
		}
		*tp = t
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	_, err := b.q.wait(ctx, *tp, false)
	return err
}

// exit is a task leaving Wait: the last one out ends the draining or
// resetting and lets blocked tasks in.
func (b *Barrier) exit() {
	b.count--
	if b.count == 0 {
		if b.state == barrierResetting || b.state == barrierDraining {
			b.state = barrierFilling
		}
		b.q.wakeAll()
	}
}

// Reset returns the barrier to its empty state: tasks waiting in it fail
// with ErrBrokenBarrier, and it is usable again once they have left (a
// broken barrier is repaired). In asyncio reset is a coroutine because it
// takes the barrier's internal lock; here it never needs to wait.
// Loop-only: it panics if called from a goroutine that does not run the
// barrier's loop.
func (b *Barrier) Reset() {
	mustOnLoop(b.loop.bindCaller(), "Barrier.Reset")
	if b.count > 0 {
		b.state = barrierResetting
	} else {
		b.state = barrierFilling
	}
	b.q.wakeAll()
}

// Abort breaks the barrier: tasks waiting in it and every later Wait fail
// with ErrBrokenBarrier until Reset. Loop-only (see Reset).
func (b *Barrier) Abort() {
	mustOnLoop(b.loop.bindCaller(), "Barrier.Abort")
	b.state = barrierBroken
	b.q.wakeAll()
}

// Parties returns the number of tasks the barrier waits for.
func (b *Barrier) Parties() int { return b.parties }

// Waiting returns the number of tasks waiting for the barrier to fill
// (asyncio's n_waiting): 0 while it drains, resets or is broken.
func (b *Barrier) Waiting() int {
	if b.state == barrierFilling {
		return b.count
	}
	return 0
}

// Broken reports whether the barrier is broken (aborted, not yet reset).
func (b *Barrier) Broken() bool { return b.state == barrierBroken }

// String describes the barrier as asyncio's repr does:
// "aio.Barrier[filling, waiters:2/5]".
func (b *Barrier) String() string {
	s := "aio.Barrier[" + barrierStateNames[b.state]
	if b.state != barrierBroken {
		s += ", waiters:" + strconv.Itoa(b.Waiting()) + "/" + strconv.Itoa(b.parties)
	}
	return s + "]"
}
