package cluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/braid-go/braid/mp"
)

// WorkerFlag is the flag that makes Main serve as a worker.
const WorkerFlag = "--braid-worker"

// Main is mp.Main plus a worker switch: call it first thing in main (and in
// TestMain), instead of mp.Main. When the program is started as
//
//	./prog --braid-worker nats://host:4222[,nats://host2:4222] [--concurrency N]
//	       [--prefetch N] [--name NAME] [--namespace NS] [--drain-timeout 30s]
//
// Main serves tasks as a cluster worker (Serve) until SIGTERM or SIGINT,
// drains, and exits the process; otherwise it returns at once. Credentials
// come from the environment, never the command line (which other users of
// the machine can read), see EnvOptions. opts are passed to Serve, for
// example WithPoolOptions.
func Main(opts ...Option) {
	mp.Main()
	if len(os.Args) < 2 || !strings.HasPrefix(os.Args[1], WorkerFlag) {
		return
	}
	os.Exit(workerMain(os.Args[1:], opts))
}

func workerMain(args []string, opts []Option) int {
	fs := flag.NewFlagSet("braid worker", flag.ContinueOnError)
	urls := fs.String(strings.TrimPrefix(WorkerFlag, "--"), "", "NATS server URLs, comma-separated")
	conc := fs.Int("concurrency", 1, "tasks run at once, each in a process of the worker's pool")
	prefetch := fs.Int("prefetch", -1, "tasks taken beyond those running (default: the concurrency)")
	name := fs.String("name", "", "worker name (default host-pid)")
	ns := fs.String("namespace", defaultNamespace, "cluster namespace")
	drain := fs.Duration("drain-timeout", defaultDrain, "how long running tasks may finish after SIGTERM")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *urls == "" {
		fmt.Fprintln(os.Stderr, "braid worker: "+WorkerFlag+" needs the NATS server URLs, e.g. "+WorkerFlag+" nats://127.0.0.1:4222")
		return 2
	}
	o := []Option{WithURLs(strings.Split(*urls, ",")...), WithConcurrency(*conc), WithNamespace(*ns), WithDrainTimeout(*drain)}
	if *prefetch >= 0 {
		o = append(o, WithPrefetch(*prefetch))
	}
	if *name != "" {
		o = append(o, WithWorkerName(*name))
	}
	env, err := EnvOptions()
	if err != nil {
		fmt.Fprintf(os.Stderr, "braid worker: %v\n", err)
		return 2
	}
	o = append(o, env...)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Serve(ctx, append(o, opts...)...); err != nil {
		fmt.Fprintf(os.Stderr, "braid worker: %v\n", err)
		return 1
	}
	return 0
}
