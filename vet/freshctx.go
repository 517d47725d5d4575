package vet

import (
	"go/ast"

	"golang.org/x/tools/go/analysis"
)

const freshCtxDoc = `report context.Background() and context.TODO() inside a task whose own ctx is in scope

A task's context carries its loop and its cancellation: aio.Sleep, Await,
Queue.Get and the loop's I/O find the loop through it, and cancelling the
task (or its TaskGroup, or a timeout around it) ends its waits through it.
A fresh context.Background() inside the task has neither: the waits it is
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
	for _, lf := range loopFuncs(pass, idx) {
		if lf.ctx == nil {
			continue
		}
		inspectRunHere(lf.body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || reported[call] {
				return true
			}
			fn := callee(pass.TypesInfo, call)
			if !isFunc(fn, "context", "Background") && !isFunc(fn, "context", "TODO") {
				return true
			}
			reported[call] = true
			d := analysis.Diagnostic{
				Pos:     call.Pos(),
				End:     call.End(),
				Message: "context." + fn.Name() + "() in a function run by " + lf.starter + " whose own context " + lf.ctx.Name() + " is in scope: the loop and the task's cancellation are lost; pass " + lf.ctx.Name() + " (or context.WithoutCancel(" + lf.ctx.Name() + ") for work that must outlive the task)",
			}
			if file := fileOf(pass, call.Pos()); file != nil && !shadowed(pass.TypesInfo, file, call.Pos(), lf.ctx) {
				d.SuggestedFixes = []analysis.SuggestedFix{{
					Message:   "Use " + lf.ctx.Name(),
					TextEdits: []analysis.TextEdit{{Pos: call.Pos(), End: call.End(), NewText: []byte(lf.ctx.Name())}},
				}}
			}
			pass.Report(d)
			return true
		})
	}
	return nil, nil
}
