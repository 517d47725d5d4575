package aio

import "context"

// Shield runs fn as a task that cancelling ctx does not cancel, and waits
// for it (asyncio.shield). If ctx is done first, Shield returns ctx's
// error at once and the task goes on to its end; its error, if nobody
// retrieves it, is logged as for any task. The task's context keeps ctx's
// values. Shield belongs to a task of the loop: elsewhere it starts
// nothing and returns an error matching ErrNotInTask (or ErrOtherLoop
// from a task of another loop).
func Shield[T any](ctx context.Context, fn func(context.Context) (T, error), opts ...SpawnOption) (T, error) {
	var zero T
	if _, _, err := enter(ctx, "Shield"); err != nil {
		return zero, err
	}
	inner := Spawn(context.WithoutCancel(ctx), fn, opts...)
	return inner.Await(ctx)
}
