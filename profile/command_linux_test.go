package profile

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandExitCodeAndStdio(t *testing.T) {
	var out, errb strings.Builder
	rep, err := Command(context.Background(), []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, WithStdio(nil, &out, &errb))
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != 3 || out.String() != "out\n" || errb.String() != "err\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", rep.ExitCode, out.String(), errb.String())
	}
	rep, err = Command(context.Background(), []string{"sh", "-c", "kill -TERM $$"})
	if err != nil || rep.ExitCode != 128+15 {
		t.Fatalf("killed by SIGTERM: exit %d, %v", rep.ExitCode, err)
	}
}

func TestCommandCannotStart(t *testing.T) {
	_, err := Command(context.Background(), []string{"braid-no-such-command-xyz"})
	var se *StartError
	if !errors.As(err, &se) || se.ExitCode != 127 || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing command: %v", err)
	}
	notExec := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(notExec, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Command(context.Background(), []string{notExec})
	if !errors.As(err, &se) || se.ExitCode != 126 || !strings.Contains(err.Error(), "cannot execute") {
		t.Fatalf("not executable: %v", err)
	}
}

// TestCommandForwardsSignals: a signal given to WithSignals reaches the
// command, and the report says it was interrupted.
func TestCommandForwardsSignals(t *testing.T) {
	pr, pw := io.Pipe()
	sigs := make(chan os.Signal, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		if line == "ready\n" {
			sigs <- os.Interrupt
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	rep, err := Command(context.Background(), []string{"sh", "-c", "echo ready; exec sleep 30"}, WithStdio(nil, pw, nil), WithSignals(sigs))
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.ExitCode != 128+2 {
		t.Fatalf("interrupted %v, exit %d", rep.Interrupted, rep.ExitCode)
	}
}

func TestCommandContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		if line == "ready\n" {
			cancel()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	defer cancel()
	rep, err := Command(ctx, []string{"sh", "-c", "echo ready; exec sleep 30"}, WithStdio(nil, pw, nil))
	pw.Close()
	if err != nil || !rep.Interrupted || rep.ExitCode != 128+15 {
		t.Fatalf("interrupted %v, exit %d, %v", rep.Interrupted, rep.ExitCode, err)
	}
}
