// Command bad19_protocol: a protocol callback writes a file on the loop.
package main

import (
	"context"
	"os"

	"github.com/braid-go/braid/aio"
)

type logger struct {
	aio.BaseProtocol
	t aio.Transport
}

func (l *logger) ConnectionMade(t aio.Transport) { l.t = t }

func (l *logger) DataReceived(data []byte) {
	_ = os.WriteFile("received.log", data, 0o600) // FLAG: blockingcall
	_ = l.t.Write(data)
}

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &logger{} })
		if err != nil {
			return err
		}
		srv.Close()
		return nil
	})
}
