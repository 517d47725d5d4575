package bench

import (
	"context"

	"github.com/braid-go/braid/aio"
)

// runCPULoop is the event loop alone on the CPU-bound workload: every
// task is a task of one loop, so they run one after another on one thread. No gain, as in
// the articles: a loop helps waiting, not computing.
func runCPULoop(ctx context.Context, tasks []CPUTask) ([]int64, error) {
	out := make([]int64, len(tasks))
	err := aio.Run(ctx, func(ctx context.Context) error {
		ts := make([]*aio.Task[int64], len(tasks))
		for i, t := range tasks {
			ts[i] = aio.Spawn(ctx, func(context.Context) (int64, error) { return RunCPUTask(t) })
		}
		vals, err := aio.Gather(ctx, ts...)
		copy(out, vals)
		return err
	})
	return out, err
}
