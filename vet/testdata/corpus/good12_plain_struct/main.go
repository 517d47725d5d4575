// Command good12_plain_struct: plain data crosses to a worker.
package main

import (
	"context"
	"time"

	"github.com/braid-go/braid/mp"
)

type Job struct {
	Name    string
	Items   []int
	Started time.Time
	Tags    map[string]string
	Payload []byte
	cache   int `cbor:"-"`
}

var Run = mp.Register("run", func(ctx context.Context, j Job) (map[string]float64, error) {
	return map[string]float64{j.Name: float64(len(j.Items))}, nil
})

func main() {
	mp.Main()
}
