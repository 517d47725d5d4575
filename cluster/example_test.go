package cluster_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/braid-go/braid/cluster"
)

// A client with its embedded server, and a worker served in this same
// process (in production, workers are the program started on other
// machines with --braid-worker, see Main). Square is a function
// registered at package level with mp.Register:
//
//	var Square = mp.Register("ctest.square", func(ctx context.Context, x int) (int, error) {
//		return x * x, nil
//	})
func Example() {
	ctx := context.Background()
	c, err := cluster.New(ctx) // no URL: an embedded NATS server on 127.0.0.1
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Shutdown(ctx)

	wctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- cluster.Serve(wctx, cluster.WithURLs(c.URL()), cluster.WithConcurrency(2)) }()
	defer func() { stop(); <-served }()

	r, err := Square.Call(ctx, c, 12)
	fmt.Println(r, err)
	for r, err := range Square.Map(ctx, c, slices.Values([]int{1, 2, 3})) {
		fmt.Println(r, err)
	}
	// Output:
	// 144 <nil>
	// 1 <nil>
	// 4 <nil>
	// 9 <nil>
}

// The program that is both the client and, started with --braid-worker,
// a worker: cluster.Main replaces mp.Main at the top of main.
func ExampleMain() {
	// func main() {
	// 	cluster.Main() // ./prog --braid-worker nats://host:4222 --concurrency 8 serves here
	// 	ctx := context.Background()
	// 	c, err := cluster.New(ctx, cluster.WithURLs("nats://host:4222"))
	// 	if err != nil {
	// 		log.Fatal(err)
	// 	}
	// 	defer c.Shutdown(ctx)
	// 	for r, err := range Square.Map(ctx, c, slices.Values(inputs), futures.WithChunkSize(64)) {
	// 		...
	// 	}
	// }
}

// A task's ID, the same on every delivery, to make side effects happen
// once under at-least-once delivery.
func ExampleTaskID() {
	// var Charge = mp.Register("billing.charge", func(ctx context.Context, o Order) (Receipt, error) {
	// 	return payments.Charge(ctx, o, payments.IdempotencyKey(cluster.TaskID(ctx)))
	// })
}
