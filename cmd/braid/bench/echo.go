package bench

// The echo workload: a TCP echo server in a child process pinned to one
// core, driven by braid's own load generator (one loop, Protocol clients)
// pinned to the other. It reports requests/s, p50/p99 latency and the
// server's CPU time per request (its user+system time over the measured
// window divided by the requests served in it), for braid's Protocol and
// streams servers and for any peer given with --against NAME=CMD.
//
// This file holds the workload (its flags, the servers, the rounds, the
// rows) and braid's echo server child; loadgen.go the load generator;
// stats.go the medians and paired ratios; proc.go the /proc readers;
// pin_linux.go the pinning of the load generator.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/braid-go/braid/aio"
)

type echoFlags struct {
	conns    string
	sizes    string
	duration time.Duration
	warmup   time.Duration
	servers  string
	against  againstList
	idle     int
	rounds   int
}

type againstList []string

func (a *againstList) String() string { return strings.Join(*a, ", ") }
func (a *againstList) Set(v string) error {
	name, cmd, ok := strings.Cut(v, "=")
	if !ok || name == "" || strings.TrimSpace(cmd) == "" {
		return fmt.Errorf("want NAME=CMD, got %q", v)
	}
	if !strings.Contains(cmd, "{port}") {
		return fmt.Errorf("the command of %s must contain {port}", name)
	}
	*a = append(*a, v)
	return nil
}

var echoOpts = echoFlags{conns: "100", sizes: "64", duration: 10 * time.Second, warmup: time.Second,
	servers: "braid-protocol,braid-streams", idle: 10_000, rounds: 3}

// echoFlagSet registers the echo workload's flags.
func echoFlagSet(fs *flag.FlagSet) {
	fs.StringVar(&echoOpts.conns, "conns", echoOpts.conns, "echo: connections, or a comma list (100,1000)")
	fs.StringVar(&echoOpts.sizes, "size", echoOpts.sizes, "echo: message size in bytes, or a comma list (64,4096)")
	fs.DurationVar(&echoOpts.duration, "duration", echoOpts.duration, "echo: measured time per server and configuration")
	fs.DurationVar(&echoOpts.warmup, "warmup", echoOpts.warmup, "echo: load before the measured window")
	fs.StringVar(&echoOpts.servers, "servers", echoOpts.servers, "echo: braid servers to measure (braid-protocol, braid-streams; empty for none)")
	fs.Var(&echoOpts.against, "against", "echo: NAME=CMD, a peer server to measure too; {port} in CMD is replaced by the port (repeatable; default: none)")
}

// echoRounds is the number of rounds over every server: the command's
// --rounds when given, else 3; 1 for a quick run.
func echoRounds(cfg Config) int {
	switch {
	case cfg.Quick:
		return 1
	case cfg.Rounds > 0:
		return cfg.Rounds
	}
	return max(echoOpts.rounds, 1)
}

// idleFlagSet registers the idle-conns workload's flag.
func idleFlagSet(fs *flag.FlagSet) {
	fs.IntVar(&echoOpts.idle, "idle", echoOpts.idle, "idle-conns: connections to hold")
}

