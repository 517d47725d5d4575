// Package droppedtask holds the cases of droppedtask.
package droppedtask

import (
	"context"

	"github.com/braid-go/braid/aio"
)

func work(ctx context.Context) (int, error) { return 1, nil }

// saved is a group kept past its body: adding to it later fails with
// ErrGroupFinished, and ignoring that loses the work silently.
var saved *aio.TaskGroup

func later() {
	saved.Go(func(ctx context.Context) error { return nil })     // want `the error of TaskGroup.Go is ignored: when the group no longer accepts tasks`
	_ = saved.Go(func(ctx context.Context) error { return nil }) // want `the error of TaskGroup.Go is ignored`
	t, _ := aio.GroupSpawn(saved, work)                          // want `the error of aio.GroupSpawn is ignored`
	_ = t
	if err := saved.Go(func(ctx context.Context) error { return nil }); err != nil {
		panic(err)
	}
}

func cases(ctx context.Context) error {
	aio.Spawn(ctx, work)         // want `the Task returned by aio.Spawn is dropped`
	_ = aio.Spawn(ctx, work)     // want `the Task returned by aio.Spawn is dropped`
	var _ = aio.Spawn(ctx, work) // want `the Task returned by aio.Spawn is dropped`

	t := aio.Spawn(ctx, work) // kept and awaited: fine
	if _, err := t.Await(ctx); err != nil {
		return err
	}
	t.Await(ctx)         // want `the error of Task.Await is ignored`
	v, _ := t.Await(ctx) // want `the error of Task.Await is ignored`
	_ = v
	tasks := []*aio.Task[int]{aio.Spawn(ctx, work)} // stored: fine
	if _, err := aio.Gather(ctx, tasks...); err != nil {
		return err
	}
	aio.Spawn(ctx, work).Cancel() // used: fine

	fut := aio.NewFuture[int](ctx)
	fut.Await(ctx) // want `the error of Future.Await is ignored`

	return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
		// Inside the group's body the error can be ignored: Go fails only
		// when the group is already failing, and Group returns that.
		g.Go(func(ctx context.Context) error { return nil })
		_ = g.Go(func(ctx context.Context) error { return nil })
		t2, _ := aio.GroupSpawn(g, work)
		_ = t2
		saved = g
		if _, err := aio.GroupSpawn(g, work); err != nil { // the group awaits its tasks: dropping one is fine
			return err
		}
		return nil
	})
}

func more(ctx context.Context) {
	a, b := aio.Spawn(ctx, work), aio.Spawn(ctx, work)
	vals, _ := aio.Gather(ctx, a, b) // want `the error of aio.Gather is ignored`
	_ = vals
	aio.WaitFor(ctx, 0, a)                                                           // want `the error of aio.WaitFor is ignored`
	defer b.Await(ctx)                                                               // want `the error of Task.Await is ignored`
	aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error { return nil }) // want `the error of aio.Group is ignored: the errors of the group's tasks are lost`
	if _, err := aio.Shield(ctx, work); err != nil {
		return
	}
}
