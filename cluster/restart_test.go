package cluster_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/cluster"
	"github.com/braid-go/braid/futures"
)

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestServerRestartMidBatch(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srv, err := cluster.StartServer(cluster.WithStoreDir(dir), cluster.WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown() }()
	ctx := context.Background()
	c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()), cluster.WithAckWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := c.Shutdown(sctx); err != nil {
			t.Error(err)
		}
	}()
	w := startWorkers(t, srv.URL(), 2, nil, "--concurrency", "2")
	defer w.stop()
	const n = 400
	futs := make([]*futures.Future[int], n)
	for i := range futs {
		f, err := Slow.Submit(ctx, c, 20)
		if err != nil {
			t.Fatal(err)
		}
		futs[i] = f
	}
	// Restart the server once some tasks are done and many are not.
	if _, err := futs[n/8].Result(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	if futs[n-1].State().Done() {
		t.Fatal("the batch was done before the server stopped: nothing to test")
	}
	srv, err = cluster.StartServer(cluster.WithStoreDir(dir), cluster.WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	// More tasks after the restart, on the reconnected client.
	for i := 0; i < 50; i++ {
		f, err := Slow.Submit(ctx, c, 1)
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	wctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	for i, f := range futs {
		if _, err := f.Result(wctx); err != nil {
			t.Fatalf("task %d of %d: %v (%d pending)", i, len(futs), err, c.Pending())
		}
	}
}

// A task whose every delivery kills its worker fails with the max
// deliveries error once they run out. The server raises the advisory when
// it would deliver the task again, to a worker that asks for tasks: of 3
// workers, 2 die and the third asks.
func TestMaxDeliveries(t *testing.T) {
	c, w := newClient(t, 0, cluster.WithAckWait(time.Second), cluster.WithMaxDeliver(2))
	for i := 0; i < 3; i++ {
		w.add(c.URL(), nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	_, err := KillWorker.Call(ctx, c, 0)
	if !errors.Is(err, cluster.ErrMaxDeliveries) {
		t.Fatalf("got %v, want ErrMaxDeliveries", err)
	}
	var te *cluster.TaskError
	if !errors.As(err, &te) || te.Attempts != 2 {
		t.Fatalf("got %v, want a TaskError after 2 attempts", err)
	}
	t.Log(err)
}

func killedBySignal(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	return false
}
