package aio

// CheckTask returns nil when the calling goroutine is running a task of
// l, and otherwise an error saying where the call was made instead:
// matching ErrNotInTask from a plain goroutine, ErrInCallback from a
// callback of a loop, ErrOtherLoop from a task of another loop. what
// names the call in the message. A library built on aio calls it before
// a call that suspends the calling task, to refuse one made from the
// wrong place before touching anything.
func (l *Loop) CheckTask(what string) error {
	t, err := l.callerTask()
	if err != nil {
		return err
	}
	if t == nil {
		return errNotInTask(what)
	}
	return nil
}

// CheckOwner returns nil when the caller may use an object of l that
// does not suspend it: from l's goroutine (a task or a callback of l),
// or from any goroutine while l is not running. Otherwise it returns an
// error naming what, matching ErrNotInTask or ErrOtherLoop. A nil l (an
// object bound to no loop yet) is everyone's.
func (l *Loop) CheckOwner(what string) error {
	return loopCheck(l, what)
}
