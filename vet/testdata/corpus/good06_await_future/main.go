// Command good06_await_future: aio.AwaitFuture on a thread pool future.
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
)

func main() {
	pool := futures.NewThreadPool()
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		f, err := futures.Submit(ctx, pool, func(ctx context.Context) (int, error) { return 1, nil })
		if err != nil {
			return err
		}
		_, err = aio.AwaitFuture(ctx, f)
		return err
	})
}
