package bench

import (
	"slices"
	"strings"
	"testing"
)

// The tables replace registration in init(), which refused a duplicate
// name; the same checks hold here.
func TestWorkloadTableNamesAreUniqueAndComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range workloads {
		if w.Name == "" || w.Description == "" || w.Run == nil {
			t.Errorf("workload %q: want a name, a description and a Run", w.Name)
		}
		if seen[w.Name] {
			t.Errorf("workload %q listed twice", w.Name)
		}
		seen[w.Name] = true
	}
	for _, name := range ExperimentWorkloads {
		if seen[name] {
			t.Errorf("%q is both a micro workload and one of the experiment's", name)
		}
	}
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.Name
	}
	if !slices.IsSorted(names) {
		t.Errorf("workloads %v: --list shows them by name; keep the table sorted", names)
	}
}

func TestCPUModelTableStartsWithTheBaseline(t *testing.T) {
	if len(cpuModels) < 2 || cpuModels[0].Name != "sequential" {
		t.Fatalf("cpuModels must start with sequential, the baseline of the speed-ups: %v", cpuModels)
	}
	seen := map[string]bool{}
	for _, m := range cpuModels {
		if m.Run == nil || seen[m.Name] {
			t.Errorf("cpu model %q: nil Run or listed twice", m.Name)
		}
		seen[m.Name] = true
	}
}

func TestSelectKeepsTheOrderGivenAndNamesTheKnownOnUnknown(t *testing.T) {
	ws, err := Select([]string{"pool", "cpu"})
	if err != nil || len(ws) != 2 || ws[0].Name != "pool" || ws[1].Name != "cpu" {
		t.Fatalf("Select(pool, cpu) = %v, %v", ws, err)
	}
	if _, err := Select([]string{"nope"}); err == nil {
		t.Fatal("Select(nope) gave no error")
	} else if want := `unknown workload "nope": known workloads are cpu, echo,`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Select(nope) error = %q, want it to start %q", err, want)
	}
}

func TestEchoRoundsFollowTheCommandLine(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want int
	}{
		{Config{}, 3},
		{Config{Rounds: 10}, 10},
		{Config{Quick: true}, 1},
		{Config{Quick: true, Rounds: 10}, 1},
	} {
		if got := echoRounds(c.cfg); got != c.want {
			t.Errorf("echoRounds(%+v) = %d, want %d", c.cfg, got, c.want)
		}
	}
}
