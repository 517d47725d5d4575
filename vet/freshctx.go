package vet

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/analysis"
)

const freshCtxDoc = `report context.Background() and context.TODO() inside a task whose own ctx is in scope

A task's context carries its loop and its cancellation: aio.Sleep, Await,
Queue.Get and the loop's I/O find the loop through it, and cancelling the
task (or its TaskGroup, or a timeout around it) ends its waits through it.
A fresh context.Background() inside the task, or inside a function of the
package that the task calls with its context, has neither: the waits it is
given either fail (no loop) or do not end when the task is cancelled. Pass
the task's ctx instead (the suggested fix), or context.WithoutCancel(ctx)
for work that must outlive the task's cancellation but keep its values.`

// FreshContext reports context.Background() and context.TODO() used in a
// task whose own context is in scope.
var FreshContext = &analysis.Analyzer{
	Name: "freshctx",
	Doc:  freshCtxDoc,
	URL:  "https://github.com/braid-go/braid/blob/main/docs/VET.md#freshctx",
	Run:  runFreshContext,
}

func runFreshContext(pass *analysis.Pass) (any, error) {
	idx := newFuncIndex(pass)
	reported := map[*ast.CallExpr]bool{}
	visited := map[ast.Node]bool{}
	type work struct {
		body  *ast.BlockStmt
		ctx   *types.Var
		where string
	}
	var queue []work
	for _, lf := range loopFuncs(pass, idx) {
		visited[lf.node] = true
		queue = append(queue, work{lf.body, lf.ctx, "a function run by " + lf.starter})
	}
	for len(queue) > 0 {
		w := queue[0]
		queue = queue[1:]
		inspectRunHere(w.body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn := callee(pass.TypesInfo, call)
			if fn != nil && matchStarter(fn) != nil {
				return true
			}
			if isFunc(fn, "context", "Background") || isFunc(fn, "context", "TODO") {
				if w.ctx != nil && !reported[call] {
					reported[call] = true
					reportFresh(pass, call, fn.Name(), w.ctx, w.where)
				}
				return true
			}
			// A function of the package called from the task runs in it:
			// its own context parameter is the task's context.
			if _, isLit := ast.Unparen(call.Fun).(*ast.FuncLit); isLit {
				return true
			}
			node, ft, body := funcArg(pass, idx, call.Fun)
			if node == nil || visited[node] || !followable(pass, node) {
				return true
			}
			visited[node] = true
			queue = append(queue, work{body, contextParam(pass.TypesInfo, ft), calleeName(call.Fun) + " (called in a task)"})
			return true
		})
	}
	return nil, nil
}

// contextParam returns the first context.Context parameter of ft, nil if
// none has a usable name.
func contextParam(info *types.Info, ft *ast.FuncType) *types.Var {
	if ft.Params == nil {
		return nil
	}
	for _, field := range ft.Params.List {
		for _, name := range field.Names {
			v, ok := info.Defs[name].(*types.Var)
			if !ok || name.Name == "_" {
				continue
			}
			if n, ok := types.Unalias(v.Type()).(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context" {
				return v
			}
		}
	}
	return nil
}

func reportFresh(pass *analysis.Pass, call *ast.CallExpr, name string, ctx *types.Var, where string) {
	d := analysis.Diagnostic{
		Pos:     call.Pos(),
		End:     call.End(),
		Message: "context." + name + "() in " + where + " whose own context " + ctx.Name() + " is in scope: the loop and the task's cancellation are lost; pass " + ctx.Name() + " (or context.WithoutCancel(" + ctx.Name() + ") for work that must outlive the task)",
	}
	if file := fileOf(pass, call.Pos()); file != nil && !shadowed(pass.TypesInfo, file, call.Pos(), ctx) {
		d.SuggestedFixes = []analysis.SuggestedFix{{
			Message:   "Use " + ctx.Name(),
			TextEdits: []analysis.TextEdit{{Pos: call.Pos(), End: call.End(), NewText: []byte(ctx.Name())}},
		}}
	}
	pass.Report(d)
}
