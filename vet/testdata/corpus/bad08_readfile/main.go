// Command bad08_readfile: os.ReadFile in a task started by Spawn (a named function).
package main

import (
	"context"
	"os"

	"github.com/braid-go/braid/aio"
)

func load(ctx context.Context) ([]byte, error) {
	return os.ReadFile("config.json") // FLAG: blockingcall
}

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		_, err := aio.Spawn(ctx, load).Await(ctx)
		return err
	})
}
