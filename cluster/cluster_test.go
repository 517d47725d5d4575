package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/nats-io/nkeys"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/cluster"
	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

func TestThousandTasks(t *testing.T) {
	c, _ := newClient(t, 3)
	ctx := context.Background()
	const n = 1000
	futs := make([]*futures.Future[int], n)
	for i := range futs {
		f, err := Square.Submit(ctx, c, i)
		if err != nil {
			t.Fatal(err)
		}
		futs[i] = f
	}
	for i, f := range futs {
		r, err := f.Result(ctx)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if r != i*i {
			t.Fatalf("task %d: got %d, want %d", i, r, i*i)
		}
	}
	// Map in chunks, through the same workers.
	i := 0
	for r, err := range Inc.Map(ctx, c, slices.Values(make([]int, n)), futures.WithChunkSize(50)) {
		if err != nil {
			t.Fatal(err)
		}
		if r != 1 {
			t.Fatalf("Map item %d: got %d", i, r)
		}
		i++
	}
	if i != n {
		t.Fatalf("Map yielded %d results, want %d", i, n)
	}
	// Every task finished once, as Done.
	done := 0
	for _, st := range c.Tasks() {
		if st.Status != cluster.Done {
			t.Fatalf("task %s: %v", st.ID, st.Status)
		}
		done++
	}
	if done != n+n/50 {
		t.Fatalf("%d tasks done, want %d", done, n+n/50)
	}
}

func TestErrorsCross(t *testing.T) {
	c, _ := newClient(t, 1)
	ctx := context.Background()
	_, err := Fail.Call(ctx, c, "no luck")
	var re *mp.RemoteError
	if !errors.As(err, &re) || err.Error() != "no luck" {
		t.Fatalf("Fail: %v (%T)", err, err)
	}
	_, err = Panic.Call(ctx, c, "here")
	var pe *futures.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Panic: %v (%T)", err, err)
	}
	id, err := ID.Call(ctx, c, 0)
	if err != nil || id == "" {
		t.Fatalf("TaskID: %q, %v", id, err)
	}
	if st, ok := c.Task(id); !ok || st.Status != cluster.Done || st.Worker == "" || st.Attempts != 1 {
		t.Fatalf("state of %s: %+v, %v", id, st, ok)
	}
	b, err := Echo.Call(ctx, c, []byte("raw bytes"))
	if err != nil || string(b) != "raw bytes" {
		t.Fatalf("Echo: %q, %v", b, err)
	}
	// A closure cannot cross.
	if _, err := futures.Submit(context.Background(), c, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, mp.ErrNotRemote) {
		t.Fatalf("closure: %v", err)
	}
	// Over the payload limit: refused at submit time.
	if _, err := Echo.Submit(ctx, c, make([]byte, 2<<20)); !errors.Is(err, cluster.ErrTooLarge) {
		t.Fatalf("large argument: %v", err)
	}
	// A result over the payload limit travels through the object store.
	big, err := Bytes.Call(ctx, c, 3<<20)
	if err != nil || len(big) != 3<<20 || big[12345] != byte(12345%256) {
		t.Fatalf("large result: %d bytes, %v", len(big), err)
	}
}

func TestWorkerKilledMidTask(t *testing.T) {
	c, w := newClient(t, 2, cluster.WithAckWait(time.Second))
	ctx := context.Background()
	fifo := newFIFO(t)
	h := hold{FIFO: fifo, Marker: t.TempDir() + "/marker"}
	held, err := Hold.Submit(ctx, c, h)
	if err != nil {
		t.Fatal(err)
	}
	var others []*futures.Future[int]
	for i := 0; i < 100; i++ {
		f, err := Square.Submit(ctx, c, i)
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, f)
	}
	wpid, _ := readAnnounce(t, fifo)
	w.kill(wpid)
	if r, err := held.Result(ctx); err != nil || r != "ok" {
		t.Fatalf("held task: %q, %v", r, err)
	}
	for i, f := range others {
		if r, err := f.Result(ctx); err != nil || r != i*i {
			t.Fatalf("task %d: %d, %v", i, r, err)
		}
	}
	var st cluster.TaskState
	for _, s := range c.Tasks() {
		if s.Function == "ctest.hold" {
			st = s
		}
	}
	if st.Attempts < 2 {
		t.Fatalf("held task: %d attempts, want >= 2 (%+v)", st.Attempts, st)
	}
	if strings.HasSuffix(st.Worker, fmt.Sprintf("-%d", wpid)) {
		t.Fatalf("held task completed on the killed worker %d: %+v", wpid, st)
	}
}

