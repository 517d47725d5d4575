// Command indirect uses mp through a library and cannot call mp.Main. // want package:"usesMP via vettest/mpmain/lib"
package main

import (
	"context"
	"fmt"

	"vettest/mpmain/lib"
)

func main() { // want `main of a program that uses mp \(through vettest/mpmain/lib\) does not call mp.Main`
	pool, err := lib.NewPool()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lib.Square.Call(context.Background(), pool, 3))
}
