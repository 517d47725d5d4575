package aio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
)

// MultiLoopServer is a server that uses every core: one loop per OS
// thread, each with its own listening socket on the same address
// (SO_REUSEPORT), the kernel spreading the connections among them. Each
// loop keeps the single-threaded promise for its own connections; loops
// share nothing. Its methods are safe from any goroutine.
type MultiLoopServer struct {
	addr    net.Addr
	cancels []context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
}

// StartMultiLoopServer starts n loops (n <= 0: runtime.GOMAXPROCS(0)),
// each running in a goroutine locked to its own OS thread, and calls
// start on each loop to make its server (with CreateServer or
// StartServer), passing reusePort for the server's options. The first
// loop binds address (port 0 picks a free port); the others bind the
// address it got. ctx is an ordinary context (not a loop's): cancelling
// it stops every loop, as Close does.
//
//	srv, err := aio.StartMultiLoopServer(ctx, 0, "tcp", "127.0.0.1:8080",
//		func(ctx context.Context, network, addr string, reusePort aio.NetOption) (*aio.Server, error) {
//			return aio.CreateServer(ctx, network, addr, newEcho, reusePort)
//		})
func StartMultiLoopServer(ctx context.Context, n int, network, address string,
	start func(ctx context.Context, network, address string, reusePort NetOption) (*Server, error)) (*MultiLoopServer, error) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if loopOf(ctx) != nil {
		return nil, errors.New("aio: StartMultiLoopServer starts loops of its own: give it an ordinary context, not a loop's")
	}
	m := &MultiLoopServer{}
	for i := 0; i < n; i++ {
		started := make(chan error, 1)
		lctx, cancel := context.WithCancel(ctx)
		m.cancels = append(m.cancels, cancel)
		addr := address
		if m.addr != nil {
			addr = m.addr.String()
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			reported := false
			err := Run(lctx, func(ctx context.Context) error {
				srv, err := start(ctx, network, addr, WithReusePort())
				if err != nil {
					return err
				}
				if srv == nil {
					return errors.New("aio: StartMultiLoopServer: start returned no server")
				}
				m.mu.Lock()
				if m.addr == nil {
					m.addr = srv.Addr()
				}
				m.mu.Unlock()
				reported = true
				started <- nil
				err = srv.ServeForever(ctx)
				if ctx.Err() != nil {
					return nil // stopped by Close or ctx
				}
				return err
			})
			if !reported {
				if err == nil {
					err = errors.New("aio: a loop of the multi-loop server stopped before it served")
				}
				started <- err
				return
			}
			if err != nil {
				m.mu.Lock()
				m.errs = append(m.errs, err)
				m.mu.Unlock()
			}
		}()
		if err := <-started; err != nil {
			m.Close()
			return nil, fmt.Errorf("aio: starting loop %d of the multi-loop server: %w", i, err)
		}
	}
	return m, nil
}

// Addr returns the address every loop listens on.
func (m *MultiLoopServer) Addr() net.Addr { return m.addr }

// Loops returns the number of loops.
func (m *MultiLoopServer) Loops() int { return len(m.cancels) }

// Close stops every loop (their Run ends: connections still open are
// closed) and waits for them. It returns the errors the loops ended with.
func (m *MultiLoopServer) Close() error {
	for _, c := range m.cancels {
		c()
	}
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	return errors.Join(m.errs...)
}
