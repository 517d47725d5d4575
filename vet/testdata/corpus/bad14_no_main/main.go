// Command bad14_no_main: a program with a process pool that never calls mp.Main.
package main

import (
	"context"
	"fmt"

	"github.com/braid-go/braid/mp"
)

var Square = mp.Register("square", func(ctx context.Context, x int) (int, error) { return x * x, nil })

func main() { // FLAG: mpmain
	pool, err := mp.NewPool()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(Square.Call(context.Background(), pool, 7))
}
