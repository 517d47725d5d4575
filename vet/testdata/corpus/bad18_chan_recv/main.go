// Command bad18_chan_recv: a task waits for a goroutine's channel.
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
)

func main() {
	done := make(chan struct{})
	go close(done)
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		<-done // FLAG: blockingcall
		return nil
	})
}
