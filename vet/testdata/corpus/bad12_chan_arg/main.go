// Command bad12_chan_arg: a channel as the argument of a process function.
package main

import (
	"context"

	"github.com/braid-go/braid/mp"
)

var Drain = mp.Register("drain", func(ctx context.Context, c chan int) (int, error) { // FLAG: mpboundary
	return len(c), nil
})

func main() {
	mp.Main()
}
