// Command good04_aio_lock: aio.Lock between tasks of a TaskGroup.
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
)

func main() {
	var lock aio.Lock
	total := 0
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			for i := 0; i < 3; i++ {
				if err := g.Go(func(ctx context.Context) error {
					if err := lock.Acquire(ctx); err != nil {
						return err
					}
					total += i
					return lock.Release()
				}); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
