// Package cluster runs the registered functions of package mp on worker
// processes of many machines, through NATS JetStream: braid's counterpart
// of Dask distributed and Ray.
//
// A *Client (New) is a futures.Executor: mp's Func.Submit, Call and Map,
// futures.Wait and AsCompleted work on it as on an mp.Pool, with the same
// registered functions, codec and error types. Without URLs, New starts an
// embedded NATS server (JetStream on, 127.0.0.1, a free port, a file
// store); workers connect to Client.URL.
//
// A worker is the program itself started in worker mode: Main (called
// first thing in main, instead of mp.Main) serves when the program is
// started as
//
//	./prog --braid-worker nats://host:4222 --concurrency 8
//
// and Serve does the same from code. A worker runs each task in a process
// of its mp.Pool, so a crashing task does not take it down; it runs only
// registered functions, and drains on SIGTERM.
//
// Tasks are messages of a work-queue stream (the task ID is the message
// ID), taken by one durable pull consumer with explicit acks; results go
// back to the submitting client as requests it answers. Delivery is at
// least once: a task whose worker dies runs again elsewhere, and TaskID
// gives the function an ID that is the same on every delivery. A task
// that exhausts its deliveries fails with ErrMaxDeliveries, and one whose
// message left the stream without its result (found when the client
// reconnects) with ErrLost. Cancelling a task's context, or its deadline,
// kills the process running it; cancelling the future of a task no worker
// has reported started (Python's future.cancel()), or Close, takes it out
// of the stream.
//
// docs/CLUSTER.md in the repository has the protocol, the delivery
// guarantees, security and scale; docs/PYTHON.md the differences with Dask
// and Ray.
package cluster
