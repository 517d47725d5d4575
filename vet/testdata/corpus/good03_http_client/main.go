// Command good03_http_client: the loop HTTP client in a task.
package main

import (
	"context"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
)

func main() {
	var client aiohttp.Client
	_ = aio.Run(context.Background(), func(ctx context.Context) error {
		resp, err := client.Get(ctx, "http://127.0.0.1:1/")
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
}
