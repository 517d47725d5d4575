// Command bad06_future_result: futures.Future.Result waited on in a task.
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
		_, err = f.Result(ctx) // FLAG: blockingcall
		return err
	})
}
