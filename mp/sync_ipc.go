package mp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/internal/loopthread"
)

// The cross-process mutex is one 32-bit word of shared memory: 0 when
// free, else the holder's pid, with lockWaiters set while processes may
// sleep on it (a futex). A waiter wakes at least every livenessEvery to
// check that the holder still runs; a dead holder's lock is taken over by
// the waiter, which is told so with a *HolderDiedError. (Linux's robust
// futex lists are owned by the C library's threads and cannot be used from
// Go.) The check reads /proc/<pid>: a pid reused by another process within
// that interval would hide the death until that process exits too.

const (
	lockWaiters   = 1 << 30
	lockPidMask   = lockWaiters - 1
	livenessEvery = 100 * time.Millisecond
)

// wakeOnDone wakes every waiter on w when ctx ends, so that a blocked wait
// sees the cancellation at once; the returned stop ends the watch. A wake
// after the mapping is gone is harmless (the futex call fails with EFAULT).
func wakeOnDone(ctx context.Context, w *uint32) (stop func() bool) {
	if ctx.Done() == nil {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, func() { futexWake(w, math.MaxInt32) })
}

// mutexTry takes the free mutex w.
func mutexTry(w *uint32) bool { return atomic.CompareAndSwapUint32(w, 0, uint32(myPid)) }

// mutexLock takes the mutex w, waiting while another process (or goroutine)
// holds it, until ctx ends. The free case is inlined into the caller.
func mutexLock(ctx context.Context, w *uint32) error {
	if mutexTry(w) {
		return nil
	}
	return mutexLockSlow(ctx, w)
}

// mutexLockSlow is mutexLock's wait for a held mutex.
func mutexLockSlow(ctx context.Context, w *uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := wakeOnDone(ctx, w)
	defer stop()
	me := uint32(myPid) | lockWaiters // once we waited, others may be waiting too
	var lastOwner uint32
	lastCheck := time.Now()
	for spins := 0; ; spins++ {
		v := atomic.LoadUint32(w)
		if v == 0 {
			if atomic.CompareAndSwapUint32(w, 0, me) {
				return nil
			}
			continue
		}
		if spins < 64 {
			// A short spin: critical sections are often a few
			// instructions long, shorter than a futex sleep and wake.
			continue
		}
		if spins < 64+spinYields {
			// Then give the core away a few times: with more
			// processes than cores, the holder may be waiting for it.
			osYield()
			continue
		}
		if v&lockWaiters == 0 && !atomic.CompareAndSwapUint32(w, v, v|lockWaiters) {
			continue
		}
		futexWait(w, v|lockWaiters, livenessEvery)
		if err := ctx.Err(); err != nil {
			return err
		}
		owner := atomic.LoadUint32(w) & lockPidMask
		if owner == 0 {
			continue
		}
		if owner != lastOwner {
			lastOwner, lastCheck = owner, time.Now()
			continue
		}
		if time.Since(lastCheck) < livenessEvery {
			continue
		}
		lastCheck = time.Now()
		if !pidAlive(int(owner)) {
			cur := atomic.LoadUint32(w)
			if cur&lockPidMask == owner && atomic.CompareAndSwapUint32(w, cur, me) {
				return &HolderDiedError{PID: int(owner)}
			}
		}
	}
}

// mutexUnlock frees the mutex w; an error if it was not held.
func mutexUnlock(w *uint32) error {
	v := atomic.SwapUint32(w, 0)
	if v == 0 {
		return errors.New("mp: Unlock of an unlocked Lock")
	}
	if v&lockWaiters != 0 {
		futexWake(w, 1)
	}
	return nil
}

