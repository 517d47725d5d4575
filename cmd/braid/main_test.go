package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNoArgumentsIsUsageError(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "Usage") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "braid bench") {
		t.Fatalf("exit %d, stdout %q", code, out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"bench", "--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "loop") {
		t.Fatalf("bench --help: exit %d, stderr %q", code, errb.String())
	}
}

func TestUnknownWorkloadListsKnownOnes(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"bench", "nosuch"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), `unknown workload "nosuch"`) || !strings.Contains(errb.String(), "loop") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestBenchLoopQuickJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"bench", "--quick", "--json", "--quiet", "loop"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out.String())
	}
	models := map[string]bool{}
	for _, r := range rows {
		if r["workload"] == nil || r["model"] == nil {
			t.Errorf("row without workload or model: %v", r)
		}
		models[r["workload"].(string)] = true
	}
	for _, w := range []string{"loop/spawn-gather", "loop/ping-pong", "loop/sleeping-tasks", "loop/timers"} {
		if !models[w] {
			t.Errorf("no row for %s in %v", w, rows)
		}
	}
}
