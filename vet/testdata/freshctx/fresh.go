// Package freshctx holds the cases of freshctx.
package freshctx

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func use(ctx context.Context) error { return aio.Sleep(ctx, time.Millisecond) }

func cases(ctx context.Context) error {
	return aio.Run(context.Background(), func(ctx context.Context) error { // the root of a program: fine
		t := aio.Spawn(ctx, func(tctx context.Context) (int, error) {
			return 0, use(context.Background()) // want `context.Background\(\) in a function run by aio.Spawn whose own context tctx is in scope`
		})
		if _, err := t.Await(ctx); err != nil {
			return err
		}
		sub, cancel := context.WithTimeout(context.TODO(), time.Second) // want `context.TODO\(\) in a function run by aio.Run whose own context ctx is in scope`
		defer cancel()
		if err := use(sub); err != nil {
			return err
		}
		if err := use(context.WithoutCancel(ctx)); err != nil { // the right way to outlive the task
			return err
		}
		_, err := aio.ToThread(ctx, func(context.Context) (int, error) {
			return 0, plain(context.Background()) // another thread, its own context: fine
		})
		return err
	})
}

func plain(ctx context.Context) error { return ctx.Err() }

func unnamed(ctx context.Context) error {
	return aio.Group(ctx, func(_ context.Context, g *aio.TaskGroup) error {
		return plain(context.Background()) // the task's ctx is not in scope: not reported
	})
}

func handler(ctx context.Context) (int, error) {
	return 0, use(context.Background()) // want `context.Background\(\) in a function run by aio.Spawn whose own context ctx is in scope`
}

func named(ctx context.Context) (int, error) { return aio.Spawn(ctx, handler).Await(ctx) }

// A helper called from a task with the task's context: its ctx is the task's.
func fetch(ctx context.Context, n int) error {
	return use(context.Background()) // want `context.Background\(\) in fetch \(called in a task\) whose own context ctx is in scope`
}

// A helper without a context parameter has nothing better to pass.
func report() error { return plain(context.Background()) }

func helpers(ctx context.Context) error {
	if err := fetch(ctx, 1); err != nil { // outside any task: fetch is reported through the task below
		return err
	}
	return aio.Run(ctx, func(ctx context.Context) error {
		if err := report(); err != nil {
			return err
		}
		return fetch(ctx, 2)
	})
}
