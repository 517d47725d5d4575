// Command bad20_factory: the task a factory returns sleeps on the loop's thread.
package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func poller(every time.Duration) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		for i := 0; i < 3; i++ {
			time.Sleep(every) // FLAG: blockingcall
		}
		return 3, nil
	}
}

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		_, err := aio.Spawn(ctx, poller(time.Millisecond)).Await(ctx)
		return err
	})
}
