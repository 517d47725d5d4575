// Package aiohttp is an HTTP/1.1 client on aio's event loop, as Python's
// aiohttp.ClientSession is on asyncio's: requests run in tasks and
// suspend them, not the thread. It is a package of its own so that a
// program using aio without HTTP does not link net/http and crypto/tls.
package aiohttp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/aio"
)

var zeroTime time.Time

// ErrTooManyRedirects is matched by the error of a request that would
// follow more redirects than Client.MaxRedirects allows; the error
// names the limit and the last URL.
var ErrTooManyRedirects = errors.New("aiohttp: Client: too many redirects")

// Client is an HTTP/1.1 client on the loop (aiohttp's ClientSession):
// requests run in tasks and suspend them, not the thread,
// so one loop keeps thousands of requests in flight. It keeps a pool of
// keep-alive connections per host. Requests are written and responses
// parsed by net/http's own wire functions (Request.Write and
// http.ReadResponse) over aio connections (aio.Conn); https goes through
// crypto/tls on the same connections.
//
// A client is bound to one loop: the loop of the first request (a
// client of a loop that has been closed binds again to the next one). A
// request from a task of another loop fails with an error matching
// ErrOtherLoop and touches nothing; from a plain goroutine or a loop
// callback, with one matching ErrNotInTask. Its pool is that loop's: its
// connections are the loop's sockets, so a pool per loop would be a
// client per loop, which is what to make for two loops (one Client
// each). The zero value is ready to use; do not copy a client after its
// first use.
type Client struct {
	// MaxIdlePerHost bounds the idle connections kept per host (0: 1024).
	MaxIdlePerHost int
	// TLSConfig configures https connections (nil: the defaults).
	TLSConfig *tls.Config
	// DisableKeepAlives makes every request use a new connection.
	DisableKeepAlives bool
	// MaxRedirects bounds the redirects Do follows for one request (0:
	// 10, as net/http and aiohttp). A negative value follows none: Do
	// returns the 3xx response itself.
	MaxRedirects int
	// CheckRedirect, if set, is called before each redirect is followed,
	// as net/http's Client.CheckRedirect: req is the next request, via
	// the ones sent so far, oldest first. Returning http.ErrUseLastResponse
	// makes Do return the 3xx response, body unread; another error ends
	// Do with that error and the 3xx response, body closed. MaxRedirects
	// applies first.
	CheckRedirect func(req *http.Request, via []*http.Request) error

	loop  atomic.Pointer[aio.Loop] // the loop the client is bound to
	pools map[string][]*httpConn
}

// bind checks that the caller is a task of ctx's loop and binds the
// client to that loop, or says why not.
func (c *Client) bind(ctx context.Context, what string) error {
	l := aio.CurrentLoop(ctx)
	if l == nil {
		return aio.ErrNoLoop
	}
	if err := l.CheckTask(what); err != nil {
		return err
	}
	for {
		b := c.loop.Load()
		if b == l {
			return nil
		}
		if b != nil && !b.IsClosed() {
			return &otherLoopError{what: what}
		}
		if c.loop.CompareAndSwap(b, l) {
			// The connections of a closed loop are gone with it (the
			// closed loop's writes happen before its closed flag).
			c.pools = nil
			return nil
		}
	}
}

// otherLoopError is the error of a request from a task of another loop
// than the client's: it matches aio.ErrOtherLoop.
type otherLoopError struct{ what string }

func (e *otherLoopError) Error() string {
	return e.what + ": the client is bound to another event loop (the loop of its first request); make one Client per loop"
}

func (e *otherLoopError) Is(target error) bool { return target == aio.ErrOtherLoop }

// httpConn is one connection of the client.
type httpConn struct {
	c   *aio.Conn
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
	r := h.c.Reader()
	return r.AtEOF() || r.Buffered() > 0 || h.c.Transport().IsClosing() || h.br.Buffered() > 0
}

// Get fetches url with a GET request.
func (c *Client) Get(ctx context.Context, url string) (*http.Response, error) {
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
//
// Redirects are followed as net/http follows them (see MaxRedirects and
// CheckRedirect): a 301, 302 or 303 turns a request other than GET or
// HEAD into a GET without a body (nor Content-Type and Content-Length
// headers); a 307 or 308 sends the same method and body again, which
// needs req.GetBody (http.NewRequest sets it for a bytes.Buffer,
// bytes.Reader or strings.Reader body): without it Do fails with an
// error saying so. The request's headers go along, except Authorization,
// Proxy-Authorization, WWW-Authenticate, Cookie and Cookie2 when the
// redirect leaves the first request's host (for one that is not the host
// or a subdomain of it). The response's Request is the last request.
func (c *Client) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	if err := c.bind(ctx, "aiohttp.Client.Do"); err != nil {
		return nil, err
	}
	limit := c.MaxRedirects
	if limit == 0 {
		limit = 10
	}
	first := req
	var via []*http.Request
	for {
		resp, err := c.send(ctx, req)
		if err != nil {
			return nil, err
		}
		method, follow, withBody := redirectBehavior(req.Method, resp.StatusCode)
		loc := resp.Header.Get("Location")
		if !follow || loc == "" || limit < 0 {
			return resp, nil
		}
		u, err := req.URL.Parse(loc)
		if err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("aiohttp: Client: a %d redirect from %s has a Location that is not a URL (%q): %w", resp.StatusCode, req.URL, loc, err)
		}
		via = append(via, req)
		if len(via) > limit {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: stopped after %d redirects (the limit, Client.MaxRedirects; set it to follow more, or to -1 to get the 3xx response); the last request was to %s, redirected to %s",
				ErrTooManyRedirects, limit, req.URL, u)
		}
		next, err := redirectRequest(first, req, method, u, withBody, resp.StatusCode)
		if err != nil {
			resp.Body.Close()
			return nil, err
		}
		if c.CheckRedirect != nil {
			if err := c.CheckRedirect(next, via); err != nil {
				if errors.Is(err, http.ErrUseLastResponse) {
					return resp, nil
				}
				resp.Body.Close()
				return resp, err
			}
		}
		// Read the redirect's body to its end, so that its connection
		// goes back to the pool for the next request.
		resp.Body.Close()
		req = next
	}
}

