package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/braid-go/braid/futures"
)

// ExpOptions configures RunExperiment.
type ExpOptions struct {
	Params    ExpParams
	Rounds    int      // rounds of every model (>= 1); each figure is their median
	Workloads []string // a subset of ExperimentWorkloads, in order
	// Python runs the Python peers too, with the interpreter PythonExe
	// (default: /usr/bin/python3 if present, else python3 on PATH).
	Python    bool
	PythonExe string
	// Step is called before each measured step with the steps done so
	// far, the total, and what is about to run. May be nil.
	Step func(done, total int, what string)
}

// ModelStats is every round of one model of one workload.
type ModelStats struct {
	Impl string // "braid" or "python"
	Name string // e.g. "threads(2)"
	Kind string // sequential, loop, loop+sem, threads, processes, hybrid
	Size int
	// Wall, CPU (seconds) and PeakMB hold one value per round; NaN where
	// the round did not measure the model (interrupted).
	Wall, CPU, PeakMB []float64
	// Timeline is a sample of tasks from the round whose wall time was
	// the median.
	Timeline  []TaskTimeline
	timelines [][]TaskTimeline
}

// ExpResult is one workload of the experiment.
type ExpResult struct {
	Workload string
	Title    string // what one run does (braid's sizes)
	PyTitle  string // the Python side's sizes, when they differ
	Rounds   int    // rounds started
	Models   []ModelStats
	// PoolStart is the process pool's start-up (new pool to a result from
	// every worker), per implementation, in seconds per round.
	PoolStart map[string][]float64
	// Busy names what made this machine unreliable during the workload
	// ("" when it was not).
	Busy string
	// PyNote says why the Python peers did not run (missing packages).
	PyNote      string
	Interrupted bool
	Verdict     []string
}

// stepsPerRound is the number of progress steps of one round.
func stepsPerRound(w expWorkload, python bool) int {
	n := len(w.models) + 1 // + the pool start-up
	if python {
		n++
	}
	return n
}

// RunExperiment runs the articles' experiment. When ctx ends, it returns
// what it measured so far with ctx's error.
func RunExperiment(ctx context.Context, opts ExpOptions) ([]*ExpResult, error) {
	if opts.Rounds < 1 {
		opts.Rounds = 1
	}
	srv, err := startArticleChild(ctx, opts.Params.Latency)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	var py *pythonPeer
	pyNote := ""
	if opts.Python {
		py, pyNote = newPythonPeer(ctx, opts.PythonExe)
		if py != nil {
			defer py.close()
		}
	}
	workloads := make([]expWorkload, len(opts.Workloads))
	total := 0
	for i, name := range opts.Workloads {
		workloads[i] = newWorkload(name, opts.Params, srv.url)
		total += opts.Rounds * stepsPerRound(workloads[i], py != nil)
	}
	done := 0
	step := func(what string) {
		if opts.Step != nil {
			opts.Step(done, total, what)
		}
		done++
	}
	var results []*ExpResult
	for _, w := range workloads {
		res := &ExpResult{Workload: w.name, Title: w.title, PyNote: pyNote, PoolStart: map[string][]float64{}}
		results = append(results, res)
		for _, m := range w.models {
			res.Models = append(res.Models, ModelStats{Impl: "braid", Name: m.name, Kind: m.kind, Size: m.size})
		}
		load := startLoadWatch()
		err := runRounds(ctx, w, opts, py, res, step)
		res.Busy = load.verdict()
		for i := range res.Models {
			res.Models[i].pickTimeline()
		}
		if err != nil {
			if ctx.Err() != nil {
				res.Interrupted = true
				res.Verdict = verdict(res, opts.Params)
				return results, ctx.Err()
			}
			return results, fmt.Errorf("%s: %w", w.name, err)
		}
		res.Verdict = verdict(res, opts.Params)
	}
	return results, nil
}

