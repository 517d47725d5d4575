package cluster_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/cluster"
	"github.com/nats-io/nats.go"
)

// SIGTERM lets a running task finish.
func TestDrainFinishesRunningTask(t *testing.T) {
	c, w := newClient(t, 0)
	cmd := w.add(c.URL(), nil)
	ctx := context.Background()
	fifo := newFIFO(t)
	rel := newFIFO(t)
	f, err := Gate.Submit(ctx, c, gate{Ready: fifo, Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	readAnnounce(t, fifo)
	cmd.Process.Signal(syscall.SIGTERM)
	release(t, rel)
	if r, err := f.Result(ctx); err != nil || r != "released" {
		t.Fatalf("%q, %v", r, err)
	}
	if err := <-w.errs[0]; err != nil {
		t.Fatalf("worker exit: %v", err)
	}
	w.errs[0] = nil
}

// A worker whose drain times out kills its running task and hands it
// back: another worker completes it.
func TestDrainHandsBackTask(t *testing.T) {
	c, w := newClient(t, 0)
	first := w.add(c.URL(), nil, "--drain-timeout", "100ms")
	ctx := context.Background()
	fifo := newFIFO(t)
	f, err := Hold.Submit(ctx, c, hold{FIFO: fifo, Marker: t.TempDir() + "/marker"})
	if err != nil {
		t.Fatal(err)
	}
	readAnnounce(t, fifo)
	first.Process.Signal(syscall.SIGTERM)
	if err := <-w.errs[0]; err != nil {
		t.Fatalf("worker exit: %v", err)
	}
	w.errs[0] = nil
	w.add(c.URL(), nil)
	if r, err := f.Result(ctx); err != nil || r != "ok" {
		t.Fatalf("%q, %v", r, err)
	}
}

// A malformed message is terminated with a logged reason; the workers go
// on.
func TestMalformedMessage(t *testing.T) {
	c, _ := newClient(t, 1)
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := make(chan *nats.Msg, 16)
	sub, err := nc.Subscribe("braid.result.tester", func(m *nats.Msg) {
		m.Respond(nil)
		select {
		case got <- m:
		default: // offers repeated many times: the test has what it needs
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for _, m := range []*nats.Msg{
		{Subject: "braid.task", Data: []byte("no headers at all")},
		{Subject: "braid.task", Header: nats.Header{"Nats-Msg-Id": {"x.y"}, "Braid-Fn": {"ctest.square"}, "Braid-Client": {"c"}}},
		{Subject: "braid.task", Header: nats.Header{"Nats-Msg-Id": {"id1"}, "Braid-Fn": {"ctest.square"}, "Braid-Client": {"c"}, "Braid-Deadline": {"soon"}}},
		// Over the worker's payload limit (1 MiB), under the server's.
		{Subject: "braid.task", Header: nats.Header{"Nats-Msg-Id": {"id3"}, "Braid-Fn": {"ctest.square"}, "Braid-Client": {"tester"}}, Data: make([]byte, 1<<20+1)},
		// Well formed, with an argument that is not CBOR: its "client",
		// the subscription below, gets a decode error.
		{Subject: "braid.task", Header: nats.Header{"Nats-Msg-Id": {"id2"}, "Braid-Fn": {"ctest.square"}, "Braid-Client": {"tester"}}, Data: []byte{0xff, 0xfe}},
		// The worker's own function, not callable from outside.
		{Subject: "braid.task", Header: nats.Header{"Nats-Msg-Id": {"id4"}, "Braid-Fn": {"braid.cluster.run"}, "Braid-Client": {"tester"}}, Data: []byte{0xa0}},
	} {
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	nc.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < 20; i++ {
		if r, err := Square.Call(ctx, c, i); err != nil || r != i*i {
			t.Fatalf("after malformed messages: %d, %v", r, err)
		}
	}
	// The bad argument (id2), the oversized task (id3) and the internal
	// function (id4) are answered, each with its own error; an offer repeated is not a
	// second answer.
	seen := map[string]bool{}
	for len(seen) < 3 {
		select {
		case m := <-got:
			id := m.Header.Get("Braid-Task")
			switch id {
			case "id2":
				if m.Header.Get("Braid-Status") != "error" || !strings.Contains(string(m.Data), `"kind":"remote"`) {
					t.Fatalf("result of a bad argument: %v %s", m.Header, m.Data)
				}
			case "id3":
				if m.Header.Get("Braid-Status") != "error" || !strings.Contains(string(m.Data), "too-large") {
					t.Fatalf("result of an oversized task: %v %s", m.Header, m.Data)
				}
			case "id4":
				if m.Header.Get("Braid-Status") != "error" || !strings.Contains(string(m.Data), "unregistered") {
					t.Fatalf("result of a task naming the worker's own function: %v %s", m.Header, m.Data)
				}
			default:
				t.Fatalf("a result for task %q, which was never sent to this client: %v %s", id, m.Header, m.Data)
			}
			seen[id] = true
		case <-ctx.Done():
			t.Fatalf("answers for %v only, want id2, id3 and id4", seen)
		}
	}
	if _, err := cluster.Status(ctx); err != cluster.ErrNoURL {
		t.Fatalf("Status without URL: %v", err)
	}
}

func TestStatusListsWorkers(t *testing.T) {
	c, w := newClient(t, 1)
	ctx := context.Background()
	if _, err := Square.Call(ctx, c, 2); err != nil {
		t.Fatal(err)
	}
	st, err := cluster.Status(ctx, cluster.WithURLs(c.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Workers) != 1 || st.Workers[0].PID != w.pids()[0] || st.Workers[0].Concurrency != 2 {
		t.Fatalf("status: %+v", st)
	}
}
