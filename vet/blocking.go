package vet

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
)

const blockingDoc = `report calls that block the thread inside code that runs on an aio loop

A loop runs all its tasks on one thread. A task that calls time.Sleep, a
blocking net/http or net call, file I/O from os, sync.Mutex.Lock,
sync.WaitGroup.Wait, exec.Cmd.Run, futures.Future.Result, or that waits on a
channel (a receive, a send, a range, a select without a default case, even
one that also waits on ctx.Done(): the loop that would close Done is the
thread the select holds) stops every other task of the loop until the call
returns. This is asyncio's "blocking call in async def" (flake8-async /
ruff ASYNC100-ASYNC251).

The check looks at functions given to aio.Run, aio.Spawn, aio.Shield,
aio.Group, aio.GroupSpawn, TaskGroup.Go, aio.RunCoroutineThreadsafe,
aio.StartServer and the loop's callbacks (CallSoon, CallLater, CallAt,
AddSignalHandler), and follows calls to functions of the same package.
Functions given to aio.ToThread or aio.RunInExecutor, and go statements,
run on other threads and are not checked.

Each report names the loop-aware replacement: aio.Sleep, aiohttp.Client,
aio.Dial, aio.Lock, aio.Queue, aio.AwaitFuture, aio.StartProcess, or
aio.ToThread for work that has no loop form.`

// BlockingCall reports thread-blocking calls in functions that run on an
// aio loop.
var BlockingCall = &analysis.Analyzer{
	Name: "blockingcall",
	Doc:  blockingDoc,
	URL:  "https://github.com/braid-go/braid/blob/main/docs/VET.md#blockingcall",
	Run:  runBlocking,
}

// A blocker is one blocking operation found in loop code.
type blocker struct {
	pos     token.Pos
	what    string    // "time.Sleep", "a channel receive"
	instead string    // what to use instead
	chain   []string  // the package functions called from pos down to leaf
	leaf    token.Pos // where the operation is, when reached through chain
}

// message describes b for a function run by starter.
func (b blocker) message(fset *token.FileSet, starter string) string {
	if len(b.chain) == 0 {
		return fmt.Sprintf("%s blocks the loop's thread in a function run by %s (every task of the loop waits); use %s", b.what, starter, b.instead)
	}
	return fmt.Sprintf("%s blocks the loop's thread in a function run by %s: %s calls %s (%s); use %s",
		b.chain[0], starter, strings.Join(b.chain, " → "), b.what, shortPos(fset, b.leaf), b.instead)
}

type blockingKind struct {
	path, recv, name string
	instead          string
}

const (
	insteadThread = "aio.ToThread(ctx, fn) to run it on a thread while the task waits"
	insteadHTTP   = "an aiohttp.Client (c.Get(ctx, url), c.Do(ctx, req)), which suspends the task instead"
	insteadChan   = "an aio.Queue or aio.Event between tasks, or aio.ToThread to wait on a channel fed by other goroutines"
	insteadAccept = "aio.StartServer or aio.CreateServer, which accept on the loop"
	insteadServe  = "aio.StartServer, or run the server in a goroutine"
	insteadTLS    = "aio.Dial(ctx, network, address) and tls.Client over the *aio.Conn"
	insteadMutex  = "aio.Lock (Acquire(ctx)) for state shared by tasks of one loop; for a mutex shared with other goroutines, aio.ToThread"
)

