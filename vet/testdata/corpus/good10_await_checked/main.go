// Command good10_await_checked: a task's error checked at Await.
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
		v, err := t.Await(ctx)
		if err != nil {
			return err
		}
		fmt.Println(v)
		return nil
	})
}
