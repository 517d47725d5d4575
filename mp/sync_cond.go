package mp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
)

// Condition is Python's multiprocessing.Condition: processes wait on it,
// holding its lock, until another process notifies them.
//
//	c.Lock().Lock(ctx)
//	for !ready() {
//		c.Wait(ctx)
//	}
//	c.Lock().Unlock()
//
// As with every condition variable, check the predicate again after Wait
// returns (WaitFor does): a notification may reach a waiter that was just
// arriving.
type Condition struct {
	handle
	lock Lock
}

// Layout of a Condition's segment: its mutex, the notification sequence,
// the number of sleepers.
const (
	condMutex   = 0
	condSeq     = 4
	condWaiters = 8
)

// NewCondition creates a Condition with a lock of its own.
func NewCondition() (*Condition, error) {
	s, err := newSegment(kindCondition, 64)
	if err != nil {
		return nil, err
	}
	c := &Condition{handle: handle{seg: s}}
	c.lock = Lock{handle: &c.handle, off: condMutex}
	return c, nil
}

// Lock returns the condition's lock: hold it around Wait and Notify.
func (c *Condition) Lock() *Lock { return &c.lock }

// Wait releases the lock, sleeps until a Notify (or ctx ends), and takes
// the lock again before it returns, also when it returns ctx's error. The
// caller must hold the lock. A *HolderDiedError is returned, with the
// lock held, if the lock's holder died meanwhile.
func (c *Condition) Wait(ctx context.Context) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	mu, seqW := c.seg.u32(condMutex), c.seg.u32(condSeq)
	if atomic.LoadUint32(mu)&lockPidMask != uint32(myPid) {
		return errors.New("mp: Condition.Wait without holding its lock (Lock().Lock(ctx) first)")
	}
	seq := atomic.LoadUint32(seqW)
	atomic.AddUint32(c.seg.u32(condWaiters), 1)
	if err := mutexUnlock(mu); err != nil {
		return err
	}
	werr := awaitWord(ctx, seqW, nil, func() bool { return atomic.LoadUint32(seqW) != seq }, nil)
	atomic.AddUint32(c.seg.u32(condWaiters), ^uint32(0))
	if err := mutexLock(context.Background(), mu); err != nil {
		return err
	}
	return werr
}

