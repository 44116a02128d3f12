package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// transformAdvice is advice to do something "in a transform": chload has no
// transforms yet, so no message may send a user to one.
var transformAdvice = regexp.MustCompile(`(?i)\b(in|with|by|using) a transform|\btransforms? (can|to)\b`)

// TestNoMessageAdvisesATransform: no string in chload's product code (the
// messages users read) advises a transform, which does not exist yet; the
// fixes name what works today (fix the data, change the column type,
// source.null_as_default, source.ignore_extra_columns).
func TestNoMessageAdvisesATransform(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && transformAdvice.MatchString(lit.Value) {
				bad = append(bad, fset.Position(lit.Pos()).String()+": "+lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("messages advise a transform, which chload does not have:\n%s", strings.Join(bad, "\n"))
	}
}
