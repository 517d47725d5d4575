package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// guest is a test client.
type guest struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func join(t *testing.T, addr string) *guest {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &guest{t: t, c: c, r: bufio.NewReader(c)}
}

func (g *guest) say(line string) {
	g.t.Helper()
	if _, err := io.WriteString(g.c, line+"\n"); err != nil {
		g.t.Fatal(err)
	}
}

// hear reads the next lines and compares them with want.
func (g *guest) hear(want ...string) {
	g.t.Helper()
	for _, w := range want {
		got, err := g.r.ReadString('\n')
		if got != w+"\n" || err != nil {
			g.t.Fatalf("heard %q, %v; want %q", got, err, w)
		}
	}
}

// hearEOF expects the server to close the connection after want.
func (g *guest) hearEOF(want ...string) {
	g.t.Helper()
	g.hear(want...)
	if rest, err := io.ReadAll(g.r); len(rest) != 0 || err != nil {
		g.t.Errorf("after %q: read %q, %v; want EOF", want, rest, err)
	}
}

// session is what the tests do with a running server at addr: three
// guests join, talk and one leaves. Every read waits for a line the
// server must send, so the order is fixed without sleeps.
func session(t *testing.T, addr string) (a, c *guest) {
	a = join(t, addr)
	a.hear("* welcome guest1, 0 others here")
	b := join(t, addr)
	b.hear("* welcome guest2, 1 others here")
	a.hear("* guest2 joined")
	c = join(t, addr)
	c.hear("* welcome guest3, 2 others here")
	a.hear("* guest3 joined")
	b.hear("* guest3 joined")

	a.say("hello, all")
	b.hear("guest1: hello, all")
	c.hear("guest1: hello, all")
	c.say("hi guest1")
	a.hear("guest3: hi guest1")
	b.hear("guest3: hi guest1")

	b.c.Close()
	a.hear("* guest2 left")
	c.hear("* guest2 left")
	return a, c
}

// start runs the program and returns the address it serves on and a
// channel with its exit code and the rest of its output.
func start(t *testing.T, ctx context.Context) (string, <-chan string, <-chan int) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pr.Close() })
	var errOut bytes.Buffer
	code := make(chan int, 1)
	go func() {
		c := run(ctx, []string{"-addr", "127.0.0.1:0"}, pw, &errOut)
		pw.Close()
		if c != 0 {
			os.Stderr.Write(errOut.Bytes())
		}
		code <- c
	}()
	out := bufio.NewReader(pr)
	first, err := out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(first), "chat server on ")
	if err != nil || !ok {
		t.Fatalf("first line %q, %v", first, err)
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(out)
		rest <- string(b)
	}()
	return addr, rest, code
}

// Lines go to every other guest; on SIGINT (Ctrl-C) every guest hears
// that the server shuts down and is disconnected, and the program exits
// with 0.
func TestChat(t *testing.T) {
	addr, rest, code := start(t, context.Background())
	a, c := session(t, addr)

	// The session's lines were relayed by the guests' tasks, which run
	// only once main waits in ServeForever: the program handles SIGINT.
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	a.hearEOF("* server shutting down")
	c.hearEOF("* server shutting down")
	if got := <-code; got != 0 {
		t.Errorf("exit code %d", got)
	}
	if got, want := <-rest, "shutting down: 2 clients connected\nclosed\n"; got != want {
		t.Errorf("output after the first line:\n%s\nwant:\n%s", got, want)
	}
}

// The built program, interrupted by a real SIGINT, shuts down the same
// way.
func TestChatSIGINT(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the program with:", err)
	}
	bin := filepath.Join(t.TempDir(), "chat")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := bufio.NewReader(stdout)
	first, err := out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(first), "chat server on ")
	if err != nil || !ok {
		t.Fatalf("first line %q, %v", first, err)
	}
	a, c := session(t, addr)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	a.hearEOF("* server shutting down")
	c.hearEOF("* server shutting down")
	rest, _ := io.ReadAll(out)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the program ended with %v; stderr:\n%s", err, stderr.String())
	}
	if want := "shutting down: 2 clients connected\nclosed\n"; string(rest) != want {
		t.Errorf("output after the first line:\n%s\nwant:\n%s", rest, want)
	}
}

// The bots mode: every bot hears every line of the others.
func TestChatBots(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-bots", "5", "-lines", "4"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	re := regexp.MustCompile(`^chat server on 127\.0\.0\.1:\d+
5 bots x 4 lines: 80 lines delivered in \S+ \(\d+ lines/s on one loop\)
$`)
	if !re.MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestChatBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-bots", "1"}, {"-lines", "0"}, {"extra"}} {
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
