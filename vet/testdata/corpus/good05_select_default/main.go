// Command good05_select_default: a select with a default case polls without blocking.
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
)

func main() {
	results := make(chan int, 1)
	go func() { results <- 42 }()
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		for {
			select {
			case v := <-results:
				_ = v
				return nil
			default:
			}
			if err := aio.Sleep(ctx, 0); err != nil {
				return err
			}
		}
	})
}
