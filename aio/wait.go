package aio

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/braid-go/braid/futures"
)

// ReturnWhen says when Wait returns. It is futures.ReturnWhen, shared with
// futures.Wait.
type ReturnWhen = futures.ReturnWhen

// The conditions of Wait, as asyncio's FIRST_COMPLETED, FIRST_EXCEPTION
// and ALL_COMPLETED.
const (
	AllCompleted   = futures.AllCompleted
	FirstCompleted = futures.FirstCompleted
	// FirstError returns when a future fails with an error that is not a
	// cancellation, or when all are done.
	FirstError = futures.FirstError
)

// Forever is the d of a WaitFor that waits without limit.
const Forever time.Duration = -1

// Wait waits for the futures or tasks of fs until the condition when
// holds, and returns the ones that are done and the ones still pending,
// each in the order of fs (asyncio.wait). Its timeout is ctx's: if ctx
// is done first (its deadline, see WithTimeout, or its cancellation) it
// returns the sets as they are and ctx's error, so a timeout is
// context.DeadlineExceeded with the sets (a ctx already done just looks).
// It cancels nothing, not even on timeout. An empty fs is an error
// (ErrEmpty). Wait belongs to a task of the loop.
func Wait[F Waitable](ctx context.Context, fs []F, when ReturnWhen) (done, pending []F, err error) {
	if len(fs) == 0 {
		return nil, nil, ErrEmpty
	}
	l := fs[0].core().loop
	t, err := l.enterTask("Wait")
	if err != nil {
		return nil, nil, err
	}
	m := &multiWait{t: t, loop: l}
	switch when {
	case AllCompleted:
	case FirstCompleted:
		m.wakeAny = true
	case FirstError:
		m.errMode = nonCancelError
	default:
		return nil, nil, fmt.Errorf("aio: Wait: invalid ReturnWhen %d; use AllCompleted, FirstCompleted or FirstError", when)
	}
	total := len(fs)
	if err := watchAll(m, fs); err != nil {
		return nil, nil, err
	}
	m.total = total
	err = waitMulti(ctx, t, m)
	m.closed = true
	for _, f := range fs {
		if f.Done() {
			done = append(done, f)
		} else {
			pending = append(pending, f)
		}
	}
	return done, pending, err
}

// AsCompleted yields the futures or tasks of fs as they complete, in
// completion order (asyncio.as_completed, yielding the originals). The
// ones already done come first, in the order of fs. If ctx is done before
// all are yielded (its deadline: see WithTimeout), the sequence yields
// one last pair (zero, ctx's error) and stops. Stopping the range early
// is fine. It cancels nothing. The sequence belongs to a task of the loop.
func AsCompleted[F Waitable](ctx context.Context, fs []F) iter.Seq2[F, error] {
	return func(yield func(F, error) bool) {
		var zero F
		if len(fs) == 0 {
			return
		}
		l := fs[0].core().loop
		t, err := l.enterTask("AsCompleted")
		if err != nil {
			yield(zero, err)
			return
		}
		byCore := make(map[*futureCore]F, len(fs))
		for _, f := range fs {
			byCore[f.core()] = f
		}
		m := &multiWait{t: t, loop: l, keepOrder: true, wakeAny: true}
		if err := watchAll(m, fs); err != nil {
			yield(zero, err)
			return
		}
		defer func() { m.closed = true }()
		for len(byCore) > 0 {
			for len(m.completed) > 0 {
				fc := m.completed[0]
				m.completed = m.completed[1:]
				f, ok := byCore[fc]
				if !ok {
					continue // a duplicate in fs
				}
				delete(byCore, fc)
				if !yield(f, nil) {
					return
				}
				if len(byCore) == 0 {
					return
				}
			}
			if err := waitMulti(ctx, t, m); err != nil {
				yield(zero, err)
				return
			}
		}
	}
}

// timeoutError is the error of WaitFor when its time runs out: Python's
// TimeoutError, matching context.DeadlineExceeded with errors.Is.
type timeoutError struct{}

func (timeoutError) Error() string        { return "aio: timed out" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// ErrTimeout is returned by WaitFor when the time runs out. It matches
// context.DeadlineExceeded with errors.Is.
var ErrTimeout error = timeoutError{}

// WaitFor waits for aw for at most d on the loop's clock
// (asyncio.wait_for); d == Forever waits without limit and d <= 0 gives
// aw no time beyond what it already had. On timeout it cancels aw, waits
// for it to finish, and returns ErrTimeout. If ctx is done first, aw is
// cancelled and waited for in the same way and ctx's error is returned.
// In both cases, if aw completed with a value in the meantime the value
// wins (as in Python 3.12), and if it failed with an error other than a
// cancellation, that error is returned. WaitFor belongs to a task of the
// loop.
func WaitFor[T any, F Awaitable[T]](ctx context.Context, d time.Duration, aw F) (T, error) {
	var zero T
	fc := aw.core()
	l := fc.loop
	t, err := l.enterTask("WaitFor")
	if err != nil {
		return zero, err
	}
	if fc.state != statePending {
		return aw.result()
	}
	if d > 0 {
		l.startTaskTimer(t, d)
	}
	m := &multiWait{t: t, loop: l, target: fc, expired: d != Forever && d <= 0, timed: d > 0}
	if err := watchAll(m, []F{aw}); err != nil {
		return zero, err
	}
	werr := waitMulti(ctx, t, m)
	m.closed = true
	l.stopTaskTimer(t)
	if fc.state != statePending {
		return aw.result()
	}
	// Out of time or cancelled: cancel the inner one and wait until it
	// has really finished, so that nothing of it outlives WaitFor.
	cancelAndDrain(t, []F{aw})
	v, err := aw.result()
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, context.Canceled) {
		return zero, err
	}
	if werr != nil {
		return zero, werr
	}
	return zero, ErrTimeout
}
