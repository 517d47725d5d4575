package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// runCrawler runs the program and returns its exit code and output, with the
// times and the port masked.
func runCrawler(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	masked := regexp.MustCompile(` in [0-9.]+[µnm]?s`).ReplaceAllString(out.String(), " in T")
	masked = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`).ReplaceAllString(masked, "ADDR")
	masked = regexp.MustCompile(`speedup: [0-9.]+x`).ReplaceAllString(masked, "speedup: Nx")
	return code, masked, errOut.String()
}

// Flaky pages succeed on their retry; broken pages fail after every retry
// and are counted, in the concurrent and the sequential crawl alike.
func TestCrawlLocalServer(t *testing.T) {
	code, out, errOut := runCrawler(t, "-n", "20", "-latency", "1ms", "-backoff", "1ms", "-retries", "2",
		"-flaky-every", "5", "-broken-every", "7")
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut)
	}
	// Pages 4, 9, 14, 19 fail once; 6 and 13 fail three times. A page is
	// 522 bytes, 523 with a two-digit number.
	want := `local server on ADDR, latency 1ms
concurrent (50 in flight): 18 ok, 2 failed, 8 retries (0 after a timeout), 9405 bytes in T (first error: http://ADDR/page/6: HTTP 500 Internal Server Error (after 3 attempts))
sequential (1 in flight): 18 ok, 2 failed, 8 retries (0 after a timeout), 9405 bytes in T (first error: http://ADDR/page/6: HTTP 500 Internal Server Error (after 3 attempts))
speedup: Nx
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// A page that never answers times out on every attempt and fails alone.
func TestCrawlTimeout(t *testing.T) {
	code, out, errOut := runCrawler(t, "-n", "3", "-latency", "1ms", "-backoff", "1ms", "-retries", "1",
		"-hang-every", "3", "-flaky-every", "0", "-timeout", "1s", "-sequential=false")
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut)
	}
	want := "concurrent (50 in flight): 2 ok, 1 failed, 1 retries (1 after a timeout), "
	if !strings.Contains(out, want) || !strings.Contains(out, "page/2: ") || !strings.Contains(out, "deadline exceeded") {
		t.Errorf("output:\n%s\nwant a line starting %q and page 2's timeout", out, want)
	}
}

// URLs on the command line are fetched instead of the local server's; a
// refused connection is retried and counted, not fatal; a 404 is counted
// without a retry.
func TestCrawlURLs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "hello "+r.URL.Path)
	}))
	defer srv.Close()
	// A listener closed at once: its port refuses connections.
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL + "/gone"
	refused.Close()

	code, out, errOut := runCrawler(t, "-retries", "1", "-backoff", "1ms", srv.URL+"/a", srv.URL+"/bb", refusedURL, srv.URL+"/missing")
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(out, "local server") || strings.Contains(out, "sequential") {
		t.Errorf("with URLs the program must not start its server nor crawl sequentially:\n%s", out)
	}
	want := "concurrent (50 in flight): 2 ok, 2 failed, 1 retries (0 after a timeout), 17 bytes in T (first error: http://ADDR/gone: "
	if !strings.HasPrefix(out, want) {
		t.Errorf("output:\n%s\nwant it to start with:\n%s", out, want)
	}
}

func TestCrawlBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-concurrency", "0"}, {"-n", "x"}, {"-timeout", "0s"}} {
		code, _, errOut := runCrawler(t, args...)
		if code != 2 || errOut == "" {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

// TestMain fails the run if a goroutine of the program outlives it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
