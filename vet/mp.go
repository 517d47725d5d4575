package vet

import (
	"go/ast"
	"go/constant"
	"go/types"
	"reflect"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// A registration is one call of mp.Register.
type registration struct {
	call *ast.CallExpr
	name string // the registered name, quoted, or "?" if not a constant
	arg  types.Type
	res  types.Type
	fn   ast.Expr
}

// registrations returns the calls of mp.Register in the package.
func registrations(pass *analysis.Pass) []registration {
	var out []registration
	for _, f := range pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 || !isFunc(callee(pass.TypesInfo, call), mpPath, "Register") {
				return true
			}
			sig, ok := pass.TypesInfo.TypeOf(call.Fun).Underlying().(*types.Signature)
			if !ok || sig.Params().Len() < 2 {
				return true
			}
			fsig, ok := sig.Params().At(1).Type().Underlying().(*types.Signature)
			if !ok || fsig.Params().Len() != 2 || fsig.Results().Len() != 2 {
				return true
			}
			r := registration{call: call, name: "?", arg: fsig.Params().At(1).Type(), res: fsig.Results().At(0).Type(), fn: call.Args[1]}
			if tv, ok := pass.TypesInfo.Types[call.Args[0]]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
				r.name = strconv.Quote(constant.StringVal(tv.Value))
			}
			out = append(out, r)
			return true
		})
	}
	return out
}

const mpBoundaryDoc = `report functions registered with mp whose argument or result type cannot cross a process boundary

mp sends a registered function's argument to a worker process and its
result back, encoded with CBOR. Channels, functions, unsafe pointers and
complex numbers cannot be encoded (Python's "cannot pickle"); an interface
with methods cannot be decoded (the codec cannot choose a concrete type);
a struct's unexported fields are not encoded, so the value would arrive
altered (mp refuses such types), unless the type implements
encoding.BinaryMarshaler (or cbor.Marshaler) and encodes itself. mp.Register
panics on some of these when the program starts and Submit fails on others;
this check reports them all at compile time, with the path to the field.

Fix: pass plain data (numbers, strings, slices, maps, structs of exported
fields), export the field or tag it cbor:"-", or implement
encoding.BinaryMarshaler on the type.`

// MPBoundary reports argument and result types of mp.Register functions
// that cannot be encoded.
var MPBoundary = &analysis.Analyzer{
	Name: "mpboundary",
	Doc:  mpBoundaryDoc,
	URL:  "https://github.com/braid-go/braid/blob/main/docs/VET.md#mpboundary",
	Run:  runMPBoundary,
}

func runMPBoundary(pass *analysis.Pass) (any, error) {
	for _, r := range registrations(pass) {
		for _, side := range []struct {
			what string
			t    types.Type
		}{{"argument", r.arg}, {"result", r.res}} {
			if p := encodeProblem(side.t, types.TypeString(side.t, types.RelativeTo(pass.Pkg)), map[types.Type]bool{}, pass.Pkg); p != "" {
				pass.Reportf(r.fn.Pos(), "mp.Register(%s): the %s type cannot cross a process boundary: %s", r.name, side.what, p)
			}
		}
	}
	return nil, nil
}

// encodeProblem returns why values of t cannot be sent to a worker as
// they are, or "". path names t in the message.
func encodeProblem(t types.Type, path string, seen map[types.Type]bool, from *types.Package) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	if _, ok := types.Unalias(t).(*types.TypeParam); ok {
		return "" // checked where it is instantiated
	}
	if encodesItself(t) || isBigInt(t) {
		return ""
	}
	qual := types.RelativeTo(from)
	name := types.TypeString(t, qual)
	switch u := t.Underlying().(type) {
	case *types.Chan:
		return path + " is a channel (" + name + "); send the values, or use an mp queue"
	case *types.Signature:
		return path + " is a function (" + name + "); register the function with mp.Register and send its arguments"
	case *types.Basic:
		switch u.Kind() {
		case types.UnsafePointer:
			return path + " is an unsafe.Pointer"
		case types.Complex64, types.Complex128:
			return path + " is a complex number (" + name + "), which the codec does not encode; send its real and imaginary parts"
		}
	case *types.Interface:
		if u.NumMethods() > 0 {
			return path + " is the interface " + name + ", which the codec cannot decode into (it cannot choose a concrete type); use a concrete type"
		}
	case *types.Pointer:
		return encodeProblem(u.Elem(), "*"+path, seen, from)
	case *types.Slice:
		return encodeProblem(u.Elem(), path+"[i]", seen, from)
	case *types.Array:
		return encodeProblem(u.Elem(), path+"[i]", seen, from)
	case *types.Map:
		if p := encodeProblem(u.Key(), "key of "+path, seen, from); p != "" {
			return p
		}
		return encodeProblem(u.Elem(), path+"[k]", seen, from)
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			f := u.Field(i)
			tag := reflect.StructTag(u.Tag(i))
			if tag.Get("cbor") == "-" || tag.Get("json") == "-" && tag.Get("cbor") == "" {
				continue
			}
			if f.Name() == "_" {
				continue // padding or a marker: no data
			}
			if !f.Exported() && !f.Embedded() {
				return path + " (" + name + ") has the unexported field " + f.Name() + ", which is not encoded (the value would arrive altered; mp refuses such types); export it, tag it cbor:\"-\", or implement encoding.BinaryMarshaler on " + name
			}
			if p := encodeProblem(f.Type(), path+"."+f.Name(), seen, from); p != "" {
				return p
			}
		}
	}
	return ""
}

