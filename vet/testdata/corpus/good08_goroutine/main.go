// Command good08_goroutine: blocking code in a goroutine started from a task, and outside the loop.
package main

import (
	"context"
	"sync"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	var wg sync.WaitGroup
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Millisecond)
		}()
		return nil
	})
	wg.Wait()
}
