package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// articlesPy is the Python side of the experiment (python/articles.py),
// shipped inside the braid binary so that an installed braid needs no
// checkout.
//
//go:embed python/articles.py
var articlesPy []byte

// pythonPeer runs the embedded script with an interpreter that has
// aiohttp and requests.
type pythonPeer struct {
	exe    string
	dir    string
	script string
	failed string // why an earlier round failed; "" while it works
}

// PythonInstallHint says what to install for --python.
const PythonInstallHint = "install them (Debian/Ubuntu: apt-get install python3-aiohttp python3-requests; " +
	"elsewhere: python3 -m pip install aiohttp requests) or name an interpreter that has them with --python-exe"

// newPythonPeer finds the interpreter and checks its packages. On
// failure it returns nil and a note for the table that says what to
// install.
func newPythonPeer(ctx context.Context, exe string) (*pythonPeer, string) {
	if exe == "" {
		exe = peerPython("")
	}
	path, err := exec.LookPath(exe)
	if err != nil {
		return nil, fmt.Sprintf("Python peers skipped: no %s found; install Python 3 with aiohttp and requests, or name one with --python-exe", exe)
	}
	var stderr bytes.Buffer
	check := exec.CommandContext(ctx, path, "-c", "import aiohttp, requests")
	check.Stderr = &stderr
	if err := check.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Sprintf("Python peers skipped: %s cannot import aiohttp and requests (%s); %s", path, msg, PythonInstallHint)
	}
	dir, err := os.MkdirTemp("", "braid-bench-python-")
	if err != nil {
		return nil, fmt.Sprintf("Python peers skipped: %v", err)
	}
	script := filepath.Join(dir, "articles.py")
	if err := os.WriteFile(script, articlesPy, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Sprintf("Python peers skipped: %v", err)
	}
	return &pythonPeer{exe: path, dir: dir, script: script}, ""
}

func (p *pythonPeer) close() { os.RemoveAll(p.dir) }

// pySpec is the JSON the script reads on stdin.
type pySpec struct {
	Workload    string    `json:"workload"`
	URL         string    `json:"url"`
	N           int       `json:"n"`
	Fib         int       `json:"fib"`
	Primes      int       `json:"primes"`
	ParseRounds int       `json:"parse_rounds"`
	Pool        int       `json:"pool"`
	Sem         int       `json:"sem"`
	Models      []pyModel `json:"models"`
}

type pyModel struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Size int    `json:"size"`
}

// pyTitle describes the Python side's sizes where they differ from
// braid's.
func pyTitle(w expWorkload, p ExpParams) string {
	switch w.name {
	case ExpCPU:
		return fmt.Sprintf("Python: fib(%d) and primes below %s (CPython computes ~50x slower than Go)", p.PyFib, thousands(p.PyPrimes))
	case ExpMixed:
		return fmt.Sprintf("Python: %d parsing passes per page (CPython parses ~20x slower than Go)", p.PyParseRounds)
	}
	return ""
}

// round runs every model of w once in Python, in round r's order, and
// records the figures in res.
func (p *pythonPeer) round(ctx context.Context, w expWorkload, params ExpParams, r int, res *ExpResult) error {
	spec := pySpec{Workload: w.name, URL: w.base, N: w.n, Fib: params.PyFib, Primes: params.PyPrimes,
		ParseRounds: params.PyParseRounds, Pool: params.SmallPool, Sem: params.Sem}
	order := make([]int, len(w.models))
	for i := range order {
		order[i] = (i + r + 1) % len(order)
	}
	for _, i := range order {
		m := w.models[i]
		spec.Models = append(spec.Models, pyModel{m.name, m.kind, m.size})
	}
	if res.Model("python", w.models[0].name) == nil {
		res.PyTitle = pyTitle(w, params)
		for _, m := range w.models {
			st := ModelStats{Impl: "python", Name: m.name, Kind: m.kind, Size: m.size}
			st.Wall, st.CPU, st.PeakMB = nans(len(res.Models[0].Wall)), nans(len(res.Models[0].Wall)), nans(len(res.Models[0].Wall))
			res.Models = append(res.Models, st)
		}
	}
	in, _ := json.Marshal(spec)
	cmd := exec.CommandContext(ctx, p.exe, p.script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("python %s round %d: %v\n%s", w.name, r+1, err, lastLines(stderr.String(), 8))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var line struct {
			Model     string       `json:"model"`
			Wall      float64      `json:"wall"`
			CPU       float64      `json:"cpu"`
			PeakMB    float64      `json:"peak_mb"`
			PoolStart *float64     `json:"pool_start"`
			Timeline  [][5]float64 `json:"timeline"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("python %s: unreadable line %q: %v", w.name, sc.Text(), err)
		}
		if line.PoolStart != nil {
			res.PoolStart["python"] = append(res.PoolStart["python"], *line.PoolStart)
			continue
		}
		st := res.Model("python", line.Model)
		if st == nil {
			return fmt.Errorf("python %s: a figure for an unknown model %q", w.name, line.Model)
		}
		st.Wall[r], st.CPU[r], st.PeakMB[r] = line.Wall, line.CPU, line.PeakMB
		if st.timelines == nil {
			st.timelines = make([][]TaskTimeline, len(st.Wall))
		}
		st.timelines[r] = pyTimeline(line.Timeline)
	}
	return nil
}

// pyTimeline turns the script's sampled tasks (task, I/O from, to,
// computing from, to; seconds from the model's start, 0 for none) into
// segments, as recorder.timeline does for braid's.
func pyTimeline(tasks [][5]float64) []TaskTimeline {
	rec := &recorder{t0: time.Unix(0, 0), marks: make([][4]time.Time, len(tasks))}
	for i, t := range tasks {
		for j := 0; j < 4; j++ {
			if t[j+1] > 0 {
				rec.marks[i][j] = rec.t0.Add(time.Duration(t[j+1] * 1e9))
			}
		}
	}
	out := rec.timeline(len(tasks))
	for i := range out {
		out[i].Task = int(tasks[i][0])
	}
	return out
}

func nans(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