// WaitFor waits until pred returns true (Python's wait_for), the lock
// held as for Wait.
func (c *Condition) WaitFor(ctx context.Context, pred func() bool) error {
	for !pred() {
		if err := c.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Notify wakes up to n waiters; NotifyAll wakes all. Call them holding the
// lock, as in Python.
func (c *Condition) Notify(n int) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	if n <= 0 {
		return nil
	}
	if atomic.LoadUint32(c.seg.u32(condWaiters)) != 0 {
		atomic.AddUint32(c.seg.u32(condSeq), 1)
		futexWake(c.seg.u32(condSeq), n)
	}
	return nil
}

// NotifyAll wakes every waiter.
func (c *Condition) NotifyAll() error { return c.Notify(math.MaxInt32) }

// Close releases this process's mapping.
func (c *Condition) Close() error { c.close(); return nil }

// MarshalBinary encodes the handle for another process.
func (c *Condition) MarshalBinary() ([]byte, error) { return c.marshal() }

// UnmarshalBinary maps the condition a handle names.
func (c *Condition) UnmarshalBinary(b []byte) error {
	if _, err := c.unmarshal(kindCondition, b, 0); err != nil {
		return err
	}
	c.lock = Lock{handle: &c.handle, off: condMutex}
	return nil
}

// ErrBrokenBarrier is returned by Barrier.Wait when the barrier was
// broken: a waiter's context ended, or Abort was called (Python's
// BrokenBarrierError).
var ErrBrokenBarrier = errors.New("mp: the barrier is broken (a waiter gave up, or Abort was called)")

// Barrier is Python's multiprocessing.Barrier: parties processes wait
// until all of them have arrived, then all go on; it can be used again.
type Barrier struct {
	handle
}

// Layout of a Barrier's segment.
const (
	barMutex   = 0
	barGen     = 4 // generation: futex of the waiters
	barCount   = 8
	barParties = 12
	barBroken  = 16
)

// NewBarrier creates a barrier for parties processes (or goroutines).
func NewBarrier(parties int) (*Barrier, error) {
	if parties < 1 || parties > math.MaxInt32 {
		return nil, fmt.Errorf("mp: NewBarrier(%d): parties must be at least 1", parties)
	}
	s, err := newSegment(kindBarrier, 64)
	if err != nil {
		return nil, err
	}
	atomic.StoreUint32(s.u32(barParties), uint32(parties))
	return &Barrier{handle{seg: s}}, nil
}

// Wait waits until parties callers are waiting, and returns this caller's
// arrival index (0 for the first... parties-1 for the last, which releases
// the others). If ctx ends first the barrier breaks: this and every other
// waiter, present and future, get ErrBrokenBarrier until Reset.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	if err := b.enter(); err != nil {
		return 0, err
	}
	defer b.leave()
	mu, genW := b.seg.u32(barMutex), b.seg.u32(barGen)
	if err := mutexLock(ctx, mu); err != nil {
		if _, died := err.(*HolderDiedError); !died {
			return 0, err
		}
	}
	if atomic.LoadUint32(b.seg.u32(barBroken)) != 0 {
		mutexUnlock(mu)
		return 0, ErrBrokenBarrier
	}
	gen := atomic.LoadUint32(genW)
	idx := atomic.AddUint32(b.seg.u32(barCount), 1) - 1
	if idx+1 == atomic.LoadUint32(b.seg.u32(barParties)) {
		atomic.StoreUint32(b.seg.u32(barCount), 0)
		atomic.AddUint32(genW, 1)
		mutexUnlock(mu)
		futexWake(genW, math.MaxInt32)
		return int(idx), nil
	}
	mutexUnlock(mu)
	err := awaitWord(ctx, genW, nil, func() bool { return atomic.LoadUint32(genW) != gen },
		func(ctx context.Context) error {
			if atomic.LoadUint32(b.seg.u32(barBroken)) != 0 {
				return ErrBrokenBarrier
			}
			if ctx.Err() != nil {
				b.Abort()
				return ErrBrokenBarrier
			}
			return nil
		})
	return int(idx), err
}

// Abort breaks the barrier: every waiter gets ErrBrokenBarrier.
func (b *Barrier) Abort() error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	atomic.StoreUint32(b.seg.u32(barBroken), 1)
	futexWake(b.seg.u32(barGen), math.MaxInt32)
	return nil
}

// Reset mends a broken barrier, for a new round with no one waiting.
func (b *Barrier) Reset() error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	mu := b.seg.u32(barMutex)
	_ = mutexLock(context.Background(), mu)
	atomic.StoreUint32(b.seg.u32(barCount), 0)
	atomic.StoreUint32(b.seg.u32(barBroken), 0)
	atomic.AddUint32(b.seg.u32(barGen), 1)
	mutexUnlock(mu)
	futexWake(b.seg.u32(barGen), math.MaxInt32)
	return nil
}

// Parties returns the number of callers the barrier waits for.
func (b *Barrier) Parties() int {
	if b.enter() != nil {
		return 0
	}
	defer b.leave()
	return int(atomic.LoadUint32(b.seg.u32(barParties)))
}

// Close releases this process's mapping.
func (b *Barrier) Close() error { b.close(); return nil }

// MarshalBinary encodes the handle for another process.
func (b *Barrier) MarshalBinary() ([]byte, error) { return b.marshal() }

// UnmarshalBinary maps the barrier a handle names.
func (b *Barrier) UnmarshalBinary(p []byte) error {
	_, err := b.unmarshal(kindBarrier, p, 0)
	return err
}
