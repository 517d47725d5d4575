package vet

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/analysis"
)

const droppedTaskDoc = `report a Task of aio.Spawn that is dropped, and ignored errors of TaskGroup.Go and Await

A task started with aio.Spawn and never kept is never awaited: its error is
seen by nobody (the loop only logs it when it closes), and aio.Run cancels it
if it is still pending when main returns. This is asyncio's "Task was
destroyed but it is pending" and "Task exception was never retrieved", and
ruff's RUF006 (store a reference to the return value of create_task). Keep
the Task and await it (t.Await, aio.Gather, aio.Wait), or start the task in
an aio.Group, which waits for it and reports its error.

TaskGroup.Go and aio.GroupSpawn return an error when the group no longer
accepts tasks (it is failing or finished): ignoring it silently skips the
work. Task.Await, Future.Await and aio.AwaitFuture return the task's error,
cancellation included, and aio.Gather, aio.WaitFor, aio.Shield and aio.Group
the errors of the tasks they await: ignoring it treats a failed or cancelled
task as a success. Both are reported whether the error is dropped by a call
statement, a defer, or an assignment to _. Inside the group's own body (its *TaskGroup
parameter) an ignored error of TaskGroup.Go or GroupSpawn is not reported:
the call can then fail only when the group is already failing, and
aio.Group returns that failure.`

// DroppedTask reports dropped tasks and ignored errors of TaskGroup.Go and
// Await.
var DroppedTask = &analysis.Analyzer{
	Name: "droppedtask",
	Doc:  droppedTaskDoc,
	URL:  "https://github.com/braid-go/braid/blob/main/docs/VET.md#droppedtask",
	Run:  runDroppedTask,
}

// droppedKind says what a call returns that must not be dropped.
func droppedKind(fn *types.Func) (name string, taskResult, errResult int) {
	switch {
	case isFunc(fn, aioPath, "Spawn"):
		return "aio.Spawn", 0, -1
	case isFunc(fn, aioPath, "GroupSpawn"):
		return "aio.GroupSpawn", -1, 1
	case isMethod(fn, aioPath, "TaskGroup", "Go"):
		return "TaskGroup.Go", -1, 0
	case isMethod(fn, aioPath, "Task", "Await"):
		return "Task.Await", -1, 1
	case isMethod(fn, aioPath, "Future", "Await"):
		return "Future.Await", -1, 1
	case isFunc(fn, aioPath, "AwaitFuture"):
		return "aio.AwaitFuture", -1, 1
	case isFunc(fn, aioPath, "Gather"):
		return "aio.Gather", -1, 1
	case isFunc(fn, aioPath, "WaitFor"):
		return "aio.WaitFor", -1, 1
	case isFunc(fn, aioPath, "Shield"):
		return "aio.Shield", -1, 1
	case isFunc(fn, aioPath, "Group"):
		return "aio.Group", -1, 0
	}
	return "", -1, -1
}

func runDroppedTask(pass *analysis.Pass) (any, error) {
	groups := groupParams(pass)
	check := func(call *ast.CallExpr, dropped func(i int) bool) {
		name, task, errIdx := droppedKind(callee(pass.TypesInfo, call))
		if name == "" {
			return
		}
		if (name == "TaskGroup.Go" || name == "aio.GroupSpawn") && groups[groupOf(pass.TypesInfo, call, name)] {
			// The group's own body (or a task in it) adds a task: the call
			// fails only when the group is already failing, and aio.Group
			// returns that failure.
			errIdx = -1
		}
		if task >= 0 && dropped(task) {
			pass.Reportf(call.Pos(), "the Task returned by %s is dropped: its error is never seen and aio.Run cancels it if it is still pending; keep it and await it (t.Await, aio.Gather), or start it in an aio.Group", name)
		}
		if errIdx >= 0 && dropped(errIdx) {
			what := "the task's error (a failure or cancellation) is treated as success"
			if name == "aio.Group" {
				what = "the errors of the group's tasks are lost"
			}
			if name == "TaskGroup.Go" || name == "aio.GroupSpawn" {
				what = "when the group no longer accepts tasks the work is silently skipped"
			}
			pass.Reportf(call.Pos(), "the error of %s is ignored: %s; check it", name, what)
		}
	}
	for _, f := range pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch s := n.(type) {
			case *ast.ExprStmt:
				if call, ok := ast.Unparen(s.X).(*ast.CallExpr); ok {
					check(call, func(int) bool { return true })
				}
			case *ast.DeferStmt:
				check(s.Call, func(int) bool { return true })
			case *ast.AssignStmt:
				if len(s.Rhs) == 1 {
					if call, ok := ast.Unparen(s.Rhs[0]).(*ast.CallExpr); ok {
						check(call, func(i int) bool { return i < len(s.Lhs) && isBlank(s.Lhs[i]) })
					}
					return true
				}
				for i, rhs := range s.Rhs {
					if call, ok := ast.Unparen(rhs).(*ast.CallExpr); ok && i < len(s.Lhs) {
						lhs := s.Lhs[i]
						check(call, func(int) bool { return isBlank(lhs) })
					}
				}
			case *ast.ValueSpec:
				if len(s.Values) == 1 {
					if call, ok := ast.Unparen(s.Values[0]).(*ast.CallExpr); ok {
						check(call, func(i int) bool { return i < len(s.Names) && s.Names[i].Name == "_" })
					}
				}
			}
			return true
		})
	}
	return nil, nil
}

// groupParams returns the *TaskGroup parameters of the bodies given to
// aio.Group in the package.
func groupParams(pass *analysis.Pass) map[*types.Var]bool {
	idx := newFuncIndex(pass)
	m := map[*types.Var]bool{}
	for _, f := range pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 || !isFunc(callee(pass.TypesInfo, call), aioPath, "Group") {
				return true
			}
			if node, ft, _ := funcArg(pass, idx, call.Args[1]); node != nil {
				if v := paramVar(pass.TypesInfo, ft, 1); v != nil {
					m[v] = true
				}
			}
			return true
		})
	}
	return m
}

// groupOf returns the variable that holds the group of a TaskGroup.Go or
// aio.GroupSpawn call, nil if it is not a plain variable.
func groupOf(info *types.Info, call *ast.CallExpr, name string) *types.Var {
	var e ast.Expr
	if name == "TaskGroup.Go" {
		sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
		if !ok {
			return nil
		}
		e = sel.X
	} else if len(call.Args) > 0 {
		e = call.Args[0]
	}
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return nil
	}
	v, _ := info.Uses[id].(*types.Var)
	return v
}

func isBlank(e ast.Expr) bool {
	id, ok := ast.Unparen(e).(*ast.Ident)
	return ok && id.Name == "_"
}
