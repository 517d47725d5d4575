package aiohttp_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
)

// Many concurrent fetches from one loop over a keep-alive pool: every
// response is right, and the server sees no more connections than
// requests in flight.
func TestClientKeepAlivePool(t *testing.T) {
	checkFDs(t)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "article %s", r.URL.Path)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	const n, inFlight = 200, 10
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		var client aiohttp.Client
		defer client.CloseIdleConnections()
		// A hand-made limit of tasks in flight (yielding while full).
		var tasks []*aio.Task[string]
		running := 0
		for i := 0; i < n; i++ {
			tasks = append(tasks, aio.Spawn(ctx, func(ctx context.Context) (string, error) {
				for running >= inFlight {
					if err := aio.Sleep(ctx, 0); err != nil {
						return "", err
					}
				}
				running++
				defer func() { running-- }()
				resp, err := client.Get(ctx, fmt.Sprintf("%s/article/%d", srv.URL, i))
				if err != nil {
					return "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return string(b), err
			}))
		}
		res, err := aio.Gather(ctx, tasks...)
		if err != nil {
			return err
		}
		for i, s := range res {
			if want := fmt.Sprintf("article /article/%d", i); s != want {
				t.Errorf("response %d = %q", i, s)
			}
		}
		if c := conns.Load(); c > inFlight {
			t.Errorf("server saw %d connections for %d in flight: no keep-alive", c, inFlight)
		}
		if client.IdleConnections() == 0 {
			t.Error("no connection kept alive")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestClientTLS(t *testing.T) {
	checkFDs(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure")
	}))
	defer srv.Close()
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		client := aiohttp.Client{TLSConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}
		defer client.CloseIdleConnections()
		for i := 0; i < 3; i++ {
			resp, err := client.Get(ctx, srv.URL+"/x")
			if err != nil {
				return err
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			if string(b) != "secure" {
				t.Errorf("body %q", b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A context deadline ends a request whose server does not answer.
func TestClientTimeoutFromContext(t *testing.T) {
	checkFDs(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		var client aiohttp.Client
		defer client.CloseIdleConnections()
		tctx, cancel := context.WithTimeout(ctx, 50e6)
		defer cancel()
		_, err := client.Get(tctx, srv.URL)
		if err == nil {
			t.Error("request without answer succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
