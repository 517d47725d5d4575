package aio

import "context"

// enter is how an entry point that suspends the calling task starts: it
// finds, once, the loop of ctx and the task of that loop that is
// calling, and the code below gets them passed down instead of finding
// them again. The error is ErrNoLoop when ctx carries no loop, and
// otherwise says where the call was made instead: ErrInCallback,
// ErrOtherLoop, or one naming what that matches ErrNotInTask.
func enter(ctx context.Context, what string) (*Loop, *taskCore, error) {
	l := loopOf(ctx)
	if l == nil {
		return nil, nil, ErrNoLoop
	}
	t, err := l.enterTask(what)
	return l, t, err
}

// enterTask is enter for an object already bound to l.
func (l *Loop) enterTask(what string) (*taskCore, error) {
	t, err := l.callerTask()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errNotInTask(what)
	}
	return t, nil
}

// CheckTask returns nil when the calling goroutine is running a task of
// l, and otherwise an error saying where the call was made instead:
// matching ErrNotInTask from a plain goroutine, ErrInCallback from a
// callback of a loop, ErrOtherLoop from a task of another loop. what
// names the call in the message. A library built on aio calls it before
// a call that suspends the calling task, to refuse one made from the
// wrong place before touching anything.
func (l *Loop) CheckTask(what string) error {
	_, err := l.enterTask(what)
	return err
}

// CheckOwner returns nil when the caller may use an object of l that
// does not suspend it: from l's goroutine (a task or a callback of l),
// or from any goroutine while l is not running. Otherwise it returns an
// error naming what, matching ErrNotInTask or ErrOtherLoop. A nil l (an
// object bound to no loop yet) is everyone's.
func (l *Loop) CheckOwner(what string) error {
	return loopCheck(l, what)
}
