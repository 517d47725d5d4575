package aio

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

var zeroTime time.Time

// HTTPClient is an HTTP/1.1 client on the loop (the articles' aiohttp
// ClientSession): requests run in tasks and suspend them, not the thread,
// so one loop keeps thousands of requests in flight. It keeps a pool of
// keep-alive connections per host. Requests are written and responses
// parsed by net/http's own wire functions (Request.Write and
// http.ReadResponse) over braid connections; https goes through
// crypto/tls on the same connections.
//
// A client is bound to one loop: the loop of the first request (a
// client of a loop that has been closed binds again to the next one). A
// request from a task of another loop fails with an error matching
// ErrOtherLoop and touches nothing; from a plain goroutine or a loop
// callback, with one matching ErrNotInTask. Its pool is that loop's: its
// connections are the loop's sockets, so a pool per loop would be a
// client per loop, which is what to make for two loops (one HTTPClient
// each). The zero value is ready to use; do not copy a client after its
// first use.
type HTTPClient struct {
	// MaxIdlePerHost bounds the idle connections kept per host (0: 1024).
	MaxIdlePerHost int
	// TLSConfig configures https connections (nil: the defaults).
	TLSConfig *tls.Config
	// DisableKeepAlives makes every request use a new connection.
	DisableKeepAlives bool

	loop  atomic.Pointer[Loop] // the loop the client is bound to
	pools map[string][]*httpConn
}

// bind checks that the caller is a task of ctx's loop and binds the
// client to that loop, or says why not.
func (c *HTTPClient) bind(ctx context.Context, what string) error {
	l := loopOf(ctx)
	if l == nil {
		return ErrNoLoop
	}
	t, err := l.callerTask()
	if err != nil {
		return err
	}
	if t == nil {
		return errNotInTask(what)
	}
	for {
		b := c.loop.Load()
		if b == l {
			return nil
		}
		if b != nil && !b.closed.Load() {
			return &callerError{
				msg:  "aio: " + what + ": the client is bound to another event loop (the loop of its first request); make one HTTPClient per loop",
				kind: ErrOtherLoop,
			}
		}
		if c.loop.CompareAndSwap(b, l) {
			// The connections of a closed loop are gone with it (the
			// closed loop's writes happen before its closed flag).
			c.pools = nil
			return nil
		}
	}
}

// httpConn is one connection of the client.
type httpConn struct {
	c   *Conn
	tc  *tls.Conn // nil for http
	br  *bufio.Reader
	bw  *bufio.Writer
	ctx context.Context // the context of the request using it
	key string
}

// Read reads for the response parser with the current request's context.
func (h *httpConn) Read(p []byte) (int, error) {
	if h.tc != nil {
		return h.tc.Read(p)
	}
	return h.c.ReadContext(h.ctx, p)
}

// Write writes for the request writer with the current request's
// context.
func (h *httpConn) Write(p []byte) (int, error) {
	if h.tc != nil {
		return h.tc.Write(p)
	}
	return h.c.WriteContext(h.ctx, p)
}

func (h *httpConn) close() {
	if h.tc != nil {
		h.tc.Close()
		return
	}
	h.c.Close()
}

// stale reports whether an idle connection cannot be reused: the server
// closed it or sent something unasked.
func (h *httpConn) stale() bool {
	return h.c.r.eof || h.c.w.lost || h.c.w.tr.IsClosing() || h.c.r.Buffered() > 0 || h.br.Buffered() > 0
}

// Get fetches url with a GET request.
func (c *HTTPClient) Get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(ctx, req)
}

// Do sends req and returns the response once its header has arrived. ctx
// bounds the whole exchange, reading the body included: its cancellation
// or deadline ends a wait with its error. The caller must read the body
// to its end or close it, from a task of the loop; a body read to the end
// gives its connection back to the pool.
//
// A request on a reused connection that the server had closed meanwhile
// is sent again once on a new connection, if it has no body or can
// rewind it (GetBody).
func (c *HTTPClient) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	if err := c.bind(ctx, "HTTPClient.Do"); err != nil {
		return nil, err
	}
	if req.URL == nil {
		return nil, errors.New("aio: HTTPClient.Do: the request has no URL")
	}
	scheme := req.URL.Scheme
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("aio: HTTPClient supports http and https, not %q", scheme)
	}
	host := req.URL.Host
	if req.URL.Port() == "" {
		if scheme == "https" {
			host = net.JoinHostPort(req.URL.Hostname(), "443")
		} else {
			host = net.JoinHostPort(req.URL.Hostname(), "80")
		}
	}
	key := scheme + "://" + host
	for attempt := 0; ; attempt++ {
		hc, reused, err := c.conn(ctx, key, scheme, host, req.URL.Hostname())
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, hc, req)
		if err == nil {
			return resp, nil
		}
		hc.close()
		if reused && attempt == 0 && ctxErr(ctx) == nil && retryable(req, err) {
			if req.Body != nil && req.GetBody != nil {
				body, gerr := req.GetBody()
				if gerr != nil {
					return nil, err
				}
				req = req.Clone(req.Context())
				req.Body = body
			}
			continue
		}
		return nil, err
	}
}

