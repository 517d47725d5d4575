package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVetHelpListsEveryAnalyzer(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"vet", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	for _, name := range []string{"blockingcall", "droppedtask", "freshctx", "mpboundary", "mpmain", "mptinyio", "-vettool"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("braid vet --help does not mention %s:\n%s", name, out.String())
		}
	}
}

func TestVetRefusesAnotherVettool(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"vet", "-vettool=/bin/true", "./..."}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "braid vet is the vettool") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestVetToolInvocationDetected(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"-V=full"}, true},
		{[]string{"-flags"}, true},
		{[]string{"/tmp/go-build1/b001/vet.cfg"}, true},
		{[]string{"-blockingcall=false", "-json", "/tmp/x/vet.cfg"}, true},
		{[]string{"vet", "./..."}, false},
		{[]string{"bench", "x.cfg"}, false},
		{nil, false},
	} {
		if got := isVetToolInvocation(c.args); got != c.want {
			t.Errorf("isVetToolInvocation(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

const redFlagProgram = `package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		SLEEP
		return nil
	})
}
`

// TestVetEndToEnd builds the braid binary, writes a tiny module with a
// red flag, and checks that braid vet (and go vet -vettool=braid) print
// the report as file:line:col: message and exit non-zero, and exit 0 once
// the flag is fixed.
func TestVetEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the braid binary and a module")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	braid := filepath.Join(dir, "braid")
	if out, err := exec.Command(goTool, "build", "-o", braid, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mod := filepath.Join(dir, "redflag")
	if err := os.Mkdir(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := "module redflag\n\ngo 1.26.0\n\nrequire github.com/braid-go/braid v0.0.0\n\nreplace github.com/braid-go/braid => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", gomod)
	write("go.sum", string(sum))
	write("main.go", strings.Replace(redFlagProgram, "SLEEP", "time.Sleep(time.Second)", 1))
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")

	runIn := func(name string, args ...string) (int, string) {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = mod, env
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, string(out)
		case errors.As(err, &exit):
			return exit.ExitCode(), string(out)
		default:
			t.Fatalf("%s %q: %v", name, args, err)
			return -1, ""
		}
	}
	const want = "main.go:12:3: time.Sleep blocks the loop's thread in a function run by aio.Run"
	code, out := runIn(braid, "vet", "./...")
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("braid vet on a red flag: exit %d, want 1 and a line with %q; output:\n%s", code, want, out)
	}
	code, out = runIn(goTool, "vet", "-vettool="+braid, "./...")
	if code == 0 || !strings.Contains(out, want) {
		t.Fatalf("go vet -vettool=braid on a red flag: exit %d, want non-zero and %q; output:\n%s", code, want, out)
	}
	// The suggested fix rewrites time.Sleep(d) to aio.Sleep(ctx, d).
	if code, out = runIn(braid, "vet", "-fix", "./..."); code != 0 {
		t.Fatalf("braid vet -fix: exit %d; output:\n%s", code, out)
	}
	fixed, err := os.ReadFile(filepath.Join(mod, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(fixed), "aio.Sleep(ctx, time.Second)") || strings.Contains(string(fixed), "time.Sleep") {
		t.Fatalf("braid vet -fix did not rewrite time.Sleep:\n%s", fixed)
	}
	if code, out = runIn(braid, "vet", "./..."); code != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("braid vet on fixed code: exit %d, want 0 and no output; output:\n%s", code, out)
	}
}

// TestVetCobraCommand checks the cobra form of braid vet: go vet's flags
// pass through unparsed, and the exit status comes out as ExitCode.
func TestVetCobraCommand(t *testing.T) {
	cmd := newVetCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "mpboundary") {
		t.Fatalf("vet --help: err %v, stdout %q", err, out.String())
	}
	cmd = newVetCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"-vettool=/bin/true", "./..."})
	err := cmd.Execute()
	var exit exitError
	if !errors.As(err, &exit) || exit.code != 2 {
		t.Fatalf("vet -vettool=...: err %v, want an exit status 2", err)
	}
}
