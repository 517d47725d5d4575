// Command good11_without_cancel: context.WithoutCancel(ctx) in a task; Background only at the root.
package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		t := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, aio.Sleep(context.WithoutCancel(ctx), time.Millisecond)
		})
		_, err := t.Await(ctx)
		return err
	})
}
