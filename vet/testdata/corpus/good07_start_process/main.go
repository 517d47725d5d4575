// Command good07_start_process: a subprocess run through the loop.
package main

import (
	"context"
	"os/exec"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		p, err := aio.StartProcess(ctx, exec.Command("true"))
		if err != nil {
			return err
		}
		_, err = p.Wait(ctx)
		return err
	})
}
