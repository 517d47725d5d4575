// Command gnetecho is a peer echo server for `braid bench echo`: gnet v2
// with one event loop (the configuration braid's one-loop server is
// compared with).
//
//	gnetecho --port 9000 [--loops 1]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/panjf2000/gnet/v2"
)

type echo struct{ gnet.BuiltinEventEngine }

func (*echo) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

func main() {
	port := flag.Int("port", 9000, "port on 127.0.0.1")
	loops := flag.Int("loops", 1, "event loops")
	flag.Parse()
	fmt.Println("listening", *port, "model=gnet")
	err := gnet.Run(&echo{}, fmt.Sprintf("tcp://127.0.0.1:%d", *port),
		gnet.WithMulticore(false), gnet.WithNumEventLoop(*loops), gnet.WithReusePort(false))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