func runRounds(ctx context.Context, w expWorkload, opts ExpOptions, py *pythonPeer, res *ExpResult, step func(string)) error {
	for i := range res.Models {
		m := &res.Models[i]
		m.Wall, m.CPU, m.PeakMB = nans(opts.Rounds), nans(opts.Rounds), nans(opts.Rounds)
		m.timelines = make([][]TaskTimeline, opts.Rounds)
	}
	for r := 0; r < opts.Rounds; r++ {
		res.Rounds = r + 1
		// Alternate the order: rotate by the round, and reverse every
		// other round, so that no model always runs after the same one.
		order := make([]int, len(w.models))
		for i := range order {
			order[i] = (i + r) % len(order)
		}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		pyFirst := r%2 == 1
		if py != nil && pyFirst {
			step(fmt.Sprintf("%s round %d/%d: python", w.name, r+1, opts.Rounds))
			if err := pyRound(ctx, py, w, opts.Params, r, res); err != nil {
				return err
			}
		}
		step(fmt.Sprintf("%s round %d/%d: process pool start-up", w.name, r+1, opts.Rounds))
		ps, err := expPoolStartup(ctx, opts.Params.SmallPool)
		if err != nil {
			return fmt.Errorf("process pool start-up: %w", err)
		}
		res.PoolStart["braid"] = append(res.PoolStart["braid"], ps.Seconds())
		for _, i := range order {
			m := w.models[i]
			step(fmt.Sprintf("%s round %d/%d: %s", w.name, r+1, opts.Rounds, m.name))
			s, err := runModel(ctx, w, m)
			if err != nil {
				return err
			}
			st := &res.Models[i]
			st.Wall[r], st.CPU[r], st.PeakMB[r] = s.Wall.Seconds(), s.CPU.Seconds(), s.PeakMB
			st.timelines[r] = s.Timeline
		}
		if py != nil && !pyFirst {
			step(fmt.Sprintf("%s round %d/%d: python", w.name, r+1, opts.Rounds))
			if err := pyRound(ctx, py, w, opts.Params, r, res); err != nil {
				return err
			}
		}
	}
	return nil
}

// pyRound runs Python's round unless an earlier one failed. A failure of
// the Python side is noted under the tables and ends the Python side, not
// the run; only an interruption is returned.
func pyRound(ctx context.Context, py *pythonPeer, w expWorkload, p ExpParams, r int, res *ExpResult) error {
	if py.failed != "" {
		res.PyNote = py.failed
		return nil
	}
	err := py.round(ctx, w, p, r, res)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		py.failed = "the Python peers failed, and were left out from then on: " + strings.ReplaceAll(err.Error(), "\n", " | ")
		res.PyNote = py.failed
	}
	return nil
}

// pickTimeline keeps the timeline of the median round.
func (m *ModelStats) pickTimeline() {
	best, bestD := -1, math.Inf(1)
	med := m.WallStat().Median
	for r, w := range m.Wall {
		if !math.IsNaN(w) && r < len(m.timelines) && m.timelines[r] != nil && math.Abs(w-med) < bestD {
			best, bestD = r, math.Abs(w-med)
		}
	}
	if best >= 0 {
		m.Timeline = m.timelines[best]
	}
}

