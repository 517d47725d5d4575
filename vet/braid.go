package vet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// Import paths of the braid packages whose functions the analyzers know.
const (
	aioPath     = "github.com/braid-go/braid/aio"
	futuresPath = "github.com/braid-go/braid/futures"
	mpPath      = "github.com/braid-go/braid/mp"
	clusterPath = "github.com/braid-go/braid/cluster"
)

// callee returns the function or method a call statically calls (the
// generic origin for an instantiation), or nil (a func value, a builtin, a
// conversion, an interface method's dynamic target).
func callee(info *types.Info, call *ast.CallExpr) *types.Func {
	fn, _ := typeutil.Callee(info, call).(*types.Func)
	if fn == nil {
		return nil
	}
	return fn.Origin()
}

// isFunc reports whether fn is the package-level function path.name.
func isFunc(fn *types.Func, path, name string) bool {
	return fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == path && fn.Name() == name &&
		fn.Type().(*types.Signature).Recv() == nil
}

// isMethod reports whether fn is the method name of the named type
// path.typ (on the type or its pointer).
func isMethod(fn *types.Func, path, typ, name string) bool {
	if fn == nil || fn.Name() != name {
		return false
	}
	recv := fn.Type().(*types.Signature).Recv()
	if recv == nil {
		return false
	}
	named := namedOf(recv.Type())
	if named == nil {
		return false
	}
	obj := named.Origin().Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == path && obj.Name() == typ
}

// namedOf returns the named type t is, or points to, or nil.
func namedOf(t types.Type) *types.Named {
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	n, _ := t.(*types.Named)
	return n
}

// importName returns the name under which file imports path ("" if it
// does not, or imports it with _ or .).
func importName(file *ast.File, path string) string {
	for _, spec := range file.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil || p != path {
			continue
		}
		if spec.Name != nil {
			if spec.Name.Name == "_" || spec.Name.Name == "." {
				return ""
			}
			return spec.Name.Name
		}
		return filepath.Base(path)
	}
	return ""
}

// fileOf returns the file of pass that holds pos.
func fileOf(pass *analysis.Pass, pos token.Pos) *ast.File {
	for _, f := range pass.Files {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return f
		}
	}
	return nil
}

// shortPos formats pos as file.go:line for messages.
func shortPos(fset *token.FileSet, pos token.Pos) string {
	p := fset.Position(pos)
	return fmt.Sprintf("%s:%d", filepath.Base(p.Filename), p.Line)
}

// A starter is a braid function that runs one of its function arguments on
// a loop's thread: as a task (Run, Spawn, TaskGroup.Go, ...) or as a
// callback (CallSoon, ...). Functions given to ToThread and RunInExecutor
// run on other threads and are not starters.
type starter struct {
	recv   string // the receiver type's name, "" for a function
	name   string
	arg    int // the index of the function argument
	ctxArg int // the index of the function's context parameter, -1 if none
}

var starters = []starter{
	{"", "Run", 1, 0},
	{"", "Spawn", 1, 0},
	{"", "Shield", 1, 0},
	{"", "Group", 1, 0},
	{"", "GroupSpawn", 1, 0},
	{"", "RunCoroutineThreadsafe", 1, 0},
	{"", "StartServer", 3, 0},
	{"TaskGroup", "Go", 0, 0},
	{"Loop", "CallSoon", 0, -1},
	{"Loop", "CallLater", 1, -1},
	{"Loop", "CallAt", 1, -1},
	{"Loop", "AddSignalHandler", 1, -1},
}

// matchStarter returns the starter fn is, or nil.
func matchStarter(fn *types.Func) *starter {
	for i := range starters {
		s := &starters[i]
		if s.recv == "" && isFunc(fn, aioPath, s.name) || s.recv != "" && isMethod(fn, aioPath, s.recv, s.name) {
			return s
		}
	}
	return nil
}

// A loopFunc is the body of a function that runs on a loop's thread.
type loopFunc struct {
	starter string   // how it is started, e.g. "aio.Spawn"
	node    ast.Node // *ast.FuncLit or *ast.FuncDecl
	body    *ast.BlockStmt
	ctx     *types.Var // its context parameter, nil if none or unnamed
}