// awaitable runs a blocking call without blocking an event loop: in a
// task of an aio loop (ctx is the task's context) the call runs in a
// goroutine and only the task is suspended until it returns; elsewhere it
// runs in the caller. When ctx ends first, the call is cancelled and waited
// for (a few microseconds): if it completed anyway (an item taken, a lock
// acquired), its result is returned rather than lost.
func awaitable[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	if !loopthread.OnLoop() {
		return call(ctx)
	}
	fut := futures.NewFuture[T]()
	fut.SetRunning()
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		v, err := call(inner)
		fut.Complete(v, err)
	}()
	handled, err := loopthread.Await(ctx, fut)
	if !handled || err != nil {
		if err != nil {
			cancel()
		}
		<-fut.Done()
		v, ferr := fut.Result(context.Background())
		if ferr != nil && err != nil && handled {
			return v, err
		}
		return v, ferr
	}
	return fut.Result(context.Background())
}

// awaitWord waits until done reports true, or ctx ends (then ctx's
// error), sleeping on the futex word w: whoever makes done true changes w
// afterwards and wakes its sleepers. sleepers, if not nil, counts the
// waiters asleep, for a waker that wakes only when there are some. check,
// if not nil, is asked before ctx at each look and at least every
// livenessEvery while it waits (it is given the waiting goroutine's ctx);
// an error from it ends the wait with that error. In a task of an aio
// loop only the task waits.
func awaitWord(ctx context.Context, w, sleepers *uint32, done func() bool, check func(context.Context) error) error {
	var every time.Duration
	if check != nil {
		every = livenessEvery
	}
	_, err := awaitable(ctx, func(ctx context.Context) (struct{}, error) {
		stop := wakeOnDone(ctx, w)
		defer stop()
		for {
			// Read before looking at done: a change after the look
			// makes the futex wait return at once.
			v := atomic.LoadUint32(w)
			if done() {
				return struct{}{}, nil
			}
			if check != nil {
				if err := check(ctx); err != nil {
					return struct{}{}, err
				}
			}
			if err := ctx.Err(); err != nil {
				return struct{}{}, err
			}
			if sleepers != nil {
				atomic.AddUint32(sleepers, 1)
			}
			futexWait(w, v, every)
			if sleepers != nil {
				atomic.AddUint32(sleepers, ^uint32(0))
			}
		}
	})
	return err
}

// Lock is Python's multiprocessing.Lock: a mutex shared by processes. A
// process that dies holding it does not hang the others: the next Lock
// takes it over and returns a *HolderDiedError (within about 0.2 s of
// the death: a waiter looks at a holder it has seen for 0.1 s, every
// 0.1 s).
//
// Create it with NewLock and hand it to other processes as an argument of
// a registered function (run by a Process or a Pool); every copy names the
// same lock. It is not recursive, and any process may Unlock it (as
// Python's). Close releases this process's mapping.
type Lock struct {
	*handle
	off int
}

// NewLock creates a Lock.
func NewLock() (*Lock, error) {
	s, err := newSegment(kindLock, 64)
	if err != nil {
		return nil, err
	}
	return &Lock{handle: &handle{seg: s}}, nil
}

// Lock acquires the lock, waiting until it is free or ctx ends (Python's
// acquire(timeout=...) is a ctx with a deadline). It returns nil, ctx's
// error (the lock not taken), or a *HolderDiedError: the holder died, and
// the caller holds the lock now. In a task of an aio loop only the task
// waits.
func (l *Lock) Lock(ctx context.Context) error {
	if l.handle == nil {
		return errZeroLock
	}
	if ok, err := l.tryQuick(); ok || err != nil {
		return err
	}
	// The wait holds a reference: the mapping stays while it sleeps.
	if err := l.enter(); err != nil {
		return err
	}
	defer l.leave()
	w := l.seg.u32(l.off)
	_, err := awaitable(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, mutexLock(ctx, w)
	})
	return err
}

