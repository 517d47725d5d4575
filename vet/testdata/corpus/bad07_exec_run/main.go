// Command bad07_exec_run: exec.Cmd.Run in a task.
package main

import (
	"context"
	"os/exec"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		return exec.Command("true").Run() // FLAG: blockingcall
	})
}
