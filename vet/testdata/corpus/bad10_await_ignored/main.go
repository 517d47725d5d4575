// Command bad10_await_ignored: a task's error ignored at Await.
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		t := aio.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, errors.New("boom") })
		v, _ := t.Await(ctx) // FLAG: droppedtask
		fmt.Println(v)
		return nil
	})
}
