package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ArticleServer is the articles' slow web server: GET /article/N answers
// after a set latency with a small page. It listens on 127.0.0.1 only.
type ArticleServer struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Served counts the articles served.
	Served atomic.Int64
	srv    *http.Server
	ln     net.Listener
}

// StartArticleServer starts an article server with the given latency.
// Close it when done.
func StartArticleServer(latency time.Duration) (*ArticleServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("article server: %w", err)
	}
	s := &ArticleServer{URL: "http://" + ln.Addr().String(), ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /article/{n}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := strconv.Atoi(r.PathValue("n")); err != nil {
			http.Error(w, "no such article", http.StatusNotFound)
			return
		}
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		n, _ := strconv.Atoi(r.PathValue("n"))
		w.Write(articlePage(n))
		s.Served.Add(1)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and its connections.
func (s *ArticleServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// articleWords are the words of the article pages.
var articleWords = strings.Fields(`the event loop runs one task at a time and switches when a task waits
for the network threads share memory and run on every core without a global interpreter lock
processes are isolated and cost a start each page is parsed into words counted and hashed
concurrency is about structure parallelism is about execution asyncio semaphore executor pool`)

// articlePage is the page the server answers for article n: about 3 KB of
// HTML whose words depend on n (the mixed workload parses it).
func articlePage(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<html><head><title>Article %d</title></head><body><h1>Article %d</h1>\n<p>", n, n)
	x := uint32(n)*2654435761 + 1
	for i := 0; i < 480; i++ {
		x = x*1664525 + 1013904223
		b.WriteString(articleWords[int(x>>16)%len(articleWords)])
		if i%40 == 39 {
			b.WriteString(".</p>\n<p>")
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("</p></body></html>\n")
	return []byte(b.String())
}

// readArticle reads and closes the body of an article response and checks
// its status: what every client of the HTTP workloads does with a reply.
func readArticle(resp *http.Response, url string) error {
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
