package aio_test

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// interrupt sends SIGINT to this process, as Ctrl-C does.
func interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

// waitDone suspends the task until ctx is done (a real clock: the hour is
// only a bound) and returns context.Cause(ctx).
func waitDone(ctx context.Context) error {
	if err := aio.Sleep(ctx, time.Hour); err == nil {
		return errors.New("an hour passed and the context is not done")
	}
	return context.Cause(ctx)
}

// The graceful shutdown of a stream server on Ctrl-C: with NotifyContext,
// SIGINT ends the serving context and not the main task, so the handlers
// (whose context is main's) go on serving; Shutdown closes their
// connections after what they wrote, and Run returns nil.
func TestNotifyContextGracefulShutdown(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			for {
				line, err := r.ReadLine(ctx)
				if err != nil {
					return
				}
				w.Write(line)
			}
		})
		if err != nil {
			return err
		}
		sctx, stop := aio.NotifyContext(ctx, os.Interrupt)
		defer stop()
		var echoedAfter aio.Event
		client := aio.Spawn(ctx, func(ctx context.Context) (string, error) {
			r, w, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String())
			if err != nil {
				return "", err
			}
			defer w.Close()
			roundTrip := func(s string) error {
				w.WriteString(s + "\n")
				got, err := r.ReadLine(ctx)
				if err == nil && string(got) != s+"\n" {
					err = errors.New("echoed " + string(got))
				}
				return err
			}
			if err := roundTrip("before"); err != nil {
				return "", err
			}
			interrupt(t)
			if cause := waitDone(sctx); !errors.Is(cause, context.Canceled) {
				return "", cause
			}
			if err := roundTrip("after"); err != nil { // the handler still serves
				return "", err
			}
			echoedAfter.Set()
			rest, err := r.ReadLine(ctx) // then Shutdown closes the connection
			return string(rest), err
		})
		if err := srv.ServeForever(sctx); !errors.Is(err, context.Canceled) {
			t.Errorf("ServeForever: %v, want context.Canceled", err)
		}
		var se *aio.SignalError
		if !errors.As(context.Cause(sctx), &se) || se.Signal != os.Interrupt {
			t.Errorf("the serving context's cause: %v, want a *aio.SignalError for SIGINT", context.Cause(sctx))
		}
		if ctx.Err() != nil {
			t.Errorf("SIGINT cancelled the main task although a handler took it: %v", ctx.Err())
		}
		if err := echoedAfter.Wait(ctx); err != nil {
			return err
		}
		dctx, tm := aio.WithTimeout(ctx, time.Minute)
		defer tm.Stop()
		if err := srv.Shutdown(dctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if n := srv.Connections(); n != 0 || srv.IsServing() {
			t.Errorf("after Shutdown: %d connections, serving %v", n, srv.IsServing())
		}
		if rest, err := client.Await(ctx); rest != "" || !errors.Is(err, io.EOF) {
			t.Errorf("client after Shutdown: %q, %v; want io.EOF", rest, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Run after a graceful shutdown: %v, want nil", err)
	}
}

// A second SIGINT, once NotifyContext took the first, gets Run's own
// handling: the main task is cancelled and Run returns ErrInterrupted (a
// shutdown that hangs can still be interrupted).
func TestNotifyContextSecondInterruptCancelsMain(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		sctx, stop := aio.NotifyContext(ctx)
		defer stop()
		interrupt(t)
		if cause := waitDone(sctx); !errors.Is(cause, context.Canceled) {
			return cause
		}
		if ctx.Err() != nil {
			t.Errorf("the first SIGINT cancelled main: %v", ctx.Err())
		}
		interrupt(t)
		return waitDone(ctx)
	})
	if !errors.Is(err, aio.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want ErrInterrupted", err)
	}
}

// stop removes the handler: SIGINT then cancels main again.
func TestNotifyContextStop(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		sctx, stop := aio.NotifyContext(ctx, os.Interrupt)
		stop()
		if !errors.Is(sctx.Err(), context.Canceled) {
			t.Errorf("after stop: %v, want context.Canceled", sctx.Err())
		}
		interrupt(t)
		return waitDone(ctx)
	})
	if !errors.Is(err, aio.ErrInterrupted) {
		t.Fatalf("Run: %v, want ErrInterrupted", err)
	}
}

// Mirrors asyncio.Runner: a main task that recovers from the interrupt's
// cancellation and returns normally makes Run return normally
// (run_until_complete returns its result; KeyboardInterrupt is raised
// only for a main task that ended cancelled).
func TestRunInterruptRecovered(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		interrupt(t)
		if err := waitDone(ctx); !errors.Is(err, context.Canceled) {
			return err
		}
		return nil // cleaned up, on purpose a success
	})
	if err != nil {
		t.Fatalf("Run: %v, want nil", err)
	}
}

// Shutdown bounded by its context: a client that never reads keeps its
// connection from closing (the server's writes stay buffered); when the
// context ends, Shutdown aborts it and returns the context's error.
func TestServerShutdownAbortsAtDeadline(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		var sent aio.Event
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			w.Write(make([]byte, 64<<20)) // far more than the sockets hold
			sent.Set()
			r.ReadLine(ctx)
		})
		if err != nil {
			return err
		}
		c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		if err := sent.Wait(ctx); err != nil {
			return err
		}
		dctx, tm := aio.WithTimeout(ctx, 50*time.Millisecond)
		defer tm.Stop()
		if err := srv.Shutdown(dctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v, want context.DeadlineExceeded", err)
		}
		if err := srv.WaitClosed(ctx); err != nil { // the abort ends it
			t.Errorf("WaitClosed after the abort: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestServerShutdownFromGoroutine(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(context.Context, *aio.StreamReader, *aio.StreamWriter) {})
		if err != nil {
			return err
		}
		defer srv.Close()
		errc := make(chan error, 1)
		go func() { errc <- srv.Shutdown(context.Background()) }()
		gerr, err := aio.ToThread(ctx, func(context.Context) (error, error) { return <-errc, nil })
		if err != nil {
			return err
		}
		if !errors.Is(gerr, aio.ErrNotInTask) || !srv.IsServing() {
			t.Errorf("Shutdown from a plain goroutine: %v (serving: %v), want ErrNotInTask and nothing touched", gerr, srv.IsServing())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