// encodesItself reports whether t or *t implements
// encoding.BinaryMarshaler or cbor.Marshaler.
func encodesItself(t types.Type) bool {
	for _, m := range []string{"MarshalBinary", "MarshalCBOR"} {
		obj, _, _ := types.LookupFieldOrMethod(t, true, nil, m)
		fn, ok := obj.(*types.Func)
		if !ok {
			continue
		}
		sig := fn.Type().(*types.Signature)
		if sig.Params().Len() == 0 && sig.Results().Len() == 2 &&
			types.Identical(sig.Results().At(0).Type(), types.NewSlice(types.Typ[types.Byte])) &&
			types.Identical(sig.Results().At(1).Type(), types.Universe.Lookup("error").Type()) {
			return true
		}
	}
	return false
}

const mpMainDoc = `report a main function that does not call mp.Main first, in a program that uses mp

A worker of an mp.Pool is the program's own binary started again; mp.Main
is where a worker serves tasks (and never returns). It must be the first
statement of main, the Go counterpart of Python's
if __name__ == "__main__": guard: code before it runs again in every worker
(flags parsed, files opened, servers started), and a program that never
calls it cannot start a pool (NewPool fails). cluster.Main, which calls
mp.Main first, counts as the call. The suggested fix inserts mp.Main() at
the top of main.`

// MPMain reports a main function of a program that imports mp and does
// not call mp.Main as its first statement.
var MPMain = &analysis.Analyzer{
	Name:      "mpmain",
	Doc:       mpMainDoc,
	URL:       "https://github.com/braid-go/braid/blob/main/docs/VET.md#mpmain",
	Run:       runMPMain,
	FactTypes: []analysis.Fact{new(usesMP)},
}

// usesMP is the fact that a package imports mp, directly or through the
// packages it imports (Via names the first of them, "" if direct).
type usesMP struct{ Via string }

// AFact marks usesMP as an analysis fact.
func (*usesMP) AFact() {}

func (f *usesMP) String() string {
	if f.Via == "" {
		return "usesMP"
	}
	return "usesMP via " + f.Via
}

func runMPMain(pass *analysis.Pass) (any, error) {
	var uses *usesMP
	for _, f := range pass.Files {
		name := pass.Fset.Position(f.FileStart).Filename
		if strings.HasSuffix(name, "_test.go") {
			continue // the program's own imports, not its tests'
		}
		for _, spec := range f.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				continue
			}
			if path == mpPath {
				uses = &usesMP{}
				break
			}
			imp := importedPackage(pass.Pkg, path)
			var fact usesMP
			if uses == nil && imp != nil && pass.ImportPackageFact(imp, &fact) {
				uses = &usesMP{Via: path}
			}
		}
		if uses != nil && uses.Via == "" {
			break
		}
	}
	if uses == nil {
		return nil, nil
	}
	pass.ExportPackageFact(uses)
	if pass.Pkg.Name() != "main" {
		return nil, nil
	}
	for _, f := range pass.Files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Name.Name != "main" || fd.Body == nil {
				continue
			}
			checkMain(pass, f, fd, uses.Via)
		}
	}
	return nil, nil
}

// importedPackage returns the package pkg imports by path, or nil.
func importedPackage(pkg *types.Package, path string) *types.Package {
	for _, imp := range pkg.Imports() {
		if imp.Path() == path {
			return imp
		}
	}
	return nil
}

// isMainFunc reports whether fn is mp.Main, or cluster.Main, which calls
// mp.Main first.
func isMainFunc(fn *types.Func) bool {
	return isFunc(fn, mpPath, "Main") || isFunc(fn, clusterPath, "Main")
}

func checkMain(pass *analysis.Pass, f *ast.File, fd *ast.FuncDecl, via string) {
	isMainCall := func(s ast.Stmt) *ast.CallExpr {
		es, ok := s.(*ast.ExprStmt)
		if !ok {
			return nil
		}
		call, ok := ast.Unparen(es.X).(*ast.CallExpr)
		if ok && isMainFunc(callee(pass.TypesInfo, call)) {
			return call
		}
		return nil
	}
	if len(fd.Body.List) > 0 && isMainCall(fd.Body.List[0]) != nil {
		return
	}
	var late *ast.CallExpr
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && late == nil && isMainFunc(callee(pass.TypesInfo, call)) {
			late = call
		}
		return late == nil
	})
	mp := importName(f, mpPath)
	if late != nil {
		pass.Reportf(late.Pos(), "mp.Main is not the first statement of main: the code before it runs again in every worker process; move it to the top of main (Python's if __name__ == \"__main__\" guard)")
		return
	}
	d := analysis.Diagnostic{
		Pos:     fd.Name.Pos(),
		End:     fd.Name.End(),
		Message: "main of a program that uses mp" + viaText(via) + " does not call mp.Main: worker processes (this binary started again) cannot serve tasks and NewPool fails; call mp.Main() first in main (Python's if __name__ == \"__main__\" guard)",
	}
	if mp != "" {
		edit := analysis.TextEdit{Pos: fd.Body.Lbrace + 1, End: fd.Body.Lbrace + 1, NewText: []byte("\n\t" + mp + ".Main()")}
		if len(fd.Body.List) > 0 {
			first := fd.Body.List[0].Pos()
			edit = analysis.TextEdit{Pos: first, End: first, NewText: []byte(mp + ".Main()\n\t")}
		}
		d.SuggestedFixes = []analysis.SuggestedFix{{Message: "Call " + mp + ".Main() first", TextEdits: []analysis.TextEdit{edit}}}
	}
	pass.Report(d)
}

func viaText(via string) string {
	if via == "" {
		return ""
	}
	return " (through " + via + ")"
}

// isBigInt reports whether t is math/big.Int, which the codec encodes as a
// CBOR bignum.
func isBigInt(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "math/big" && n.Obj().Name() == "Int"
}
