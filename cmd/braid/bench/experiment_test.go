package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// result builds an ExpResult of the cpu-bound workload whose models took
// the given wall times per round.
func fakeResult(impl string, walls map[string][]float64) *ExpResult {
	r := &ExpResult{Workload: ExpCPU, Title: "test", Rounds: 3, PoolStart: map[string][]float64{"braid": {0.005}}}
	for _, name := range []string{"sequential", "loop", "threads(2)", "threads(20)", "processes(2)", "loop+processes(2)"} {
		kind, size := name, 0
		switch name {
		case "threads(2)":
			kind, size = "threads", 2
		case "threads(20)":
			kind, size = "threads", 20
		case "processes(2)":
			kind, size = "processes", 2
		case "loop+processes(2)":
			kind, size = "hybrid", 2
		}
		w := walls[name]
		r.Models = append(r.Models, ModelStats{Impl: impl, Name: name, Kind: kind, Size: size,
			Wall: w, CPU: []float64{1, 1, 1}, PeakMB: []float64{10, 12, 11}})
	}
	return r
}

func TestVerdictNamesAClearWinner(t *testing.T) {
	r := fakeResult("braid", map[string][]float64{
		"sequential":        {1.0, 1.2, 1.1},
		"loop":              {1.0, 1.2, 1.1},
		"threads(2)":        {0.5, 0.6, 0.55},
		"threads(20)":       {0.7, 0.8, 0.75},
		"processes(2)":      {0.8, 0.9, 0.85},
		"loop+processes(2)": {0.8, 0.9, 0.85},
	})
	v := strings.Join(verdict(r, ExpParams{SmallPool: 2, BigPool: 20}), " ")
	for _, want := range []string{
		"verdict (cpu-bound): threads(2) is fastest, 2.0x over sequential, 36% ahead of threads(20).",
		"The loop gains nothing on CPU work: one thread (1.00x).",
		"Go threads scale on CPU work: no GIL (threads(2): 2.0x",
		"Processes cost 5 ms to start",
		"lose to threads by 55%",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("verdict %q\nlacks %q", v, want)
		}
	}
}

// When no model's speed-up over sequential is clear of the noise, the
// verdict does not name a fastest model.
func TestVerdictNoClearGainOverSequential(t *testing.T) {
	r := fakeResult("braid", map[string][]float64{
		"sequential":        {1.0, 0.8, 1.2},
		"loop":              {1.1, 0.9, 1.2},
		"threads(2)":        {0.9, 0.9, 1.3},
		"threads(20)":       {1.0, 1.0, 1.3},
		"processes(2)":      {0.95, 0.85, 1.25},
		"loop+processes(2)": {0.95, 0.9, 1.25},
	})
	v := strings.Join(verdict(r, ExpParams{SmallPool: 2, BigPool: 20}), " ")
	if !strings.Contains(v, "verdict (cpu-bound): no model is clearly faster than sequential on this machine") || strings.Contains(v, "is fastest") {
		t.Errorf("verdict %q names a winner inside the noise", v)
	}
}

// When the rounds of the two fastest models overlap (each won a round),
// the verdict does not pick a winner.
func TestVerdictNoClearDifference(t *testing.T) {
	r := fakeResult("braid", map[string][]float64{
		"sequential":        {1.0, 1.0, 1.0},
		"loop":              {1.0, 1.0, 1.0},
		"threads(2)":        {0.50, 0.62, 0.55},
		"threads(20)":       {0.56, 0.54, 0.57},
		"processes(2)":      {0.9, 0.9, 0.9},
		"loop+processes(2)": {0.9, 0.9, 0.9},
	})
	v := verdict(r, ExpParams{SmallPool: 2, BigPool: 20})
	if !strings.Contains(v[0], "no clear difference on this machine from threads(20)") {
		t.Errorf("verdict %q picks a winner inside the spread", v[0])
	}
}

// Missing rounds (an interrupted run) are left out of the medians.
func TestStatsSkipMissingRounds(t *testing.T) {
	s := statOf([]float64{3, math.NaN(), 1, 2})
	if s.Median != 2 || s.Min != 1 || s.Max != 3 || s.N != 3 || s.Spread() != 1 {
		t.Errorf("statOf = %+v", s)
	}
	sp := ratio([]float64{2, 4, math.NaN()}, []float64{1, 1, 1})
	if sp.Median != 3 || sp.N != 2 {
		t.Errorf("ratio = %+v", sp)
	}
}

// Braid and Python side by side fit 100 columns, the verdict included.
func TestTableFits100Columns(t *testing.T) {
	walls := map[string][]float64{
		"sequential": {12.5, 12.6, 12.7}, "loop": {12.5, 12.6, 12.7}, "threads(2)": {6.3, 6.4, 6.2},
		"threads(20)": {6.3, 6.4, 6.2}, "processes(2)": {6.5, 6.6, 6.7}, "loop+processes(2)": {6.5, 6.6, 6.7},
	}
	r := fakeResult("braid", walls)
	py := fakeResult("python", walls)
	r.Models = append(r.Models, py.Models...)
	r.Busy = "this machine was busy (load average 5.2 on 2 cores): figures are less reliable"
	r.PyTitle = "Python: smaller tasks"
	r.Verdict = verdict(r, ExpParams{SmallPool: 2, BigPool: 20})
	var b strings.Builder
	if err := WriteExperiment(&b, []*ExpResult{r}, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > MaxWidth {
			t.Errorf("%d columns: %q", n, line)
		}
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"braid", "python", "12.60±0.10", "Python: threads(2) is fastest", "Its threads gained 1.98x"} {
		if !strings.Contains(flat, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// Cancelled in the middle (Ctrl-C), the experiment returns what it had
// measured, marked interrupted, with a verdict over it.
func TestExperimentInterruptedKeepsWhatItMeasured(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := DefaultParams(true)
	var steps []string
	res, err := RunExperiment(ctx, ExpOptions{Params: p, Rounds: 3, Workloads: []string{ExpIO},
		Step: func(done, total int, what string) {
			steps = append(steps, what)
			// Stop during round 2, after its first model.
			if strings.Contains(what, "round 2/3") && len(steps) == 2+len(newWorkload(ExpIO, p, "").models)+1 {
				cancel()
			}
		}})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(res) != 1 || !res[0].Interrupted || res[0].Rounds != 2 {
		t.Fatalf("results %+v", res)
	}
	for _, m := range res[0].Models {
		if m.WallStat().N < 1 {
			t.Errorf("%s: round 1 was measured, yet it has no figure", m.Name)
		}
	}
	if len(res[0].Verdict) == 0 || !strings.HasPrefix(res[0].Verdict[0], "verdict (io-bound):") {
		t.Errorf("verdict %q", res[0].Verdict)
	}
	var b strings.Builder
	WriteExperiment(&b, res, false)
	if !strings.Contains(b.String(), "interrupted in round 2") {
		t.Errorf("the table does not say it was interrupted:\n%s", b.String())
	}
}

func TestParsePageIsDeterministic(t *testing.T) {
	a, b := ParsePage(articlePage(3), 2), ParsePage(articlePage(3), 2)
	if a != b || a == 0 {
		t.Errorf("ParsePage = %d then %d", a, b)
	}
	if ParsePage(articlePage(4), 2) == a {
		t.Error("two different pages parse to the same checksum")
	}
}
