package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/cluster"
)

func TestClusterStatus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := cluster.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)
	code, stdout, stderr := runArgs(t, "cluster", "status", "--server", c.URL(), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var st cluster.ClusterStatus
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if st.Queued != 0 || len(st.Workers) != 0 {
		t.Fatalf("status of an idle cluster: %+v", st)
	}
	code, stdout, _ = runArgs(t, "cluster", "status", "--server", c.URL())
	if code != 0 || !strings.Contains(stdout, "queue: 0 queued") || !strings.Contains(stdout, "workers: 0") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
}

func TestClusterStatusErrors(t *testing.T) {
	if code, _, stderr := runArgs(t, "cluster", "status"); code != 2 || !strings.Contains(stderr, "--server") {
		t.Fatalf("without --server: exit %d, %s", code, stderr)
	}
	code, _, stderr := runArgs(t, "cluster", "status", "--server", "nats://127.0.0.1:1", "--timeout", "5s")
	if code != 1 || !strings.Contains(stderr, "cannot connect") {
		t.Fatalf("unreachable server: exit %d, %s", code, stderr)
	}
}
