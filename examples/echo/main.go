// Command echo is the articles' echo server on an event loop: one task per
// connection, each reading lines and writing them back, many clients on one
// thread (asyncio.start_server with StreamReader/StreamWriter).
//
// Python:
//
//	async def handle(reader, writer):
//	    while line := await reader.readline():
//	        writer.write(line)
//	        await writer.drain()
//	    writer.close()
//	server = await asyncio.start_server(handle, "127.0.0.1", 8888)
//	async with server:
//	    await server.serve_forever()   # Ctrl-C cancels it
//
// braid: aio.Run, aio.StartServer, StreamReader.ReadLine, StreamWriter.Write
// and Drain, aio.NotifyContext (Ctrl-C ends serving, not the program),
// Server.ServeForever, Server.Shutdown; aio.OpenConnection and aio.Spawn
// for the clients.
//
// By default the program serves on a free port of 127.0.0.1 and runs
// -clients clients on the same loop, each sending -messages lines and
// checking every echo, and prints the round trips per second. With -serve
// ADDR it only serves, until SIGINT (Ctrl-C), then closes the connections
// and exits:
//
//	go run ./examples/echo -clients 1000 -messages 100
//	go run ./examples/echo -serve 127.0.0.1:8888   # and: nc 127.0.0.1 8888
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// handle is one connection's task: it echoes lines until the client
// closes or the server closes the connection.
func handle(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
	for {
		line, err := r.ReadLine(ctx)
		if len(line) > 0 {
			w.Write(line)
			if w.Drain(ctx) != nil {
				return
			}
		}
		if err != nil {
			return // EOF, a reset, or CloseClients; the writer is closed after this
		}
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serve := fs.String("serve", "", "serve on this address until SIGINT (e.g. 127.0.0.1:8888) instead of running clients")
	clients := fs.Int("clients", 100, "clients to run against the server")
	messages := fs.Int("messages", 100, "lines each client sends")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *clients < 1 || *messages < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "echo: -clients and -messages must be >= 1, and there are no arguments")
		return 2
	}
	addr := *serve
	if addr == "" {
		addr = "127.0.0.1:0"
	}

	err := aio.Run(ctx, func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", addr, handle)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "listening on %s\n", srv.Addr())
		if *serve == "" {
			defer srv.Close()
			return load(ctx, srv.Addr().String(), *clients, *messages, stdout)
		}
		// Ctrl-C ends sctx instead of cancelling this task, so the
		// connections' tasks go on until Shutdown closes them.
		sctx, stop := aio.NotifyContext(ctx, os.Interrupt)
		defer stop()
		if err := srv.ServeForever(sctx); ctx.Err() != nil {
			return err // ctx itself was cancelled: not a Ctrl-C
		}
		fmt.Fprintf(stdout, "shutting down %d connections\n", srv.Connections())
		dctx, tm := aio.WithTimeout(ctx, 5*time.Second)
		defer tm.Stop()
		if err := srv.Shutdown(dctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "closed")
		return nil
	})
	if err != nil {
		fmt.Fprintln(stderr, "echo:", err)
		return 1
	}
	return 0
}

// load runs the clients, each in its own task, and checks their echoes.
func load(ctx context.Context, addr string, clients, messages int, stdout io.Writer) error {
	start := time.Now()
	tasks := make([]*aio.Task[int], clients)
	for c := range tasks {
		tasks[c] = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			r, w, err := aio.OpenConnection(ctx, "tcp", addr)
			if err != nil {
				return 0, err
			}
			defer w.Close()
			for m := range messages {
				msg := fmt.Appendf(nil, "client %d message %d\n", c, m)
				w.Write(msg)
				if err := w.Drain(ctx); err != nil {
					return m, err
				}
				got, err := r.ReadLine(ctx)
				if err != nil {
					return m, err
				}
				if !bytes.Equal(got, msg) {
					return m, fmt.Errorf("client %d sent %q, got back %q", c, msg, got)
				}
			}
			return messages, nil
		})
	}
	counts, err := aio.Gather(ctx, tasks...)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%d clients x %d lines: %d echoes checked in %v (%.0f round trips/s on one loop)\n",
		clients, messages, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	return nil
}
