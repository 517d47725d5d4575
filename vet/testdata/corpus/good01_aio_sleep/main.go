// Command good01_aio_sleep: aio.Sleep in a task (near miss of blockingcall).
package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	time.Sleep(time.Millisecond) // before the loop: the thread is ours
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		return aio.Sleep(ctx, time.Second)
	})
}
