// Command bad11_background: context.Background() inside a task whose ctx is in scope.
package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		t := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, aio.Sleep(context.Background(), time.Millisecond) // FLAG: freshctx
		})
		_, err := t.Await(ctx)
		return err
	})
}
