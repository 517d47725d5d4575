package aio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// smallBufProto is a BufferedProtocol that receives into a buffer of size
// bytes, keeps everything, and echoes it all back at EOF.
type smallBufProto struct {
	aio.BaseProtocol
	t        aio.Transport
	buf      []byte
	got      []byte
	calls    int
	badN     int // BufferUpdated calls with n outside 1..len(buf)
	dataRecv int // DataReceived calls (there must be none)
	lost     chan error
}

func (p *smallBufProto) ConnectionMade(t aio.Transport) { p.t = t }
func (p *smallBufProto) DataReceived([]byte)            { p.dataRecv++ }
func (p *smallBufProto) GetBuffer(sizeHint int) []byte {
	p.calls++
	return p.buf
}
func (p *smallBufProto) BufferUpdated(n int) {
	if n < 1 || n > len(p.buf) {
		p.badN++
		return
	}
	p.got = append(p.got, p.buf[:n]...)
}
func (p *smallBufProto) EOFReceived() bool {
	p.t.Write(p.got)
	p.t.Close()
	return true
}
func (p *smallBufProto) ConnectionLost(err error) {
	if p.lost != nil {
		p.lost <- err
	}
}

// dialProtocolServer starts a Protocol server on 127.0.0.1 with factory
// and dials it; closeAll closes the connection and the server.
func dialProtocolServer(ctx context.Context, factory func() aio.Protocol) (c *aio.Conn, closeAll func(), err error) {
	srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", factory)
	if err != nil {
		return nil, nil, err
	}
	c, err = aio.Dial(ctx, "tcp", srv.Addr().String())
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return c, func() { c.Close(); srv.Close() }, nil
}

// pattern returns n bytes that differ at every position modulo 251, so
// that a reordered or repeated chunk shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func TestBufferedProtocolReadsIntoItsOwnBuffer(t *testing.T) {
	checkFDs(t)
	var proto *smallBufProto
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		c, closeAll, err := dialProtocolServer(ctx, func() aio.Protocol {
			proto = &smallBufProto{buf: make([]byte, 7)}
			return proto
		})
		if err != nil {
			return err
		}
		defer closeAll()
		msg := pattern(10_000)
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if err := c.CloseWrite(); err != nil {
			return err
		}
		back, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		if !bytes.Equal(back, msg) {
			t.Errorf("echoed %d bytes, want the %d sent, in order", len(back), len(msg))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if proto.calls < 10_000/7 {
		t.Errorf("GetBuffer called %d times for 10,000 bytes into 7-byte buffers", proto.calls)
	}
	if proto.badN != 0 || proto.dataRecv != 0 {
		t.Errorf("BufferUpdated with a bad count %d times; DataReceived called %d times", proto.badN, proto.dataRecv)
	}
}

// emptyBufProto returns no room: the connection fails with a clear error.
type emptyBufProto struct{ smallBufProto }

func (p *emptyBufProto) GetBuffer(int) []byte { return nil }

func TestBufferedProtocolEmptyBufferFailsTheConnection(t *testing.T) {
	checkFDs(t)
	lost := make(chan error, 1)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		c, closeAll, err := dialProtocolServer(ctx, func() aio.Protocol {
			return &emptyBufProto{smallBufProto{lost: lost}}
		})
		if err != nil {
			return err
		}
		defer closeAll()
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		// The server drops the connection: the client reads its end.
		c.Read(make([]byte, 1))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		if err == nil || !strings.Contains(err.Error(), "GetBuffer returned an empty buffer") {
			t.Errorf("ConnectionLost(%v), want the empty-buffer error", err)
		}
	default:
		t.Fatal("ConnectionLost was not called")
	}
}

// switchProto hands the connection to a BufferedProtocol on its first
// data.
type switchProto struct {
	aio.BaseProtocol
	t        aio.Transport
	next     *smallBufProto
	switched *aio.Future[struct{}]
}

func (p *switchProto) ConnectionMade(t aio.Transport) { p.t = t }
func (p *switchProto) DataReceived(data []byte) {
	p.next.t = p.t
	p.next.got = append(p.next.got, data...)
	p.t.SetProtocol(p.next)
	p.switched.SetResult(struct{}{})
}