// A funcIndex finds the code of the functions of a package: declared
// functions and methods, and local variables that hold one function
// literal (f := func() {...}, assigned once).
type funcIndex struct {
	decls map[*types.Func]*ast.FuncDecl
	lits  map[*types.Var]*ast.FuncLit
}

func newFuncIndex(pass *analysis.Pass) *funcIndex {
	idx := &funcIndex{decls: map[*types.Func]*ast.FuncDecl{}, lits: map[*types.Var]*ast.FuncLit{}}
	assigned := map[*types.Var]int{}
	note := func(id *ast.Ident, rhs ast.Expr) {
		v, ok := pass.TypesInfo.ObjectOf(id).(*types.Var)
		if !ok {
			return
		}
		assigned[v]++
		if lit, ok := ast.Unparen(rhs).(*ast.FuncLit); ok {
			idx.lits[v] = lit
		}
	}
	for _, f := range pass.Files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					idx.decls[fn] = fd
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				for i, lhs := range x.Lhs {
					if id, ok := ast.Unparen(lhs).(*ast.Ident); ok {
						var rhs ast.Expr
						if len(x.Rhs) == len(x.Lhs) {
							rhs = x.Rhs[i]
						}
						note(id, rhs)
					}
				}
			case *ast.ValueSpec:
				for i, id := range x.Names {
					var rhs ast.Expr
					if len(x.Values) == len(x.Names) {
						rhs = x.Values[i]
					}
					note(id, rhs)
				}
			}
			return true
		})
	}
	for v, n := range assigned {
		if n != 1 {
			delete(idx.lits, v) // reassigned: which literal runs is not known
		}
	}
	return idx
}

// funcArg resolves a function expression to its literal or its
// declaration in this package; nil if it is anything else (a parameter, a
// function of another package).
func funcArg(pass *analysis.Pass, idx *funcIndex, e ast.Expr) (ast.Node, *ast.FuncType, *ast.BlockStmt) {
	e = ast.Unparen(e)
	switch x := e.(type) {
	case *ast.FuncLit:
		return x, x.Type, x.Body
	case *ast.IndexExpr:
		e = x.X
	case *ast.IndexListExpr:
		e = x.X
	}
	var id *ast.Ident
	switch x := e.(type) {
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		id = x.Sel
	default:
		return nil, nil, nil
	}
	switch obj := pass.TypesInfo.Uses[id].(type) {
	case *types.Func:
		if fd := idx.decls[obj.Origin()]; fd != nil {
			return fd, fd.Type, fd.Body
		}
	case *types.Var:
		if lit := idx.lits[obj]; lit != nil {
			return lit, lit.Type, lit.Body
		}
	}
	return nil, nil, nil
}

// paramVar returns the i-th parameter of ft as a variable, nil if it has
// no usable name.
func paramVar(info *types.Info, ft *ast.FuncType, i int) *types.Var {
	if i < 0 || ft.Params == nil {
		return nil
	}
	n := 0
	for _, field := range ft.Params.List {
		if len(field.Names) == 0 {
			if n == i {
				return nil
			}
			n++
			continue
		}
		for _, name := range field.Names {
			if n == i {
				if name.Name == "_" {
					return nil
				}
				v, _ := info.Defs[name].(*types.Var)
				return v
			}
			n++
		}
	}
	return nil
}

// loopFuncs returns every function body of the package that runs on a
// loop's thread because it is given to a starter.
func loopFuncs(pass *analysis.Pass, idx *funcIndex) []loopFunc {
	var out []loopFunc
	seen := map[ast.Node]bool{}
	for _, f := range pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			s := matchStarter(callee(pass.TypesInfo, call))
			if s == nil || s.arg >= len(call.Args) {
				return true
			}
			name := "aio." + s.name
			if s.recv != "" {
				name = s.recv + "." + s.name
			}
			for _, lit := range taskFuncs(pass, idx, call.Args[s.arg]) {
				if seen[lit.node] {
					continue
				}
				seen[lit.node] = true
				out = append(out, loopFunc{starter: name, node: lit.node, body: lit.body, ctx: paramVar(pass.TypesInfo, lit.ft, s.ctxArg)})
			}
			return true
		})
	}
	return append(out, protocolMethods(pass, idx, seen)...)
}