var blockingCalls = []blockingKind{
	{"time", "", "Sleep", "aio.Sleep(ctx, d)"},
	{"net/http", "", "Get", insteadHTTP},
	{"net/http", "", "Head", insteadHTTP},
	{"net/http", "", "Post", insteadHTTP},
	{"net/http", "", "PostForm", insteadHTTP},
	{"net/http", "Client", "Do", insteadHTTP},
	{"net/http", "Client", "Get", insteadHTTP},
	{"net/http", "Client", "Head", insteadHTTP},
	{"net/http", "Client", "Post", insteadHTTP},
	{"net/http", "Client", "PostForm", insteadHTTP},
	{"net", "", "Dial", "aio.Dial(ctx, network, address)"},
	{"net", "", "DialTimeout", "aio.Dial(ctx, network, address) with aio.WithTimeout"},
	{"net", "Dialer", "Dial", "aio.Dial(ctx, network, address)"},
	{"net", "Dialer", "DialContext", "aio.Dial(ctx, network, address)"},
	{"net", "", "LookupHost", insteadThread},
	{"net", "", "LookupIP", insteadThread},
	{"net", "", "LookupAddr", insteadThread},
	{"net", "", "LookupCNAME", insteadThread},
	{"net", "", "LookupMX", insteadThread},
	{"net", "", "LookupPort", insteadThread},
	{"net", "", "LookupTXT", insteadThread},
	{"net", "", "ResolveTCPAddr", insteadThread},
	{"net", "", "ResolveUDPAddr", insteadThread},
	{"net", "", "ResolveIPAddr", insteadThread},
	{"net", "Resolver", "LookupHost", insteadThread},
	{"net", "Resolver", "LookupIPAddr", insteadThread},
	{"net", "Resolver", "LookupIP", insteadThread},
	{"net", "Listener", "Accept", insteadAccept},
	{"net", "TCPListener", "Accept", insteadAccept},
	{"net", "TCPListener", "AcceptTCP", insteadAccept},
	{"net", "UnixListener", "Accept", insteadAccept},
	{"crypto/tls", "", "Dial", insteadTLS},
	{"crypto/tls", "", "DialWithDialer", insteadTLS},
	{"net/http", "", "ListenAndServe", insteadServe},
	{"net/http", "", "ListenAndServeTLS", insteadServe},
	{"net/http", "Server", "ListenAndServe", insteadServe},
	{"net/http", "Server", "ListenAndServeTLS", insteadServe},
	{"net/http", "Server", "Serve", insteadServe},
	{"fmt", "", "Scan", insteadThread},
	{"fmt", "", "Scanln", insteadThread},
	{"fmt", "", "Scanf", insteadThread},
	{"database/sql", "DB", "Query", insteadThread},
	{"database/sql", "DB", "QueryContext", insteadThread},
	{"database/sql", "DB", "QueryRow", insteadThread},
	{"database/sql", "DB", "QueryRowContext", insteadThread},
	{"database/sql", "DB", "Exec", insteadThread},
	{"database/sql", "DB", "ExecContext", insteadThread},
	{"database/sql", "DB", "Ping", insteadThread},
	{"database/sql", "DB", "PingContext", insteadThread},
	{"golang.org/x/sync/errgroup", "Group", "Wait", "aio.Group, whose tasks run on the loop; aio.ToThread to wait for goroutines"},
	{"os", "", "ReadFile", insteadThread},
	{"os", "", "Stat", insteadThread},
	{"os", "", "Lstat", insteadThread},
	{"os", "", "Remove", insteadThread},
	{"os", "", "RemoveAll", insteadThread},
	{"os", "", "Mkdir", insteadThread},
	{"os", "", "MkdirAll", insteadThread},
	{"os", "", "Rename", insteadThread},
	{"os", "", "Truncate", insteadThread},
	{"os", "", "WriteFile", insteadThread},
	{"os", "", "Open", insteadThread},
	{"os", "", "Create", insteadThread},
	{"os", "", "OpenFile", insteadThread},
	{"os", "", "ReadDir", insteadThread},
	{"os", "File", "Read", insteadThread},
	{"os", "File", "ReadAt", insteadThread},
	{"os", "File", "ReadFrom", insteadThread},
	{"os", "File", "ReadDir", insteadThread},
	{"os", "File", "Readdir", insteadThread},
	{"os", "File", "Write", insteadThread},
	{"os", "File", "WriteAt", insteadThread},
	{"os", "File", "WriteString", insteadThread},
	{"os", "File", "WriteTo", insteadThread},
	{"os", "File", "Sync", insteadThread},
	{"sync", "Mutex", "Lock", insteadMutex},
	{"sync", "RWMutex", "Lock", insteadMutex},
	{"sync", "RWMutex", "RLock", insteadMutex},
	{"sync", "WaitGroup", "Wait", "aio.Group or aio.Gather to wait for tasks; aio.ToThread to wait for goroutines"},
	{"sync", "Cond", "Wait", "aio.Condition"},
	{"os/exec", "Cmd", "Run", "aio.StartProcess(ctx, cmd) and its Wait or Communicate"},
	{"os/exec", "Cmd", "Output", "aio.StartProcess(ctx, cmd) and its Communicate"},
	{"os/exec", "Cmd", "CombinedOutput", "aio.StartProcess(ctx, cmd) and its Communicate"},
	{"os/exec", "Cmd", "Wait", "aio.StartProcess(ctx, cmd) and its Wait"},
	{futuresPath, "Future", "Result", "aio.AwaitFuture(ctx, f)"},
	{futuresPath, "", "Wait", "aio.AwaitFuture on each future, or aio.ToThread"},
	{futuresPath, "", "AsCompleted", "aio.AwaitFuture on each future, or aio.ToThread to collect them"},
	{futuresPath, "", "Map", "aio.ToThread to collect the results, or f.Submit and aio.AwaitFuture"},
	{mpPath, "Func", "Call", "f.Submit(ctx, ex, arg) and aio.AwaitFuture(ctx, fut)"},
	{mpPath, "Func", "Map", "aio.ToThread to collect the results, or f.Submit and aio.AwaitFuture"},
}

