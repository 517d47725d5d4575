// Command bad04_mutex: sync.Mutex.Lock in tasks of a TaskGroup.
package main

import (
	"context"
	"sync"

	"github.com/braid-go/braid/aio"
)

func main() {
	var mu sync.Mutex
	total := 0
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			for i := 0; i < 3; i++ {
				if err := g.Go(func(ctx context.Context) error {
					mu.Lock() // FLAG: blockingcall
					total += i
					mu.Unlock()
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
