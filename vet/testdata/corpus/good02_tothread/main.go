// Command good02_tothread: blocking calls inside aio.ToThread's function.
package main

import (
	"context"
	"os"
	"time"

	"github.com/braid-go/braid/aio"
)

func slowRead(ctx context.Context) ([]byte, error) {
	time.Sleep(time.Millisecond)
	return os.ReadFile("config.json")
}

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		_, err := aio.ToThread(ctx, func(ctx context.Context) ([]byte, error) {
			time.Sleep(time.Millisecond)
			return os.ReadFile("config.json")
		})
		if err != nil {
			return err
		}
		_, err = aio.ToThread(ctx, slowRead)
		return err
	})
}
