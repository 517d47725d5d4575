// Command good20_factory: the task a factory returns waits with aio.Sleep; the blocking wait runs in a goroutine.
package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func poller(every time.Duration) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		for i := 0; i < 3; i++ {
			if err := aio.Sleep(ctx, every); err != nil {
				return i, err
			}
		}
		return 3, nil
	}
}

func main() {
	done := make(chan struct{})
	go func() {
		time.Sleep(time.Millisecond)
		close(done)
	}()
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		_, err := aio.Spawn(ctx, poller(time.Millisecond)).Await(ctx)
		return err
	})
	<-done
}