// tryQuick takes the lock if it is free, as a quick call. A Close that
// ran meanwhile makes it ErrHandleClosed, and the lock not taken: if the
// word it took was the shared one (another handle of this process keeps
// the mapping), it is released again; if it was the blank memory of a
// retired mapping, so is that, harmlessly.
func (l *Lock) tryQuick() (ok bool, err error) {
	if !l.quick() {
		return false, ErrHandleClosed
	}
	w := l.seg.u32(l.off)
	ok = mutexTry(w)
	if !l.quickDone() {
		if ok {
			_ = mutexUnlock(w)
		}
		return false, ErrHandleClosed
	}
	return ok, nil
}

// TryLock acquires the lock if it is free (Python's acquire(False)).
func (l *Lock) TryLock() bool {
	if l.handle == nil {
		return false
	}
	ok, _ := l.tryQuick()
	return ok
}

// Unlock releases the lock; an error if it was not locked.
func (l *Lock) Unlock() (err error) {
	if l.handle == nil {
		return errZeroLock
	}
	if !l.quick() {
		return ErrHandleClosed
	}
	err = mutexUnlock(l.seg.u32(l.off))
	if !l.quickDone() {
		return ErrHandleClosed // perhaps released, perhaps not
	}
	return err
}

// Close releases this process's mapping of the lock (other processes keep
// theirs); the lock itself is not released. The lock of a Value or an
// Array (their Lock method) is their handle's: closing it closes them.
func (l *Lock) Close() error {
	if l.handle != nil {
		l.close()
	}
	return nil
}

var errZeroLock = errors.New("mp: use of a zero Lock: create it with NewLock (or receive it as an argument)")

// MarshalBinary encodes the handle for another process (the codec calls it).
func (l *Lock) MarshalBinary() ([]byte, error) {
	if l.handle == nil {
		return nil, errZeroLock
	}
	return l.marshal(uint64(l.off))
}

// UnmarshalBinary maps the lock a handle names.
func (l *Lock) UnmarshalBinary(b []byte) error {
	if l.handle == nil {
		l.handle = &handle{}
	}
	x, err := l.unmarshal(0, b, 1)
	if err != nil {
		return err
	}
	l.off = int(x[0])
	if l.off < 0 || l.off+4 > len(l.seg.data()) {
		l.close()
		return fmt.Errorf("mp: lock offset %d outside its shared object", l.off)
	}
	return nil
}

// Semaphore is Python's multiprocessing.Semaphore: a counter shared by
// processes; Acquire waits while it is zero. (The count of a process that
// dies holding a unit is not given back, as in Python.)
type Semaphore struct {
	handle
}

// NewSemaphore creates a Semaphore with value units.
func NewSemaphore(value int) (*Semaphore, error) {
	if value < 0 || value > math.MaxInt32 {
		return nil, fmt.Errorf("mp: NewSemaphore(%d): the value must be between 0 and %d", value, math.MaxInt32)
	}
	s, err := newSegment(kindSemaphore, 64)
	if err != nil {
		return nil, err
	}
	atomic.StoreUint32(s.u32(0), uint32(value))
	return &Semaphore{handle{seg: s}}, nil
}

func (s *Semaphore) tryDown() bool {
	w := s.seg.u32(0)
	for {
		v := atomic.LoadUint32(w)
		if v == 0 {
			return false
		}
		if atomic.CompareAndSwapUint32(w, v, v-1) {
			return true
		}
	}
}

// Acquire takes a unit, waiting while there is none until ctx ends. In a
// task of an aio loop only the task waits.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if s.tryDown() {
		return nil
	}
	return awaitWord(ctx, s.seg.u32(0), s.seg.u32(4), s.tryDown, nil)
}

// TryAcquire takes a unit if there is one.
func (s *Semaphore) TryAcquire() bool {
	if s.enter() != nil {
		return false
	}
	defer s.leave()
	return s.tryDown()
}

// Release gives a unit back.
func (s *Semaphore) Release() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	atomic.AddUint32(s.seg.u32(0), 1)
	if atomic.LoadUint32(s.seg.u32(4)) != 0 {
		futexWake(s.seg.u32(0), 1)
	}
	return nil
}

