// Command bad05_select_done: a select on a channel and ctx.Done() without default.
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
)

func main() {
	results := make(chan int)
	go func() { results <- 42 }()
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		select { // FLAG: blockingcall
		case v := <-results:
			_ = v
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	})
}
