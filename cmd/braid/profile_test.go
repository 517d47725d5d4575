package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestProfilePassesExitCodeAndOutput(t *testing.T) {
	var out, errb bytes.Buffer
	code := runProfileCmd([]string{"--", "sh", "-c", "echo hello; exit 7"}, &out, &errb)
	if code != 7 || out.String() != "hello\n" || !strings.Contains(errb.String(), "verdict:") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestProfileJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runProfileCmd([]string{"--json", "--interval", "20ms", "--", "sleep", "0.3"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		Command []string `json:"command"`
		Wall    float64  `json:"wall_s"`
		Verdict struct {
			Class string `json:"class"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
	}
	if rep.Command[0] != "sleep" || rep.Wall <= 0 || rep.Verdict.Class != "io-bound" {
		t.Fatalf("%+v", rep)
	}
}

func TestProfileCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "no command"},
		{[]string{"--no-such-flag", "--", "true"}, 2, "unknown flag"},
		{[]string{"--interval", "0s", "--", "true"}, 2, "too short"},
		{[]string{"--", "braid-no-such-command-xyz"}, 127, "not found"},
	} {
		var out, errb bytes.Buffer
		if code := runProfileCmd(c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errb.String(), c.code, c.msg)
		}
	}
}

// TestNewProfileCmdContract: the command the root adds with
// root.AddCommand(newProfileCmd()).
func TestNewProfileCmdContract(t *testing.T) {
	cmd := newProfileCmd()
	if cmd.Name() != "profile" || cmd.Flags().Lookup("json") == nil || cmd.Flags().Lookup("interval") == nil || cmd.RunE == nil {
		t.Fatalf("newProfileCmd: name %q, flags json %v interval %v", cmd.Name(), cmd.Flags().Lookup("json"), cmd.Flags().Lookup("interval"))
	}
	// Flags after COMMAND are COMMAND's: parsing stops at the first argument.
	if err := cmd.ParseFlags([]string{"--json", "ls", "-l"}); err != nil {
		t.Fatal(err)
	}
	if got := cmd.Flags().Args(); len(got) != 2 || got[0] != "ls" || got[1] != "-l" {
		t.Fatalf("arguments after COMMAND: %v", got)
	}
}

// TestProfileDispatch: `braid profile` reaches the profile command (a
// command that succeeds, so that no exit code ends the test process
// whichever way the root passes codes through).
func TestProfileDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"profile", "--", "true"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "verdict:") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestProfileUnderTheRoot: through braid's root command, profile's flags
// and COMMAND's own flags reach the right places and the command's exit
// code becomes braid's.
func TestProfileUnderTheRoot(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"profile", "--json", "sh", "-c", "echo -n x; exit 3", "-x"}, &out, &errb)
	if code != 3 || !strings.HasPrefix(out.String(), "x{") || !strings.Contains(out.String(), `"exit_code": 3`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