func TestCancelKillsRemoteTask(t *testing.T) {
	c, _ := newClient(t, 1)
	t.Run("cancel", func(t *testing.T) {
		fifo := newFIFO(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f, err := Block.Submit(ctx, c, fifo)
		if err != nil {
			t.Fatal(err)
		}
		_, proc := readAnnounce(t, fifo)
		cancel()
		if _, err := f.Result(context.Background()); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want an error matching context.Canceled", err)
		}
		waitGone(t, proc, 60*time.Second)
	})
	t.Run("deadline", func(t *testing.T) {
		// The deadline must be reached while the task runs, not before it
		// starts on a loaded machine: when the task did not start in time,
		// try again with a longer one.
		for d := time.Second; ; d *= 2 {
			fifo := newFIFO(t)
			ctx, cancel := context.WithTimeout(context.Background(), d)
			f, err := Block.Submit(ctx, c, fifo)
			if err != nil {
				t.Fatal(err)
			}
			r, err := os.OpenFile(fifo, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			started := make(chan int, 1)
			go func() {
				var w, p int
				if _, err := fmt.Fscan(r, &w, &p); err == nil {
					started <- p
				}
			}()
			_, err = f.Result(context.Background())
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want an error matching context.DeadlineExceeded", err)
			}
			var te *cluster.TaskError
			if !errors.As(err, &te) {
				// Failed before it ran: its worker will not run it.
				r.Close() // ends the reading goroutine
				if d > time.Minute {
					t.Fatal("the task never started before its deadline")
				}
				continue
			}
			// It was running: its process is killed.
			select {
			case proc := <-started:
				r.Close()
				waitGone(t, proc, 60*time.Second)
			case <-time.After(60 * time.Second):
				r.Close()
				t.Fatal("the running task never announced itself")
			}
			return
		}
	})
	// The worker goes on with other tasks.
	if r, err := Square.Call(context.Background(), c, 7); err != nil || r != 49 {
		t.Fatalf("after the kills: %d, %v", r, err)
	}
}

func TestBadCredentials(t *testing.T) {
	srv, err := cluster.StartServer(cluster.WithUserPassword("braid", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = cluster.New(ctx, cluster.WithURLs(srv.URL()), cluster.WithUserPassword("braid", "wrong"))
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	t.Logf("wrong password: %v", err)
	_, err = cluster.New(ctx, cluster.WithURLs(srv.URL()))
	if err == nil {
		t.Fatal("no credentials accepted")
	}
	c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()), cluster.WithUserPassword("braid", "s3cret"))
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	w := startWorkers(t, srv.URL(), 1, []string{"BRAID_CLUSTER_USER=braid", "BRAID_CLUSTER_PASSWORD=s3cret"})
	if r, err := Square.Call(ctx, c, 5); err != nil || r != 25 {
		t.Fatalf("with credentials: %d, %v", r, err)
	}
	w.stop()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestUnregisteredFunction(t *testing.T) {
	c, err := cluster.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	w := startWorkers(t, c.URL(), 1, []string{"CLUSTER_TEST_NO_MISSING=1"})
	defer w.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = Missing.Call(ctx, c, 1)
	if !errors.Is(err, mp.ErrUnregistered) {
		t.Fatalf("got %v, want an error matching mp.ErrUnregistered", err)
	}
	var te *cluster.TaskError
	if !errors.As(err, &te) || te.Worker == "" {
		t.Fatalf("got %v (%T), want a *cluster.TaskError naming the worker", err, err)
	}
	t.Log(err)
	if r, err := Square.Call(ctx, c, 3); err != nil || r != 9 {
		t.Fatalf("after: %d, %v", r, err)
	}
}

func TestNKeyAndTokenCredentials(t *testing.T) {
	dir := t.TempDir()
	seedFile := func(name string) string {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := kp.Seed()
		path := dir + "/" + name + ".nk"
		if err := os.WriteFile(path, seed, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good, bad := seedFile("good"), seedFile("bad")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name      string
		server    cluster.Option
		good, bad cluster.Option
	}{
		{"nkey", cluster.WithNKeySeedFile(good), cluster.WithNKeySeedFile(good), cluster.WithNKeySeedFile(bad)},
		{"token", cluster.WithToken("t0ken"), cluster.WithToken("t0ken"), cluster.WithToken("nope")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := cluster.StartServer(tc.server)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown()
			if _, err := cluster.New(ctx, cluster.WithURLs(srv.URL()), tc.bad); err == nil || !strings.Contains(err.Error(), "refused the credentials") {
				t.Fatalf("wrong %s: %v", tc.name, err)
			}
			c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()), tc.good)
			if err != nil {
				t.Fatalf("right %s: %v", tc.name, err)
			}
			if err := c.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A task whose pool process crashes is handed back with the back-off
// delay and runs again; on its last delivery the crash is its error.
func TestCrashedProcessRetried(t *testing.T) {
	c, _ := newClient(t, 1, cluster.WithBackoff(200*time.Millisecond, 400*time.Millisecond), cluster.WithMaxDeliver(3))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	marker := t.TempDir() + "/marker"
	r, err := CrashOnce.Call(ctx, c, marker)
	if err != nil || r != "ok" {
		t.Fatalf("%q, %v", r, err)
	}
	var st cluster.TaskState
	for _, s := range c.Tasks() {
		if s.Function == "ctest.crashonce" {
			st = s
		}
	}
	if st.Attempts != 2 || st.Status != cluster.Done {
		t.Fatalf("state %+v, want done after 2 attempts", st)
	}
	// Always crashing: the last delivery reports the *mp.WorkerError.
	_, err = Exit.Call(ctx, c, 5)
	var we *mp.WorkerError
	if !errors.As(err, &we) || we.ExitCode != 5 || we.Attempts != 3 || we.Function != "ctest.exit" {
		t.Fatalf("got %v (%T), want a *mp.WorkerError with exit code 5 after 3 attempts", err, err)
	}
	t.Log(err)
}
