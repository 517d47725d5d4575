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

const mpTinyIODoc = `report functions registered with mp whose body only waits on network or file I/O (or sleeps)

A worker process buys parallel CPU time and isolation; it costs a round
trip per call (about ` + measuredRoundTrip + ` on a warm pool, p50) and a process start
(about ` + measuredStart + ` to a pool's first result), as measured by braid bench pool
(docs/PERFORMANCE.md). A function that only waits on the network or the
disk gains nothing from it: the articles' red flag "multiprocessing for a
simple I/O task (overhead > benefit)". Run it on an aio loop (aiohttp.Client,
aio.Dial, aio.ToThread for files) or on a futures.ThreadPool instead.

The check is advice: it reports a registered function only when its body
calls functions of net, net/http, io or bufio, the file functions of os, or
time.Sleep (an I/O wait stood in for, as in the articles' examples), and
nothing else that can compute: no loop without a wait in it, no call outside
a few cheap packages such as fmt, errors, strings and strconv; calls to
functions of the package are followed.`

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
	c := &ioClassifier{pass: pass, idx: newFuncIndex(pass), memo: map[ast.Node]*ioClass{}}
	for _, r := range registrations(pass) {
		node, _, body := funcArg(pass, c.idx, r.fn)
		if node == nil {
			continue
		}
		if k := c.classify(node, body); k.io && !k.compute {
			pass.Reportf(r.fn.Pos(), "mp.Register(%s): the function only waits (network or file I/O, sleeps); a worker process costs a round trip per call (about %s, p50) and a start (about %s), measured by braid bench pool, and buys nothing for waiting; run it on an aio loop (aiohttp.Client, aio.ToThread) or a futures.ThreadPool", r.name, measuredRoundTrip, measuredStart)
		}
	}
	return nil, nil
}

// ioClass is what a function body does: I/O calls, and anything that may
// take CPU time.
type ioClass struct{ io, compute bool }

type ioClassifier struct {
	pass *analysis.Pass
	idx  *funcIndex
	memo map[ast.Node]*ioClass
}

// classify classifies the body of the function node, following calls to
// functions of the package.
func (c *ioClassifier) classify(node ast.Node, body *ast.BlockStmt) ioClass {
	if k, ok := c.memo[node]; ok {
		return *k // done, or in progress (recursion: counted as compute below)
	}
	k := &ioClass{compute: true} // while in progress: a recursive function computes
	c.memo[node] = k
	*k = c.block(body)
	return *k
}

// block classifies the statements under n. A loop computes unless it does
// I/O (reading lines, fetching a list of URLs).
func (c *ioClassifier) block(n ast.Node) ioClass {
	info := c.pass.TypesInfo
	var k ioClass
	ast.Inspect(n, func(n ast.Node) bool {
		if k.compute {
			return false
		}
		switch x := n.(type) {
		case *ast.GoStmt:
			k.compute = true
		case *ast.CallExpr:
			if tv, ok := info.Types[x.Fun]; ok && (tv.IsType() || tv.IsBuiltin()) {
				return true
			}
			fn := callee(info, x)
			switch {
			case fn != nil && fn.Pkg() != nil && (ioPackages[fn.Pkg().Path()] || isOSFileIO(fn) || isFunc(fn, "time", "Sleep")):
				k.io = true // waiting: on the network, the disk, or a timer
			case fn != nil && fn.Pkg() != nil && (cheapPackages[fn.Pkg().Path()] || fn.Pkg().Path() == "os"):
			default:
				node, _, body := funcArg(c.pass, c.idx, x.Fun)
				if node == nil {
					k.compute = true // a func value or another package's function: it may compute
					return false
				}
				sub := c.classify(node, body)
				k.io = k.io || sub.io
				k.compute = k.compute || sub.compute
			}
		}
		return true
	})
	if !k.compute {
		// A loop that does no I/O is CPU work.
		ast.Inspect(n, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ForStmt, *ast.RangeStmt:
				if !c.loopDoesIO(x) {
					k.compute = true
				}
			}
			return !k.compute
		})
	}
	return k
}

// loopDoesIO reports whether a loop calls an I/O function (directly or
// through functions of the package).
func (c *ioClassifier) loopDoesIO(loop ast.Node) bool {
	found := false
	ast.Inspect(loop, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		if fn := callee(c.pass.TypesInfo, call); fn != nil && fn.Pkg() != nil && (ioPackages[fn.Pkg().Path()] || isOSFileIO(fn) || isFunc(fn, "time", "Sleep")) {
			found = true
		} else if node, _, body := funcArg(c.pass, c.idx, call.Fun); node != nil && c.classify(node, body).io {
			found = true
		}
		return !found
	})
	return found
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
