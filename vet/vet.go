// Package vet holds braid's analyzers: the red flags of Python's
// concurrency checklists, found in Go code that uses braid before it runs.
//
// Each analyzer is a golang.org/x/tools/go/analysis.Analyzer, usable from
// `braid vet`, from `go vet -vettool=$(which braid)`, and from any driver of
// the standard analysis interface (gopls, golangci-lint, multichecker):
//
//   - BlockingCall: a call that blocks the thread inside a function that
//     runs on an aio loop (ruff ASYNC2xx, "asyncio for CPU-bound work").
//   - DroppedTask: a Task of aio.Spawn never kept, an error of TaskGroup.Go
//     or Await ignored (RUF006).
//   - FreshContext: context.Background() inside a task whose ctx is in scope.
//   - MPBoundary: a registered mp function whose argument or result cannot
//     be encoded ("passing a non-picklable object between processes").
//   - MPMain: main of a program that uses mp does not call mp.Main first
//     ("forgetting if __name__ == '__main__'").
//   - MPTinyIO: a registered mp function that only does I/O
//     ("multiprocessing for a simple I/O task").
//
// Shared state without a lock is left to the race detector (go test -race):
// a static check would guess where the detector knows.
//
// docs/VET.md lists each rule with its Python counterpart, an example and
// the fix.
package vet

import "golang.org/x/tools/go/analysis"

// Analyzers returns every braid analyzer, in the order docs/VET.md lists
// them.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{BlockingCall, DroppedTask, FreshContext, MPBoundary, MPMain, MPTinyIO}
}
