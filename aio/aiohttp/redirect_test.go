package aiohttp_test

// Client follows redirects as net/http and aiohttp do.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
)

// seen is what a test server saw of the request that ended a chain.
type seen struct {
	method, body, auth, cookie, ctype string
}

// redirectServer answers /redirect/<code>/<n>/<rest> with <code> to
// /redirect/<code>/<n-1>/<rest> until n is 0, then to <rest> (an
// absolute URL when it starts with "http", else a path); /loop redirects
// to itself forever; /final records the request and answers "final".
func redirectServer(t *testing.T) (*httptest.Server, func() seen) {
	var mu sync.Mutex
	var last seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 4)
		switch parts[0] {
		case "redirect":
			code, _ := strconv.Atoi(parts[1])
			n, _ := strconv.Atoi(parts[2])
			rest, _ := strings.CutPrefix(r.URL.RawQuery, "to=")
			if n > 0 {
				w.Header().Set("Location", fmt.Sprintf("/redirect/%d/%d/?to=%s", code, n-1, rest))
			} else {
				w.Header().Set("Location", rest)
			}
			w.WriteHeader(code)
			io.WriteString(w, "redirecting") // a body to skip
		case "loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "final":
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			last = seen{r.Method, string(b), r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.Header.Get("Content-Type")}
			mu.Unlock()
			io.WriteString(w, "final")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() seen {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// fetch runs do in a task of a new loop with a fresh client.
func fetch(t *testing.T, client *aiohttp.Client, do func(ctx context.Context) error) {
	t.Helper()
	if err := aio.Run(context.Background(), func(ctx context.Context) error {
		defer client.CloseIdleConnections()
		return do(ctx)
	}); err != nil {
		t.Fatal(err)
	}
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestClientFollowsRedirects(t *testing.T) {
	srv, last := redirectServer(t)
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var client aiohttp.Client
			fetch(t, &client, func(ctx context.Context) error {
				// GET through three redirects.
				resp, err := client.Get(ctx, fmt.Sprintf("%s/redirect/%d/2/?to=/final", srv.URL, code))
				if err != nil {
					return err
				}
				if b := readBody(resp); resp.StatusCode != 200 || b != "final" {
					t.Errorf("GET: %d %q, want 200 \"final\"", resp.StatusCode, b)
				}
				if resp.Request == nil || resp.Request.URL.Path != "/final" {
					t.Errorf("resp.Request = %v, want the last request (to /final)", resp.Request)
				}
				// POST with a body: 301/302/303 turn it into a GET without
				// it, 307/308 send it again.
				req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/redirect/%d/1/?to=/final", srv.URL, code), strings.NewReader("payload"))
				req.Header.Set("Content-Type", "text/plain")
				resp, err = client.Do(ctx, req)
				if err != nil {
					return err
				}
				readBody(resp)
				got := last()
				want := seen{method: "GET"}
				if code == 307 || code == 308 {
					want = seen{method: "POST", body: "payload", ctype: "text/plain"}
				}
				if got != want {
					t.Errorf("POST through %d: the server saw %+v, want %+v", code, got, want)
				}
				return nil
			})
		})
	}
}