// blockingByName indexes blockingCalls by function or method name, so that
// each call the checker sees is matched against the few entries of its
// name, not the whole table.
var blockingByName = func() map[string][]*blockingKind {
	m := map[string][]*blockingKind{}
	for i := range blockingCalls {
		k := &blockingCalls[i]
		m[k.name] = append(m[k.name], k)
	}
	return m
}()

// blockingCall returns the blocking kind of fn, or nil.
func blockingCall(fn *types.Func) *blockingKind {
	if fn == nil || fn.Pkg() == nil {
		return nil
	}
	for _, k := range blockingByName[fn.Name()] {
		if k.recv == "" && isFunc(fn, k.path, k.name) || k.recv != "" && isMethod(fn, k.path, k.recv, k.name) {
			return k
		}
	}
	return nil
}

func (k *blockingKind) String() string {
	pkg := k.path[strings.LastIndex(k.path, "/")+1:]
	if k.recv != "" {
		return pkg + "." + k.recv + "." + k.name
	}
	return pkg + "." + k.name
}

type blockingChecker struct {
	pass    *analysis.Pass
	idx     *funcIndex
	helpers map[ast.Node]*helperResult
}

type helperResult struct {
	first *blocker // the first blocking operation reached, nil if none
}

func runBlocking(pass *analysis.Pass) (any, error) {
	c := &blockingChecker{pass: pass, idx: newFuncIndex(pass), helpers: map[ast.Node]*helperResult{}}
	reported := map[token.Pos]bool{}
	for _, lf := range loopFuncs(pass, c.idx) {
		c.scan(lf.body, func(b blocker, fix []analysis.SuggestedFix) {
			if reported[b.pos] {
				return
			}
			reported[b.pos] = true
			pass.Report(analysis.Diagnostic{
				Pos:            b.pos,
				Message:        b.message(pass.Fset, lf.starter),
				SuggestedFixes: fix,
			})
		}, lf.ctx)
	}
	return nil, nil
}

// scan finds the blocking operations of body (code that runs on the loop
// thread) and those reached through calls to functions of the package.
// ctx is the task's context parameter in scope, for suggested fixes.
func (c *blockingChecker) scan(body ast.Node, report func(blocker, []analysis.SuggestedFix), ctx *types.Var) {
	info := c.pass.TypesInfo
	inSelect := map[ast.Node]bool{}
	inspectRunHere(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectStmt:
			hasDefault := false
			for _, cl := range x.Body.List {
				cc := cl.(*ast.CommClause)
				if cc.Comm == nil {
					hasDefault = true
					continue
				}
				markComm(cc.Comm, inSelect)
			}
			if !hasDefault {
				report(blocker{pos: x.Pos(), what: "a select without a default case", instead: "aio.Wait or aio.WaitFor over tasks and futures, " + insteadChan}, nil)
			}
		case *ast.UnaryExpr:
			if x.Op == token.ARROW && !inSelect[x] {
				report(blocker{pos: x.Pos(), what: "a channel receive", instead: insteadChan}, nil)
			}
		case *ast.SendStmt:
			if !inSelect[x] {
				report(blocker{pos: x.Pos(), what: "a channel send", instead: insteadChan}, nil)
			}
		case *ast.RangeStmt:
			if t := info.TypeOf(x.X); t != nil {
				if _, ok := t.Underlying().(*types.Chan); ok {
					report(blocker{pos: x.Pos(), what: "a range over a channel", instead: insteadChan}, nil)
				}
			}
		case *ast.CallExpr:
			fn := callee(info, x)
			if k := blockingCall(fn); k != nil {
				report(blocker{pos: x.Pos(), what: k.String(), instead: k.instead}, c.fix(k, x, ctx))
				return true
			}
			if fn != nil && matchStarter(fn) != nil {
				return true
			}
			if _, isLit := ast.Unparen(x.Fun).(*ast.FuncLit); isLit {
				return true // called in place: inspectRunHere walks it
			}
			node, _, hbody := funcArg(c.pass, c.idx, x.Fun)
			if node == nil {
				return true
			}
			if h := c.helper(node, hbody); h != nil && h.first != nil {
				b := *h.first
				b.pos = x.Pos()
				b.chain = append([]string{calleeName(x.Fun)}, b.chain...)
				report(b, nil)
			}
		}
		return true
	})
}

