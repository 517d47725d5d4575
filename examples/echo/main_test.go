package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// The load mode: every client's every line comes back, and the run ends.
func TestEchoClients(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-clients", "20", "-messages", "10"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	re := regexp.MustCompile(`^listening on 127\.0\.0\.1:\d+
20 clients x 10 lines: 200 echoes checked in \S+ \(\d+ round trips/s on one loop\)
$`)
	if !re.MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}
}

// The serve mode: a client is echoed; SIGINT (Ctrl-C) closes the client's
// connection and ends the program with code 0.
func TestEchoServe(t *testing.T) {
	ctx := context.Background()
	pr, pw := io.Pipe()
	defer pr.Close() // unblocks the program's writes if the test stops early
	var errOut bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"-serve", "127.0.0.1:0"}, pw, &errOut)
		pw.Close()
	}()
	out := bufio.NewReader(pr)
	first, err := out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(first), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first line %q, %v", first, err)
	}
	tailc := make(chan string, 1)
	go func() {
		rest, _ := io.ReadAll(out)
		tailc <- string(rest)
	}()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cr := bufio.NewReader(c)
	for _, msg := range []string{"hello\n", "a second line\n"} {
		io.WriteString(c, msg)
		if got, err := cr.ReadString('\n'); got != msg || err != nil {
			t.Fatalf("echo of %q: %q, %v", msg, got, err)
		}
	}

	// The echoes above were served by the connection's task, which runs
	// only once main waits in ServeForever: the program handles SIGINT.
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(cr); len(rest) != 0 || err != nil {
		t.Errorf("after the shutdown the client read %q, %v; want EOF", rest, err)
	}
	tail := <-tailc
	if got := <-code; got != 0 {
		t.Errorf("exit code %d, stderr:\n%s", got, errOut.String())
	}
	if want := "shutting down 1 connections\nclosed\n"; tail != want {
		t.Errorf("output after the first line:\n%s\nwant:\n%s", tail, want)
	}
}

func TestEchoBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-clients", "0"}, {"-messages", "x"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// TestMain fails the run if a goroutine of the program outlives it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
