package aio_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"syscall"

	"github.com/braid-go/braid/aio"
)

// upperEcho is a Protocol: callbacks only, no task per connection.
type upperEcho struct {
	aio.BaseProtocol
	t aio.Transport
}

func (p *upperEcho) ConnectionMade(t aio.Transport) { p.t = t }
func (p *upperEcho) DataReceived(data []byte)       { p.t.Write(bytes.ToUpper(data)) }

// A Protocol server (asyncio's loop.create_server) and a streams client
// (asyncio.open_connection) on one loop.
func ExampleCreateServer() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &upperEcho{} })
		if err != nil {
			return err
		}
		defer srv.Close()
		r, w, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer w.Close()
		w.WriteString("hello, loop\n")
		line, err := r.ReadLine(ctx)
		fmt.Printf("%q %v\n", line, err)
		return nil
	})
	fmt.Println(err)
	// Output:
	// "HELLO, LOOP\n" <nil>
	// <nil>
}

// lineCounter is a BufferedProtocol: the transport reads into its one
// small buffer, and it keeps nothing but a count.
type lineCounter struct {
	aio.BaseProtocol
	t     aio.Transport
	buf   [512]byte
	lines int
}

func (p *lineCounter) ConnectionMade(t aio.Transport) { p.t = t }
func (p *lineCounter) GetBuffer(int) []byte           { return p.buf[:] }
func (p *lineCounter) BufferUpdated(n int)            { p.lines += bytes.Count(p.buf[:n], []byte("\n")) }
func (p *lineCounter) EOFReceived() bool {
	p.t.Write(fmt.Appendf(nil, "%d lines\n", p.lines))
	return false // close after the answer
}

// A BufferedProtocol (asyncio.BufferedProtocol) receives into buffers of
// its own: GetBuffer lends one, BufferUpdated says how much arrived.
func ExampleBufferedProtocol() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &lineCounter{} })
		if err != nil {
			return err
		}
		defer srv.Close()
		c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write(bytes.Repeat([]byte("a line\n"), 1000))
		c.CloseWrite()
		answer, err := io.ReadAll(c)
		fmt.Printf("%s", answer)
		return err
	})
	fmt.Println(err)
	// Output:
	// 1000 lines
	// <nil>
}

// A streams server (asyncio.start_server): one task per connection.
func ExampleStartServer() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			name, err := r.ReadLine(ctx)
			if err != nil {
				return
			}
			w.WriteString("hello " + string(bytes.TrimSpace(name)) + "\n")
			w.Drain(ctx)
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
		w.WriteString("braid\n")
		reply, _ := r.ReadLine(ctx)
		fmt.Print(string(reply))
		return nil
	})
	fmt.Println(err)
	// Output:
	// hello braid
	// <nil>
}

// A braid connection is a net.Conn for code running in a task: here
// net/http's wire functions write a request and parse the response.
func ExampleDial() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served "+r.URL.Path)
	}))
	defer srv.Close()
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		conn, err := aio.Dial(ctx, "tcp", srv.Listener.Addr().String())
		if err != nil {
			return err
		}
		defer conn.Close()
		var c net.Conn = conn
		req, _ := http.NewRequest("GET", srv.URL+"/wire", nil)
		if err := req.Write(c); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufioReader(c), req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.Status, string(body))
		return nil
	})
	fmt.Println(err)
	// Output:
	// 200 OK served /wire
	// <nil>
}

// A subprocess with pipes (asyncio.create_subprocess_exec and
// communicate).
func ExampleStartProcess() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		p, err := aio.StartProcess(ctx, exec.Command("tr", "a-z", "A-Z"))
		if err != nil {
			return err
		}
		out, _, err := p.Communicate(ctx, []byte("shout\n"))
		code, _ := p.ReturnCode()
		fmt.Printf("%q exit %d\n", out, code)
		return err
	})
	fmt.Println(err)
	// Output:
	// "SHOUT\n" exit 0
	// <nil>
}

type pingPong struct {
	aio.BaseDatagramProtocol
	t   aio.DatagramTransport
	got *aio.Future[string]
}

func (p *pingPong) ConnectionMade(t aio.DatagramTransport) { p.t = t }
func (p *pingPong) DatagramReceived(data []byte, addr net.Addr) {
	if p.got != nil {
		p.got.SetResult(string(data))
		return
	}
	p.t.SendTo(append([]byte("pong to "), data...), addr)
}

// UDP endpoints (asyncio's create_datagram_endpoint).
func ExampleCreateDatagramEndpoint() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		server, _, err := aio.CreateDatagramEndpoint(ctx, "udp", "127.0.0.1:0", "", func() aio.DatagramProtocol { return &pingPong{} })
		if err != nil {
			return err
		}
		defer server.Close()
		client := &pingPong{got: aio.NewFuture[string](ctx)}
		ct, _, err := aio.CreateDatagramEndpoint(ctx, "udp", "", server.LocalAddr().String(), func() aio.DatagramProtocol { return client })
		if err != nil {
			return err
		}
		defer ct.Close()
		ct.SendTo([]byte("ping"), nil)
		reply, err := client.got.Await(ctx)
		fmt.Println(reply)
		return err
	})
	fmt.Println(err)
	// Output:
	// pong to ping
	// <nil>
}

// A signal handler runs as a callback of the loop (asyncio's
// loop.add_signal_handler).
func ExampleLoop_AddSignalHandler() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		got := aio.NewFuture[string](ctx)
		l.AddSignalHandler(syscall.SIGUSR1, func() { got.SetResult("SIGUSR1 on the loop") })
		defer l.RemoveSignalHandler(syscall.SIGUSR1)
		syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		s, err := got.Await(ctx)
		fmt.Println(s)
		return err
	})
	fmt.Println(err)
	// Output:
	// SIGUSR1 on the loop
	// <nil>
}

// One loop per core, each with its own SO_REUSEPORT listener.
func ExampleStartMultiLoopServer() {
	srv, err := aio.StartMultiLoopServer(context.Background(), 2, "tcp", "127.0.0.1:0",
		func(ctx context.Context, network, addr string, reusePort aio.NetOption) (*aio.Server, error) {
			return aio.CreateServer(ctx, network, addr, func() aio.Protocol { return &upperEcho{} }, reusePort)
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := net.Dial("tcp", srv.Addr().String())
	if err == nil {
		c.Write([]byte("any loop\n"))
		buf := make([]byte, 9)
		io.ReadFull(c, buf)
		fmt.Printf("%q\n", buf)
		c.Close()
	}
	fmt.Println(srv.Loops(), srv.Close())
	// Output:
	// "ANY LOOP\n"
	// 2 <nil>
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
