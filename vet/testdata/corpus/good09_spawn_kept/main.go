// Command good09_spawn_kept: tasks kept and gathered.
package main

import (
	"context"
	"fmt"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		var tasks []*aio.Task[int]
		for i := 0; i < 3; i++ {
			tasks = append(tasks, aio.Spawn(ctx, func(ctx context.Context) (int, error) { return i, nil }))
		}
		vals, err := aio.Gather(ctx, tasks...)
		fmt.Println(vals)
		return err
	})
}
