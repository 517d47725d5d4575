// Command good19_protocol: a protocol callback only writes to its transport; the file is written outside the loop.
package main

import (
	"context"
	"os"

	"github.com/braid-go/braid/aio"
)

type echo struct {
	aio.BaseProtocol
	t    aio.Transport
	seen []byte
}

func (e *echo) ConnectionMade(t aio.Transport) { e.t = t }

func (e *echo) DataReceived(data []byte) {
	e.seen = append(e.seen, data...)
	_ = e.t.Write(data)
}

// save is not a callback of the loop: main calls it after the loop ends.
func (e *echo) save() error { return os.WriteFile("received.log", e.seen, 0o600) }

func main() {
	e := &echo{}
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return e })
		if err != nil {
			return err
		}
		srv.Close()
		return nil
	})
	_ = e.save()
}
