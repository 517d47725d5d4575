package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

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
	var st cluster.StatusReport
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

// The credential files of a server that requires an nkey, given as flags.
func TestClusterStatusCredentialFlags(t *testing.T) {
	dir := t.TempDir()
	seed := func(name string) string {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		s, _ := kp.Seed()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, s, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good, bad := seed("good.nk"), seed("bad.nk")
	srv, err := cluster.StartServer(cluster.WithNKeySeedFile(good))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()), cluster.WithNKeySeedFile(good))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)
	if code, stdout, stderr := runArgs(t, "cluster", "status", "--server", srv.URL(), "--nkey-seed", good); code != 0 || !strings.Contains(stdout, "queue: 0 queued") {
		t.Fatalf("with the right seed: exit %d: %s %s", code, stdout, stderr)
	}
	// The flag wins over a credential in the environment.
	t.Setenv("BRAID_CLUSTER_TOKEN", "not-this")
	if code, _, stderr := runArgs(t, "cluster", "status", "--server", srv.URL(), "--nkey-seed", good); code != 0 {
		t.Fatalf("flag and environment: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runArgs(t, "cluster", "status", "--server", srv.URL(), "--nkey-seed", bad); code != 1 || !strings.Contains(stderr, "refused the credentials") {
		t.Fatalf("with a wrong seed: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runArgs(t, "cluster", "status", "--server", srv.URL(), "--tls-ca", filepath.Join(dir, "missing.pem")); code != 2 || !strings.Contains(stderr, "--tls-ca") {
		t.Fatalf("with a missing CA file: exit %d: %s", code, stderr)
	}
}
