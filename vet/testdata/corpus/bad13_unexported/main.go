// Command bad13_unexported: a struct with an unexported field crosses to a worker.
package main

import (
	"context"

	"github.com/braid-go/braid/mp"
)

type Job struct {
	Name  string
	retry int
}

var Run = mp.Register("run", func(ctx context.Context, j Job) (int, error) { // FLAG: mpboundary
	return len(j.Name) + j.retry, nil
})

func main() {
	mp.Main()
}
