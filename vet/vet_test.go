package vet_test

import (
	"testing"

	"github.com/braid-go/braid/vet"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestBlockingCall(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), vet.BlockingCall, "vettest/blocking")
}

func TestDroppedTask(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), vet.DroppedTask, "vettest/droppedtask")
}

func TestFreshContext(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), vet.FreshContext, "vettest/freshctx")
}

func TestMPBoundary(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), vet.MPBoundary, "vettest/mpboundary")
}

func TestMPMain(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), vet.MPMain, "vettest/mpmain/...")
}

func TestMPTinyIO(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), vet.MPTinyIO, "vettest/mptinyio")
}

// TestAnalyzersDocumented checks that every analyzer has a name, a doc
// whose first line is a summary, and a URL into docs/VET.md.
func TestAnalyzersDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range vet.Analyzers() {
		if a.Name == "" || seen[a.Name] {
			t.Errorf("analyzer with empty or duplicate name %q", a.Name)
		}
		seen[a.Name] = true
		if len(a.Doc) < 200 {
			t.Errorf("%s: doc too short to say why it matters and what to do: %q", a.Name, a.Doc)
		}
		if a.URL == "" {
			t.Errorf("%s: no URL", a.Name)
		}
	}
}
