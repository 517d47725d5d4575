// Command bad03_http_get: a blocking net/http GET in a task.
package main

import (
	"context"
	"net/http"

	"github.com/braid-go/braid/aio"
)

func main() {
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		resp, err := http.Get("http://127.0.0.1:1/") // FLAG: blockingcall
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
}
