package aio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/braid-go/braid/aio"
)

// Run is asyncio.run(main()): it runs main as the main task of a new loop
// and returns its error. WithVirtualClock makes the hour pass at once.
func ExampleRun() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		start := aio.CurrentLoop(ctx).Time()
		if err := aio.Sleep(ctx, time.Hour); err != nil {
			return err
		}
		fmt.Println("slept", aio.CurrentLoop(ctx).Time().Sub(start))
		return nil
	}, aio.WithVirtualClock())
	fmt.Println("err:", err)
	// Output:
	// slept 1h0m0s
	// err: <nil>
}

// Spawn is asyncio.create_task: the function starts on a later iteration
// of the loop, and Await waits for its result.
func ExampleSpawn() {
	aio.Run(context.Background(), func(ctx context.Context) error {
		task := aio.Spawn(ctx, func(ctx context.Context) (string, error) {
			fmt.Println("task runs")
			return "result", aio.Sleep(ctx, time.Second)
		}, aio.WithName("worker"))
		fmt.Println("spawned", task.Name())
		v, err := task.Await(ctx)
		fmt.Println(v, err)
		return nil
	}, aio.WithVirtualClock())
	// Output:
	// spawned worker
	// task runs
	// result <nil>
}

// Gather returns the values in the order of the tasks, whatever order
// they finish in. GatherAll would also collect every error.
func ExampleGather() {
	aio.Run(context.Background(), func(ctx context.Context) error {
		var tasks []*aio.Task[int]
		for i := 1; i <= 3; i++ {
			tasks = append(tasks, aio.Spawn(ctx, func(ctx context.Context) (int, error) {
				return i * i, aio.Sleep(ctx, time.Duration(4-i)*time.Second)
			}))
		}
		squares, err := aio.Gather(ctx, tasks...)
		fmt.Println(squares, err)
		return nil
	}, aio.WithVirtualClock())
	// Output: [1 4 9] <nil>
}

// Wait with FirstCompleted returns as soon as one task is done; the
// others are left running (nothing is cancelled).
func ExampleWait() {
	aio.Run(context.Background(), func(ctx context.Context) error {
		fast := aio.Spawn(ctx, func(ctx context.Context) (string, error) {
			return "fast", aio.Sleep(ctx, time.Second)
		})
		slow := aio.Spawn(ctx, func(ctx context.Context) (string, error) {
			return "slow", aio.Sleep(ctx, time.Minute)
		})
		done, pending, _ := aio.Wait(ctx, []*aio.Task[string]{slow, fast}, aio.FirstCompleted)
		v, _ := done[0].Result()
		fmt.Println(len(done), "done:", v)
		fmt.Println(len(pending), "pending, cancelled:", pending[0].Cancelling())
		return nil
	}, aio.WithVirtualClock())
	// Output:
	// 1 done: fast
	// 1 pending, cancelled: false
}

// AsCompleted yields the tasks in the order they complete.
func ExampleAsCompleted() {
	asCompletedExample(os.Stdout)
	// Output:
	// fast
	// medium
	// slow
}

func asCompletedExample(w io.Writer) {
	aio.Run(context.Background(), func(ctx context.Context) error {
		var tasks []*aio.Task[string]
		for _, job := range []struct {
			name string
			d    time.Duration
		}{{"slow", 3 * time.Second}, {"fast", time.Second}, {"medium", 2 * time.Second}} {
			tasks = append(tasks, aio.Spawn(ctx, func(ctx context.Context) (string, error) {
				return job.name, aio.Sleep(ctx, job.d)
			}))
		}
		for task, err := range aio.AsCompleted(ctx, tasks) {
			if err != nil {
				return err
			}
			v, _ := task.Result()
			fmt.Fprintln(w, v)
		}
		return nil
	}, aio.WithVirtualClock())
}

// WaitFor bounds the wait for one task; on timeout it cancels the task,
// waits until it has finished, and returns ErrTimeout.
func ExampleWaitFor() {
	aio.Run(context.Background(), func(ctx context.Context) error {
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := aio.Sleep(ctx, time.Hour); err != nil {
				fmt.Println("task stopped:", errors.Is(err, context.Canceled))
				return 0, err
			}
			return 42, nil
		})
		_, err := aio.WaitFor(ctx, time.Second, task)
		fmt.Println("timeout:", errors.Is(err, aio.ErrTimeout), "task cancelled:", task.Cancelled())
		return nil
	}, aio.WithVirtualClock())
	// Output:
	// task stopped: true
	// timeout: true task cancelled: true
}

// WithTimeout is asyncio.timeout(): every wait on its context fails with
// context.DeadlineExceeded once the deadline passes, and the deadline can
// be moved while the scope is open.
func ExampleWithTimeout() {
	aio.Run(context.Background(), func(ctx context.Context) error {
		start := aio.CurrentLoop(ctx).Time()
		tctx, scope := aio.WithTimeout(ctx, time.Second)
		defer scope.Stop()
		scope.Reschedule(start.Add(2 * time.Second))
		err := aio.Sleep(tctx, time.Hour)
		fmt.Println(errors.Is(err, context.DeadlineExceeded), scope.Expired(), aio.CurrentLoop(ctx).Time().Sub(start))
		return nil
	}, aio.WithVirtualClock())
	// Output: true true 2s
}

// Shield protects work from the cancellation of its waiter: the waiter
// gets its cancellation at once, the shielded task runs to its end.
func ExampleShield() {
	aio.Run(context.Background(), func(ctx context.Context) error {
		saved := aio.NewFuture[string](ctx)
		waiter := aio.Spawn(ctx, func(ctx context.Context) (string, error) {
			return aio.Shield(ctx, func(ctx context.Context) (string, error) {
				if err := aio.Sleep(ctx, time.Second); err != nil {
					return "", err
				}
				saved.SetResult("saved")
				return "saved", nil
			})
		})
		aio.Sleep(ctx, 0)
		waiter.Cancel()
		_, err := waiter.Await(ctx)
		fmt.Println("waiter:", errors.Is(err, context.Canceled))
		v, err := saved.Await(ctx)
		if err != nil {
			return err
		}
		fmt.Println("shielded work:", v)
		return nil
	}, aio.WithVirtualClock())
	// Output:
	// waiter: true
	// shielded work: saved
}

// Group is asyncio.TaskGroup: when a child fails, its siblings are
// cancelled, and the group's error holds every failure for errors.Is and
// errors.As.
func ExampleGroup() {
	errDisk := errors.New("disk full")
	aio.Run(context.Background(), func(ctx context.Context) error {
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			g.Go(func(ctx context.Context) error {
				if err := aio.Sleep(ctx, time.Hour); err != nil {
					fmt.Println("sibling cancelled")
					return err
				}
				return nil
			})
			g.Go(func(ctx context.Context) error {
				aio.Sleep(ctx, time.Second)
				return errDisk
			})
			return nil
		})
		var ge *aio.GroupError
		fmt.Println(errors.Is(err, errDisk), errors.As(err, &ge), len(ge.Errs))
		return nil
	}, aio.WithVirtualClock())
	// Output:
	// sibling cancelled
	// true true 1
}
