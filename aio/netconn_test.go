package aio_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "braid test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// The proof that Conn is a real net.Conn: crypto/tls handshakes over two
// braid connections of one loop (client and server are tasks of the same
// thread), then net/http's wire functions parse a request and a response
// over the TLS connections.
func TestTLSAndHTTPWireOverBraidConns(t *testing.T) {
	checkFDs(t)
	cert, pool := selfSigned(t)
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			tc := tls.Server(r.Conn(), &tls.Config{Certificates: []tls.Certificate{cert}})
			defer tc.Close()
			if err := tc.HandshakeContext(ctx); err != nil {
				t.Errorf("server handshake: %v", err)
				return
			}
			br := bufio.NewReader(tc)
			for {
				req, err := http.ReadRequest(br)
				if err == io.EOF || errors.Is(err, context.Canceled) {
					return // the client closed, or Run ended
				}
				if err != nil {
					t.Errorf("ReadRequest: %v", err)
					return
				}
				body, _ := io.ReadAll(req.Body)
				resp := &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1,
					Header: http.Header{"Content-Type": {"text/plain"}},
					Body:   io.NopCloser(strings.NewReader(req.URL.Path + ":" + string(body))), ContentLength: int64(len(req.URL.Path) + 1 + len(body))}
				if err := resp.Write(tc); err != nil {
					t.Errorf("Response.Write: %v", err)
					return
				}
			}
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		defer tc.Close()
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		if v := tc.ConnectionState().Version; v != tls.VersionTLS13 {
			t.Errorf("TLS version %x", v)
		}
		br := bufio.NewReader(tc)
		for i, path := range []string{"/a", "/bb", "/ccc"} {
			req, _ := http.NewRequest("POST", "http://127.0.0.1"+path, strings.NewReader(strings.Repeat("x", i*5000)))
			if err := req.Write(tc); err != nil {
				return err
			}
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			if want := path + ":" + strings.Repeat("x", i*5000); string(body) != want {
				t.Errorf("body %d bytes, want %d", len(body), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Read and Write outside a task fail loudly rather than block the loop.
func TestConnOutsideTaskFails(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {})
		if err != nil {
			return err
		}
		defer srv.Close()
		c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		done := aio.NewFuture[error](ctx)
		aio.CurrentLoop(ctx).CallSoon(func() {
			_, err := c.Read(make([]byte, 1))
			done.SetResult(err)
		})
		got, _ := done.Await(ctx)
		if got == nil {
			t.Error("Read in a callback succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Cancelling the task wakes a Read with an error matching
// context.Canceled.
func TestConnReadCancelled(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			r.Read(ctx, -1)
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		c, err := aio.Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		started := aio.NewFuture[struct{}](ctx)
		reader := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			started.SetResult(struct{}{})
			return c.Read(make([]byte, 10))
		})
		if _, err := started.Await(ctx); err != nil {
			return err
		}
		reader.Cancel()
		_, err = reader.Await(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Read: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
