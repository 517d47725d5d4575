// Command good18_mutex_threads: a sync.Mutex shared by thread pool jobs, awaited from the loop.
package main

import (
	"context"
	"sync"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
)

func main() {
	var mu sync.Mutex
	hits := 0
	pool := futures.NewThreadPool()
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		_, err := aio.RunInExecutor(ctx, pool, func(ctx context.Context) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			hits++
			return hits, nil
		})
		return err
	})
}
