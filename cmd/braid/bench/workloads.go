package bench

// Every workload of `braid bench`, in one place: the micro workloads (run
// by name; --list shows them in this order), the models of the cpu
// workload, and the helper processes that workloads start. The articles'
// experiment, the default run, has its own list (ExperimentWorkloads,
// experiment.go).

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// workloads is every micro workload, by name.
var workloads = []Workload{
	{
		Name:        "cpu",
		Description: "CPU-bound: 8 x fib(35) and 8 x prime count, sequential vs each model, with speed-up",
		Run:         runCPU,
	},
	{
		Name:        "echo",
		Description: "TCP echo: server child pinned to cpu0, braid load generator on cpu1; req/s, p50/p99, server CPU us/request and its kernel part (--conns, --size, --duration, --against)",
		Run:         runEcho,
		Flags:       echoFlagSet,
	},
	{
		Name:        "http",
		Description: "I/O-bound on the loop: 5,000 GETs (20 ms server) with braid's HTTP client, sequential and semaphore 50/200, vs plain Go net/http (--aiohttp-peer for Python's aiohttp; the goroutine pool is the threads workload)",
		Run:         runHTTP,
		Flags:       httpFlagSet,
	},
	{
		Name:        "idle-conns",
		Description: "memory per idle connection held by one braid loop (Protocol and streams servers, 10,000 connections)",
		Run:         runIdleConns,
		Flags:       idleFlagSet,
	},
	{
		Name:        "loop",
		Description: "event loop core: spawn+gather 100k tasks, queue ping-pong, memory of 100k sleeping tasks, 1M CallLater timers",
		Run:         runLoop,
	},
	{
		Name:        "pool",
		Description: "process pool (mp.Pool, 2 workers): start-up, Submit and Map throughput, round trip, 10 MB argument, 8 x fib(35) (--pool-peer for Python's pools)",
		Run:         runPool,
		Flags:       poolFlagSet,
	},
	{
		Name:        "threads",
		Description: "I/O-bound through threads: 5,000 blocking GETs (20 ms server) via aio.ToThread with 20/200 workers vs plain goroutines (--requests-peer for Python)",
		Run:         runThreads,
		Flags:       threadsFlagSet,
	},
}

// cpuModels is every model of the cpu workload, one row each per task
// kind, in this order; the first, sequential, is the baseline of the
// speed-ups.
var cpuModels = []CPUModel{
	{Name: "sequential", Note: "one goroutine, one task after another", Run: runCPUSequential},
	{Name: "aio (one loop, a task each)", Note: "single-threaded: expect ~1.0x", Run: runCPULoop},
	{Name: fmt.Sprintf("futures.ThreadPool(%d)", runtime.GOMAXPROCS(0)), Note: "goroutine pool, GOMAXPROCS workers", Run: runCPUThreadPool},
	{Name: "plain goroutines (peer)", Note: "one goroutine per task + WaitGroup", Run: runCPUGoroutines},
	{Name: fmt.Sprintf("mp.Pool(%d)", poolWorkers), Note: "worker processes, pool start included", Run: runCPUProcessPool},
}

// ChildCommand is the hidden first argument with which `braid` runs as a
// helper process of a workload (the echo workload's server). RunChild
// handles it.
const ChildCommand = "_bench-child"

// children are the helper process modes, run by
// `braid _bench-child NAME ARGS...`. (The measurements that need a fresh
// process and the article server are started through ChildMain instead:
// child.go.)
var children = map[string]func(args []string) int{
	"echo-server": echoServerMain, // echo and idle-conns
}

// RunChild runs the helper mode named by args[0] and returns its exit
// code.
func RunChild(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "braid: "+ChildCommand+" needs a mode")
		return 2
	}
	main, ok := children[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "braid: unknown helper mode %q\n", args[0])
		return 2
	}
	return main(args[1:])
}

// All returns every micro workload, in the order of the table.
func All() []Workload {
	return append([]Workload(nil), workloads...)
}

// Select returns the named workloads in the order given, or every
// workload when names is empty. An unknown name is an error that lists
// the known ones.
func Select(names []string) ([]Workload, error) {
	all := All()
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]Workload{}
	known := make([]string, 0, len(all))
	for _, w := range all {
		byName[w.Name] = w
		known = append(known, w.Name)
	}
	out := make([]Workload, 0, len(names))
	for _, n := range names {
		w, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("unknown workload %q: known workloads are %s", n, strings.Join(known, ", "))
		}
		out = append(out, w)
	}
	return out, nil
}
