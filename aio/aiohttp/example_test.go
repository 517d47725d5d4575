package aiohttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
)

// Concurrent fetches from one loop, aiohttp style: a semaphore bounds the
// requests in flight, the client keeps connections alive per host.
func ExampleClient() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "article "+r.URL.Path[len("/article/"):])
	}))
	defer srv.Close()
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		var client aiohttp.Client
		defer client.CloseIdleConnections()
		sem := aio.NewSemaphore(2)
		var tasks []*aio.Task[string]
		for i := 0; i < 4; i++ {
			tasks = append(tasks, aio.Spawn(ctx, func(ctx context.Context) (string, error) {
				if err := sem.Acquire(ctx); err != nil {
					return "", err
				}
				defer sem.Release()
				resp, err := client.Get(ctx, fmt.Sprintf("%s/article/%d", srv.URL, i))
				if err != nil {
					return "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return string(b), err
			}))
		}
		pages, err := aio.Gather(ctx, tasks...)
		fmt.Println(pages)
		return err
	})
	fmt.Println(err)
	// Output:
	// [article 0 article 1 article 2 article 3]
	// <nil>
}
