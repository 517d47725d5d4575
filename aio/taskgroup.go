package aio

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// TaskGroup runs tasks that live and die together (asyncio.TaskGroup).
// When a child fails, its siblings and the group's body are cancelled;
// the group ends when the body and every child have ended. Create one
// with Group. Its methods belong to the loop.
type TaskGroup struct {
	ctx      *loopCtx
	parent   context.Context
	pending  int
	errs     []error
	aborting bool
	finished bool
	waiter   *taskCore
}

// Errors of task groups.
var (
	// ErrGroupFinished: spawning into a group that has ended.
	ErrGroupFinished = errors.New("aio: the task group has finished; spawn into a group only while its body or its children run")
	// ErrGroupShuttingDown: spawning into a group that is cancelling its
	// tasks after a failure.
	ErrGroupShuttingDown = errors.New("aio: the task group is shutting down after a failure; no new task is accepted")
)

// GroupError holds every error (other than cancellations) of a task
// group's children and body, in the order they happened. errors.Is and
// errors.As look into each of them.
type GroupError struct {
	Errs []error
}

// Error lists the group's errors.
func (e *GroupError) Error() string {
	if len(e.Errs) == 1 {
		return "aio: task group: " + e.Errs[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "aio: task group: %d errors:", len(e.Errs))
	for i, err := range e.Errs {
		fmt.Fprintf(&b, "\n  [%d] %v", i+1, err)
	}
	return b.String()
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (e *GroupError) Unwrap() []error { return e.Errs }

// Group runs body with a task group and waits, when body returns, until
// every task of the group has ended (asyncio's "async with TaskGroup()").
//
// body and the children receive the group's context, which is cancelled
// when a child or body fails with an error that is not a cancellation.
// Group returns nil if all succeeded; a *GroupError with every such error
// otherwise; and ctx's error if ctx was cancelled from outside and nothing
// failed. Group belongs to a task of the loop.
func Group(ctx context.Context, body func(ctx context.Context, g *TaskGroup) error) error {
	l, t, err := enter(ctx, "Group")
	if err != nil {
		return err
	}
	g := &TaskGroup{parent: ctx, waiter: t}
	g.ctx = newLoopCtx(l, ctx, t)
	berr, bodyCancelled := asCancellation(callBody(g, body), g.ctx)
	if berr != nil && !bodyCancelled {
		g.fail(berr)
	}
	_ = park(context.Background(), t, (*groupWait)(g), parkOpts{}) // no context: the children end first
	g.finished = true
	g.ctx.cancel(context.Canceled) // release the group's context
	if len(g.errs) > 0 {
		return &GroupError{Errs: g.errs}
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if bodyCancelled && g.aborting {
		return nil
	}
	return berr
}

func callBody(g *TaskGroup, body func(context.Context, *TaskGroup) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Task: "task group body", Value: p, Stack: stack()}
		}
	}()
	return body(g.ctx, g)
}

func isCancel(err error) bool { return errors.Is(err, context.Canceled) }

// fail records err and cancels the rest of the group.
func (g *TaskGroup) fail(err error) {
	g.errs = append(g.errs, err)
	if !g.aborting {
		g.aborting = true
		g.ctx.cancel(context.Canceled)
	}
}

// Go starts fn as a task of the group. It returns ErrGroupFinished or
// ErrGroupShuttingDown if the group no longer accepts tasks.
func (g *TaskGroup) Go(fn func(ctx context.Context) error, opts ...SpawnOption) error {
	_, err := GroupSpawn(g, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	}, opts...)
	return err
}

// GroupSpawn starts fn as a task of group g and returns the task, whose
// result can be awaited or read after the group ends. Children may spawn
// more children into the same group.
func GroupSpawn[T any](g *TaskGroup, fn func(context.Context) (T, error), opts ...SpawnOption) (*Task[T], error) {
	if g.finished {
		return nil, ErrGroupFinished
	}
	if g.aborting {
		return nil, ErrGroupShuttingDown
	}
	t := Spawn(g.ctx, fn, opts...)
	g.pending++
	t.addNotifier(g)
	return t, nil
}

// notify is called when a child ends.
func (g *TaskGroup) notify(f *futureCore) {
	g.pending--
	if f.state == stateDone && f.err != nil {
		f.retrieved()
		g.fail(f.err)
	}
	if g.pending == 0 {
		g.ctx.loop().wake(g.waiter)
	}
}

// groupWait is a group as the parkCond of the task waiting for its
// children.
type groupWait TaskGroup

func (g *groupWait) ready() bool        { return g.pending == 0 }
func (g *groupWait) register(*taskCore) {}
func (g *groupWait) abort(*taskCore)    {}