// retryable: the server closed a kept-alive connection before answering,
// and the request can be sent again.
func retryable(req *http.Request, err error) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")
}

func (c *HTTPClient) conn(ctx context.Context, key, scheme, host, serverName string) (*httpConn, bool, error) {
	if c.pools == nil {
		c.pools = make(map[string][]*httpConn)
	}
	idle := c.pools[key]
	for len(idle) > 0 {
		hc := idle[len(idle)-1]
		idle[len(idle)-1] = nil
		idle = idle[:len(idle)-1]
		if hc.stale() {
			hc.close()
			continue
		}
		c.pools[key] = idle
		hc.ctx = ctx
		return hc, true, nil
	}
	c.pools[key] = idle
	conn, err := Dial(ctx, "tcp", host)
	if err != nil {
		return nil, false, err
	}
	hc := &httpConn{c: conn, ctx: ctx, key: key}
	if scheme == "https" {
		cfg := c.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = serverName
		}
		hc.tc = tls.Client(conn, cfg)
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		err := hc.tc.HandshakeContext(ctx)
		conn.SetDeadline(zeroTime)
		if err != nil {
			conn.Close()
			return nil, false, err
		}
	}
	hc.br = bufio.NewReaderSize(hc, 4096)
	hc.bw = bufio.NewWriterSize(hc, 4096)
	return hc, false, nil
}

func (c *HTTPClient) roundTrip(ctx context.Context, hc *httpConn, req *http.Request) (*http.Response, error) {
	if hc.tc != nil {
		if dl, ok := ctx.Deadline(); ok {
			hc.c.SetDeadline(dl)
		} else {
			hc.c.SetDeadline(zeroTime)
		}
	}
	if c.DisableKeepAlives && !req.Close {
		req = req.Clone(req.Context())
		req.Close = true
	}
	if err := req.Write(hc.bw); err != nil {
		return nil, err
	}
	if err := hc.bw.Flush(); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(hc.br, req)
	if err != nil {
		return nil, err
	}
	reuse := !resp.Close && !req.Close && !c.DisableKeepAlives
	resp.Body = &httpBody{body: resp.Body, hc: hc, client: c, reuse: reuse}
	return resp, nil
}

// httpBody gives the connection back when the body has been read.
type httpBody struct {
	body   io.ReadCloser
	hc     *httpConn
	client *HTTPClient
	reuse  bool
	done   bool
}

// Read reads the body; its end gives the connection back to the pool.
func (b *httpBody) Read(p []byte) (int, error) {
	if err := loopCheck(b.client.loop.Load(), "reading an HTTPClient response body"); err != nil {
		return 0, err
	}
	if b.done {
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

// Close closes the body; a body not read to its end is read (discarded)
// to the end first when its connection can be kept, as net/http does.
func (b *httpBody) Close() error {
	if err := loopCheck(b.client.loop.Load(), "closing an HTTPClient response body"); err != nil {
		return err
	}
	if b.done {
		return nil
	}
	err := b.body.Close()
	b.finish(err == nil)
	return nil
}

func (b *httpBody) finish(ok bool) {
	if b.done {
		return
	}
	b.done = true
	hc := b.hc
	b.hc = nil
	if ok && b.reuse {
		b.client.release(hc)
	} else {
		hc.close()
	}
}

func (c *HTTPClient) release(hc *httpConn) {
	hc.ctx = nil
	max := c.MaxIdlePerHost
	if max <= 0 {
		max = 1024
	}
	idle := c.pools[hc.key]
	if len(idle) >= max || hc.stale() {
		hc.close()
		return
	}
	c.pools[hc.key] = append(idle, hc)
}

// CloseIdleConnections closes the kept-alive connections not in use.
// Loop-only: it panics, changing nothing, in a task or callback of
// another loop or in a goroutine while the client's loop runs.
func (c *HTTPClient) CloseIdleConnections() {
	mustOnLoop(c.loop.Load(), "HTTPClient.CloseIdleConnections")
	for key, idle := range c.pools {
		for _, hc := range idle {
			hc.close()
		}
		delete(c.pools, key)
	}
}

// IdleConnections returns the number of kept-alive connections not in
// use, over every host.
//
// Loop-only, as CloseIdleConnections.
func (c *HTTPClient) IdleConnections() int {
	mustOnLoop(c.loop.Load(), "HTTPClient.IdleConnections")
	n := 0
	for _, idle := range c.pools {
		n += len(idle)
	}
	return n
}
