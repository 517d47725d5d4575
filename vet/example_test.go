package vet_test

import (
	"fmt"
	"strings"

	"github.com/braid-go/braid/vet"
)

// The analyzers are plain go/analysis analyzers: a driver (braid vet,
// go vet -vettool, multichecker, gopls, golangci-lint) runs them by name.
func ExampleAnalyzers() {
	for _, a := range vet.Analyzers() {
		summary, _, _ := strings.Cut(a.Doc, "\n")
		fmt.Printf("%-12s %s\n", a.Name, summary)
	}
	// Output:
	// blockingcall report calls that block the thread inside code that runs on an aio loop
	// droppedtask  report a Task of aio.Spawn that is dropped, and ignored errors of TaskGroup.Go and Await
	// freshctx     report context.Background() and context.TODO() inside a task whose own ctx is in scope
	// mpboundary   report functions registered with mp whose argument or result type cannot cross a process boundary
	// mpmain       report a main function that does not call mp.Main first, in a program that uses mp
	// mptinyio     report functions registered with mp whose body only waits on network or file I/O (or sleeps)
}