func TestSetProtocolToBufferedProtocol(t *testing.T) {
	next := &smallBufProto{buf: make([]byte, 3)}
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		switched := aio.NewFuture[struct{}](ctx)
		c, closeAll, err := dialProtocolServer(ctx, func() aio.Protocol { return &switchProto{next: next, switched: switched} })
		if err != nil {
			return err
		}
		defer closeAll()
		if _, err := c.Write([]byte("first")); err != nil {
			return err
		}
		// Wait for the server's switch (its echo comes at EOF), then more.
		if _, err := switched.Await(ctx); err != nil {
			return err
		}
		if _, err := c.Write([]byte("second")); err != nil {
			return err
		}
		c.CloseWrite()
		back, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		if string(back) != "firstsecond" {
			t.Errorf("echo %q, want %q", back, "firstsecond")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next.calls == 0 || next.dataRecv != 0 {
		t.Errorf("after SetProtocol: GetBuffer called %d times, DataReceived %d times", next.calls, next.dataRecv)
	}
}

// Conn.Read hands its buffer to the transport when the reader is empty;
// whatever the sizes of the reads and of the writes, the bytes come out
// in order, none lost or repeated (the direct path, its fallback to the
// loop's buffer after a read that filled the caller's buffer, and the
// buffered path all take turns).
func TestConnReadSizesKeepTheStreamIntact(t *testing.T) {
	checkFDs(t)
	const total = 1 << 20
	sizes := []int{1, 511, 512, 513, 4096, 65536, 100, 300_000, 7}
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		msg := pattern(total)
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			// Writes of varied sizes, some waiting for the reader.
			for off, i := 0, 0; off < total; i++ {
				n := min(sizes[(i+3)%len(sizes)], total-off)
				if w.Write(msg[off:off+n]) != nil {
					return
				}
				if i%5 == 0 && w.Drain(ctx) != nil {
					return
				}
				off += n
			}
			w.Close()
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		var got []byte
		for i := 0; ; i++ {
			p := make([]byte, sizes[i%len(sizes)])
			n, err := c.Read(p)
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if !bytes.Equal(got, msg) {
			at := 0
			for at < min(len(got), len(msg)) && got[at] == msg[at] {
				at++
			}
			t.Errorf("read %d bytes, want %d; first difference at %d", len(got), len(msg), at)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A Read cancelled while data for it is arriving loses nothing: the data
// comes either from the cancelled Read or from the next one.
func TestConnReadCancelledLosesNoData(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		accepted := aio.NewFuture[*aio.Conn](ctx)
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			accepted.SetResult(r.Conn())
			r.Read(ctx, -1)
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		peer, err := accepted.Await(ctx)
		if err != nil {
			return err
		}
		for round := 0; round < 20; round++ {
			rctx, cancel := context.WithCancel(ctx)
			waiting := aio.NewFuture[struct{}](ctx)
			buf := make([]byte, 4096)
			reader := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
				waiting.SetResult(struct{}{})
				return c.ReadContext(rctx, buf)
			})
			if _, err := waiting.Await(ctx); err != nil {
				cancel()
				return err
			}
			for i := 0; i < round%3; i++ { // vary who comes first
				aio.Sleep(ctx, 0)
			}
			want := []byte(strings.Repeat("x", round+1))
			_, werr := peer.Write(want)
			cancel()
			if werr != nil {
				return werr
			}
			n, rerr := reader.Await(ctx)
			got := append([]byte(nil), buf[:n]...)
			if rerr != nil && !errors.Is(rerr, context.Canceled) {
				return rerr
			}
			for len(got) < len(want) {
				more := make([]byte, 4096)
				m, err := c.Read(more)
				if err != nil {
					return err
				}
				got = append(got, more[:m]...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d: got %q, want %q", round, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countingBufProto receives into a 7-byte buffer and writes "ok" once it
// has want bytes; the peer sends them once and then only waits, so every
// byte after the first read must come without any new data or end of
// stream arriving: a transport that waits for the poller after a read
// that filled the buffer (an edge-triggered one would not be told again)
// never finishes.
type countingBufProto struct {
	aio.BaseProtocol
	t    aio.Transport
	buf  [7]byte
	got  int
	want int
}

func (p *countingBufProto) ConnectionMade(t aio.Transport) { p.t = t }
func (p *countingBufProto) GetBuffer(int) []byte           { return p.buf[:] }
func (p *countingBufProto) BufferUpdated(n int) {
	p.got += n
	if p.got == p.want {
		p.t.Write([]byte("ok"))
	}
}

func TestBufferedProtocolDrainsWhatArrivedInOneReport(t *testing.T) {
	checkFDs(t)
	const want = 5_000
	var proto *countingBufProto
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		c, closeAll, err := dialProtocolServer(ctx, func() aio.Protocol {
			proto = &countingBufProto{want: want}
			return proto
		})
		if err != nil {
			return err
		}
		defer closeAll()
		if _, err := c.Write(pattern(want)); err != nil {
			return err
		}
		// A guard, not a timing assertion: a transport that waits for a
		// report that never comes would hang here otherwise.
		tctx, scope := aio.WithTimeout(ctx, time.Minute)
		defer scope.Stop()
		reply, err := c.Reader().ReadExactly(tctx, 2)
		if err != nil {
			return fmt.Errorf("the server never had all %d bytes (it got %d): %w", want, proto.got, err)
		}
		if string(reply) != "ok" {
			t.Errorf("reply %q, want \"ok\"", reply)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