// redirectBehavior says how a response with the given status redirects
// a request made with method, as net/http does.
func redirectBehavior(method string, status int) (next string, follow, withBody bool) {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != http.MethodGet && method != http.MethodHead {
			return http.MethodGet, true, false
		}
		return method, true, false
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return method, true, true
	}
	return method, false, false
}

// credentialHeaders do not follow a redirect to another host.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Www-Authenticate", "Cookie", "Cookie2"}

// redirectRequest makes the request that follows req's redirect to u.
func redirectRequest(first, req *http.Request, method string, u *url.URL, withBody bool, status int) (*http.Request, error) {
	next, err := http.NewRequestWithContext(req.Context(), method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("aiohttp: Client: cannot follow the %d redirect from %s to %s: %w", status, req.URL, u, err)
	}
	next.Header = first.Header.Clone()
	if next.Header == nil {
		next.Header = make(http.Header)
	}
	if !sameHostOrSubdomain(first.URL, u) {
		for _, h := range credentialHeaders {
			next.Header.Del(h)
		}
	}
	if !withBody {
		next.Header.Del("Content-Type")
		next.Header.Del("Content-Length")
		return next, nil
	}
	if first.Body == nil || first.Body == http.NoBody {
		return next, nil
	}
	if first.GetBody == nil {
		return nil, fmt.Errorf("aiohttp: Client: cannot follow the %d redirect from %s to %s: a %d sends the request's body again, and this body cannot be re-sent "+
			"(set Request.GetBody: http.NewRequest does for a bytes.Buffer, bytes.Reader or strings.Reader body), or take the 3xx response with CheckRedirect returning http.ErrUseLastResponse",
			status, req.URL, u, status)
	}
	body, err := first.GetBody()
	if err != nil {
		return nil, fmt.Errorf("aiohttp: Client: cannot follow the %d redirect from %s to %s: GetBody: %w", status, req.URL, u, err)
	}
	next.Body, next.GetBody, next.ContentLength = body, first.GetBody, first.ContentLength
	return next, nil
}

// sameHostOrSubdomain reports whether dest's host is initial's or a
// subdomain of it (net/http's rule for sending credentials on).
func sameHostOrSubdomain(initial, dest *url.URL) bool {
	ih, dh := strings.ToLower(initial.Hostname()), strings.ToLower(dest.Hostname())
	if ih == dh {
		return true
	}
	if strings.ContainsAny(dh, ":%") { // an IPv6 address is no subdomain
		return false
	}
	return strings.HasSuffix(dh, "."+ih)
}

// send makes one exchange of Do, without redirects.
func (c *Client) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, errors.New("aiohttp: Client.Do: the request has no URL")
	}
	scheme := req.URL.Scheme
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("aiohttp: Client supports http and https, not %q", scheme)
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
		if reused && attempt == 0 && ctx.Err() == nil && retryable(req, err) {
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

func (c *Client) conn(ctx context.Context, key, scheme, host, serverName string) (*httpConn, bool, error) {
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
	conn, err := aio.Dial(ctx, "tcp", host)
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

func (c *Client) roundTrip(ctx context.Context, hc *httpConn, req *http.Request) (*http.Response, error) {
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
	client *Client
	reuse  bool
	done   bool
}

// Read reads the body; its end gives the connection back to the pool.
func (b *httpBody) Read(p []byte) (int, error) {
	if err := b.client.loop.Load().CheckOwner("reading an aiohttp.Client response body"); err != nil {
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
	if err := b.client.loop.Load().CheckOwner("closing an aiohttp.Client response body"); err != nil {
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

func (c *Client) release(hc *httpConn) {
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
func (c *Client) CloseIdleConnections() {
	mustOnLoop(c.loop.Load(), "aiohttp.Client.CloseIdleConnections")
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
func (c *Client) IdleConnections() int {
	mustOnLoop(c.loop.Load(), "aiohttp.Client.IdleConnections")
	n := 0
	for _, idle := range c.pools {
		n += len(idle)
	}
	return n
}

// mustOnLoop panics, with CheckOwner's error, when the caller may not use
// an object of l.
func mustOnLoop(l *aio.Loop, what string) {
	if err := l.CheckOwner(what); err != nil {
		panic(err)
	}
}