func TestClientRedirectLimit(t *testing.T) {
	srv, _ := redirectServer(t)
	t.Run("default 10", func(t *testing.T) {
		var client aiohttp.Client
		fetch(t, &client, func(ctx context.Context) error {
			resp, err := client.Get(ctx, srv.URL+"/loop")
			if !errors.Is(err, aiohttp.ErrTooManyRedirects) {
				t.Errorf("err = %v, want aiohttp.ErrTooManyRedirects", err)
			} else if msg := err.Error(); !strings.Contains(msg, "10") || !strings.Contains(msg, srv.URL+"/loop") {
				t.Errorf("%q does not name the limit and the last URL", msg)
			}
			if resp != nil {
				resp.Body.Close()
			}
			// Exactly 10 is fine.
			resp, err = client.Get(ctx, srv.URL+"/redirect/302/9/?to=/final")
			if err != nil {
				return err
			}
			if b := readBody(resp); b != "final" {
				t.Errorf("10 redirects: %q", b)
			}
			return nil
		})
	})
	t.Run("MaxRedirects 2", func(t *testing.T) {
		client := aiohttp.Client{MaxRedirects: 2}
		fetch(t, &client, func(ctx context.Context) error {
			_, err := client.Get(ctx, srv.URL+"/redirect/302/2/?to=/final")
			if !errors.Is(err, aiohttp.ErrTooManyRedirects) || !strings.Contains(err.Error(), "2") {
				t.Errorf("3 redirects with MaxRedirects 2: %v", err)
			}
			return nil
		})
	})
	t.Run("MaxRedirects -1 does not follow", func(t *testing.T) {
		client := aiohttp.Client{MaxRedirects: -1}
		fetch(t, &client, func(ctx context.Context) error {
			resp, err := client.Get(ctx, srv.URL+"/redirect/302/0/?to=/final")
			if err != nil {
				return err
			}
			if b := readBody(resp); resp.StatusCode != 302 || resp.Header.Get("Location") != "/final" || b != "redirecting" {
				t.Errorf("got %d %q (Location %q), want the 302 itself", resp.StatusCode, b, resp.Header.Get("Location"))
			}
			return nil
		})
	})
	t.Run("CheckRedirect ErrUseLastResponse", func(t *testing.T) {
		var vias []int
		client := aiohttp.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
			vias = append(vias, len(via))
			if len(via) == 2 {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		fetch(t, &client, func(ctx context.Context) error {
			resp, err := client.Get(ctx, srv.URL+"/redirect/307/5/?to=/final")
			if err != nil {
				return err
			}
			if b := readBody(resp); resp.StatusCode != 307 || b != "redirecting" {
				t.Errorf("got %d %q, want the second 307 itself", resp.StatusCode, b)
			}
			if fmt.Sprint(vias) != "[1 2]" {
				t.Errorf("CheckRedirect saw via lengths %v, want [1 2]", vias)
			}
			return nil
		})
	})
	t.Run("CheckRedirect error", func(t *testing.T) {
		stop := errors.New("no thanks")
		client := aiohttp.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return stop }}
		fetch(t, &client, func(ctx context.Context) error {
			resp, err := client.Get(ctx, srv.URL+"/redirect/302/0/?to=/final")
			if !errors.Is(err, stop) {
				t.Errorf("err = %v, want CheckRedirect's", err)
			}
			if resp == nil || resp.StatusCode != 302 {
				t.Errorf("resp = %v, want the 302 (body closed), as net/http", resp)
			}
			return nil
		})
	})
}

// A 307/308 must send the body again: one that cannot be re-sent is an
// error saying so.
func TestClientRedirectBodyNotReplayable(t *testing.T) {
	srv, _ := redirectServer(t)
	var client aiohttp.Client
	fetch(t, &client, func(ctx context.Context) error {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/redirect/307/0/?to=/final", io.NopCloser(strings.NewReader("payload")))
		req.ContentLength = 7
		resp, err := client.Do(ctx, req)
		if err == nil || !strings.Contains(err.Error(), "GetBody") || !strings.Contains(err.Error(), "307") {
			t.Errorf("err = %v, want an error saying the body cannot be sent again (GetBody)", err)
		}
		if resp != nil {
			resp.Body.Close()
		}
		return nil
	})
}

// Authorization and Cookie go along only to the same host (or a
// subdomain), as net/http.
func TestClientRedirectDropsCredentials(t *testing.T) {
	srv, last := redirectServer(t)
	other, otherLast := redirectServer(t)
	// The same server under another host name.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	var client aiohttp.Client
	fetch(t, &client, func(ctx context.Context) error {
		for _, tc := range []struct {
			to       string
			last     func() seen
			keepCred bool
		}{
			{"/final", last, true},
			{otherURL + "/final", otherLast, false},
		} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/redirect/302/1/?to="+tc.to, nil)
			req.Header.Set("Authorization", "Bearer secret")
			req.Header.Set("Cookie", "session=secret")
			resp, err := client.Do(ctx, req)
			if err != nil {
				return err
			}
			readBody(resp)
			got := tc.last()
			if tc.keepCred && (got.auth != "Bearer secret" || got.cookie != "session=secret") {
				t.Errorf("to %s: credentials dropped on the same host: %+v", tc.to, got)
			}
			if !tc.keepCred && (got.auth != "" || got.cookie != "") {
				t.Errorf("to %s: credentials sent to another host: %+v", tc.to, got)
			}
		}
		return nil
	})
}
