// Command bad15_main_late: mp.Main called after other work in main.
package main

import (
	"flag"
	"fmt"

	"github.com/braid-go/braid/mp"
)

func main() {
	n := flag.Int("n", 1, "workers")
	flag.Parse()
	mp.Main() // FLAG: mpmain
	fmt.Println(*n)
}
