// Command good14_main_first: mp.Main first, then the program.
package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/braid-go/braid/mp"
)

var Square = mp.Register("square", func(ctx context.Context, x int) (int, error) { return x * x, nil })

func main() {
	mp.Main()
	flag.Parse()
	pool, err := mp.NewPool()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(Square.Call(context.Background(), pool, 7))
}