// markComm marks the channel operation of a select case.
func markComm(s ast.Stmt, m map[ast.Node]bool) {
	switch s := s.(type) {
	case *ast.SendStmt:
		m[s] = true
	case *ast.ExprStmt:
		m[ast.Unparen(s.X)] = true
	case *ast.AssignStmt:
		if len(s.Rhs) == 1 {
			m[ast.Unparen(s.Rhs[0])] = true
		}
	}
}

// helper returns what blocks in the package function or function
// literal node (with body), if anything.
func (c *blockingChecker) helper(node ast.Node, body *ast.BlockStmt) *helperResult {
	if r, ok := c.helpers[node]; ok {
		return r // done, or in progress (a recursion: nothing more to find)
	}
	if !followable(c.pass, node) {
		return nil // the loop's own code; its direct operations in loop code are still checked
	}
	r := &helperResult{}
	c.helpers[node] = r
	c.scan(body, func(b blocker, _ []analysis.SuggestedFix) {
		if r.first == nil {
			if len(b.chain) == 0 {
				b.leaf = b.pos
			}
			r.first = &b
		}
	}, nil)
	return r
}

// calleeName names a called function expression for messages.
func calleeName(e ast.Expr) string {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.IndexExpr:
		return calleeName(x.X)
	case *ast.IndexListExpr:
		return calleeName(x.X)
	}
	return "the function"
}

// fix returns the mechanical rewrites: time.Sleep(d) to aio.Sleep(ctx, d)
// and f.Result(ctx) to aio.AwaitFuture(ctx, f), when the task's ctx is in
// scope and the file imports aio.
func (c *blockingChecker) fix(k *blockingKind, call *ast.CallExpr, ctx *types.Var) []analysis.SuggestedFix {
	file := fileOf(c.pass, call.Pos())
	if file == nil {
		return nil
	}
	aio := importName(file, aioPath)
	if aio == "" {
		return nil
	}
	switch {
	case k.path == "time" && k.name == "Sleep" && ctx != nil && len(call.Args) == 1:
		if shadowed(c.pass.TypesInfo, file, call.Pos(), ctx) {
			return nil
		}
		return []analysis.SuggestedFix{{
			Message: fmt.Sprintf("Use %s.Sleep(%s, d)", aio, ctx.Name()),
			TextEdits: []analysis.TextEdit{
				{Pos: call.Fun.Pos(), End: call.Lparen + 1, NewText: []byte(fmt.Sprintf("%s.Sleep(%s, ", aio, ctx.Name()))},
			},
		}}
	case k.path == futuresPath && k.name == "Result" && len(call.Args) == 1:
		sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
		if !ok {
			return nil
		}
		return []analysis.SuggestedFix{{
			Message: fmt.Sprintf("Use %s.AwaitFuture(ctx, f)", aio),
			TextEdits: []analysis.TextEdit{
				{Pos: call.Pos(), End: call.Args[0].Pos(), NewText: []byte(aio + ".AwaitFuture(")},
				{Pos: call.Args[0].End(), End: call.End(), NewText: []byte(", " + source(c.pass, sel.X) + ")")},
			},
		}}
	}
	return nil
}

// shadowed reports whether the name of v means something else at pos.
func shadowed(info *types.Info, file *ast.File, pos token.Pos, v *types.Var) bool {
	fileScope := info.Scopes[file]
	if fileScope == nil {
		return true
	}
	scope := fileScope.Innermost(pos)
	if scope == nil {
		return true
	}
	_, obj := scope.LookupParent(v.Name(), pos)
	return obj != v
}

// source returns the text of e.
func source(pass *analysis.Pass, e ast.Expr) string {
	var b strings.Builder
	if err := format.Node(&b, pass.Fset, e); err != nil {
		return ""
	}
	return b.String()
}
