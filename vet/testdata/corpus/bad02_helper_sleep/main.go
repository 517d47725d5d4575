// Command bad02_helper_sleep: a closure given to Spawn calls a helper that sleeps.
package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func backoff(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		t := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			backoff(3) // FLAG: blockingcall
			return 3, nil
		})
		_, err := t.Await(ctx)
		return err
	})
}
