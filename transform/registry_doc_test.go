package transform

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update", false, "rewrite the README's key functions block from the function registry")

const (
	readmeBegin = "<!-- key functions: generated from transform's function registry; `go test ./transform -run TestREADMEListsKeyFunctions -update` rewrites this block -->\n"
	readmeEnd   = "<!-- end of key functions -->\n"
)

// TestREADMEListsKeyFunctions: the README's key functions block is exactly
// what the function registry holds, so every function chload evaluates is
// documented and no documented function is missing from the code. Run with
// -update to rewrite the block.
func TestREADMEListsKeyFunctions(t *testing.T) {
	path := filepath.Join("..", "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	before, rest, ok := strings.Cut(text, readmeBegin)
	if !ok {
		t.Fatalf("%s lacks the line %q that opens the key functions block", path, readmeBegin)
	}
	block, after, ok := strings.Cut(rest, readmeEnd)
	if !ok {
		t.Fatalf("%s lacks the line %q that closes the key functions block", path, readmeEnd)
	}
	want := KeyFunctionsMarkdown()
	if block == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(before+readmeBegin+want+readmeEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's key functions block differs from the registry; run `go test ./transform -run TestREADMEListsKeyFunctions -update`\nREADME:\n%s\nregistry:\n%s", block, want)
}

// TestKeyFunctionsListEveryRegisteredFunction: the generated list names
// every function the evaluator resolves.
func TestKeyFunctionsListEveryRegisteredFunction(t *testing.T) {
	doc := KeyFunctionsMarkdown()
	for name := range functions {
		if !strings.Contains(doc, "`"+name+"(") && !strings.Contains(doc, "("+name+")") {
			t.Errorf("function %s is not in the list", name)
		}
	}
}
