package vet

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/analysis"
)

// Process costs measured with `braid bench pool` (docs/PERFORMANCE.md,
// "Process pool"): a warm pool's round trip of a trivial task, p50, and a
// pool's start to its first result, 2 workers.
const (
	measuredRoundTrip = "28 µs"
	measuredStart     = "2.1 ms"
)

const mpTinyIODoc = `report functions registered with mp whose body only does network or file I/O

A worker process buys parallel CPU time and isolation; it costs a round
trip per call (about ` + measuredRoundTrip + ` on a warm pool, p50) and a process start
(about ` + measuredStart + ` to a pool's first result), as measured by braid bench pool
(docs/PERFORMANCE.md). A function that only waits on the network or the
disk gains nothing from it: the articles' red flag "multiprocessing for a
simple I/O task (overhead > benefit)". Run it on an aio loop (aio.HTTPClient,
aio.Dial, aio.ToThread for files) or on a futures.ThreadPool instead.

The check is advice: it reports a registered function only when its body
calls functions of net, net/http, os, io or bufio and nothing else that can
compute (no loops, no calls outside a few cheap packages such as fmt,
errors, strings and strconv).`

// MPTinyIO reports functions registered with mp that only do I/O.
var MPTinyIO = &analysis.Analyzer{
	Name: "mptinyio",
	Doc:  mpTinyIODoc,
	URL:  "https://github.com/braid-go/braid/blob/main/docs/VET.md#mptinyio",
	Run:  runMPTinyIO,
}

var ioPackages = map[string]bool{"net": true, "net/http": true, "io": true, "io/ioutil": true, "bufio": true}

// osIO are the functions of package os that do file I/O (every method of
// *os.File does too); the others (Getpid, Getenv, Exit, ...) are cheap.
var osIO = map[string]bool{
	"Open": true, "OpenFile": true, "Create": true, "ReadFile": true, "WriteFile": true, "ReadDir": true,
	"Stat": true, "Lstat": true, "Remove": true, "RemoveAll": true, "Mkdir": true, "MkdirAll": true,
	"Rename": true, "Truncate": true, "CopyFS": true,
}

var cheapPackages = map[string]bool{
	"errors": true, "fmt": true, "strconv": true, "strings": true, "bytes": true, "context": true,
	"time": true, "net/url": true, "log": true, "log/slog": true, "unicode/utf8": true,
}

func runMPTinyIO(pass *analysis.Pass) (any, error) {
	decls := funcDecls(pass)
	for _, r := range registrations(pass) {
		node, _, body := funcArg(pass, decls, r.fn)
		if node == nil {
			continue
		}
		if onlyIO(pass.TypesInfo, body) {
			pass.Reportf(r.fn.Pos(), "mp.Register(%s): the function only does network or file I/O; a worker process costs a round trip per call (about %s, p50) and a start (about %s), measured by braid bench pool, and buys nothing for waiting; run it on an aio loop (aio.HTTPClient, aio.ToThread) or a futures.ThreadPool", r.name, measuredRoundTrip, measuredStart)
		}
	}
	return nil, nil
}

// onlyIO reports whether body calls I/O functions and does nothing else
// that can take CPU time.
func onlyIO(info *types.Info, body *ast.BlockStmt) bool {
	io, compute := false, false
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ForStmt, *ast.RangeStmt, *ast.GoStmt:
			compute = true
		case *ast.CallExpr:
			if tv, ok := info.Types[x.Fun]; ok && (tv.IsType() || tv.IsBuiltin()) {
				return true
			}
			fn := callee(info, x)
			switch {
			case fn == nil || fn.Pkg() == nil:
				compute = true // a func value or an unknown method: it may compute
			case ioPackages[fn.Pkg().Path()], isOSFileIO(fn):
				io = true
			case fn.Pkg().Path() == "os":
			case !cheapPackages[fn.Pkg().Path()]:
				compute = true
			}
		}
		return !compute
	})
	return io && !compute
}

// isOSFileIO reports whether fn is a file I/O function or method of os.
func isOSFileIO(fn *types.Func) bool {
	if fn.Pkg().Path() != "os" {
		return false
	}
	if fn.Type().(*types.Signature).Recv() != nil {
		return isMethod(fn, "os", "File", fn.Name())
	}
	return osIO[fn.Name()]
}
