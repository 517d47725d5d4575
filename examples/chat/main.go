// Command chat is the articles' chat server on an event loop: every client
// has a task; each line a client sends goes to every other client; SIGINT
// (Ctrl-C) tells every client the server is going down, closes the
// connections and exits. The clients live in a plain map: tasks of one
// loop never run at once, so no lock guards it.
//
// Python:
//
//	clients = {}
//	async def handle(reader, writer):
//	    name = f"guest{next(ids)}"
//	    broadcast(f"* {name} joined\n")
//	    clients[writer] = name
//	    try:
//	        while line := await reader.readline():
//	            broadcast(f"{name}: {line.decode()}", skip=writer)
//	    finally:
//	        del clients[writer]
//	        broadcast(f"* {name} left\n")
//	server = await asyncio.start_server(handle, "127.0.0.1", 8888)
//	stop = asyncio.Event()
//	asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
//	serving = asyncio.create_task(server.serve_forever())
//	await stop.wait()                    # Ctrl-C
//	serving.cancel()
//	broadcast("* server shutting down\n")
//	server.close_clients()
//	await asyncio.wait_for(server.wait_closed(), 5)
//
// braid: aio.Run, aio.StartServer, aio.NotifyContext (Ctrl-C ends serving,
// not the main task), Server.ServeForever, Server.Shutdown,
// StreamReader.ReadLine, StreamWriter.Write; aio.Barrier and aio.Spawn for
// the bots.
//
// By default it serves on 127.0.0.1:8888 until SIGINT (try two or more
// terminals running nc 127.0.0.1 8888). With -bots N it instead serves on a
// free port, connects N bot clients on the same loop, has each say -lines
// lines, checks that every bot heard every other bot, prints the rate, and
// exits.
//
//	go run ./examples/chat
//	go run ./examples/chat -bots 50 -lines 20
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// room is the server's state. It belongs to the loop: only the loop's
// tasks touch it, one at a time.
type room struct {
	clients map[*aio.StreamWriter]string // the connected clients, by writer
	joined  int                          // to name the guests
}

// broadcast writes line to every client but skip. Write never waits: the
// line is buffered in each connection's transport and sent as the client
// reads.
func (rm *room) broadcast(line string, skip *aio.StreamWriter) {
	for w := range rm.clients {
		if w != skip {
			w.WriteString(line)
		}
	}
}

// handle is one client's task.
func (rm *room) handle(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
	rm.joined++
	name := fmt.Sprintf("guest%d", rm.joined)
	w.WriteString(fmt.Sprintf("* welcome %s, %d others here\n", name, len(rm.clients)))
	rm.broadcast("* "+name+" joined\n", nil)
	rm.clients[w] = name
	defer func() {
		delete(rm.clients, w)
		rm.broadcast("* "+name+" left\n", nil)
	}()
	for {
		line, err := r.ReadLine(ctx)
		if text := strings.TrimRight(string(line), "\r\n"); text != "" {
			rm.broadcast(name+": "+text+"\n", w)
		}
		if err != nil {
			return // the client left, or the server closed the connection
		}
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8888", "address to serve on")
	bots := fs.Int("bots", 0, "run this many bot clients on a free port, then exit (0: serve until SIGINT)")
	lines := fs.Int("lines", 10, "lines each bot says")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *bots < 0 || *bots == 1 || *lines < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "chat: -bots must be 0 or >= 2, -lines >= 1, and there are no arguments")
		return 2
	}
	if *bots > 0 {
		*addr = "127.0.0.1:0"
	}

	err := aio.Run(ctx, func(ctx context.Context) error {
		rm := &room{clients: map[*aio.StreamWriter]string{}}
		srv, err := aio.StartServer(ctx, "tcp", *addr, rm.handle)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "chat server on %s\n", srv.Addr())
		if *bots > 0 {
			defer srv.Close()
			return runBots(ctx, srv.Addr().String(), *bots, *lines, stdout)
		}
		// Ctrl-C ends sctx instead of cancelling this task, so the
		// clients' tasks go on until Shutdown closes their connections.
		sctx, stop := aio.NotifyContext(ctx, os.Interrupt)
		defer stop()
		if err := srv.ServeForever(sctx); ctx.Err() != nil {
			return err // ctx itself was cancelled: not a Ctrl-C
		}
		fmt.Fprintf(stdout, "shutting down: %d clients connected\n", len(rm.clients))
		rm.broadcast("* server shutting down\n", nil)
		dctx, tm := aio.WithTimeout(ctx, 5*time.Second)
		defer tm.Stop()
		if err := srv.Shutdown(dctx); err != nil { // after each one's buffered lines
			return err
		}
		fmt.Fprintln(stdout, "closed")
		return nil
	})
	if err != nil {
		fmt.Fprintln(stderr, "chat:", err)
		return 1
	}
	return 0
}

// runBots connects n bots; once all have joined, each says its lines and
// reads until it has heard every line of the others.
func runBots(ctx context.Context, addr string, n, lines int, stdout io.Writer) error {
	start := time.Now()
	allIn := aio.NewBarrier(n)
	tasks := make([]*aio.Task[int], n)
	for b := range tasks {
		tasks[b] = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			r, w, err := aio.OpenConnection(ctx, "tcp", addr)
			if err != nil {
				return 0, err
			}
			defer w.Close()
			if _, err := r.ReadLine(ctx); err != nil { // the welcome: we are in the room
				return 0, err
			}
			if _, err := allIn.Wait(ctx); err != nil {
				return 0, err
			}
			for i := range lines {
				w.WriteString(fmt.Sprintf("line %d of bot %d\n", i, b))
			}
			if err := w.Drain(ctx); err != nil {
				return 0, err
			}
			heard := 0
			for heard < (n-1)*lines {
				line, err := r.ReadLine(ctx)
				if err != nil {
					return heard, fmt.Errorf("bot %d heard %d lines of %d: %w", b, heard, (n-1)*lines, err)
				}
				if !strings.HasPrefix(string(line), "* ") { // not a join or leave notice
					heard++
				}
			}
			return heard, nil
		})
	}
	heard, err := aio.Gather(ctx, tasks...)
	if err != nil {
		return err
	}
	total := 0
	for _, h := range heard {
		total += h
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%d bots x %d lines: %d lines delivered in %v (%.0f lines/s on one loop)\n",
		n, lines, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	return nil
}
