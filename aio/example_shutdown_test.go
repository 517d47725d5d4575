package aio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/braid-go/braid/aio"
)

// echoLines is a stream handler that echoes lines until its connection
// ends.
func echoLines(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
	for {
		line, err := r.ReadLine(ctx)
		if err != nil {
			return // io.EOF once Shutdown closed the connection
		}
		w.Write(line)
	}
}

// Graceful shutdown on Ctrl-C (asyncio's add_signal_handler(SIGINT,
// stop.set)): SIGINT ends the serving context, not main, so the
// connections' handlers go on; Shutdown closes them after what they wrote,
// and Run returns nil. The example sends itself the SIGINT that Ctrl-C
// would.
func ExampleNotifyContext() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", echoLines)
		if err != nil {
			return err
		}
		sctx, stop := aio.NotifyContext(ctx, os.Interrupt)
		defer stop()

		client := aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			r, w, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String())
			if err != nil {
				return struct{}{}, err
			}
			defer w.Close()
			w.WriteString("hello\n")
			line, err := r.ReadLine(ctx)
			fmt.Printf("echoed %q, %v\n", line, err)
			syscall.Kill(os.Getpid(), syscall.SIGINT) // the user's Ctrl-C
			_, err = r.ReadLine(ctx)
			fmt.Println("then the server closed the connection:", errors.Is(err, io.EOF))
			return struct{}{}, nil
		})

		srv.ServeForever(sctx) // until Ctrl-C
		fmt.Println("serving ended:", context.Cause(sctx))
		dctx, tm := aio.WithTimeout(ctx, 5*time.Second) // main's ctx: SIGINT did not cancel it
		defer tm.Stop()
		if err := srv.Shutdown(dctx); err != nil {
			return err
		}
		_, err = client.Await(ctx)
		return err
	})
	fmt.Println("Run:", err)
	// Output:
	// echoed "hello\n", <nil>
	// serving ended: aio: received signal interrupt
	// then the server closed the connection: true
	// Run: <nil>
}

// Server.Shutdown in net/http's shape: stop listening, close the
// connections after their buffered writes, wait for them to end, bounded
// by the context (then it aborts what is left and returns ctx's error).
func ExampleServer_Shutdown() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", echoLines)
		if err != nil {
			return err
		}
		r, w, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer w.Close()
		w.WriteString("ping\n")
		line, _ := r.ReadLine(ctx)
		fmt.Printf("%q\n", line)

		dctx, tm := aio.WithTimeout(ctx, 5*time.Second)
		defer tm.Stop()
		err = srv.Shutdown(dctx)
		fmt.Println("Shutdown:", err, "connections:", srv.Connections(), "serving:", srv.IsServing())
		_, err = r.ReadLine(ctx)
		fmt.Println("client reads EOF:", errors.Is(err, io.EOF))
		return nil
	})
	fmt.Println(err)
	// Output:
	// "ping\n"
	// Shutdown: <nil> connections: 0 serving: false
	// client reads EOF: true
	// <nil>
}
