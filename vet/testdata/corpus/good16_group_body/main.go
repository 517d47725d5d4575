// Command good16_group_body: TaskGroup.Go's error left unchecked inside the group's own body.
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			g.Go(func(ctx context.Context) error { return aio.Sleep(ctx, 0) })
			g.Go(func(ctx context.Context) error { return aio.Sleep(ctx, 0) })
			return nil
		})
	})
}
