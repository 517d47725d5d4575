package cluster_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/braid-go/braid/cluster"
	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BadInit is a pool initializer that always fails: a pool given it breaks.
var BadInit = mp.Register("ctest.badinit", func(ctx context.Context, _ int) (int, error) {
	return 0, errors.New("no database here")
})

// A worker whose process pool breaks hands its task back and stops with
// an error matching futures.ErrBroken, instead of failing every task sent
// to it; a healthy worker then completes the task.
func TestBrokenPoolHandsBack(t *testing.T) {
	c, w := newClient(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	f, err := Square.Submit(ctx, c, 9)
	if err != nil {
		t.Fatal(err)
	}
	err = cluster.Serve(ctx, cluster.WithURLs(c.URL()), cluster.WithWorkerName("broken"),
		cluster.WithPoolOptions(mp.WithInitializer(BadInit, 0)))
	if !errors.Is(err, futures.ErrBroken) {
		t.Fatalf("Serve with a broken pool returned %v, want an error matching futures.ErrBroken", err)
	}
	t.Log(err)
	if f.State().Done() {
		r, err := f.Result(ctx)
		t.Fatalf("the task ended on the broken worker: %d, %v", r, err)
	}
	w.add(c.URL(), nil)
	if r, err := f.Result(ctx); err != nil || r != 81 {
		t.Fatalf("after a healthy worker joined: %d, %v", r, err)
	}
	for _, st := range c.Tasks() {
		if st.Worker == "broken" {
			t.Fatalf("task state names the broken worker: %+v", st)
		}
	}
}

// Close cancels the tasks no worker has started, and none of them stays
// in the stream to be run later, even those whose publish was not yet
// acknowledged when Close came.
func TestCloseDeletesQueuedTasks(t *testing.T) {
	srv, err := cluster.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	var futs []*futures.Future[int]
	for i := range 300 {
		f, err := Square.Submit(ctx, c, i)
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	c.Close()
	for i, f := range futs {
		if _, err := f.Result(ctx); !errors.Is(err, futures.ErrCancelled) {
			t.Fatalf("task %d after Close: %v, want cancelled", i, err)
		}
	}
	if _, err := Square.Submit(ctx, c, 1); !errors.Is(err, futures.ErrShutdown) {
		t.Fatalf("Submit after Close: %v", err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the client did not let go of its connection after Close")
	}
	st, err := cluster.Status(ctx, cluster.WithURLs(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stored != 0 || st.Queued != 0 {
		t.Fatalf("after Close, the stream still holds tasks: %+v", st)
	}
}

// A task dropped from the stream while its client was away (here taken
// and terminated by a rogue consumer, as a worker does when it cannot reach
// the client for 10 s) fails with ErrLost when the client reconnects,
// instead of waiting for ever.
func TestLostTaskFailsOnReconnect(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srv, err := cluster.StartServer(cluster.WithStoreDir(dir), cluster.WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown() }()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)
	f, err := Square.Submit(ctx, c, 4)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, "braid_tasks", "workers")
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(60 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DoubleAck(ctx); err != nil { // gone from the stream, no result sent
		t.Fatal(err)
	}
	nc.Close()
	srv.Shutdown()
	srv, err = cluster.StartServer(cluster.WithStoreDir(dir), cluster.WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(ctx)
	if !errors.Is(err, cluster.ErrLost) {
		t.Fatalf("got %v, want an error matching cluster.ErrLost", err)
	}
	t.Log(err)
}

// The embedded server's temporary store directory goes with the client;
// a directory given with WithStoreDir stays, with the streams in it.
func TestEmbeddedStoreDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := cluster.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := c.Server().StoreDir()
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the owned store directory %s is still there after Shutdown: %v", dir, err)
	}
	kept := t.TempDir()
	c, err = cluster.New(ctx, cluster.WithStoreDir(kept))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(kept); err != nil || len(ents) == 0 {
		t.Fatalf("the given store directory was emptied or removed: %v, %v", ents, err)
	}
}

// Cancelling a queued task's future (Python's future.cancel()), or its
// context, takes the task out of the stream: no worker runs it, and
// Shutdown does not wait for it.
func TestFutureCancelDeletesTask(t *testing.T) {
	srv, err := cluster.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Square.Submit(ctx, c, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Cancel() {
		t.Fatal("Cancel of a queued task's future returned false")
	}
	if st := c.Tasks(); len(st) != 1 || st[0].Status != cluster.Cancelled {
		t.Fatalf("states after Cancel: %+v", st)
	}
	// The same through the task's context (whether or not the stream
	// acknowledged the publish by then).
	for range 2 {
		tctx, tcancel := context.WithCancel(ctx)
		f, err := Square.Submit(tctx, c, 3)
		if err != nil {
			t.Fatal(err)
		}
		tcancel()
		if _, err := f.Result(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("after its context was cancelled: %v", err)
		}
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after the only task was cancelled: %v", err)
	}
	st, err := cluster.Status(ctx, cluster.WithURLs(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stored != 0 {
		t.Fatalf("the cancelled task is still in the stream: %+v", st)
	}
}

// A server restarted without its store (the streams gone): the client
// makes the stream again and fails the tasks the old one held with
// ErrLost (a running one waits for its worker's result), the worker makes its consumer again and goes on serving, and
// new tasks complete.
func TestServerLostStore(t *testing.T) {
	port := freePort(t)
	srv, err := cluster.StartServer(cluster.WithStoreDir(t.TempDir()), cluster.WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown() }()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)
	w := startWorkers(t, srv.URL(), 1, nil)
	if r, err := Square.Call(ctx, c, 2); err != nil || r != 4 {
		t.Fatalf("before: %d, %v", r, err)
	}
	// A task that stays queued: its only worker is busy with a gate.
	ready, rel := newFIFO(t), newFIFO(t)
	g, err := Gate.Submit(ctx, c, gate{Ready: ready, Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	readAnnounce(t, ready)
	// The worker's pool has 1 process and prefetch 1: a second gate
	// waits in the worker; the third stays in the stream.
	var queued []*futures.Future[int]
	for i := range 2 {
		f, err := Square.Submit(ctx, c, i)
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, f)
	}
	srv.Shutdown()
	srv, err = cluster.StartServer(cluster.WithStoreDir(t.TempDir()), cluster.WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	release(t, rel)
	// The running gate's result goes straight to the client, which keeps
	// a task a worker reported running when the store is lost; the report
	// may not have come before the server stopped, and then the task is
	// failed as lost.
	if r, err := g.Result(ctx); (err != nil || r != "released") && !errors.Is(err, cluster.ErrLost) {
		t.Fatalf("the running task: %q, %v", r, err)
	}
	for i, f := range queued {
		// Each queued task ends: run (it was already with the worker),
		// or lost with the store.
		if r, err := f.Result(ctx); err != nil && !errors.Is(err, cluster.ErrLost) || err == nil && r != i*i {
			t.Fatalf("queued task %d: %d, %v", i, r, err)
		}
	}
	if r, err := Square.Call(ctx, c, 5); err != nil || r != 25 {
		t.Fatalf("after the store was lost: %d, %v", r, err)
	}
	w.stop()
}

// A worker whose consumer is deleted under it (an operator's `nats
// consumer rm`) makes it again and goes on serving, instead of returning
// as if it had been told to stop.
func TestConsumerDeleted(t *testing.T) {
	c, w := newClient(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if r, err := Square.Call(ctx, c, 2); err != nil || r != 4 {
		t.Fatalf("before: %d, %v", r, err)
	}
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteConsumer(ctx, "braid_tasks", "workers"); err != nil {
		t.Fatal(err)
	}
	if r, err := Square.Call(ctx, c, 3); err != nil || r != 9 {
		t.Fatalf("after the consumer was deleted: %d, %v", r, err)
	}
	select {
	case err := <-w.errs[0]:
		w.errs[0] = nil
		t.Fatalf("the worker exited: %v", err)
	default:
	}
}
