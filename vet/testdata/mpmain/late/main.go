// Command late calls mp.Main after other work. // want package:"usesMP"
package main

import (
	"flag"

	"github.com/braid-go/braid/mp"
)

func main() {
	flag.Parse()
	mp.Main() // want `mp.Main is not the first statement of main`
}
