package aio_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

type udpEcho struct {
	aio.BaseDatagramProtocol
	t aio.DatagramTransport
}

func (p *udpEcho) ConnectionMade(t aio.DatagramTransport) { p.t = t }
func (p *udpEcho) DatagramReceived(data []byte, addr net.Addr) {
	p.t.SendTo(bytes.ToUpper(data), addr)
}

type udpClient struct {
	aio.BaseDatagramProtocol
	got  *aio.Future[string]
	lost *aio.Future[error]
}

func (p *udpClient) DatagramReceived(data []byte, addr net.Addr) { p.got.SetResult(string(data)) }
func (p *udpClient) ConnectionLost(err error)                    { p.lost.SetResult(err) }

func TestUDPEndpoints(t *testing.T) {
	checkFDs(t)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		st, _, err := aio.CreateDatagramEndpoint(ctx, "udp4", "127.0.0.1:0", "", func() aio.DatagramProtocol { return &udpEcho{} })
		if err != nil {
			return err
		}
		defer st.Close()
		cp := &udpClient{got: aio.NewFuture[string](ctx), lost: aio.NewFuture[error](ctx)}
		ct, _, err := aio.CreateDatagramEndpoint(ctx, "udp4", "", st.LocalAddr().String(), func() aio.DatagramProtocol { return cp })
		if err != nil {
			return err
		}
		if err := ct.SendTo([]byte("ping"), nil); err != nil {
			return err
		}
		got, err := cp.got.Await(ctx)
		if err != nil {
			return err
		}
		if got != "PING" {
			t.Errorf("got %q", got)
		}
		ct.Close()
		if err, _ := cp.lost.Await(ctx); err != nil {
			t.Errorf("ConnectionLost(%v)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSubprocessCommunicate(t *testing.T) {
	checkFDs(t)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		// 1 MiB through cat: more than any pipe buffer, both ways at once.
		input := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
		p, err := aio.StartProcess(ctx, exec.Command("sh", "-c", "cat; echo done >&2; exit 3"))
		if err != nil {
			return err
		}
		out, errOut, err := p.Communicate(ctx, input)
		if err != nil {
			return err
		}
		if !bytes.Equal(out, input) {
			t.Errorf("stdout: %d bytes, want %d", len(out), len(input))
		}
		if string(errOut) != "done\n" {
			t.Errorf("stderr %q", errOut)
		}
		if code, ok := p.ReturnCode(); !ok || code != 3 {
			t.Errorf("return code %d %v", code, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSubprocessStreamsAndKill(t *testing.T) {
	checkFDs(t)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		p, err := aio.StartProcess(ctx, exec.Command("sh", "-c", "while read l; do echo \"got $l\"; done"))
		if err != nil {
			return err
		}
		for _, w := range []string{"a", "b"} {
			p.Stdin.WriteString(w + "\n")
			line, err := p.Stdout.ReadLine(ctx)
			if err != nil {
				return err
			}
			if string(line) != "got "+w+"\n" {
				t.Errorf("line %q", line)
			}
		}
		p.Kill()
		code, err := p.Wait(ctx)
		if err != nil {
			return err
		}
		if code != -int(syscall.SIGKILL) {
			t.Errorf("code %d, want -9", code)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A child still running when Run ends is killed and collected: no zombie,
// no goroutine, no descriptor left.
func TestSubprocessLeftRunningIsCollected(t *testing.T) {
	checkFDs(t)
	var pid int
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		p, err := aio.StartProcess(ctx, exec.Command("sleep", "60"))
		if err != nil {
			return err
		}
		pid = p.Pid()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The pid was collected: signalling it fails (ESRCH), it is no zombie.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("child %d still exists after Run: %v", pid, err)
	}
}

func TestSignalHandlerRunsOnLoop(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		got := aio.NewFuture[string](ctx)
		if err := l.AddSignalHandler(syscall.SIGUSR1, func() { got.SetResult("usr1") }); err != nil {
			return err
		}
		defer l.RemoveSignalHandler(syscall.SIGUSR1)
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
			return err
		}
		s, err := got.Await(ctx)
		if err != nil {
			return err
		}
		if s != "usr1" {
			t.Errorf("got %q", s)
		}
		if !l.RemoveSignalHandler(syscall.SIGUSR1) {
			t.Error("RemoveSignalHandler found no handler")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// With a virtual clock, a server task of the same loop that sleeps an
// hour (virtual) before it answers does not deadlock a client waiting on
// the socket, and a timeout on a silent socket still fires.
func TestVirtualClockAndSockets(t *testing.T) {
	checkFDs(t)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			if _, err := r.ReadLine(ctx); err != nil {
				return
			}
			if aio.Sleep(ctx, time.Hour) != nil {
				return
			}
			w.WriteString("late\n")
			r.Read(ctx, -1)
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		r, w, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer w.Close()
		start := aio.CurrentLoop(ctx).Time()
		w.WriteString("hi\n")
		line, err := r.ReadLine(ctx)
		if err != nil || string(line) != "late\n" {
			t.Errorf("ReadLine = %q, %v", line, err)
		}
		if d := aio.CurrentLoop(ctx).Time().Sub(start); d < time.Hour {
			t.Errorf("the answer came after %v of virtual time, want an hour", d)
		}
		// Nothing more comes: a timeout fires on the virtual clock.
		tctx, cancel := aio.WithTimeout(ctx, time.Minute)
		defer cancel.Stop()
		if _, err := r.ReadLine(tctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ReadLine on a silent socket: %v, want a deadline error", err)
		}
		return nil
	}, aio.WithVirtualClock())
	if err != nil {
		t.Fatal(err)
	}
}

type lostRecorder struct {
	aio.BaseProtocol
	lost *error
}

func (p *lostRecorder) ConnectionLost(err error) { *p.lost = err }

// What the loop still owns when Run ends is closed: servers, accepted and
// dialled connections, UDP endpoints; protocols are told.
func TestRunShutdownClosesOpenIO(t *testing.T) {
	checkFDs(t)
	var lost error
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &echoProto{} })
		if err != nil {
			return err
		}
		if _, _, err := aio.CreateConnection(ctx, "tcp", srv.Addr().String(), func() aio.Protocol { return &lostRecorder{lost: &lost} }); err != nil {
			return err
		}
		if _, _, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String()); err != nil {
			return err
		}
		if _, _, err := aio.CreateDatagramEndpoint(ctx, "udp", "127.0.0.1:0", "", func() aio.DatagramProtocol { return &udpEcho{} }); err != nil {
			return err
		}
		return nil // everything left open
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(lost, net.ErrClosed) {
		t.Errorf("ConnectionLost(%v), want an error matching net.ErrClosed", lost)
	}
}

// The same endpoints over IPv6 and Unix datagram sockets.
func TestDatagramIPv6AndUnixgram(t *testing.T) {
	checkFDs(t)
	dir := t.TempDir()
	cases := []struct{ network, server, client string }{
		{"udp6", "[::1]:0", ""},
		{"unixgram", dir + "/srv.sock", dir + "/cli.sock"},
	}
	for _, c := range cases {
		t.Run(c.network, func(t *testing.T) {
			err := aio.Run(context.Background(), func(ctx context.Context) error {
				st, _, err := aio.CreateDatagramEndpoint(ctx, c.network, c.server, "", func() aio.DatagramProtocol { return &udpEcho{} })
				if err != nil {
					if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) {
						t.Skip("no IPv6 loopback here")
					}
					return err
				}
				defer st.Close()
				cp := &udpClient{got: aio.NewFuture[string](ctx), lost: aio.NewFuture[error](ctx)}
				// A Unix datagram client must bind a path of its own to get
				// answers.
				ct, _, err := aio.CreateDatagramEndpoint(ctx, c.network, c.client, st.LocalAddr().String(), func() aio.DatagramProtocol { return cp })
				if err != nil {
					return err
				}
				defer ct.Close()
				if err := ct.SendTo([]byte("six"), nil); err != nil {
					return err
				}
				got, err := cp.got.Await(ctx)
				if got != "SIX" {
					t.Errorf("got %q", got)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
