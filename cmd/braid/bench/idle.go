package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// runIdleConns measures what an idle connection costs a braid server: the
// server runs in a child process (one loop), this process opens N
// connections to it, exchanges one byte on each (so that the server has
// accepted and served it), and the child reports its heap+stack in use
// and its RSS before and after. Kernel socket buffers are in neither.
func runIdleConns(ctx context.Context, cfg Config, report func(Row)) error {
	n := echoOpts.idle
	if cfg.Quick {
		n = 200
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, model := range []string{"protocol", "streams"} {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cfg.Progress("idle-conns: braid-%s, %d connections", model, n)
		heap, rss, err := measureIdle(ctx, self, model, n)
		if err != nil {
			return fmt.Errorf("braid-%s: %w", model, err)
		}
		row := Row{Workload: "idle-conns", Model: "braid-" + model, BytesPerTask: heap,
			Note: fmt.Sprintf("%d idle conns, heap+stack per conn; RSS says %.0f B", n, rss)}
		if model == "protocol" {
			row = cfg.withGoal(row, "<= 1024 B", heap <= 1024)
		}
		report(row)
	}
	return nil
}

func measureIdle(ctx context.Context, self, model string, n int) (heapPer, rssPer float64, err error) {
	s := echoServer{name: "braid-" + model, argv: []string{self, ChildCommand, "echo-server", "--model", model, "--port", "{port}"}}
	cmd, port, stdin, stdout, err := startServer(ctx, s, false)
	if err != nil {
		return 0, 0, err
	}
	defer stopServer(cmd, stdin)
	// The first line is the server's "listening" line.
	if _, err := stdout.ReadString('\n'); err != nil {
		return 0, 0, err
	}
	mem := func() (heap, rss float64, err error) {
		if _, err := io.WriteString(stdin, "mem\n"); err != nil {
			return 0, 0, err
		}
		line, err := stdout.ReadString('\n')
		if err != nil {
			return 0, 0, err
		}
		var h, st, r int64
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "mem heap=%d stack=%d rss=%d", &h, &st, &r); err != nil {
			return 0, 0, fmt.Errorf("unreadable memory line %q: %w", line, err)
		}
		return float64(h + st), float64(r), nil
	}
	h0, r0, err := mem()
	if err != nil {
		return 0, 0, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	one := []byte{'x'}
	buf := make([]byte, 1)
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("opening %d connections took over 2 minutes", n)
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return 0, 0, fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(one); err != nil {
			return 0, 0, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return 0, 0, fmt.Errorf("echo on connection %d: %w", i, err)
		}
	}
	h1, r1, err := mem()
	if err != nil {
		return 0, 0, err
	}
	return (h1 - h0) / float64(n), (r1 - r0) / float64(n), nil
}