// Value returns the current count (Python's get_value).
func (s *Semaphore) Value() int {
	if s.enter() != nil {
		return 0
	}
	defer s.leave()
	return int(atomic.LoadUint32(s.seg.u32(0)))
}

// Close releases this process's mapping of the semaphore.
func (s *Semaphore) Close() error { s.close(); return nil }

// MarshalBinary encodes the handle for another process.
func (s *Semaphore) MarshalBinary() ([]byte, error) { return s.marshal() }

// UnmarshalBinary maps the semaphore a handle names.
func (s *Semaphore) UnmarshalBinary(b []byte) error {
	_, err := s.unmarshal(kindSemaphore, b, 0)
	return err
}

// Event is Python's multiprocessing.Event: a flag shared by processes,
// which Wait waits for.
type Event struct {
	handle
}

// NewEvent creates an Event, not set.
func NewEvent() (*Event, error) {
	s, err := newSegment(kindEvent, 64)
	if err != nil {
		return nil, err
	}
	return &Event{handle{seg: s}}, nil
}

// Set sets the flag and wakes every waiter.
func (e *Event) Set() error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	atomic.StoreUint32(e.seg.u32(0), 1)
	futexWake(e.seg.u32(0), math.MaxInt32)
	return nil
}

// Clear resets the flag.
func (e *Event) Clear() error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	atomic.StoreUint32(e.seg.u32(0), 0)
	return nil
}

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool {
	if e.enter() != nil {
		return false
	}
	defer e.leave()
	return atomic.LoadUint32(e.seg.u32(0)) != 0
}

// Wait waits until the flag is set, or ctx ends (then ctx's error). In a
// task of an aio loop only the task waits.
func (e *Event) Wait(ctx context.Context) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	w := e.seg.u32(0)
	if atomic.LoadUint32(w) != 0 {
		return nil
	}
	return awaitWord(ctx, w, nil, func() bool { return atomic.LoadUint32(w) != 0 }, nil)
}

// Close releases this process's mapping of the event.
func (e *Event) Close() error { e.close(); return nil }

// MarshalBinary encodes the handle for another process.
func (e *Event) MarshalBinary() ([]byte, error) { return e.marshal() }

// UnmarshalBinary maps the event a handle names.
func (e *Event) UnmarshalBinary(b []byte) error {
	_, err := e.unmarshal(kindEvent, b, 0)
	return err
}

// RLock is Python's multiprocessing.RLock: a lock shared by processes
// that its owner may take again, and must release as many times.
//
// Python's owner is a thread of a process; Go has no thread identity
// that a goroutine keeps, so the owner here is the handle: the *RLock
// through which the lock was taken. Lock through the same handle while
// it holds the lock only counts one level more; Lock through any other
// handle (another process's, or another one of this process made with
// NewOwner) waits. Goroutines of one process that must exclude each
// other each use a handle of their own (NewOwner). A handle is one owner,
// as one Python thread is: use it from one goroutine at a time (the
// goroutines of a task handing work to each other, one running at a
// time, may share it); two goroutines locking and unlocking through one
// handle at once do not exclude each other and can lose a level of its
// count. A
// process that dies holding it is reported to the next Lock with a
// *HolderDiedError, as for Lock.
type RLock struct {
	handle
	token uint32 // this handle's owner identity within its process
}

// Layout of an RLock's segment: the mutex word (0 or holder pid, as
// Lock's), the owning handle's token, and the recursion depth; the last
// two are written only by the holder.
const (
	rlockMutex = 0
	rlockOwner = 4
	rlockDepth = 8
)

// newRLockToken returns a random owner identity: random, not counted,
// so that a token left in the lock by a process that died holding it is
// unlikely to be one of this process's.
func newRLockToken() uint32 {
	for {
		if t := rand.Uint32(); t != 0 {
			return t
		}
	}
}

// NewRLock creates an RLock.
func NewRLock() (*RLock, error) {
	s, err := newSegment(kindRLock, 64)
	if err != nil {
		return nil, err
	}
	return &RLock{handle: handle{seg: s}, token: newRLockToken()}, nil
}

