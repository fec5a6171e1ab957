package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maxFuncLines bounds a function of the shipped code: a longer one is an
// orchestrator that wants splitting into named stages (STYLE.md, habit 14).
const maxFuncLines = 100

type funcLen struct {
	where string
	lines int
}

// moduleFuncs lists every function of the module's non-test Go files with
// its length in lines, longest first.
func moduleFuncs(t *testing.T) []funcLen {
	t.Helper()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var out []funcLen
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
			rel, _ := filepath.Rel(root, path)
			name := fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) > 0 {
				name = recvName(fn.Recv.List[0].Type) + "." + name
			}
			out = append(out, funcLen{where: rel + ":" + name, lines: end.Line - start.Line + 1})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b funcLen) int { return b.lines - a.lines })
	return out
}

func recvName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recvName(x.X)
	case *ast.IndexExpr:
		return recvName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
}

// TestFunctionLength fails when a non-test function of the module is
// longer than maxFuncLines lines; it logs the longest three either way.
func TestFunctionLength(t *testing.T) {
	funcs := moduleFuncs(t)
	for i, f := range funcs[:min(3, len(funcs))] {
		t.Logf("longest %d: %s, %d lines", i+1, f.where, f.lines)
	}
	for _, f := range funcs {
		if f.lines > maxFuncLines {
			t.Errorf("%s is %d lines, over %d: split it into named stages", f.where, f.lines, maxFuncLines)
		}
	}
}
