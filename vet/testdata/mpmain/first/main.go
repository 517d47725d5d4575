// Command first calls mp.Main first: fine. // want package:"usesMP"
package main

import (
	"flag"

	"github.com/braid-go/braid/mp"
)

func main() {
	mp.Main()
	flag.Parse()
}
