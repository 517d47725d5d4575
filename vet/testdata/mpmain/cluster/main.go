// Command cluster calls cluster.Main first, which calls mp.Main: fine. // want package:"usesMP via github.com/braid-go/braid/cluster"
package main

import (
	"flag"

	"github.com/braid-go/braid/cluster"
)

func main() {
	cluster.Main()
	flag.Parse()
}
