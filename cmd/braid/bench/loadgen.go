package bench

// The echo workload's load generator: one loop of Protocol clients that
// each send a message, wait for the whole echo, record its latency and
// send again (a closed loop), with the server's CPU time read before and
// after the measured window.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/braid-go/braid/aio"
)

// echoResult is one round of one server: requests/s, p50 and p99 latency
// in us, and the server's CPU time per request in us.
type echoResult struct {
	rps, p50, p99, cpuPerReq float64
	sysPerReq                float64 // the kernel's part of cpuPerReq
}

func (r echoResult) cpu() float64 { return r.cpuPerReq }

// measureEcho starts s, opens conns connections that each keep one
// message of size bytes in flight, and measures over duration after a
// warmup.
func measureEcho(ctx context.Context, s echoServer, conns, size int, warmup, duration time.Duration, pinned bool) (echoResult, error) {
	cmd, port, stdin, _, err := startServer(ctx, s, pinned)
	if err != nil {
		return echoResult{}, err
	}
	defer stopServer(cmd, stdin)
	pid := cmd.Process.Pid
	var res echoResult
	// The load generator never sleeps when it has a core of its own
	// (aio.WithBusyPoll). On loopback the server's reply is delivered into
	// the client's socket inside the server's sendto, and a sleeping
	// client's wake-up (an inter-processor interrupt, a virtual CPU leaving
	// its halt) ran there too, billed to the server: up to a fifth of its
	// CPU in perf, and rounds of one server 40 % apart depending on which
	// side happened to be idle. Unpinned, a spinning client would take the
	// server's CPU.
	var clientOpts []aio.Option
	if pinned {
		clientOpts = append(clientOpts, aio.WithBusyPoll())
	}
	err = aio.Run(ctx, func(ctx context.Context) error {
		g := &loadGen{size: size, base: time.Now(), hist: newHistogram()}
		g.msg = make([]byte, size)
		for i := range g.msg {
			g.msg[i] = byte('a' + i%26)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		for i := 0; i < conns; i++ {
			c := &echoClient{g: g}
			if _, _, err := aio.CreateConnection(ctx, "tcp", addr, func() aio.Protocol { return c }); err != nil {
				g.stop()
				return fmt.Errorf("connection %d: %w", i, err)
			}
			g.clients = append(g.clients, c)
		}
		for _, c := range g.clients {
			c.send()
		}
		if err := aio.Sleep(ctx, warmup); err != nil {
			g.stop()
			return err
		}
		if g.err != nil {
			return g.err
		}
		user0, sys0, cerr := processCPU(pid)
		g.hist.reset()
		t0 := time.Now()
		if err := aio.Sleep(ctx, duration); err != nil {
			g.stop()
			return err
		}
		n := g.hist.count
		elapsed := time.Since(t0)
		user1, sys1, cerr2 := processCPU(pid)
		g.stop()
		if g.err != nil {
			return g.err
		}
		if n == 0 {
			return errors.New("no request completed in the measured window")
		}
		res.rps = float64(n) / elapsed.Seconds()
		res.p50 = g.hist.quantile(0.50)
		res.p99 = g.hist.quantile(0.99)
		if cerr == nil && cerr2 == nil {
			res.cpuPerReq = (user1 + sys1 - user0 - sys0).Seconds() * 1e6 / float64(n)
			res.sysPerReq = (sys1 - sys0).Seconds() * 1e6 / float64(n)
		}
		return nil
	}, clientOpts...)
	return res, err
}

// loadGen is the closed-loop load generator: every connection sends a
// message, waits for the whole echo, records the latency, and sends
// again. It runs on one loop with Protocol clients (no task per
// connection), so that the client costs as little as it can.
type loadGen struct {
	size    int
	msg     []byte
	base    time.Time
	hist    *histogram
	clients []*echoClient
	stopped bool
	err     error
}

func (g *loadGen) stop() {
	g.stopped = true
	for _, c := range g.clients {
		if c.t != nil {
			c.t.Abort()
		}
	}
}

type echoClient struct {
	aio.BaseProtocol
	g    *loadGen
	t    aio.Transport
	got  int
	sent time.Duration
}

func (c *echoClient) ConnectionMade(t aio.Transport) { c.t = t }

func (c *echoClient) send() {
	c.got = 0
	c.sent = time.Since(c.g.base)
	if err := c.t.Write(c.g.msg); err != nil && c.g.err == nil && !c.g.stopped {
		c.g.err = err
	}
}

func (c *echoClient) DataReceived(data []byte) {
	c.got += len(data)
	if c.got < c.g.size {
		return
	}
	c.g.hist.add(time.Since(c.g.base) - c.sent)
	if !c.g.stopped {
		c.send()
	}
}

func (c *echoClient) ConnectionLost(err error) {
	if !c.g.stopped && c.g.err == nil {
		if err == nil {
			err = errors.New("the server closed a connection")
		}
		c.g.err = err
	}
}
