package gateway_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a non-test function may be: one a newcomer
// reads in one screen. The CSTA message schema (struct declarations, not
// functions) is not affected.
const maxFuncLines = 80

// TestFunctionLength keeps every non-test function under gateway/ and
// wasm/ short enough to read in one sitting; a longer one is split by
// concern, not by line count.
func TestFunctionLength(t *testing.T) {
	var long []string
	for _, root := range []string{".", "../wasm"} {
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
			long = append(long, longFuncs(t, path)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range long {
		t.Error(l)
	}
}

func longFuncs(t *testing.T, path string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		var body *ast.BlockStmt
		name := "func literal"
		switch fn := n.(type) {
		case *ast.FuncDecl:
			body, name = fn.Body, fn.Name.Name
		case *ast.FuncLit:
			body = fn.Body
		}
		if body == nil {
			return true
		}
		start, end := fset.Position(body.Lbrace).Line, fset.Position(body.Rbrace).Line
		if lines := end - start - 1; lines > maxFuncLines {
			out = append(out, fmt.Sprintf("%s:%d: %s has %d lines (limit %d)", path, start, name, lines, maxFuncLines))
		}
		return true
	})
	return out
}