type funcCode struct {
	node ast.Node
	ft   *ast.FuncType
	body *ast.BlockStmt
}

// taskFuncs returns the code of the function expression e: a literal, a
// function of the package, or the literals that a function of the package
// returns when e calls it (aio.Spawn(ctx, worker(i)) with worker returning
// func(ctx context.Context) (T, error) {...}).
func taskFuncs(pass *analysis.Pass, idx *funcIndex, e ast.Expr) []funcCode {
	if node, ft, body := funcArg(pass, idx, e); node != nil {
		return []funcCode{{node, ft, body}}
	}
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return nil
	}
	node, _, body := funcArg(pass, idx, call.Fun)
	if node == nil {
		return nil
	}
	var out []funcCode
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			return false // its returns are its own
		case *ast.ReturnStmt:
			if len(x.Results) == 1 {
				if lit, ok := ast.Unparen(x.Results[0]).(*ast.FuncLit); ok {
					out = append(out, funcCode{lit, lit.Type, lit.Body})
				}
			}
		}
		return true
	})
	return out
}

// protocolCallbacks are the methods the loop calls on a protocol (aio's
// Protocol, BufferedProtocol, WriteFlowControl and DatagramProtocol).
var protocolCallbacks = map[string]bool{
	"ConnectionMade": true, "DataReceived": true, "EOFReceived": true, "ConnectionLost": true,
	"GetBuffer": true, "BufferUpdated": true, "PauseWriting": true, "ResumeWriting": true,
	"DatagramReceived": true, "ErrorReceived": true,
}

// protocolMethods returns the callback methods of the package's types that
// implement aio.Protocol or aio.DatagramProtocol: the loop runs them.
func protocolMethods(pass *analysis.Pass, idx *funcIndex, seen map[ast.Node]bool) []loopFunc {
	var ifaces []*types.Interface
	for _, imp := range pass.Pkg.Imports() {
		if imp.Path() != aioPath {
			continue
		}
		for _, name := range []string{"Protocol", "DatagramProtocol"} {
			if tn, ok := imp.Scope().Lookup(name).(*types.TypeName); ok {
				if it, ok := tn.Type().Underlying().(*types.Interface); ok {
					ifaces = append(ifaces, it)
				}
			}
		}
	}
	if len(ifaces) == 0 {
		return nil
	}
	var out []loopFunc
	for fn, fd := range idx.decls {
		recv := fn.Type().(*types.Signature).Recv()
		if recv == nil || !protocolCallbacks[fn.Name()] || seen[fd] {
			continue
		}
		named := namedOf(recv.Type())
		if named == nil {
			continue
		}
		for _, it := range ifaces {
			if types.Implements(named, it) || types.Implements(types.NewPointer(named), it) {
				seen[fd] = true
				out = append(out, loopFunc{starter: "the loop (an aio protocol callback)", node: fd, body: fd.Body})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].node.Pos() < out[j].node.Pos() })
	return out
}

// followable reports whether the checks follow a call into the package
// function or literal node. They do not in the loop's own implementation
// (package aio outside its tests): its locks guard hand-offs between
// threads for a few instructions, its waits are the loop's own, and it
// reads finished futures with a background context.
func followable(pass *analysis.Pass, node ast.Node) bool {
	return pass.Pkg.Path() != aioPath || strings.HasSuffix(pass.Fset.Position(node.Pos()).Filename, "_test.go")
}

// inspectRunHere walks the code of body that runs when body runs, on the
// same thread: it skips function literals that are not called there (a
// literal given to aio.ToThread, stored, or returned runs elsewhere or
// later) and go statements. visit is called as by ast.Inspect.
func inspectRunHere(body ast.Node, visit func(ast.Node) bool) {
	called := map[*ast.FuncLit]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.GoStmt:
			return false
		case *ast.CallExpr:
			if lit, ok := ast.Unparen(x.Fun).(*ast.FuncLit); ok {
				called[lit] = true
			}
		case *ast.FuncLit:
			if !called[x] {
				return false
			}
		}
		return visit(n)
	})
}
