// Command good17_chan_in_thread: a channel waited on in a thread, not in the task.
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
)

func main() {
	done := make(chan int)
	go func() { done <- 1 }()
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		_, err := aio.ToThread(ctx, func(ctx context.Context) (int, error) {
			select {
			case v := <-done:
				return v, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		})
		return err
	})
}
