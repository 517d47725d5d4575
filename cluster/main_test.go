package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/cluster"
	"github.com/braid-go/braid/mp"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	// In a worker (started with --braid-worker, or as an mp pool
	// process), Main serves and exits.
	cluster.Main()
	if _, set := os.LookupEnv("GORACE"); !set {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	goleak.VerifyTestMain(m)
}

// Functions of the tests, registered in every process of the test binary.
var (
	Square = mp.Register("ctest.square", func(ctx context.Context, x int) (int, error) {
		return x * x, nil
	})
	Inc = mp.Register("ctest.inc", func(ctx context.Context, x int) (int, error) {
		return x + 1, nil
	})
	Fail = mp.Register("ctest.fail", func(ctx context.Context, msg string) (int, error) {
		return 0, errors.New(msg)
	})
	Panic = mp.Register("ctest.panic", func(ctx context.Context, msg string) (int, error) {
		panic("boom: " + msg)
	})
	// ID returns the task ID the function sees.
	ID = mp.Register("ctest.id", func(ctx context.Context, _ int) (string, error) {
		return cluster.TaskID(ctx), nil
	})
	// Bytes returns n bytes.
	Bytes = mp.Register("ctest.bytes", func(ctx context.Context, n int) ([]byte, error) {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return b, nil
	})
	Echo = mp.Register("ctest.echo", func(ctx context.Context, b []byte) ([]byte, error) {
		return b, nil
	})
	// Block writes "<worker pid> <process pid>" into a FIFO, then waits
	// until it is killed.
	Block = mp.Register("ctest.block", func(ctx context.Context, fifo string) (int, error) {
		announce(fifo)
		select {}
	})
	// Hold announces itself and blocks the first time it runs for a marker
	// (it creates the marker); later runs return "ok" at once.
	Hold = mp.Register("ctest.hold", func(ctx context.Context, h hold) (string, error) {
		if _, err := os.Stat(h.Marker); err != nil {
			os.WriteFile(h.Marker, nil, 0o600)
			announce(h.FIFO)
			select {}
		}
		return "ok", nil
	})
	// Gate announces itself, then returns "released" once the test opens
	// the Release FIFO.
	Gate = mp.Register("ctest.gate", func(ctx context.Context, g gate) (string, error) {
		announce(g.Ready)
		f, err := os.Open(g.Release)
		if err != nil {
			return "", err
		}
		f.Close()
		return "released", nil
	})
	// Slow takes about ms milliseconds of work.
	Slow = mp.Register("ctest.slow", func(ctx context.Context, ms int) (int, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond) // the work being simulated
		return ms, nil
	})
	// CrashOnce ends its pool process the first time it runs for a marker
	// (it creates the marker), and returns "ok" the next.
	CrashOnce = mp.Register("ctest.crashonce", func(ctx context.Context, marker string) (string, error) {
		if _, err := os.Stat(marker); err != nil {
			os.WriteFile(marker, nil, 0o600)
			os.Exit(3)
		}
		return "ok", nil
	})
	// Exit ends its pool process with a code.
	Exit = mp.Register("ctest.exit", func(ctx context.Context, code int) (int, error) {
		os.Exit(code)
		return 0, nil
	})
	// KillWorker SIGKILLs the cluster worker running it.
	KillWorker = mp.Register("ctest.killworker", func(ctx context.Context, _ int) (int, error) {
		syscall.Kill(os.Getppid(), syscall.SIGKILL)
		select {}
	})
	Fib = mp.Register("ctest.fib", func(ctx context.Context, n int) (int, error) {
		return fib(n), nil
	})
	// Missing is registered everywhere except in workers started with
	// CLUSTER_TEST_NO_MISSING set.
	Missing = func() mp.Func[int, int] {
		if os.Getenv("CLUSTER_TEST_NO_MISSING") != "" {
			return mp.Func[int, int]{}
		}
		return mp.Register("ctest.missing", func(ctx context.Context, x int) (int, error) { return x, nil })
	}()
)

type gate struct {
	Ready, Release string
}

// release opens a gate's Release FIFO.
func release(t testing.TB, fifo string) {
	t.Helper()
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

type hold struct {
	FIFO, Marker string
}

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// announce writes the worker's and this process's pids into a FIFO.
func announce(fifo string) {
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(f, "%d %d\n", os.Getppid(), os.Getpid())
	f.Close()
}

func newFIFO(t testing.TB) string {
	t.Helper()
	path := t.TempDir() + "/fifo"
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAnnounce waits (bounded, not as synchronisation) for one
// announcement: the cluster worker's pid and the pool process's pid.
func readAnnounce(t testing.TB, fifo string) (worker, proc int) {
	t.Helper()
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetReadDeadline(time.Now().Add(90 * time.Second))
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatalf("no announcement in %s: %v", fifo, sc.Err())
	}
	if _, err := fmt.Sscan(sc.Text(), &worker, &proc); err != nil {
		t.Fatal(err)
	}
	return worker, proc
}

// waitGone waits for a process that is not our child to end, through a
// pidfd (readable when it exits), bounded.
func waitGone(t testing.TB, pid int, within time.Duration) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return
		}
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(within.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("process %d still alive after %v", pid, within)
		}
		return
	}
}

// workers are worker processes of the cluster at url: this test binary
// started again with --braid-worker.
type workers struct {
	t    testing.TB
	cmds []*exec.Cmd
	errs []chan error
}

func startWorkers(t testing.TB, url string, n int, env []string, args ...string) *workers {
	t.Helper()
	w := &workers{t: t}
	for i := 0; i < n; i++ {
		w.add(url, env, args...)
	}
	t.Cleanup(w.stop)
	return w
}

func (w *workers) add(url string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{cluster.WorkerFlag, url, "--drain-timeout", "20s"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() { ch <- cmd.Wait() }()
	w.cmds = append(w.cmds, cmd)
	w.errs = append(w.errs, ch)
	return cmd
}

// kill SIGKILLs the worker with pid and reaps it.
func (w *workers) kill(pid int) {
	for i, c := range w.cmds {
		if c.Process.Pid == pid {
			c.Process.Kill()
			<-w.errs[i]
			w.errs[i] = nil
			return
		}
	}
	w.t.Fatalf("pid %d is not a worker of this test", pid)
}

// stop SIGTERMs every worker still running and waits for it (bounded).
func (w *workers) stop() {
	for i, c := range w.cmds {
		if w.errs[i] == nil {
			continue
		}
		c.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-w.errs[i]:
			if err != nil && !killedBySignal(err) {
				w.t.Errorf("worker %d: %v", c.Process.Pid, err)
			}
		case <-time.After(60 * time.Second):
			c.Process.Kill()
			<-w.errs[i]
			w.t.Errorf("worker %d did not stop within 60s of SIGTERM", c.Process.Pid)
		}
		w.errs[i] = nil
	}
}

func (w *workers) pids() []int {
	var p []int
	for _, c := range w.cmds {
		p = append(p, c.Process.Pid)
	}
	return p
}

// newClient starts a client with an embedded server and n workers, and
// at cleanup stops the workers, shuts the client down and checks that no
// child process is left.
func newClient(t testing.TB, n int, opts ...cluster.Option) (*cluster.Client, *workers) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := cluster.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if k := children(); k != 0 {
			t.Errorf("%d child processes left", k)
		}
	})
	w := startWorkers(t, c.URL(), n, nil, "--concurrency", "2")
	return c, w
}

// children counts this process's child processes from /proc.
func children() int {
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 2 && f[2] == me {
			n++
		}
	}
	return n
}
