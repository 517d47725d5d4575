// Command bad16_tiny_io: a process for a function that only fetches a URL.
package main

import (
	"context"
	"io"
	"net/http"

	"github.com/braid-go/braid/mp"
)

func fetch(ctx context.Context, url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

var Fetch = mp.Register("fetch", fetch) // FLAG: mptinyio

func main() {
	mp.Main()
}
