package transform

//go:generate go test -run TestREADMEListsKeyFunctions -update .

import (
	"fmt"
	"sort"
	"strings"
)

// KeyFunctionsMarkdown lists, as Markdown, every function and operator
// Parse accepts, from the registry the evaluator uses: the README's "Key
// functions" block is this text (a test keeps them equal), so the list
// cannot drift from what chload evaluates.
func KeyFunctionsMarkdown() string {
	var b strings.Builder
	sigs := make([]string, 0, len(functions))
	for _, f := range functions {
		sigs = append(sigs, f.signature)
	}
	sort.Slice(sigs, func(i, j int) bool { return strings.ToLower(sigs[i]) < strings.ToLower(sigs[j]) })
	b.WriteString("Functions (ClickHouse's names and results):\n\n")
	for _, s := range sigs {
		call, note, _ := strings.Cut(s, ") ")
		if note != "" {
			note = " " + note
		}
		fmt.Fprintf(&b, "- `%s)`%s\n", strings.TrimSuffix(call, ")"), note)
	}
	var ops []string
	for op, fn := range binaryFunctions {
		if _, ok := functions[fn]; ok {
			ops = append(ops, fmt.Sprintf("`a %s b` (%s)", op, fn))
		}
	}
	sort.Strings(ops)
	if _, ok := functions["negate"]; ok {
		ops = append(ops, "`-x` (negate)")
	}
	fmt.Fprintf(&b, "\nOperators: %s. Column references, integer, float and string literals, and any nesting of these.\n", strings.Join(ops, ", "))
	return b.String()
}
