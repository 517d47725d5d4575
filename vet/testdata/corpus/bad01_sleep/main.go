// Command bad01_sleep: time.Sleep in the main task of a loop.
package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		time.Sleep(time.Second) // FLAG: blockingcall
		return nil
	})
}