// NewOwner returns another handle of the same lock in this process, with
// an owner identity of its own: for a goroutine that must wait while the
// lock is held through r. Close it when done.
func (r *RLock) NewOwner() (*RLock, error) {
	b, err := r.MarshalBinary()
	if err != nil {
		return nil, err
	}
	r2 := &RLock{}
	if err := r2.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return r2, nil
}

// owned reports whether this handle holds the lock.
func (r *RLock) owned() bool {
	return atomic.LoadUint32(r.seg.u32(rlockMutex))&lockPidMask == uint32(myPid) &&
		atomic.LoadUint32(r.seg.u32(rlockOwner)) == r.token
}

// errRLockDepth is returned by Lock and refused by TryLock past the
// deepest recursion the depth word counts.
var errRLockDepth = errors.New("mp: RLock taken 2^32-1 times by one owner without Unlock: its recursion depth cannot grow further")

// deeper takes one level more of the lock this handle holds.
func (r *RLock) deeper() error {
	d := r.seg.u32(rlockDepth)
	if atomic.LoadUint32(d) == math.MaxUint32 {
		return errRLockDepth
	}
	atomic.AddUint32(d, 1)
	return nil
}

// took records this handle as the owner of the lock it just took.
func (r *RLock) took() {
	atomic.StoreUint32(r.seg.u32(rlockOwner), r.token)
	atomic.StoreUint32(r.seg.u32(rlockDepth), 1)
}

// Lock takes the lock, or one level more of it if this handle holds it,
// waiting until it is free or ctx ends. It returns nil, ctx's error (not
// taken), or a *HolderDiedError: the holder died (whatever its depth),
// and the caller holds the lock now, at depth 1. In a task of an aio loop
// only the task waits.
func (r *RLock) Lock(ctx context.Context) error {
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	if r.owned() {
		return r.deeper()
	}
	w := r.seg.u32(rlockMutex)
	if mutexTry(w) {
		r.took()
		return nil
	}
	_, err := awaitable(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, mutexLock(ctx, w)
	})
	if _, died := err.(*HolderDiedError); err == nil || died {
		r.took()
	}
	return err
}

// TryLock takes the lock (or one level more, for its owner) if it can
// without waiting.
func (r *RLock) TryLock() bool {
	if r.enter() != nil {
		return false
	}
	defer r.leave()
	if r.owned() {
		return r.deeper() == nil // not past the deepest: the count would wrap to 0
	}
	if mutexTry(r.seg.u32(rlockMutex)) {
		r.took()
		return true
	}
	return false
}

// Unlock releases one level; the last frees the lock. An error if this
// handle does not hold it (Python's RuntimeError when another thread or
// process releases an RLock).
func (r *RLock) Unlock() error {
	if err := r.enter(); err != nil {
		return err
	}
	defer r.leave()
	if !r.owned() {
		return errors.New("mp: Unlock of an RLock that this handle does not hold (an RLock is released by its owner: the handle that took it)")
	}
	if atomic.AddUint32(r.seg.u32(rlockDepth), ^uint32(0)) != 0 {
		return nil
	}
	atomic.StoreUint32(r.seg.u32(rlockOwner), 0)
	return mutexUnlock(r.seg.u32(rlockMutex))
}

// Close releases this handle's mapping of the lock (the lock itself is
// not released).
func (r *RLock) Close() error { r.close(); return nil }

// MarshalBinary encodes the handle for another process.
func (r *RLock) MarshalBinary() ([]byte, error) { return r.marshal() }

// UnmarshalBinary maps the lock a handle names; the new handle is an
// owner of its own.
func (r *RLock) UnmarshalBinary(b []byte) error {
	if _, err := r.unmarshal(kindRLock, b, 0); err != nil {
		return err
	}
	r.token = newRLockToken()
	return nil
}