// expPoolStartup times a new process pool of n workers until every worker
// has returned a result, and its shutdown.
func expPoolStartup(ctx context.Context, n int) (time.Duration, error) {
	t0 := time.Now()
	pool, err := newExpPool(n)
	if err != nil {
		return 0, err
	}
	defer closePool(pool)
	fs := make([]*futures.Future[int], n)
	for i := range fs {
		if fs[i], err = poolInc.Submit(ctx, pool, i); err != nil {
			return 0, err
		}
	}
	for _, f := range fs {
		if _, err := f.Result(ctx); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

// WallStat is the model's wall time over its rounds.
func (m *ModelStats) WallStat() Stat { return statOf(m.Wall) }

// CPUStat is the model's CPU time over its rounds.
func (m *ModelStats) CPUStat() Stat { return statOf(m.CPU) }

// PeakStat is the model's peak memory over its rounds.
func (m *ModelStats) PeakStat() Stat { return statOf(m.PeakMB) }

// Model returns the stats of the model of impl named name, or nil.
func (r *ExpResult) Model(impl, name string) *ModelStats {
	for i := range r.Models {
		if r.Models[i].Impl == impl && r.Models[i].Name == name {
			return &r.Models[i]
		}
	}
	return nil
}

// Speedup is the model's speed-up over its implementation's sequential
// model, as the median of per-round ratios with their range.
func (r *ExpResult) Speedup(m *ModelStats) Stat {
	seq := r.Model(m.Impl, "sequential")
	if seq == nil {
		return statOf(nil)
	}
	return ratio(seq.Wall, m.Wall)
}

// articleChild is the article server, run as a child process so that its
// CPU time is not counted as the models'.
type articleChild struct {
	url   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

const articleServerChild = "article-server"

// serverChildPID is the article server's pid, left out of the worker
// processes' memory.
var serverChildPID int

func startArticleChild(ctx context.Context, latency time.Duration) (*articleChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary to start the article server: %w", err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+articleServerChild, "BRAID_BENCH_LATENCY="+latency.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the article server: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("the article server did not start (it said %q): %v", line, err)
	}
	serverChildPID = cmd.Process.Pid
	return &articleChild{url: strings.TrimSpace(line), cmd: cmd, stdin: stdin}, nil
}

func (a *articleChild) stop() {
	a.stdin.Close()
	done := make(chan struct{})
	go func() { a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		a.cmd.Process.Kill()
		<-done
	}
}

// articleServerMain serves articles until stdin closes: the child side of
// startArticleChild.
func articleServerMain() int {
	latency, err := time.ParseDuration(os.Getenv("BRAID_BENCH_LATENCY"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "braid bench article server: bad BRAID_BENCH_LATENCY: %v\n", err)
		return 2
	}
	srv, err := StartArticleServer(latency)
	if err != nil {
		fmt.Fprintf(os.Stderr, "braid bench article server: %v\n", err)
		return 1
	}
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
	return 0
}

// loadWatch measures, over a workload, how busy the machine was with
// other work: the steal time of a VM, the CPU time used by processes
// other than this one and its children, and the load average.
type loadWatch struct {
	t0      time.Time
	stat0   cpuStat
	own0    time.Duration
	ok      bool
	ncpu    int
	maxLoad float64
}

func startLoadWatch() *loadWatch {
	s, ok := readCPUStat()
	return &loadWatch{t0: time.Now(), stat0: s, own0: cpuTimes(), ok: ok, ncpu: runtime.NumCPU(), maxLoad: loadAvg1()}
}

// verdict returns "" for a quiet machine, else what made it busy.
func (l *loadWatch) verdict() string {
	if !l.ok {
		return ""
	}
	s, ok := readCPUStat()
	if !ok {
		return ""
	}
	load := max(l.maxLoad, loadAvg1())
	total := s.total - l.stat0.total
	if total <= 0 {
		return ""
	}
	steal := (s.steal - l.stat0.steal) / total
	own := (cpuTimes() - l.own0).Seconds() * clockTick
	others := max(0, (s.busy-l.stat0.busy)-own) / total
	var why []string
	if steal >= 0.05 {
		why = append(why, fmt.Sprintf("the hypervisor stole %.0f%% of the CPU time", steal*100))
	}
	if others >= 0.20 {
		why = append(why, fmt.Sprintf("other processes used %.0f%% of the CPUs", others*100))
	}
	if load > float64(l.ncpu)+1 {
		why = append(why, fmt.Sprintf("load average %.1f on %d cores", load, l.ncpu))
	}
	if len(why) == 0 {
		return ""
	}
	return "this machine was busy (" + strings.Join(why, "; ") + "): figures are less reliable"
}
