package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/braid-go/braid/cmd/braid/bench"
	"github.com/braid-go/braid/mp"
)

func TestMain(m *testing.M) {
	mp.Main()         // the process models' workers are this test binary
	bench.ChildMain() // and so is the article server
	os.Exit(m.Run())
}

func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestNoArgumentsIsUsageError(t *testing.T) {
	code, _, stderr := runArgs(t)
	if code != 2 || !strings.Contains(stderr, "Usage:") || !strings.Contains(stderr, "bench") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestHelpShowsExitCodes(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"bench", "--help"}, {"help", "bench"}} {
		code, stdout, _ := runArgs(t, args...)
		if code != 0 || !strings.Contains(stdout, "Exit codes:") || !strings.Contains(stdout, "130") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
	// Every flag of bench says its default.
	_, stdout, _ := runArgs(t, "bench", "--help")
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") && !strings.Contains(line, "default") {
			t.Errorf("a flag without its default: %q", line)
		}
	}
}

// A mistyped flag or workload gets one line that says what was wrong,
// and exit code 2.
func TestBadCommandLineIsOneLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--nosuch"}, "unknown flag: --nosuch"},
		{[]string{"bench", "loop", "--rounds", "x"}, `invalid argument "x" for "--rounds"`},
		{[]string{"bench", "--rounds", "0"}, "--rounds must be at least 1"},
		{[]string{"bench", "nosuch"}, `unknown workload "nosuch"`},
		{[]string{"nosuch"}, `unknown command "nosuch"`},
		{[]string{"version", "extra"}, "unknown command"},
	} {
		code, stdout, stderr := runArgs(t, c.args...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, stdout, stderr, c.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runArgs(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "braid ") || !strings.Contains(stdout, "go1") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
}

func TestCompletion(t *testing.T) {
	code, stdout, _ := runArgs(t, "completion", "bash")
	if code != 0 || !strings.Contains(stdout, "braid") {
		t.Fatalf("exit %d, stdout %.200q", code, stdout)
	}
	code, stdout, _ = runArgs(t, "__complete", "bench", "")
	if code != 0 || !strings.Contains(stdout, "cpu-bound") || !strings.Contains(stdout, "loop") {
		t.Fatalf("completing workloads: exit %d, stdout %q", code, stdout)
	}
}

// Flags are accepted after workload names.
func TestFlagsAfterWorkloadNames(t *testing.T) {
	code, stdout, stderr := runArgs(t, "bench", "loop", "--quick", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, stdout)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		w, _ := r["workload"].(string)
		if w == "" || r["model"] == nil {
			t.Errorf("row without workload or model: %v", r)
		}
		seen[w] = true
	}
	for _, w := range []string{"loop/spawn-gather", "loop/ping-pong", "loop/sleeping-tasks", "loop/timers"} {
		if !seen[w] {
			t.Errorf("no row for %s in %v", w, rows)
		}
	}
}

// The default run, at smoke-test size: three tables that fit 100
// columns, each ending with its verdict.
func TestDefaultBenchQuick(t *testing.T) {
	code, stdout, stderr := runArgs(t, "bench", "--quick")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	for i, line := range strings.Split(stdout, "\n") {
		if n := utf8.RuneCountInString(line); n > bench.MaxWidth {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
	}
	for _, w := range bench.ExperimentWorkloads {
		if !strings.Contains(stdout, "\nverdict ("+w+"): ") {
			t.Errorf("no verdict line for %s in\n%s", w, stdout)
		}
		for _, m := range []string{"sequential", "loop", "threads(", "processes("} {
			if !strings.Contains(stdout, "\n"+m) {
				t.Errorf("no %s row in\n%s", m, stdout)
			}
		}
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet it got %q", stderr)
	}
}

// JSON rows of the default run keep the contract's fields and add the
// spread.
func TestDefaultBenchJSON(t *testing.T) {
	code, stdout, stderr := runArgs(t, "bench", "--quick", "--json", "--rounds", "2", "io-bound")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, stdout)
	}
	verdicts := 0
	for _, r := range rows {
		if r["workload"] != "io-bound" || r["seconds"] == nil || r["speedup"] == nil || r["rounds"] != 2.0 {
			t.Errorf("row %v", r)
		}
		if r["verdict"] != nil {
			verdicts++
		}
	}
	if len(rows) != 6 || verdicts != 1 {
		t.Errorf("%d rows (want 6), %d verdicts (want 1):\n%s", len(rows), verdicts, stdout)
	}
}

// The HTML page renders in headless Chromium with its charts and
// without an error in the log.
func TestHTMLInChromium(t *testing.T) {
	chromium := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Skip("no chromium on PATH: install it (Debian: apt-get install chromium) to render the --html page")
	}
	page := filepath.Join(t.TempDir(), "bench.html")
	code, stdout, stderr := runArgs(t, "bench", "--quick", "--rounds", "1", "--html", page, "cpu-bound", "mixed")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "wrote "+page) {
		t.Errorf("stdout does not say where the page is: %q", stdout)
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "http://", "https://", "@import", "url("} {
		if strings.Contains(string(data), bad) {
			t.Errorf("the page is not self-contained: it has %q", bad)
		}
	}
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=0", "--dump-dom", "file://"+page)
	var dom, log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dom, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, log.String())
	}
	d := dom.String()
	if n := strings.Count(d, `<svg class="chart"`); n != 2 {
		t.Errorf("%d bar charts in the rendered page, want 2", n)
	}
	if n := strings.Count(d, `<svg class="timeline"`); n != 6+7 {
		t.Errorf("%d timelines in the rendered page, want 13 (one per model)", n)
	}
	if !strings.Contains(d, "verdict (cpu-bound):") || !strings.Contains(d, "verdict (mixed):") {
		t.Errorf("the verdicts are not in the rendered page")
	}
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") || strings.Contains(line, "Failed to load") {
			t.Errorf("the page logged: %s", line)
		}
	}
}

// Without a Python that has the packages, --python says what to install
// and braid's figures are still measured.
func TestPythonMissingSaysWhatToInstall(t *testing.T) {
	code, stdout, stderr := runArgs(t, "bench", "--quick", "--rounds", "1", "--python", "--python-exe", filepath.Join(t.TempDir(), "no-python3"), "cpu-bound")
	flat := strings.Join(strings.Fields(stdout), " ")
	if code != 0 || !strings.Contains(flat, "Python peers skipped") || !strings.Contains(flat, "install Python 3 with aiohttp and requests") ||
		!strings.Contains(flat, "verdict (cpu-bound):") {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
}

// With a Python that has aiohttp and requests, the tables show Python
// beside braid.
func TestPythonBesideBraid(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import aiohttp, requests").Run(); err != nil {
		t.Skipf("%s cannot import aiohttp and requests (%v): install python3-aiohttp and python3-requests to run the Python peers", py, err)
	}
	code, stdout, stderr := runArgs(t, "bench", "--quick", "--rounds", "1", "--python", "--python-exe", py, "io-bound")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	flat := strings.Join(strings.Fields(stdout), " ")
	for _, want := range []string{"braid", "python", "Python: ", "asyncio"} {
		if !strings.Contains(flat, want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}
	for i, line := range strings.Split(stdout, "\n") {
		if n := utf8.RuneCountInString(line); n > bench.MaxWidth {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
	}
}
