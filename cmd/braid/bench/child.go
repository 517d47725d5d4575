package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Some figures depend on the state of the process that measures them:
// the Go runtime sizes new goroutine stacks from the average stack it saw
// at the last garbage collection, and keeps freed memory. Those are
// measured in a fresh child process (as the Python peers are run), which
// is this same binary started again with BRAID_BENCH_CHILD set.

const childEnv = "BRAID_BENCH_CHILD"

// childMeasures are the measurements that run in a child process.
var childMeasures = map[string]func() (any, error){
	"sleeping-tasks": func() (any, error) {
		per, rss, err := SleepingTasks(100_000, time.Second)
		return [2]float64{per, rss}, err
	},
	"timers": func() (any, error) {
		d, peak, err := Timers(1_000_000)
		return [2]float64{d.Seconds(), peak}, err
	},
}

// ChildMain runs the measurement a parent asked for and exits, if this
// process was started as a measuring child; otherwise it returns at once.
// Call it at the top of main (and of TestMain in packages whose
// benchmarks measure in a child).
func ChildMain() {
	name := os.Getenv(childEnv)
	if name == "" {
		return
	}
	if name == articleServerChild {
		os.Exit(articleServerMain())
	}
	fn, ok := childMeasures[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "braid bench child: unknown measurement %q\n", name)
		os.Exit(2)
	}
	v, err := fn()
	if err != nil {
		fmt.Fprintf(os.Stderr, "braid bench child: %s: %v\n", name, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// inChild runs measurement name in a fresh copy of this binary and
// decodes its result into out.
func inChild(name string, out any) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary to measure %s in a child: %w", name, err)
	}
	cmd := exec.Command(exe, "-test.run=^$") // harmless for braid, keeps a test binary quiet
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	cmd.Stderr = os.Stderr
	data, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("measuring %s in a child process: %w", name, err)
	}
	return json.Unmarshal(data, out)
}

// SleepingTasksFresh is SleepingTasks(100_000, 1s) measured in a fresh
// child process: heap+stacks per task, and RSS growth per task.
func SleepingTasksFresh() (perTask, rssPerTask float64, err error) {
	var v [2]float64
	if err := inChild("sleeping-tasks", &v); err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}

// TimersFresh is Timers(1_000_000) measured in a fresh child process:
// wall seconds and peak RSS in MB.
func TimersFresh() (seconds, peakMB float64, err error) {
	var v [2]float64
	if err := inChild("timers", &v); err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}
