package aio_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/braid-go/braid/aio"
)

// pingClient sends a message and counts the round trips of its echo.
type pingClient struct {
	aio.BaseProtocol
	t     aio.Transport
	msg   []byte
	got   int
	left  int
	done  *aio.Future[struct{}]
	trips int
}

func (c *pingClient) ConnectionMade(t aio.Transport) { c.t = t }
func (c *pingClient) DataReceived(data []byte) {
	c.got += len(data)
	if c.got < len(c.msg) {
		return
	}
	c.got = 0
	c.trips++
	if c.left--; c.left <= 0 {
		c.done.SetResult(struct{}{})
		return
	}
	c.t.Write(c.msg)
}

// benchEcho runs b.N round trips of a 64-byte message spread over 10
// connections, client and server on one loop (both sides' costs count):
// the cost of the I/O layer per request, kernel included.
func benchEcho(b *testing.B, serve func(ctx context.Context) (*aio.Server, error)) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := serve(ctx)
		if err != nil {
			return err
		}
		defer srv.Close()
		const conns = 10
		per := b.N/conns + 1
		var clients []*pingClient
		for i := 0; i < conns; i++ {
			c := &pingClient{msg: make([]byte, 64), left: per, done: aio.NewFuture[struct{}](ctx)}
			if _, _, err := aio.CreateConnection(ctx, "tcp", srv.Addr().String(), func() aio.Protocol { return c }); err != nil {
				return err
			}
			clients = append(clients, c)
		}
		b.ResetTimer()
		for _, c := range clients {
			c.t.Write(c.msg)
		}
		for _, c := range clients {
			if _, err := c.done.Await(ctx); err != nil {
				return err
			}
		}
		b.StopTimer()
		for _, c := range clients {
			c.t.Close()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEchoProtocol: a Protocol echo server (no task per connection).
func BenchmarkEchoProtocol(b *testing.B) {
	benchEcho(b, func(ctx context.Context) (*aio.Server, error) {
		return aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &echoProto{} })
	})
}

// BenchmarkEchoStreams: a streams echo server, one task per connection
// reading and writing its Conn.
func BenchmarkEchoStreams(b *testing.B) {
	benchEcho(b, func(ctx context.Context) (*aio.Server, error) {
		return aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			c := r.Conn()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	})
}

// BenchmarkConnReadBulk: one connection carrying 64 MiB from a Protocol
// server that writes as fast as the socket takes it, read by a task with
// Conn.Read into a buffer of the sub-benchmark's size. It watches the
// read path's system calls per byte: a Read that goes straight into the
// caller's buffer must not turn a bulk transfer into a system call per
// Read.
func BenchmarkConnReadBulk(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("buf=%dKiB", size>>10), func(b *testing.B) {
			const total = 64 << 20
			b.SetBytes(total)
			chunk := make([]byte, 256<<10)
			err := aio.Run(context.Background(), func(ctx context.Context) error {
				srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &bulkSender{chunk: chunk} })
				if err != nil {
					return err
				}
				defer srv.Close()
				buf := make([]byte, size)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
					if err != nil {
						return err
					}
					// Ask for total bytes, then read them.
					if _, err := c.Write(binary.BigEndian.AppendUint64(nil, total)); err != nil {
						return err
					}
					for got := 0; got < total; {
						n, err := c.Read(buf)
						if err != nil {
							return err
						}
						got += n
					}
					c.Close()
				}
				b.StopTimer()
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

// bulkSender reads an 8-byte count and sends that many bytes, a chunk
// each time the transport's buffer drains (its write flow control).
type bulkSender struct {
	aio.BaseProtocol
	t      aio.Transport
	chunk  []byte
	hdr    []byte // the count as it arrives
	left   int
	paused bool
}

func (s *bulkSender) ConnectionMade(t aio.Transport) { s.t = t }
func (s *bulkSender) DataReceived(data []byte) {
	if len(s.hdr) == 8 {
		return
	}
	s.hdr = append(s.hdr, data[:min(len(data), 8-len(s.hdr))]...)
	if len(s.hdr) == 8 {
		s.left = int(binary.BigEndian.Uint64(s.hdr))
		s.fill()
	}
}
func (s *bulkSender) PauseWriting() { s.paused = true }
func (s *bulkSender) ResumeWriting() {
	s.paused = false
	s.fill()
}

// fill writes chunks until the transport's buffer is over its high-water
// mark (ResumeWriting calls it again) or everything is sent.
func (s *bulkSender) fill() {
	for s.left > 0 && !s.paused {
		n := min(s.left, len(s.chunk))
		if s.t.Write(s.chunk[:n]) != nil {
			return
		}
		s.left -= n
	}
}
