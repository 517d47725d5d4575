package aio_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/braid-go/braid/aio"
)

func TestMultiLoopServerReusePort(t *testing.T) {
	checkFDs(t)
	srv, err := aio.StartMultiLoopServer(context.Background(), 2, "tcp", "127.0.0.1:0",
		func(ctx context.Context, network, addr string, reusePort aio.NetOption) (*aio.Server, error) {
			return aio.CreateServer(ctx, network, addr, func() aio.Protocol { return &echoProto{} }, reusePort)
		})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Loops() != 2 {
		t.Errorf("%d loops", srv.Loops())
	}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", srv.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			msg := bytes.Repeat([]byte{byte(i)}, 1000)
			if _, err := c.Write(msg); err != nil {
				t.Error(err)
				return
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
				t.Errorf("echo: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
}
