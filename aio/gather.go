package aio

import (
	"context"
	"errors"
)

// notifier receives the completion of futures it watches, synchronously
// on the loop, so that one waiter can watch many futures at O(1) each.
type notifier interface{ notify(f *futureCore) }

func (f *futureCore) addNotifier(n notifier) {
	f.cbs = append(f.cbs, doneCB{n: n})
}

// multiWait is the state of a wait on many futures by one task.
type multiWait struct {
	t         *taskCore
	loop      *Loop
	remaining int
	errMode   errMode
	firstErr  *futureCore // the first future that failed, per errMode
	wakeAny   bool        // wake on the first completion
	keepOrder bool        // record completion order (AsCompleted)
	completed []*futureCore
	closed    bool // the waiter is gone: only mark outcomes retrieved

	// What the waiter waits for, besides all done or the first error
	// (per errMode): with keepOrder, a completion to take; with wakeAny,
	// fewer than total pending; with target set, target done or expired;
	// with timed, the waiter's timer firing.
	total   int
	target  *futureCore
	expired bool
	timed   bool
}

// ready makes m the parkCond of its waiter.
func (m *multiWait) ready() bool {
	if m.timed && m.t.timerSeq == 0 {
		return true
	}
	switch {
	case m.keepOrder:
		return len(m.completed) > 0
	case m.target != nil:
		return m.expired || m.target.state != statePending
	case m.wakeAny && m.remaining < m.total:
		return true
	}
	return m.remaining == 0 || m.firstErr != nil
}

func (m *multiWait) register(*taskCore) {}
func (m *multiWait) abort(*taskCore)    {}

type errMode uint8

const (
	noErrors       errMode = iota
	anyError               // an error or a cancellation stops the wait (Gather)
	nonCancelError         // an error that is not a cancellation (FIRST_EXCEPTION)
)

func (m *multiWait) notify(f *futureCore) {
	if m.closed {
		if f.state == stateDone {
			f.retrieved()
		}
		return
	}
	m.remaining--
	if m.keepOrder {
		m.completed = append(m.completed, f)
	}
	wake := m.remaining == 0 || m.wakeAny
	if f.err != nil && m.firstErr == nil &&
		(m.errMode == anyError || (m.errMode == nonCancelError && f.state != stateCancelled)) {
		m.firstErr = f
		wake = true
	}
	if wake {
		m.loop.wake(m.t)
	}
}

// watchAll registers m on every future of fs that is pending and counts
// the ones that are. Every future must belong to m's loop.
func watchAll[F Waitable](m *multiWait, fs []F) error {
	for _, f := range fs {
		if f.core().loop != m.loop {
			return ErrOtherLoop
		}
	}
	// One backing array for the registrations of futures that have none
	// yet (the common case of a fan-out): one allocation instead of one
	// per future.
	var backing []doneCB
	for i, f := range fs {
		fc := f.core()
		if fc.state == statePending {
			m.remaining++
			if fc.cbs == nil && len(fs) > 1 {
				if backing == nil {
					backing = make([]doneCB, len(fs))
				}
				fc.cbs = backing[i : i : i+1]
			}
			fc.addNotifier(m)
		} else {
			m.remaining++
			m.notify(fc)
		}
	}
	return nil
}

// Gather waits for every future or task in fs and returns their values
// in the order of fs (asyncio.gather). The first error is returned as
// soon as it happens, and the other futures are not cancelled: they go on
// running. A cancelled child counts as an error matching context.Canceled.
//
// If ctx is done first, Gather cancels the children that are not done,
// waits for them to finish, and returns ctx's error, as cancelling
// asyncio.gather does. Gather belongs to a task of the loop.
func Gather[T any, F Awaitable[T]](ctx context.Context, fs ...F) ([]T, error) {
	out := make([]T, len(fs))
	if len(fs) == 0 {
		return out, nil
	}
	l := fs[0].core().loop
	t, err := l.enterTask("Gather")
	if err != nil {
		return nil, err
	}
	m := &multiWait{t: t, loop: l, errMode: anyError}
	if err := watchAll(m, fs); err != nil {
		return nil, err
	}
	if err := waitMulti(ctx, t, m); err != nil {
		m.closed = true
		cancelAndDrain(t, fs)
		return nil, err
	}
	m.closed = true
	if m.firstErr != nil {
		m.firstErr.retrieved()
		return nil, m.firstErr.err
	}
	for i, f := range fs {
		out[i], _ = f.result()
	}
	return out, nil
}

// GatherAll waits for every future or task in fs and returns every value
// and every error, both in the order of fs (asyncio.gather with
// return_exceptions=True). If ctx is done first, the children that are
// not done are cancelled and waited for; their errors then say so.
func GatherAll[T any, F Awaitable[T]](ctx context.Context, fs ...F) ([]T, []error) {
	vals := make([]T, len(fs))
	errs := make([]error, len(fs))
	if len(fs) == 0 {
		return vals, errs
	}
	l := fs[0].core().loop
	t, err := l.enterTask("GatherAll")
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return vals, errs
	}
	m := &multiWait{t: t, loop: l}
	if err := watchAll(m, fs); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return vals, errs
	}
	if err := waitMulti(ctx, t, m); err != nil {
		cancelAndDrain(t, fs)
	}
	m.closed = true
	for i, f := range fs {
		vals[i], errs[i] = f.result()
	}
	return vals, errs
}

// waitMulti parks t until m is ready or ctx is done. A wait already over
// when it starts is over whatever ctx says; after that, ctx first: when
// ctx is done by the time the waiter resumes, it wins over the futures
// that ended meanwhile (asyncio throws CancelledError into a task
// cancelled before it resumed). A deadline cancels the children under it
// in the same loop turn, so looking at the futures first would report
// their cancellations instead of the deadline.
func waitMulti(ctx context.Context, t *taskCore, m *multiWait) error {
	if m.ready() {
		return nil
	}
	return park(ctx, t, m, parkOpts{ctxFirst: true})
}

// cancelAndDrain cancels the futures of fs that are not done and waits,
// whatever happens to the waiter's context, until they are.
func cancelAndDrain[F Waitable](t *taskCore, fs []F) {
	m := &multiWait{t: t, loop: t.loop}
	for _, f := range fs {
		f.Cancel()
	}
	if watchAll(m, fs) != nil {
		return
	}
	if park(context.Background(), t, m, parkOpts{}) != nil {
		return // the loop abandoned the task
	}
	m.closed = true
}

// ErrEmpty is returned by Wait for an empty set of futures, as asyncio's
// wait raises ValueError.
var ErrEmpty = errors.New("aio: Wait needs at least one future")
