// Command bad09_dropped_spawn: a Task of aio.Spawn dropped (RUF006).
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		aio.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, nil }) // FLAG: droppedtask
		return aio.Sleep(ctx, 0)
	})
}