// echoServer is one server to measure: braid's own (a model) or a peer
// command.
type echoServer struct {
	name string
	argv []string // with {port}
	peer bool     // given with --against
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("not a positive number: %q", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func echoServers(self string) ([]echoServer, error) {
	var out []echoServer
	for _, m := range strings.Split(echoOpts.servers, ",") {
		m = strings.TrimSpace(m)
		switch m {
		case "":
		case "braid-protocol", "braid-streams":
			out = append(out, echoServer{name: m, argv: []string{self, ChildCommand, "echo-server", "--model", strings.TrimPrefix(m, "braid-"), "--port", "{port}"}})
		default:
			return nil, fmt.Errorf("unknown braid echo server %q (want braid-protocol or braid-streams)", m)
		}
	}
	for _, a := range echoOpts.against {
		name, cmd, _ := strings.Cut(a, "=")
		argv, err := splitCommand(cmd)
		if err != nil {
			return nil, fmt.Errorf("--against %s: %w", name, err)
		}
		out = append(out, echoServer{name: name, argv: argv, peer: true})
	}
	return out, nil
}

func runEcho(ctx context.Context, cfg Config, report func(Row)) error {
	conns, err := parseInts(echoOpts.conns)
	if err != nil {
		return fmt.Errorf("--conns: %w", err)
	}
	sizes, err := parseInts(echoOpts.sizes)
	if err != nil {
		return fmt.Errorf("--size: %w", err)
	}
	duration, warmup := echoOpts.duration, echoOpts.warmup
	if cfg.Quick {
		duration, warmup = 500*time.Millisecond, 100*time.Millisecond
		conns = []int{min(conns[0], 10)}
		sizes = sizes[:1]
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	servers, err := echoServers(self)
	if err != nil {
		return err
	}
	if len(servers) == 0 {
		return errors.New("no server to measure: give --servers or --against")
	}
	restore, pinned := pinSelf(1)
	defer restore()
	rounds := echoRounds(cfg)
	type key struct{ conns, size, server int }
	results := map[key][]echoResult{}
	// Rounds are interleaved (every server once per round) so that a
	// change in the machine's load hits every server alike; the medians
	// are reported.
	for round := 0; round < rounds; round++ {
		for _, nc := range conns {
			for _, size := range sizes {
				for si, s := range servers {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					cfg.Progress("echo: round %d/%d, %s, %d conns, %d B, %s", round+1, rounds, s.name, nc, size, duration)
					res, err := measureEcho(ctx, s, nc, size, warmup, duration, pinned)
					if err != nil {
						return fmt.Errorf("%s: %w", s.name, err)
					}
					k := key{nc, size, si}
					results[k] = append(results[k], res)
				}
			}
		}
	}
	for _, nc := range conns {
		for _, size := range sizes {
			// The best peer is the --against server with the lowest median
			// CPU per request. Each server is compared with it round by
			// round (both measured minutes apart at most), and the median
			// of those ratios is reported: a shared machine's load moves
			// more between rounds than servers differ within one.
			best := -1
			var bestCPU float64
			for si, s := range servers {
				rs := results[key{nc, size, si}]
				if !s.peer || len(rs) == 0 {
					continue
				}
				c := medianOf(rs, echoResult.cpu)
				if best < 0 || c < bestCPU {
					best, bestCPU = si, c
				}
			}
			for si, s := range servers {
				rs := results[key{nc, size, si}]
				med := func(get func(echoResult) float64) float64 { return medianOf(rs, get) }
				var vsBest float64
				note := fmt.Sprintf("%d conns, %d B, %s", nc, size, duration)
				if best >= 0 && si != best {
					if r, lo, hi, ok := pairedRatio(rs, results[key{nc, size, best}]); ok {
						vsBest = r
						note += fmt.Sprintf(", %.3fx the CPU of %s (median of per-round ratios, %.2f-%.2f)",
							r, servers[best].name, lo, hi)
					}
				} else if si == best {
					vsBest = 1
					note += ", the best peer"
				}
				if len(rs) > 1 {
					cpus := make([]string, len(rs))
					for i, r := range rs {
						cpus[i] = fmt.Sprintf("%.2f", r.cpuPerReq)
					}
					note += fmt.Sprintf(", median of %d rounds (cpu us/req %s)", len(rs), strings.Join(cpus, " "))
				}
				if !pinned {
					note += ", not pinned (no taskset/affinity)"
				}
				report(Row{Workload: "echo", Model: s.name,
					RPS:         med(func(r echoResult) float64 { return r.rps }),
					P50us:       med(func(r echoResult) float64 { return r.p50 }),
					P99us:       med(func(r echoResult) float64 { return r.p99 }),
					CPUusPerReq: med(echoResult.cpu),
					SysUsPerReq: med(func(r echoResult) float64 { return r.sysPerReq }),
					CPUvsBest:   vsBest,
					Note:        note})
			}
		}
	}
	return nil
}

// startServer starts s on a free port, pinned to cpu0 when taskset is
// there, and waits until it accepts connections.
func startServer(ctx context.Context, s echoServer, pinned bool) (*exec.Cmd, int, io.WriteCloser, *bufio.Reader, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, nil, nil, err
	}
	argv := make([]string, len(s.argv))
	for i, a := range s.argv {
		argv[i] = strings.ReplaceAll(a, "{port}", strconv.Itoa(port))
	}
	if pinned {
		if ts, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{ts, "-c", "0"}, argv...)
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, nil, nil, fmt.Errorf("starting %q: %w", strings.Join(argv, " "), err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return cmd, port, stdin, bufio.NewReader(stdout), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stopServer(cmd, stdin)
			return nil, 0, nil, nil, fmt.Errorf("the server %q did not accept connections within 15 s: %w", strings.Join(argv, " "), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopServer asks the server to stop (SIGTERM, stdin closed), then kills
// it if it has not exited after 3 s, and collects it.
func stopServer(cmd *exec.Cmd, stdin io.Closer) {
	if stdin != nil {
		stdin.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// splitCommand splits a command line into words, honouring single and
// double quotes and backslashes (no other shell syntax).
func splitCommand(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc = true
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("unbalanced quote in %q", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, errors.New("empty command")
	}
	return out, nil
}

// echoServerMain is the child process: braid's echo server on one loop,
// Protocol or streams, until SIGTERM or the end of its stdin. A line
// "mem" on stdin prints the process's memory figures.
func echoServerMain(args []string) int {
	fs := flag.NewFlagSet("echo-server", flag.ContinueOnError)
	model := fs.String("model", "protocol", "protocol or streams")
	port := fs.Int("port", 0, "port on 127.0.0.1")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "mem" {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				fmt.Printf("mem heap=%d stack=%d rss=%d\n", m.HeapInuse, m.StackInuse, ProcStatusKiB("VmRSS")*1024)
			}
		}
		cancel()
	}()
	err := aio.Run(ctx, func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		l.AddSignalHandler(syscall.SIGTERM, cancel)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
		var srv *aio.Server
		var err error
		switch *model {
		case "protocol":
			srv, err = aio.CreateServer(ctx, "tcp", addr, func() aio.Protocol { return &echoProtocol{} }, aio.WithBacklog(4096))
		case "streams":
			srv, err = aio.StartServer(ctx, "tcp", addr, echoStreams, aio.WithBacklog(4096))
		default:
			return fmt.Errorf("unknown model %q", *model)
		}
		if err != nil {
			return err
		}
		fmt.Printf("listening %s model=%s\n", srv.Addr(), *model)
		return srv.ServeForever(ctx)
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "echo-server:", err)
		return 1
	}
	return 0
}

// echoProtocol is the Protocol echo: no task, no copy.
type echoProtocol struct {
	aio.BaseProtocol
	t aio.Transport
}

func (p *echoProtocol) ConnectionMade(t aio.Transport) { p.t = t }
func (p *echoProtocol) DataReceived(data []byte)       { p.t.Write(data) }

// echoStreams is the streams echo: a task per connection reading and
// writing its Conn as a net.Conn.
func echoStreams(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
	c := r.Conn()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
