package aio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// openFDs counts the process's open descriptors (Linux; -1 elsewhere).
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// checkFDs fails the test if it ends with more descriptors open than it
// started with.
func checkFDs(t *testing.T) {
	t.Helper()
	before := openFDs(t)
	t.Cleanup(func() {
		if before < 0 {
			return
		}
		if after := openFDs(t); after > before {
			t.Errorf("descriptors leaked: %d open before the test, %d after", before, after)
		}
	})
}

// echoProto echoes every byte back: the fast path, no task per connection.
type echoProto struct {
	aio.BaseProtocol
	t aio.Transport
}

func (p *echoProto) ConnectionMade(t aio.Transport) { p.t = t }
func (p *echoProto) DataReceived(data []byte)       { p.t.Write(data) }

func TestProtocolEchoServerWithStreamsClient(t *testing.T) {
	checkFDs(t)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &echoProto{} })
		if err != nil {
			return err
		}
		defer srv.Close()
		r, w, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		for i := 0; i < 100; i++ {
			msg := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i*37)
			msg = append(msg, '\n')
			if err := w.Write(msg); err != nil {
				return err
			}
			if err := w.Drain(ctx); err != nil {
				return err
			}
			got, err := r.ReadLine(ctx)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("round %d: echoed %d bytes, want %d", i, len(got), len(msg))
			}
		}
		if err := w.WriteEOF(); err != nil {
			return err
		}
		// The server's protocol closes on EOF, so the client sees EOF.
		rest, err := r.Read(ctx, -1)
		if err != nil || len(rest) != 0 {
			t.Errorf("after EOF: %q, %v", rest, err)
		}
		w.Close()
		return w.WaitClosed(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStreamServerHandlerPerConnection(t *testing.T) {
	checkFDs(t)
	for _, network := range []string{"tcp4", "tcp6", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			switch network {
			case "tcp6":
				addr = "[::1]:0"
			case "unix":
				addr = filepath.Join(t.TempDir(), "s.sock")
			}
			err := aio.Run(context.Background(), func(ctx context.Context) error {
				srv, err := aio.StartServer(ctx, network, addr, func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
					for {
						line, err := r.ReadLine(ctx)
						if len(line) > 0 {
							w.Write(bytes.ToUpper(line))
						}
						if err != nil {
							return
						}
					}
				})
				if err != nil {
					if network == "tcp6" && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)) {
						t.Skip("no IPv6 loopback here")
					}
					return err
				}
				var tasks []*aio.Task[string]
				for i := 0; i < 10; i++ {
					tasks = append(tasks, aio.Spawn(ctx, func(ctx context.Context) (string, error) {
						r, w, err := aio.OpenConnection(ctx, network, srv.Addr().String())
						if err != nil {
							return "", err
						}
						defer w.Close()
						w.WriteString("hello\nworld\n")
						a, err := r.ReadLine(ctx)
						if err != nil {
							return "", err
						}
						b, err := r.ReadExactly(ctx, 6)
						return string(a) + string(b), err
					}))
				}
				res, err := aio.Gather(ctx, tasks...)
				if err != nil {
					return err
				}
				for _, s := range res {
					if s != "HELLO\nWORLD\n" {
						t.Errorf("got %q", s)
					}
				}
				srv.Close()
				return srv.WaitClosed(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadExactlyShortAtEOF(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			w.WriteString("abc")
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		r, w, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer w.Close()
		got, err := r.ReadExactly(ctx, 10)
		var inc *aio.IncompleteReadError
		if !errors.As(err, &inc) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v, want IncompleteReadError", err)
		}
		if string(got) != "abc" || string(inc.Partial) != "abc" || inc.Expected != 10 {
			t.Errorf("partial %q expected %d", inc.Partial, inc.Expected)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConnDeadlineOnLoopTimers(t *testing.T) {
	checkFDs(t)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			r.Read(ctx, -1) // never answers
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
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err = c.Read(make([]byte, 10))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Read past the deadline: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// greeterProto writes one byte when the connection is made and reports
// its ConnectionLost error.
type greeterProto struct {
	aio.BaseProtocol
	lost chan<- error
}

func (p *greeterProto) ConnectionMade(t aio.Transport) { t.Write([]byte("x")) }
func (p *greeterProto) ConnectionLost(err error)       { p.lost <- err }

func TestCloseOfALoopNotEndedByRunClosesItsDescriptors(t *testing.T) {
	checkFDs(t)
	l, err := aio.NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 1)
	task := aio.Spawn(l.Context(), func(ctx context.Context) (struct{}, error) {
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &greeterProto{lost: lost} })
		if err != nil {
			return struct{}{}, err
		}
		c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return struct{}{}, err
		}
		// The greeting: the server has accepted. The listener and both
		// ends of the connection are left open.
		_, err = c.Read(make([]byte, 1))
		return struct{}{}, err
	})
	if err := l.RunUntilComplete(task); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Result(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ConnectionLost(%v), want an error matching net.ErrClosed (the loop's shutdown)", err)
		}
	default:
		t.Error("the server's connection got no ConnectionLost from Close")
	}
	// checkFDs fails the test if the listener or a connection is still open.
}

// panicOnceProto panics in the first DataReceived of any connection that
// shares its counter and echoes everywhere else.
type panicOnceProto struct {
	aio.BaseProtocol
	t     aio.Transport
	calls *int
	other *aio.Future[struct{}]
}

func (p *panicOnceProto) ConnectionMade(t aio.Transport) { p.t = t }
func (p *panicOnceProto) DataReceived(data []byte) {
	if *p.calls++; *p.calls == 1 {
		panic("boom in DataReceived")
	}
	p.t.Write(data)
	if !p.other.Done() {
		p.other.SetResult(struct{}{})
	}
}

// A panic in one connection's callback is logged with its stack, and the
// callbacks of the other connections that became ready in the same poll
// still run.
func TestPanicInProtocolCallbackIsLoggedAndOtherConnectionsGoOn(t *testing.T) {
	checkFDs(t)
	logger, logs := newLogger()
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		calls := 0
		other := aio.NewFuture[struct{}](ctx)
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol {
			return &panicOnceProto{calls: &calls, other: other}
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		var conns []*aio.Conn
		for i := 0; i < 2; i++ {
			c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
			if err != nil {
				return err
			}
			defer c.Close()
			conns = append(conns, c)
		}
		// Both writes in one step: both server sockets are readable at
		// the next poll.
		for _, c := range conns {
			if _, err := c.Write([]byte("x")); err != nil {
				return err
			}
		}
		if _, err := other.Await(ctx); err != nil {
			return err
		}
		if calls != 2 {
			return fmt.Errorf("DataReceived ran %d times, want 2", calls)
		}
		return nil
	}, aio.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "boom in DataReceived") || !strings.Contains(out, "transport_test.go") {
		t.Errorf("log lacks the panic value or its stack:\n%s", out)
	}
}
