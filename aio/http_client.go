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
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

var zeroTime time.Time

// ErrTooManyRedirects is matched by the error of a request that would
// follow more redirects than HTTPClient.MaxRedirects allows; the error
// names the limit and the last URL.
var ErrTooManyRedirects = errors.New("aio: HTTPClient: too many redirects")

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
func (c *HTTPClient) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	if err := c.bind(ctx, "HTTPClient.Do"); err != nil {
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
			return nil, fmt.Errorf("aio: HTTPClient: a %d redirect from %s has a Location that is not a URL (%q): %w", resp.StatusCode, req.URL, loc, err)
		}
		via = append(via, req)
		if len(via) > limit {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: stopped after %d redirects (the limit, HTTPClient.MaxRedirects; set it to follow more, or to -1 to get the 3xx response); the last request was to %s, redirected to %s",
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
		return nil, fmt.Errorf("aio: HTTPClient: cannot follow the %d redirect from %s to %s: %w", status, req.URL, u, err)
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
		return nil, fmt.Errorf("aio: HTTPClient: cannot follow the %d redirect from %s to %s: a %d sends the request's body again, and this body cannot be re-sent "+
			"(set Request.GetBody: http.NewRequest does for a bytes.Buffer, bytes.Reader or strings.Reader body), or take the 3xx response with CheckRedirect returning http.ErrUseLastResponse",
			status, req.URL, u, status)
	}
	body, err := first.GetBody()
	if err != nil {
		return nil, fmt.Errorf("aio: HTTPClient: cannot follow the %d redirect from %s to %s: GetBody: %w", status, req.URL, u, err)
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
func (c *HTTPClient) send(ctx context.Context, req *http.Request) (*http.Response, error) {
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
