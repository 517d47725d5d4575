package vet_test

import (
	"testing"

	"github.com/braid-go/braid/vet"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestBlockingCall(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), vet.BlockingCall, "vettest/blocking")
}
