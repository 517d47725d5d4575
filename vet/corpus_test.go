package vet_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/braid-go/braid/vet"
)

var flagRE = regexp.MustCompile(`FLAG: (\w+)`)

// TestCorpus runs every analyzer on the small programs of
// testdata/corpus: the bad* ones each have one red flag, marked by a
// "FLAG: analyzer" comment on its line; the good* ones have none, and most
// are near misses of a rule. Every program must be classified right, and
// every report must be on a marked line.
func TestCorpus(t *testing.T) {
	cfg := &packages.Config{
		Mode: packages.LoadAllSyntax,
		Dir:  "testdata",
		Env:  append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=readonly"),
	}
	pkgs, err := packages.Load(cfg, "vettest/corpus/...")
	if err != nil {
		t.Fatal(err)
	}
	if n := packages.PrintErrors(pkgs); n > 0 {
		t.Fatalf("%d errors loading the corpus", n)
	}
	graph, err := checker.Analyze(vet.Analyzers(), pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}

	type mark struct {
		file string
		line int
		rule string
	}
	wanted := map[mark]bool{}  // marked lines, true once reported
	progs := map[string]bool{} // program name -> has a red flag
	for _, p := range pkgs {
		name := filepath.Base(p.PkgPath)
		progs[name] = strings.HasPrefix(name, "bad")
		if !progs[name] && !strings.HasPrefix(name, "good") {
			t.Errorf("corpus program %s: the name must start with bad or good", name)
		}
		marks := len(wanted)
		for _, f := range p.Syntax {
			for _, cg := range f.Comments {
				for _, c := range cg.List {
					if m := flagRE.FindStringSubmatch(c.Text); m != nil {
						pos := p.Fset.Position(c.Pos())
						wanted[mark{pos.Filename, pos.Line, m[1]}] = false
					}
				}
			}
		}
		if n := len(wanted) - marks; progs[name] != (n > 0) {
			t.Errorf("corpus program %s has %d FLAG marks: a bad program needs one, a good one none", name, n)
		}
	}

	reported := map[string]int{} // program -> number of reports
	falseReports := 0
	for act := range graph.All() {
		if !act.IsRoot {
			continue
		}
		for _, d := range act.Diagnostics {
			pos := act.Package.Fset.Position(d.Pos)
			prog := filepath.Base(filepath.Dir(pos.Filename))
			reported[prog]++
			k := mark{pos.Filename, pos.Line, act.Analyzer.Name}
			if _, ok := wanted[k]; ok {
				wanted[k] = true
				continue
			}
			falseReports++
			t.Errorf("false report: %s:%d:%d: %s: %s", pos.Filename, pos.Line, pos.Column, act.Analyzer.Name, d.Message)
		}
	}
	for k, ok := range wanted {
		if !ok {
			t.Errorf("missed: %s:%d: want a %s report", k.file, k.line, k.rule)
		}
	}

	var tp, fn, tn, fp int
	var names []string
	for name := range progs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch bad, n := progs[name], reported[name]; {
		case bad && n > 0:
			tp++
		case bad:
			fn++
		case n == 0:
			tn++
		default:
			fp++
		}
	}
	if len(progs) < 30 || tp+fn < 15 || tn+fp < 15 {
		t.Errorf("the corpus needs at least 30 programs, half of them correct: %d bad, %d good", tp+fn, tn+fp)
	}
	t.Logf("corpus: %d programs (%d with a red flag, %d correct)", len(progs), tp+fn, tn+fp)
	t.Logf("programs: %d true positives, %d false negatives, %d true negatives, %d false positives", tp, fn, tn, fp)
	trueReports := 0
	for _, ok := range wanted {
		if ok {
			trueReports++
		}
	}
	t.Logf("reports: %d true, %d false, %d missed", trueReports, falseReports, len(wanted)-trueReports)
	if fn+fp > 0 {
		t.Errorf("%d programs misclassified", fn+fp)
	}
}
