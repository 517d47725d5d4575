// Command missing uses mp and never calls mp.Main. // want package:"usesMP"
package main

import (
	"context"
	"fmt"

	"github.com/braid-go/braid/mp"
)

var Square = mp.Register("square", func(ctx context.Context, x int) (int, error) { return x * x, nil })

func main() { // want `main of a program that uses mp does not call mp.Main`
	pool, err := mp.NewPool()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(Square.Call(context.Background(), pool, 3))
}
