// Command bad17_waitgroup: sync.WaitGroup.Wait in a task.
package main

import (
	"context"
	"sync"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done() }()
		wg.Wait() // FLAG: blockingcall
		return nil
	})
}
